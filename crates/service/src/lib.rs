//! The seed's model-server API, once: `{"image": "<base64>", "format": "JPEG"}` →
//! `{"class": "Ship", ...}`, a batch form, typed errors with HTTP statuses, and every
//! prediction recorded in the metrics. The native server, the edge worker and the page are
//! thin adapters around [`Service`].

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use lookout_metrics::{Format, InputStats, Metrics, Observation, Runtime};
use lookout_model::preprocess::{self, INPUT_LEN, PreprocessError};
use lookout_model::{Backend, Classifier, ClassifierError, LABELS, Prediction};
use serde::{Deserialize, Serialize};

/// Default cap on images in one batch request.
pub const MAX_BATCH: usize = 64;

/// One image in a request. The base64 text is borrowed from the request body where it
/// has no JSON escapes (it has none as clients write it): a copy of a 21 MB string is what
/// would otherwise push the edge isolate's memory towards its limit.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageRequest<'a> {
    /// Base64 (standard alphabet, padding optional) of the encoded image.
    #[serde(borrow)]
    pub image: Cow<'a, str>,
    /// `JPEG`, `PNG`, `WEBP`, `GIF` or `BMP`; the content decides when it is recognisable.
    #[serde(default)]
    pub format: Option<String>,
}

/// A request body: one image, or `{"images": [...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PredictBody<'a> {
    Batch {
        #[serde(borrow)]
        images: Vec<ImageRequest<'a>>,
    },
    One(#[serde(borrow)] ImageRequest<'a>),
}

/// The answer for one image.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PredictResponse {
    /// Predicted label, e.g. `"Ship"`.
    pub class: &'static str,
    pub class_index: usize,
    pub confidence: f32,
    /// Label → softmax probability, all ten classes.
    pub probabilities: serde_json::Map<String, serde_json::Value>,
    pub inference_ms: f64,
    pub runtime: &'static str,
}

/// Per-item result in a batch answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum BatchItem {
    Ok(PredictResponse),
    Err { error: String, status: u16 },
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("invalid base64 in \"image\": {0}")]
    Base64(String),
    #[error("{0}")]
    Input(#[from] PreprocessError),
    #[error("batch of {0} images is over the limit of {1}")]
    BatchTooLarge(usize, usize),
    #[error("empty batch: \"images\" has no entries")]
    EmptyBatch,
    #[error("request body over the limit of {0} bytes")]
    BodyTooLarge(usize),
    #[error("inference failed: {0}")]
    Inference(String),
}

impl ServiceError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Json(_) | ServiceError::Base64(_) | ServiceError::EmptyBatch => 400,
            ServiceError::BatchTooLarge(..) | ServiceError::BodyTooLarge(_) => 413,
            ServiceError::Input(e) => match e {
                PreprocessError::TooManyBytes { .. }
                | PreprocessError::TooManyPixels { .. }
                | PreprocessError::Limits(_) => 413,
                PreprocessError::UnsupportedFormat(_) | PreprocessError::UnknownFormat => 415,
                PreprocessError::Empty | PreprocessError::Corrupt(_) => 422,
            },
            ServiceError::Inference(_) => 500,
        }
    }

    /// `{"error": "...", "status": N}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self.to_string(), "status": self.status() }).to_string()
    }
}

impl From<ClassifierError> for ServiceError {
    fn from(e: ClassifierError) -> Self {
        match e {
            ClassifierError::Input(p) => ServiceError::Input(p),
            other => ServiceError::Inference(other.to_string()),
        }
    }
}

/// The runtime label for a native backend.
pub fn native_runtime(backend: Backend) -> Runtime {
    match backend {
        Backend::Cpu | Backend::Flex => Runtime::NativeCpu,
        Backend::Wgpu => Runtime::NativeGpu,
    }
}

/// Model + metrics + request limits.
pub struct Service {
    classifier: Classifier,
    metrics: Metrics,
    max_batch: usize,
}

/// A decoded input, ready for the network.
pub struct Prepared {
    input: Vec<f32>,
    stats: InputStats,
}

impl Prepared {
    /// The normalised `[3, 32, 32]` floats the network takes.
    pub fn input(&self) -> &[f32] {
        &self.input
    }
}

impl Service {
    pub fn new(classifier: Classifier, runtime: Runtime, instance: impl Into<String>) -> Self {
        Self {
            classifier,
            metrics: Metrics::new(runtime, instance, &LABELS),
            max_batch: MAX_BATCH,
        }
    }

    pub fn with_max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The most request body bytes worth reading: a full batch of the largest images the
    /// decoder accepts, in base64, plus JSON overhead.
    pub fn max_body_bytes(&self) -> usize {
        self.classifier.limits().max_bytes / 3 * 4 + 1024
    }

