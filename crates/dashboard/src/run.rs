//! Running a cell: its targets planned into queries (time range with the panel's overrides,
//! step, Grafana's variables substituted), sent through any [`QuerySource`], and the answers
//! shaped into the data its panel draws. Errors stay per target: one failing query never
//! hides another's answer. No clock: callers pass `now_ms`.

use lookout_datasource::{InstantQuery, QuerySource, RangeQuery, SourceError};
use lookout_promql::value::QueryData;
use serde::{Deserialize, Serialize};

use crate::interval::{self, IntervalInputs};
use crate::kind::kind_for;
use crate::model::{Cell, PanelKind};
use crate::reduce::{Reducer, reduce};
use crate::shape::{
    Frame, Grid, InstantFrame, InstantSeries, TargetResult, shape_instant, shape_range,
};
use crate::time::apply_panel_overrides;

/// One query of a cell, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedQuery {
    pub ref_id: String,
    /// The expression with `$__interval` & co. substituted.
    pub expr: String,
    pub legend_format: String,
    /// `Some` for a range query (its step grid), `None` for an instant query at `time_ms`.
    pub grid: Option<Grid>,
    pub time_ms: i64,
}

/// Why a cell could not be planned (its time range or step), or one target failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum RunError {
    #[error("time range: {0}")]
    Time(String),
    #[error("step: {0}")]
    Interval(String),
    #[error("{0}")]
    Source(SourceError),
    #[error("{0}")]
    Shape(String),
}

impl RunError {
    /// Where in the query a parse error is, for the editor to mark.
    pub fn position(&self) -> Option<usize> {
        match self {
            RunError::Source(e) => e.position(),
            _ => None,
        }
    }
}

/// Plans a cell's visible, non-empty targets over `range` (epoch ms) for a panel
/// `width_px` wide.
pub fn plan_cell(
    cell: &Cell,
    range: (i64, i64),
    now_ms: i64,
    width_px: Option<u32>,
    scrape_interval_ms: Option<i64>,
) -> Result<Vec<PlannedQuery>, RunError> {
    let (start, end) = apply_panel_overrides(
        range,
        cell.panel.relative_time.as_deref(),
        cell.panel.time_shift.as_deref(),
        now_ms,
    )
    .map_err(|e| RunError::Time(e.to_string()))?;
    let mut out = Vec::new();
    for t in cell
        .targets
        .iter()
        .filter(|t| !t.hide && !t.expr.trim().is_empty())
    {
        let inputs = IntervalInputs::for_target(start, end, t, width_px, scrape_interval_ms)
            .map_err(|e| RunError::Interval(e.to_string()))?;
        let vars = interval::compute(&inputs).map_err(|e| RunError::Interval(e.to_string()))?;
        let expr = interval::substitute(&t.expr, &vars);
        let instant = t.instant && !t.range;
        let grid = if instant {
            None
        } else {
            Some(
                Grid::new(vars.query_start_ms, vars.query_end_ms, vars.step_ms)
                    .map_err(|e| RunError::Shape(e.to_string()))?,
            )
        };
        out.push(PlannedQuery {
            ref_id: t.ref_id.clone(),
            expr,
            legend_format: t.legend_format.clone(),
            grid,
            time_ms: end,
        });
    }
    Ok(out)
}

/// What a cell's queries gave: range targets as one aligned frame, instant targets as an
/// instant frame, and each failed target's error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellData {
    pub frame: Option<Frame>,
    pub instant: Option<InstantFrame>,
    pub errors: Vec<(String, RunError)>,
    /// The queries as sent (substituted), for "query inspector" views and tests.
    pub queries: Vec<PlannedQuery>,
}

impl CellData {
    /// Nothing to draw (no series, no values).
    pub fn is_empty(&self) -> bool {
        self.frame.as_ref().is_none_or(|f| f.series.is_empty())
            && self.instant.as_ref().is_none_or(|f| f.series.is_empty())
    }

