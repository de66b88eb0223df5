//! `cargo xtask dashboard-bench [RUNS]`: dashboards, measured.
//!
//! - **Import and export** of every shipped Grafana export (the largest: "Node Exporter
//!   Full", 388 KB, 128 panels) natively, and of the largest in headless Chromium (wasm,
//!   release), each against the floor of the same run: `serde_json` parsing the same bytes
//!   into a `Value` (an importer cannot be faster than reading the JSON once).
//! - **Save latency on the server**: `PUT /api/dashboards/<uid>` of that dashboard (480 KB of
//!   Lookout JSON) to `lookout serve --data-dir`, sequential, based on the last version each
//!   time, against the floor of the same run: writing the same bytes durably in the same
//!   folder (`write`, `fsync`, `rename`, `fsync` of the folder) from this process.
//!
//! - **A 100-panel dashboard opened → every panel drawn**, in headless Chromium: 100 time
//!   series panels over 6 h of the notebook bench's counters (10 instances × 10 labels at
//!   15 s), with Lookout's engine behind them (the dashboard's data source: this server,
//!   backfilled) against Prometheus 2.42 behind the same panels (a remote URL, backfilled with
//!   the same samples); and in the page, an edit → "saved" (IndexedDB, then the server; the
//!   150 ms of quiet that batches keystrokes included).
//!
//! Grafana itself is the peer users compare with, but it is not packaged for Debian 12 and
//! nothing may be downloaded here, so the floors above are the same-run references. Median
//! of RUNS (default 20).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::build::{build_lookout, web_build};
use crate::promql_bench::{BackfilledPrometheus, median, write_openmetrics};
use crate::tools::{target_dir, wasm_target_dir};
use lookout_testkit::start_lookout;

const EXPORTS: &str = "crates/grafana/testdata/grafana";

