//! Grafana's query interval: `$__interval`, the range query's step, `$__rate_interval`,
//! `$__range`, and their substitution into PromQL.
//!
//! The computation follows Grafana's frontend for Prometheus:
//!
//! 1. `calculateInterval` (`packages/grafana-data/src/datetime/rangeutil.ts`): the range
//!    divided by the panel's max data points, rounded with `roundInterval`'s table, and raised
//!    to the lower limit (the query's min interval, else the data source's scrape interval);
//! 2. `adjustInterval` (`public/app/plugins/datasource/prometheus/datasource.ts`): the step is
//!    the largest of that interval, the query's min step, and a safe interval keeping a series
//!    under Prometheus' 11,000 points (`range / 11000`, whole seconds once above 1 s); when it
//!    changes, `$__interval` and `$__interval_ms` follow it;
//! 3. `getRateIntervalScopedVariable`: `$__rate_interval = max($__interval + scrape,
//!    4 × scrape)`, the scrape interval being the query's min step if set, else the data
//!    source's;
//! 4. `getRangeScopedVars`: `$__range_ms`, `$__range_s = round(range / 1000)`,
//!    `$__range = "<range_s>s"`.
//!
//! Durations are written as Prometheus durations (`1m30s`); Grafana writes the largest unit
//! only, which is the same text for every value `roundInterval` produces.

use serde::{Deserialize, Serialize};

use crate::model::Target;
use crate::time::{TimeError, format_duration, parse_duration};

/// A data source's scrape interval when none is configured (Grafana's default, 15 s).
pub const DEFAULT_SCRAPE_INTERVAL_MS: i64 = 15_000;
/// Max data points when neither the query nor the panel's width gives one (Grafana scenes'
/// `SceneQueryRunner.getMaxDataPoints` fallback).
pub const DEFAULT_MAX_DATA_POINTS: u32 = 500;
/// Prometheus refuses range queries of more than 11,000 points per series.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Errors of the interval computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    /// `end` is not after `start`.
    #[error("the query range is empty or reversed: {start_ms} ms to {end_ms} ms")]
    EmptyRange {
        /// Range start.
        start_ms: i64,
        /// Range end.
        end_ms: i64,
    },
    /// The query's min interval is not a duration.
    #[error("invalid min interval: {0}")]
    MinInterval(#[from] TimeError),
    /// The numbers left the representable range.
    #[error("interval arithmetic out of range")]
    Overflow,
}

/// What the interval depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalInputs {
    /// Range start (epoch ms).
    pub start_ms: i64,
    /// Range end (epoch ms).
    pub end_ms: i64,
    /// The resolution: the query's max data points, else the panel's width in pixels; `0`
    /// means [`DEFAULT_MAX_DATA_POINTS`].
    pub max_data_points: u32,
    /// The query's min interval (Grafana's "Min step"); `None` uses the scrape interval.
    pub min_interval_ms: Option<i64>,
    /// The data source's scrape interval; `0` or less means [`DEFAULT_SCRAPE_INTERVAL_MS`].
    pub scrape_interval_ms: i64,
}

impl IntervalInputs {
    /// Inputs for one target of a panel: its `interval` (min step, may be empty) and
    /// `max_data_points`, else the panel's width in pixels, else the default. A min step that
    /// is a variable (`$__interval`, `${__rate_interval}`, `[[…]]`) counts as unset, as in
    /// Grafana's Prometheus backend (`isVariableInterval`).
    pub fn for_target(
        start_ms: i64,
        end_ms: i64,
        target: &Target,
        panel_width_px: Option<u32>,
        scrape_interval_ms: Option<i64>,
    ) -> Result<Self, IntervalError> {
        let interval = target.interval.trim();
        let min_interval_ms = if interval.is_empty() || interval.starts_with(['$', '[']) {
            None
        } else {
            Some(parse_duration(interval)?)
        };
        Ok(Self {
            start_ms,
            end_ms,
            max_data_points: target
                .max_data_points
                .or(panel_width_px)
                .unwrap_or(DEFAULT_MAX_DATA_POINTS),
            min_interval_ms,
            scrape_interval_ms: scrape_interval_ms.unwrap_or(DEFAULT_SCRAPE_INTERVAL_MS),
        })
    }
}

/// The computed step and Grafana's built-in variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalVars {
    /// `$__interval` / `$__interval_ms`: equal to the step.
    pub interval_ms: i64,
    /// The range query's step.
    pub step_ms: i64,
    /// `$__rate_interval`.
    pub rate_interval_ms: i64,
    /// `$__range_ms`.
    pub range_ms: i64,
    /// `$__range_s` (rounded seconds); `$__range` is this with an `s`.
    pub range_s: i64,
    /// The query's start aligned down to a multiple of the step (Grafana's `alignRange`, UTC).
    pub query_start_ms: i64,
    /// The query's end aligned down to a multiple of the step.
    pub query_end_ms: i64,
}

