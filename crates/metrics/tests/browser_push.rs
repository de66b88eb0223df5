//! A push from a real browser: the page's [`FetchTransport`] sends a recording through a real
//! `lookout serve` (cross-origin, `--cors-origin '*'`) to the real Pushgateway behind it, and
//! reads the Pushgateway's exposition back through the same server.
//! `cargo xtask test` starts both and compiles this test with `LOOKOUT_TEST_SERVER` set to the
//! server's URL: `LOOKOUT_TEST_SERVER=http://127.0.0.1:PORT wasm-pack test --headless --chrome
//! --mode no-install -- --test browser_push`.
#![cfg(target_arch = "wasm32")]

mod common;

use lookout_metrics::fetch::FetchTransport;
use lookout_metrics::push::{PushConfig, Pusher};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: Option<&str> = option_env!("LOOKOUT_TEST_SERVER");

#[wasm_bindgen_test]
async fn push_through_the_test_server_reaches_the_pushgateway() {
    let server = SERVER.expect(
        "compile with LOOKOUT_TEST_SERVER=<URL of `lookout serve --pushgateway ... --cors-origin '*'`>",
    );
    let server = server.trim_end_matches('/');
    let metrics = common::recording();
    let mut pusher = Pusher::new(PushConfig {
        url: format!("{server}/pushgateway"),
        job: "lookout-browser-test".into(),
        extra_grouping: Vec::new(),
    });
    pusher
        .push(&metrics, &FetchTransport)
        .await
        .expect("push through the server's proxy");
    assert_eq!(pusher.status().pushes_ok, 1);

    let window = web_sys::window().expect("window");
    let resp = JsFuture::from(window.fetch_with_str(&format!("{server}/pushgateway/metrics")))
        .await
        .expect("fetch the Pushgateway's exposition");
    let resp: web_sys::Response = resp.dyn_into().expect("response");
    assert_eq!(resp.status(), 200);
    let text = JsFuture::from(resp.text().expect("text"))
        .await
        .expect("body")
        .as_string()
        .expect("string");
    // Every series of the recording is at the Pushgateway with the grouping labels, with
    // the value the page had.
    let exposition = metrics.encode(lookout_metrics::Format::Text);
    let mut checked = 0;
    for line in exposition
        .lines()
        .filter(|l| l.starts_with("prediction_value_total{"))
    {
        let (series, value) = line.rsplit_once(' ').expect("value");
        let labels = series
            .trim_start_matches("prediction_value_total{")
            .trim_end_matches('}');
        let want = format!(
            "prediction_value_total{{instance=\"page-fixture\",job=\"lookout-browser-test\",{labels}}} {value}"
        );
        assert!(
            text.lines().any(|l| l == want),
            "{want} not at the Pushgateway:\n{text}"
        );
        checked += 1;
    }
    assert_eq!(checked, 20, "10 labels × 2 runtimes");
}
