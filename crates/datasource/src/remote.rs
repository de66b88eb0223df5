//! Any Prometheus-compatible HTTP API as a [`QuerySource`]: Prometheus, Thanos, Mimir,
//! VictoriaMetrics, or `lookout serve`'s own `/api/v1`. Queries go as form POSTs (no URL
//! length limit, as Grafana sends them), the metadata requests as GETs. The transport is
//! the adapter's ([`HttpClient`]: reqwest natively, `fetch` in the page).
//!
//! Credentials are held for the session only: [`Credentials`] has no `Serialize`, its
//! `Debug` masks the secret, and error messages never carry it.

use std::collections::BTreeMap;
use std::fmt;

use lookout_promql::Labels;
use lookout_promql::value::QueryData;
use serde::de::DeserializeOwned;

use crate::metadata::MetricMetadata;
use crate::{InstantQuery, MetadataMap, QuerySource, RangeQuery, SeriesFilter, SourceError};

/// One HTTP request for the transport to send.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    /// Header name and value; may hold `Authorization` (never printed: see `Debug`).
    pub headers: Vec<(String, String)>,
    /// A form body (`application/x-www-form-urlencoded`) for POSTs.
    pub body: Option<String>,
    /// Give up after this long.
    pub timeout_ms: u64,
    /// Refuse answers larger than this.
    pub max_body_bytes: usize,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if k.eq_ignore_ascii_case("authorization") {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why the transport got no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    Timeout,
    TooLarge,
    /// Refused, unreachable, blocked by CORS, …
    Failed(String),
}

/// Sends HTTP requests: the adapter's part.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A secret that does not print.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to authenticate to the remote API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    None,
    Bearer(Secret),
    Basic {
        user: String,
        password: Secret,
    },
}

impl Credentials {
    /// The `Authorization` header value, if any.
    fn header(&self) -> Option<String> {
        match self {
            Credentials::None => None,
            Credentials::Bearer(t) => Some(format!("Bearer {}", t.expose())),
            Credentials::Basic { user, password } => Some(format!(
                "Basic {}",
                base64_encode(format!("{user}:{}", password.expose()).as_bytes())
            )),
        }
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A remote Prometheus-compatible API.
#[derive(Debug, Clone)]
pub struct Remote<H> {
    /// Base URL without the `/api/v1` part, e.g. `http://127.0.0.1:9090` or
    /// `/prometheus` (the server's same-origin proxy).
    base: String,
    credentials: Credentials,
    http: H,
    pub timeout_ms: u64,
    pub max_body_bytes: usize,
}

/// Seconds with millisecond precision, as Prometheus reads them.
pub fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (s, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        format!("{sign}{s}")
    } else {
        format!("{sign}{s}.{frac:03}")
    }
}

impl<H: HttpClient> Remote<H> {
    pub fn new(base: &str, credentials: Credentials, http: H) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            credentials,
            http,
            timeout_ms: 30_000,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, SourceError> {
        // In its own scope: the serializer is not `Send`, and held across the await below it
        // would make this future not `Send` (a server runs it on its multi-threaded runtime).
        let encoded = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let endpoint = format!("{}/api/v1/{path}", self.base);
        let (url, body) = match method {
            "POST" => (endpoint.clone(), Some(encoded)),
            _ if encoded.is_empty() => (endpoint.clone(), None),
            _ => (format!("{endpoint}?{encoded}"), None),
        };
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        if body.is_some() {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if let Some(auth) = self.credentials.header() {
            headers.push(("Authorization".into(), auth));
        }
        let request = HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms: self.timeout_ms,
            max_body_bytes: self.max_body_bytes,
        };
        let answer = self.http.send(request).await.map_err(|e| match e {
            TransportError::Timeout => SourceError::Timeout {
                url: endpoint.clone(),
                timeout_ms: self.timeout_ms,
            },
            TransportError::TooLarge => SourceError::TooLarge {
                url: endpoint.clone(),
                limit: self.max_body_bytes,
            },
            TransportError::Failed(message) => SourceError::Unreachable {
                url: endpoint.clone(),
                message,
            },
        })?;
        if answer.body.len() > self.max_body_bytes {
            return Err(SourceError::TooLarge {
                url: endpoint,
                limit: self.max_body_bytes,
            });
        }
        decode(&endpoint, answer)
    }
}

/// An API answer's envelope with any `data`.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

fn decode<T: DeserializeOwned>(url: &str, answer: HttpResponse) -> Result<T, SourceError> {
    let parsed: Result<Envelope<T>, _> = serde_json::from_slice(&answer.body);
    match parsed {
        Ok(env) if env.status == "success" && answer.status == 200 => {
            env.data.ok_or_else(|| SourceError::Decode {
                url: url.into(),
                message: "no data in a successful answer".into(),
            })
        }
        Ok(env) if env.status == "error" => {
            let message = env.error.unwrap_or_default();
            Err(SourceError::Query {
                error_type: env.error_type.unwrap_or_else(|| "unknown".into()),
                position: parse_error_position(&message),
                message,
            })
        }
        Ok(_) | Err(_) if answer.status != 200 => Err(SourceError::Http {
            url: url.into(),
            status: answer.status,
            message: snippet(&answer.body),
        }),
        Ok(_) => Err(SourceError::Decode {
            url: url.into(),
            message: "unknown status".into(),
        }),
        Err(e) => Err(SourceError::Decode {
            url: url.into(),
            message: e.to_string(),
        }),
    }
}

/// The first line of a non-API answer, as text, for the message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.chars().take(200).collect()
}

