//! `lookout dashboards check`: every query of a dashboard parses once its variables are
//! substituted, and every variable it names exists.
//!
//! Variables are substituted with their current values (Grafana's Prometheus format); one
//! with no value yet (a query variable before it ran) gets a placeholder that keeps the query
//! well-formed wherever a value can stand: `1m` for interval variables, `x` otherwise. The
//! built-ins (`$__interval`, `$__rate_interval`, `$__range`, …) get the values of a 1-hour
//! range at a 15 s scrape interval.

use crate::document::Dashboard;
use crate::interval::{self, IntervalVars};
use crate::variables::{self, VariableFormat, VariableKind};

/// One problem found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `panels[3] "Latency" A` or `variables[1] job`.
    pub place: String,
    /// What.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Checks every target of every panel (and every query variable's query).
pub fn check(d: &Dashboard) -> Vec<Problem> {
    let mut vars = d.variables.clone();
    for v in &mut vars {
        if v.current.is_empty() && v.options.is_empty() {
            let placeholder = match v.kind {
                VariableKind::Interval { .. } => "1m",
                _ => "x",
            };
            v.current = vec![placeholder.to_string()];
        }
    }
    let builtins = IntervalVars {
        interval_ms: 15_000,
        step_ms: 15_000,
        rate_interval_ms: 60_000,
        range_ms: 3_600_000,
        range_s: 3_600,
        query_start_ms: 0,
        query_end_ms: 3_600_000,
    };
    let mut problems = Vec::new();
    for (i, v) in d.variables.iter().enumerate() {
        let place = format!("variables[{i}] {}", v.name);
        if let VariableKind::Query { query, .. } = &v.kind {
            for name in variables::unknown_variables(query, &d.variables) {
                problems.push(Problem {
                    place: place.clone(),
                    message: format!("unknown variable ${name}"),
                });
            }
            if let Err(e) = variables::parse_find_query(query) {
                problems.push(Problem {
                    place,
                    message: e.to_string(),
                });
            }
        }
    }
    for (i, p) in d.panels.iter().enumerate() {
        for t in &p.targets {
            let place = format!("panels[{i}] {:?} {}", p.title, t.ref_id);
            for text in [&t.expr, &t.legend_format, &t.interval] {
                for name in variables::unknown_variables(text, &d.variables) {
                    problems.push(Problem {
                        place: place.clone(),
                        message: format!("unknown variable ${name}"),
                    });
                }
            }
            if t.expr.trim().is_empty() {
                continue;
            }
            let expr = variables::substitute_variables(&t.expr, &vars, VariableFormat::Prometheus);
            let expr = interval::substitute(&expr, &builtins);
            if let Err(e) = lookout_promql::parse(&expr) {
                problems.push(Problem {
                    place,
                    message: format!("{e} (in {expr:?})"),
                });
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;
    use crate::model::{Cell, Target};
    use crate::variables::Variable;

    #[test]
    fn builtins_check_clean() {
        for d in builtin::all() {
            assert_eq!(check(&d), vec![], "{}", d.title);
        }
    }

    #[test]
    fn bad_queries_and_unknown_variables_are_named() {
        let mut d = Dashboard::default();
        d.variables.push(Variable {
            name: "job".into(),
            kind: VariableKind::Query {
                query: "label_values(up, job)".into(),
                regex: String::new(),
                sort: 0,
                refresh: 1,
            },
            multi: true,
            include_all: true,
            ..Variable::default()
        });
        d.variables.push(Variable {
            name: "win".into(),
            kind: VariableKind::Interval {
                query: "1m,5m".into(),
                auto: false,
                auto_count: 30,
                auto_min: "10s".into(),
            },
            ..Variable::default()
        });
        let mut p = Cell {
            id: 1,
            title: "T".into(),
            targets: vec![
                Target {
                    expr: "sum(rate(x{job=~\"$job\"}[$win])) / $__rate_interval_bad".into(),
                    ..Target::default()
                },
                Target {
                    ref_id: "B".into(),
                    expr: "rate(x[$__rate_interval]) + on(".into(),
                    legend_format: "{{job}} $nope".into(),
                    ..Target::default()
                },
                Target {
                    ref_id: "C".into(),
                    expr:
                        "histogram_quantile(0.9, sum by (le) (rate(x_bucket{job=~\"$job\"}[$win])))"
                            .into(),
                    ..Target::default()
                },
            ],
            ..Cell::default()
        };
        p.id = 1;
        d.panels.push(p);
        let problems = check(&d);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        // `$__rate_interval_bad` is a built-in-looking name: not reported as unknown, but the
        // query does not parse.
        assert!(
            text.iter().any(|t| t.starts_with("panels[0] \"T\" A:")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("panels[0] \"T\" B:") && t.contains("$nope")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("panels[0] \"T\" B:") && !t.contains("$nope")),
            "{text:?}"
        );
        assert!(!text.iter().any(|t| t.contains(" C:")), "{text:?}");
    }
}
