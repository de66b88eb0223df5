#![cfg(not(target_arch = "wasm32"))]
//! Hostile alert rules: the legacy alerts of a real Grafana export and Lookout's own rules,
//! their JSON values swapped for hostile ones (`lookout-hostile`), read as rules. What reads
//! must write back and read again the same, describe itself, and go through the Prometheus
//! export; what does not read is a typed error. `FUZZ_CASES` sets the count (FUZZING.md).

use lookout_alerts::AlertRule;
use lookout_alerts::prometheus::export_dashboard;
use lookout_dashboard::{Cell, Dashboard, Target};
use lookout_hostile::{Tally, mutated_json};
use proptest::prelude::*;
use serde_json::{Value, json};

fn seeds() -> Vec<Value> {
    let path = format!(
        "{}/../grafana/testdata/grafana/tikv-pd-schema18-legacy-alerts.json",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
    );
    let mut out = vec![json!({
        "name": "P90 inference time", "message": "slow", "frequency": "1m", "for": "5m",
        "noDataState": "no_data", "executionErrorState": "alerting",
        "alertRuleTags": {"team": "ml"}, "notifications": [{"uid": "hook"}, {"id": 3}],
        "conditions": [
            {"type": "query", "query": {"params": ["A", "5m", "now"]},
             "reducer": {"type": "max", "params": []},
             "evaluator": {"type": "gt", "params": [0.0042]}, "operator": {"type": "and"}},
            {"type": "query", "query": {"params": ["A", "10m", "now-1m"]},
             "reducer": {"type": "percent_diff"},
             "evaluator": {"type": "within_range", "params": [1, 5]}, "operator": {"type": "or"}}
        ]
    })];
    if let Ok(text) = std::fs::read_to_string(path)
        && let Ok(doc) = serde_json::from_str::<Value>(&text)
    {
        collect(&doc, &mut out);
    }
    out
}

fn collect(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(a) = m.get("alert") {
                out.push(a.clone());
            }
            m.values().for_each(|c| collect(c, out));
        }
        Value::Array(list) => list.iter().for_each(|c| collect(c, out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(lookout_hostile::config(500))]

    #[test]
    fn hostile_rules_never_panic(alert in mutated_json(seeds(), 5)) {
        static T: Tally = Tally::new("hostile_rules_never_panic");
        let parsed = AlertRule::from_value(&alert);
        T.record(parsed.is_ok());
        match parsed {
            Ok(rule) => {
                // Written back, it reads again, and writing that gives the same JSON (the
                // first write may normalise: a reducer's missing `params` becomes `[]`).
                let written = rule.to_value();
                let again = AlertRule::from_value(&written);
                prop_assert!(again.is_ok(), "{written} does not read back: {again:?}");
                let again = again.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(again.to_value(), written.clone());
                prop_assert_eq!(&again.conditions.len(), &rule.conditions.len());
                prop_assert_eq!(again.frequency_ms(), rule.frequency_ms());
                prop_assert_eq!(again.for_ms(), rule.for_ms());
                for c in &rule.conditions {
                    let _ = c.describe();
                }
                let mut cell = Cell {
                    id: 1,
                    title: "fuzz".into(),
                    targets: vec![Target { ref_id: "A".into(), expr: "up".into(), ..Target::default() }],
                    alert: Some(written),
                    ..Cell::default()
                };
                cell.panel.grid = None;
                let d = Dashboard { uid: "fuzz".into(), title: "fuzz".into(), panels: vec![cell], ..Dashboard::default() };
                let e = export_dashboard(&d, &Default::default());
                let _ = lookout_alerts::prometheus::to_yaml(&e.groups);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
