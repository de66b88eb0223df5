//! Evaluating a rule once: each condition's query run over its own time range, each series
//! reduced and compared, the conditions chained.
//!
//! - The query (`conditions/query.go`, `QueryCondition.Eval`): the panel's target with the
//!   condition's refId — run even when the target is hidden, as Grafana runs it — as a range
//!   query over `[now - from, now - to]`, ignoring the panel's relative time and time shift.
//!   Template variables are substituted first (`variables::apply_to_cell`); the step is what
//!   [`plan_cell`] computes for that range with Grafana's backend resolution of 1500 points
//!   (`pkg/tsdb/interval.go`, `defaultRes`) unless the target sets max data points, raised to
//!   the scrape interval. Points are the ones the source answered (no gap filling).
//! - Per series: the reducer ([`crate::reduce`]), then the evaluator. A series reducing to
//!   null counts as empty. The condition fires when any series matches; it has no data when
//!   every series is empty, or when there is no series at all — then the evaluator sees a null
//!   value, so `no_value` fires with a `NoData` match, as Grafana's "no series special case".
//! - Chaining (`eval_handler.go`): the first condition's result, then each condition (the
//!   first included) combined with `and`/`or` into both firing and no data, left to right,
//!   without precedence; a failing query stops the chain and makes the result an error.
//!   `condition_evals` is Grafana's trace (`[true AND false] = false`).
//!
//! Series are named as the panel names them (legend format, else Prometheus' notation) and
//! carry their labels as tags. For per-series rules ([`crate::AlertRule::per_series`]), each
//! series (by its labels) gets an [`Instance`]: its own match in each condition that returned
//! it, the condition's overall result where the condition did not, chained the same way.

use std::collections::BTreeMap;

use lookout_dashboard::legend;
use lookout_dashboard::run::plan_cell;
use lookout_dashboard::variables::{Variable, apply_to_cell};
use lookout_dashboard::{Cell, PanelKind};
use lookout_datasource::{QuerySource, RangeQuery};
use lookout_promql::Labels;
use lookout_promql::value::QueryData;
use serde::{Deserialize, Serialize};

use crate::reduce::reduce;
use crate::rule::{AlertRule, Condition, Operator};

/// Grafana's backend resolution for alert queries (`pkg/tsdb/interval.go`).
pub const ALERT_MAX_DATA_POINTS: u32 = 1500;

/// How queries are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalOptions {
    /// The data source's scrape interval (the smallest step); `None` = 15 s.
    pub scrape_interval_ms: Option<i64>,
    /// Points per series when the target sets none.
    pub max_data_points: u32,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            scrape_interval_ms: None,
            max_data_points: ALERT_MAX_DATA_POINTS,
        }
    }
}

/// A series that matched (Grafana's `EvalMatch`, in its JSON shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMatch {
    /// The reduced value; null for the `NoData` match.
    pub value: Option<f64>,
    /// The series' name.
    pub metric: String,
    /// The series' labels.
    pub tags: BTreeMap<String, String>,
}

/// One series of a condition, matched or not (for the page's "test rule" view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesResult {
    pub metric: String,
    pub labels: BTreeMap<String, String>,
    /// How many points the source answered.
    pub points: usize,
    pub value: Option<f64>,
    pub matched: bool,
}

/// One condition's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionResult {
    pub index: usize,
    pub ref_id: String,
    /// `max() OF query(A, 5m, now) IS ABOVE 0.0042`.
    pub description: String,
    pub operator: Operator,
    pub firing: bool,
    pub no_data: bool,
    pub matches: Vec<EvalMatch>,
    pub series: Vec<SeriesResult>,
    /// The query as sent (variables substituted), when it got that far.
    pub query: Option<String>,
    /// The range asked for (epoch ms).
    pub range_ms: (i64, i64),
    /// The range query's step.
    pub step_ms: Option<i64>,
    pub error: Option<String>,
}

