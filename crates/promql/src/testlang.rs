//! Prometheus' test language (the `promql/testdata/*.test` format of Prometheus 2.42):
//!
//! ```text
//! load 5m
//!     http_requests{job="api", instance="0"}  0+10x10 _ stale 1-1x3
//!
//! eval instant at 50m sum by (job) (http_requests)
//!     {job="api"} 100
//!
//! eval_fail instant at 0m foo + on() group_left bar
//! eval_ordered instant at 50m sort(http_requests)
//! clear
//! ```
//!
//! Each `eval` is checked as Prometheus' own runner does: as an instant query, and again as a
//! range query ending at the same time (one-minute step) whose last step must agree; values
//! compare with a relative tolerance of 1e-6, NaN equal to NaN.

use crate::engine::Engine;
use crate::labels::Labels;
use crate::store::{Storage, parse_float, split_series, stale_nan};
use crate::value::{Value, format_value};

/// What an `eval` expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalKind {
    Plain,
    Fail,
    Ordered,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Load {
        interval_ms: i64,
        series: Vec<(Labels, Vec<Option<f64>>)>,
    },
    Clear,
    Eval {
        kind: EvalKind,
        at_ms: i64,
        expr: String,
        expected: Expected,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// One failed `eval`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub line: usize,
    pub query: String,
    pub expected: String,
    pub got: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub passed: usize,
    pub failures: Vec<Failure>,
}

/// Prometheus' duration syntax: `1h30m`, `5m`, `90s`, `100ms`, `2d`, `1w`, `1y`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(0);
    }
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("bad duration {s:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult: i64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            u => return Err(format!("bad duration unit {u:?} in {s:?}")),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {s:?} overflows"))?;
    }
    Ok(total)
}

/// Expands a series description's values: `1+2x3` → 1 3 5 7, `1x2` → 1 1 1, `_` → omitted,
/// `_x3` → three omitted, `stale` → a staleness marker.
pub fn parse_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for item in s.split_whitespace() {
        if item == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = item.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad repeat in {item:?}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        if item == "stale" {
            out.push(Some(stale_nan()));
            continue;
        }
        match item.rsplit_once('x') {
            Some((head, times))
                if !times.is_empty() && times.bytes().all(|b| b.is_ascii_digit()) =>
            {
                let n: u64 = times
                    .parse()
                    .map_err(|_| format!("bad repeat in {item:?}"))?;
                if n > 1_000_000 {
                    return Err(format!("repeat too large in {item:?}"));
                }
                // `a+b` / `a-b` (the sign after the first character), or just `a`.
                let split = head
                    .char_indices()
                    .skip(1)
                    .find(|&(i, c)| {
                        (c == '+' || c == '-') && !matches!(head.as_bytes()[i - 1], b'e' | b'E')
                    })
                    .map(|(i, _)| i);
                let (start, step) = match split {
                    Some(i) => (parse_float(&head[..i])?, parse_float(&head[i..])?),
                    None => (parse_float(head)?, 0.0),
                };
                let mut v = start;
                out.push(Some(v));
                for _ in 0..n {
                    v += step;
                    out.push(Some(v));
                }
            }
            _ => out.push(Some(parse_float(item)?)),
        }
    }
    Ok(out)
}

