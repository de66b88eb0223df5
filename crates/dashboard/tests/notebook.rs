//! End to end with the embedded engine: a notebook's JSON → the time range and interval →
//! the substituted query run by `lookout_promql::Engine` → frames, heatmaps, reducers, units,
//! thresholds and a table.

use lookout_dashboard::interval::{self, IntervalInputs};
use lookout_dashboard::model::Notebook;
use lookout_dashboard::reduce::{Reducer, reduce, series_reduce};
use lookout_dashboard::shape::{Grid, TargetResult, shape_instant, shape_range};
use lookout_dashboard::table::{TableCell, table_from_instant};
use lookout_dashboard::thresholds::{color_for, value_range};
use lookout_dashboard::units::format_value;
use lookout_dashboard::{PanelKind, default_kind, heatmaps};
use lookout_promql::{Engine, Labels, Storage};

const NOW: i64 = 1_700_000_000_000;
const SCRAPE: i64 = 15_000;

const NOTEBOOK: &str = r#"{
  "schemaVersion": 1,
  "uid": "e2e",
  "title": "Inference",
  "time": { "from": "now-1h", "to": "now" },
  "cells": [
    {
      "id": 1,
      "title": "Latency buckets",
      "targets": [
        { "refId": "A", "expr": "sum by (le) (rate(inference_time_bucket[$__rate_interval]))",
          "legendFormat": "__auto", "format": "heatmap" }
      ],
      "panel": { "kind": "heatmap" }
    },
    {
      "id": 2,
      "title": "Up",
      "targets": [ { "refId": "A", "expr": "up", "legendFormat": "{{ job }}" } ],
      "panel": {
        "kind": "stat",
        "field": { "unit": "percentunit", "min": 0, "max": 1,
                   "thresholds": { "mode": "absolute",
                                   "steps": [ { "value": null, "color": "red" },
                                              { "value": 1, "color": "green" } ] } },
        "stat": { "reducer": "mean" }
      }
    }
  ]
}"#;

fn storage() -> Storage {
    let mut s = Storage::new();
    let bucket =
        |le: &str| Labels::from_pairs(&[("__name__", "inference_time_bucket"), ("le", le)]);
    let up = |job: &str| Labels::from_pairs(&[("__name__", "up"), ("job", job)]);
    let first = (NOW - 2 * 3_600_000) / SCRAPE * SCRAPE;
    for (k, t) in (first..=NOW).step_by(SCRAPE as usize).enumerate() {
        let k = k as f64;
        // Per scrape: 1 observation ≤ 10 ms, 2 more ≤ 100 ms, 1 more above.
        s.append(&bucket("0.01"), t, k).unwrap();
        s.append(&bucket("0.1"), t, 3.0 * k).unwrap();
        s.append(&bucket("+Inf"), t, 4.0 * k).unwrap();
        s.append(&up("a"), t, 1.0).unwrap();
        // Job b is down (not scraped) for 20 minutes, 40 to 20 minutes ago.
        if !(NOW - 40 * 60_000..NOW - 20 * 60_000).contains(&t) {
            s.append(&up("b"), t, 1.0).unwrap();
        }
    }
    s
}

