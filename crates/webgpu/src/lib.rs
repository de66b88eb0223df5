//! The page's WebGPU backend, loaded on demand as its own wasm module (`webgpu/` in the
//! built page) so that the first CPU prediction never waits for the wgpu/cubecl code.
//!
//! It holds the network only: the page decodes and normalises (the one preprocessing in
//! `lookout-model`), hands `[n, 3, 32, 32]` floats here, gets logits back, and turns them
//! into predictions and metrics itself (`lookout-service`).

#[cfg(target_arch = "wasm32")]
mod gpu {
    use std::rc::Rc;

    use lookout_model::{Classifier, weights};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::future_to_promise;

    /// The network on the browser's WebGPU adapter.
    #[wasm_bindgen]
    pub struct GpuClassifier {
        inner: Rc<Classifier>,
        adapter: String,
    }

    /// Requests the adapter and device, uploads the compact weights (dequantised) and warms
    /// up (shader compiles) with one async readback. Rejects with a readable message when
    /// there is no adapter.
    #[wasm_bindgen]
    pub async fn load() -> Result<GpuClassifier, JsError> {
        let (classifier, adapter) = Classifier::wgpu_compact_async(weights::EMBEDDED_COMPACT)
            .await
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(GpuClassifier {
            inner: Rc::new(classifier),
            adapter,
        })
    }

    #[wasm_bindgen]
    impl GpuClassifier {
        /// The adapter's name and API, e.g. `SwiftShader Device (WebGpu)`.
        #[wasm_bindgen(getter)]
        pub fn adapter(&self) -> String {
            self.adapter.clone()
        }

        /// Logits (10 per image) for normalised inputs; a promise of a `Float32Array`.
        pub fn logits(&self, inputs: Vec<f32>) -> js_sys::Promise {
            let inner = Rc::clone(&self.inner);
            future_to_promise(async move {
                let logits = inner
                    .logits_async(&inputs)
                    .await
                    .map_err(|e| JsValue::from(JsError::new(&e.to_string())))?;
                Ok(js_sys::Float32Array::from(logits.as_slice()).into())
            })
        }
    }
}
