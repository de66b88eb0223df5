//! The relaxed-SIMD CPU module in a real browser (headless Chromium): the page's compact
//! weights handed over as bytes give the native CPU pipeline's probabilities on the shipped
//! samples (`crates/model/tests/fixtures/native-compact.json`) within 1e-4, one at a time
//! and as one batch, on the `wasm-relaxed-simd` kernel; bad weights and bad shapes are
//! errors. Run: `wasm-pack test --headless --chrome --mode no-install -- --profile wasm
//! --test browser`.
#![cfg(target_arch = "wasm32")]

use lookout_model::fixtures::{compare_with_native, native_cases};
use lookout_model::{NUM_CLASSES, Prediction, weights};
use lookout_webcpu::load;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn relaxed_simd_predictions_equal_native() {
    let cases = native_cases(include_str!(
        "../../model/tests/fixtures/native-compact.json"
    ))
    .expect("fixture");
    let cpu = load(weights::EMBEDDED_COMPACT)
        .unwrap_or_else(|_| panic!("the embedded compact weights load"));
    assert_eq!(cpu.kernel(), "wasm-relaxed-simd");
    for c in &cases {
        let logits = cpu
            .logits(&c.input)
            .unwrap_or_else(|_| panic!("{}: logits", c.name));
        check(c.name, &logits, &c.expected);
    }
    // The whole gallery as one batch: the same answers.
    let batch: Vec<f32> = cases.iter().flat_map(|c| c.input.iter().copied()).collect();
    let logits = cpu.logits(&batch).unwrap_or_else(|_| panic!("batch"));
    assert_eq!(logits.len(), cases.len() * NUM_CLASSES);
    for (c, l) in cases.iter().zip(logits.chunks_exact(NUM_CLASSES)) {
        check(c.name, l, &c.expected);
    }
    assert!(cpu.logits(&[0.5; 11]).is_err(), "bad shape is an error");
    assert!(
        load(&weights::EMBEDDED_COMPACT[..1000]).is_err(),
        "truncated weights are an error"
    );
    assert!(load(b"not weights").is_err(), "other bytes are an error");
}

fn check(name: &str, logits: &[f32], expected: &serde_json::Value) {
    compare_with_native(expected, &Prediction::from_logits(logits, 0.0), 1e-4)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}