fn ms(s: f64) -> String {
    format!("{:.2} ms", s * 1e3)
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let runs: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20)
        .max(3);
    let mut files: Vec<_> = std::fs::read_dir(root.join(EXPORTS))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    println!(
        "| export | bytes | panels | serde_json parse (floor) | import | ratio | export | ratio |\n|---|---|---|---|---|---|---|---|"
    );
    let mut largest: Option<(usize, lookout_dashboard::Dashboard)> = None;
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        let (mut parse, mut import, mut export) = (Vec::new(), Vec::new(), Vec::new());
        let mut panels = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let v: serde_json::Value = serde_json::from_str(&text)?;
            parse.push(t.elapsed().as_secs_f64());
            drop(v);
            let t = Instant::now();
            let d = lookout_grafana::import(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            import.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let out = lookout_grafana::export_pretty(&d.dashboard)
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            export.push(t.elapsed().as_secs_f64());
            panels = d.dashboard.panels.len() + d.dashboard.rows.len();
            if out.is_empty() {
                bail!("empty export");
            }
            if largest.as_ref().is_none_or(|(n, _)| text.len() > *n) {
                largest = Some((text.len(), d.dashboard));
            }
        }
        let (p, i, e) = (median(parse), median(import), median(export));
        println!(
            "| {} | {} | {panels} | {} | {} | {:.1} | {} | {:.1} |",
            f.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            text.len(),
            ms(p),
            ms(i),
            i / p,
            ms(e),
            e / p
        );
    }

    eprintln!("dashboard-bench: the importer in headless Chromium (wasm, release)");
    let wasm = wasm_times(root)?;
    let get = |k: &str| wasm.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    if let (Some(p), Some(i), Some(e)) = (get("parse"), get("import"), get("export")) {
        println!(
            "\n| in Chromium (wasm) | serde_json parse (floor) | import | ratio | export | ratio |\n|---|---|---|---|---|---|\n| rfmoz-node-exporter-full-schema26.json | {p:.2} ms | {i:.2} ms | {:.1} | {e:.2} ms | {:.1} |",
            i / p,
            e / p
        );
    }

    let (_, dashboard) = largest.context("no exports")?;
    build_lookout(root)?;
    let dir = target_dir(root).join("dashboard-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let lookout = target_dir(root).join("release/lookout");
    let server = start_lookout(&lookout, [OsStr::new("--data-dir"), dir.as_os_str()]);
    let result = (|| -> Result<()> {
        let url = format!("{}/api/dashboards/bench", server.url());
        let mut d = dashboard.clone();
        d.version = 0;
        let mut put = Vec::new();
        let mut floor = Vec::new();
        let floor_dir = dir.join("floor");
        std::fs::create_dir_all(&floor_dir)?;
        let mut bytes = 0;
        for i in 0..runs {
            d.title = format!("Node Exporter Full ({i})");
            let body = d.to_json_pretty()?;
            bytes = body.len();
            let t = Instant::now();
            let out = Command::new("curl")
                .args(["-sS", "-X", "PUT", "--data-binary", "@-", "-H"])
                .arg("content-type: application/json")
                .arg(&url)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    if let Some(mut s) = c.stdin.take() {
                        s.write_all(body.as_bytes())?;
                    }
                    c.wait_with_output()
                })?;
            let elapsed = t.elapsed().as_secs_f64();
            let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
                .with_context(|| String::from_utf8_lossy(&out.stdout).into_owned())?;
            d.version = answer["version"].as_u64().context("no version")?;
            put.push(elapsed);
            let t = Instant::now();
            durable_write(&floor_dir.join("bench.json"), body.as_bytes())?;
            floor.push(t.elapsed().as_secs_f64());
        }
        let curl_alone = curl_overhead(&format!("{}/healthz", server.url()), runs)?;
        let (p, f, c) = (median(put), median(floor), median(curl_alone));
        println!(
            "\n| save ({bytes} bytes) | durable write from this process (floor) | PUT /api/dashboards (curl) | curl GET /healthz alone | PUT − curl alone | ratio to floor |\n|---|---|---|---|---|---|\n| Node Exporter Full | {} | {} | {} | {} | {:.1} |",
            ms(f),
            ms(p),
            ms(c),
            ms(p - c),
            (p - c) / f
        );
        Ok(())
    })();
    server.stop();
    result?;
    browser(root, &dir, runs.min(5))
}

/// A 100-panel dashboard: time series of `sum by (label) (rate(prediction_value_total{…}[1m]))`
/// per instance, 4 per grid row, over `[t0, end]`, querying `datasource`.
fn hundred_panels(
    uid: &str,
    datasource: lookout_dashboard::DataSourceRef,
    t0: i64,
    end: i64,
) -> lookout_dashboard::Dashboard {
    use lookout_dashboard::{Cell, GridPos, Target, TimeRange};
    let panels = (0..100u32)
        .map(|i| {
            let mut c = Cell {
                id: u64::from(i) + 1,
                title: format!("Panel {i}"),
                datasource: lookout_dashboard::DataSourceRef::Dashboard,
                targets: vec![Target {
                    expr: format!(
                        "sum by (label) (rate(prediction_value_total{{instance=\"native-{:08x}\"}}[1m]))",
                        i % 10
                    ),
                    legend_format: "{{label}}".into(),
                    ..Target::default()
                }],
                ..Cell::default()
            };
            c.panel.grid = Some(GridPos { x: (i % 4) * 6, y: (i / 4) * 6, w: 6, h: 6 });
            c
        })
        .collect();
    lookout_dashboard::Dashboard {
        uid: uid.into(),
        title: uid.into(),
        time: TimeRange::absolute(t0, end),
        datasource,
        panels,
        ..lookout_dashboard::Dashboard::default()
    }
}