    /// One value per series for stat, gauge and bar gauge panels: range series reduced
    /// with `reducer`, instant series as they are.
    pub fn reduced(&self, reducer: Reducer) -> Vec<(String, Option<f64>)> {
        let mut out = Vec::new();
        if let Some(f) = &self.frame {
            for s in &f.series {
                out.push((s.name.clone(), reduce(&s.own_values(&f.times_ms), reducer)));
            }
        }
        if let Some(i) = &self.instant {
            out.extend(i.series.iter().map(|s| (s.name.clone(), s.value)));
        }
        out
    }

    /// The series as one instant frame (range series by their last non-null value), for a
    /// table.
    pub fn as_instant(&self) -> InstantFrame {
        let mut series = Vec::new();
        if let Some(f) = &self.frame {
            for s in &f.series {
                let own = s.own_values(&f.times_ms);
                let last = f
                    .times_ms
                    .iter()
                    .zip(&own)
                    .rev()
                    .find_map(|(t, v)| v.map(|v| (*t, v)));
                series.push(InstantSeries {
                    ref_id: s.ref_id.clone(),
                    name: s.name.clone(),
                    labels: s.labels.clone(),
                    time_ms: last.map_or(s.grid.end_ms, |(t, _)| t),
                    value: last.map(|(_, v)| v),
                });
            }
        }
        if let Some(i) = &self.instant {
            series.extend(i.series.iter().cloned());
        }
        InstantFrame { series }
    }
}

/// Runs a cell's queries one after the other through `source` and shapes the answers.
pub async fn run_cell<S: QuerySource>(
    source: &S,
    cell: &Cell,
    range: (i64, i64),
    now_ms: i64,
    width_px: Option<u32>,
    scrape_interval_ms: Option<i64>,
) -> CellData {
    let planned = match plan_cell(cell, range, now_ms, width_px, scrape_interval_ms) {
        Ok(p) => p,
        Err(e) => {
            return CellData {
                errors: vec![(String::new(), e)],
                ..CellData::default()
            };
        }
    };
    let mut answers: Vec<(usize, QueryData)> = Vec::new();
    let mut errors = Vec::new();
    for (i, q) in planned.iter().enumerate() {
        let answer = match q.grid {
            Some(g) => {
                source
                    .range(&RangeQuery {
                        query: q.expr.clone(),
                        start_ms: g.start_ms,
                        end_ms: g.end_ms,
                        step_ms: g.step_ms,
                    })
                    .await
            }
            None => {
                source
                    .instant(&InstantQuery {
                        query: q.expr.clone(),
                        time_ms: q.time_ms,
                    })
                    .await
            }
        };
        match answer {
            Ok(d) => answers.push((i, d)),
            Err(e) => errors.push((q.ref_id.clone(), RunError::Source(e))),
        }
    }
    let results = |range: bool| -> Vec<TargetResult<'_>> {
        answers
            .iter()
            .filter(|(i, _)| planned[*i].grid.is_some() == range)
            .map(|(i, d)| TargetResult {
                ref_id: &planned[*i].ref_id,
                legend_format: &planned[*i].legend_format,
                expr: &planned[*i].expr,
                data: d,
                grid: planned[*i].grid,
            })
            .collect()
    };
    let mut data = CellData::default();
    let ranged = results(true);
    if let Some(first) = ranged.first().and_then(|r| r.grid) {
        match shape_range(&ranged, first) {
            Ok(f) => data.frame = Some(f),
            Err(e) => errors.push((String::new(), RunError::Shape(e.to_string()))),
        }
    }
    let instants = results(false);
    if !instants.is_empty() {
        match shape_instant(&instants) {
            Ok(f) => data.instant = Some(f),
            Err(e) => errors.push((String::new(), RunError::Shape(e.to_string()))),
        }
    }
    data.errors = errors;
    data.queries = planned;
    data
}

