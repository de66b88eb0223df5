//! `cargo xtask promql-bench`: Lookout's PromQL engine against Prometheus 2.42 on the same
//! data and queries. 1,000 series × 6 h at 15 s (600 counters, 50 classic histograms of 8
//! buckets) are backfilled into Prometheus with promtool and appended to Lookout's store;
//! each query runs as a range query over the 6 h at a 1 m step (a dashboard panel), and as an
//! instant query. Prometheus' own evaluation time comes from its query stats
//! (`stats=all` → `evalTotalTime`), so HTTP and JSON are left out on both sides. Median of 5.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lookout_promql::{Engine, Labels, Storage};

const STEP_MS: i64 = 15_000;

const QUERIES: &[&str] = &[
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))",
    "max_over_time(sum(rate(http_requests_total[5m]))[1h:1m])",
    "topk(5, rate(http_requests_total[5m]))",
];

fn series(t0: i64, points: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    let mut x: u64 = 7;
    let mut rnd = || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for job in 0..10 {
        for instance in 0..12 {
            for code in ["200", "201", "400", "404", "500"] {
                let l = Labels::from_pairs(&[
                    ("__name__", "http_requests_total"),
                    ("job", &format!("job-{job}")),
                    ("instance", &format!("10.0.{job}.{instance}:9100")),
                    ("code", code),
                ]);
                let mut v = 0.0;
                let p = (0..points)
                    .map(|i| {
                        v += (rnd() * 20.0).floor();
                        (t0 + i * STEP_MS, v)
                    })
                    .collect();
                out.push((l, p));
            }
        }
    }
    let bounds = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"];
    for job in 0..10 {
        for instance in 0..5 {
            let mut counts = [0.0f64; 8];
            let mut pts: Vec<Vec<(i64, f64)>> = vec![Vec::with_capacity(points as usize); 8];
            for i in 0..points {
                for _ in 0..(rnd() * 30.0) as usize {
                    let d = rnd() * rnd() * 6.0;
                    for (b, ub) in [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, f64::INFINITY]
                        .iter()
                        .enumerate()
                    {
                        if d <= *ub {
                            counts[b] += 1.0;
                        }
                    }
                }
                for b in 0..8 {
                    pts[b].push((t0 + i * STEP_MS, counts[b]));
                }
            }
            for (b, p) in pts.into_iter().enumerate() {
                out.push((
                    Labels::from_pairs(&[
                        ("__name__", "request_duration_seconds_bucket"),
                        ("job", &format!("job-{job}")),
                        ("instance", &format!("10.0.{job}.{instance}:9100")),
                        ("le", bounds[b]),
                    ]),
                    p,
                ));
            }
        }
    }
    out
}

fn write_openmetrics(path: &Path, series: &[(Labels, Vec<(i64, f64)>)]) -> Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut last_name = String::new();
    for (labels, points) in series {
        let name = labels.name().unwrap_or("").to_string();
        if name != last_name {
            writeln!(f, "# TYPE {name} gauge")?;
            last_name = name.clone();
        }
        let l: Vec<String> = labels
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        let l = l.join(",");
        for (t, v) in points {
            writeln!(f, "{name}{{{l}}} {v} {}.{:03}", t / 1000, t % 1000)?;
        }
    }
    writeln!(f, "# EOF")?;
    Ok(())
}

fn get_json(url: &str) -> Result<serde_json::Value> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "120", url])
        .output()
        .context("curl")?;
    if !out.status.success() {
        bail!("GET {url} failed");
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(target: &Path, hours: i64) -> Result<()> {
    let points = hours * 3600 * 1000 / STEP_MS;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let t0 = (now / 7_200_000) * 7_200_000 - (hours + 2) * 3_600_000;
    let end = t0 + (points - 1) * STEP_MS;
    eprintln!("promql-bench: generating 1,000 series × {hours} h at 15 s");
    let data = series(t0, points);
    let dir = target.join("promql-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let om = dir.join("data.om");
    write_openmetrics(&om, &data)?;
    eprintln!("promql-bench: promtool tsdb create-blocks-from openmetrics");
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
    std::fs::write(&cfg, "global:\n  evaluation_interval: 1m\nscrape_configs: []\n")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut prom = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=30d")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting prometheus")?;
    let result = (|| -> Result<()> {
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            let ok = get_json(&format!(
                "{base}/api/v1/query?query={}&time={}",
                enc("count(http_requests_total)"),
                end / 1000
            ))
            .ok()
            .and_then(|v| v["data"]["result"][0]["value"][1].as_str().map(String::from));
            if ok.as_deref() == Some("600") {
                break;
            }
            if start.elapsed() > Duration::from_secs(120) {
                bail!("Prometheus did not load the blocks");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let mut storage = Storage::new();
        for (l, pts) in &data {
            for &(t, v) in pts {
                storage.append(l, t, v)?;
            }
        }
        let engine = Engine::default();
        let (rs, re, step) = (t0, end, 60_000i64);
        println!(
            "| query | kind | Prometheus 2.42 (evalTotalTime) | Lookout native | ratio |\n|---|---|---|---|---|"
        );
        for q in QUERIES {
            for kind in ["range 6 h / 1 m", "instant"] {
                let mut theirs = Vec::new();
                let mut ours = Vec::new();
                for _ in 0..5 {
                    let url = if kind == "instant" {
                        format!("{base}/api/v1/query?query={}&time={}&stats=all", enc(q), end / 1000)
                    } else {
                        format!(
                            "{base}/api/v1/query_range?query={}&start={}&end={}&step=60&stats=all",
                            enc(q),
                            rs / 1000,
                            re / 1000
                        )
                    };
                    let v = get_json(&url)?;
                    let eval = v["data"]["stats"]["timings"]["evalTotalTime"]
                        .as_f64()
                        .context("no stats in Prometheus' answer")?;
                    theirs.push(eval);
                    let t = Instant::now();
                    let r = if kind == "instant" {
                        engine.instant_query(&storage, q, end)
                    } else {
                        engine.range_query(&storage, q, rs, re, step)
                    };
                    ours.push(t.elapsed().as_secs_f64());
                    r.map_err(|e| anyhow::anyhow!("{q}: {e}"))?;
                }
                let (p, l) = (median(theirs), median(ours));
                println!(
                    "| `{q}` | {kind} | {:.2} ms | {:.2} ms | {:.2} |",
                    p * 1e3,
                    l * 1e3,
                    l / p
                );
            }
        }
        Ok(())
    })();
    let _ = prom.kill();
    let _ = prom.wait();
    result
}
