//! Lookout (Grafana 7) alert rules as Prometheus alerting rules, for every rule PromQL can
//! express; the others are reported with the reason.
//!
//! A condition `REDUCER() OF query(A, FROM, TO) EVALUATOR` becomes the reducer's
//! `*_over_time` over a subquery of the target's expression with the step Lookout's own
//! evaluation uses (`plan_cell` with 1500 points at most, at least the scrape interval), then
//! the evaluator as a comparison filter:
//!
//! | Lookout | PromQL |
//! |---|---|
//! | `avg sum min max last` | `avg_over_time sum_over_time min_over_time max_over_time last_over_time` |
//! | `median` | `quantile_over_time(0.5, …)` |
//! | `count_non_null` | `count_over_time` (a subquery holds only the steps that have a value) |
//! | `FROM`, `TO` | `(expr)[FROM−TO:step]` and `offset TO` when `TO` is not `now` |
//! | `gt X`, `lt X` | `… > X`, `… < X` |
//! | `within_range A B` | `(… > min) < max` |
//! | `outside_range A B` | `(… < min) or (… > max)` |
//! | cond1 `and` cond2 | `(cond1) and on() (cond2)` (fires with cond1's series while cond2 has any) |
//! | cond1 `or` cond2 | `(cond1) or (cond2)` |
//! | `for`, `frequency` | `for`, the group's `interval` |
//! | tags, message | labels, annotations (`summary`; `dashboard`, `panel`) |
//!
//! Not expressible, reported: `count` (Grafana counts the empty steps too), `diff`,
//! `diff_abs`, `percent_diff`, `percent_diff_abs` (Prometheus 2.42 has no first value over a
//! range), `no_value` (an absent series has no labels to alert on). A rule's no-data handling
//! has no Prometheus counterpart (a rule without series does not fire) and is noted when it
//! would alert. Prometheus alerts per series, as Lookout's per-series mode does.
//!
//! The YAML is written by hand with every string in double quotes (JSON's escapes are YAML's),
//! so no value can change the document's structure.

use std::collections::BTreeMap;

use lookout_dashboard::model::PanelKind;
use lookout_dashboard::run::plan_cell;
use lookout_dashboard::variables::apply_to_cell;
use lookout_dashboard::{Cell, Dashboard};

use crate::duration::format_duration;
use crate::eval::ALERT_MAX_DATA_POINTS;
use crate::rule::{AlertRule, Condition, EvaluatorKind, NoDataState, Operator, ReducerKind};

/// One Prometheus alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct PromRule {
    /// `alert:`.
    pub alert: String,
    /// `expr:`.
    pub expr: String,
    /// `for:` in milliseconds.
    pub for_ms: i64,
    /// `labels:`.
    pub labels: BTreeMap<String, String>,
    /// `annotations:`.
    pub annotations: BTreeMap<String, String>,
}

/// A group of rules evaluated at one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct PromGroup {
    /// `name:` (unique in the file).
    pub name: String,
    /// `interval:` in milliseconds.
    pub interval_ms: i64,
    /// The rules.
    pub rules: Vec<PromRule>,
}

/// A rule that was not exported, or exported with a difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportNote {
    /// `dashboard uid / panel "title" / rule name`.
    pub place: String,
    /// Why.
    pub message: String,
    /// Whether the rule was left out (else exported, with this difference).
    pub skipped: bool,
}

/// The rules of some dashboards as Prometheus rule groups, with what could not be expressed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromExport {
    /// One group per dashboard and evaluation interval.
    pub groups: Vec<PromGroup>,
    /// What was left out or differs.
    pub notes: Vec<ExportNote>,
}

/// Options of the translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromOptions {
    /// The scrape interval of the data (the smallest step); Prometheus' default 15 s.
    pub scrape_interval_ms: i64,
}

impl Default for PromOptions {
    fn default() -> Self {
        Self {
            scrape_interval_ms: 15_000,
        }
    }
}

