//! The predict pipeline: bytes → preprocess → network → softmax → [`Prediction`].

use burn::tensor::{Device, Tensor, TensorData};
use image::ImageFormat;
use serde::Serialize;
use web_time::Instant;

use crate::arch::Cnn;
use crate::labels::{LABELS, NUM_CLASSES};
use crate::preprocess::{self, DecodeLimits, INPUT_LEN, INPUT_SIZE, PreprocessError};
use crate::weights::{self, WeightsError};

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The CPU: the burn model's parameters repacked into a `lookout-cpu` plan (Winograd
    /// convolutions, SIMD microkernels; see [`lookout_cpu`]).
    Cpu,
    /// burn's `flex` CPU backend running the burn model itself: the reference the CPU
    /// plan is tested against.
    Flex,
    /// burn's wgpu backend (Vulkan/Metal/DX12 natively, WebGPU in a browser).
    Wgpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    #[error(transparent)]
    Input(#[from] PreprocessError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("backend {0} is not available: {1}")]
    Unavailable(&'static str, String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("batch input has {0} floats, not a multiple of {INPUT_LEN}")]
    BatchShape(usize),
}

impl From<lookout_cpu::CpuError> for ClassifierError {
    fn from(e: lookout_cpu::CpuError) -> Self {
        match e {
            lookout_cpu::CpuError::Input(n) => ClassifierError::BatchShape(n),
            other => ClassifierError::Weights(WeightsError::Mismatch(other.to_string())),
        }
    }
}

/// One image's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Predicted label, e.g. `"Ship"`.
    #[serde(rename = "class")]
    pub label: &'static str,
    /// Index of the label in [`LABELS`].
    pub class_index: usize,
    /// Softmax probability of the predicted class.
    pub confidence: f32,
    /// Softmax probabilities of all classes, in [`LABELS`] order.
    pub probabilities: [f32; NUM_CLASSES],
    /// Wall time of the network (and readback) for the batch this image was in, in seconds.
    pub inference_seconds: f64,
}

impl Prediction {
    /// Softmax and argmax of one image's logits (also for logits computed elsewhere, e.g. by
    /// the page's WebGPU module).
    pub fn from_logits(logits: &[f32], inference_seconds: f64) -> Self {
        let probabilities = softmax(logits);
        let class_index = argmax(&probabilities);
        Self {
            label: LABELS[class_index],
            class_index,
            confidence: probabilities[class_index],
            probabilities,
            inference_seconds,
        }
    }

    /// The `k` most probable classes, most probable first.
    pub fn top(&self, k: usize) -> Vec<(&'static str, f32)> {
        let mut idx: Vec<usize> = (0..NUM_CLASSES).collect();
        idx.sort_by(|&a, &b| self.probabilities[b].total_cmp(&self.probabilities[a]));
        idx.into_iter()
            .take(k)
            .map(|i| (LABELS[i], self.probabilities[i]))
            .collect()
    }
}

/// Numerically stable softmax over 10 logits.
pub fn softmax(logits: &[f32]) -> [f32; NUM_CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out = [0.0f32; NUM_CLASSES];
    let mut sum = 0.0f64;
    for (o, &l) in out.iter_mut().zip(logits) {
        let e = f64::from(l - max).exp();
        *o = e as f32;
        sum += e;
    }
    for o in &mut out {
        *o = (f64::from(*o) / sum) as f32;
    }
    out
}

fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// The network with its weights, ready to run on one backend.
pub struct Classifier {
    engine: Engine,
    backend: Backend,
    limits: DecodeLimits,
}

/// What runs the network.
enum Engine {
    /// [`Backend::Cpu`]: the parameters repacked for this CPU. The burn model they came from
    /// is dropped once packed: keeping it would hold the weights twice (≈ 18 MB natively,
    /// which counts in a 128 MB edge isolate).
    Packed(Box<lookout_cpu::Plan>),
    /// [`Backend::Flex`] (the reference) and [`Backend::Wgpu`]: burn's model on its device.
    Burn { model: Box<Cnn>, device: Device },
}

impl Classifier {
    /// The shipped weights on the given backend: f16 natively, compact on wasm32 (page and
    /// edge worker, where size counts).
    pub fn embedded(backend: Backend) -> Result<Self, ClassifierError> {
        #[cfg(not(target_arch = "wasm32"))]
        return Self::from_static(weights::EMBEDDED, backend);
        #[cfg(target_arch = "wasm32")]
        return Self::embedded_compact(backend);
    }

    /// The shipped compact weights (what wasm32 builds run), on any target.
    pub fn embedded_compact(backend: Backend) -> Result<Self, ClassifierError> {
        Self::from_lkq(weights::EMBEDDED_COMPACT, backend)
    }

    /// Weights from an `LKQ8` buffer.
    pub fn from_lkq(bytes: &[u8], backend: Backend) -> Result<Self, ClassifierError> {
        let device = device_for(backend)?;
        let mut model = Cnn::new(&device);
        crate::quant::load(&mut model, bytes)?;
        Self::from_model(model, device, backend)
    }

