//! The two legacy alerts of a real Grafana export (TiKV's PD dashboard, schema 18) read as
//! rules, and written back as they came.

use lookout_alerts::{
    AlertRule, EvaluatorKind, ExecutionErrorState, NoDataState, Operator, ReducerKind,
};
use serde_json::Value;

fn alerts(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(a) = m.get("alert") {
                out.push(a.clone());
            }
            for (k, child) in m {
                if k != "alert" {
                    alerts(child, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|c| alerts(c, out)),
        _ => {}
    }
}

#[test]
fn tikv_pd_legacy_alerts() {
    let path = format!(
        "{}/../grafana/testdata/grafana/tikv-pd-schema18-legacy-alerts.json",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
    );
    let text = std::fs::read_to_string(path).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut found = Vec::new();
    alerts(&dashboard, &mut found);
    assert_eq!(found.len(), 2);
    let rules: Vec<AlertRule> = found
        .iter()
        .map(|a| AlertRule::from_value(a).unwrap())
        .collect();

    let region = rules
        .iter()
        .find(|r| r.name == "region health alert")
        .unwrap();
    assert_eq!(region.message, "Regions are unhealthy");
    assert_eq!(region.frequency_ms(), 60_000);
    assert_eq!(region.for_ms(), 0);
    assert_eq!(region.no_data_state, NoDataState::KeepState);
    assert_eq!(region.execution_error_state, ExecutionErrorState::Alerting);
    assert_eq!(region.handler, Some(1));
    assert!(region.notifications.is_empty());
    let c = &region.conditions[0];
    assert_eq!(c.ref_id, "B");
    assert_eq!((c.from.ms, c.to.ms), (60_000, 0));
    assert_eq!(c.reducer, ReducerKind::Max);
    assert_eq!(c.evaluator.kind, EvaluatorKind::Gt);
    assert_eq!(c.evaluator.params, vec![100.0]);
    assert_eq!(c.operator, Operator::And);
    assert_eq!(c.describe(), "max() OF query(B, 1m, now) IS ABOVE 100");

    let fsync = rules.iter().find(|r| r.name == "etcd disk fsync").unwrap();
    assert_eq!(fsync.no_data_state, NoDataState::Ok);
    assert_eq!(fsync.execution_error_state, ExecutionErrorState::Alerting);
    let c = &fsync.conditions[0];
    assert_eq!(c.ref_id, "A");
    assert_eq!(c.reducer, ReducerKind::Avg);
    assert_eq!(c.evaluator.kind, EvaluatorKind::Lt);
    assert_eq!(c.evaluator.params, vec![0.1]);
    assert_eq!(c.describe(), "avg() OF query(A, 1m, now) IS BELOW 0.1");
    // The query's model and datasourceId Grafana stored travel along.
    assert_eq!(c.raw["query"]["datasourceId"], serde_json::json!(1));

    // Export writes back what came in.
    for (rule, original) in rules.iter().zip(&found) {
        assert_eq!(&rule.to_value(), original);
    }
}