/// The panel a cell's data suggests (the rule of [`crate::default_kind`]): a frame → time
/// series, one instant value → stat, several → table.
pub fn suggested_kind(data: &CellData) -> PanelKind {
    match (&data.frame, &data.instant) {
        (Some(f), _) if !f.series.is_empty() => kind_for(true, f.series.len()),
        (_, Some(i)) => kind_for(false, i.series.len()),
        _ => PanelKind::TimeSeries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;
    use lookout_datasource::{Embedded, EmbeddedStore, block_on_ready};
    use lookout_promql::{Engine, Labels};
    use std::cell::RefCell;
    use std::rc::Rc;

    const NOW: i64 = 1_700_000_000_000;

    fn source() -> Embedded<Rc<RefCell<EmbeddedStore>>> {
        let mut store = EmbeddedStore::default();
        for (label, per_step) in [("Cat", 1.0), ("Dog", 2.0)] {
            let l = Labels::from_pairs(&[("__name__", "prediction_value_total"), ("label", label)]);
            for k in 0..=240 {
                let t = NOW - 3_600_000 + k * 15_000;
                store
                    .storage
                    .append(&l, t, per_step * k as f64)
                    .expect("append");
            }
        }
        Embedded::new(Rc::new(RefCell::new(store)), Engine::default(), "test")
    }

    fn cell(targets: Vec<Target>) -> Cell {
        Cell {
            targets,
            ..Cell::default()
        }
    }

    fn target(ref_id: &str, expr: &str, legend: &str) -> Target {
        Target {
            ref_id: ref_id.into(),
            expr: expr.into(),
            legend_format: legend.into(),
            ..Target::default()
        }
    }

    #[test]
    fn runs_the_seed_query_with_variables_and_keeps_errors_per_target() {
        let src = source();
        let c = cell(vec![
            target(
                "A",
                "sum by (label) (rate(prediction_value_total[$__rate_interval]))",
                "{{label}}",
            ),
            target("B", "sum(rate(", ""),
        ]);
        let data = block_on_ready(run_cell(
            &src,
            &c,
            (NOW - 3_600_000, NOW),
            NOW,
            Some(1_000),
            Some(15_000),
        ));
        assert_eq!(
            data.queries[0].expr,
            "sum by (label) (rate(prediction_value_total[1m]))"
        );
        let f = data.frame.as_ref().expect("frame");
        let names: Vec<&str> = f.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Cat", "Dog"]);
        // 1 and 2 per 15 s scrape: 1/15 and 2/15 per second once the window is full.
        let reduced = data.reduced(Reducer::LastNotNull);
        assert!(
            (reduced[0].1.unwrap_or(0.0) - 1.0 / 15.0).abs() < 1e-9,
            "{reduced:?}"
        );
        assert!(
            (reduced[1].1.unwrap_or(0.0) - 2.0 / 15.0).abs() < 1e-9,
            "{reduced:?}"
        );
        assert_eq!(data.errors.len(), 1);
        assert_eq!(data.errors[0].0, "B");
        assert!(data.errors[0].1.position().is_some(), "{:?}", data.errors);
        assert_eq!(suggested_kind(&data), PanelKind::TimeSeries);
        let table = data.as_instant();
        assert_eq!(table.series.len(), 2);
    }

    #[test]
    fn instant_targets_and_hidden_ones() {
        let src = source();
        let mut a = target("A", "sum(prediction_value_total)", "");
        a.instant = true;
        a.range = false;
        let mut b = target("B", "prediction_value_total", "");
        b.hide = true;
        let data = block_on_ready(run_cell(
            &src,
            &cell(vec![a, b]),
            (NOW - 600_000, NOW),
            NOW,
            None,
            None,
        ));
        assert_eq!(data.queries.len(), 1, "hidden targets are not sent");
        let i = data.instant.as_ref().expect("instant");
        assert_eq!(i.series.len(), 1);
        assert_eq!(i.series[0].value, Some(240.0 * 3.0));
        assert_eq!(suggested_kind(&data), PanelKind::Stat);
        // An empty answer is not an error: the panel says "No data".
        let data = block_on_ready(run_cell(
            &src,
            &cell(vec![target("A", "nothing_here", "")]),
            (NOW - 600_000, NOW),
            NOW,
            None,
            None,
        ));
        assert!(data.errors.is_empty() && data.is_empty(), "{data:?}");
        // A reversed range is the cell's error, not a panic.
        let data = block_on_ready(run_cell(
            &src,
            &cell(vec![target("A", "up", "")]),
            (NOW, NOW - 600_000),
            NOW,
            None,
            None,
        ));
        assert_eq!(data.errors.len(), 1, "{data:?}");
    }
}
