use super::*;
use crate::push::{Method, PushConfig, PushError, PushRequest, Pusher, Transport, grouping_path};

const CLASSES: [&str; 3] = ["Cat", "Dog", "Ship"];

fn obs(label: &str, confidence: f64) -> Observation<'_> {
    Observation {
        label,
        confidence,
        inference_seconds: 0.003,
        input: Some(InputStats {
            brightness: 0.45,
            contrast: 0.2,
        }),
    }
}

#[test]
fn text_exposition_has_the_seed_names() {
    let m = Metrics::new(Runtime::NativeCpu, "i-1", &CLASSES);
    m.record(&obs("Ship", 0.93));
    m.record(&obs("Ship", 0.41));
    m.record(&obs("Cat", 0.75));
    let text = m.encode(Format::Text);
    for needle in [
        "# TYPE prediction_value_total counter",
        "prediction_value_total{label=\"Ship\",runtime=\"native-cpu\"} 2",
        "prediction_value_total{label=\"Dog\",runtime=\"native-cpu\"} 0",
        "# TYPE inference_time histogram",
        "inference_time_bucket{le=\"0.005\",runtime=\"native-cpu\"} 3",
        "inference_time_count{runtime=\"native-cpu\"} 3",
        "prediction_confidence_bucket{le=\"0.5\",label=\"Ship\",runtime=\"native-cpu\"} 1",
        "prediction_confidence_bucket{le=\"1.0\",label=\"Ship\",runtime=\"native-cpu\"} 2",
        "prediction_low_confidence_ratio{runtime=\"native-cpu\"}",
        "input_brightness_count{runtime=\"native-cpu\"} 3",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(needle) || l.contains(needle)),
            "missing {needle:?} in\n{text}"
        );
    }
    assert!(!text.contains("# EOF"));
    assert!(!text.contains("_created"));
    assert_eq!(m.predictions_total(), 3);
}

#[test]
fn openmetrics_exposition_ends_with_eof() {
    let m = Metrics::new(Runtime::Edge, "isolate-7", &CLASSES);
    m.record(&obs("Dog", 0.5));
    let om = m.encode(Format::OpenMetrics);
    assert!(om.trim_end().ends_with("# EOF"));
    assert!(om.contains("# TYPE prediction_value counter"));
    assert!(om.contains("prediction_value_total{label=\"Dog\",runtime=\"edge\"} 1"));
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text;version=1.0.0")),
        Format::OpenMetrics
    );
    assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
    assert_eq!(Format::negotiate(None), Format::Text);
}

#[test]
fn drift_signals() {
    let m = Metrics::new(Runtime::BrowserCpu, "p", &CLASSES);
    for i in 0..300 {
        m.record(&obs(CLASSES[i % 3], 0.9));
    }
    let d = m.windows.lock().expect("lock")["browser-cpu"].drift();
    assert!(
        d.psi.abs() < 1e-6 && d.kl.abs() < 1e-6,
        "balanced mix: {d:?}"
    );
    assert_eq!(d.low_confidence_ratio, 0.0);
    for _ in 0..DRIFT_WINDOW {
        m.record(&obs("Ship", 0.3));
    }
    let d = m.windows.lock().expect("lock")["browser-cpu"].drift();
    assert_eq!(
        d.low_confidence_ratio, 1.0,
        "the window forgot the old entries"
    );
    // Everything in one of three classes: KL = ln 3 (up to smoothing).
    assert!((d.kl - 3f64.ln()).abs() < 1e-2, "{d:?}");
    assert!(d.psi > 1.0);
}

