//! Same-origin proxies for the page: to the Pushgateway (it answers no CORS) and to a
//! configured Prometheus-compatible API (`--prometheus URL`, for a page whose remote sends
//! no CORS headers). Each forwards only what the page needs; everything else is refused
//! before anything is sent upstream.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use lookout_datasource::api::Endpoint;

use crate::{AppState, json_response, read_limited};

fn refuse(status: u16, message: &str) -> Response {
    json_response(
        status,
        serde_json::json!({"error": message, "status": status}).to_string(),
    )
}

/// What the Pushgateway proxy does with a method and a path (below `/pushgateway`).
#[derive(Debug, PartialEq, Eq)]
pub enum PushgatewayRoute {
    Forward,
    /// 405: this method is never forwarded to that path.
    MethodNotAllowed(&'static str),
    /// 403: a path outside what the page uses.
    Forbidden,
}

/// Only pushes (`PUT`/`POST` of `/metrics/job/<job>[/<label>/<value>]…`) and reads of what
/// was pushed (`GET /metrics`, `GET /api/v1/metrics`) go through; `DELETE` never does.
pub fn pushgateway_route(method: &Method, path: &str) -> PushgatewayRoute {
    let path_only = path.split('?').next().unwrap_or("");
    let lower = path_only.to_ascii_lowercase();
    if lower.contains("%2e") || lower.contains("%2f") || lower.contains('\\') {
        return PushgatewayRoute::Forbidden;
    }
    let segments: Vec<&str> = path_only.trim_start_matches('/').split('/').collect();
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return PushgatewayRoute::Forbidden;
    }
    let is_group = segments.len() >= 3
        && segments[0] == "metrics"
        && segments[1].starts_with("job")
        && (segments[1] == "job" || segments[1] == "job@base64")
        && segments.len() % 2 == 1
        && segments[2..].iter().step_by(2).all(|s| !s.is_empty())
        && segments[3..].iter().step_by(2).all(|s| !s.is_empty());
    let is_read = matches!(path_only, "/metrics" | "/api/v1/metrics");
    match (method, is_group, is_read) {
        (&Method::PUT | &Method::POST, true, _) => PushgatewayRoute::Forward,
        (&Method::GET | &Method::HEAD, _, true) => PushgatewayRoute::Forward,
        (_, true, _) => PushgatewayRoute::MethodNotAllowed("PUT, POST"),
        (_, _, true) => PushgatewayRoute::MethodNotAllowed("GET, HEAD"),
        _ => PushgatewayRoute::Forbidden,
    }
}

/// `/pushgateway/*`.
pub(crate) async fn pushgateway(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(base) = state.pushgateway.clone() else {
        return refuse(
            503,
            "no Pushgateway configured (lookout serve --pushgateway URL)",
        );
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().trim_start_matches("/pushgateway").to_string())
        .unwrap_or_default();
    match pushgateway_route(req.method(), &path) {
        PushgatewayRoute::Forward => {}
        PushgatewayRoute::MethodNotAllowed(allow) => {
            let mut r = refuse(405, "method not allowed through the Pushgateway proxy");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            return r;
        }
        PushgatewayRoute::Forbidden => {
            return refuse(
                403,
                "only pushes to /metrics/job/<job>[/<label>/<value>] go through this proxy",
            );
        }
    }
    forward(&state, req, format!("{}{path}", base.trim_end_matches('/'))).await
}

/// `/prometheus/api/v1/*`: the read endpoints of a Prometheus-compatible API, GET or POST.
pub(crate) async fn prometheus(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(base) = state.prometheus.clone() else {
        return refuse(
            503,
            "no Prometheus configured (lookout serve --prometheus URL)",
        );
    };
    let rest = req
        .uri()
        .path()
        .strip_prefix("/prometheus/api/v1/")
        .unwrap_or("")
        .to_string();
    let known = Endpoint::from_path(&rest).is_some() || rest == "status/buildinfo";
    if !known {
        return refuse(
            403,
            "only the query, label, series and metadata endpoints go through this proxy",
        );
    }
    if !matches!(*req.method(), Method::GET | Method::POST) {
        let mut r = refuse(405, "method not allowed");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return r;
    }
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("{}/api/v1/{rest}{query}", base.trim_end_matches('/'));
    forward(&state, req, url).await
}

/// Sends method, content type and body to `url` and passes the answer back.
async fn forward(state: &AppState, req: Request, url: String) -> Response {
    let method = req.method().clone();
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let body = match read_limited(req, 8 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return crate::error_response(&e),
    };
    let Ok(m) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return refuse(405, "method not allowed");
    };
    let mut out = state
        .http
        .request(m, &url)
        .timeout(Duration::from_secs(30))
        .body(body);
    if let Some(ct) = content_type {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    match out.send().await {
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let ct = resp.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    return refuse(502, &format!("upstream answer broke off: {}", describe(&e)));
                }
            };
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = status;
            if let Some(ct) = ct {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r
        }
        Err(e) => refuse(502, &format!("upstream unreachable: {}", describe(&e))),
    }
}

/// What went wrong, without reqwest's message (it names the URL, which may carry
/// credentials in a userinfo part).
fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PushgatewayRoute::*;

    #[test]
    fn only_pushes_go_through() {
        let cases = [
            (Method::PUT, "/metrics/job/lookout/instance/page-1", Forward),
            (Method::POST, "/metrics/job/lookout", Forward),
            (
                Method::PUT,
                "/metrics/job@base64/bG9va291dA/instance/x",
                Forward,
            ),
            (Method::GET, "/metrics", Forward),
            (Method::GET, "/api/v1/metrics", Forward),
            (
                Method::DELETE,
                "/metrics/job/lookout/instance/page-1",
                MethodNotAllowed("PUT, POST"),
            ),
            (
                Method::GET,
                "/metrics/job/lookout",
                MethodNotAllowed("PUT, POST"),
            ),
            (Method::PUT, "/metrics", MethodNotAllowed("GET, HEAD")),
            (Method::PUT, "/api/v1/admin/wipe", Forbidden),
            (Method::PUT, "/metrics/job/x/instance", Forbidden),
            (Method::PUT, "/metrics/job//instance/x", Forbidden),
            (
                Method::PUT,
                "/metrics/job/x/../../api/v1/admin/wipe",
                Forbidden,
            ),
            (Method::PUT, "/metrics/job/x/%2e%2e/y", Forbidden),
            (Method::PUT, "/metrics/jobs/x", Forbidden),
            (Method::DELETE, "/api/v1/admin/wipe", Forbidden),
            (Method::GET, "/", Forbidden),
        ];
        for (m, p, want) in cases {
            assert_eq!(pushgateway_route(&m, p), want, "{m} {p}");
        }
    }
}
