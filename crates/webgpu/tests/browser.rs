//! The WebGPU module's network in a real browser (headless Chromium with
//! `--enable-unsafe-webgpu`: SwiftShader's WebGPU adapter where there is no GPU): the compact
//! model's probabilities on the shipped samples equal the native CPU pipeline's
//! (`crates/model/tests/fixtures/native-compact.json`) within 1e-3, read back asynchronously.
//! Run: `wasm-pack test --headless --chrome --mode no-install -- --profile wasm --test browser`.
#![cfg(target_arch = "wasm32")]

use lookout_model::fixtures::{compare_with_native, native_cases};
use lookout_model::{Backend, Classifier, NUM_CLASSES, Prediction, weights};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webgpu_predictions_equal_native() {
    let cases = native_cases(include_str!(
        "../../model/tests/fixtures/native-compact.json"
    ))
    .expect("fixture");
    let (gpu, adapter) = Classifier::wgpu_compact_async(weights::EMBEDDED_COMPACT)
        .await
        .expect("Chromium with --enable-unsafe-webgpu gives an adapter");
    assert_eq!(gpu.backend(), Backend::Wgpu);
    web_sys_log(&format!("WebGPU adapter: {adapter}"));
    for c in &cases {
        let p = gpu
            .predict_inputs_async(&c.input)
            .await
            .expect("predict")
            .remove(0);
        check(c.name, &p, &c.expected);
    }
    // The whole gallery as one batch: the same answers.
    let batch: Vec<f32> = cases.iter().flat_map(|c| c.input.iter().copied()).collect();
    let logits = gpu.logits_async(&batch).await.expect("batch");
    assert_eq!(logits.len(), cases.len() * NUM_CLASSES);
    for (c, l) in cases.iter().zip(logits.chunks_exact(NUM_CLASSES)) {
        check(c.name, &Prediction::from_logits(l, 0.0), &c.expected);
    }
    assert!(
        gpu.logits_async(&[0.5; 11]).await.is_err(),
        "bad shape is an error"
    );
}

fn check(name: &str, p: &Prediction, item: &serde_json::Value) {
    compare_with_native(item, p, 1e-3).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}
