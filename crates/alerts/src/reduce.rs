//! Grafana 7's legacy reducers (`pkg/services/alerting/conditions/reducer.go`): a series'
//! points → one nullable value.
//!
//! A null point, and a NaN one (Grafana's `isValid`), is skipped by every reducer but
//! `count`, which counts the points as they are. A series without points reduces to null;
//! so does one whose points are all null, except for `count`. `avg` divides by the valid
//! points; `diff` is the newest valid point minus the oldest valid point before it, 0 when
//! the only valid point is the first; `percent_diff` divides that by `|oldest|` and multiplies
//! by 100; the `_abs` variants take the absolute value. `count_non_null` of nothing valid is
//! null, not 0.

use crate::rule::ReducerKind;

fn valid(p: &Option<f64>) -> Option<f64> {
    p.filter(|v| !v.is_nan())
}

/// Reduces `points` (oldest first) with `kind`.
pub fn reduce(kind: ReducerKind, points: &[Option<f64>]) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let values: Vec<f64> = points.iter().filter_map(valid).collect();
    match kind {
        ReducerKind::Count => Some(points.len() as f64),
        _ if values.is_empty() => None,
        ReducerKind::Avg => Some(values.iter().sum::<f64>() / values.len() as f64),
        ReducerKind::Sum => Some(values.iter().sum()),
        ReducerKind::Min => values.iter().copied().reduce(f64::min),
        ReducerKind::Max => values.iter().copied().reduce(f64::max),
        ReducerKind::Last => values.last().copied(),
        ReducerKind::Median => {
            let mut v = values;
            v.sort_by(f64::total_cmp);
            let n = v.len();
            Some(if n % 2 == 1 {
                v[(n - 1) / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            })
        }
        ReducerKind::CountNonNull => Some(values.len() as f64),
        ReducerKind::Diff
        | ReducerKind::DiffAbs
        | ReducerKind::PercentDiff
        | ReducerKind::PercentDiffAbs => {
            // The newest valid point, and the oldest valid one before it.
            let newest_at = points.iter().rposition(|p| valid(p).is_some())?;
            let newest = valid(&points[newest_at])?;
            if newest_at == 0 {
                return Some(0.0);
            }
            let Some(oldest) = points[..newest_at].iter().find_map(valid) else {
                return Some(0.0);
            };
            Some(match kind {
                ReducerKind::Diff => newest - oldest,
                ReducerKind::DiffAbs => (newest - oldest).abs(),
                ReducerKind::PercentDiff => (newest - oldest) / oldest.abs() * 100.0,
                _ => ((newest - oldest) / oldest * 100.0).abs(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReducerKind::*;

    const N: Option<f64> = None;

    fn r(kind: ReducerKind, points: &[Option<f64>]) -> Option<f64> {
        reduce(kind, points)
    }

    #[test]
    fn empty_series_is_null_for_every_reducer() {
        for kind in ReducerKind::ALL {
            assert_eq!(r(kind, &[]), None, "{kind:?}");
        }
    }

    #[test]
    fn all_null_is_null_except_count() {
        for kind in ReducerKind::ALL {
            let got = r(kind, &[N, Some(f64::NAN), N]);
            if kind == Count {
                assert_eq!(got, Some(3.0));
            } else {
                assert_eq!(got, None, "{kind:?}");
            }
        }
    }

    #[test]
    fn simple_reducers_skip_nulls_and_nan() {
        let p = [
            Some(3.0),
            N,
            Some(1.0),
            Some(f64::NAN),
            Some(8.0),
            Some(4.0),
            N,
        ];
        assert_eq!(r(Avg, &p), Some(4.0));
        assert_eq!(r(Sum, &p), Some(16.0));
        assert_eq!(r(Min, &p), Some(1.0));
        assert_eq!(r(Max, &p), Some(8.0));
        assert_eq!(r(Count, &p), Some(7.0));
        assert_eq!(r(CountNonNull, &p), Some(4.0));
        assert_eq!(r(Last, &p), Some(4.0));
        assert_eq!(r(Median, &p), Some(3.5));
        assert_eq!(r(Median, &[Some(5.0), Some(1.0), Some(3.0)]), Some(3.0));
        assert_eq!(r(Min, &[Some(-1.0), Some(f64::INFINITY)]), Some(-1.0));
        assert_eq!(r(Max, &[Some(-2.0), Some(-1.0)]), Some(-1.0));
    }

    #[test]
    fn diffs_use_the_newest_and_oldest_valid_points() {
        let p = [N, Some(10.0), Some(30.0), Some(4.0), N];
        assert_eq!(r(Diff, &p), Some(-6.0));
        assert_eq!(r(DiffAbs, &p), Some(6.0));
        assert_eq!(r(PercentDiff, &p), Some(-60.0));
        assert_eq!(r(PercentDiffAbs, &p), Some(60.0));
        // A negative oldest value: percent_diff divides by its absolute value.
        let neg = [Some(-10.0), Some(-5.0)];
        assert_eq!(r(Diff, &neg), Some(5.0));
        assert_eq!(r(PercentDiff, &neg), Some(50.0));
        assert_eq!(r(PercentDiffAbs, &neg), Some(50.0));
        let neg2 = [Some(-10.0), Some(-20.0)];
        assert_eq!(r(PercentDiff, &neg2), Some(-100.0));
        assert_eq!(r(PercentDiffAbs, &neg2), Some(100.0));
        // One valid point: 0 wherever it is.
        assert_eq!(r(Diff, &[Some(7.0)]), Some(0.0));
        assert_eq!(r(Diff, &[N, Some(7.0)]), Some(0.0));
        assert_eq!(r(Diff, &[Some(7.0), N]), Some(0.0));
        // Divided by a zero oldest point: ±inf or NaN as Go computes it.
        assert_eq!(r(PercentDiff, &[Some(0.0), Some(5.0)]), Some(f64::INFINITY));
    }
}
