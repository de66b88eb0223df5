//! Lookout's metric vocabulary, once for the browser, the edge worker and the native server.
//!
//! Families (names as the seed's queries use them):
//! - `inference_time` — histogram of model inference time, seconds;
//! - `prediction_confidence` — histogram per `label` of the softmax probability of the
//!   predicted class, buckets 0.0, 0.1, …, 1.0;
//! - `prediction_value` — counter per `label` (`prediction_value_total{label="Ship"}`);
//! - drift: `prediction_low_confidence_ratio`, `prediction_class_psi`, `prediction_class_kl`
//!   (gauges over the last [`DRIFT_WINDOW`] predictions), `input_brightness` and
//!   `input_contrast` (histograms).
//!
//! Every series carries `runtime` (`browser-cpu`, `browser-webgpu`, `edge`, `native-cpu`,
//! `native-gpu`). One [`Metrics`] may record several runtimes (the page runs wasm CPU and
//! WebGPU side by side): each has its own series and its own drift window. The instance id goes into the Pushgateway grouping key (and is the scrape
//! target's `instance` when Prometheus scrapes directly), not into the exposition.

mod drift;
mod encode;
#[cfg(target_arch = "wasm32")]
pub mod fetch;
pub mod push;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use drift::{DRIFT_WINDOW, LOW_CONFIDENCE};
pub use encode::{CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT, Format};

/// Where predictions run; the `runtime` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    BrowserCpu,
    BrowserWebgpu,
    Edge,
    NativeCpu,
    NativeGpu,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::BrowserCpu => "browser-cpu",
            Runtime::BrowserWebgpu => "browser-webgpu",
            Runtime::Edge => "edge",
            Runtime::NativeCpu => "native-cpu",
            Runtime::NativeGpu => "native-gpu",
        }
    }
}

/// Buckets of `inference_time`, seconds: 250 µs (a native batch of 1) to 10 s.
pub const INFERENCE_BUCKETS: [f64; 14] = [
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Buckets of `prediction_confidence`: 0.0, 0.1, …, 1.0.
pub const CONFIDENCE_BUCKETS: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Buckets of `input_brightness` (mean luminance, 0–1).
pub const BRIGHTNESS_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Buckets of `input_contrast` (standard deviation of luminance, 0–0.5).
pub const CONTRAST_BUCKETS: [f64; 10] = [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuntimeLabels {
    runtime: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    label: String,
    runtime: &'static str,
}

/// What one prediction contributes to the metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation<'a> {
    /// Predicted class name (one of the classes given to [`Metrics::new`]).
    pub label: &'a str,
    /// Softmax probability of the predicted class.
    pub confidence: f64,
    /// Model inference time, seconds.
    pub inference_seconds: f64,
    /// Mean luminance and its standard deviation of the input, when known.
    pub input: Option<InputStats>,
}

/// Summary statistics of an input image (luminance in 0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputStats {
    pub brightness: f64,
    pub contrast: f64,
}

impl InputStats {
    /// From interleaved 8-bit RGB pixels (Rec. 601 luma).
    pub fn from_rgb(rgb: &[u8]) -> Self {
        let n = (rgb.len() / 3).max(1) as f64;
        let (mut sum, mut sq) = (0.0f64, 0.0f64);
        for px in rgb.chunks_exact(3) {
            let y =
                (0.299 * f64::from(px[0]) + 0.587 * f64::from(px[1]) + 0.114 * f64::from(px[2]))
                    / 255.0;
            sum += y;
            sq += y * y;
        }
        let mean = sum / n;
        Self {
            brightness: mean,
            contrast: (sq / n - mean * mean).max(0.0).sqrt(),
        }
    }
}

/// All metric families of one instance.
pub struct Metrics {
    registry: Registry,
    runtime: Runtime,
    instance: String,
    classes: Vec<String>,
    inference_time: Family<RuntimeLabels, Histogram>,
    confidence: Family<ClassLabels, Histogram>,
    predictions: Family<ClassLabels, Counter>,
    low_confidence_ratio: Family<RuntimeLabels, Gauge<f64, AtomicU64>>,
    class_psi: Family<RuntimeLabels, Gauge<f64, AtomicU64>>,
    class_kl: Family<RuntimeLabels, Gauge<f64, AtomicU64>>,
    brightness: Family<RuntimeLabels, Histogram>,
    contrast: Family<RuntimeLabels, Histogram>,
    /// The drift window of every runtime recorded so far (keyed by its label value).
    windows: Mutex<BTreeMap<&'static str, drift::Window>>,
}

fn inference_histogram() -> Histogram {
    Histogram::new(INFERENCE_BUCKETS)
}
fn confidence_histogram() -> Histogram {
    Histogram::new(CONFIDENCE_BUCKETS)
}
fn brightness_histogram() -> Histogram {
    Histogram::new(BRIGHTNESS_BUCKETS)
}
fn contrast_histogram() -> Histogram {
    Histogram::new(CONTRAST_BUCKETS)
}

