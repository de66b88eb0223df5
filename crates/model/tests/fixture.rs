//! The native pipeline's outputs on the shipped samples, kept in
//! `tests/fixtures/native-compact.json` as the oracle for the browser test (`tests/browser.rs`):
//! preprocessing (sum and first values of each normalised input) and the compact weights'
//! probabilities. This test fails when the pipeline changes and the fixture was not
//! regenerated (`LOOKOUT_WRITE_FIXTURE=1 cargo test --release --workspace --test fixture`).
#![cfg(not(target_arch = "wasm32"))]

use lookout_model::preprocess::{DecodeLimits, preprocess};
use lookout_model::samples::SAMPLES;
use lookout_model::{Backend, Classifier};

fn native() -> serde_json::Value {
    let clf = Classifier::embedded_compact(Backend::Cpu).expect("compact");
    let items: Vec<serde_json::Value> = SAMPLES
        .iter()
        .map(|(name, bytes)| {
            let input = preprocess(bytes, None, &DecodeLimits::default()).expect("preprocess");
            let p = clf.predict_inputs(&input).expect("predict").remove(0);
            serde_json::json!({
                "name": name,
                "input_sum": input.iter().map(|v| f64::from(*v)).sum::<f64>(),
                "input_head": &input[..8],
                "label": p.label,
                "probabilities": p.probabilities,
            })
        })
        .collect();
    serde_json::json!(items)
}

#[test]
fn fixture_is_the_native_pipeline() {
    let path = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures/native-compact.json");
    let now = native();
    if std::env::var_os("LOOKOUT_WRITE_FIXTURE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).expect("json")).expect("write");
    }
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    let (a, b) = (
        now.as_array().expect("array"),
        kept.as_array().expect("array"),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["name"], y["name"]);
        assert_eq!(x["label"], y["label"], "{}", x["name"]);
        let close = |k: &str, tol: f64| {
            let (p, q) = (x[k].as_array().expect(k), y[k].as_array().expect(k));
            for (u, v) in p.iter().zip(q) {
                let (u, v) = (
                    u.as_f64().unwrap_or(f64::NAN),
                    v.as_f64().unwrap_or(f64::NAN),
                );
                assert!((u - v).abs() <= tol, "{} {k}: {u} vs {v}", x["name"]);
            }
        };
        close("probabilities", 1e-6);
        close("input_head", 1e-6);
    }
}