/// Prometheus reports parse errors as `…: LINE:COL: parse error: …` (1-based, characters);
/// the byte offset of that position in a one-line query is `COL - 1`. Other lines are not
/// mapped (the editor marks the start).
pub fn parse_error_position(message: &str) -> Option<usize> {
    let at = message.find(": parse error")?;
    let head = &message[..at];
    let col_start = head.rfind(':')?;
    let col: usize = head[col_start + 1..].trim().parse().ok()?;
    let line_part = &head[..col_start];
    let line_start = line_part
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let line: usize = line_part[line_start..].parse().ok()?;
    (line == 1 && col >= 1).then(|| col - 1)
}

impl<H: HttpClient> QuerySource for Remote<H> {
    fn describe(&self) -> String {
        self.base.clone()
    }

    async fn instant(&self, q: &InstantQuery) -> Result<QueryData, SourceError> {
        self.call(
            "POST",
            "query",
            &[("query", q.query.clone()), ("time", seconds(q.time_ms))],
        )
        .await
    }

    async fn range(&self, q: &RangeQuery) -> Result<QueryData, SourceError> {
        crate::api::check_range(q)?;
        self.call(
            "POST",
            "query_range",
            &[
                ("query", q.query.clone()),
                ("start", seconds(q.start_ms)),
                ("end", seconds(q.end_ms)),
                ("step", seconds(q.step_ms)),
            ],
        )
        .await
    }

    async fn label_names(&self, filter: &SeriesFilter) -> Result<Vec<String>, SourceError> {
        self.call("GET", "labels", &filter_params(filter)).await
    }