/// Parses a whole test file.
pub fn parse(text: &str) -> Result<Vec<(usize, Command)>, SyntaxError> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect();
    let err = |line: usize, message: String| SyntaxError {
        line: line + 1,
        message,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let start = i;
        match word.as_str() {
            "clear" => {
                out.push((start + 1, Command::Clear));
                i += 1;
            }
            "load" => {
                let gap = l["load".len()..].trim();
                let interval_ms = parse_duration(gap).map_err(|e| err(i, e))?;
                let mut series = Vec::new();
                i += 1;
                while i < lines.len() && !lines[i].is_empty() {
                    let (labels, rest) = split_series(&lines[i]).map_err(|e| err(i, e))?;
                    if labels.is_empty() {
                        return Err(err(i, format!("no series in {:?}", lines[i])));
                    }
                    let vals = parse_values(rest).map_err(|e| err(i, e))?;
                    series.push((labels, vals));
                    i += 1;
                }
                out.push((
                    start + 1,
                    Command::Load {
                        interval_ms,
                        series,
                    },
                ));
            }
            "eval" | "eval_fail" | "eval_ordered" => {
                let kind = match word.as_str() {
                    "eval_fail" => EvalKind::Fail,
                    "eval_ordered" => EvalKind::Ordered,
                    _ => EvalKind::Plain,
                };
                let rest = l[word.len()..].trim_start();
                let rest = rest
                    .strip_prefix("instant")
                    .ok_or_else(|| err(i, "only `instant` evaluations are supported".into()))?
                    .trim_start();
                let rest = rest
                    .strip_prefix("at")
                    .ok_or_else(|| err(i, "expected `at <time>`".into()))?
                    .trim_start();
                let (at, expr) = rest
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| err(i, "expected a time and an expression".into()))?;
                let at_ms = parse_duration(at).map_err(|e| err(i, e))?;
                let expr = expr.trim().to_string();
                crate::engine::parse(&expr)
                    .map_err(|e| err(i, format!("invalid expression {expr:?}: {e}")))?;
                i += 1;
                let mut vector = Vec::new();
                let mut scalar = None;
                while i < lines.len() && !lines[i].is_empty() {
                    if let Ok(f) = parse_float(&lines[i]) {
                        scalar = Some(f);
                        i += 1;
                        break;
                    }
                    let (labels, rest) = split_series(&lines[i]).map_err(|e| err(i, e))?;
                    let vals = parse_values(rest).map_err(|e| err(i, e))?;
                    match vals.as_slice() {
                        [Some(v)] => vector.push((labels, *v)),
                        _ => {
                            return Err(err(
                                i,
                                "expecting one value per series in instant evaluation".into(),
                            ));
                        }
                    }
                    i += 1;
                }
                let expected = match scalar {
                    Some(f) => Expected::Scalar(f),
                    None => Expected::Vector(vector),
                };
                out.push((
                    start + 1,
                    Command::Eval {
                        kind,
                        at_ms,
                        expr,
                        expected,
                    },
                ));
            }
            other => return Err(err(i, format!("invalid command {other:?}"))),
        }
    }
    Ok(out)
}

/// Prometheus' `almostEqual` with epsilon 1e-6.
pub fn almost_equal(a: f64, b: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    const EPS: f64 = 1e-6;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < MIN_NORMAL {
        return diff < EPS * MIN_NORMAL;
    }
    diff / (a.abs() + b.abs()) < EPS
}

fn show_expected(e: &Expected) -> String {
    match e {
        Expected::Scalar(v) => format!("scalar {}", format_value(*v)),
        Expected::Vector(v) => show_vector(v),
    }
}