/// Grafana's `roundInterval` table: an interval in milliseconds → a "nice" one.
pub fn round_interval(interval_ms: f64) -> i64 {
    const TABLE: [(f64, i64); 27] = [
        (10.0, 1),
        (15.0, 10),
        (35.0, 20),
        (75.0, 50),
        (150.0, 100),
        (350.0, 200),
        (750.0, 500),
        (1_500.0, 1_000),
        (3_500.0, 2_000),
        (7_500.0, 5_000),
        (12_500.0, 10_000),
        (17_500.0, 15_000),
        (25_000.0, 20_000),
        (45_000.0, 30_000),
        (90_000.0, 60_000),
        (210_000.0, 120_000),
        (450_000.0, 300_000),
        (750_000.0, 600_000),
        (1_050_000.0, 900_000),
        (1_500_000.0, 1_200_000),
        (2_700_000.0, 1_800_000),
        (5_400_000.0, 3_600_000),
        (9_000_000.0, 7_200_000),
        (16_200_000.0, 10_800_000),
        (32_400_000.0, 21_600_000),
        (86_400_000.0, 43_200_000),
        (604_800_000.0, 86_400_000),
    ];
    for (below, nice) in TABLE {
        if interval_ms < below {
            return nice;
        }
    }
    if interval_ms < 1_814_400_000.0 {
        604_800_000 // 1w
    } else if interval_ms < 3_628_800_000.0 {
        2_592_000_000 // 30d
    } else {
        31_536_000_000 // 1y
    }
}

/// Computes the step and variables for one query (see the module documentation).
pub fn compute(inputs: &IntervalInputs) -> Result<IntervalVars, IntervalError> {
    let IntervalInputs {
        start_ms,
        end_ms,
        max_data_points,
        min_interval_ms,
        scrape_interval_ms,
    } = *inputs;
    let range_ms = end_ms
        .checked_sub(start_ms)
        .filter(|r| *r > 0)
        .ok_or(IntervalError::EmptyRange { start_ms, end_ms })?;
    let resolution = if max_data_points == 0 {
        DEFAULT_MAX_DATA_POINTS
    } else {
        max_data_points
    };
    let scrape_ms = if scrape_interval_ms > 0 {
        scrape_interval_ms
    } else {
        DEFAULT_SCRAPE_INTERVAL_MS
    };
    // A zero min interval means none (Prometheus rejects a zero step).
    let min_ms = min_interval_ms.filter(|m| *m > 0);
    let low_limit = min_ms.unwrap_or(scrape_ms);

    // calculateInterval
    let interval = round_interval(range_ms as f64 / f64::from(resolution)).max(low_limit);
    // adjustInterval: Prometheus' 11,000 points limit, whole seconds above 1 s.
    let safe_ms = range_ms as f64 / MAX_POINTS_PER_SERIES as f64;
    let safe_ms = if safe_ms > 1000.0 {
        (safe_ms / 1000.0).ceil() * 1000.0
    } else {
        safe_ms.ceil()
    } as i64;
    let step_ms = interval.max(min_ms.unwrap_or(interval)).max(safe_ms).max(1);

    let rate_scrape = min_ms.unwrap_or(scrape_ms);
    let rate_interval_ms = step_ms
        .checked_add(rate_scrape)
        .zip(rate_scrape.checked_mul(4))
        .map(|(a, b)| a.max(b))
        .ok_or(IntervalError::Overflow)?;
    let range_s = (range_ms as f64 / 1000.0).round() as i64;
    let (query_start_ms, query_end_ms) = align_range(start_ms, end_ms, step_ms);
    Ok(IntervalVars {
        interval_ms: step_ms,
        step_ms,
        rate_interval_ms,
        range_ms,
        range_s,
        query_start_ms,
        query_end_ms,
    })
}

/// Aligns a range down to multiples of the step (Grafana's `alignRange` with a UTC offset of
/// 0), so repeated queries hit the same timestamps.
pub fn align_range(start_ms: i64, end_ms: i64, step_ms: i64) -> (i64, i64) {
    if step_ms <= 0 {
        return (start_ms, end_ms);
    }
    (
        start_ms.div_euclid(step_ms) * step_ms,
        end_ms.div_euclid(step_ms) * step_ms,
    )
}

