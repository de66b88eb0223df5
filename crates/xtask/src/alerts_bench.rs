//! `cargo xtask alerts-bench [SECONDS]`: 1,000 alert rules evaluated every 10 s by `lookout
//! serve` against its own store — the CPU share of one core (issue 14's goal: < 10 %) and the
//! memory — against Prometheus 2.42 evaluating the same 1,000 rules (exported by `lookout
//! alerts export --prometheus`'s translation) every 10 s over the same samples, each measured
//! alone for SECONDS (default 60) after a 20 s warm-up.
//!
//! The rules: 100 dashboards × 10 panels, each "max() of the last 5 minutes of
//! `sum by (label) (rate(prediction_value_total{instance=…}[1m]))` above a threshold, for 1 m"
//! over 10 instances × 10 labels of counters at 15 s for the last hour (backfilled; the
//! thresholds make about half of them fire).

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use lookout_promql::Labels;

use crate::bench::{cpu_seconds, resident_bytes};
use crate::build::build_lookout;
use crate::notebook_bench::LABELS;
use crate::promql_bench::{BackfilledPrometheus, get_json, write_openmetrics};
use crate::tools::target_dir;

fn data(end: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    let mut x: u64 = 7;
    let mut rnd = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    let start = end - 3_600_000;
    for i in 0..10 {
        for label in LABELS {
            let l = Labels::from_pairs(&[
                ("__name__", "prediction_value_total"),
                ("job", "lookout"),
                ("instance", &format!("native-{i:08x}")),
                ("label", label),
            ]);
            let mut v = 0.0;
            let pts = (0..=240)
                .map(|k| {
                    v += (rnd() * 12.0).floor();
                    (start + k * 15_000, v)
                })
                .collect();
            out.push((l, pts));
        }
    }
    out
}

/// 100 dashboards of 10 panels, each with a rule.
fn dashboards() -> Result<Vec<lookout_dashboard::Dashboard>> {
    use lookout_dashboard::{Cell, Dashboard, DataSourceRef, GridPos, Target};
    let mut out = Vec::new();
    for d in 0..100u32 {
        let mut panels = Vec::new();
        for p in 0..10u32 {
            let mut cell = Cell {
                id: u64::from(p) + 1,
                title: format!("Panel {p}"),
                datasource: DataSourceRef::Dashboard,
                targets: vec![Target {
                    expr: format!(
                        "sum by (label) (rate(prediction_value_total{{instance=\"native-{:08x}\"}}[1m]))",
                        (d + p) % 10
                    ),
                    ..Target::default()
                }],
                ..Cell::default()
            };
            cell.panel.grid = Some(GridPos {
                x: (p % 2) * 12,
                y: (p / 2) * 8,
                w: 12,
                h: 8,
            });
            let rule = lookout_alerts::AlertRule::from_value(&serde_json::json!({
                "name": format!("rule {d}-{p}"),
                "frequency": "10s",
                "for": "1m",
                "conditions": [{
                    "type": "query",
                    "query": {"params": ["A", "5m", "now"]},
                    "reducer": {"type": "max", "params": []},
                    "evaluator": {"type": "gt", "params": [0.38 + 0.001 * f64::from(p)]},
                    "operator": {"type": "and"}
                }]
            }))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            lookout_alerts::set_rule(&mut cell, &rule);
            panels.push(cell);
        }
        out.push(Dashboard {
            uid: format!("bench-{d:03}"),
            title: format!("Bench {d}"),
            datasource: DataSourceRef::Server,
            panels,
            ..Dashboard::default()
        });
    }
    Ok(out)
}

/// CPU seconds (user + system) and resident memory (bytes) of a process, from /proc.
fn usage(pid: u32) -> Result<(f64, u64)> {
    Ok((cpu_seconds(pid)?, resident_bytes(pid)))
}

