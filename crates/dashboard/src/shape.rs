//! Panel data shaping: query results (Prometheus' API shape) → a [`Frame`] of series aligned
//! on a time axis, or an [`InstantFrame`] of single values.
//!
//! A range query's series are placed on the step grid of their query (`start..=end` every
//! `step`). A step without a sample stays `None`: a gap, which a panel does not bridge — the
//! same gaps Grafana's time series panel draws when it inserts nulls where samples are more
//! than one step apart. `NaN` and `±Inf` samples are gaps too. When the targets of a panel
//! ran with different steps, the frame's time axis is the union of their grids and each series
//! keeps its own grid: slots of another target's grid are not gaps of this series
//! ([`FrameSeries::own_values`], [`Frame::segments`]).

use lookout_promql::labels::Labels;
use lookout_promql::value::{ApiPoint, QueryData};
use serde::{Deserialize, Serialize};

use crate::legend;

/// The most slots one grid may have (Prometheus itself refuses more than 11,000 points per
/// series; this leaves room for panels that union several grids).
pub const MAX_GRID_POINTS: i64 = 100_000;
/// The most values (series × time slots) one frame may hold.
pub const MAX_FRAME_CELLS: usize = 20_000_000;

/// Errors of shaping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// The step is not positive or the end is before the start.
    #[error("invalid step grid: start {start_ms} ms, end {end_ms} ms, step {step_ms} ms")]
    InvalidGrid {
        /// Grid start.
        start_ms: i64,
        /// Grid end.
        end_ms: i64,
        /// Grid step.
        step_ms: i64,
    },
    /// More than [`MAX_GRID_POINTS`] slots.
    #[error("the step grid has {points} points, more than {max}; use a larger step")]
    GridTooLarge {
        /// Its slot count.
        points: i64,
        /// [`MAX_GRID_POINTS`].
        max: i64,
    },
    /// More than [`MAX_FRAME_CELLS`] values.
    #[error("{series} series × {times} time slots is more than the {max} values a panel holds")]
    FrameTooLarge {
        /// Series count.
        series: usize,
        /// Time slots.
        times: usize,
        /// [`MAX_FRAME_CELLS`].
        max: usize,
    },
    /// The result type does not fit the shaping asked for.
    #[error("query {ref_id}: a {found} result cannot be shown as {expected}")]
    UnexpectedType {
        /// The target's ref id.
        ref_id: String,
        /// What was given.
        found: &'static str,
        /// What fits.
        expected: &'static str,
    },
}

/// A range query's step grid: `start_ms, start_ms + step_ms, …` up to `end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grid {
    /// First slot.
    pub start_ms: i64,
    /// Last slot is the largest `start + k·step` ≤ this.
    pub end_ms: i64,
    /// Step, positive.
    pub step_ms: i64,
}

impl Grid {
    /// A checked grid: positive step, `start ≤ end`, at most [`MAX_GRID_POINTS`] slots.
    pub fn new(start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Self, ShapeError> {
        let invalid = ShapeError::InvalidGrid {
            start_ms,
            end_ms,
            step_ms,
        };
        if step_ms <= 0 {
            return Err(invalid);
        }
        let span = end_ms
            .checked_sub(start_ms)
            .filter(|s| *s >= 0)
            .ok_or(invalid)?;
        let points = span / step_ms + 1;
        if points > MAX_GRID_POINTS {
            return Err(ShapeError::GridTooLarge {
                points,
                max: MAX_GRID_POINTS,
            });
        }
        Ok(Self {
            start_ms,
            end_ms,
            step_ms,
        })
    }

    /// Slot count.
    pub fn len(&self) -> usize {
        if self.step_ms <= 0 || self.end_ms < self.start_ms {
            return 0;
        }
        ((self.end_ms - self.start_ms) / self.step_ms + 1) as usize
    }

    /// Whether the grid has no slot (only for unchecked values).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot times.
    pub fn times(&self) -> Vec<i64> {
        (0..self.len() as i64)
            .map(|k| self.start_ms + k * self.step_ms)
            .collect()
    }

    /// Whether `t` is one of the slots.
    pub fn contains(&self, t: i64) -> bool {
        self.step_ms > 0
            && t >= self.start_ms
            && t <= self.end_ms
            && (t - self.start_ms) % self.step_ms == 0
    }
}

/// One target's answer, borrowed for shaping.
#[derive(Debug, Clone, Copy)]
pub struct TargetResult<'a> {
    /// The target's ref id.
    pub ref_id: &'a str,
    /// Its legend format.
    pub legend_format: &'a str,
    /// Its expression (names series without labels).
    pub expr: &'a str,
    /// The query's `data`.
    pub data: &'a QueryData,
    /// This target's own grid when its step differs from the panel's; `None` = the panel's.
    pub grid: Option<Grid>,
}

