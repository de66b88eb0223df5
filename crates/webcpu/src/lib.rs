//! The page's CPU backend built with relaxed SIMD, loaded on demand as its own wasm module
//! (`webcpu/` in the built page).
//!
//! wasm has no run-time feature detection inside a module: a module that uses relaxed SIMD
//! fails to compile in a browser without it (Safari), so the page's own module keeps plain
//! simd128 and loads this one only where `WebAssembly.validate` accepts a relaxed-SIMD probe
//! (`crates/web/src/webcpu.rs`). It holds the network only: the page hands over its compact
//! weights (so they are not downloaded twice), decodes and normalises (the one preprocessing
//! in `lookout-model`), passes `[n, 3, 32, 32]` floats here, gets logits back, and turns
//! them into predictions and metrics itself (`lookout-service`).

#[cfg(target_arch = "wasm32")]
pub use cpu::{CpuClassifier, load};

#[cfg(target_arch = "wasm32")]
mod cpu {
    use lookout_model::{Backend, Classifier};
    use wasm_bindgen::prelude::*;

    /// The network on `lookout-cpu`'s relaxed-SIMD kernels.
    #[wasm_bindgen]
    pub struct CpuClassifier {
        inner: Classifier,
    }

    /// Loads the compact weights (`.lkq`, as the page embeds them) and packs the plan.
    /// Rejects with a readable message when the bytes are not such weights.
    #[wasm_bindgen]
    pub fn load(weights: &[u8]) -> Result<CpuClassifier, JsError> {
        let inner = Classifier::from_lkq(weights, Backend::Cpu)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(CpuClassifier { inner })
    }

    #[wasm_bindgen]
    impl CpuClassifier {
        /// The kernel the plan runs, `wasm-relaxed-simd`.
        #[wasm_bindgen(getter)]
        pub fn kernel(&self) -> String {
            self.inner.cpu_kernel().unwrap_or("unknown").to_string()
        }

        /// Logits (10 per image) for normalised inputs (`[n][3][32][32]`).
        pub fn logits(&self, inputs: &[f32]) -> Result<Vec<f32>, JsError> {
            self.inner
                .logits(inputs)
                .map_err(|e| JsError::new(&e.to_string()))
        }
    }
}
