//! Classic Prometheus histograms (`*_bucket` series with an `le` label, e.g.
//! `sum by (le) (rate(inference_time_bucket[1m]))`) → heatmaps, as Grafana's Prometheus
//! `format: heatmap` builds them (`transformToHistogramOverTime` and `sortSeriesByLabel` in
//! `public/app/plugins/datasource/prometheus/result_transformer.ts`).
//!
//! Buckets are sorted by `le` (`+Inf` last), then de-accumulated at each time step:
//! `count_i = bucket_i − bucket_{i−1}`. Like Grafana, a negative difference (from rate
//! jitter or a reset between the buckets' samples) is kept, not clamped; a missing lower
//! bucket counts as 0 and a missing bucket stays missing. Series that differ in labels other
//! than `le` (and in the query they came from) are separate histograms: one [`Heatmap`] each.

use std::collections::BTreeMap;

use lookout_promql::store::parse_float;
use serde::{Deserialize, Serialize};

use crate::shape::Frame;

/// Errors of building heatmaps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeatmapError {
    /// A series has no `le` label.
    #[error(
        "series {series} has no `le` label: a heatmap needs classic histogram buckets, e.g. sum by (le) (rate(x_bucket[5m]))"
    )]
    MissingLe {
        /// The series' display name.
        series: String,
    },
    /// An `le` that is not a number.
    #[error("series {series} has an invalid `le` label {le:?}")]
    InvalidLe {
        /// The series' display name.
        series: String,
        /// The label's value.
        le: String,
    },
    /// Two series of one histogram with the same bound.
    #[error("histogram {histogram} has two buckets with le={le}; aggregate them, e.g. sum by (le)")]
    DuplicateLe {
        /// The histogram's labels.
        histogram: String,
        /// The repeated bound.
        le: String,
    },
}

/// One histogram over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Heatmap {
    /// The query it came from.
    pub ref_id: String,
    /// The labels its buckets share (without `le`).
    pub labels: Vec<(String, String)>,
    /// The time axis (the frame's).
    pub times_ms: Vec<i64>,
    /// Each bucket's `(lower, upper]` bounds, ascending; `upper` may be `+∞`. The first
    /// bucket's lower bound is 0 when its upper bound is positive (Prometheus' convention for
    /// the lowest bucket), else −∞.
    pub bounds: Vec<(f64, f64)>,
    /// `counts[bucket][time]`: the de-accumulated count; `None` where the bucket has no value.
    pub counts: Vec<Vec<Option<f64>>>,
}

impl Heatmap {
    /// The largest count, for the colour scale.
    pub fn max_count(&self) -> Option<f64> {
        self.counts
            .iter()
            .flatten()
            .flatten()
            .copied()
            .reduce(f64::max)
    }
}

/// Builds one heatmap per histogram in `frame` (in order of first appearance).
pub fn heatmaps(frame: &Frame) -> Result<Vec<Heatmap>, HeatmapError> {
    type Key = (String, Vec<(String, String)>);
    let mut order: Vec<Key> = Vec::new();
    let mut groups: BTreeMap<Key, Vec<(f64, usize)>> = BTreeMap::new();
    for (i, s) in frame.series.iter().enumerate() {
        let le = s
            .labels
            .iter()
            .find(|(k, _)| k == "le")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| HeatmapError::MissingLe {
                series: s.name.clone(),
            })?;
        let bound = parse_float(le)
            .ok()
            .filter(|b| !b.is_nan())
            .ok_or_else(|| HeatmapError::InvalidLe {
                series: s.name.clone(),
                le: le.to_string(),
            })?;
        let rest: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect();
        let key = (s.ref_id.clone(), rest);
        let group = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        group.push((bound, i));
    }

    let mut out = Vec::with_capacity(order.len());
    for key in order {
        let Some(mut buckets) = groups.remove(&key) else {
            continue;
        };
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(w) = buckets.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(HeatmapError::DuplicateLe {
                histogram: describe(&key.1),
                le: w[0].0.to_string(),
            });
        }
        let mut bounds = Vec::with_capacity(buckets.len());
        let mut counts = Vec::with_capacity(buckets.len());
        let mut lower = match buckets.first() {
            Some((upper, _)) if *upper > 0.0 => 0.0,
            _ => f64::NEG_INFINITY,
        };
        let mut below: Option<&[Option<f64>]> = None;
        for (upper, idx) in &buckets {
            let values = frame
                .series
                .get(*idx)
                .map_or(&[][..], |s| s.values.as_slice());
            let row: Vec<Option<f64>> = values
                .iter()
                .enumerate()
                .map(|(t, top)| {
                    let bottom = below
                        .and_then(|b| b.get(t).copied().flatten())
                        .unwrap_or(0.0);
                    top.map(|top| top - bottom)
                })
                .collect();
            bounds.push((lower, *upper));
            counts.push(row);
            lower = *upper;
            below = Some(values);
        }
        out.push(Heatmap {
            ref_id: key.0,
            labels: key.1,
            times_ms: frame.times_ms.clone(),
            bounds,
            counts,
        });
    }
    Ok(out)
}

