//! `cargo xtask memory-bench [SECONDS] [REQUESTS] [PAGE_MINUTES]`: does memory stay bounded
//! under load? A part given 0 is skipped.
//!
//! - `lookout serve` under `lookout traffic` as fast as 4 connections allow for SECONDS
//!   (default 600), its query store scraping itself every second with a 2-minute retention
//!   (the bound, reached after the warm-up, so what follows is steady state): resident memory
//!   sampled every 10 s, the growth from the end of a 3-minute warm-up to the end.
//! - The edge worker in one workerd isolate over REQUESTS (default 10,000) predictions, after
//!   2,000 warm-up requests: the isolate's wasm memory (its `/healthz`), against Cloudflare's
//!   128 MB, and the resident memory of the whole workerd process.
//!
//! - The page in headless Chromium under its own traffic (the live view's Traffic at its
//!   highest rate, restarted as it finishes) for PAGE_MINUTES (default 30): the JS heap
//!   (as found, and live: right after a forced full collection), the wasm module's memory and the renderer's resident memory every 30 s, the growth
//!   from the end of the warm-up (12 minutes: the live view's store keeps 5) to the end.
//!
//! Prints one line per sample and a summary per process (BENCHMARKS.md, "Memory").

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench::resident_bytes;
use crate::build::{build_lookout, edge_build, web_build};

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// `lookout traffic` against `url`: `count` requests (or `seconds`), 4 in flight, no pause.
fn traffic(lookout: &Path, url: &str, count: u64, seconds: Option<u64>) -> Result<Child> {
    let mut cmd = Command::new(lookout);
    cmd.args([
        "traffic",
        "--url",
        url,
        "--rate",
        "0",
        "--concurrency",
        "4",
        "--json",
    ])
    .arg("--count")
    .arg(count.to_string());
    if let Some(s) = seconds {
        cmd.arg("--duration").arg(s.to_string());
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting lookout traffic")
}

/// Waits for a `lookout traffic` run, sampling `pid`'s memory every `every`; the samples
/// (seconds since the start, bytes) and the run's JSON summary.
fn sample_until_done(
    mut run: Child,
    pid: u32,
    every: Duration,
    label: &str,
) -> Result<(Vec<(f64, u64)>, serde_json::Value)> {
    let start = Instant::now();
    let mut samples = vec![(0.0, resident_bytes(pid))];
    let mut next = every;
    loop {
        if run.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() >= next {
            let s = (start.elapsed().as_secs_f64(), resident_bytes(pid));
            println!("{label}: {:>6.0} s  {:>7.1} MB", s.0, mb(s.1));
            samples.push(s);
            next += every;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    samples.push((start.elapsed().as_secs_f64(), resident_bytes(pid)));
    let out = run.wait_with_output()?;
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{label}: no JSON summary from lookout traffic"))?;
    if summary["errors"].as_u64().unwrap_or(1) != 0 {
        bail!("{label}: requests failed: {summary}");
    }
    Ok((samples, summary))
}

pub(crate) fn run(root: &Path, extra: &[String]) -> Result<()> {
    let seconds: u64 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(600);
    let requests: u64 = extra.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let page_minutes: u64 = extra.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);
    let lookout = build_lookout(root)?;
    if seconds > 0 {
        server(&lookout, seconds)?;
    }
    if requests > 0 {
        worker(root, &lookout, requests)?;
    }
    if page_minutes > 0 {
        page(root, &lookout, page_minutes)?;
    }
    Ok(())
}

/// The worker's wasm memory, from its `/healthz`.
fn wasm_memory(base: &str) -> u64 {
    lookout_testkit::get(&format!("{base}/healthz"))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["wasm_memory_bytes"].as_u64())
        .unwrap_or(0)
}

fn server(lookout: &Path, seconds: u64) -> Result<()> {
    // The server: store bounded to 2 minutes, scraping itself every second.
    let server = lookout_testkit::start_lookout(
        lookout,
        ["--scrape-interval", "1", "--retention-hours", "0.0333"],
    );
    let url = format!("{}/predict", server.url());
    let warm_up = 180.min(seconds / 2);
    let run = traffic(lookout, &url, u64::MAX / 2, Some(seconds))?;
    let (samples, summary) =
        sample_until_done(run, server.pid(), Duration::from_secs(10), "lookout serve")?;
    let at_warm = samples
        .iter()
        .find(|(t, _)| *t >= warm_up as f64)
        .map(|s| s.1)
        .unwrap_or(0);
    let end = samples.last().map(|s| s.1).unwrap_or(0);
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let growth = (end as f64 - at_warm as f64) / at_warm.max(1) as f64 * 100.0;
    println!(
        "lookout serve, {} requests in {:.0} s ({:.0}/s): RSS at start {:.1} MB, after the \
         {warm_up} s warm-up {:.1} MB, at the end {:.1} MB ({growth:+.1} %), max {:.1} MB",
        summary["ok"],
        summary["seconds"].as_f64().unwrap_or(f64::NAN),
        summary["rate"].as_f64().unwrap_or(f64::NAN),
        mb(samples[0].1),
        mb(at_warm),
        mb(end),
        mb(max),
    );
    Ok(())
}

fn worker(root: &Path, lookout: &Path, requests: u64) -> Result<()> {
    // The worker: one isolate, warm-up, then the run.
    edge_build(root)?;
    let workerd = lookout_testkit::start_workerd(&root.join("crates/edge"), None);
    let url = format!("{}/predict", workerd.url());
    let base = workerd.url();
    let (idle, idle_wasm) = (resident_bytes(workerd.pid()), wasm_memory(&base));
    let warm_up = 2_000;
    let (_, _) = sample_until_done(
        traffic(lookout, &url, warm_up, None)?,
        workerd.pid(),
        Duration::from_secs(5),
        "workerd warm-up",
    )?;
    let (warm, warm_wasm) = (resident_bytes(workerd.pid()), wasm_memory(&base));
    let (samples, summary) = sample_until_done(
        traffic(lookout, &url, requests, None)?,
        workerd.pid(),
        Duration::from_secs(5),
        "workerd",
    )?;
    let end = samples.last().map(|s| s.1).unwrap_or(0);
    let end_wasm = wasm_memory(&base);
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "workerd, {} requests in {:.0} s ({:.0}/s): the isolate's wasm memory {:.1} MB once \
         started, {:.1} MB after {warm_up} warm-up requests, {:.1} MB at the end (against \
         Cloudflare's 128 MB per isolate); the workerd process' RSS {:.1} MB, {:.1} MB, \
         {:.1} MB ({:+.1} % after the warm-up), max {:.1} MB",
        summary["ok"],
        summary["seconds"].as_f64().unwrap_or(f64::NAN),
        summary["rate"].as_f64().unwrap_or(f64::NAN),
        mb(idle_wasm),
        mb(warm_wasm),
        mb(end_wasm),
        mb(idle),
        mb(warm),
        mb(end),
        (end as f64 - warm as f64) / warm.max(1) as f64 * 100.0,
        mb(max),
    );
    Ok(())
}

