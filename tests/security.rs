//! Who may write, over real HTTP: a real `lookout serve` in front of a real Pushgateway,
//! every route × method × origin (no browser headers, the page's own origin, another site),
//! a cross-site form POST, a DELETE and paths outside `/metrics/job/` through the proxy,
//! `--cors-origin`, and `--auth-token`.

use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_tests::{TempDir, get, sample_b64, start_pushgateway, start_server};

/// How a request presents itself.
#[derive(Debug, Clone, Copy, PartialEq)]
enum From {
    /// curl, Prometheus, a script: no `Origin`, no `Sec-Fetch-Site`.
    NoBrowser,
    /// The page served by this server.
    SameOrigin,
    /// A page on another site (what a browser sends with a form POST or fetch from there).
    CrossSite(&'static str),
}

fn send(
    method: &str,
    url: &str,
    from: From,
    server: &str,
    body: &str,
    content_type: &str,
    token: Option<&str>,
) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client
        .request(method, url)
        .header("content-type", content_type)
        .body(body.to_string())
        .timeout(Duration::from_secs(30));
    match from {
        From::NoBrowser => {}
        From::SameOrigin => {
            req = req
                .header("origin", server)
                .header("sec-fetch-site", "same-origin");
        }
        From::CrossSite(origin) => {
            req = req
                .header("origin", origin)
                .header("sec-fetch-site", "cross-site");
        }
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_default())
}

fn groups(pg_port: u16) -> String {
    get(&format!("http://127.0.0.1:{pg_port}/api/v1/metrics")).unwrap_or_default()
}

const PUSH: &str = "# TYPE probe gauge\nprobe 1\n";

/// A webhook channel whose receiver is down (port 9, discard, closed here).
const CHANNEL: &str = r#"{"name": "Hook", "type": "webhook", "secureSettings": {"url": "http://127.0.0.1:9/hooks/T000SECRET"}}"#;