fn describe(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{FrameSeries, Grid};

    fn s(ref_id: &str, labels: &[(&str, &str)], values: &[Option<f64>]) -> FrameSeries {
        FrameSeries {
            ref_id: ref_id.into(),
            name: format!("{labels:?}"),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            grid: Grid {
                start_ms: 0,
                end_ms: 20,
                step_ms: 10,
            },
            values: values.to_vec(),
        }
    }

    fn frame(series: Vec<FrameSeries>) -> Frame {
        Frame {
            times_ms: vec![0, 10, 20],
            series,
        }
    }

    #[test]
    fn de_accumulates_sorted_buckets() {
        // Grafana's example: le10 = 10 10 0, le20 = 20 10 30, le30 = 30 10 35, given out of
        // order, with +Inf.
        let f = frame(vec![
            s("A", &[("le", "30")], &[Some(30.0), Some(10.0), Some(35.0)]),
            s(
                "A",
                &[("le", "+Inf")],
                &[Some(31.0), Some(10.0), Some(40.0)],
            ),
            s("A", &[("le", "10")], &[Some(10.0), Some(10.0), Some(0.0)]),
            s("A", &[("le", "20")], &[Some(20.0), Some(10.0), Some(30.0)]),
        ]);
        let h = heatmaps(&f).unwrap();
        assert_eq!(h.len(), 1);
        let h = &h[0];
        assert_eq!(
            h.bounds,
            vec![
                (0.0, 10.0),
                (10.0, 20.0),
                (20.0, 30.0),
                (30.0, f64::INFINITY)
            ]
        );
        assert_eq!(h.counts[0], vec![Some(10.0), Some(10.0), Some(0.0)]);
        assert_eq!(h.counts[1], vec![Some(10.0), Some(0.0), Some(30.0)]);
        assert_eq!(h.counts[2], vec![Some(10.0), Some(0.0), Some(5.0)]);
        assert_eq!(h.counts[3], vec![Some(1.0), Some(0.0), Some(5.0)]);
        assert_eq!(h.max_count(), Some(30.0));
        assert!(h.labels.is_empty());
        assert_eq!(h.times_ms, vec![0, 10, 20]);
    }

    #[test]
    fn gaps_negative_differences_and_fractional_bounds() {
        let f = frame(vec![
            s("A", &[("le", "0.005")], &[Some(2.0), None, Some(5.0)]),
            s("A", &[("le", "0.01")], &[Some(1.5), Some(4.0), None]),
        ]);
        let h = &heatmaps(&f).unwrap()[0];
        assert_eq!(h.bounds, vec![(0.0, 0.005), (0.005, 0.01)]);
        // 1.5 − 2 stays negative as in Grafana; a missing lower bucket counts as 0; a missing
        // bucket stays missing.
        assert_eq!(h.counts[1], vec![Some(-0.5), Some(4.0), None]);
        assert_eq!(h.counts[0], vec![Some(2.0), None, Some(5.0)]);
    }

    #[test]
    fn groups_histograms_by_other_labels() {
        let f = frame(vec![
            s("A", &[("job", "b"), ("le", "1")], &[Some(1.0); 3]),
            s("A", &[("job", "a"), ("le", "1")], &[Some(2.0); 3]),
            s("A", &[("job", "b"), ("le", "+Inf")], &[Some(4.0); 3]),
            s("B", &[("job", "b"), ("le", "1")], &[Some(9.0); 3]),
        ]);
        let h = heatmaps(&f).unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].labels, vec![("job".to_string(), "b".to_string())]);
        assert_eq!(h[0].counts, vec![vec![Some(1.0); 3], vec![Some(3.0); 3]]);
        assert_eq!(h[1].labels, vec![("job".to_string(), "a".to_string())]);
        assert_eq!(h[2].ref_id, "B");
        // Negative first bound: unbounded below.
        let f = frame(vec![s("A", &[("le", "-1")], &[Some(1.0); 3])]);
        assert_eq!(
            heatmaps(&f).unwrap()[0].bounds,
            vec![(f64::NEG_INFINITY, -1.0)]
        );
    }

    #[test]
    fn errors() {
        let f = frame(vec![s("A", &[("job", "a")], &[None; 3])]);
        let e = heatmaps(&f).unwrap_err();
        assert!(matches!(e, HeatmapError::MissingLe { .. }));
        assert!(e.to_string().contains("sum by (le)"));
        let f = frame(vec![s("A", &[("le", "big")], &[None; 3])]);
        assert!(matches!(heatmaps(&f), Err(HeatmapError::InvalidLe { .. })));
        let f = frame(vec![
            s("A", &[("le", "1")], &[None; 3]),
            s("A", &[("le", "1.0")], &[None; 3]),
        ]);
        assert!(matches!(
            heatmaps(&f),
            Err(HeatmapError::DuplicateLe { .. })
        ));
        assert!(heatmaps(&Frame::default()).unwrap().is_empty());
    }
}
