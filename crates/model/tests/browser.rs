//! The pipeline in a real browser (headless Chromium, wasm32, SIMD): preprocessing and the
//! compact model's probabilities on the shipped samples equal the native pipeline's
//! (`tests/fixtures/native-compact.json`, kept current by `tests/fixture.rs`) within 1e-4,
//! and the CPU backend's wasm-simd128 kernels equal burn's own flex forward pass in the same
//! browser.
//! Run: `wasm-pack test --headless --chrome --mode no-install -- --profile wasm --test browser`.
#![cfg(target_arch = "wasm32")]

use lookout_model::fixtures::compare_with_native;
use lookout_model::preprocess::{DecodeLimits, preprocess};
use lookout_model::samples::SAMPLES;
use lookout_model::{Backend, Classifier};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn browser_pipeline_equals_native() {
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/native-compact.json")).expect("fixture");
    let clf =
        Classifier::embedded(Backend::Cpu).expect("the wasm build embeds the compact weights");
    for (item, (name, bytes)) in expected.as_array().expect("array").iter().zip(SAMPLES) {
        assert_eq!(item["name"], *name);
        let input = preprocess(bytes, None, &DecodeLimits::default()).expect("preprocess");
        let sum: f64 = input.iter().map(|v| f64::from(*v)).sum();
        let want_sum = item["input_sum"].as_f64().expect("sum");
        assert!(
            (sum - want_sum).abs() <= 1e-3 * want_sum.abs().max(1.0),
            "{name}: {sum} vs {want_sum}"
        );
        for (i, v) in item["input_head"]
            .as_array()
            .expect("head")
            .iter()
            .enumerate()
        {
            let v = v.as_f64().expect("f64");
            assert!((f64::from(input[i]) - v).abs() <= 1e-6, "{name} input[{i}]");
        }
        let p = clf.predict_inputs(&input).expect("predict").remove(0);
        compare_with_native(item, &p, 1e-4).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The page's CPU path (lookout-cpu's wasm-simd128 kernels) against burn's flex backend on
/// the same weights in the same browser: every probability within 1e-4 on every sample, one
/// at a time and as a batch.
#[wasm_bindgen_test]
fn browser_cpu_kernels_equal_burn_flex() {
    let fast = Classifier::embedded(Backend::Cpu).expect("cpu");
    let flex = Classifier::embedded(Backend::Flex).expect("flex");
    assert_eq!(fast.cpu_kernel(), Some("wasm-simd128"));
    let mut batch = Vec::new();
    let mut one_by_one = Vec::new();
    for (name, bytes) in SAMPLES {
        let input = preprocess(bytes, None, &DecodeLimits::default()).expect("preprocess");
        let a = fast.predict_inputs(&input).expect("cpu").remove(0);
        let b = flex.predict_inputs(&input).expect("flex").remove(0);
        assert_eq!(a.label, b.label, "{name}");
        for (x, y) in a.probabilities.iter().zip(&b.probabilities) {
            assert!((x - y).abs() <= 1e-4, "{name}: {x} vs {y}");
        }
        one_by_one.push(a);
        batch.extend(input);
    }
    let all = fast.predict_inputs(&batch).expect("batch");
    for (a, b) in all.iter().zip(&one_by_one) {
        for (x, y) in a.probabilities.iter().zip(&b.probabilities) {
            assert!((x - y).abs() <= 1e-5, "batch vs single: {x} vs {y}");
        }
    }
}
