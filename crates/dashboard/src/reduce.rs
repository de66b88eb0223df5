//! Reducers: a series' values → one value, with Grafana's ids and semantics
//! (`packages/grafana-data/src/transformations/fieldReducer.ts`, `doStandardCalcs`, with the
//! default null mode "ignore").
//!
//! Values are `Option<f64>`; `None` is null. A `Some(NaN)` counts as null too (Grafana's
//! `lastNotNull`, `firstNotNull`, `min`, `max`, `sum`, `mean` skip NaN as well); infinities are
//! ordinary values.

use serde::{Deserialize, Serialize};

use crate::shape::Frame;

/// A reducer, serialized with Grafana's id (`lastNotNull`, `mean`, …); Grafana's aliases
/// (`current`, `avg`, `total`) read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reducer {
    /// The last value, null included: a trailing null gives `None`.
    Last,
    /// The last non-null value.
    #[default]
    #[serde(alias = "current")]
    LastNotNull,
    /// The first value, null included.
    First,
    /// The first non-null value.
    FirstNotNull,
    /// The mean of the non-null values.
    #[serde(alias = "avg")]
    Mean,
    /// The smallest non-null value.
    Min,
    /// The largest non-null value.
    Max,
    /// The sum of the non-null values (0 when there are none).
    #[serde(alias = "total")]
    Sum,
    /// How many non-null values there are.
    Count,
    /// Cumulative increase with counter resets, as Grafana computes it (see [`delta`]).
    Delta,
    /// `max − min`.
    Range,
    /// Last non-null minus first non-null.
    Diff,
}

impl Reducer {
    /// Every reducer, in the order a picker lists them.
    pub const ALL: [Reducer; 12] = [
        Reducer::LastNotNull,
        Reducer::Last,
        Reducer::FirstNotNull,
        Reducer::First,
        Reducer::Min,
        Reducer::Max,
        Reducer::Mean,
        Reducer::Sum,
        Reducer::Count,
        Reducer::Range,
        Reducer::Delta,
        Reducer::Diff,
    ];

    /// Grafana's id (`lastNotNull`).
    pub fn id(self) -> &'static str {
        match self {
            Reducer::Last => "last",
            Reducer::LastNotNull => "lastNotNull",
            Reducer::First => "first",
            Reducer::FirstNotNull => "firstNotNull",
            Reducer::Mean => "mean",
            Reducer::Min => "min",
            Reducer::Max => "max",
            Reducer::Sum => "sum",
            Reducer::Count => "count",
            Reducer::Delta => "delta",
            Reducer::Range => "range",
            Reducer::Diff => "diff",
        }
    }

    /// Grafana's display name (`Last *` for last non-null).
    pub fn label(self) -> &'static str {
        match self {
            Reducer::Last => "Last",
            Reducer::LastNotNull => "Last *",
            Reducer::First => "First",
            Reducer::FirstNotNull => "First *",
            Reducer::Mean => "Mean",
            Reducer::Min => "Min",
            Reducer::Max => "Max",
            Reducer::Sum => "Total",
            Reducer::Count => "Count",
            Reducer::Delta => "Delta",
            Reducer::Range => "Range",
            Reducer::Diff => "Difference",
        }
    }

    /// Whether the result has the series' unit (a count does not).
    pub fn preserves_unit(self) -> bool {
        self != Reducer::Count
    }
}

fn present(v: Option<f64>) -> Option<f64> {
    v.filter(|x| !x.is_nan())
}

/// Reduces `values` (see the module documentation for nulls). Empty input gives `Some(0)` for
/// `sum`, `count` and `delta` and `None` otherwise, as Grafana's `emptyInputResult`.
pub fn reduce(values: &[Option<f64>], reducer: Reducer) -> Option<f64> {
    let mut non_null = values.iter().filter_map(|v| present(*v));
    match reducer {
        Reducer::Last => values.last().copied().and_then(present),
        Reducer::First => values.first().copied().and_then(present),
        Reducer::LastNotNull => values.iter().rev().find_map(|v| present(*v)),
        Reducer::FirstNotNull => non_null.next(),
        Reducer::Sum => Some(non_null.sum()),
        Reducer::Count => Some(non_null.count() as f64),
        Reducer::Mean => {
            let (sum, n) = non_null.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            (n > 0).then(|| sum / n as f64)
        }
        Reducer::Min => non_null.reduce(f64::min),
        Reducer::Max => non_null.reduce(f64::max),
        Reducer::Range => {
            let (min, max) =
                non_null.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), v| {
                    (
                        Some(lo.map_or(v, |l| l.min(v))),
                        Some(hi.map_or(v, |h| h.max(v))),
                    )
                });
            Some(max? - min?)
        }
        Reducer::Diff => {
            let first = non_null.next()?;
            let last = values.iter().rev().find_map(|v| present(*v))?;
            Some(last - first)
        }
        Reducer::Delta => Some(delta(values)),
    }
}