    async fn label_values(
        &self,
        name: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, SourceError> {
        if !lookout_promql::labels::is_valid_label_name(name) {
            return Err(SourceError::BadRequest(format!(
                "invalid label name: {name:?}"
            )));
        }
        self.call(
            "GET",
            &format!("label/{name}/values"),
            &filter_params(filter),
        )
        .await
    }

    async fn series(&self, filter: &SeriesFilter) -> Result<Vec<Labels>, SourceError> {
        if filter.matchers.is_empty() {
            return Err(SourceError::BadRequest(
                "no match[] parameter provided".into(),
            ));
        }
        self.call("GET", "series", &filter_params(filter)).await
    }

    async fn metadata(&self, metric: Option<&str>) -> Result<MetadataMap, SourceError> {
        let params: Vec<(&str, String)> = metric
            .map(|m| ("metric", m.to_string()))
            .into_iter()
            .collect();
        let raw: BTreeMap<String, Vec<MetricMetadata>> =
            self.call("GET", "metadata", &params).await?;
        Ok(raw)
    }
}

fn filter_params(filter: &SeriesFilter) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&str, String)> = filter
        .matchers
        .iter()
        .map(|m| ("match[]", m.clone()))
        .collect();
    if let Some(s) = filter.start_ms {
        out.push(("start", seconds(s)));
    }
    if let Some(e) = filter.end_ms {
        out.push(("end", seconds(e)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on_ready as block_on;
    use std::cell::RefCell;

    /// Records requests and answers with canned bodies: for request building and answer
    /// decoding only (the real APIs are tested in the server's and the browser's tests).
    #[derive(Debug)]
    struct Canned {
        answers: RefCell<Vec<Result<HttpResponse, TransportError>>>,
        seen: RefCell<Vec<HttpRequest>>,
    }

    impl HttpClient for Canned {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.seen.borrow_mut().push(request);
            self.answers
                .borrow_mut()
                .pop()
                .unwrap_or(Err(TransportError::Failed("no answer".into())))
        }
    }

    fn remote(answer: Result<HttpResponse, TransportError>, creds: Credentials) -> Remote<Canned> {
        Remote::new(
            "http://prom:9090/",
            creds,
            Canned {
                answers: RefCell::new(vec![answer]),
                seen: RefCell::new(vec![]),
            },
        )
    }

    fn ok(status: u16, body: &str) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn builds_prometheus_requests_with_credentials_that_never_print() {
        let r = remote(
            ok(
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            ),
            Credentials::Basic {
                user: "ann".into(),
                password: Secret::new("s3cret"),
            },
        );
        let q = InstantQuery {
            query: "sum by (job) (rate(x{a=\"b c\"}[5m]))".into(),
            time_ms: 1_700_000_000_250,
        };
        assert_eq!(
            block_on(r.instant(&q)).expect("answer"),
            QueryData::Vector(vec![])
        );
        let seen = r.http.seen.borrow();
        let req = &seen[0];
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "http://prom:9090/api/v1/query");
        let body = req.body.clone().unwrap_or_default();
        let params = crate::api::parse_params("", body.as_bytes());
        assert_eq!(params[0], ("query".into(), q.query.clone()));
        assert_eq!(params[1], ("time".into(), "1700000000.250".into()));
        assert!(req.headers.contains(&(
            "Authorization".into(),
            format!("Basic {}", base64_encode(b"ann:s3cret"))
        )));
        let printed = format!("{r:?} {req:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains(&base64_encode(b"ann:s3cret")),
            "{printed}"
        );
        assert_eq!(base64_encode(b"ann:s3cret"), "YW5uOnMzY3JldA==");
        assert_eq!(base64_encode(b"ab"), "YWI=");
    }

    #[test]
    fn decodes_errors_into_their_kinds() {
        let err = |answer| {
            block_on(remote(answer, Credentials::None).instant(&InstantQuery {
                query: "sum(".into(),
                time_ms: 0,
            }))
            .expect_err("error")
        };
        let e = err(ok(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#,
        ));
        assert!(
            matches!(&e, SourceError::Query { error_type, position: Some(4), .. } if error_type == "bad_data"),
            "{e:?}"
        );
        let e = err(ok(502, "<html><body>Bad Gateway</body></html>\n"));
        assert!(
            matches!(&e, SourceError::Http { status: 502, message, .. } if message.contains("Bad Gateway")),
            "{e:?}"
        );
        let e = err(ok(401, "Unauthorized"));
        assert!(matches!(e, SourceError::Http { status: 401, .. }), "{e:?}");
        let e = err(ok(200, "{\"status\":\"success\""));
        assert!(matches!(e, SourceError::Decode { .. }), "{e:?}");
        assert!(matches!(
            err(Err(TransportError::Timeout)),
            SourceError::Timeout { .. }
        ));
        assert!(matches!(
            err(Err(TransportError::Failed("refused".into()))),
            SourceError::Unreachable { .. }
        ));
    }

    #[test]
    fn label_requests_are_gets_with_matchers() {
        let r = remote(
            ok(200, r#"{"status":"success","data":["a","b"]}"#),
            Credentials::None,
        );
        let mut f = SeriesFilter::metric("up");
        f.start_ms = Some(1_000);
        let v = block_on(r.label_values("job", &f)).expect("values");
        assert_eq!(v, vec!["a", "b"]);
        let seen = r.http.seen.borrow();
        assert_eq!(seen[0].method, "GET");
        assert_eq!(
            seen[0].url,
            "http://prom:9090/api/v1/label/job/values?match%5B%5D=%7B__name__%3D%22up%22%7D&start=1"
        );
        assert!(block_on(r.label_values("a/../b", &f)).is_err());
    }

    #[test]
    fn positions_of_remote_parse_errors() {
        assert_eq!(parse_error_position("1:5: parse error: x"), Some(4));
        assert_eq!(
            parse_error_position("invalid parameter \"query\": 1:12: parse error: y"),
            Some(11)
        );
        assert_eq!(parse_error_position("2:3: parse error: z"), None);
        assert_eq!(parse_error_position("something else"), None);
        assert_eq!(seconds(-1), "-0.001");
        assert_eq!(seconds(-2_000), "-2");
        assert_eq!(seconds(1500), "1.500");
    }
}