/// Series aligned on a common time axis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    /// The time axis, ascending: the step grid (the union of grids when targets differ).
    pub times_ms: Vec<i64>,
    /// The series, targets in order, each target's series in the order of its answer.
    pub series: Vec<FrameSeries>,
}

/// One series of a [`Frame`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameSeries {
    /// The target it came from.
    pub ref_id: String,
    /// Display name from the legend format.
    pub name: String,
    /// Its labels, sorted by name (`__name__` included).
    pub labels: Vec<(String, String)>,
    /// The grid its query ran on.
    pub grid: Grid,
    /// One value per slot of [`Frame::times_ms`]; `None` = no finite sample there.
    pub values: Vec<Option<f64>>,
}

impl FrameSeries {
    /// The values on this series' own grid (plus any sample off it): what the series itself
    /// answered, without the slots other targets' grids added to the axis.
    pub fn own_values(&self, times_ms: &[i64]) -> Vec<Option<f64>> {
        times_ms
            .iter()
            .zip(&self.values)
            .filter(|(t, v)| v.is_some() || self.grid.contains(**t))
            .map(|(_, v)| *v)
            .collect()
    }
}

impl Frame {
    /// The runs of consecutive samples of series `index`, split at gaps (a step of its own
    /// grid without a finite sample): what a line is drawn through. Empty for a bad index.
    pub fn segments(&self, index: usize) -> Vec<Vec<(i64, f64)>> {
        let Some(s) = self.series.get(index) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut run = Vec::new();
        for (t, v) in self.times_ms.iter().zip(&s.values) {
            match v {
                Some(v) => run.push((*t, *v)),
                None if s.grid.contains(*t) && !run.is_empty() => {
                    out.push(std::mem::take(&mut run));
                }
                None => {}
            }
        }
        if !run.is_empty() {
            out.push(run);
        }
        out
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn label_pairs(labels: &Labels) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn type_name(data: &QueryData) -> &'static str {
    match data {
        QueryData::Scalar(_) => "scalar",
        QueryData::String(_) => "string",
        QueryData::Vector(_) => "vector",
        QueryData::Matrix(_) => "matrix",
    }
}

/// The label sets of every series or sample in the results (for `__auto` names).
fn all_labels<'a>(results: &'a [TargetResult<'a>]) -> impl Iterator<Item = &'a Labels> {
    results
        .iter()
        .flat_map(|r| -> Box<dyn Iterator<Item = &'a Labels>> {
            match r.data {
                QueryData::Matrix(m) => Box::new(m.iter().map(|s| &s.metric)),
                QueryData::Vector(v) => Box::new(v.iter().map(|s| &s.metric)),
                _ => Box::new(std::iter::empty()),
            }
        })
}

/// Shapes range query results into a [`Frame`] on `grid` (each target on its own grid when
/// it has one). Samples outside their grid's `[start, end]` are dropped; a sample between two
/// slots gets a slot of its own on the axis. Only matrix results fit.
pub fn shape_range(results: &[TargetResult<'_>], grid: Grid) -> Result<Frame, ShapeError> {
    let grid = Grid::new(grid.start_ms, grid.end_ms, grid.step_ms)?;
    let mut series_count = 0;
    let mut times: Vec<i64> = grid.times();
    for r in results {
        let g = match r.grid {
            Some(g) => Grid::new(g.start_ms, g.end_ms, g.step_ms)?,
            None => grid,
        };
        let QueryData::Matrix(m) = r.data else {
            return Err(ShapeError::UnexpectedType {
                ref_id: r.ref_id.to_string(),
                found: type_name(r.data),
                expected: "a time series (range query result)",
            });
        };
        series_count += m.len();
        if r.grid.is_some() {
            times.extend(g.times());
        }
        for s in m {
            times.extend(
                s.values
                    .iter()
                    .map(ApiPoint::t_ms)
                    .filter(|t| *t >= g.start_ms && *t <= g.end_ms && !g.contains(*t)),
            );
        }
        // Bound the work on hostile answers before sorting.
        if times.len() > MAX_FRAME_CELLS {
            return Err(ShapeError::FrameTooLarge {
                series: series_count,
                times: times.len(),
                max: MAX_FRAME_CELLS,
            });
        }
    }
    times.sort_unstable();
    times.dedup();
    if series_count.saturating_mul(times.len()) > MAX_FRAME_CELLS {
        return Err(ShapeError::FrameTooLarge {
            series: series_count,
            times: times.len(),
            max: MAX_FRAME_CELLS,
        });
    }

    let single = legend::single_label_name(all_labels(results));
    let mut series = Vec::with_capacity(series_count);
    for r in results {
        let g = r.grid.unwrap_or(grid);
        let QueryData::Matrix(m) = r.data else {
            continue;
        };
        for s in m {
            let mut values = vec![None; times.len()];
            for p in &s.values {
                let t = p.t_ms();
                if t < g.start_ms || t > g.end_ms {
                    continue;
                }
                if let Ok(i) = times.binary_search(&t) {
                    values[i] = finite(p.value());
                }
            }
            series.push(FrameSeries {
                ref_id: r.ref_id.to_string(),
                name: legend::series_name(r.legend_format, &s.metric, r.expr, single.as_deref()),
                labels: label_pairs(&s.metric),
                grid: g,
                values,
            });
        }
    }
    Ok(Frame {
        times_ms: times,
        series,
    })
}

/// Single values: instant query results.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantFrame {
    /// The values, targets in order, each target's samples in the order of its answer.
    pub series: Vec<InstantSeries>,
}

/// One value of an [`InstantFrame`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantSeries {
    /// The target it came from.
    pub ref_id: String,
    /// Display name from the legend format.
    pub name: String,
    /// Its labels, sorted by name (`__name__` included).
    pub labels: Vec<(String, String)>,
    /// The sample's time.
    pub time_ms: i64,
    /// The value; `None` for NaN and ±Inf.
    pub value: Option<f64>,
}