/// Grafana's `delta`: the sum of the increases between consecutive non-null values. A decrease
/// is a counter reset: it adds nothing, and neither does the step right after it (Grafana's
/// `previousDeltaUp`), so `100, 110, 90, 120` gives 10 and `100, 90, 120` gives 0.
pub fn delta(values: &[Option<f64>]) -> f64 {
    let mut total = 0.0;
    let mut previous: Option<f64> = None;
    let mut previous_up = true;
    for v in values.iter().filter_map(|v| present(*v)) {
        if let Some(p) = previous {
            if p > v {
                previous_up = false;
            } else {
                if previous_up {
                    total += v - p;
                }
                previous_up = true;
            }
        }
        previous = Some(v);
    }
    total
}

/// Reduces each series of a frame over the slots of its own step grid (see
/// [`crate::shape::FrameSeries::own_values`]), in the frame's series order.
pub fn series_reduce(frame: &Frame, reducer: Reducer) -> Vec<Option<f64>> {
    frame
        .series
        .iter()
        .map(|s| reduce(&s.own_values(&frame.times_ms), reducer))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: [Option<f64>; 6] = [None, Some(3.0), Some(1.0), None, Some(4.0), None];

    #[test]
    fn every_reducer_on_values_with_nulls() {
        let r = |red| reduce(&V, red);
        assert_eq!(r(Reducer::Last), None);
        assert_eq!(r(Reducer::LastNotNull), Some(4.0));
        assert_eq!(r(Reducer::First), None);
        assert_eq!(r(Reducer::FirstNotNull), Some(3.0));
        assert_eq!(r(Reducer::Mean), Some(8.0 / 3.0));
        assert_eq!(r(Reducer::Min), Some(1.0));
        assert_eq!(r(Reducer::Max), Some(4.0));
        assert_eq!(r(Reducer::Sum), Some(8.0));
        assert_eq!(r(Reducer::Count), Some(3.0));
        assert_eq!(r(Reducer::Range), Some(3.0));
        assert_eq!(r(Reducer::Diff), Some(1.0));
        // 3 → 1 is a reset (nothing), 1 → 4 follows a reset (nothing).
        assert_eq!(r(Reducer::Delta), Some(0.0));
    }

    #[test]
    fn last_and_first_without_nulls() {
        let v = [Some(2.0), Some(5.0), Some(7.0)];
        assert_eq!(reduce(&v, Reducer::Last), Some(7.0));
        assert_eq!(reduce(&v, Reducer::First), Some(2.0));
        assert_eq!(reduce(&v, Reducer::Delta), Some(5.0));
        assert_eq!(reduce(&v, Reducer::Diff), Some(5.0));
    }

    #[test]
    fn delta_follows_grafana() {
        let d = |v: &[f64]| delta(&v.iter().map(|x| Some(*x)).collect::<Vec<_>>());
        assert_eq!(d(&[100.0, 110.0, 90.0, 120.0]), 10.0);
        assert_eq!(d(&[100.0, 90.0, 120.0]), 0.0);
        assert_eq!(d(&[100.0, 110.0, 120.0, 180.0]), 80.0);
        assert_eq!(d(&[1.0, 2.0, 0.0, 1.0, 3.0]), 3.0);
        assert_eq!(d(&[5.0]), 0.0);
        assert_eq!(delta(&[Some(1.0), None, Some(4.0)]), 3.0);
    }

    #[test]
    fn empty_and_all_null() {
        for values in [&[][..], &[None, None][..], &[Some(f64::NAN)][..]] {
            assert_eq!(reduce(values, Reducer::Sum), Some(0.0));
            assert_eq!(reduce(values, Reducer::Count), Some(0.0));
            assert_eq!(reduce(values, Reducer::Delta), Some(0.0));
            for r in [
                Reducer::Last,
                Reducer::LastNotNull,
                Reducer::First,
                Reducer::FirstNotNull,
                Reducer::Mean,
                Reducer::Min,
                Reducer::Max,
                Reducer::Range,
                Reducer::Diff,
            ] {
                assert_eq!(reduce(values, r), None, "{r:?}");
            }
        }
    }

    #[test]
    fn nan_is_null_infinity_is_a_value() {
        let v = [Some(1.0), Some(f64::NAN)];
        assert_eq!(reduce(&v, Reducer::Last), None);
        assert_eq!(reduce(&v, Reducer::LastNotNull), Some(1.0));
        let v = [Some(1.0), Some(f64::INFINITY)];
        assert_eq!(reduce(&v, Reducer::Max), Some(f64::INFINITY));
        assert_eq!(reduce(&v, Reducer::Count), Some(2.0));
    }

    #[test]
    fn ids_round_trip_through_serde() {
        for r in Reducer::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.id()));
            assert_eq!(serde_json::from_str::<Reducer>(&json).unwrap(), r);
        }
        assert_eq!(
            serde_json::from_str::<Reducer>("\"avg\"").unwrap(),
            Reducer::Mean
        );
        assert_eq!(
            serde_json::from_str::<Reducer>("\"total\"").unwrap(),
            Reducer::Sum
        );
        assert!(serde_json::from_str::<Reducer>("\"p95\"").is_err());
        assert!(!Reducer::Count.preserves_unit());
        assert_eq!(Reducer::Sum.label(), "Total");
    }
}