impl IntervalVars {
    /// The value of a built-in variable by name (`__interval`, `__interval_ms`,
    /// `__rate_interval`, `__rate_interval_ms`, `__range`, `__range_s`, `__range_ms`).
    pub fn lookup(&self, name: &str) -> Option<String> {
        Some(match name {
            "__interval" => format_duration(self.interval_ms),
            "__interval_ms" => self.interval_ms.to_string(),
            "__rate_interval" => format_duration(self.rate_interval_ms),
            "__rate_interval_ms" => self.rate_interval_ms.to_string(),
            "__range" => format!("{}s", self.range_s),
            "__range_s" => self.range_s.to_string(),
            "__range_ms" => self.range_ms.to_string(),
            _ => return None,
        })
    }
}

/// Replaces the built-in variables in `expr`, in each of Grafana's three forms: `$name`,
/// `${name}` (also `${name:format}`, the format ignored) and `[[name]]`. Like Grafana's
/// template regex, `$name` takes the longest run of word characters, so `$__interval_ms` is
/// one variable, not `$__interval` followed by `_ms`; unknown names are left as written.
pub fn substitute(expr: &str, vars: &IntervalVars) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find(['$', '[']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some((value, used)) = variable_at(tail, vars) {
            out.push_str(&value);
            rest = &tail[used..];
        } else {
            // Not a variable: keep the character and go on after it.
            let ch_len = tail.chars().next().map_or(1, char::len_utf8);
            out.push_str(&tail[..ch_len]);
            rest = &tail[ch_len..];
        }
    }
    out.push_str(rest);
    out
}

fn word_len(s: &str) -> usize {
    s.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count()
}

