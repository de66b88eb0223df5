//! `lookout traffic`: the seed's test script as a tool. Sends random images, base64-encoded
//! in the seed's request shape, to a `/predict` URL at a given rate, and reports.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

#[derive(clap::Args)]
pub struct TrafficArgs {
    /// The endpoint, e.g. http://127.0.0.1:8080/predict (server or worker).
    #[arg(long, default_value = "http://127.0.0.1:8080/predict")]
    url: String,
    /// Folder of images to pick from (default: the samples compiled into lookout).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Requests per second (0: as fast as --concurrency allows).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Requests to send.
    #[arg(long, default_value_t = 100)]
    count: u64,
    /// Stop after this many seconds even if --count is not reached.
    #[arg(long)]
    duration: Option<f64>,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub error_statuses: std::collections::BTreeMap<String, u64>,
    pub seconds: f64,
    pub rate: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
}

fn load_images(dir: Option<&PathBuf>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    match dir {
        None => {
            for (name, bytes) in lookout_model::samples::SAMPLES {
                out.push((format_of(name), STANDARD.encode(bytes)));
            }
        }
        Some(d) => {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(d)
                .with_context(|| d.display().to_string())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            paths.sort();
            for p in paths {
                let bytes = std::fs::read(&p).with_context(|| p.display().to_string())?;
                out.push((format_of(&p.to_string_lossy()), STANDARD.encode(bytes)));
            }
        }
    }
    if out.is_empty() {
        bail!("no images to send");
    }
    Ok(out)
}

fn format_of(name: &str) -> String {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_uppercase();
    match ext.as_str() {
        "JPG" => "JPEG".into(),
        other => other.into(),
    }
}

pub fn run(args: TrafficArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = rt.block_on(send_all(&args))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "sent {} in {:.1}s ({:.1}/s): {} ok, {} errors {:?}; latency p50 {:.1} ms, p90 {:.1}, p99 {:.1}, max {:.1}",
            summary.sent,
            summary.seconds,
            summary.rate,
            summary.ok,
            summary.errors,
            summary.error_statuses,
            summary.latency_ms_p50,
            summary.latency_ms_p90,
            summary.latency_ms_p99,
            summary.latency_ms_max
        );
    }
    if summary.ok == 0 && summary.sent > 0 {
        bail!("every request failed");
    }
    Ok(())
}

async fn send_all(args: &TrafficArgs) -> Result<Summary> {
    let images = Arc::new(load_images(args.dir.as_ref())?);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let bar = indicatif::ProgressBar::new(args.count);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut rng = StdRng::seed_from_u64(args.seed);
    let start = Instant::now();
    let deadline = args.duration.map(|d| start + Duration::from_secs_f64(d));
    let mut tasks = tokio::task::JoinSet::new();
    let period = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    for i in 0..args.count {
        if let Some(p) = period {
            let due = start + p.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let permit = sem.clone().acquire_owned().await?;
        let (format, image) = images[rng.random_range(0..images.len())].clone();
        let client = client.clone();
        let url = args.url.clone();
        tasks.spawn(async move {
            let t = Instant::now();
            let body = serde_json::json!({"image": image, "format": format}).to_string();
            let res = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let outcome = match res {
                Ok(r) if r.status().is_success() => {
                    let ok = r
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .is_some_and(|v| v.get("class").is_some());
                    if ok {
                        Ok(())
                    } else {
                        Err("bad body".to_string())
                    }
                }
                Ok(r) => Err(r.status().as_u16().to_string()),
                Err(e) if e.is_timeout() => Err("timeout".into()),
                Err(e) if e.is_connect() => Err("connect".into()),
                Err(_) => Err("transport".into()),
            };
            drop(permit);
            (t.elapsed().as_secs_f64() * 1e3, outcome)
        });
        bar.inc(1);
    }
    let mut lat = Vec::new();
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut statuses = std::collections::BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        let (ms, outcome) = r?;
        lat.push(ms);
        match outcome {
            Ok(()) => ok += 1,
            Err(s) => {
                errors += 1;
                *statuses.entry(s).or_insert(0) += 1;
            }
        }
        bar.set_message(format!("{ok} ok, {errors} errors"));
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize]
        }
    };
    let sent = ok + errors;
    Ok(Summary {
        sent,
        ok,
        errors,
        error_statuses: statuses,
        seconds,
        rate: sent as f64 / seconds.max(1e-9),
        latency_ms_p50: q(0.5),
        latency_ms_p90: q(0.9),
        latency_ms_p99: q(0.99),
        latency_ms_max: q(1.0),
    })
}