#[test]
fn notebook_end_to_end() {
    let nb = Notebook::from_json(NOTEBOOK).unwrap();
    let store = storage();
    let engine = Engine::default();
    let (start, end) = nb.time.resolve(NOW).unwrap();
    assert_eq!(end - start, 3_600_000);

    // Cell 1: the heatmap.
    let cell = &nb.cells[0];
    let target = &cell.targets[0];
    let inputs = IntervalInputs::for_target(start, end, target, Some(1100), Some(SCRAPE)).unwrap();
    let vars = interval::compute(&inputs).unwrap();
    assert_eq!(vars.step_ms, 15_000);
    assert_eq!(vars.rate_interval_ms, 60_000);
    let expr = interval::substitute(&target.expr, &vars);
    assert_eq!(expr, "sum by (le) (rate(inference_time_bucket[1m]))");
    let value = engine
        .range_query(
            &store,
            &expr,
            vars.query_start_ms,
            vars.query_end_ms,
            vars.step_ms,
        )
        .unwrap();
    let data = value.to_api(vars.query_end_ms);
    assert_eq!(default_kind(&data), PanelKind::TimeSeries);
    let grid = Grid::new(vars.query_start_ms, vars.query_end_ms, vars.step_ms).unwrap();
    let frame = shape_range(
        &[TargetResult {
            ref_id: &target.ref_id,
            legend_format: &target.legend_format,
            expr: &expr,
            data: &data,
            grid: None,
        }],
        grid,
    )
    .unwrap();
    assert_eq!(frame.times_ms.len(), 241);
    let mut names: Vec<&str> = frame.series.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["+Inf", "0.01", "0.1"]);
    let maps = heatmaps(&frame).unwrap();
    assert_eq!(maps.len(), 1);
    let h = &maps[0];
    assert_eq!(
        h.bounds,
        vec![(0.0, 0.01), (0.01, 0.1), (0.1, f64::INFINITY)]
    );
    // Rates per second: 1/15, 2/15 and 1/15 observations per bucket, at every step.
    for (bucket, expected) in [(0, 1.0 / 15.0), (1, 2.0 / 15.0), (2, 1.0 / 15.0)] {
        for c in &h.counts[bucket] {
            let c = c.expect("no gap in the histogram");
            assert!(
                (c - expected).abs() < 1e-9,
                "bucket {bucket}: {c} vs {expected}"
            );
        }
    }

    // Cell 2: up, with job b's outage as a gap.
    let cell = &nb.cells[1];
    let target = &cell.targets[0];
    let inputs = IntervalInputs::for_target(start, end, target, Some(1100), Some(SCRAPE)).unwrap();
    let vars = interval::compute(&inputs).unwrap();
    let value = engine
        .range_query(
            &store,
            &target.expr,
            vars.query_start_ms,
            vars.query_end_ms,
            vars.step_ms,
        )
        .unwrap();
    let data = value.to_api(vars.query_end_ms);
    let grid = Grid::new(vars.query_start_ms, vars.query_end_ms, vars.step_ms).unwrap();
    let frame = shape_range(
        &[TargetResult {
            ref_id: &target.ref_id,
            legend_format: &target.legend_format,
            expr: &target.expr,
            data: &data,
            grid: None,
        }],
        grid,
    )
    .unwrap();
    let b = frame.series.iter().position(|s| s.name == "b").unwrap();
    let a = frame.series.iter().position(|s| s.name == "a").unwrap();
    assert_eq!(frame.segments(a).len(), 1);
    assert_eq!(frame.segments(b).len(), 2, "the outage splits job b's line");
    // The last sample before the outage still answers for the 5 m lookback, so the gap is
    // 15 minutes: 60 missing steps of 15 s.
    let missing = frame.series[b]
        .values
        .iter()
        .filter(|v| v.is_none())
        .count();
    assert_eq!(missing, 60);

    let means = series_reduce(&frame, cell.panel.stat.reducer);
    assert_eq!(means[a], Some(1.0));
    assert_eq!(means[b], Some(1.0));
    let counts = series_reduce(&frame, Reducer::Count);
    assert_eq!(counts[a], Some(241.0));
    assert_eq!(counts[b], Some(181.0));
    // Availability of b over the hour: the stat panel's number and colour.
    let availability = reduce(
        &frame.series[b]
            .values
            .iter()
            .map(|v| Some(v.unwrap_or(0.0)))
            .collect::<Vec<_>>(),
        Reducer::Mean,
    )
    .unwrap();
    let field = &cell.panel.field;
    assert_eq!(
        format_value(availability, &field.unit, field.decimals).to_string(),
        "75.1%"
    );
    let (min, max) = value_range(field, &frame.series[b].values);
    assert_eq!((min, max), (0.0, 1.0));
    assert_eq!(
        color_for(&field.thresholds, Some(availability), min, max),
        "red"
    );
    assert_eq!(color_for(&field.thresholds, Some(1.0), min, max), "green");

    // The same query as an instant table, sorted by job, descending.
    let value = engine.instant_query(&store, "up", NOW).unwrap();
    let data = value.to_api(NOW);
    assert_eq!(default_kind(&data), PanelKind::Table);
    let inst = shape_instant(&[TargetResult {
        ref_id: "A",
        legend_format: "{{job}}",
        expr: "up",
        data: &data,
        grid: None,
    }])
    .unwrap();
    let mut table = table_from_instant(&inst);
    assert_eq!(table.columns, ["Time", "__name__", "job", "Value"]);
    let job = table.column_index("job").unwrap();
    table.sort_by(job, true).unwrap();
    assert_eq!(table.rows[0][job], TableCell::Text("b".into()));
    assert_eq!(table.rows[1][job], TableCell::Text("a".into()));
    assert_eq!(table.rows[0][0], TableCell::Time(NOW));

    // And the notebook round-trips.
    let again = Notebook::from_json(&nb.to_json_pretty().unwrap()).unwrap();
    assert_eq!(again, nb);
}
