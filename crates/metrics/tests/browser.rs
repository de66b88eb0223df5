//! The metric vocabulary in a real browser (headless Chromium, wasm32): the exposition of a
//! fixed recording, text and OpenMetrics, equals the native one (`tests/fixtures/`, kept
//! current by `tests/exposition.rs`) line for line.
//! Run: `wasm-pack test --headless --chrome --mode no-install -- --test browser`.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn browser_exposition_equals_native() {
    let fixtures = [
        include_str!("fixtures/exposition-text.txt"),
        include_str!("fixtures/exposition-openmetrics.txt"),
    ];
    for ((name, got), want) in common::expositions().into_iter().zip(fixtures) {
        assert_eq!(got, want, "{name}");
    }
}