/// The page's part: the page served by `lookout serve`, driven by page-memory.mjs.
fn page(root: &Path, lookout: &Path, minutes: u64) -> Result<()> {
    web_build(root)?;
    let web = root.join("crates/xtask/peers/web");
    crate::tools::npm_ci(&web)?;
    let dist = root.join("dist");
    let server =
        lookout_testkit::start_lookout(lookout, ["--static-dir".as_ref(), dist.as_os_str()]);
    let out = Command::new("node")
        .current_dir(&web)
        .arg("page-memory.mjs")
        .arg(format!("{}/", server.url()))
        .arg(minutes.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("running node page-memory.mjs")?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("page-memory.mjs: {}", String::from_utf8_lossy(&out.stdout)))?;
    if let Some(f) = v.get("failure") {
        bail!("page-memory.mjs failed: {f}");
    }
    let samples = v["samples"].as_array().context("samples")?;
    let warm_up = 12.0f64.min(minutes as f64 / 2.0);
    let warm: Vec<&serde_json::Value> = samples
        .iter()
        .filter(|s| s["minute"].as_f64().unwrap_or(0.0) >= warm_up)
        .collect();
    for key in ["js_heap", "js_heap_live", "wasm", "renderer_pss"] {
        let value = |s: &serde_json::Value| s[key].as_f64().unwrap_or(f64::NAN);
        let (Some(a), Some(b)) = (
            warm.first().map(|s| value(s)),
            warm.last().map(|s| value(s)),
        ) else {
            bail!("no samples after the warm-up");
        };
        let max = samples.iter().map(value).fold(f64::NAN, f64::max);
        println!(
            "page {key}: at the start {:.1} MB, after the {warm_up:.0} min warm-up {:.1} MB, \
             at the end ({minutes} min) {:.1} MB ({:+.1} %), max {:.1} MB",
            samples.first().map(value).unwrap_or(f64::NAN) / 1e6,
            a / 1e6,
            b / 1e6,
            (b - a) / a * 100.0,
            max / 1e6
        );
    }
    let predictions = samples
        .last()
        .and_then(|s| s["predictions"].as_f64())
        .unwrap_or(f64::NAN);
    println!("page: {predictions} predictions in {minutes} min");
    Ok(())
}
