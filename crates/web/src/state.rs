//! The page's state that is not drawing: the predict service with its metrics, the
//! metrics store the page scrapes them into, and the pushes to the server's proxy.

use std::cell::RefCell;
use std::rc::Rc;

use lookout_metrics::fetch::FetchTransport;
use lookout_metrics::push::{PushConfig, Pusher};
use lookout_metrics::{Format, Runtime};
use lookout_model::{Backend, Classifier, LABELS};
use lookout_promql::{Engine, Retention, Scraper, Storage, Value};
use lookout_service::{PredictResponse, Service};
use web_time::Instant;

use crate::platform::{now_ms, random_id};
use crate::{gpu, webcpu};

/// What the page shows about the CPU backend: its own module's kernels, and the separately
/// loaded relaxed-SIMD module's (`webcpu.rs`).
pub const CPU_BACKEND: &str = "wasm CPU (lookout-cpu, SIMD128)";
pub const RELAXED_BACKEND: &str = "wasm CPU (lookout-cpu, relaxed SIMD)";
/// Where the page pushes: the native server's same-origin proxy to its Pushgateway.
const PUSH_BASE: &str = "/pushgateway";

/// One prediction as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub source: String,
    pub label: String,
    pub confidence: f32,
    pub probabilities: Vec<(String, f32)>,
    pub ms: f64,
    pub backend: String,
}

/// The live view's numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Live {
    pub total: u64,
    pub per_label: Vec<(String, f64)>,
    pub per_runtime: Vec<(String, f64)>,
    pub p50_ms: Option<f64>,
    pub push: String,
}

/// How long the live view's store keeps the page's own samples.
pub const LIVE_RETENTION_MS: i64 = 5 * 60 * 1000;

pub struct PageState {
    pub service: Service,
    /// The page's metrics store, scraped from the page's own metrics, for the live view.
    store: RefCell<Storage>,
    scraper: RefCell<Scraper>,
    engine: Engine,
    /// `None` while a push is in flight.
    pusher: RefCell<Option<Pusher>>,
    pushed_predictions: RefCell<Option<u64>>,
}

impl PageState {
    pub fn new() -> Result<Self, String> {
        let classifier = Classifier::embedded(Backend::Cpu).map_err(|e| e.to_string())?;
        let instance = random_id("page");
        let service = Service::new(classifier, Runtime::BrowserCpu, instance.clone());
        Ok(Self {
            service,
            // The live view asks for the last minute: five keep a tab that stays open for
            // days at a few hundred kilobytes (the default, 24 h, grew without end for a day).
            store: RefCell::new(Storage::with_retention(Retention {
                max_age_ms: LIVE_RETENTION_MS,
                ..Retention::default()
            })),
            scraper: RefCell::new(Scraper::new(
                2_000,
                &[("job", "lookout"), ("instance", &instance)],
            )),
            engine: Engine::default(),
            pusher: RefCell::new(Some(Pusher::new(PushConfig {
                url: PUSH_BASE.into(),
                job: "lookout".into(),
                extra_grouping: Vec::new(),
            }))),
            pushed_predictions: RefCell::new(None),
        })
    }

    /// Scrapes the page's metrics into the store when a scrape is due (samples and
    /// metadata, as a Prometheus scrape would).
    pub fn scrape(&self, now: i64) {
        let mut scraper = self.scraper.borrow_mut();
        if !scraper.due(now) {
            return;
        }
        let text = self.service.metrics().encode(Format::Text);
        if let Ok(mut store) = self.store.try_borrow_mut() {
            let _ = scraper.scrape(&mut store, &text, now);
        }
    }

    /// The store's samples from `since_ms` on (OpenMetrics with timestamps), for the
    /// notebook module to start from the page's history.
    pub fn history(&self, since_ms: i64) -> String {
        self.store
            .try_borrow()
            .map(|s| s.dump_openmetrics(since_ms))
            .unwrap_or_default()
    }