impl Metrics {
    /// Metrics for one instance. `classes` are the model's labels in output order; every
    /// per-class series exists from the start (at zero), so `rate()` sees the first event.
    pub fn new(runtime: Runtime, instance: impl Into<String>, classes: &[&str]) -> Self {
        let mut registry = Registry::default();
        let inference_time = Family::<RuntimeLabels, Histogram>::new_with_constructor(
            inference_histogram as fn() -> Histogram,
        );
        let confidence = Family::<ClassLabels, Histogram>::new_with_constructor(
            confidence_histogram as fn() -> Histogram,
        );
        let predictions = Family::<ClassLabels, Counter>::default();
        let brightness = Family::<RuntimeLabels, Histogram>::new_with_constructor(
            brightness_histogram as fn() -> Histogram,
        );
        let contrast = Family::<RuntimeLabels, Histogram>::new_with_constructor(
            contrast_histogram as fn() -> Histogram,
        );
        let low_confidence_ratio = Family::<RuntimeLabels, Gauge<f64, AtomicU64>>::default();
        let class_psi = Family::<RuntimeLabels, Gauge<f64, AtomicU64>>::default();
        let class_kl = Family::<RuntimeLabels, Gauge<f64, AtomicU64>>::default();

        registry.register(
            "inference_time",
            "Model inference time in seconds",
            inference_time.clone(),
        );
        registry.register(
            "prediction_confidence",
            "Softmax probability of the predicted class, per predicted label",
            confidence.clone(),
        );
        registry.register(
            "prediction_value",
            "Predictions made, per predicted label",
            predictions.clone(),
        );
        registry.register(
            "prediction_low_confidence_ratio",
            "Share of the last predictions whose confidence was below 0.5",
            low_confidence_ratio.clone(),
        );
        registry.register(
            "prediction_class_psi",
            "Population stability index of the recent class mix against the training prior",
            class_psi.clone(),
        );
        registry.register(
            "prediction_class_kl",
            "KL divergence of the recent class mix from the training prior, nats",
            class_kl.clone(),
        );
        registry.register(
            "input_brightness",
            "Mean luminance of input images (0-1)",
            brightness.clone(),
        );
        registry.register(
            "input_contrast",
            "Standard deviation of luminance of input images (0-1)",
            contrast.clone(),
        );
        let metrics = Self {
            registry,
            runtime,
            instance: instance.into(),
            classes: classes.iter().map(|c| (*c).to_string()).collect(),
            inference_time,
            confidence,
            predictions,
            low_confidence_ratio,
            class_psi,
            class_kl,
            brightness,
            contrast,
            windows: Mutex::new(BTreeMap::new()),
        };
        metrics.add_runtime(runtime);
        metrics
    }

    /// Creates every series of `runtime` at zero (as [`Metrics::new`] does for its own), so
    /// that `rate()` sees the first prediction on a runtime brought up later.
    pub fn add_runtime(&self, runtime: Runtime) {
        self.window_of(&mut self.windows(), runtime);
    }

    /// A poisoned lock only means another thread panicked mid-update; the windows are still
    /// valid ring buffers.
    fn windows(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, drift::Window>> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `runtime`'s drift window; its first use also creates the runtime's series at zero.
    fn window_of<'w>(
        &self,
        windows: &'w mut BTreeMap<&'static str, drift::Window>,
        runtime: Runtime,
    ) -> &'w mut drift::Window {
        windows.entry(runtime.as_str()).or_insert_with(|| {
            self.zero_series(runtime);
            drift::Window::new(self.classes.len())
        })
    }

    fn zero_series(&self, runtime: Runtime) {
        let rt = RuntimeLabels {
            runtime: runtime.as_str(),
        };
        drop(self.inference_time.get_or_create(&rt));
        drop(self.brightness.get_or_create(&rt));
        drop(self.contrast.get_or_create(&rt));
        drop(self.low_confidence_ratio.get_or_create(&rt));
        drop(self.class_psi.get_or_create(&rt));
        drop(self.class_kl.get_or_create(&rt));
        for c in &self.classes {
            let l = ClassLabels {
                label: c.clone(),
                runtime: runtime.as_str(),
            };
            drop(self.confidence.get_or_create(&l));
            drop(self.predictions.get_or_create(&l));
        }
    }

    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Records one prediction on this instance's own runtime.
    pub fn record(&self, o: &Observation<'_>) {
        self.record_on(self.runtime, o);
    }

    /// Records one prediction made on `runtime`.
    pub fn record_on(&self, runtime: Runtime, o: &Observation<'_>) {
        let mut windows = self.windows();
        let window = self.window_of(&mut windows, runtime);
        let rt = RuntimeLabels {
            runtime: runtime.as_str(),
        };
        let labels = ClassLabels {
            label: o.label.to_string(),
            runtime: runtime.as_str(),
        };
        self.inference_time
            .get_or_create(&rt)
            .observe(o.inference_seconds);
        self.confidence.get_or_create(&labels).observe(o.confidence);
        self.predictions.get_or_create(&labels).inc();
        if let Some(stats) = o.input {
            self.brightness.get_or_create(&rt).observe(stats.brightness);
            self.contrast.get_or_create(&rt).observe(stats.contrast);
        }
        let class = self.classes.iter().position(|c| c == o.label);
        let d = window.push(class, o.confidence);
        self.low_confidence_ratio
            .get_or_create(&rt)
            .set(d.low_confidence_ratio);
        self.class_psi.get_or_create(&rt).set(d.psi);
        self.class_kl.get_or_create(&rt).set(d.kl);
    }

    /// Total predictions recorded, on every runtime (the sum of `prediction_value_total`).
    pub fn predictions_total(&self) -> u64 {
        let runtimes: Vec<&'static str> = self.windows().keys().copied().collect();
        runtimes.iter().map(|r| self.total_of(r)).sum()
    }

    /// Predictions recorded on one runtime.
    pub fn predictions_on(&self, runtime: Runtime) -> u64 {
        self.total_of(runtime.as_str())
    }

    fn total_of(&self, runtime: &'static str) -> u64 {
        self.classes
            .iter()
            .map(|c| {
                self.predictions
                    .get_or_create(&ClassLabels {
                        label: c.clone(),
                        runtime,
                    })
                    .get()
            })
            .sum()
    }

    /// The exposition in the given format.
    pub fn encode(&self, format: Format) -> String {
        encode::encode(&self.registry, format)
    }
}

#[cfg(test)]
mod tests;