#[test]
fn every_route_method_and_origin() {
    let pg_daemon = start_pushgateway();
    let pg_port = pg_daemon.port();
    let pg = pg_daemon.url();
    let data = TempDir::new("security-data");
    let data_dir = data.0.to_string_lossy().into_owned();
    let (_server, base) = start_server(&[
        "--pushgateway",
        &pg,
        "--push-interval",
        "3600",
        "--data-dir",
        &data_dir,
    ]);
    let dashboard = r#"{"title": "t", "version": 0}"#;
    let json = "application/json";
    let predict = format!(
        "{{\"image\": \"{}\", \"format\": \"JPEG\"}}",
        sample_b64("0001_ship.jpg")
    );
    let evil = From::CrossSite("https://evil.example");
    let text = "text/plain";
    let form = "application/x-www-form-urlencoded";
    // (method, path, body, content type, from, expected status)
    let cases: Vec<(&str, &str, &str, &str, From, u16)> = vec![
        // The seed's API stays open to every origin (issue 11: predict aside).
        (
            "POST",
            "/predict",
            &predict,
            "application/json",
            From::NoBrowser,
            200,
        ),
        (
            "POST",
            "/predict",
            &predict,
            "application/json",
            From::SameOrigin,
            200,
        ),
        ("POST", "/predict", &predict, "application/json", evil, 200),
        // Reads.
        ("GET", "/metrics", "", text, evil, 200),
        ("GET", "/healthz", "", text, evil, 200),
        ("GET", "/api/v1/query?query=up", "", text, evil, 200),
        ("GET", "/api/v1/labels", "", text, From::NoBrowser, 200),
        (
            "GET",
            "/pushgateway/api/v1/metrics",
            "",
            text,
            From::SameOrigin,
            200,
        ),
        // Pushes through the proxy: the page's own origin and non-browsers only.
        (
            "PUT",
            "/pushgateway/metrics/job/t/instance/a",
            PUSH,
            text,
            From::SameOrigin,
            200,
        ),
        (
            "POST",
            "/pushgateway/metrics/job/t/instance/b",
            PUSH,
            text,
            From::NoBrowser,
            200,
        ),
        (
            "PUT",
            "/pushgateway/metrics/job/t/instance/c",
            PUSH,
            text,
            evil,
            403,
        ),
        (
            "POST",
            "/pushgateway/metrics/job/t/instance/d",
            "probe=1",
            form,
            evil,
            403,
        ),
        // Never forwarded: deletes, other paths, other methods.
        (
            "DELETE",
            "/pushgateway/metrics/job/t/instance/a",
            "",
            text,
            From::SameOrigin,
            405,
        ),
        (
            "DELETE",
            "/pushgateway/metrics/job/t/instance/a",
            "",
            text,
            From::NoBrowser,
            405,
        ),
        (
            "PUT",
            "/pushgateway/api/v1/admin/wipe",
            "",
            text,
            From::SameOrigin,
            403,
        ),
        (
            "PUT",
            "/pushgateway/metrics/job/t/../../api/v1/admin/wipe",
            "",
            text,
            From::NoBrowser,
            403,
        ),
        (
            "GET",
            "/pushgateway/metrics/job/t",
            "",
            text,
            From::SameOrigin,
            405,
        ),
        (
            "PATCH",
            "/pushgateway/metrics/job/t/instance/a",
            PUSH,
            text,
            From::NoBrowser,
            405,
        ),
        // Query API: GET and POST (form) are reads; a cross-site POST is refused anyway.
        (
            "POST",
            "/api/v1/query",
            "query=up",
            form,
            From::SameOrigin,
            200,
        ),
        ("POST", "/api/v1/query", "query=up", form, evil, 403),
        ("DELETE", "/api/v1/query", "", text, From::NoBrowser, 405),
        (
            "GET",
            "/api/v1/admin/tsdb/snapshot",
            "",
            text,
            From::NoBrowser,
            404,
        ),
        (
            "GET",
            "/prometheus/api/v1/query?query=up",
            "",
            text,
            From::SameOrigin,
            503,
        ),
        (
            "POST",
            "/prometheus/api/v1/query",
            "query=up",
            form,
            evil,
            403,
        ),
        // Dashboards: saved and deleted by the page's origin and non-browsers only.
        ("GET", "/api/dashboards", "", text, evil, 200),
        (
            "PUT",
            "/api/dashboards/mine",
            dashboard,
            json,
            From::SameOrigin,
            200,
        ),
        ("PUT", "/api/dashboards/evil", dashboard, json, evil, 403),
        ("PUT", "/api/dashboards/evil", dashboard, text, evil, 403),
        ("POST", "/api/dashboards/evil", "title=x", form, evil, 403),
        ("DELETE", "/api/dashboards/mine", "", text, evil, 403),
        (
            "GET",
            "/api/dashboards/mine",
            "",
            text,
            From::SameOrigin,
            200,
        ),
        (
            "POST",
            "/api/dashboards/mine",
            dashboard,
            json,
            From::SameOrigin,
            405,
        ),
        (
            "DELETE",
            "/api/dashboards/mine",
            "",
            text,
            From::NoBrowser,
            204,
        ),
        (
            "GET",
            "/api/dashboards/mine",
            "",
            text,
            From::NoBrowser,
            404,
        ),
        (
            "PUT",
            "/api/dashboards/..%2Fescape",
            dashboard,
            json,
            From::NoBrowser,
            400,
        ),
        (
            "PUT",
            "/api/dashboards/a.b",
            dashboard,
            json,
            From::NoBrowser,
            400,
        ),
        // Alerts and channels: reads open (CORS decides what a browser may see), writes from
        // the page's origin and non-browsers only.
        ("GET", "/api/alerts", "", text, evil, 200),
        ("POST", "/api/alerts", "", text, From::NoBrowser, 405),
        ("POST", "/api/alerts", "", text, evil, 403),
        ("GET", "/api/alerts/nope/1", "", text, From::NoBrowser, 404),
        ("GET", "/api/alerts/a.b/1", "", text, From::NoBrowser, 400),
        ("GET", "/api/alerts/nope/x", "", text, From::NoBrowser, 400),
        ("POST", "/api/alerts/notify", "{}", json, evil, 403),
        ("POST", "/api/alerts/notify", "x=1", form, evil, 403),
        (
            "POST",
            "/api/alerts/notify",
            "{}",
            json,
            From::SameOrigin,
            400,
        ),
        ("GET", "/api/alerts/notify", "", text, From::NoBrowser, 405),
        ("GET", "/api/channels", "", text, evil, 200),
        (
            "PUT",
            "/api/channels/hook",
            CHANNEL,
            json,
            From::SameOrigin,
            200,
        ),
        ("PUT", "/api/channels/evil", CHANNEL, json, evil, 403),
        ("PUT", "/api/channels/evil", CHANNEL, text, evil, 403),
        ("POST", "/api/channels/evil", "name=x", form, evil, 403),
        ("POST", "/api/channels/hook/test", "", text, evil, 403),
        // The channel's receiver is down: tried, refused, said so.
        (
            "POST",
            "/api/channels/hook/test",
            "",
            text,
            From::SameOrigin,
            502,
        ),
        (
            "GET",
            "/api/channels/hook/test",
            "",
            text,
            From::NoBrowser,
            405,
        ),
        (
            "PATCH",
            "/api/channels/hook",
            CHANNEL,
            json,
            From::NoBrowser,
            405,
        ),
        ("DELETE", "/api/channels/hook", "", text, evil, 403),
        (
            "PUT",
            "/api/channels/a.b",
            CHANNEL,
            json,
            From::NoBrowser,
            400,
        ),
        (
            "PUT",
            "/api/channels/..%2Fescape",
            CHANNEL,
            json,
            From::NoBrowser,
            400,
        ),
        ("PUT", "/api/channels/x", "{", json, From::NoBrowser, 400),
        (
            "DELETE",
            "/api/channels/hook",
            "",
            text,
            From::NoBrowser,
            204,
        ),
        (
            "DELETE",
            "/api/channels/hook",
            "",
            text,
            From::NoBrowser,
            404,
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, ct, from, want) in &cases {
        let (got, answer) = send(
            method,
            &format!("{base}{path}"),
            *from,
            &base,
            body,
            ct,
            None,
        );
        if got != *want {
            wrong.push(format!(
                "{method} {path} from {from:?}: {got}, want {want}: {answer}"
            ));
        }
        if answer.contains("T000SECRET") {
            wrong.push(format!(
                "{method} {path}: the channel's URL leaked: {answer}"
            ));
        }
        let ours = path.starts_with("/api/alerts") || path.starts_with("/api/channels");
        if ours && *want >= 400 && !answer.contains("\"error\"") {
            wrong.push(format!("{method} {path}: not a JSON error: {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The refused channel writes wrote nothing.
    let stored = std::fs::read_to_string(data.0.join("alerts/channels.json")).unwrap_or_default();
    assert!(
        !stored.contains("evil") && !stored.contains("\"x\""),
        "{stored}"
    );
    // The refused saves wrote nothing; nothing escaped the folder.
    let files: Vec<String> = std::fs::read_dir(data.0.join("dashboards"))
        .expect("dashboards folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(files, [".trash"], "{files:?}");
    assert!(!data.0.join("escape.json").exists());
    // What reached the Pushgateway: the two allowed pushes, nothing else, nothing deleted.
    let pushed = groups(pg_port);
    for (instance, there) in [("a", true), ("b", true), ("c", false), ("d", false)] {
        assert_eq!(
            pushed.contains(&format!("\"instance\":\"{instance}\"")),
            there,
            "instance {instance}: {pushed}"
        );
    }
}

#[test]
fn an_allowed_origin_may_push_and_no_other() {
    let pg_daemon = start_pushgateway();
    let pg_port = pg_daemon.port();
    let pg = pg_daemon.url();
    let (_server, base) = start_server(&[
        "--pushgateway",
        &pg,
        "--push-interval",
        "3600",
        "--cors-origin",
        "https://ok.example",
    ]);
    let url = |i: &str| format!("{base}/pushgateway/metrics/job/cors/instance/{i}");
    let ok = From::CrossSite("https://ok.example");
    let (s, _) = send("PUT", &url("ok"), ok, &base, PUSH, "text/plain", None);
    assert_eq!(s, 200);
    let (s, _) = send(
        "PUT",
        &url("evil"),
        From::CrossSite("https://ok.example.evil.example"),
        &base,
        PUSH,
        "text/plain",
        None,
    );
    assert_eq!(s, 403);
    // The CORS answer names the allowed origin only.
    let resp = reqwest::blocking::Client::new()
        .request(reqwest::Method::OPTIONS, url("x"))
        .header("origin", "https://ok.example")
        .header("access-control-request-method", "PUT")
        .send()
        .expect("preflight");
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://ok.example")
    );
    let pushed = groups(pg_port);
    assert!(pushed.contains("\"instance\":\"ok\"") && !pushed.contains("\"instance\":\"evil\""));
}

#[test]
fn a_token_guards_the_apis_and_nothing_else() {
    let dir = TempDir::new("token");
    let file = dir.0.join("token");
    std::fs::write(&file, "s3cret-token\n").expect("token file");
    let file = file.to_string_lossy().into_owned();
    let data_dir = dir.0.join("data").to_string_lossy().into_owned();
    let (_server, base) = start_server(&["--auth-token-file", &file, "--data-dir", &data_dir]);
    let predict = format!(
        "{{\"image\": \"{}\", \"format\": \"JPEG\"}}",
        sample_b64("0000_cat.jpg")
    );
    let cases: Vec<(&str, &str, &str, Option<&str>, u16)> = vec![
        ("GET", "/api/v1/query?query=up", "", None, 401),
        ("GET", "/api/v1/query?query=up", "", Some("wrong"), 401),
        (
            "GET",
            "/api/v1/query?query=up",
            "",
            Some("s3cret-token"),
            200,
        ),
        ("GET", "/api/v1/label/__name__/values", "", None, 401),
        ("POST", "/predict", &predict, None, 401),
        ("POST", "/predict", &predict, Some("s3cret-token"), 200),
        ("PUT", "/pushgateway/metrics/job/x", PUSH, None, 401),
        ("GET", "/api/dashboards", "", None, 401),
        ("PUT", "/api/dashboards/x", "{}", None, 401),
        ("GET", "/api/alerts", "", None, 401),
        ("GET", "/api/alerts", "", Some("s3cret-token"), 200),
        ("GET", "/api/alerts/d/1", "", None, 401),
        ("POST", "/api/alerts/notify", "{}", None, 401),
        (
            "POST",
            "/api/alerts/notify",
            "{}",
            Some("s3cret-token"),
            400,
        ),
        ("GET", "/api/channels", "", None, 401),
        ("GET", "/api/channels", "", Some("wrong"), 401),
        ("GET", "/api/channels", "", Some("s3cret-token"), 200),
        ("PUT", "/api/channels/x", CHANNEL, None, 401),
        ("PUT", "/api/channels/x", CHANNEL, Some("s3cret-token"), 200),
        ("POST", "/api/channels/x/test", "", None, 401),
        ("DELETE", "/api/channels/x", "", None, 401),
        ("DELETE", "/api/channels/x", "", Some("s3cret-token"), 204),
        ("GET", "/metrics", "", None, 200),
        ("GET", "/healthz", "", None, 200),
    ];
    for (method, path, body, token, want) in cases {
        let (got, answer) = send(
            method,
            &format!("{base}{path}"),
            From::NoBrowser,
            &base,
            body,
            "application/json",
            token,
        );
        assert_eq!(got, want, "{method} {path} with {token:?}: {answer}");
        assert!(!answer.contains("s3cret"), "the token leaked: {answer}");
    }
}

#[test]
fn warns_when_listening_beyond_loopback_without_a_token() {
    let data = TempDir::new("warn");
    let mut child = Command::new(lookout_tests::lookout_bin())
        .args(["serve", "--addr", "0.0.0.0:0"])
        .arg("--data-dir")
        .arg(&data.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lookout serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a line on stderr");
    assert!(
        line.starts_with("warning: listening on 0.0.0.0") && line.contains("--auth-token"),
        "{line}"
    );
}