#[test]
fn runtimes_side_by_side_keep_their_own_series_and_drift() {
    let m = Metrics::new(Runtime::BrowserCpu, "p", &CLASSES);
    let before = m.encode(Format::Text);
    assert!(!before.contains("browser-webgpu"), "{before}");
    m.add_runtime(Runtime::BrowserWebgpu);
    let text = m.encode(Format::Text);
    assert!(text.contains("prediction_value_total{label=\"Ship\",runtime=\"browser-webgpu\"} 0"));
    assert!(text.contains("prediction_class_kl{runtime=\"browser-webgpu\"} 0"));
    for _ in 0..4 {
        m.record(&obs("Ship", 0.9));
    }
    m.record_on(Runtime::BrowserWebgpu, &obs("Dog", 0.2));
    assert_eq!(m.predictions_total(), 5);
    assert_eq!(m.predictions_on(Runtime::BrowserCpu), 4);
    assert_eq!(m.predictions_on(Runtime::BrowserWebgpu), 1);
    let text = m.encode(Format::Text);
    for line in [
        "prediction_value_total{label=\"Ship\",runtime=\"browser-cpu\"} 4",
        "prediction_value_total{label=\"Dog\",runtime=\"browser-webgpu\"} 1",
        "prediction_value_total{label=\"Dog\",runtime=\"browser-cpu\"} 0",
        "inference_time_count{runtime=\"browser-webgpu\"} 1",
        "prediction_low_confidence_ratio{runtime=\"browser-webgpu\"} 1.0",
        "prediction_low_confidence_ratio{runtime=\"browser-cpu\"} 0.0",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
    // One HELP/TYPE per family, whatever the number of runtimes.
    assert_eq!(
        text.matches("# TYPE prediction_value_total counter")
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn input_stats() {
    let white = vec![255u8; 32 * 32 * 3];
    let s = InputStats::from_rgb(&white);
    assert!((s.brightness - 1.0).abs() < 1e-9 && s.contrast.abs() < 1e-9);
    let mut half = vec![0u8; 32 * 32 * 3];
    half[..16 * 32 * 3].fill(255);
    let s = InputStats::from_rgb(&half);
    assert!((s.brightness - 0.5).abs() < 1e-9 && (s.contrast - 0.5).abs() < 1e-9);
}

#[test]
fn grouping_paths_follow_the_pushgateway_rules() {
    assert_eq!(
        grouping_path("lookout", &[("instance", "srv-1")]),
        "/metrics/job/lookout/instance/srv-1"
    );
    // The Pushgateway README's own example.
    assert_eq!(
        grouping_path("directory_cleaner", &[("path", "/var/tmp")]),
        "/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA="
    );
    assert_eq!(
        grouping_path("j", &[("instance", "")]),
        "/metrics/job/j/instance@base64/="
    );
    assert!(grouping_path("my job", &[]).starts_with("/metrics/job@base64/"));
}

/// A transport that fails a given number of times, then succeeds: exercises the backoff
/// bookkeeping. The real Pushgateway is exercised by the integration tests.
struct Flaky {
    failures: std::cell::Cell<u32>,
    seen: std::cell::RefCell<Vec<PushRequest>>,
}

impl Transport for Flaky {
    async fn send(&self, request: PushRequest) -> Result<u16, String> {
        self.seen.borrow_mut().push(request);
        if self.failures.get() > 0 {
            self.failures.set(self.failures.get() - 1);
            Err("connection refused".into())
        } else {
            Ok(200)
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The futures here never pend; poll once with a no-op waker.
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("transport future pended"),
    }
}

#[test]
fn pusher_backs_off_and_the_next_success_carries_everything() {
    let m = Metrics::new(Runtime::NativeCpu, "srv/1", &CLASSES);
    let t = Flaky {
        failures: std::cell::Cell::new(2),
        seen: Default::default(),
    };
    let mut p = Pusher::new(PushConfig {
        url: "http://127.0.0.1:9/".into(),
        job: "lookout".into(),
        extra_grouping: vec![],
    })
    .with_backoff(web_time::Duration::ZERO, web_time::Duration::ZERO);
    m.record(&obs("Cat", 0.9));
    assert!(matches!(
        block_on(p.push(&m, &t)),
        Err(PushError::Transport(_))
    ));
    m.record(&obs("Dog", 0.9));
    assert!(block_on(p.push(&m, &t)).is_err());
    assert_eq!(p.status().consecutive_failures, 2);
    m.record(&obs("Ship", 0.9));
    block_on(p.push(&m, &t)).expect("third push succeeds");
    let st = p.status();
    assert_eq!(
        (st.pushes_ok, st.pushes_failed, st.consecutive_failures),
        (1, 2, 0)
    );
    assert_eq!(st.last_pushed_predictions, 3);
    let seen = t.seen.borrow();
    let last = seen.last().expect("request");
    assert_eq!(last.method, Method::Put);
    assert_eq!(
        last.url,
        "http://127.0.0.1:9/metrics/job/lookout/instance@base64/c3J2LzE="
    );
    for label in CLASSES {
        assert!(last.body.contains(&format!(
            "prediction_value_total{{label=\"{label}\",runtime=\"native-cpu\"}} 1"
        )));
    }
}

#[test]
fn backoff_grows_and_blocks_early_retries() {
    let m = Metrics::new(Runtime::NativeCpu, "x", &CLASSES);
    let t = Flaky {
        failures: std::cell::Cell::new(10),
        seen: Default::default(),
    };
    let mut p = Pusher::new(PushConfig {
        url: "http://127.0.0.1:9".into(),
        job: "lookout".into(),
        extra_grouping: vec![],
    })
    .with_backoff(
        web_time::Duration::from_secs(60),
        web_time::Duration::from_secs(600),
    );
    assert!(block_on(p.push(&m, &t)).is_err());
    assert!(!p.ready(web_time::Instant::now()));
    assert!(matches!(
        block_on(p.push(&m, &t)),
        Err(PushError::BackingOff(..))
    ));
    assert_eq!(
        t.seen.borrow().len(),
        1,
        "no request sent while backing off"
    );
}