/// Shapes instant query results (vectors and scalars) into an [`InstantFrame`]. A matrix
/// (a range selector such as `x[5m]`) or a string does not fit.
pub fn shape_instant(results: &[TargetResult<'_>]) -> Result<InstantFrame, ShapeError> {
    let single = legend::single_label_name(all_labels(results));
    let mut series = Vec::new();
    for r in results {
        match r.data {
            QueryData::Vector(v) => {
                if series.len().saturating_add(v.len()) > MAX_FRAME_CELLS {
                    return Err(ShapeError::FrameTooLarge {
                        series: series.len() + v.len(),
                        times: 1,
                        max: MAX_FRAME_CELLS,
                    });
                }
                series.extend(v.iter().map(|s| InstantSeries {
                    ref_id: r.ref_id.to_string(),
                    name: legend::series_name(
                        r.legend_format,
                        &s.metric,
                        r.expr,
                        single.as_deref(),
                    ),
                    labels: label_pairs(&s.metric),
                    time_ms: s.value.t_ms(),
                    value: finite(s.value.value()),
                }));
            }
            QueryData::Scalar(p) => series.push(InstantSeries {
                ref_id: r.ref_id.to_string(),
                name: legend::series_name(r.legend_format, &Labels::default(), r.expr, None),
                labels: Vec::new(),
                time_ms: p.t_ms(),
                value: finite(p.value()),
            }),
            other => {
                return Err(ShapeError::UnexpectedType {
                    ref_id: r.ref_id.to_string(),
                    found: type_name(other),
                    expected: "single values (instant vector or scalar)",
                });
            }
        }
    }
    Ok(InstantFrame { series })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_promql::value::{ApiSample, ApiSeries};

    fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> ApiSeries {
        ApiSeries {
            metric: Labels::from_pairs(labels),
            values: points.iter().map(|&(t, v)| ApiPoint::new(t, v)).collect(),
        }
    }

    fn target<'a>(ref_id: &'a str, legend: &'a str, data: &'a QueryData) -> TargetResult<'a> {
        TargetResult {
            ref_id,
            legend_format: legend,
            expr: "expr",
            data,
            grid: None,
        }
    }

    #[test]
    fn gaps_for_missing_steps_and_non_finite_values() {
        let data = QueryData::Matrix(vec![series(
            &[("job", "a")],
            &[
                (0, 1.0),
                (10_000, 2.0),
                // 20_000 missing
                (30_000, f64::NAN),
                (40_000, f64::INFINITY),
                (50_000, f64::NEG_INFINITY),
                (60_000, 7.0),
                (70_000, 8.0), // past the grid's end
            ],
        )]);
        let frame = shape_range(
            &[target("A", "{{job}}", &data)],
            Grid::new(0, 60_000, 10_000).unwrap(),
        )
        .unwrap();
        assert_eq!(
            frame.times_ms,
            vec![0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]
        );
        let s = &frame.series[0];
        assert_eq!(s.name, "a");
        assert_eq!(
            s.values,
            vec![Some(1.0), Some(2.0), None, None, None, None, Some(7.0)]
        );
        assert_eq!(
            frame.segments(0),
            vec![vec![(0, 1.0), (10_000, 2.0)], vec![(60_000, 7.0)]]
        );
        assert!(frame.segments(5).is_empty());
    }

    #[test]
    fn targets_with_different_steps_share_the_axis_without_false_gaps() {
        let fine = QueryData::Matrix(vec![series(
            &[("s", "fine")],
            &[
                (0, 1.0),
                (15_000, 2.0),
                (30_000, 3.0),
                (45_000, 4.0),
                (60_000, 5.0),
            ],
        )]);
        let coarse = QueryData::Matrix(vec![series(
            &[("s", "coarse")],
            &[(0, 10.0), (30_000, 30.0), (60_000, 60.0)],
        )]);
        let odd = QueryData::Matrix(vec![series(&[("s", "odd")], &[(20_000, 9.0)])]);
        let panel = Grid::new(0, 60_000, 15_000).unwrap();
        let frame = shape_range(
            &[
                target("A", "{{s}}", &fine),
                TargetResult {
                    grid: Some(Grid::new(0, 60_000, 30_000).unwrap()),
                    ..target("B", "{{s}}", &coarse)
                },
                target("C", "{{s}}", &odd),
            ],
            panel,
        )
        .unwrap();
        // The off-grid sample at 20 s gets its own slot.
        assert_eq!(
            frame.times_ms,
            vec![0, 15_000, 20_000, 30_000, 45_000, 60_000]
        );
        let names: Vec<&str> = frame.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["fine", "coarse", "odd"]);
        assert_eq!(
            frame.series[0].values,
            vec![Some(1.0), Some(2.0), None, Some(3.0), Some(4.0), Some(5.0)]
        );
        assert_eq!(
            frame.series[1].values,
            vec![Some(10.0), None, None, Some(30.0), None, Some(60.0)]
        );
        // The coarse series has no gap: 15 s and 45 s are not on its grid.
        assert_eq!(frame.segments(1).len(), 1);
        assert_eq!(
            frame.series[1].own_values(&frame.times_ms),
            vec![Some(10.0), Some(30.0), Some(60.0)]
        );
        // The fine series has no gap either: 20 s is not on its grid.
        assert_eq!(frame.segments(0).len(), 1);
        // The odd sample alone: its grid's slots around it are gaps.
        assert_eq!(frame.segments(2), vec![vec![(20_000, 9.0)]]);
    }

    #[test]
    fn same_names_stay_separate_and_auto_names() {
        let data = QueryData::Matrix(vec![
            series(&[("le", "0.5"), ("x", "1")], &[(0, 1.0)]),
            series(&[("le", "0.5"), ("x", "2")], &[(0, 2.0)]),
        ]);
        let frame =
            shape_range(&[target("A", "{{le}}", &data)], Grid::new(0, 0, 1).unwrap()).unwrap();
        assert_eq!(frame.series.len(), 2);
        assert_eq!(frame.series[0].name, "0.5");
        assert_eq!(frame.series[1].name, "0.5");
        assert_eq!(frame.series[1].values, vec![Some(2.0)]);
        let by_le = QueryData::Matrix(vec![
            series(&[("le", "0.5")], &[(0, 1.0)]),
            series(&[("le", "+Inf")], &[(0, 2.0)]),
        ]);
        let frame = shape_range(
            &[target("A", legend::AUTO, &by_le)],
            Grid::new(0, 0, 1).unwrap(),
        )
        .unwrap();
        assert_eq!(frame.series[1].name, "+Inf");
        assert_eq!(
            frame.series[1].labels,
            vec![("le".to_string(), "+Inf".to_string())]
        );
    }

    #[test]
    fn grid_checks_and_type_errors() {
        assert!(Grid::new(0, 10, 0).is_err());
        assert!(Grid::new(10, 0, 1).is_err());
        assert!(matches!(
            Grid::new(0, 1_000_000_000, 1),
            Err(ShapeError::GridTooLarge { .. })
        ));
        assert!(Grid::new(i64::MIN, i64::MAX, 1).is_err());
        let g = Grid::new(5, 27, 10).unwrap();
        assert_eq!(g.times(), vec![5, 15, 25]);
        assert!(g.contains(25) && !g.contains(27) && !g.contains(-5));
        let v = QueryData::Vector(vec![]);
        assert!(matches!(
            shape_range(&[target("A", "", &v)], g),
            Err(ShapeError::UnexpectedType {
                found: "vector",
                ..
            })
        ));
        let m = QueryData::Matrix(vec![]);
        assert!(matches!(
            shape_instant(&[target("A", "", &m)]),
            Err(ShapeError::UnexpectedType {
                found: "matrix",
                ..
            })
        ));
    }

    #[test]
    fn instant_vectors_and_scalars() {
        let v = QueryData::Vector(vec![
            ApiSample {
                metric: Labels::from_pairs(&[("__name__", "up"), ("job", "a")]),
                value: ApiPoint::new(1_000, 1.0),
            },
            ApiSample {
                metric: Labels::from_pairs(&[("__name__", "up"), ("job", "b")]),
                value: ApiPoint::new(1_000, f64::NAN),
            },
        ]);
        let s = QueryData::Scalar(ApiPoint::new(2_000, 42.0));
        let frame = shape_instant(&[
            target("A", "", &v),
            TargetResult {
                expr: "6 * 7",
                ..target("B", legend::AUTO, &s)
            },
        ])
        .unwrap();
        assert_eq!(frame.series.len(), 3);
        assert_eq!(frame.series[0].name, r#"up{job="a"}"#);
        assert_eq!(frame.series[0].value, Some(1.0));
        assert_eq!(frame.series[1].value, None);
        assert_eq!(frame.series[2].name, "6 * 7");
        assert_eq!(frame.series[2].value, Some(42.0));
        assert_eq!(frame.series[2].time_ms, 2_000);
        assert_eq!(frame.series[2].ref_id, "B");
    }
}
