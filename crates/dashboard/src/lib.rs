//! The notebook/dashboard model and panel data shaping (no I/O, no clock).
//!
//! What the PromQL notebook's page, the dashboards and the alert evaluator share, with
//! Grafana's semantics wherever Grafana has them (each module names the Grafana source it
//! follows):
//!
//! - [`document`]: the dashboard: a grid of panels, rows, variables, versioned JSON;
//! - [`variables`]: template variables: substitution (`$var`, `${var:format}`, …), options
//!   from queries, custom lists and intervals, selection rules;
//! - [`share`]: a dashboard or panel as a URL fragment;
//! - [`check`]: every query parses, every variable exists;
//! - [`diff`]: line diffs of two versions;
//! - [`builtin`]: the dashboards Lookout ships (the seed's, model drift);
//! - [`model`]: the notebook document (cells, targets, panels, field options, thresholds),
//!   camelCase JSON with a schema version, no credentials;
//! - [`time`]: time ranges (`now-6h`), presets, zoom out, refresh choices, Prometheus
//!   durations;
//! - [`interval`]: `$__interval`, the range query's step, `$__rate_interval`, `$__range` and
//!   their substitution;
//! - [`shape`] and [`legend`]: query results → series aligned on the step grid, with gaps,
//!   named from the legend format;
//! - [`reduce`](mod@reduce): Grafana's reducers (`lastNotNull`, `mean`, `delta`, …);
//! - [`units`]: Grafana's units and automatic decimals;
//! - [`thresholds`]: threshold colours and bands;
//! - [`heatmap`]: classic histogram buckets → heatmaps;
//! - [`table`]: instant results as a sortable table;
//! - [`kind`]: the default panel for a result;
//! - [`run`]: a cell's targets planned, sent through any `QuerySource` and shaped.
//!
//! Callers pass the current time (`now_ms`) where it matters; everything compiles for wasm32.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod builtin;
pub mod check;
pub mod diff;
pub mod document;
pub mod heatmap;
pub mod interval;
pub mod kind;
pub mod legend;
pub mod model;
pub mod reduce;
pub mod run;
pub mod shape;
pub mod share;
pub mod sync;
pub mod table;
pub mod thresholds;
pub mod time;
pub mod units;
pub mod variables;

pub use document::{DASHBOARD_SCHEMA, Dashboard, DashboardError, LayoutItem, Row};
pub use heatmap::{Heatmap, HeatmapError, heatmaps};
pub use interval::{IntervalError, IntervalInputs, IntervalVars, substitute};
pub use kind::default_kind;
pub use model::{
    CURRENT_SCHEMA, Cell, DataSourceRef, DrawStyle, FieldConfig, GridPos, ModelError, Notebook,
    Panel, PanelKind, StatOptions, Target, TargetFormat, ThresholdStep, Thresholds, ThresholdsMode,
    ThresholdsStyle, TimeSeriesOptions,
};
pub use reduce::{Reducer, reduce, series_reduce};
pub use run::{CellData, PlannedQuery, RunError, plan_cell, run_cell, suggested_kind};
pub use shape::{
    Frame, FrameSeries, Grid, InstantFrame, InstantSeries, ShapeError, TargetResult, shape_instant,
    shape_range,
};
pub use table::{Table, TableCell, TableError, table_from_instant};
pub use time::{TimeError, TimeRange};
pub use units::{FormattedValue, format_value};
pub use variables::{
    Resolution, ResolveContext, Variable, VariableError, VariableFormat, VariableKind,
    VariableOption, apply_to_cell, resolve_all, resolve_options, substitute_variables,
    unknown_variables, validate_selection,
};
