//! `bench-peers`, `load-test` and `edge-bench`: Lookout against ONNX Runtime, wrk against
//! `lookout serve`, and the edge worker in workerd (the other benches have their own modules).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::build::{build_lookout, edge_build};
use crate::tools::{dpkg_installed, status, target_dir};

/// A Python venv with the peers' packages (onnx, onnxruntime from PyPI); its `python`.
pub(crate) fn peers_python(root: &Path) -> Result<PathBuf> {
    let venv = target_dir(root).join("peers-venv");
    if !venv.join("bin/python").exists() {
        status(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    status(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            "-r",
            &root
                .join("crates/xtask/peers/requirements.txt")
                .to_string_lossy(),
        ]),
    )?;
    Ok(venv.join("bin/python"))
}

pub(crate) fn bench_peers(root: &Path, extra: &[String]) -> Result<()> {
    let python = peers_python(root)?;
    let lookout = build_lookout(root)?;
    status(
        Command::new(python)
            .arg(root.join("crates/xtask/peers/onnxruntime_bench.py"))
            .arg("--lookout")
            .arg(&lookout)
            .args(extra)
            .current_dir(root),
    )
}

/// `wrk` (Debian) against a local `lookout serve` with the seed's request body; prints the
/// requests/s and latency percentiles, and fails on any error or non-2xx answer.
pub(crate) fn load_test(root: &Path, extra: &[String]) -> Result<()> {
    let seconds: u64 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let lookout = build_lookout(root)?;
    let data = target_dir(root).join("load-test-data");
    let server =
        lookout_testkit::start_lookout(&lookout, [OsStr::new("--data-dir"), data.as_os_str()]);
    let result = wrk(root, &format!("{}/predict", server.url()), seconds, 8).map(|_| ());
    server.stop();
    result
}

/// Runs wrk (2 threads, `connections`) for `seconds` against `url` with the seed's request
/// (the ship sample); prints its report and fails on any error or non-2xx answer.
pub(crate) fn wrk(root: &Path, url: &str, seconds: u64, connections: u32) -> Result<String> {
    use base64::Engine;
    if !dpkg_installed("wrk") {
        bail!("wrk is not installed: apt-get install wrk");
    }
    let sample = std::fs::read(root.join("crates/model/samples/0001_ship.jpg"))?;
    let body = format!(
        r#"{{"image": "{}", "format": "JPEG"}}"#,
        base64::engine::general_purpose::STANDARD.encode(sample)
    );
    let script = target_dir(root).join("wrk-predict.lua");
    std::fs::create_dir_all(target_dir(root))?;
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [[{body}]]\n\
             done = function(summary, latency, requests)\n  io.write(string.format(\"errors %d %d %d %d status %d\\n\", summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))\nend\n"
        ),
    )?;
    let out = Command::new("wrk")
        .arg(format!("-t{}", connections.clamp(1, 2)))
        .args([format!("-c{connections}"), format!("-d{seconds}s")])
        .args(["--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{text}");
    let errors_line = text
        .lines()
        .find(|l| l.starts_with("errors "))
        .unwrap_or("");
    let counts: Vec<u64> = errors_line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    if counts.iter().any(|&c| c > 0) || counts.len() != 5 {
        bail!("load test had errors: {errors_line:?}");
    }
    Ok(text)
}

/// CPU seconds (user + system) a process has used, from /proc.
pub(crate) fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name and state).
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Ok((ticks(11) + ticks(12)) / hz)
}

/// Resident memory (bytes) of a process, from /proc (0 once it has exited).
pub(crate) fn resident_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// The edge worker's figures for BENCHMARKS.md: bundle size (gzipped), workerd's CPU time
/// per request over a sequential run, and N seconds (default 60) of wrk.
pub(crate) fn edge_bench(root: &Path, extra: &[String]) -> Result<()> {
    let seconds: u64 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let sizes = edge_build(root)?;
    let gz: u64 = sizes
        .iter()
        .filter(|(n, _, _)| n.ends_with(".wasm") || n.ends_with(".js"))
        .map(|(_, _, g)| g)
        .sum();
    println!(
        "bundle (wasm + js): {gz} bytes gzipped = {:.2} MB (limit 3 MB)",
        gz as f64 / 1e6
    );
    // Its own port (port 0, found through /proc), no Pushgateway.
    let workerd = lookout_testkit::start_workerd(&root.join("crates/edge"), None);
    let url = format!("{}/predict", workerd.url());
    // Warm up (first request loads the weights), then measure CPU per request on one
    // connection so nothing else runs in the isolate.
    wrk(root, &url, 2, 1)?;
    let before = cpu_seconds(workerd.pid())?;
    let report = wrk(root, &url, 10, 1)?;
    let after = cpu_seconds(workerd.pid())?;
    let requests: f64 = report
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN);
    println!(
        "workerd CPU per request (1 connection, 10 s, {requests} requests): {:.2} ms",
        (after - before) * 1e3 / requests
    );
    wrk(root, &url, seconds, 8).map(|_| ())
}
