//! `cargo xtask notebook-bench [RUNS]`: query → panel drawn in the page's notebook, in
//! headless Chromium, with Lookout's engine behind the panel (the server's `/api/v1`, the
//! "This server" source) against Prometheus 2.42 behind the same panel (the "Prometheus
//! URL" source, CORS), on the same data: the seed's `sum by (label)
//! (rate(prediction_value_total[1m]))` over 6 h of metrics from 10 instances (100 counters
//! at 15 s), and a time series of 1,000 series × 360 points (6 h at 1 m, max points 360).
//! The cell measures from the run's start to the frame after the chart was drawn
//! (`data-query-ms`, `data-drawn-ms` on its footer); median of RUNS (default 10).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lookout_promql::Labels;

use crate::promql_bench::{enc, get_json, median, write_openmetrics};
use crate::{Server, build_lookout, status, target_dir, web_build};

const LABELS: [&str; 10] = [
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

fn data(t0: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
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
    status(
        Command::new("npm")
            .current_dir(root.join("tests/e2e"))
            .args(["ci", "--no-audit", "--no-fund"]),
    )?;
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
    let st = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(dir.join("tsdb"))
        .stdout(Stdio::null())
        .status()
        .context("promtool (apt-get install prometheus)")?;
    if !st.success() {
        bail!("promtool failed");
    }
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, "scrape_configs: []\n")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut prom = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=30d")
        .arg("--web.cors.origin=.*")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting prometheus")?;
    let result = (|| -> Result<()> {
        let prom_url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            let n = get_json(&format!(
                "{prom_url}/api/v1/query?query={}&time={}",
                enc("count(bench_gauge)"),
                end / 1000
            ))
            .ok()
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(String::from)
            });
            if n.as_deref() == Some("1000") {
                break;
            }
            if start.elapsed() > Duration::from_secs(120) {
                bail!("Prometheus did not load the blocks");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let mut server = Server::start(
            Command::new(&lookout)
                .args(["serve", "--addr", "127.0.0.1:0", "--retention-hours", "48"])
                .arg("--backfill")
                .arg(&om)
                .arg("--static-dir")
                .arg(root.join("dist")),
        )?;
        let out = Command::new("node")
            .arg(root.join("crates/xtask/peers/web/notebook-bench.mjs"))
            .arg(format!("{}/", server.url.trim_end_matches('/')))
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
        let med = |src: &str, q: &str, k: &str| -> f64 {
            let xs: Vec<f64> = v[src][q][k]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default();
            if xs.is_empty() { f64::NAN } else { median(xs) }
        };
        println!(
            "| panel | series × points | Lookout (this server): query / drawn | Prometheus 2.42 (remote, CORS): query / drawn | drawn ratio |\n|---|---|---|---|---|"
        );
        for (q, what) in [
            (
                "seed",
                "sum by (label) (rate(prediction_value_total[1m])), 6 h, 10 instances",
            ),
            ("wide", "bench_gauge: 1,000 series × 361 points"),
        ] {
            let (lq, ld) = (med("lookout", q, "query_ms"), med("lookout", q, "drawn_ms"));
            let (pq, pd) = (
                med("prometheus", q, "query_ms"),
                med("prometheus", q, "drawn_ms"),
            );
            println!(
                "| {what} | {} | {lq:.1} / {ld:.1} ms | {pq:.1} / {pd:.1} ms | {:.2} |",
                v["lookout"][q]["shape"].as_str().unwrap_or("?"),
                ld / pd
            );
        }
        Ok(())
    })();
    let _ = prom.kill();
    let _ = prom.wait();
    result
}