    /// `/metrics`: content type and body for a scraper's `Accept` header.
    pub fn exposition(&self, accept: Option<&str>) -> (&'static str, String) {
        let f = Format::negotiate(accept);
        (f.content_type(), self.metrics.encode(f))
    }

    /// `POST /predict`: the JSON body in, the JSON answer out (status 200), or an error with
    /// its status. A batch answers per item: `{"predictions": [ {...} | {"error", "status"} ]}`.
    /// Takes the body by value and lets it go once its base64 is decoded, before any image
    /// is: the body and a decoder's buffers are never held at once (what bounds the edge
    /// isolate's memory).
    pub fn predict_json(&self, body: Vec<u8>) -> Result<String, ServiceError> {
        type Item = Result<(Vec<u8>, Option<String>), ServiceError>;
        let (items, batch): (Vec<Item>, bool) = {
            let parsed: PredictBody =
                serde_json::from_slice(&body).map_err(|e| ServiceError::Json(e.to_string()))?;
            match parsed {
                PredictBody::One(req) => (vec![self.encoded(&req)], false),
                PredictBody::Batch { images } => {
                    if images.is_empty() {
                        return Err(ServiceError::EmptyBatch);
                    }
                    if images.len() > self.max_batch {
                        return Err(ServiceError::BatchTooLarge(images.len(), self.max_batch));
                    }
                    (images.iter().map(|r| self.encoded(r)).collect(), true)
                }
            }
        };
        drop(body);
        // Each item's bytes are let go as soon as it is prepared.
        let mut prepared: Vec<Result<Prepared, ServiceError>> = items
            .into_iter()
            .map(|item| {
                item.and_then(|(bytes, format)| self.prepare_image(&bytes, format.as_deref()))
            })
            .collect();
        if !batch {
            let one = prepared
                .pop()
                .ok_or_else(|| ServiceError::Inference("no input".into()))??;
            let answer = self
                .run(&[one])?
                .pop()
                .ok_or_else(|| ServiceError::Inference("no output".into()))?;
            return serde_json::to_string(&answer)
                .map_err(|e| ServiceError::Inference(e.to_string()));
        }
        let ok: Vec<&Prepared> = prepared.iter().filter_map(|p| p.as_ref().ok()).collect();
        let mut answers = if ok.is_empty() {
            Vec::new()
        } else {
            self.run_refs(&ok)?
        }
        .into_iter();
        let items: Vec<BatchItem> = prepared
            .iter()
            .map(|p| match p {
                Ok(_) => answers.next().map(BatchItem::Ok).unwrap_or(BatchItem::Err {
                    error: "no output".into(),
                    status: 500,
                }),
                Err(e) => BatchItem::Err {
                    error: e.to_string(),
                    status: e.status(),
                },
            })
            .collect();
        serde_json::to_string(&serde_json::json!({ "predictions": items }))
            .map_err(|e| ServiceError::Inference(e.to_string()))
    }

    /// One encoded image (the page's file picker, drop zone and gallery): decode with the
    /// limits, predict, record the metrics — the same path as `/predict`.
    pub fn predict_image(
        &self,
        bytes: &[u8],
        format: Option<&str>,
    ) -> Result<PredictResponse, ServiceError> {
        let prepared = self.prepare_image(bytes, format)?;
        self.run(&[prepared])?
            .pop()
            .ok_or_else(|| ServiceError::Inference("no output".into()))
    }

    /// Decodes one encoded image with this service's limits (the first half of
    /// [`Service::predict_image`], for a network that runs elsewhere: the page's WebGPU
    /// module).
    pub fn prepare_image(
        &self,
        bytes: &[u8],
        format: Option<&str>,
    ) -> Result<Prepared, ServiceError> {
        let limits = self.classifier.limits();
        let hint = match format {
            Some(f) if !f.trim().is_empty() => Some(preprocess::parse_format(f)?),
            _ => None,
        };
        let rgb = preprocess::decode_input(bytes, hint, limits)?;
        Ok(Prepared {
            stats: InputStats::from_rgb(rgb.as_raw()),
            input: preprocess::normalize_rgb(rgb.as_raw()),
        })
    }

    /// The second half: logits computed on `runtime` for `prepared` → the answer, recorded
    /// in the metrics under that runtime.
    pub fn complete(
        &self,
        prepared: &Prepared,
        logits: &[f32],
        inference_seconds: f64,
        runtime: Runtime,
    ) -> Result<PredictResponse, ServiceError> {
        if logits.len() != LABELS.len() {
            return Err(ServiceError::Inference(format!(
                "{} logits for one image, expected {}",
                logits.len(),
                LABELS.len()
            )));
        }
        let pred = Prediction::from_logits(logits, inference_seconds);
        self.record_on(runtime, &pred, prepared.stats, 1);
        Ok(self.response(&pred, runtime))
    }