fn measure(pid: u32, seconds: u64) -> Result<(f64, u64)> {
    // Fixed on purpose: a warm-up, then the measured window (nothing to poll for).
    std::thread::sleep(Duration::from_secs(20));
    let (c0, _) = usage(pid)?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (c1, rss) = usage(pid)?;
    Ok(((c1 - c0) / t0.elapsed().as_secs_f64(), rss))
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let seconds: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(60)
        .max(10);
    let lookout = build_lookout(root)?;
    let dir = target_dir(root).join("alerts-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let end = now / 15_000 * 15_000;
    let om = dir.join("data.om");
    write_openmetrics(&om, &data(end))?;
    let dashboards = dashboards()?;

    // Lookout: the dashboards in its data folder, the samples backfilled.
    let data_dir = dir.join("data");
    let store = lookout_store::DashboardStore::open(data_dir.join("dashboards"))?;
    for d in &dashboards {
        store.put(&d.uid, d.clone())?;
    }
    let server = lookout_testkit::start_lookout(
        &lookout,
        [
            OsStr::new("--retention-hours"),
            OsStr::new("4"),
            OsStr::new("--backfill"),
            om.as_os_str(),
            OsStr::new("--data-dir"),
            data_dir.as_os_str(),
        ],
    );
    let ours = (|| -> Result<(f64, u64, usize, usize)> {
        let url = format!("{}/api/alerts", server.url());
        let start = Instant::now();
        let (rules, firing) = loop {
            let v = get_json(&url)?;
            let list = v["rules"].as_array().cloned().unwrap_or_default();
            let evaluated = list.iter().filter(|r| r["lastEvalMs"].is_number()).count();
            if list.len() == 1000 && evaluated == 1000 {
                let active = list
                    .iter()
                    .filter(|r| matches!(r["state"].as_str(), Some("pending" | "alerting")))
                    .count();
                break (list.len(), active);
            }
            if start.elapsed() > Duration::from_secs(120) {
                bail!(
                    "the server did not evaluate 1,000 rules: {} listed, {evaluated} evaluated",
                    list.len()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        eprintln!(
            "alerts-bench: lookout serve evaluates {rules} rules ({firing} pending or alerting); measuring {seconds} s"
        );
        let (share, rss) = measure(server.pid(), seconds)?;
        Ok((share, rss, rules, firing))
    })();
    server.stop();
    let (share, rss, _, firing) = ours?;

    // Prometheus: the same rules, translated, every 10 s over the same samples.
    let mut groups = Vec::new();
    for d in &dashboards {
        let e = lookout_alerts::prometheus::export_dashboard(d, &Default::default());
        if e.notes.iter().any(|n| n.skipped) {
            bail!("a bench rule did not translate: {:?}", e.notes);
        }
        groups.extend(e.groups);
    }
    let rules_file = dir.join("rules.yml");
    std::fs::write(&rules_file, lookout_alerts::prometheus::to_yaml(&groups))?;
    let prom_dir = dir.join("prometheus");
    std::fs::create_dir_all(&prom_dir)?;
    let prom = BackfilledPrometheus::start_with_config(
        &prom_dir,
        &om,
        &[],
        ("count(prediction_value_total)", end, "100"),
        &format!(
            "global:\n  evaluation_interval: 10s\nrule_files: [\"{}\"]\nscrape_configs: []\n",
            rules_file.display()
        ),
    )?;
    // Every rule evaluated at least once (Prometheus' own `lastEvaluation`), as on Lookout's
    // side above.
    let start = Instant::now();
    loop {
        let v = get_json(&format!("{}/api/v1/rules", prom.url))?;
        let rules: Vec<&serde_json::Value> = v["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let evaluated = rules
            .iter()
            .filter(|r| {
                r["lastEvaluation"]
                    .as_str()
                    .is_some_and(|t| !t.starts_with("0001-"))
            })
            .count();
        if rules.len() == 1000 && evaluated == 1000 {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            bail!(
                "Prometheus did not evaluate 1,000 rules: {} loaded, {evaluated} evaluated",
                rules.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let active = get_json(&format!("{}/api/v1/alerts", prom.url))?["data"]["alerts"]
        .as_array()
        .map_or(0, Vec::len);
    eprintln!(
        "alerts-bench: Prometheus evaluates the same rules ({active} alert instances active); measuring {seconds} s"
    );
    let (pshare, prss) = measure(prom.pid(), seconds)?;
    drop(prom);
    println!(
        "| 1,000 rules every 10 s, {seconds} s after a 20 s warm-up | CPU, share of one core | resident memory |\n|---|---|---|\n| lookout serve (its own store; {firing} rules pending or alerting) | {:.1} % | {:.0} MB |\n| Prometheus 2.42 (the rules translated; {active} alert instances) | {:.1} % | {:.0} MB |",
        share * 100.0,
        rss as f64 / 1e6,
        pshare * 100.0,
        prss as f64 / 1e6
    );
    Ok(())
}