/// The substituted value and the length of the variable reference at the start of `s`.
fn variable_at(s: &str, vars: &IntervalVars) -> Option<(String, usize)> {
    if let Some(inner) = s.strip_prefix("${") {
        let n = word_len(inner);
        let name = &inner[..n];
        let after = &inner[n..];
        let close = if after.starts_with('}') {
            0
        } else if let Some(fmt) = after.strip_prefix(':') {
            1 + fmt.find('}')?
        } else {
            return None;
        };
        return vars.lookup(name).map(|v| (v, 2 + n + close + 1));
    }
    if let Some(inner) = s.strip_prefix("[[") {
        let n = word_len(inner);
        let name = &inner[..n];
        let after = &inner[n..];
        let close = if after.starts_with("]]") {
            0
        } else if let Some(fmt) = after.strip_prefix(':') {
            1 + fmt.find("]]")?
        } else {
            return None;
        };
        return vars.lookup(name).map(|v| (v, 2 + n + close + 2));
    }
    let inner = s.strip_prefix('$')?;
    let n = word_len(inner);
    vars.lookup(&inner[..n]).map(|v| (v, 1 + n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

    fn inputs(range_ms: i64, points: u32, min: Option<i64>) -> IntervalInputs {
        IntervalInputs {
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_000_000 + range_ms,
            max_data_points: points,
            min_interval_ms: min,
            scrape_interval_ms: 15_000,
        }
    }

    #[test]
    fn round_interval_table() {
        assert_eq!(round_interval(5.0), 1);
        assert_eq!(round_interval(12.0), 10);
        assert_eq!(round_interval(3_272.7), 2_000);
        assert_eq!(round_interval(7_200.0), 5_000);
        assert_eq!(round_interval(7_500.0), 10_000);
        assert_eq!(round_interval(43_200.0), 30_000);
        assert_eq!(round_interval(60_000.0), 60_000);
        assert_eq!(round_interval(100_000.0), 120_000);
        assert_eq!(round_interval(86_400_000.0), 86_400_000);
        assert_eq!(round_interval(1e12), 31_536_000_000);
    }

    #[test]
    fn one_hour_at_1100_points_is_the_scrape_interval() {
        // 3,600,000 / 1100 = 3272.7 ms → rounds to 2 s, below the 15 s scrape interval.
        let v = compute(&inputs(HOUR_MS, 1100, None)).unwrap();
        assert_eq!(v.step_ms, 15_000);
        assert_eq!(v.interval_ms, 15_000);
        // max(15 s + 15 s, 4 × 15 s) = 60 s.
        assert_eq!(v.rate_interval_ms, 60_000);
        assert_eq!(v.range_s, 3600);
    }

    #[test]
    fn one_day_at_500_points() {
        // 86,400,000 / 500 = 172,800 ms → 2 m.
        let v = compute(&inputs(DAY_MS, 500, None)).unwrap();
        assert_eq!(v.step_ms, 2 * MINUTE_MS);
        // max(120 s + 15 s, 60 s) = 135 s.
        assert_eq!(v.rate_interval_ms, 135_000);
        assert_eq!(v.lookup("__rate_interval").unwrap(), "2m15s");
    }

    #[test]
    fn min_interval_raises_step_and_sets_rate_scrape() {
        let v = compute(&inputs(HOUR_MS, 1100, Some(30_000))).unwrap();
        assert_eq!(v.step_ms, 30_000);
        // The min step stands in for the scrape interval: max(30 + 30, 4 × 30) = 120 s.
        assert_eq!(v.rate_interval_ms, 120_000);
        // A small min interval lets the step go below the scrape interval.
        let v = compute(&inputs(5 * MINUTE_MS, 1000, Some(1_000))).unwrap();
        // 300,000 / 1000 = 300 ms → 200 ms, raised to the 1 s minimum.
        assert_eq!(v.step_ms, 1_000);
    }

    #[test]
    fn safe_interval_keeps_under_11000_points() {
        // 30 days at 100,000 points with a 1 ms min: 2,592,000,000 / 100,000 = 25,920 ms →
        // rounds to 30 s; safe = 2,592,000,000 / 11,000 = 235,636 ms → 236 s wins.
        let v = compute(&inputs(30 * DAY_MS, 100_000, Some(1))).unwrap();
        assert_eq!(v.step_ms, 236_000);
        assert!(v.range_ms / v.step_ms <= MAX_POINTS_PER_SERIES);
    }

    #[test]
    fn defaults_and_errors() {
        let v = compute(&IntervalInputs {
            max_data_points: 0,
            scrape_interval_ms: 0,
            ..inputs(DAY_MS, 0, None)
        })
        .unwrap();
        assert_eq!(v.step_ms, 2 * MINUTE_MS);
        assert!(matches!(
            compute(&inputs(0, 100, None)),
            Err(IntervalError::EmptyRange { .. })
        ));
        assert!(
            compute(&IntervalInputs {
                start_ms: i64::MIN,
                end_ms: i64::MAX,
                ..inputs(1, 1, None)
            })
            .is_err()
        );
    }

    #[test]
    fn alignment() {
        assert_eq!(
            align_range(1_000_007, 1_060_009, 15_000),
            (990_000, 1_050_000)
        );
        let v = compute(&inputs(HOUR_MS, 1100, None)).unwrap();
        assert_eq!(v.query_start_ms % 15_000, 0);
        assert!(v.query_start_ms <= 1_700_000_000_000);
    }

    #[test]
    fn for_target_reads_min_interval_and_points() {
        let mut t = Target {
            interval: "1m".into(),
            ..Target::default()
        };
        let i = IntervalInputs::for_target(0, HOUR_MS, &t, Some(800), None).unwrap();
        assert_eq!(i.min_interval_ms, Some(60_000));
        assert_eq!(i.max_data_points, 800);
        assert_eq!(i.scrape_interval_ms, DEFAULT_SCRAPE_INTERVAL_MS);
        t.max_data_points = Some(50);
        t.interval = String::new();
        let i = IntervalInputs::for_target(0, HOUR_MS, &t, Some(800), Some(5_000)).unwrap();
        assert_eq!((i.min_interval_ms, i.max_data_points), (None, 50));
        t.interval = "$__interval".into();
        let i = IntervalInputs::for_target(0, HOUR_MS, &t, None, None).unwrap();
        assert_eq!(i.min_interval_ms, None);
        t.interval = "fast".into();
        assert!(IntervalInputs::for_target(0, HOUR_MS, &t, None, None).is_err());
    }

    fn vars() -> IntervalVars {
        IntervalVars {
            interval_ms: 30_000,
            step_ms: 30_000,
            rate_interval_ms: 90_000,
            range_ms: 3_600_000,
            range_s: 3_600,
            query_start_ms: 0,
            query_end_ms: 3_600_000,
        }
    }

    #[test]
    fn substitution_forms() {
        let v = vars();
        assert_eq!(
            substitute("rate(x[$__rate_interval])", &v),
            "rate(x[1m30s])"
        );
        assert_eq!(substitute("rate(x[${__interval}])", &v), "rate(x[30s])");
        assert_eq!(substitute("rate(x[[[__interval]]])", &v), "rate(x[30s])");
        assert_eq!(substitute("x / $__interval_ms", &v), "x / 30000");
        assert_eq!(substitute("${__interval_ms}", &v), "30000");
        assert_eq!(substitute("${__interval:raw}", &v), "30s");
        assert_eq!(
            substitute("increase(x[$__range]) / $__range_s / $__range_ms", &v),
            "increase(x[3600s]) / 3600 / 3600000"
        );
        assert_eq!(substitute("$__rate_interval_ms", &v), "90000");
    }

    #[test]
    fn substitution_leaves_the_rest_alone() {
        let v = vars();
        for s in [
            "up",
            "$__intervalx",
            "$job",
            "${job}",
            "[[job]]",
            "$",
            "${__interval",
            "x[5m]",
            "a$b[c]",
            "é$__nope ü",
        ] {
            assert_eq!(substitute(s, &v), s);
        }
        assert_eq!(substitute("é[$__interval]ü", &v), "é[30s]ü");
    }
}