    /// One image on wasm CPU (the relaxed-SIMD module's kernels when `relaxed`, else the
    /// page's own), or on WebGPU when `gpu` names the ready adapter: decoding, softmax and
    /// metrics are the same code either way (`lookout-service`).
    pub async fn predict(
        &self,
        source: &str,
        bytes: &[u8],
        gpu: Option<String>,
        relaxed: bool,
    ) -> Result<Shown, String> {
        let (r, backend): (PredictResponse, String) = if gpu.is_none() && !relaxed {
            (
                self.service
                    .predict_image(bytes, None)
                    .map_err(|e| e.to_string())?,
                CPU_BACKEND.to_string(),
            )
        } else {
            // The network runs in another module: decode here, hand over the input, time
            // the call, finish (softmax, metrics) here.
            let prepared = self
                .service
                .prepare_image(bytes, None)
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            let (logits, runtime, backend) = match gpu {
                Some(adapter) => (
                    gpu::logits(prepared.input()).await?,
                    Runtime::BrowserWebgpu,
                    format!("WebGPU ({adapter})"),
                ),
                None => (
                    webcpu::logits(prepared.input())?,
                    Runtime::BrowserCpu,
                    RELAXED_BACKEND.to_string(),
                ),
            };
            let seconds = start.elapsed().as_secs_f64();
            let r = self
                .service
                .complete(&prepared, &logits, seconds, runtime)
                .map_err(|e| e.to_string())?;
            (r, backend)
        };
        let probabilities = LABELS
            .iter()
            .map(|l| {
                let p = r
                    .probabilities
                    .get(*l)
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                ((*l).to_string(), p as f32)
            })
            .collect();
        Ok(Shown {
            source: source.to_string(),
            label: r.class.to_string(),
            confidence: r.confidence,
            probabilities,
            ms: r.inference_ms,
            backend,
        })
    }

    /// Scrapes the page's metrics into the store (when due) and asks it for the live view.
    pub fn live(&self, push: String) -> Live {
        let now = now_ms();
        let metrics = self.service.metrics();
        self.scrape(now);
        let store = self.store.borrow();
        let storage = &*store;
        let by = |label: &str| -> Vec<(String, f64)> {
            let q = format!("sort_desc(sum by ({label}) (prediction_value_total) > 0)");
            match self.engine.instant_query(storage, &q, now) {
                Ok(Value::Vector(v)) => v
                    .into_iter()
                    .map(|s| (s.labels.get(label).unwrap_or("").to_string(), s.v))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let per_label = by("label");
        let per_runtime = by("runtime");
        let p50_ms = match self.engine.instant_query(
            storage,
            "histogram_quantile(0.5, sum by (le) (rate(inference_time_bucket[1m])))",
            now,
        ) {
            Ok(Value::Vector(v)) => v.first().map(|s| s.v * 1e3).filter(|v| v.is_finite()),
            _ => None,
        };
        Live {
            total: metrics.predictions_total(),
            per_label,
            per_runtime,
            p50_ms,
            push,
        }
    }

    /// The last state when the page is hidden: a beacon outlives the page (a POST, which the
    /// Pushgateway applies like the PUT for our families: every one is in the body).
    pub fn flush(&self) {
        let total = self.service.metrics().predictions_total();
        if *self.pushed_predictions.borrow() == Some(total) {
            return;
        }
        let Some(request) = self
            .pusher
            .borrow()
            .as_ref()
            .map(|p| p.request(self.service.metrics()))
        else {
            return; // a push is in flight and carries the state
        };
        if let Some(w) = web_sys::window() {
            let _ = w
                .navigator()
                .send_beacon_with_opt_str(&request.url, Some(&request.body));
        }
    }

    /// Pushes when there is something new (or a failed push to retry); returns the status.
    pub async fn push(self: Rc<Self>) -> Option<String> {
        let total = self.service.metrics().predictions_total();
        if *self.pushed_predictions.borrow() == Some(total) {
            return None;
        }
        let mut pusher = self.pusher.borrow_mut().take()?;
        let result = pusher.push(self.service.metrics(), &FetchTransport).await;
        let status = match &result {
            Ok(()) => {
                *self.pushed_predictions.borrow_mut() = Some(total);
                format!(
                    "pushed {total} predictions via {PUSH_BASE} ({} pushes)",
                    pusher.status().pushes_ok
                )
            }
            Err(lookout_metrics::push::PushError::Status(503)) => {
                "no Pushgateway behind this server (503): metrics stay in the page".into()
            }
            Err(e) => format!("push failed, will retry: {e}"),
        };
        *self.pusher.borrow_mut() = Some(pusher);
        Some(status)
    }
}
