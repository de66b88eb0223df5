//! Import and export of the largest shipped Grafana export compiled to wasm, in headless
//! Chromium. Not a test of speed (nothing is asserted about time): `cargo xtask
//! dashboard-bench` runs it (`--include-ignored --nocapture`) and reads its `BENCH|` lines.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_time::Instant;

wasm_bindgen_test_configure!(run_in_browser);

const LARGEST: &str = include_str!("../testdata/grafana/rfmoz-node-exporter-full-schema26.json");

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: cargo xtask dashboard-bench runs it"]
fn bench_import_in_the_browser() {
    let (mut parse, mut import, mut export) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_str(LARGEST).expect("json");
        parse.push(t.elapsed().as_secs_f64());
        drop(v);
        let t = Instant::now();
        let d = lookout_grafana::import(LARGEST).expect("import");
        import.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let out = lookout_grafana::export_pretty(&d.dashboard).expect("export");
        export.push(t.elapsed().as_secs_f64());
        assert!(out.len() > 100_000);
    }
    for (what, v) in [("parse", parse), ("import", import), ("export", export)] {
        console_log!("BENCH|{what}|{:.3}", median(v) * 1e3);
    }
}
