//! `lookout bench`: latency at batch 1 and throughput at batch 64, per backend.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use lookout_model::preprocess::INPUT_LEN;
use lookout_model::{Backend, Classifier};
use serde::Serialize;

/// Multiply-adds ×2 of one forward pass (convs 2×(0.88+18.9+9.4+9.4) M, dense 2×2.1 M).
pub const MFLOP_PER_IMAGE: f64 = 81.5;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Backends to measure; a wgpu backend without an adapter is reported, not fatal.
    #[arg(long, value_delimiter = ',', default_value = "cpu,flex,wgpu")]
    backends: Vec<String>,
    /// Timed batch-1 runs.
    #[arg(long, default_value_t = 200)]
    iters: usize,
    /// Timed batch-64 runs.
    #[arg(long, default_value_t = 20)]
    batches: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Print one JSON object per backend.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct RecordCost {
    record_ns: f64,
    share_of_batch1_inference: f64,
}

/// Cost of recording one prediction in the metrics (labels, histograms, drift window).
fn record_cost() -> f64 {
    use lookout_metrics::{InputStats, Metrics, Observation, Runtime};
    let m = Metrics::new(Runtime::NativeCpu, "bench", &lookout_model::LABELS);
    let n = 200_000;
    let t = Instant::now();
    for i in 0..n {
        m.record(&Observation {
            label: lookout_model::LABELS[i % 10],
            confidence: (i % 100) as f64 / 100.0,
            inference_seconds: 0.002,
            input: Some(InputStats {
                brightness: 0.4,
                contrast: 0.2,
            }),
        });
    }
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

/// The CPU's model name (`/proc/cpuinfo`), for the record.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

#[derive(Serialize)]
struct BenchResult {
    backend: &'static str,
    /// The machine's CPU.
    cpu: String,
    /// The CPU backend's instruction set.
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<&'static str>,
    batch1_ms_p50: f64,
    batch1_ms_mean: f64,
    batch1_ms_p99: f64,
    batch_size: usize,
    batch_ms_mean: f64,
    images_per_second: f64,
    gflops: f64,
}

fn inputs(n: usize) -> Vec<f32> {
    // Deterministic, image-like values (normalised range); compute does not depend on them.
    (0..n * INPUT_LEN)
        .map(|i| ((i.wrapping_mul(2_654_435_761) % 1000) as f32 / 500.0) - 1.0)
        .collect()
}

fn measure(clf: &Classifier, args: &BenchArgs) -> Result<BenchResult> {
    let one = inputs(1);
    let many = inputs(args.batch_size);
    for _ in 0..10 {
        clf.logits(&one)?;
    }
    clf.logits(&many)?;
    let mut lat = Vec::with_capacity(args.iters);
    for _ in 0..args.iters.max(1) {
        let t = Instant::now();
        clf.logits(&one)?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    let pick = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
    let t = Instant::now();
    for _ in 0..args.batches.max(1) {
        clf.logits(&many)?;
    }
    let total = t.elapsed().as_secs_f64();
    let per_batch = total / args.batches.max(1) as f64;
    let ips = args.batch_size as f64 / per_batch;
    Ok(BenchResult {
        backend: clf.backend().name(),
        kernel: clf.cpu_kernel(),
        cpu: cpu_model(),
        batch1_ms_p50: pick(0.5),
        batch1_ms_mean: lat.iter().sum::<f64>() / lat.len() as f64,
        batch1_ms_p99: pick(0.99),
        batch_size: args.batch_size,
        batch_ms_mean: per_batch * 1e3,
        images_per_second: ips,
        gflops: ips * MFLOP_PER_IMAGE / 1e3,
    })
}

pub fn run(args: BenchArgs) -> Result<()> {
    let mut cpu_batch1_ms = None;
    eprintln!(
        "bench: {} ({} threads); LOOKOUT_CPU_KERNEL={} picks the CPU kernel",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::var("LOOKOUT_CPU_KERNEL").unwrap_or_else(|_| "(unset: the widest)".into())
    );
    for name in &args.backends {
        let backend = match name.as_str() {
            "cpu" => Backend::Cpu,
            "flex" => Backend::Flex,
            "wgpu" => Backend::Wgpu,
            other => anyhow::bail!("unknown backend {other:?} (cpu, flex, wgpu)"),
        };
        eprintln!("bench: {name}: warming up and measuring…");
        let clf = match crate::classifier(backend, args.weights.as_ref()) {
            Ok(c) => c,
            Err(e) if backend == Backend::Wgpu => {
                eprintln!("bench: wgpu unavailable here: {e:#}");
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"backend": "wgpu", "unavailable": format!("{e:#}")})
                    );
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let r = measure(&clf, &args)?;
        if backend == Backend::Cpu {
            cpu_batch1_ms = Some(r.batch1_ms_p50);
        }
        if args.json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            println!(
                "{:>5}{}: batch 1 p50 {:.3} ms (mean {:.3}, p99 {:.3}); batch {} {:.1} ms = {:.0} img/s, {:.1} GFLOP/s",
                r.backend,
                r.kernel.map(|k| format!(" ({k})")).unwrap_or_default(),
                r.batch1_ms_p50,
                r.batch1_ms_mean,
                r.batch1_ms_p99,
                r.batch_size,
                r.batch_ms_mean,
                r.images_per_second,
                r.gflops
            );
        }
    }
    if let Some(ms) = cpu_batch1_ms {
        let ns = record_cost();
        let cost = RecordCost {
            record_ns: ns,
            share_of_batch1_inference: ns / (ms * 1e6),
        };
        if args.json {
            println!("{}", serde_json::json!({"metrics_record": cost}));
        } else {
            println!(
                "metrics: recording one prediction {:.0} ns = {:.3}% of a batch-1 CPU inference",
                cost.record_ns,
                100.0 * cost.share_of_batch1_inference
            );
        }
    }
    Ok(())
}
