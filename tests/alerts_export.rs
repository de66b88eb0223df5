//! `lookout alerts export --prometheus` against Prometheus' own tools: the rules it writes for
//! real Grafana 7 legacy alerts pass `promtool check rules`, and on a scenario with two series
//! `promtool test rules` fires exactly the alerts Lookout's own evaluator (lookout-alerts over
//! the embedded engine, per-series mode) has firing, minute by minute.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::process::Command;
use std::rc::Rc;

use lookout_alerts::{AlertRule, AlertState, RuleState, evaluate, rule_of, set_rule, step_with};
use lookout_dashboard::{Cell, Dashboard, GridPos, Target};
use lookout_datasource::{Embedded, EmbeddedStore, block_on_ready};
use lookout_promql::{Engine, Labels};
use lookout_tests::{TempDir, lookout_bin, tests_dir};

fn lookout(args: &[&str]) -> (bool, String) {
    let out = Command::new(lookout_bin())
        .args(args)
        .output()
        .expect("run lookout");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .expect("promtool (Debian prometheus; cargo xtask setup installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn legacy_alerts_of_a_real_export_pass_promtool() {
    let dir = TempDir::new("alerts-export");
    let export =
        tests_dir().join("../crates/grafana/testdata/grafana/tikv-pd-schema18-legacy-alerts.json");
    let rules = dir.0.join("rules.yml");
    let (ok, report) = lookout(&[
        "alerts",
        "export",
        "--prometheus",
        export.to_str().expect("utf8"),
        "-o",
        rules.to_str().expect("utf8"),
    ]);
    assert!(ok, "{report}");
    assert!(report.contains("wrote 2 rule(s)"), "{report}");
    let (ok, out) = promtool(&["check", "rules", rules.to_str().expect("utf8")]);
    assert!(ok && out.contains("SUCCESS: 2 rules found"), "{out}");
    let text = std::fs::read_to_string(&rules).expect("rules");
    assert!(
        text.contains("max_over_time((sum(pd_regions_status"),
        "{text}"
    );
    assert!(text.contains(") > 100\""), "{text}");
    assert!(
        text.contains("avg_over_time((delta(etcd_disk_wal_fsync_duration_seconds_count"),
        "{text}"
    );
}

const MIN: i64 = 60_000;
/// "minute 0" of the scenario (promtool's starts at the epoch; only differences matter).
const BASE: i64 = 1_699_999_200_000;
const MINUTES: i64 = 45;

/// `load{job}` every minute: `a` is 10 in minutes 10–19, `b` in minutes 25–27, else 0 / 1.
fn value(job: &str, minute: i64) -> f64 {
    match job {
        "a" if (10..20).contains(&minute) => 10.0,
        "b" if (25..28).contains(&minute) => 10.0,
        "a" => 0.0,
        _ => 1.0,
    }
}

/// promtool's `values` notation for one series.
fn values(job: &str) -> String {
    (0..=MINUTES)
        .map(|m| format!("{}", value(job, m)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn promtool_fires_what_lookouts_evaluator_fires() {
    // The rule: max() of the last 2 minutes above 5, for 1 minute, evaluated every minute.
    let rule = AlertRule::from_value(&serde_json::json!({
        "name": "LoadHigh",
        "message": "load above 5",
        "frequency": "1m",
        "for": "1m",
        "alertRuleTags": {"team": "ml"},
        "lookout": {"perSeries": true},
        "conditions": [{
            "type": "query",
            "query": {"params": ["A", "2m", "now"]},
            "reducer": {"type": "max", "params": []},
            "evaluator": {"type": "gt", "params": [5]},
            "operator": {"type": "and"}
        }]
    }))
    .expect("rule");
    assert!(rule.per_series);
    let mut cell = Cell {
        id: 1,
        title: "Load".into(),
        targets: vec![Target {
            expr: "load".into(),
            ..Target::default()
        }],
        ..Cell::default()
    };
    cell.panel.grid = Some(GridPos::default());
    set_rule(&mut cell, &rule);
    let rule = rule_of(&cell).expect("a rule").expect("valid");

    // Lookout's evaluator over the embedded engine, every minute.
    let mut store = EmbeddedStore::default();
    for job in ["a", "b"] {
        let labels = Labels::from_pairs(&[("__name__", "load"), ("job", job)]);
        for m in 0..=MINUTES {
            store
                .storage
                .append(&labels, BASE + m * MIN, value(job, m))
                .expect("append");
        }
    }
    let source = Embedded::new(Rc::new(RefCell::new(store)), Engine::default(), "test");
    let mut state = RuleState::default();
    let mut firing_by_minute: Vec<Vec<String>> = Vec::new();
    for m in 0..=MINUTES {
        let now = BASE + m * MIN;
        let result = block_on_ready(evaluate(&rule, &cell, &[], &source, now));
        assert!(result.error.is_none(), "{result:?}");
        let (next, _, _) = step_with(&rule, &state, &result, now, &[]);
        state = next;
        let mut jobs: Vec<String> = state
            .instances
            .values()
            .filter(|i| i.track.state == AlertState::Alerting)
            .filter_map(|i| i.labels.get("job").cloned())
            .collect();
        jobs.sort();
        firing_by_minute.push(jobs);
    }
    // The scenario does fire, for both series, at different times.
    let minutes_firing = |job: &str| -> Vec<i64> {
        (0..=MINUTES)
            .filter(|m| firing_by_minute[*m as usize].iter().any(|j| j == job))
            .collect()
    };
    assert_eq!(minutes_firing("a"), (11..=21).collect::<Vec<_>>());
    assert_eq!(minutes_firing("b"), (26..=29).collect::<Vec<_>>());

    // The same rule exported, and promtool told to expect exactly those alerts.
    let dir = TempDir::new("alerts-promtool");
    let dashboard = Dashboard {
        uid: "load".into(),
        title: "Load".into(),
        panels: vec![cell],
        ..Dashboard::default()
    };
    let file = dir.0.join("load.json");
    std::fs::write(&file, dashboard.to_json_pretty().expect("json")).expect("write");
    let rules = dir.0.join("rules.yml");
    let (ok, report) = lookout(&[
        "alerts",
        "export",
        "--prometheus",
        file.to_str().expect("utf8"),
        "-o",
        rules.to_str().expect("utf8"),
    ]);
    assert!(ok, "{report}");
    let mut test = String::new();
    let _ = writeln!(
        test,
        "rule_files: [\"rules.yml\"]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:"
    );
    for job in ["a", "b"] {
        let _ = writeln!(
            test,
            "      - series: 'load{{job=\"{job}\"}}'\n        values: '{}'",
            values(job)
        );
    }
    let _ = writeln!(test, "    alert_rule_test:");
    for (m, jobs) in firing_by_minute.iter().enumerate() {
        let _ = writeln!(test, "      - eval_time: {m}m\n        alertname: LoadHigh");
        if jobs.is_empty() {
            let _ = writeln!(test, "        exp_alerts: []");
            continue;
        }
        let _ = writeln!(test, "        exp_alerts:");
        for job in jobs {
            let _ = writeln!(
                test,
                "          - exp_labels: {{job: \"{job}\", team: \"ml\"}}\n            exp_annotations: {{summary: \"load above 5\", dashboard: \"load\", panel: \"Load\"}}"
            );
        }
    }
    let test_file = dir.0.join("test.yml");
    std::fs::write(&test_file, &test).expect("write");
    let (ok, out) = promtool(&["test", "rules", test_file.to_str().expect("utf8")]);
    assert!(
        ok,
        "promtool disagrees with Lookout's evaluator:\n{out}\n--- rules.yml\n{}\n--- test.yml\n{test}",
        std::fs::read_to_string(&rules).unwrap_or_default()
    );
}
