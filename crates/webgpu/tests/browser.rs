//! The WebGPU module's network in a real browser (headless Chromium with
//! `--enable-unsafe-webgpu`: SwiftShader's WebGPU adapter where there is no GPU): the compact
//! model's probabilities on the shipped samples equal the native CPU pipeline's
//! (`crates/model/tests/fixtures/native-compact.json`) within 1e-3, read back asynchronously.
//! Run: `wasm-pack test --headless --chrome --mode no-install -- --profile wasm --test browser`.
#![cfg(target_arch = "wasm32")]

use lookout_model::fixtures::compare_with_native;
use lookout_model::preprocess::{DecodeLimits, preprocess};
use lookout_model::samples::SAMPLES;
use lookout_model::{Backend, Classifier, NUM_CLASSES, Prediction, weights};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webgpu_predictions_equal_native() {
    let expected: serde_json::Value = serde_json::from_str(include_str!(
        "../../model/tests/fixtures/native-compact.json"
    ))
    .expect("fixture");
    let (gpu, adapter) = Classifier::wgpu_compact_async(weights::EMBEDDED_COMPACT)
        .await
        .expect("Chromium with --enable-unsafe-webgpu gives an adapter");
    assert_eq!(gpu.backend(), Backend::Wgpu);
    web_sys_log(&format!("WebGPU adapter: {adapter}"));
    let items = expected.as_array().expect("array");
    assert_eq!(items.len(), SAMPLES.len());
    let mut batch = Vec::new();
    for (item, (name, bytes)) in items.iter().zip(SAMPLES) {
        assert_eq!(item["name"], *name);
        let input = preprocess(bytes, None, &DecodeLimits::default()).expect("preprocess");
        let p = gpu
            .predict_inputs_async(&input)
            .await
            .expect("predict")
            .remove(0);
        check(name, &p, item);
        batch.extend_from_slice(&input);
    }
    // The whole gallery as one batch: the same answers.
    let logits = gpu.logits_async(&batch).await.expect("batch");
    assert_eq!(logits.len(), SAMPLES.len() * NUM_CLASSES);
    for ((item, (name, _)), l) in items
        .iter()
        .zip(SAMPLES)
        .zip(logits.chunks_exact(NUM_CLASSES))
    {
        check(name, &Prediction::from_logits(l, 0.0), item);
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