fn browser(root: &Path, dir: &Path, runs: usize) -> Result<()> {
    web_build(root)?;
    // The script lives beside the page bench and uses its pinned playwright-core.
    crate::tools::npm_ci(&root.join("crates/xtask/peers/web"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let t0 = (now / 7_200_000) * 7_200_000 - 8 * 3_600_000;
    let end = t0 + 6 * 3_600_000;
    let om = dir.join("data.om");
    eprintln!("dashboard-bench: 100 counters × 6 h at 15 s into Prometheus and lookout serve");
    write_openmetrics(&om, &crate::notebook_bench::data(t0))?;
    let prom = BackfilledPrometheus::start(
        dir,
        &om,
        &["--web.cors.origin=.*"],
        ("count(bench_gauge)", end, "1000"),
    )?;
    let lookout = target_dir(root).join("release/lookout");
    let data = dir.join("browser-data");
    let dist = root.join("dist");
    let server = start_lookout(
        &lookout,
        [
            OsStr::new("--retention-hours"),
            OsStr::new("48"),
            OsStr::new("--backfill"),
            om.as_os_str(),
            OsStr::new("--static-dir"),
            dist.as_os_str(),
            OsStr::new("--data-dir"),
            data.as_os_str(),
        ],
    );
    let result = (|| -> Result<()> {
        let store = lookout_store::DashboardStore::open(data.join("dashboards"))?;
        let ours = hundred_panels(
            "bench-lookout",
            lookout_dashboard::DataSourceRef::Server,
            t0,
            end,
        );
        let theirs = hundred_panels(
            "bench-prometheus",
            lookout_dashboard::DataSourceRef::Remote {
                url: prom.url.clone(),
            },
            t0,
            end,
        );
        store.put("bench-lookout", ours)?;
        store.put("bench-prometheus", theirs)?;
        let out = Command::new("node")
            .arg(root.join("crates/xtask/peers/web/dashboard-bench.mjs"))
            .arg(format!("{}/", server.url()))
            .arg(runs.to_string())
            .args(["bench-lookout", "bench-prometheus"])
            .output()
            .context("node")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(text.trim()).with_context(|| {
            format!(
                "dashboard-bench.mjs printed no JSON: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        if let Some(f) = v.get("failure") {
            bail!("dashboard-bench.mjs: {f}");
        }
        let med = |path: &[&str]| -> f64 {
            let mut x = &v;
            for p in path {
                x = &x[*p];
            }
            let xs: Vec<f64> = x
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default();
            if xs.is_empty() { f64::NAN } else { median(xs) }
        };
        let (l, p) = (
            med(&["bench-lookout", "open_to_drawn_ms"]),
            med(&["bench-prometheus", "open_to_drawn_ms"]),
        );
        println!(
            "\n| 100 time series panels, 10 series × 6 h each | Lookout (this server) | Prometheus 2.42 (remote, CORS) | ratio |\n|---|---|---|---|\n| dashboard opened → every panel drawn (median of {runs}) | {l:.0} ms | {p:.0} ms | {:.2} |",
            l / p
        );
        println!(
            "\n| in the page | median of {runs} |\n|---|---|\n| edit → saved in IndexedDB and on the server (150 ms of quiet included) | {:.0} ms |",
            med(&["save_ms"])
        );
        Ok(())
    })();
    server.stop();
    drop(prom);
    result
}

/// What `lookout_store::write_atomic` does, by hand: the floor of a durable save.
fn durable_write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The cost of starting curl and one request, to take out of the PUT's time.
fn curl_overhead(url: &str, runs: usize) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let s = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", url])
            .status()?;
        v.push(t.elapsed().as_secs_f64());
        if !s.success() {
            bail!("curl {url} failed");
        }
    }
    Ok(v)
}

fn wasm_times(root: &Path) -> Result<Vec<(String, f64)>> {
    let lines = crate::promql_bench::browser_bench_lines(
        root,
        &wasm_target_dir(root),
        "crates/grafana",
        "browser_bench",
    )?;
    Ok(lines
        .iter()
        .filter_map(|rest| {
            let (k, v) = rest.split_once('|')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect())
}