/// One series of a per-series rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// Its labels in Prometheus' notation (`{job="model", le="…"}`): the instance's key.
    pub key: String,
    pub labels: BTreeMap<String, String>,
    pub metric: String,
    pub firing: bool,
    /// Its reduced value in the first condition that returned it.
    pub value: Option<f64>,
    pub matches: Vec<EvalMatch>,
}

/// A rule's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalResult {
    pub time_ms: i64,
    pub firing: bool,
    pub no_data: bool,
    /// A query that failed (the chain stopped there); firing and no data are then false.
    pub error: Option<String>,
    /// Every condition's matches, in order.
    pub matches: Vec<EvalMatch>,
    /// Grafana's trace: `true`, `[true AND false] = false`.
    pub condition_evals: String,
    pub conditions: Vec<ConditionResult>,
    /// Per series (see the module docs); empty after an error.
    pub instances: Vec<Instance>,
}

impl EvalResult {
    /// A result for a rule that could not run at all (an invalid rule, no source): an
    /// execution error for the state machine.
    pub fn failed(time_ms: i64, error: impl Into<String>) -> Self {
        Self {
            time_ms,
            firing: false,
            no_data: false,
            error: Some(error.into()),
            matches: Vec::new(),
            condition_evals: String::new(),
            conditions: Vec::new(),
            instances: Vec::new(),
        }
    }
}

/// Evaluates `rule` on its panel `cell` at `now_ms`, with the dashboard's `variables`,
/// through `source` (the source the panel's queries go to).
pub async fn evaluate<S: QuerySource>(
    rule: &AlertRule,
    cell: &Cell,
    variables: &[Variable],
    source: &S,
    now_ms: i64,
) -> EvalResult {
    evaluate_with(
        rule,
        cell,
        variables,
        source,
        now_ms,
        &EvalOptions::default(),
    )
    .await
}

/// [`evaluate`] with the scrape interval and resolution given.
pub async fn evaluate_with<S: QuerySource>(
    rule: &AlertRule,
    cell: &Cell,
    variables: &[Variable],
    source: &S,
    now_ms: i64,
    options: &EvalOptions,
) -> EvalResult {
    let cell = apply_to_cell(cell, variables);
    let mut firing = true;
    let mut no_data = true;
    let mut error = None;
    let mut evals = String::new();
    let mut matches = Vec::new();
    let mut conditions = Vec::new();
    for (i, c) in rule.conditions.iter().enumerate() {
        let cr = eval_condition(i, c, &cell, source, now_ms, options).await;
        if let Some(e) = &cr.error {
            error = Some(format!("condition {} ({}): {e}", i + 1, c.ref_id));
            conditions.push(cr);
            break;
        }
        if i == 0 {
            firing = cr.firing;
            no_data = cr.no_data;
        }
        match c.operator {
            Operator::Or => {
                firing = firing || cr.firing;
                no_data = no_data || cr.no_data;
            }
            Operator::And => {
                firing = firing && cr.firing;
                no_data = no_data && cr.no_data;
            }
        }
        evals = if i > 0 {
            format!(
                "[{evals} {} {}]",
                c.operator.as_str().to_uppercase(),
                cr.firing
            )
        } else {
            firing.to_string()
        };
        matches.extend(cr.matches.iter().cloned());
        conditions.push(cr);
    }
    if error.is_some() {
        firing = false;
        no_data = false;
    }
    let instances = if error.is_none() {
        instances(rule, &conditions)
    } else {
        Vec::new()
    };
    EvalResult {
        time_ms: now_ms,
        firing,
        no_data,
        error,
        matches,
        condition_evals: format!("{evals} = {firing}"),
        conditions,
        instances,
    }
}

