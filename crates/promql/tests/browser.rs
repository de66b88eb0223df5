//! The engine in a real browser (headless Chromium through wasm-bindgen-test): the same
//! queries as natively, on the same data, with the same answers.
//! Run: `wasm-pack test --headless --chrome --mode no-install -- --test browser`.
#![cfg(target_arch = "wasm32")]

use lookout_promql::{Engine, Labels, Scraper, Storage, Value};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn storage() -> Storage {
    let mut s = Storage::new();
    for (job, step) in [("a", 6.0), ("b", 12.0)] {
        let l = Labels::from_pairs(&[("__name__", "c"), ("job", job)]);
        for i in 0..=10i64 {
            s.append(&l, i * 60_000, i as f64 * step).expect("append");
        }
        for (le, frac) in [("0.1", 0.25), ("0.5", 0.75), ("+Inf", 1.0)] {
            let b = Labels::from_pairs(&[("__name__", "h_bucket"), ("job", job), ("le", le)]);
            for i in 0..=10i64 {
                s.append(&b, i * 60_000, i as f64 * 40.0 * frac)
                    .expect("append");
            }
        }
    }
    s
}

fn vector(e: &Engine, s: &Storage, q: &str, t: i64) -> Vec<(String, f64)> {
    match e.instant_query(s, q, t) {
        Ok(Value::Vector(v)) => {
            let mut out: Vec<(String, f64)> =
                v.into_iter().map(|x| (x.labels.to_string(), x.v)).collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
        other => panic!("{q}: {other:?}"),
    }
}

#[wasm_bindgen_test]
fn evaluates_queries_in_the_browser() {
    let s = storage();
    let e = Engine::default();
    assert_eq!(
        vector(&e, &s, "sum by (job) (rate(c[5m]))", 600_000),
        vec![
            ("{job=\"a\"}".to_string(), 0.1),
            ("{job=\"b\"}".to_string(), 0.2)
        ]
    );
    let p = vector(
        &e,
        &s,
        "histogram_quantile(0.5, sum by (le) (rate(h_bucket[5m])))",
        600_000,
    );
    assert_eq!(p.len(), 1);
    assert!((p[0].1 - 0.3).abs() < 1e-12, "{p:?}");
    assert_eq!(
        vector(&e, &s, "topk(1, max_over_time(c[10m:1m]))", 600_000),
        vec![("{job=\"b\"}".to_string(), 120.0)]
    );
    // A range query (the dashboard panels' shape), with Prometheus' HTTP API JSON.
    let m = e
        .range_query(&s, "sum(c)", 0, 600_000, 60_000)
        .expect("range");
    let json = serde_json::to_string(&lookout_promql::ApiResponse::success(m.to_api(600_000)))
        .expect("json");
    assert!(json.starts_with("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\""));
    assert!(json.contains("[600,\"180\"]"), "{json}");
    // Errors, not panics, and a parse error with a position.
    assert!(e.instant_query(&s, "sum(", 0).is_err());
    assert!(
        e.instant_query(&s, "c + on(job) group_left c{job=~\".*\"} + c", 0)
            .is_ok()
    );
}

#[wasm_bindgen_test]
fn scrapes_in_the_browser() {
    let mut s = Storage::new();
    let mut scraper = Scraper::new(15_000, &[("job", "lookout"), ("instance", "page-1")]);
    let now = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    scraper
        .scrape(&mut s, "prediction_value_total{label=\"Cat\"} 3\n", now)
        .expect("scrape");
    let e = Engine::default();
    assert_eq!(
        vector(&e, &s, "sum by (instance) (prediction_value_total)", now),
        vec![("{instance=\"page-1\"}".to_string(), 3.0)]
    );
}