    /// Weights from a static burnpack buffer (f16 or f32).
    pub fn from_static(bytes: &'static [u8], backend: Backend) -> Result<Self, ClassifierError> {
        let device = device_for(backend)?;
        let mut model = Cnn::new(&device);
        weights::load_static(&mut model, bytes)?;
        Self::from_model(model, device, backend)
    }

    /// Weights from a file: burnpack (f16 or f32) or `LKQ8`.
    pub fn from_file(path: &std::path::Path, backend: Backend) -> Result<Self, ClassifierError> {
        let device = device_for(backend)?;
        let mut model = Cnn::new(&device);
        weights::load_file(&mut model, path)?;
        Self::from_model(model, device, backend)
    }

    /// Wraps a model already on `device`; runs one warm-up batch so that a missing adapter or
    /// a shader compile fails or happens here, not on the first request.
    pub fn from_model(
        model: Cnn,
        device: Device,
        backend: Backend,
    ) -> Result<Self, ClassifierError> {
        let classifier = if backend == Backend::Cpu {
            let plan = crate::cpu::plan(&burn::module::Module::valid(&model))?;
            drop(model);
            Self {
                engine: Engine::Packed(Box::new(plan)),
                backend,
                limits: DecodeLimits::default(),
            }
        } else {
            Self::assemble(model, device, backend)
        };
        classifier.logits(&vec![0.0; INPUT_LEN])?;
        Ok(classifier)
    }

    /// A burn model in inference mode, not yet warmed up.
    fn assemble(model: Cnn, device: Device, backend: Backend) -> Self {
        Self {
            engine: Engine::Burn {
                model: Box::new(burn::module::Module::valid(&model)),
                device,
            },
            backend,
            limits: DecodeLimits::default(),
        }
    }

    /// Replaces the decode limits (e.g. tighter ones in an edge worker).
    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The burn device the model runs on; `None` for the CPU backend (packed, no burn model).
    pub fn device(&self) -> Option<&Device> {
        match &self.engine {
            Engine::Packed(_) => None,
            Engine::Burn { device, .. } => Some(device),
        }
    }

    /// The instruction set the CPU backend's kernels run on (`avx2+fma`, `wasm-simd128`,
    /// `portable`); `None` on the burn backends.
    pub fn cpu_kernel(&self) -> Option<&'static str> {
        match &self.engine {
            Engine::Packed(plan) => Some(plan.kernel().name()),
            Engine::Burn { .. } => None,
        }
    }

    /// Encoded image → prediction.
    pub fn predict_bytes(
        &self,
        bytes: &[u8],
        hint: Option<ImageFormat>,
    ) -> Result<Prediction, ClassifierError> {
        let input = preprocess::preprocess(bytes, hint, &self.limits)?;
        let mut out = self.predict_inputs(&input)?;
        out.pop()
            .ok_or_else(|| ClassifierError::Inference("no output".into()))
    }

    /// Preprocessed images (concatenated `[3, 32, 32]` blocks) → one prediction each.
    pub fn predict_inputs(&self, inputs: &[f32]) -> Result<Vec<Prediction>, ClassifierError> {
        let start = Instant::now();
        let logits = self.logits(inputs)?;
        Ok(predictions(&logits, start.elapsed().as_secs_f64()))
    }

    /// Raw logits, `NUM_CLASSES` per image. Synchronous readback: native backends and wasm
    /// CPU; a browser's WebGPU needs [`Classifier::logits_async`].
    pub fn logits(&self, inputs: &[f32]) -> Result<Vec<f32>, ClassifierError> {
        let (model, device) = match &self.engine {
            Engine::Packed(plan) => return Ok(plan.logits(inputs)?),
            Engine::Burn { model, device } => (model, device),
        };
        let run = || -> Result<Vec<f32>, ClassifierError> {
            let out = model.forward(input_tensor(inputs, device)?);
            logits_vec(out.try_into_data())
        };
        match self.backend {
            Backend::Cpu | Backend::Flex => run(),
            // A GPU runtime that fails deep inside (lost device, no adapter) panics in
            // cubecl; keep that from reaching the caller.
            Backend::Wgpu => std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .map_err(|p| ClassifierError::Unavailable("wgpu", panic_text(&p)))?,
        }
    }

    /// Raw logits with an asynchronous readback: what a browser's WebGPU requires (its sync
    /// readback panics); works on every backend.
    pub async fn logits_async(&self, inputs: &[f32]) -> Result<Vec<f32>, ClassifierError> {
        let (model, device) = match &self.engine {
            Engine::Packed(plan) => return Ok(plan.logits(inputs)?),
            Engine::Burn { model, device } => (model, device),
        };
        let out = model.forward(input_tensor(inputs, device)?);
        logits_vec(out.into_data_async().await)
    }

    /// [`Classifier::predict_inputs`] with an asynchronous readback.
    pub async fn predict_inputs_async(
        &self,
        inputs: &[f32],
    ) -> Result<Vec<Prediction>, ClassifierError> {
        let start = Instant::now();
        let logits = self.logits_async(inputs).await?;
        Ok(predictions(&logits, start.elapsed().as_secs_f64()))
    }

    /// The shipped compact weights on wgpu, brought up asynchronously (the only way a browser
    /// allows: `navigator.gpu` adapter and device requests are promises) and warmed up with
    /// an async readback, so shader compiles happen here. Returns the adapter's description.
    #[cfg(feature = "wgpu")]
    pub async fn wgpu_compact_async(bytes: &[u8]) -> Result<(Self, String), ClassifierError> {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup_async()
            .await
            .map_err(|e| ClassifierError::Unavailable("wgpu", e.to_string()))?;
        let info = setup.adapter.get_info();
        // Browsers keep the adapter's name private: wgpu reports an empty one there.
        let adapter = if info.name.is_empty() {
            "WebGPU adapter".to_string()
        } else {
            format!("{} ({:?})", info.name, info.backend)
        };
        let mut model = Cnn::new(&device);
        crate::quant::load(&mut model, bytes)?;
        let classifier = Self::assemble(model, device, Backend::Wgpu);
        classifier.logits_async(&vec![0.0; INPUT_LEN]).await?;
        Ok((classifier, adapter))
    }
}