/// `{a="b", c="d"}` of a label map, `{}` when empty: an instance's key.
pub fn labels_key(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", lookout_datasource::quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

fn instances(rule: &AlertRule, conditions: &[ConditionResult]) -> Vec<Instance> {
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, Instance> = BTreeMap::new();
    for cr in conditions {
        for s in &cr.series {
            let key = labels_key(&s.labels);
            if !by_key.contains_key(&key) {
                order.push(key.clone());
                by_key.insert(
                    key.clone(),
                    Instance {
                        key: key.clone(),
                        labels: s.labels.clone(),
                        metric: s.metric.clone(),
                        firing: false,
                        value: s.value,
                        matches: Vec::new(),
                    },
                );
            }
        }
    }
    let mut out = Vec::new();
    for key in order {
        let Some(mut inst) = by_key.remove(&key) else {
            continue;
        };
        let mut any_value = false;
        let mut firing = false;
        for (i, (cr, c)) in conditions.iter().zip(&rule.conditions).enumerate() {
            let own = cr.series.iter().find(|s| labels_key(&s.labels) == key);
            let this = match own {
                Some(s) => {
                    any_value |= s.value.is_some();
                    if inst.value.is_none() {
                        inst.value = s.value;
                    }
                    if s.matched {
                        inst.matches.push(EvalMatch {
                            value: s.value,
                            metric: s.metric.clone(),
                            tags: s.labels.clone(),
                        });
                    }
                    s.matched
                }
                None => cr.firing,
            };
            if i == 0 {
                firing = this;
            }
            firing = match c.operator {
                Operator::Or => firing || this,
                Operator::And => firing && this,
            };
        }
        if any_value {
            inst.firing = firing;
            out.push(inst);
        }
    }
    out
}

async fn eval_condition<S: QuerySource>(
    index: usize,
    c: &Condition,
    cell: &Cell,
    source: &S,
    now_ms: i64,
    options: &EvalOptions,
) -> ConditionResult {
    let range_ms = (now_ms - c.from.ms, now_ms - c.to.ms);
    let mut out = ConditionResult {
        index,
        ref_id: c.ref_id.clone(),
        description: c.describe(),
        operator: c.operator,
        firing: false,
        no_data: false,
        matches: Vec::new(),
        series: Vec::new(),
        query: None,
        range_ms,
        step_ms: None,
        error: None,
    };
    let Some(target) = cell.targets.iter().find(|t| t.ref_id == c.ref_id) else {
        out.error = Some(format!("the panel has no query {:?}", c.ref_id));
        return out;
    };
    if target.expr.trim().is_empty() {
        out.error = Some(format!("query {:?} is empty", c.ref_id));
        return out;
    }
    let mut one = cell.clone();
    let mut t = target.clone();
    t.hide = false;
    t.instant = false;
    t.range = true;
    one.targets = vec![t];
    one.panel.relative_time = None;
    one.panel.time_shift = None;
    one.panel.kind = PanelKind::TimeSeries;
    let planned = match plan_cell(
        &one,
        range_ms,
        now_ms,
        Some(options.max_data_points),
        options.scrape_interval_ms,
    ) {
        Ok(p) => p,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let Some(q) = planned.into_iter().next() else {
        out.error = Some(format!("query {:?} could not be planned", c.ref_id));
        return out;
    };
    out.query = Some(q.expr.clone());
    let Some(grid) = q.grid else {
        out.error = Some(format!("query {:?} is not a range query", c.ref_id));
        return out;
    };
    out.step_ms = Some(grid.step_ms);
    let answer = source
        .range(&RangeQuery {
            query: q.expr.clone(),
            start_ms: grid.start_ms,
            end_ms: grid.end_ms,
            step_ms: grid.step_ms,
        })
        .await;
    let series: Vec<(Labels, Vec<Option<f64>>)> = match answer {
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
        Ok(QueryData::Matrix(m)) => m
            .into_iter()
            .map(|s| (s.metric, s.values.iter().map(|p| Some(p.value())).collect()))
            .collect(),
        Ok(QueryData::Vector(v)) => v
            .into_iter()
            .map(|s| (s.metric, vec![Some(s.value.value())]))
            .collect(),
        Ok(QueryData::Scalar(p)) => vec![(Labels::default(), vec![Some(p.value())])],
        Ok(QueryData::String(_)) => {
            out.error = Some("a string result cannot be reduced".to_string());
            return out;
        }
    };
    let single = legend::single_label_name(series.iter().map(|(l, _)| l));
    let mut empty = 0;
    for (labels, points) in &series {
        let value = reduce(c.reducer, points);
        let matched = c.evaluator.matches(value);
        if value.is_none() {
            empty += 1;
        }
        let metric = legend::series_name(&target.legend_format, labels, &q.expr, single.as_deref());
        let tags: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if matched {
            out.matches.push(EvalMatch {
                value,
                metric: metric.clone(),
                tags: tags.clone(),
            });
        }
        out.series.push(SeriesResult {
            metric,
            labels: tags,
            points: points.len(),
            value,
            matched,
        });
    }
    if series.is_empty() && c.evaluator.matches(None) {
        out.matches.push(EvalMatch {
            value: None,
            metric: "NoData".to_string(),
            tags: BTreeMap::new(),
        });
    }
    out.firing = !out.matches.is_empty();
    out.no_data = empty == series.len();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{EvaluatorKind, ReducerKind};
    use crate::testutil::{Fake, matrix};
    use lookout_dashboard::Target;
    use lookout_datasource::{SourceError, block_on_ready};
    use serde_json::json;

    const NOW: i64 = 1_700_000_040_000;

    fn cell(targets: &[(&str, &str, bool)]) -> Cell {
        Cell {
            id: 5,
            targets: targets
                .iter()
                .map(|(r, e, hide)| Target {
                    ref_id: r.to_string(),
                    expr: e.to_string(),
                    legend_format: "{{job}}".into(),
                    hide: *hide,
                    ..Target::default()
                })
                .collect(),
            ..Cell::default()
        }
    }

    fn rule(conditions: serde_json::Value) -> AlertRule {
        AlertRule::from_value(&json!({"name": "r", "conditions": conditions})).unwrap()
    }

    fn cond(r: &str, reducer: &str, eval: &str, params: &[f64], op: &str) -> serde_json::Value {
        json!({"type": "query", "query": {"params": [r, "5m", "now"]},
               "reducer": {"type": reducer, "params": []},
               "evaluator": {"type": eval, "params": params},
               "operator": {"type": op}})
    }

    fn run(rule: &AlertRule, cell: &Cell, src: &Fake) -> EvalResult {
        block_on_ready(evaluate(rule, cell, &[], src, NOW))
    }

    #[test]
    fn a_condition_fires_when_any_series_matches() {
        let src = Fake::default().with(
            "up_a",
            Ok(matrix(&[
                (&[("job", "a")], &[Some(1.0), Some(5.0)]),
                (&[("job", "b")], &[Some(1.0), Some(2.0)]),
            ])),
        );
        let r = rule(json!([cond("A", "max", "gt", &[3.0], "and")]));
        let res = run(&r, &cell(&[("A", "up_a", false)]), &src);
        assert!(res.firing && !res.no_data && res.error.is_none(), "{res:?}");
        assert_eq!(
            res.matches,
            vec![EvalMatch {
                value: Some(5.0),
                metric: "a".into(),
                tags: [("job".to_string(), "a".to_string())].into()
            }]
        );
        assert_eq!(res.conditions[0].series.len(), 2);
        assert!(!res.conditions[0].series[1].matched);
        assert_eq!(res.condition_evals, "true = true");
        // The range: the condition's, step raised to the scrape interval.
        let asked = src.asked.borrow();
        assert_eq!(asked[0].end_ms, NOW);
        assert_eq!(asked[0].start_ms, NOW - 300_000);
        assert_eq!(asked[0].step_ms, 15_000);
        assert_eq!(res.conditions[0].range_ms, (NOW - 300_000, NOW));
        assert_eq!(
            res.conditions[0].description,
            "max() OF query(A, 5m, now) IS ABOVE 3"
        );
    }

    #[test]
    fn hidden_targets_run_and_panel_time_overrides_do_not_apply() {
        let src = Fake::default().with("hidden", Ok(matrix(&[(&[], &[Some(9.0)])])));
        let mut c = cell(&[("A", "visible", false), ("B", "hidden", true)]);
        c.panel.relative_time = Some("1h".into());
        c.panel.time_shift = Some("1d".into());
        let r = rule(json!([cond("B", "last", "gt", &[1.0], "and")]));
        let res = run(&r, &c, &src);
        assert!(res.firing, "{res:?}");
        // No labels: named by the query.
        assert_eq!(res.matches[0].metric, "hidden");
        assert_eq!(src.asked.borrow()[0].end_ms, NOW);
    }

    #[test]
    fn no_series_and_all_null_series_are_no_data() {
        let src = Fake::default()
            .with("nulls", Ok(matrix(&[(&[("job", "a")], &[None, None])])))
            .with("empty", Ok(matrix(&[])));
        let c = cell(&[("A", "nulls", false), ("B", "empty", false)]);
        for r in ["A", "B"] {
            let res = run(
                &rule(json!([cond(r, "avg", "gt", &[0.0], "and")])),
                &c,
                &src,
            );
            assert!(res.no_data && !res.firing, "{r}: {res:?}");
        }
        // no_value fires on no series, with Grafana's NoData match.
        let res = run(
            &rule(json!([cond("B", "avg", "no_value", &[], "and")])),
            &c,
            &src,
        );
        assert!(res.firing && res.no_data, "{res:?}");
        assert_eq!(res.matches[0].metric, "NoData");
        assert_eq!(res.matches[0].value, None);
        // …and on a series reducing to null.
        let res = run(
            &rule(json!([cond("A", "avg", "no_value", &[], "and")])),
            &c,
            &src,
        );
        assert!(res.firing && res.no_data, "{res:?}");
        assert_eq!(res.matches[0].metric, "a");
        // count counts null points: never null, so data.
        let res = run(
            &rule(json!([cond("A", "count", "gt", &[1.0], "and")])),
            &c,
            &src,
        );
        assert!(res.firing && !res.no_data, "{res:?}");
    }

    #[test]
    fn conditions_chain_left_to_right() {
        let src = Fake::default()
            .with("hi", Ok(matrix(&[(&[], &[Some(10.0)])])))
            .with("lo", Ok(matrix(&[(&[], &[Some(1.0)])])))
            .with("none", Ok(matrix(&[])));
        let c = cell(&[("A", "hi", false), ("B", "lo", false), ("C", "none", false)]);
        let gt5 = |r: &str, op: &str| cond(r, "last", "gt", &[5.0], op);
        let res = run(&rule(json!([gt5("A", "and"), gt5("B", "and")])), &c, &src);
        assert!(!res.firing);
        assert_eq!(res.condition_evals, "[true AND false] = false");
        let res = run(&rule(json!([gt5("A", "and"), gt5("B", "or")])), &c, &src);
        assert!(res.firing);
        assert_eq!(res.condition_evals, "[true OR false] = true");
        // No precedence: (false OR true) AND false.
        let res = run(
            &rule(json!([gt5("B", "and"), gt5("A", "or"), gt5("B", "and")])),
            &c,
            &src,
        );
        assert!(!res.firing);
        assert_eq!(res.condition_evals, "[[false OR true] AND false] = false");
        // No data combines the same way.
        let res = run(&rule(json!([gt5("C", "and"), gt5("B", "and")])), &c, &src);
        assert!(!res.no_data && !res.firing);
        let res = run(&rule(json!([gt5("C", "and"), gt5("B", "or")])), &c, &src);
        assert!(res.no_data && !res.firing);
        let res = run(&rule(json!([gt5("C", "and"), gt5("C", "and")])), &c, &src);
        assert!(res.no_data);
        // The first condition's operator changes nothing.
        let res = run(&rule(json!([gt5("A", "or")])), &c, &src);
        assert!(res.firing);
    }

    #[test]
    fn a_failing_query_stops_the_chain() {
        let src = Fake::default()
            .with("hi", Ok(matrix(&[(&[], &[Some(10.0)])])))
            .with(
                "bad",
                Err(SourceError::Query {
                    error_type: "bad_data".into(),
                    message: "parse error".into(),
                    position: Some(3),
                }),
            );
        let c = cell(&[("A", "hi", false), ("B", "bad", false)]);
        let res = run(
            &rule(json!([
                cond("A", "last", "gt", &[5.0], "and"),
                cond("B", "last", "gt", &[5.0], "or"),
                cond("A", "last", "gt", &[5.0], "or")
            ])),
            &c,
            &src,
        );
        assert!(!res.firing && !res.no_data);
        let e = res.error.as_deref().unwrap();
        assert!(
            e.contains("condition 2 (B)") && e.contains("parse error"),
            "{e}"
        );
        assert_eq!(res.conditions.len(), 2);
        assert_eq!(src.asked.borrow().len(), 2);
        // A query the panel lacks, and an empty one, are errors too.
        let res = run(
            &rule(json!([cond("Z", "last", "gt", &[5.0], "and")])),
            &c,
            &src,
        );
        assert!(res.error.unwrap().contains("no query \"Z\""));
        let res = run(
            &rule(json!([cond("A", "last", "gt", &[5.0], "and")])),
            &cell(&[("A", "  ", false)]),
            &src,
        );
        assert!(res.error.unwrap().contains("empty"));
    }

    #[test]
    fn variables_are_substituted() {
        let src = Fake::default().with(
            "up{job=\"model\"}",
            Ok(matrix(&[(&[("job", "model")], &[Some(0.0)])])),
        );
        let vars = [Variable {
            name: "job".into(),
            kind: lookout_dashboard::VariableKind::Constant {
                query: "model".into(),
            },
            current: vec!["model".into()],
            options: vec!["model".into()],
            ..Variable::default()
        }];
        let r = rule(json!([cond("A", "last", "lt", &[1.0], "and")]));
        let res = block_on_ready(evaluate(
            &r,
            &cell(&[("A", "up{job=\"$job\"}", false)]),
            &vars,
            &src,
            NOW,
        ));
        assert!(res.firing, "{res:?}");
        assert_eq!(
            res.conditions[0].query.as_deref(),
            Some("up{job=\"model\"}")
        );
    }

    #[test]
    fn per_series_instances() {
        let src = Fake::default()
            .with(
                "lat",
                Ok(matrix(&[
                    (&[("job", "a")], &[Some(9.0)]),
                    (&[("job", "b")], &[Some(1.0)]),
                    (&[("job", "c")], &[None]),
                ])),
            )
            .with("gate", Ok(matrix(&[(&[], &[Some(1.0)])])));
        let c = cell(&[("A", "lat", false), ("B", "gate", false)]);
        let mut r = rule(json!([cond("A", "last", "gt", &[5.0], "and")]));
        r.per_series = true;
        let res = run(&r, &c, &src);
        let keys: Vec<(&str, bool)> = res
            .instances
            .iter()
            .map(|i| (i.key.as_str(), i.firing))
            .collect();
        assert_eq!(keys, [("{job=\"a\"}", true), ("{job=\"b\"}", false)]);
        assert_eq!(res.instances[0].matches.len(), 1);
        // A second condition without the series gates every series with its overall result.
        r.conditions.push(
            AlertRule::from_value(&json!({"conditions": [cond("B", "last", "lt", &[0.0], "and")]}))
                .unwrap()
                .conditions
                .remove(0),
        );
        let res = run(&r, &c, &src);
        assert!(res.instances.iter().all(|i| !i.firing), "{res:?}");
        assert_eq!(r.conditions[1].reducer, ReducerKind::Last);
        assert_eq!(r.conditions[1].evaluator.kind, EvaluatorKind::Lt);
    }

    #[test]
    fn labels_keys() {
        let l: BTreeMap<String, String> = [
            ("job".to_string(), "a\"b".to_string()),
            ("__name__".to_string(), "up".to_string()),
        ]
        .into();
        assert_eq!(labels_key(&l), "{__name__=\"up\", job=\"a\\\"b\"}");
        assert_eq!(labels_key(&BTreeMap::new()), "{}");
    }
}
