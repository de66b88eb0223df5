//! `lookout serve` over HTTP: the seed's request, the batch form, `/metrics` checked by the
//! real `promtool`, and every kind of bad input answered with a 4xx JSON error while the
//! server keeps serving.

use std::process::{Command, Stdio};

use lookout_tests::{
    Daemon, bad_input_cases, get, lookout_bin, parse_exposition, post, sample_b64, start_server,
};

#[test]
fn predicts_and_refuses_bad_input_without_falling_over() {
    let (_server, base) = start_server(&[]);
    let url = format!("{base}/predict");

    // The seed's request.
    let body = serde_json::json!({"image": sample_b64("0001_ship.jpg"), "format": "JPEG"});
    let (status, v) = post(&url, body.to_string().into_bytes());
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["class"], "Ship");
    assert_eq!(v["runtime"], "native-cpu");
    let total: f64 = v["probabilities"]
        .as_object()
        .expect("probabilities")
        .values()
        .filter_map(|p| p.as_f64())
        .sum();
    assert!((total - 1.0).abs() < 1e-4);

    // The same image through the CLI gives the same probabilities (one pipeline).
    let cli = lookout_tests::run_lookout(&[
        "predict",
        "--json",
        lookout_tests::tests_dir()
            .join("../crates/model/samples/0001_ship.jpg")
            .to_str()
            .expect("utf8"),
    ]);
    let cli: serde_json::Value = serde_json::from_str(cli.trim()).expect("cli json");
    for (i, label) in lookout_model::LABELS.iter().enumerate() {
        let a = cli["probabilities"][i].as_f64().expect("cli p");
        let b = v["probabilities"][label].as_f64().expect("server p");
        assert!((a - b).abs() < 1e-6, "{label}: {a} vs {b}");
    }

    // Batch with one bad item: per-item answers.
    let batch = serde_json::json!({"images": [
        {"image": sample_b64("0003_airplane.jpg"), "format": "JPEG"},
        {"image": "!!!not base64!!!", "format": "JPEG"},
        {"image": sample_b64("0006_automobile.jpg")},
    ]});
    let (status, v) = post(&url, batch.to_string().into_bytes());
    assert_eq!(status, 200, "{v}");
    let items = v["predictions"].as_array().expect("predictions");
    assert_eq!(items.len(), 3);
    assert!(items[0]["class"].is_string());
    assert_eq!(items[1]["status"], 400);
    assert!(items[2]["class"].is_string());

    // Bad inputs: each a 4xx JSON error.
    lookout_tests::check_refusals(&url, bad_input_cases(64), |_| {});

    // Oversize body: refused from Content-Length, before the body is read.
    let (head, body) = lookout_tests::post_oversize(&base, 1u64 << 30);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(body.contains("\"error\""), "{head}{body}");

    // Still serving, and every successful prediction was counted (1 + 2 from the batch).
    let (status, _) = post(
        &url,
        serde_json::json!({"image": sample_b64("0013_horse.jpg")})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 200);
    let metrics = reqwest::blocking::get(format!("{base}/metrics"))
        .and_then(|r| r.text())
        .expect("metrics");
    let total: f64 = parse_exposition(&metrics)
        .iter()
        .filter(|(n, _, _)| n == "prediction_value_total")
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(total, 4.0, "{metrics}");

    // The real promtool accepts the exposition.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian prometheus; cargo xtask setup)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(metrics.as_bytes())
        .expect("write");
    let out = promtool.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // OpenMetrics on request.
    let om = reqwest::blocking::Client::new()
        .get(format!("{base}/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .and_then(|r| r.text())
        .expect("openmetrics");
    assert!(om.trim_end().ends_with("# EOF"));

    // No Pushgateway configured: the proxy says so.
    let resp = reqwest::blocking::Client::new()
        .put(format!("{base}/pushgateway/metrics/job/x"))
        .body("")
        .send()
        .expect("proxy");
    assert_eq!(resp.status().as_u16(), 503);

    let health: serde_json::Value = reqwest::blocking::get(format!("{base}/healthz"))
        .and_then(|r| r.json())
        .expect("healthz");
    assert_eq!(health["predictions"], 4);
}

#[test]
fn serves_the_page_files_when_given_a_folder() {
    let dir = lookout_tests::TempDir::new("static");
    std::fs::write(
        dir.0.join("index.html"),
        "<!doctype html><title>Lookout</title>",
    )
    .expect("write");
    let (_server, base) = start_server(&["--static-dir", dir.0.to_str().expect("utf8")]);
    let page = lookout_tests::get(&format!("{base}/")).expect("index");
    assert!(page.contains("<title>Lookout</title>"), "{page}");
    // The API still wins over the folder.
    assert!(lookout_tests::get(&format!("{base}/healthz")).is_some_and(|h| h.contains("\"ok\"")));
    let missing = reqwest::blocking::get(format!("{base}/nope.js")).expect("get");
    assert_eq!(missing.status().as_u16(), 404);
}

/// A server whose stdout nobody reads any more (a closed pipe: the supervisor that started it
/// went away, or read only the first line) keeps serving: its start-up lines fail with EPIPE,
/// which `println!` would turn into a panic.
#[test]
fn keeps_serving_when_its_stdout_is_closed() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let data = lookout_tests::TempDir::new("stdout-closed");
    let mut daemon = Daemon::spawn(
        "lookout serve",
        Command::new(lookout_bin())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data.0)
            // A second start-up line, as in the run that found this.
            .args(["--pushgateway", "http://127.0.0.1:9"])
            .stdout(writer)
            .stderr(Stdio::null()),
    );
    // Its port from /proc: the line that says it is the one nobody reads.
    let port = daemon.wait_ready("/healthz", std::time::Duration::from_secs(60));
    let addr = format!("127.0.0.1:{port}");
    let health = get(&format!("http://{addr}/healthz")).expect("healthz");
    assert!(health.contains("\"backend\""), "{health}");
    let (status, v) = post(
        &format!("http://{addr}/predict"),
        format!(
            r#"{{"image": "{}", "format": "JPEG"}}"#,
            sample_b64("0001_ship.jpg")
        )
        .into_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    daemon.stop();
}