/// A batch of preprocessed images as burn's input tensor on `device`.
fn input_tensor(inputs: &[f32], device: &Device) -> Result<Tensor<4>, ClassifierError> {
    if inputs.is_empty() || !inputs.len().is_multiple_of(INPUT_LEN) {
        return Err(ClassifierError::BatchShape(inputs.len()));
    }
    let n = inputs.len() / INPUT_LEN;
    let data = TensorData::new(inputs.to_vec(), [n, 3, INPUT_SIZE, INPUT_SIZE]);
    Ok(Tensor::<4>::from_data(data, device))
}

/// One prediction per image of a batch's logits; the batch's time for each.
fn predictions(logits: &[f32], seconds: f64) -> Vec<Prediction> {
    logits
        .chunks_exact(NUM_CLASSES)
        .map(|l| Prediction::from_logits(l, seconds))
        .collect()
}

fn logits_vec<E: std::fmt::Debug>(
    data: Result<TensorData, E>,
) -> Result<Vec<f32>, ClassifierError> {
    data.map_err(|e| ClassifierError::Inference(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| ClassifierError::Inference(format!("{e:?}")))
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "runtime panicked".into())
}

/// The device for a backend; wgpu only where this build has it.
pub fn device_for(backend: Backend) -> Result<Device, ClassifierError> {
    match backend {
        Backend::Cpu | Backend::Flex => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err(ClassifierError::Unavailable(
            "wgpu",
            "this build has no wgpu support".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_a_distribution_and_stable() {
        let p = softmax(&[1000.0, 1000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1000.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6);
        let p = softmax(&[0.0; 10]);
        assert!(p.iter().all(|v| (v - 0.1).abs() < 1e-7));
        let p = softmax(&[1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let z: f64 = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).sum::<f64>() + 7.0;
        assert!((f64::from(p[2]) - 3f64.exp() / z).abs() < 1e-6);
    }

    #[test]
    fn prediction_picks_the_most_probable_class() {
        let mut logits = [0.0f32; 10];
        logits[8] = 5.0;
        logits[3] = 4.0;
        let p = Prediction::from_logits(&logits, 0.0);
        assert_eq!(p.label, "Ship");
        assert_eq!(p.class_index, 8);
        assert_eq!(p.top(2)[1].0, "Cat");
        assert!((p.confidence - p.probabilities[8]).abs() < f32::EPSILON);
    }

    #[test]
    fn untrained_model_predicts_batches_with_valid_shapes() {
        let device = Device::flex();
        let clf = Classifier::from_model(Cnn::new(&device), device, Backend::Cpu).expect("cpu");
        let preds = clf
            .predict_inputs(&vec![0.1; 3 * INPUT_LEN])
            .expect("batch");
        assert_eq!(preds.len(), 3);
        assert_eq!(preds[0].probabilities, preds[2].probabilities);
        assert!(matches!(
            clf.logits(&[0.0; 5]),
            Err(ClassifierError::BatchShape(5))
        ));
        assert!(matches!(
            clf.logits(&[]),
            Err(ClassifierError::BatchShape(0))
        ));
    }

    /// Polls a future to completion on this thread (flex's readback is ready at once).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn async_readback_gives_the_sync_answer() {
        let clf = Classifier::embedded_compact(Backend::Cpu).expect("cpu");
        let inputs: Vec<f32> = (0..2 * INPUT_LEN)
            .map(|i| ((i % 97) as f32 - 48.0) / 30.0)
            .collect();
        let sync = clf.logits(&inputs).expect("sync");
        assert_eq!(block_on(clf.logits_async(&inputs)).expect("async"), sync);
        let preds = block_on(clf.predict_inputs_async(&inputs)).expect("async predictions");
        assert_eq!(preds.len(), 2);
        assert_eq!(preds[0].probabilities, softmax(&sync[..NUM_CLASSES]));
        assert!(matches!(
            block_on(clf.logits_async(&[1.0; 7])),
            Err(ClassifierError::BatchShape(7))
        ));
    }
}
