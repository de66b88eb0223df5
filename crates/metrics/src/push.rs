//! Pushgateway client, independent of the HTTP stack: the native server, the browser and the
//! edge worker each plug in a [`Transport`].
//!
//! Every push carries the instance's *full cumulative* state with `PUT` on its grouping key
//! (`job` + `instance`), so a failed push loses nothing: the next success carries every
//! increment made meanwhile, even into a Pushgateway that restarted empty.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
pub use web_time::Instant;
use web_time::{Duration, SystemTime};

use crate::{Format, Metrics};

/// HTTP method of a push, with the Pushgateway's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Replace every metric in the group.
    Put,
    /// Replace only the metrics with the names pushed.
    Post,
    /// Delete the group.
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One request for a transport to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRequest {
    pub method: Method,
    pub url: String,
    pub content_type: &'static str,
    pub body: String,
}

/// Sends a [`PushRequest`] and returns the HTTP status, or a transport error.
#[allow(async_fn_in_trait)] // Futures are !Send in browsers and workers; callers pick.
pub trait Transport {
    async fn send(&self, request: PushRequest) -> Result<u16, String>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("pushgateway answered HTTP {0}")]
    Status(u16),
    #[error("push failed: {0}")]
    Transport(String),
    #[error("push backing off for {0:?} after {1} failures")]
    BackingOff(Duration, u32),
}

/// Where and as what to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    /// Base URL of the Pushgateway, e.g. `http://127.0.0.1:9091` or a same-origin proxy
    /// path such as `/pushgateway`.
    pub url: String,
    pub job: String,
    /// Extra grouping labels after `instance` (rarely needed).
    pub extra_grouping: Vec<(String, String)>,
}

/// The grouping-key path: `/metrics/job/<job>/instance/<id>[/<label>/<value>…]`, each value
/// in the `@base64` form where it is empty or holds characters a path segment cannot.
pub fn grouping_path(job: &str, labels: &[(&str, &str)]) -> String {
    let mut path = String::from("/metrics");
    for (name, value) in std::iter::once(&("job", job)).chain(labels.iter()) {
        path.push('/');
        path.push_str(name);
        if value.is_empty() || !value.bytes().all(plain_byte) {
            path.push_str("@base64/");
            // URL-safe base64; padding '=' is allowed there, and an empty value is "=".
            let enc = URL_SAFE.encode(value.as_bytes());
            path.push_str(if enc.is_empty() { "=" } else { &enc });
        } else {
            path.push('/');
            path.push_str(value);
        }
    }
    path
}

fn plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':')
}

/// Push health, for a status line in the page or a log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushStatus {
    pub pushes_ok: u64,
    pub pushes_failed: u64,
    pub consecutive_failures: u32,
    pub last_success: Option<SystemTime>,
    pub last_error: Option<String>,
    /// Predictions contained in the last successful push.
    pub last_pushed_predictions: u64,
}

/// Pushes one instance's metrics, with exponential backoff after failures.
#[derive(Debug)]
pub struct Pusher {
    config: PushConfig,
    status: PushStatus,
    retry_at: Option<Instant>,
    base_backoff: Duration,
    max_backoff: Duration,
}

impl Pusher {
    pub fn new(config: PushConfig) -> Self {
        Self {
            config,
            status: PushStatus::default(),
            retry_at: None,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }

    /// Backoff after the first failure and its cap (doubling in between).
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max.max(base);
        self
    }

    pub fn config(&self) -> &PushConfig {
        &self.config
    }

    pub fn status(&self) -> &PushStatus {
        &self.status
    }

    /// The `PUT` of `metrics`' full state on its grouping key.
    pub fn request(&self, metrics: &Metrics) -> PushRequest {
        let mut labels: Vec<(&str, &str)> = vec![("instance", metrics.instance())];
        labels.extend(
            self.config
                .extra_grouping
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        PushRequest {
            method: Method::Put,
            url: format!(
                "{}{}",
                self.config.url.trim_end_matches('/'),
                grouping_path(&self.config.job, &labels)
            ),
            content_type: Format::Text.content_type(),
            body: metrics.encode(Format::Text),
        }
    }

    /// Whether a push may be attempted now (not inside a backoff period).
    pub fn ready(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    /// Forgets the backoff, so the next [`push`](Self::push) is attempted (a final flush).
    pub fn clear_backoff(&mut self) {
        self.retry_at = None;
    }

    /// One push attempt, unless backing off. Updates the status either way it goes.
    pub async fn push<T: Transport>(
        &mut self,
        metrics: &Metrics,
        transport: &T,
    ) -> Result<(), PushError> {
        let now = Instant::now();
        if let Some(at) = self.retry_at
            && now < at
        {
            return Err(PushError::BackingOff(
                at - now,
                self.status.consecutive_failures,
            ));
        }
        let predictions = metrics.predictions_total();
        let result = match transport.send(self.request(metrics)).await {
            Ok(code) if (200..300).contains(&code) => Ok(()),
            Ok(code) => Err(PushError::Status(code)),
            Err(e) => Err(PushError::Transport(e)),
        };
        self.record(&result, predictions, Instant::now());
        result
    }

    fn record(&mut self, result: &Result<(), PushError>, predictions: u64, now: Instant) {
        match result {
            Ok(()) => {
                self.status.pushes_ok += 1;
                self.status.consecutive_failures = 0;
                self.status.last_success = Some(SystemTime::now());
                self.status.last_pushed_predictions = predictions;
                self.retry_at = None;
            }
            Err(e) => {
                self.status.pushes_failed += 1;
                self.status.consecutive_failures =
                    self.status.consecutive_failures.saturating_add(1);
                self.status.last_error = Some(e.to_string());
                let exp = self.status.consecutive_failures.saturating_sub(1).min(16);
                let backoff = self
                    .base_backoff
                    .saturating_mul(1u32 << exp)
                    .min(self.max_backoff);
                self.retry_at = Some(now + backoff);
            }
        }
    }
}

impl fmt::Display for PushStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ok, {} failed", self.pushes_ok, self.pushes_failed)?;
        if let Some(e) = &self.last_error
            && self.consecutive_failures > 0
        {
            write!(f, "; failing ({}×): {e}", self.consecutive_failures)?;
        }
        Ok(())
    }
}
