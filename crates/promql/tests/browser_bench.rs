//! The benchmark's queries evaluated by the engine compiled to wasm, in headless Chromium.
//! Not a test of speed (nothing is asserted about time): `cargo xtask promql-bench` runs it
//! (`--include-ignored --nocapture`) and compares its `BENCH|` lines with Prometheus.
#![cfg(target_arch = "wasm32")]

use lookout_promql::bench::{QUERIES, STEP_MS, dataset};
use lookout_promql::{Engine, Storage};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_time::Instant;

wasm_bindgen_test_configure!(run_in_browser);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: cargo xtask promql-bench runs it"]
fn bench_queries_in_the_browser() {
    let hours = 6;
    let points = hours * 3600 * 1000 / STEP_MS;
    let t0 = 1_700_000_000_000i64;
    let end = t0 + (points - 1) * STEP_MS;
    let mut storage = Storage::new();
    for (l, pts) in dataset(t0, points) {
        for (t, v) in pts {
            storage.append(&l, t, v).expect("append");
        }
    }
    let engine = Engine::default();
    for q in QUERIES {
        for kind in ["range", "instant"] {
            let mut times = Vec::new();
            for _ in 0..5 {
                let start = Instant::now();
                let r = if kind == "instant" {
                    engine.instant_query(&storage, q, end)
                } else {
                    engine.range_query(&storage, q, t0, end, 60_000)
                };
                times.push(start.elapsed().as_secs_f64());
                assert!(r.is_ok(), "{q}: {r:?}");
            }
            console_log!("BENCH|{q}|{kind}|{:.3}", median(times) * 1e3);
        }
    }
}
