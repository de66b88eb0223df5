//! Shared helpers for Lookout's cross-crate tests: shipped data, the `lookout` binary, HTTP
//! helpers, a notification receiver, and the real daemons of `lookout-testkit` (re-exported:
//! each binds port 0 itself and is found through /proc; stopped on drop).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use lookout_testkit::{
    Daemon, Log, TempDir, closed_port, get, listening_ports, start_alertmanager, start_prometheus,
    start_prometheus_with, start_pushgateway, start_pushgateway_at, start_victoria_metrics,
    wait_for,
};

/// Folder of this crate (the repository's `tests/`).
pub fn tests_dir() -> PathBuf {
    // `cargo test` passes it at run time too; prefer that, so a binary built from another
    // checkout sharing the target dir reads this checkout's files.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The `lookout` binary built alongside these tests (`target/<profile>/lookout`).
pub fn lookout_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/lookout
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|p| p.join("lookout"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} not built: run `cargo test --workspace` (it builds the lookout binary)",
        bin.display()
    );
    bin
}

/// `lookout serve` (the binary built with these tests) with `extra` options, on a port it
/// picks itself, with a scratch `--data-dir` unless `extra` names one; returns the daemon
/// and its base URL (no trailing slash) once `/healthz` answers. Its stderr is echoed.
pub fn start_server(extra: &[&str]) -> (Daemon, String) {
    let d = lookout_testkit::start_lookout(&lookout_bin(), extra);
    let url = d.url();
    (d, url)
}

