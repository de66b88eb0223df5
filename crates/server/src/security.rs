//! Who may do what (README "Security", ARCHITECTURE "Rules for routes").
//!
//! - **Cross-site writes.** A request that can change state (any method but GET, HEAD and
//!   OPTIONS) coming from a browser on another site is refused with 403 unless that origin
//!   is allowed with `--cors-origin`. A browser says where a request comes from with
//!   `Sec-Fetch-Site` and `Origin`; a plain HTML form POST from another site carries both,
//!   needs no CORS preflight, and is refused here. Clients that are not browsers send
//!   neither and are not a cross-site risk (the token covers the network). `/predict` is the
//!   seed's public API and is exempt, as issue 11 asks.
//! - **Token.** With `--auth-token`, `/predict`, the proxies and the data/query APIs need
//!   `Authorization: Bearer <token>` (compared in constant time); `/healthz`, `/metrics` (the
//!   scrape endpoint, as exporters serve it) and the page's files stay open.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::json_response;

/// The access policy of one server.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--cors-origin`: an origin allowed to call from another site (`*`: any).
    pub allowed_origin: Option<String>,
    /// `--auth-token`: the bearer token required where [`needs_token`] says so.
    pub token: Option<String>,
}

/// Whether a request can change state.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Routes behind the token, when one is set.
pub fn needs_token(path: &str) -> bool {
    path == "/predict"
        || path.starts_with("/pushgateway/")
        || path.starts_with("/prometheus/")
        || path.starts_with("/api/")
}

/// Whether the request comes from a browser page on another origin than this server's and
/// that origin is not allowed.
pub fn cross_site_refused(headers: &HeaderMap, allowed: Option<&str>) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let allowed_origin = |o: &str| allowed.is_some_and(|a| a == "*" || a == o);
    match (fetch_site.as_deref(), origin) {
        // The browser says it is the page's own origin (or typed by the user).
        (Some("same-origin") | Some("none"), _) => false,
        // Another site (or another port of the same site): only an allowed origin.
        (Some(_), Some(o)) => !allowed_origin(o),
        (Some(_), None) => true,
        // Older browsers send Origin without Sec-Fetch-Site: compare it with the Host.
        (None, Some(o)) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let same = host.is_some_and(|h| {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
                    .is_some_and(|rest| rest == h)
            });
            !same && !allowed_origin(o)
        }
        (None, None) => false,
    }
}

/// Constant-time comparison (the time taken does not tell how much of a guess was right).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Whether the request carries the token.
pub fn has_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same_secret(given.trim().as_bytes(), token.as_bytes()))
}

/// The middleware in front of every route.
pub async fn guard(State(policy): State<Arc<Policy>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_write(req.method())
        && path != "/predict"
        && cross_site_refused(req.headers(), policy.allowed_origin.as_deref())
    {
        return json_response(
            StatusCode::FORBIDDEN.as_u16(),
            serde_json::json!({
                "error": "cross-site request refused: this origin is not allowed (lookout serve --cors-origin)",
                "status": 403,
            })
            .to_string(),
        );
    }
    if let Some(token) = &policy.token {
        // Preflights carry no credentials; the CORS layer answers them.
        if req.method() != Method::OPTIONS && needs_token(&path) && !has_token(req.headers(), token)
        {
            let mut r = json_response(
                401,
                serde_json::json!({
                    "error": "this server needs a token: Authorization: Bearer <token>",
                    "status": 401,
                })
                .to_string(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    /// Request headers, the allowed origin, whether the request is refused.
    type Case<'a> = (&'a [(&'static str, &'static str)], Option<&'a str>, bool);

    #[test]
    fn cross_site_decisions() {
        let cases: &[Case] = &[
            (&[], None, false),
            (
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "http://127.0.0.1:8080"),
                ],
                None,
                false,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://evil.example"),
                ],
                None,
                true,
            ),
            (
                &[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "http://127.0.0.1:3000"),
                ],
                None,
                true,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://ok.example"),
                ],
                Some("https://ok.example"),
                false,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://evil.example"),
                ],
                Some("https://ok.example"),
                true,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://any.example"),
                ],
                Some("*"),
                false,
            ),
            (&[("sec-fetch-site", "cross-site")], None, true),
            (
                &[
                    ("origin", "http://127.0.0.1:8080"),
                    ("host", "127.0.0.1:8080"),
                ],
                None,
                false,
            ),
            (
                &[
                    ("origin", "https://evil.example"),
                    ("host", "127.0.0.1:8080"),
                ],
                None,
                true,
            ),
            (
                &[("origin", "null"), ("host", "127.0.0.1:8080")],
                None,
                true,
            ),
        ];
        for (h, allowed, refused) in cases {
            assert_eq!(
                cross_site_refused(&headers(h), *allowed),
                *refused,
                "{h:?} {allowed:?}"
            );
        }
    }

    #[test]
    fn tokens_compare_exactly() {
        let h = headers(&[("authorization", "Bearer s3cret")]);
        assert!(has_token(&h, "s3cret"));
        assert!(!has_token(&h, "s3cre"));
        assert!(!has_token(&h, "s3cret2"));
        assert!(!has_token(
            &headers(&[("authorization", "Basic s3cret")]),
            "s3cret"
        ));
        assert!(!has_token(&HeaderMap::new(), "s3cret"));
        assert!(needs_token("/api/v1/query") && needs_token("/predict"));
        assert!(!needs_token("/metrics") && !needs_token("/healthz") && !needs_token("/"));
    }
}
