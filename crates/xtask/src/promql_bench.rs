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
use lookout_promql::bench::{QUERIES, dataset};
use lookout_promql::{Engine, Labels, Storage};

use lookout_promql::bench::STEP_MS;

pub(crate) fn write_openmetrics(path: &Path, series: &[(Labels, Vec<(i64, f64)>)]) -> Result<()> {
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

/// A real Prometheus 2.42 over data backfilled with `promtool tsdb create-blocks-from
/// openmetrics`, on a port it picked (lookout-testkit); killed on drop.
pub(crate) struct BackfilledPrometheus {
    daemon: lookout_testkit::Daemon,
    pub url: String,
}

impl BackfilledPrometheus {
    /// The Prometheus process id.
    pub(crate) fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// Backfills `om` into `dir/tsdb`, starts Prometheus on it with `flags`, and waits until
    /// `ready = (query, at_ms, answer)` answers as expected (the blocks are loaded).
    pub(crate) fn start(
        dir: &Path,
        om: &Path,
        flags: &[&str],
        ready: (&str, i64, &str),
    ) -> Result<Self> {
        Self::start_with_config(
            dir,
            om,
            flags,
            ready,
            "global:\n  evaluation_interval: 1m\nscrape_configs: []\n",
        )
    }

    /// [`BackfilledPrometheus::start`] with its own `prometheus.yml` (rule files, intervals).
    pub(crate) fn start_with_config(
        dir: &Path,
        om: &Path,
        flags: &[&str],
        ready: (&str, i64, &str),
        config: &str,
    ) -> Result<Self> {
        eprintln!("xtask: promtool tsdb create-blocks-from openmetrics");
        let st = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(om)
            .arg(dir.join("tsdb"))
            .stdout(Stdio::null())
            .status()
            .context("promtool (apt-get install prometheus)")?;
        if !st.success() {
            bail!("promtool failed");
        }
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, config)?;
        let mut all_flags = vec!["--storage.tsdb.retention.time=30d"];
        all_flags.extend_from_slice(flags);
        let daemon = lookout_testkit::start_prometheus_config(
            &cfg,
            &dir.join("tsdb"),
            &all_flags,
            Duration::from_secs(120),
        );
        let prom = Self {
            url: daemon.url(),
            daemon,
        };
        let (query, at_ms, want) = ready;
        let start = Instant::now();
        loop {
            let got = get_json(&format!(
                "{}/api/v1/query?query={}&time={}",
                prom.url,
                enc(query),
                at_ms / 1000
            ))
            .ok()
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(String::from)
            });
            if got.as_deref() == Some(want) {
                return Ok(prom);
            }
            if start.elapsed() > Duration::from_secs(120) {
                bail!("Prometheus did not load the blocks");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

pub(crate) fn get_json(url: &str) -> Result<serde_json::Value> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "120", url])
        .output()
        .context("curl")?;
    if !out.status.success() {
        bail!("GET {url} failed");
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub(crate) fn enc(q: &str) -> String {
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

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `BENCH|…` lines (what follows `BENCH|`) that `tests/<test>.rs` of `krate` prints when
/// `wasm-pack` runs it in headless Chromium (release, ignored tests included).
pub(crate) fn browser_bench_lines(
    root: &Path,
    wasm_target: &Path,
    krate: &str,
    test: &str,
) -> Result<Vec<String>> {
    let out = Command::new(crate::tools::cargo_bin("wasm-pack"))
        .current_dir(root.join(krate))
        .env("CARGO_TARGET_DIR", wasm_target)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "600")
        .args([
            "test",
            "--release",
            "--headless",
            "--chrome",
            "--mode",
            "no-install",
        ])
        .args([
            "--",
            "--locked",
            "--test",
            test,
            "--",
            "--include-ignored",
            "--nocapture",
        ])
        .output()
        .context("wasm-pack")?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("in-browser benchmark failed:\n{text}");
    }
    Ok(text
        .lines()
        .filter_map(|l| Some(l[l.find("BENCH|")? + 6..].to_string()))
        .collect())
}

/// Median wasm times (ms) by (query, kind) from the in-browser run.
fn wasm_times(root: &Path, wasm_target: &Path) -> Result<Vec<(String, String, f64)>> {
    let lines = browser_bench_lines(root, wasm_target, "crates/promql", "browser_bench")?;
    Ok(lines
        .iter()
        .filter_map(|rest| {
            let mut f = rest.split('|');
            let (q, k, ms) = (f.next()?, f.next()?, f.next()?.trim().parse().ok()?);
            Some((q.to_string(), k.to_string(), ms))
        })
        .collect())
}

pub fn run(root: &Path, target: &Path, wasm_target: &Path, hours: i64) -> Result<()> {
    let points = hours * 3600 * 1000 / STEP_MS;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let t0 = (now / 7_200_000) * 7_200_000 - (hours + 2) * 3_600_000;
    let end = t0 + (points - 1) * STEP_MS;
    eprintln!("promql-bench: generating 1,000 series × {hours} h at 15 s");
    let data = dataset(t0, points);
    let dir = target.join("promql-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let om = dir.join("data.om");
    write_openmetrics(&om, &data)?;
    let prom =
        BackfilledPrometheus::start(&dir, &om, &[], ("count(http_requests_total)", end, "600"))?;
    let result = (|| -> Result<()> {
        let base = prom.url.clone();
        let mut storage = Storage::new();
        for (l, pts) in &data {
            for &(t, v) in pts {
                storage.append(l, t, v)?;
            }
        }
        let engine = Engine::default();
        let (rs, re, step) = (t0, end, 60_000i64);
        eprintln!("promql-bench: the engine in headless Chromium (wasm, release)");
        let wasm = wasm_times(root, wasm_target)?;
        println!(
            "| query | kind | Prometheus 2.42 (evalTotalTime) | Lookout native | ratio | Lookout wasm (Chromium) | ratio |\n|---|---|---|---|---|---|---|"
        );
        for q in QUERIES {
            for kind in ["range 6 h / 1 m", "instant"] {
                let mut theirs = Vec::new();
                let mut ours = Vec::new();
                for _ in 0..5 {
                    let url = if kind == "instant" {
                        format!(
                            "{base}/api/v1/query?query={}&time={}&stats=all",
                            enc(q),
                            end / 1000
                        )
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
                let w = wasm
                    .iter()
                    .find(|(wq, wk, _)| wq == q && kind.starts_with(wk.as_str()))
                    .map(|(_, _, ms)| *ms / 1e3)
                    .unwrap_or(f64::NAN);
                println!(
                    "| `{q}` | {kind} | {:.2} ms | {:.2} ms | {:.2} | {:.2} ms | {:.2} |",
                    p * 1e3,
                    l * 1e3,
                    l / p,
                    w * 1e3,
                    w / p
                );
            }
        }
        Ok(())
    })();
    drop(prom);
    result
}