fn show_vector(v: &[(Labels, f64)]) -> String {
    if v.is_empty() {
        return "empty vector".into();
    }
    v.iter()
        .map(|(l, x)| format!("{l} {}", format_value(*x)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares a result with the expectation; `Err` says how they differ.
fn compare(expected: &Expected, got: &Value, ordered: bool) -> Result<(), String> {
    match (expected, got) {
        (Expected::Scalar(e), Value::Scalar { v, .. }) => {
            if almost_equal(*e, *v) {
                Ok(())
            } else {
                Err(format!("scalar {}", format_value(*v)))
            }
        }
        (Expected::Vector(e), Value::Vector(g)) => {
            let got: Vec<(Labels, f64)> = g.iter().map(|s| (s.labels.clone(), s.v)).collect();
            let mismatch = || Err(show_vector(&got));
            if got.len() != e.len() {
                return mismatch();
            }
            for (pos, (labels, v)) in got.iter().enumerate() {
                let Some(idx) = e.iter().position(|(l, _)| l == labels) else {
                    return mismatch();
                };
                if ordered && idx != pos {
                    return mismatch();
                }
                if !almost_equal(e[idx].1, *v) {
                    return mismatch();
                }
            }
            Ok(())
        }
        (_, Value::Matrix(_)) => Err("received range result on instant evaluation".into()),
        (_, other) => Err(format!("a {} result", other.type_name())),
    }
}

/// One file's outcome as the runners print it: evals passed, evals failed, and a message
/// per failure (`file:line: query`, expected, got; or the syntax error).
pub fn outcome(file: &str, result: Result<Report, SyntaxError>) -> (usize, usize, Vec<String>) {
    match result {
        Ok(report) => {
            let messages: Vec<String> = report
                .failures
                .iter()
                .map(|f| {
                    format!(
                        "{file}:{}: {}\n  expected: {}\n  got:      {}",
                        f.line, f.query, f.expected, f.got
                    )
                })
                .collect();
            (report.passed, messages.len(), messages)
        }
        Err(e) => (0, 1, vec![format!("{file}:{}: {}", e.line, e.message)]),
    }
}

/// Runs a test file's commands against a fresh store.
pub fn run(text: &str, engine: &Engine) -> Result<Report, SyntaxError> {
    let commands = parse(text)?;
    let mut storage = Storage::with_retention(crate::store::Retention {
        max_age_ms: i64::MAX / 4,
        max_samples_per_series: usize::MAX,
        max_series: usize::MAX,
    });
    let mut report = Report::default();
    for (line, cmd) in commands {
        match cmd {
            Command::Clear => storage.clear(),
            Command::Load {
                interval_ms,
                series,
            } => {
                // Appends go in time order per series; a series repeated in one block
                // continues where it left off (as Prometheus' loader does).
                for (labels, vals) in series {
                    for (j, v) in vals.into_iter().enumerate() {
                        if let Some(v) = v
                            && let Err(e) = storage.append(&labels, j as i64 * interval_ms, v)
                        {
                            return Err(SyntaxError {
                                line,
                                message: e.to_string(),
                            });
                        }
                    }
                }
            }
            Command::Eval {
                kind,
                at_ms,
                expr,
                expected,
            } => {
                let outcome = check_eval(engine, &storage, &kind, at_ms, &expr, &expected);
                match outcome {
                    Ok(()) => report.passed += 1,
                    Err(got) => report.failures.push(Failure {
                        line,
                        query: expr,
                        expected: if kind == EvalKind::Fail {
                            "an error".into()
                        } else {
                            show_expected(&expected)
                        },
                        got,
                    }),
                }
            }
        }
    }
    Ok(report)
}

fn check_eval(
    engine: &Engine,
    storage: &Storage,
    kind: &EvalKind,
    at_ms: i64,
    expr: &str,
    expected: &Expected,
) -> Result<(), String> {
    let instant = engine.instant_query(storage, expr, at_ms);
    if *kind == EvalKind::Fail {
        return match instant {
            Err(_) => Ok(()),
            Ok(v) => Err(format!("no error, result {v:?}")),
        };
    }
    let value = instant.map_err(|e| format!("error: {e}"))?;
    compare(expected, &value, *kind == EvalKind::Ordered)?;
    if *kind == EvalKind::Ordered {
        return Ok(()); // ordering is undefined for range queries
    }
    // The same query in range mode: the step at `at_ms` must agree.
    let range = engine
        .range_query(storage, expr, at_ms - 60_000, at_ms, 60_000)
        .map_err(|e| format!("error in range mode: {e}"))?;
    let Value::Matrix(m) = range else {
        return Err("range mode did not return a matrix".into());
    };
    let at_end: Vec<crate::value::Sample> = m
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.0 == at_ms)
                .map(|p| crate::value::Sample {
                    labels: s.labels.clone(),
                    t: at_ms,
                    v: p.1,
                })
        })
        .collect();
    let as_value = match value {
        Value::Scalar { .. } => Value::Scalar {
            t: at_ms,
            v: at_end.first().map(|s| s.v).unwrap_or(f64::NAN),
        },
        _ => Value::Vector(at_end),
    };
    compare(expected, &as_value, false).map_err(|g| format!("in range mode: {g}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_values_expand_like_prometheus() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("100ms"), Ok(100));
        assert!(parse_duration("5x").is_err());
        let v = parse_values("1+2x3 _ _x2 5-1x2 3x1 stale -1 Inf").expect("values");
        let f: Vec<String> = v
            .iter()
            .map(|x| x.map(format_value).unwrap_or("_".into()))
            .collect();
        assert_eq!(
            f,
            [
                "1", "3", "5", "7", "_", "_", "_", "5", "4", "3", "3", "3", "NaN", "-1", "+Inf"
            ]
        );
        assert!(crate::store::is_stale(v[12].expect("stale")));
        assert_eq!(
            parse_values("1e3+1e1x1").expect("exp"),
            [Some(1000.0), Some(1010.0)]
        );
    }

    #[test]
    fn runs_a_small_file_and_reports_failures() {
        let text = r#"
load 5m
    http_requests{job="api", instance="0"} 0+10x10
    http_requests{job="api", instance="1"} 0+20x10

eval instant at 50m sum by (job) (http_requests)
    {job="api"} 300

# a wrong expectation, reported
eval instant at 50m sum(http_requests)
    {} 1

eval_fail instant at 50m http_requests + on() http_requests

eval instant at 50m scalar(http_requests{instance="0"})
    100
"#;
        let r = run(text, &Engine::default()).expect("syntax");
        assert_eq!(r.passed, 3, "{r:?}");
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].line, 10);
        assert_eq!(r.failures[0].got, "{} 300");
    }
}