/// The alert rules of `dashboard`'s panels as Prometheus rule groups.
pub fn export_dashboard(dashboard: &Dashboard, options: &PromOptions) -> PromExport {
    let mut out = PromExport::default();
    let mut by_interval: BTreeMap<i64, Vec<PromRule>> = BTreeMap::new();
    for (panel_id, rule) in crate::rule::dashboard_rules(dashboard) {
        let Some(cell) = dashboard.panel(panel_id) else {
            continue;
        };
        let place = |name: &str| format!("{} / panel {:?} / {name}", dashboard.uid, cell.title);
        let rule = match rule {
            Ok(r) => r,
            Err(e) => {
                out.notes.push(ExportNote {
                    place: place("?"),
                    message: format!("the rule does not read: {e}"),
                    skipped: true,
                });
                continue;
            }
        };
        let cell = apply_to_cell(cell, &dashboard.variables);
        match rule_expr(&rule, &cell, options) {
            Ok(expr) => {
                if matches!(rule.no_data_state, NoDataState::Alerting) {
                    out.notes.push(ExportNote {
                        place: place(&rule.name),
                        message: "no data → alerting has no Prometheus counterpart: the rule does not fire without series".into(),
                        skipped: false,
                    });
                }
                let mut annotations = BTreeMap::new();
                if !rule.message.is_empty() {
                    annotations.insert("summary".to_string(), rule.message.clone());
                }
                annotations.insert("dashboard".to_string(), dashboard.uid.clone());
                annotations.insert("panel".to_string(), cell.title.clone());
                let labels = rule
                    .tags
                    .iter()
                    .filter(|(k, _)| valid_label_name(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                by_interval
                    .entry(rule.frequency.ms.max(1_000))
                    .or_default()
                    .push(PromRule {
                        alert: if rule.name.is_empty() {
                            format!("{} alert", cell.title)
                        } else {
                            rule.name.clone()
                        },
                        expr,
                        for_ms: rule.for_duration.ms,
                        labels,
                        annotations,
                    });
            }
            Err(reason) => out.notes.push(ExportNote {
                place: place(&rule.name),
                message: reason,
                skipped: true,
            }),
        }
    }
    for (interval_ms, rules) in by_interval {
        out.groups.push(PromGroup {
            name: format!(
                "{} ({}) every {}",
                dashboard.title,
                dashboard.uid,
                format_duration(interval_ms)
            ),
            interval_ms,
            rules,
        });
    }
    out
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// The rule's conditions as one PromQL expression.
pub fn rule_expr(rule: &AlertRule, cell: &Cell, options: &PromOptions) -> Result<String, String> {
    let mut expr = String::new();
    for (i, c) in rule.conditions.iter().enumerate() {
        let e = condition_expr(c, cell, options)
            .map_err(|m| format!("condition {} ({}): {m}", i + 1, c.ref_id))?;
        expr = if i == 0 {
            e
        } else {
            match c.operator {
                Operator::And => format!("({expr}) and on() ({e})"),
                Operator::Or => format!("({expr}) or ({e})"),
            }
        };
    }
    if expr.is_empty() {
        return Err("the rule has no conditions".into());
    }
    lookout_promql::parse(&expr).map_err(|e| format!("the translation does not parse: {e}"))?;
    Ok(expr)
}

/// One condition: the reducer over a subquery, then the evaluator's filter.
pub fn condition_expr(c: &Condition, cell: &Cell, options: &PromOptions) -> Result<String, String> {
    let target = cell
        .targets
        .iter()
        .find(|t| t.ref_id == c.ref_id)
        .ok_or_else(|| format!("the panel has no query {:?}", c.ref_id))?;
    if target.expr.trim().is_empty() {
        return Err(format!("query {:?} is empty", c.ref_id));
    }
    let window = c.from.ms - c.to.ms;
    if window <= 0 {
        return Err("the time range is empty".into());
    }
    // The query and step exactly as Lookout's evaluation plans them.
    let mut one = cell.clone();
    let mut t = target.clone();
    t.hide = false;
    t.instant = false;
    t.range = true;
    one.targets = vec![t];
    one.panel.relative_time = None;
    one.panel.time_shift = None;
    one.panel.kind = PanelKind::TimeSeries;
    let now = 1_000_000_000_000;
    let planned = plan_cell(
        &one,
        (now - c.from.ms, now - c.to.ms),
        now,
        Some(ALERT_MAX_DATA_POINTS),
        Some(options.scrape_interval_ms),
    )
    .map_err(|e| e.to_string())?;
    let q = planned
        .into_iter()
        .next()
        .ok_or_else(|| format!("query {:?} could not be planned", c.ref_id))?;
    let step = q.grid.map_or(options.scrape_interval_ms, |g| g.step_ms);
    let offset = if c.to.ms > 0 {
        format!(" offset {}", format_duration(c.to.ms))
    } else {
        String::new()
    };
    let sub = format!(
        "({})[{}:{}]{offset}",
        q.expr,
        format_duration(window),
        format_duration(step)
    );
    let reduced = match c.reducer {
        ReducerKind::Avg => format!("avg_over_time({sub})"),
        ReducerKind::Sum => format!("sum_over_time({sub})"),
        ReducerKind::Min => format!("min_over_time({sub})"),
        ReducerKind::Max => format!("max_over_time({sub})"),
        ReducerKind::Last => format!("last_over_time({sub})"),
        ReducerKind::Median => format!("quantile_over_time(0.5, {sub})"),
        ReducerKind::CountNonNull => format!("count_over_time({sub})"),
        other => {
            return Err(format!(
                "the {} reducer has no Prometheus function (Prometheus 2.42 has no first value over a range, and its subqueries hold no empty steps)",
                other.as_str()
            ));
        }
    };
    let p = |i: usize| c.evaluator.params.get(i).copied().unwrap_or(0.0);
    let num = |x: f64| format_number(x);
    Ok(match c.evaluator.kind {
        EvaluatorKind::Gt => format!("{reduced} > {}", num(p(0))),
        EvaluatorKind::Lt => format!("{reduced} < {}", num(p(0))),
        EvaluatorKind::WithinRange => {
            let (lo, hi) = (p(0).min(p(1)), p(0).max(p(1)));
            format!("({reduced} > {}) < {}", num(lo), num(hi))
        }
        EvaluatorKind::OutsideRange => {
            let (lo, hi) = (p(0).min(p(1)), p(0).max(p(1)));
            format!("({reduced} < {}) or ({reduced} > {})", num(lo), num(hi))
        }
        EvaluatorKind::NoValue => {
            return Err(
                "no_value fires on an absent series, which has no labels to alert on in Prometheus"
                    .into(),
            );
        }
    })
}

fn format_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{x}")
    }
}

/// A YAML double-quoted scalar (JSON's string escapes are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The groups as a Prometheus rules file.
pub fn to_yaml(groups: &[PromGroup]) -> String {
    let mut y = String::from("groups:\n");
    if groups.is_empty() {
        return "groups: []\n".into();
    }
    for g in groups {
        y.push_str(&format!("  - name: {}\n", q(&g.name)));
        y.push_str(&format!(
            "    interval: {}\n",
            format_duration(g.interval_ms)
        ));
        y.push_str("    rules:\n");
        for r in &g.rules {
            y.push_str(&format!("      - alert: {}\n", q(&r.alert)));
            y.push_str(&format!("        expr: {}\n", q(&r.expr)));
            if r.for_ms > 0 {
                y.push_str(&format!("        for: {}\n", format_duration(r.for_ms)));
            }
            for (key, map) in [("labels", &r.labels), ("annotations", &r.annotations)] {
                if map.is_empty() {
                    continue;
                }
                y.push_str(&format!("        {key}:\n"));
                for (k, v) in map {
                    y.push_str(&format!("          {}: {}\n", q(k), q(v)));
                }
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::set_rule;
    use lookout_dashboard::Target;

    fn cell_with(rule_json: &str) -> (Cell, AlertRule) {
        let mut c = Cell {
            id: 1,
            title: "P90".into(),
            targets: vec![
                Target {
                    expr: "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))".into(),
                    ..Target::default()
                },
                Target {
                    ref_id: "B".into(),
                    expr: "sum(rate(x[$__rate_interval]))".into(),
                    hide: true,
                    ..Target::default()
                },
            ],
            ..Cell::default()
        };
        let rule = AlertRule::from_json(rule_json).unwrap();
        set_rule(&mut c, &rule);
        (c, rule)
    }

    #[test]
    fn the_users_rule_becomes_max_over_time() {
        let (cell, rule) = cell_with(
            r#"{"name":"P90 slow","message":"P90 above 4.2 ms","frequency":"1m","for":"5m",
               "conditions":[{"type":"query","query":{"params":["A","5m","now"]},
               "reducer":{"type":"max","params":[]},"evaluator":{"type":"gt","params":[0.0042]},
               "operator":{"type":"and"}}],"alertRuleTags":{"severity":"page","bad key":"x"}}"#,
        );
        let expr = rule_expr(&rule, &cell, &PromOptions::default()).unwrap();
        assert_eq!(
            expr,
            "max_over_time((histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m]))))[5m:15s]) > 0.0042"
        );
        let d = Dashboard {
            uid: "seed".into(),
            title: "Model".into(),
            panels: vec![cell],
            ..Dashboard::default()
        };
        let e = export_dashboard(&d, &PromOptions::default());
        assert!(e.notes.is_empty(), "{:?}", e.notes);
        let yaml = to_yaml(&e.groups);
        assert!(yaml.contains("    interval: 1m\n"), "{yaml}");
        assert!(yaml.contains("        for: 5m\n"), "{yaml}");
        assert!(yaml.contains("\"severity\": \"page\""), "{yaml}");
        assert!(!yaml.contains("bad key"), "{yaml}");
        assert!(yaml.contains("\"summary\": \"P90 above 4.2 ms\""), "{yaml}");
    }

    #[test]
    fn chains_ranges_offsets_and_what_cannot_be_said() {
        let (cell, rule) = cell_with(
            r#"{"name":"r","frequency":"30s","conditions":[
               {"type":"query","query":{"params":["A","10m","now-1m"]},"reducer":{"type":"median"},
                "evaluator":{"type":"within_range","params":[5,1]},"operator":{"type":"and"}},
               {"type":"query","query":{"params":["B","5m","now"]},"reducer":{"type":"avg"},
                "evaluator":{"type":"outside_range","params":[1,2]},"operator":{"type":"or"}}]}"#,
        );
        let expr = rule_expr(&rule, &cell, &PromOptions::default()).unwrap();
        assert!(expr.starts_with("((quantile_over_time(0.5, ("), "{expr}");
        assert!(
            expr.contains("[9m:15s] offset 1m) > 1) < 5) or ("),
            "{expr}"
        );
        // The hidden query B runs, with $__rate_interval substituted as Lookout plans it.
        assert!(expr.contains("rate(x[1m])"), "{expr}");
        for bad in ["diff", "count", "percent_diff"] {
            let (cell, rule) = cell_with(&format!(
                r#"{{"name":"r","conditions":[{{"type":"query","query":{{"params":["A","5m","now"]}},
                   "reducer":{{"type":"{bad}"}},"evaluator":{{"type":"gt","params":[1]}},"operator":{{"type":"and"}}}}]}}"#
            ));
            let err = rule_expr(&rule, &cell, &PromOptions::default()).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        let (cell, rule) = cell_with(
            r#"{"name":"r","conditions":[{"type":"query","query":{"params":["A","5m","now"]},
               "reducer":{"type":"avg"},"evaluator":{"type":"no_value","params":[]},"operator":{"type":"and"}}]}"#,
        );
        assert!(rule_expr(&rule, &cell, &PromOptions::default()).is_err());
    }

    #[test]
    fn yaml_strings_cannot_break_out() {
        let g = PromGroup {
            name: "a\"b\n- c: d".into(),
            interval_ms: 60_000,
            rules: vec![PromRule {
                alert: "x: y #z".into(),
                expr: "up == 0".into(),
                for_ms: 0,
                labels: BTreeMap::new(),
                annotations: BTreeMap::from([("summary".into(), "{{ $labels.job }}\n".into())]),
            }],
        };
        let y = to_yaml(&[g]);
        assert!(y.contains("  - name: \"a\\\"b\\n- c: d\"\n"), "{y}");
        assert!(y.contains("      - alert: \"x: y #z\"\n"), "{y}");
        assert_eq!(to_yaml(&[]), "groups: []\n");
    }
}