/// Runs `lookout` to completion; panics with its stderr on failure.
pub fn run_lookout(args: &[&str]) -> String {
    let out = Command::new(lookout_bin())
        .args(args)
        .output()
        .expect("run lookout");
    assert!(
        out.status.success(),
        "lookout {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Instant query against Prometheus' HTTP API: `(labels, value)` per series.
pub fn prom_query(
    port: u16,
    query: &str,
) -> Vec<(serde_json::Map<String, serde_json::Value>, f64)> {
    let resp: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("query {query}: {e}"));
    assert_eq!(resp["status"], "success", "{query}: {resp}");
    resp["data"]["result"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let labels = s["metric"].as_object().cloned().unwrap_or_default();
                    let v = s["value"][1]
                        .as_str()
                        .and_then(|v| v.parse::<f64>().ok())
                        .unwrap_or(f64::NAN);
                    (labels, v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One sample of an exposition: name, labels, value.
pub type Sample = (String, Vec<(String, String)>, f64);

/// Parses a text exposition into samples (for checks against it).
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(p) => p,
            None => continue,
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|kv| !kv.is_empty())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        if let Ok(v) = value.parse::<f64>() {
            out.push((name.to_string(), labels, v));
        }
    }
    out
}

/// POSTs `body` as JSON; the answer's status and JSON body (panics if it is not JSON).
pub fn post(url: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let resp = reqwest::blocking::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().expect("body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, json)
}

/// A compiled-in sample image, base64.
pub fn sample_b64(name: &str) -> String {
    use base64::Engine;
    let (_, bytes) = lookout_model::samples::SAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .expect("sample");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bad `/predict` bodies every adapter (server, worker) must answer with this 4xx status.
pub fn bad_input_cases(max_batch: usize) -> Vec<(&'static str, Vec<u8>, u16)> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use lookout_model::fixtures::png_header_only;
    let jpeg = lookout_model::samples::SAMPLES[0].1;
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    vec![
        ("invalid JSON", b"{not json".to_vec(), 400),
        ("wrong shape", br#"{"picture": "abc"}"#.to_vec(), 400),
        (
            "bad base64",
            br#"{"image": "%%%%", "format": "JPEG"}"#.to_vec(),
            400,
        ),
        (
            "unknown format name",
            json(serde_json::json!({"image": STANDARD.encode(b"plain text"), "format": "TIFF"})),
            415,
        ),
        (
            "non-image bytes",
            json(serde_json::json!({"image": STANDARD.encode(b"plain text, no picture")})),
            415,
        ),
        (
            "truncated JPEG",
            json(
                serde_json::json!({"image": STANDARD.encode(&jpeg[..jpeg.len() / 2]), "format": "JPEG"}),
            ),
            422,
        ),
        (
            "decompression bomb",
            json(
                serde_json::json!({"image": STANDARD.encode(png_header_only(40_000, 40_000)), "format": "PNG"}),
            ),
            413,
        ),
        ("empty batch", br#"{"images": []}"#.to_vec(), 400),
        (
            "oversize batch",
            json(
                serde_json::json!({"images": vec![serde_json::json!({"image": "AA=="}); max_batch + 1]}),
            ),
            413,
        ),
    ]
}

/// The edge worker's crate folder (its `build/` is made by `cargo xtask edge-build`).
pub fn edge_dir() -> PathBuf {
    tests_dir().join("../crates/edge")
}

/// Starts the worker in a real workerd (npm) on a port it picks, with `PUSHGATEWAY_URL` set
/// when given; returns it and its base URL once `/healthz` answers.
pub fn start_workerd(pushgateway: Option<&str>) -> (Daemon, String) {
    let d = lookout_testkit::start_workerd(&edge_dir(), pushgateway);
    let url = d.url();
    (d, url)
}

/// POSTs to `{base}/predict` on a raw socket: headers declaring `declared` bytes of body and
/// the first bytes of it, then reads the early answer (a client library would fail writing
/// the rest once the server refuses). Returns the response head and body text.
pub fn post_oversize(base: &str, declared: u64) -> (String, String) {
    send_oversize(base, "POST", "/predict", declared)
}

/// [`post_oversize`] for any method and path: headers declaring `declared` bytes, the first
/// bytes of a JSON body, then the early answer.
pub fn send_oversize(base: &str, method: &str, path: &str, declared: u64) -> (String, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{{\"image\": \"AAAA"
    )
    .expect("send headers");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read until the JSON body is complete (or the peer closes).
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((_, body)) = text.split_once("\r\n\r\n")
            && (body.trim_end().ends_with('}') || body.ends_with("0\r\n\r\n"))
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (head.to_string(), body)
}

/// The payload of an HTTP/1.1 chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Prometheus' `histogram_quantile` on classic buckets (linear interpolation inside the
/// bucket, lowest bucket from 0), for checking its answer from the server's own buckets.
pub fn classic_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let total = buckets.last().map(|b| b.1).unwrap_or(0.0);
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            let lower = if prev.0 == 0.0 && le <= 0.0 {
                le
            } else {
                prev.0
            };
            return lower + (le - lower) * (rank - prev.1) / (count - prev.1);
        }
        prev = (le, count);
    }
    f64::NAN
}

/// POSTs every bad body to `url`; each must get its 4xx status and a JSON error message.
/// `after` runs after each refusal (e.g. to check the service still answers).
pub fn check_refusals(
    url: &str,
    cases: Vec<(&'static str, Vec<u8>, u16)>,
    mut after: impl FnMut(&str),
) {
    for (what, body, want) in cases {
        let (status, v) = post(url, body);
        assert_eq!(status, want, "{what}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {v}"
        );
        after(what);
    }
}

/// What a `lookout serve` started by [`start_server_logged`] printed, stdout and stderr, one
/// entry per line.
pub type ServerLog = Log;

/// [`start_server`] keeping every line the server prints (stderr is echoed too), e.g. to check
/// that a secret never reaches a log line.
pub fn start_server_logged(extra: &[&str]) -> (Daemon, String, ServerLog) {
    let d = lookout_testkit::start_lookout(&lookout_bin(), extra);
    let url = d.url();
    let log = d.log().expect("lookout serve's output is captured");
    (d, url, log)
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: serde_json::Value,
    pub at_ms: i64,
}

/// A notification receiver: a tiny HTTP server on 127.0.0.1 that answers 200 to everything
/// and keeps every request's path and JSON body (a webhook, Slack's incoming webhook).
pub struct Receiver {
    pub port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("addr").port();
        let got: Arc<Mutex<Vec<Received>>> = Default::default();
        let record = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let record = record.clone();
                std::thread::spawn(move || receive(stream, &record));
            }
        });
        Self { port, got }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.requests().into_iter().map(|r| r.body).collect()
    }
}

/// Reads requests on one connection (keep-alive) until it closes.
fn receive(stream: TcpStream, record: &Mutex<Vec<Received>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        if let Ok(mut g) = record.lock() {
            g.push(Received {
                path,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                at_ms,
            });
        }
        let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}