    /// One request item's encoded image (its base64 decoded, refused from its length when
    /// over the byte limit) and its format name.
    fn encoded(&self, req: &ImageRequest<'_>) -> Result<(Vec<u8>, Option<String>), ServiceError> {
        let limits = self.classifier.limits();
        // Refuse oversize input from its base64 length, before decoding it.
        let approx = req.image.len() / 4 * 3;
        if approx > limits.max_bytes + 3 {
            return Err(PreprocessError::TooManyBytes {
                size: approx,
                limit: limits.max_bytes,
            }
            .into());
        }
        let trimmed = req.image.trim();
        let b64 = trimmed
            .strip_prefix("data:")
            .and_then(|rest| rest.split_once(";base64,").map(|(_, d)| d))
            .unwrap_or(trimmed);
        let bytes = STANDARD
            .decode(b64)
            .or_else(|_| STANDARD_NO_PAD.decode(b64.trim_end_matches('=')))
            .map_err(|e| ServiceError::Base64(e.to_string()))?;
        Ok((bytes, req.format.clone()))
    }

    fn run(&self, prepared: &[Prepared]) -> Result<Vec<PredictResponse>, ServiceError> {
        self.run_refs(&prepared.iter().collect::<Vec<_>>())
    }

    fn run_refs(&self, prepared: &[&Prepared]) -> Result<Vec<PredictResponse>, ServiceError> {
        let mut batch = Vec::with_capacity(prepared.len() * INPUT_LEN);
        for p in prepared {
            batch.extend_from_slice(&p.input);
        }
        let preds = self.classifier.predict_inputs(&batch)?;
        Ok(preds
            .iter()
            .zip(prepared)
            .map(|(pred, p)| {
                let runtime = self.metrics.runtime();
                self.record_on(runtime, pred, p.stats, prepared.len());
                self.response(pred, runtime)
            })
            .collect())
    }

    /// Records one prediction (the batch's time is shared out per image).
    fn record_on(&self, runtime: Runtime, pred: &Prediction, stats: InputStats, batch: usize) {
        self.metrics.record_on(
            runtime,
            &Observation {
                label: pred.label,
                confidence: f64::from(pred.confidence),
                inference_seconds: pred.inference_seconds / batch.max(1) as f64,
                input: Some(stats),
            },
        );
    }

    fn response(&self, pred: &Prediction, runtime: Runtime) -> PredictResponse {
        let probabilities = LABELS
            .iter()
            .zip(pred.probabilities)
            .map(|(l, p)| ((*l).to_string(), serde_json::json!(p)))
            .collect();
        PredictResponse {
            class: pred.label,
            class_index: pred.class_index,
            confidence: pred.confidence,
            probabilities,
            inference_ms: pred.inference_seconds * 1e3,
            runtime: runtime.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_model::samples::SAMPLES;

    /// The split path (decode here, network elsewhere, answer here) gives what the one-call
    /// path gives, and counts under the runtime that ran the network.
    #[test]
    fn prepare_and_complete_match_predict_image() {
        let classifier = Classifier::embedded_compact(Backend::Cpu).expect("cpu classifier");
        let service = Service::new(classifier, Runtime::BrowserCpu, "page-test");
        for (name, bytes) in SAMPLES.iter().take(5) {
            let whole = service.predict_image(bytes, None).expect(name);
            let prepared = service.prepare_image(bytes, Some("jpeg")).expect(name);
            let logits = service.classifier().logits(prepared.input()).expect(name);
            let split = service
                .complete(&prepared, &logits, 0.002, Runtime::BrowserWebgpu)
                .expect(name);
            assert_eq!(split.class, whole.class, "{name}");
            assert_eq!(split.probabilities, whole.probabilities, "{name}");
            assert_eq!(split.runtime, "browser-webgpu");
            assert_eq!(whole.runtime, "browser-cpu");
            assert!((split.inference_ms - 2.0).abs() < 1e-9);
        }
        let m = service.metrics();
        assert_eq!(m.predictions_on(Runtime::BrowserCpu), 5);
        assert_eq!(m.predictions_on(Runtime::BrowserWebgpu), 5);
        let prepared = service.prepare_image(SAMPLES[0].1, None).expect("sample");
        let err = service
            .complete(&prepared, &[0.0; 3], 0.0, Runtime::BrowserWebgpu)
            .expect_err("3 logits");
        assert_eq!(err.status(), 500);
        assert_eq!(
            m.predictions_on(Runtime::BrowserWebgpu),
            5,
            "nothing recorded"
        );
        assert!(matches!(
            service.prepare_image(b"not an image", None),
            Err(ServiceError::Input(_))
        ));
    }
}
