//! `cargo xtask notebook-bench [RUNS]`: query → panel drawn in the page's notebook, in
//! headless Chromium, with Lookout's engine behind the panel (the server's `/api/v1`, the
//! "This server" source) against Prometheus 2.42 behind the same panel (the "Prometheus
//! URL" source, CORS), on the same data: the seed's `sum by (label)
//! (rate(prediction_value_total[1m]))` over 6 h of metrics from 10 instances (100 counters
//! at 15 s), and a time series of 1,000 series × 360 points (6 h at 1 m, max points 360).
//! The cell measures from the run's start to the frame after the chart was drawn
//! (`data-query-ms`, `data-drawn-ms` on its footer); median of RUNS (default 10).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use lookout_promql::Labels;

use crate::build::{build_lookout, web_build};
use crate::promql_bench::{BackfilledPrometheus, median, write_openmetrics};
use crate::tools::target_dir;

/// CIFAR-10's classes, as the metrics label them.
pub(crate) const LABELS: [&str; 10] = [
    "Airplane",
    "Automobile",
    "Bird",
    "Cat",
    "Deer",
    "Dog",
    "Frog",
    "Horse",
    "Ship",
    "Truck",
];

pub(crate) fn data(t0: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    let mut x: u64 = 11;
    let mut rnd = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..10 {
        for label in LABELS {
            let l = Labels::from_pairs(&[
                ("__name__", "prediction_value_total"),
                ("job", "lookout"),
                ("instance", &format!("native-{i:08x}")),
                ("label", label),
                ("runtime", "native-cpu"),
            ]);
            let mut v = 0.0;
            let pts = (0..=6 * 240)
                .map(|k| {
                    v += (rnd() * 12.0).floor();
                    (t0 + k * 15_000, v)
                })
                .collect();
            out.push((l, pts));
        }
    }
    for s in 0..1000 {
        let l = Labels::from_pairs(&[("__name__", "bench_gauge"), ("series", &s.to_string())]);
        let pts = (0..=360)
            .map(|k| (t0 + k * 60_000, (s as f64) + 10.0 * rnd()))
            .collect();
        out.push((l, pts));
    }
    out
}

pub fn run(root: &Path, extra: &[String]) -> Result<()> {
    let runs: u32 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    web_build(root)?;
    let lookout = build_lookout(root)?;
    // The script lives beside the page bench and uses its pinned playwright-core.
    crate::tools::npm_ci(&root.join("crates/xtask/peers/web"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let t0 = (now / 7_200_000) * 7_200_000 - 8 * 3_600_000;
    let end = t0 + 6 * 3_600_000;
    let dir = target_dir(root).join("notebook-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let om = dir.join("data.om");
    eprintln!("notebook-bench: 100 counters × 6 h at 15 s, 1,000 gauges × 6 h at 1 m");
    write_openmetrics(&om, &data(t0))?;
    let prom = BackfilledPrometheus::start(
        &dir,
        &om,
        &["--web.cors.origin=.*"],
        ("count(bench_gauge)", end, "1000"),
    )?;
    let result = (|| -> Result<()> {
        let prom_url = prom.url.clone();
        let dist = root.join("dist");
        let server = lookout_testkit::start_lookout(
            &lookout,
            [
                OsStr::new("--retention-hours"),
                OsStr::new("48"),
                OsStr::new("--backfill"),
                om.as_os_str(),
                OsStr::new("--static-dir"),
                dist.as_os_str(),
            ],
        );
        let out = Command::new("node")
            .arg(root.join("crates/xtask/peers/web/notebook-bench.mjs"))
            .arg(format!("{}/", server.url()))
            .arg(&prom_url)
            .arg(t0.to_string())
            .arg(end.to_string())
            .arg(runs.to_string())
            .output()
            .context("node")?;
        server.stop();
        let text = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(text.trim()).with_context(|| {
            format!(
                "notebook-bench.mjs printed no JSON: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        if let Some(f) = v.get("failure") {
            bail!("notebook-bench.mjs: {f}");
        }
        let runs = |src: &str, q: &str, k: &str| -> Vec<f64> {
            v[src][q][k]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default()
        };
        let med = |xs: Vec<f64>| if xs.is_empty() { f64::NAN } else { median(xs) };
        // Drawing alone: each run's drawn − query, then the median (the two medians'
        // difference can mix different runs).
        let drawing = |src: &str, q: &str| {
            let d = runs(src, q, "drawn_ms");
            med(runs(src, q, "query_ms")
                .iter()
                .zip(&d)
                .map(|(q, d)| d - q)
                .collect())
        };
        println!(
            "| panel | series × points | Lookout (this server): query / drawn | Prometheus 2.42 (remote, CORS): query / drawn | drawn ratio | drawing alone (drawn − query), Lookout / Prometheus |\n|---|---|---|---|---|---|"
        );
        for (q, what) in [
            (
                "seed",
                "sum by (label) (rate(prediction_value_total[1m])), 6 h, 10 instances",
            ),
            ("wide", "bench_gauge: 1,000 series × 361 points"),
        ] {
            let (lq, ld) = (
                med(runs("lookout", q, "query_ms")),
                med(runs("lookout", q, "drawn_ms")),
            );
            let (pq, pd) = (
                med(runs("prometheus", q, "query_ms")),
                med(runs("prometheus", q, "drawn_ms")),
            );
            println!(
                "| {what} | {} | {lq:.1} / {ld:.1} ms | {pq:.1} / {pd:.1} ms | {:.2} | {:.1} / {:.1} ms |",
                v["lookout"][q]["shape"].as_str().unwrap_or("?"),
                ld / pd,
                drawing("lookout", q),
                drawing("prometheus", q),
            );
        }
        Ok(())
    })();
    drop(prom);
    result
}
