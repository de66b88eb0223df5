//! One query interface over every place PromQL can be answered.
//!
//! [`QuerySource`] is what panels, the editor's autocomplete and the alert evaluator ask:
//! instant and range queries, label names and values, series and metric metadata, answered
//! in the types of Prometheus' HTTP API. Three kinds of source implement it and the callers
//! cannot tell them apart:
//!
//! - [`Embedded`] — the embedded engine over an in-memory store (the page's own metrics, or
//!   `lookout serve`'s store), answered synchronously;
//! - [`Remote`] — any Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
//!   VictoriaMetrics, or `lookout serve`'s `/api/v1`), over an [`HttpClient`] the adapter
//!   brings (reqwest natively, `fetch` in the page), with optional credentials that never
//!   serialize or print;
//! - the server's HTTP API itself is written with [`api`], the same request parsing and
//!   answers the [`Embedded`] source gives, so a page pointed at `lookout serve` sees what it
//!   would see in-page.
//!
//! No clock and no I/O here: callers pass times and transports.

pub mod api;
pub mod embedded;
pub mod metadata;
pub mod remote;

use std::collections::BTreeMap;

use lookout_promql::Labels;
use lookout_promql::value::QueryData;
use serde::{Deserialize, Serialize};

pub use embedded::{Embedded, EmbeddedStore, StoreAccess};
pub use metadata::{MetadataStore, MetricMetadata};
pub use remote::{
    Credentials, HttpClient, HttpRequest, HttpResponse, Remote, Secret, TransportError,
};

/// An instant query at `time_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantQuery {
    pub query: String,
    pub time_ms: i64,
}

/// A range query over `[start_ms, end_ms]` every `step_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery {
    pub query: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
}

/// Which series a label, label-value or series request looks at: `match[]` selectors (any
/// of them; none = every series where the API allows it) within an optional time range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesFilter {
    pub matchers: Vec<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

impl SeriesFilter {
    /// Every series with this metric name.
    pub fn metric(name: &str) -> Self {
        Self {
            matchers: vec![format!("{{__name__={}}}", quote(name))],
            ..Self::default()
        }
    }
}

/// A PromQL string literal for `s` (double-quoted, escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Metric metadata by metric name, as `/api/v1/metadata` answers it.
pub type MetadataMap = BTreeMap<String, Vec<MetricMetadata>>;

/// Why a source could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum SourceError {
    /// The query language refused the query (`bad_data`, `execution`, …), with the
    /// position of a parse error where it is known (byte offset into the query).
    #[error("{error_type}: {message}")]
    Query {
        error_type: String,
        message: String,
        position: Option<usize>,
    },
    /// The request never got an HTTP answer (refused, DNS, CORS, aborted).
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// No answer within the time limit.
    #[error("{url} did not answer within {timeout_ms} ms")]
    Timeout { url: String, timeout_ms: u64 },
    /// An HTTP answer that is not a Prometheus API answer (proxy error page, 401, 404, …).
    #[error("{url} answered HTTP {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
    },
    /// An answer too large to read.
    #[error("{url} answered more than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// A 200 whose body is not what the API promises.
    #[error("{url} answered something that is not a Prometheus API answer: {message}")]
    Decode { url: String, message: String },
    /// The request itself is malformed (bad time range, step, name).
    #[error("{0}")]
    BadRequest(String),
}

impl SourceError {
    /// Where in the query a parse error was found (byte offset), for the editor to mark.
    pub fn position(&self) -> Option<usize> {
        match self {
            SourceError::Query { position, .. } => *position,
            _ => None,
        }
    }
}

/// The one query interface (see the crate docs). Methods are `async` so remote sources can
/// await their transport; the embedded source answers at once.
///
/// The futures carry no `Send` bound: the page's `fetch` futures are not `Send`. A server
/// that needs `Send` futures uses a concrete source type, whose futures are `Send` when its
/// transport's are.
#[allow(async_fn_in_trait)]
pub trait QuerySource {
    /// A short description for messages ("this page", "http://prometheus:9090").
    fn describe(&self) -> String;
    async fn instant(&self, q: &InstantQuery) -> Result<QueryData, SourceError>;
    async fn range(&self, q: &RangeQuery) -> Result<QueryData, SourceError>;
    /// Label names, sorted.
    async fn label_names(&self, filter: &SeriesFilter) -> Result<Vec<String>, SourceError>;
    /// Values of one label (`__name__`: metric names), sorted.
    async fn label_values(
        &self,
        name: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, SourceError>;
    /// The label sets of the series matching the filter (at least one matcher).
    async fn series(&self, filter: &SeriesFilter) -> Result<Vec<Labels>, SourceError>;
    /// Metadata of every metric, or of one.
    async fn metadata(&self, metric: Option<&str>) -> Result<MetadataMap, SourceError>;
}

/// Runs a future that never waits (the embedded source's, or a test transport's) to its end
/// on this thread. For tests and synchronous callers; a future that waits for I/O would spin.
pub fn block_on_ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
