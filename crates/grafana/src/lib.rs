//! Grafana classic dashboard JSON in and out of Lookout's dashboard model.
//!
//! [`import`] reads a Grafana dashboard export (schemaVersion 14, Grafana 4.6, through 41,
//! Grafana 12; also Grafana's API answer `{"dashboard": …, "meta": …}`) or Lookout's own
//! dashboard/notebook JSON into a [`Dashboard`], with a [`Report`] of what it found, converted,
//! kept and dropped. [`export`] writes a [`Dashboard`] as Grafana classic JSON that Grafana 7.1
//! through 12 imports.
//!
//! # Import
//!
//! Grafana's own migrations are applied where they change what Lookout models, in schema
//! order (`public/app/features/dashboard/state/DashboardMigrator.ts`): the `rows[]` layout
//! becomes the 24-column grid (schema 16, `upgradeToGridLayout`), tables with
//! `styles` are the old table (24), constants shown in the bar are textboxes (27),
//! singlestats are stats or gauges (28), query variables refresh at least on load (29),
//! data source names and `null` are references to Prometheus (33, 36). Graphs are read as
//! time series the way Grafana migrates them. Collapsed rows are opened the way
//! `DashboardModel.toggleRow` opens them (Lookout keeps every panel at its open position and
//! the row's `collapsed` flag).
//!
//! Nothing is lost: whatever Lookout does not model (annotations, links, `__inputs`,
//! `__requires`, series overrides, transformations, field overrides, legend and tooltip
//! options, query options such as `intervalFactor`, other data sources' queries, variables of
//! other types, whole panels of types Lookout does not draw) is kept in the `grafana` maps of
//! the dashboard and its panels and written back. Modelled values are kept too when Lookout's
//! way of writing them differs from the document's (a graph's `"min": "0"`, a variable's
//! `current` with `selected`), so an unedited import is written back as it was, value for
//! value. Legacy (Grafana 7) alerts stay on their panel in [`Cell::alert`](lookout_dashboard::Cell::alert) untouched.
//! Dropped are only what Grafana drops or makes again itself: its database `id`, the copies
//! repeated panels left behind, keys of the old row layout, the API answer's `meta`.
//!
//! Lookout JSON (a document with `cells`, a `schemaVersion` of at most 2, or panels that carry
//! a `panel` object) is read by `Dashboard::from_json`.
//!
//! # Export
//!
//! - **schemaVersion**: the version of the imported document, at least 16 (the grid is
//!   written; every other part is in the shape of that version, so Grafana runs its own
//!   migrations above it, as it would on the original); **26** (Grafana 7.1–7.3) for a
//!   dashboard made in Lookout, so Grafana 7.1 reads it as is and newer ones migrate it.
//! - **Panel types**: an imported panel keeps its type while it can show the panel's kind
//!   (a graph stays `graph` with its `yaxes` updated from Lookout's unit/min/max/decimals, a
//!   singlestat stays `singlestat`, `table-old` stays); panels made in Lookout (or whose kind
//!   changed) are written as `timeseries`, `stat`, `gauge`, `bargauge`, `table`, `heatmap`
//!   with `fieldConfig.defaults`. Grafana 7.1–7.3 show all of them but `timeseries` (added in
//!   7.4, beta until 8.0); `graph` and `singlestat` show in Grafana 7 (angular) and are
//!   migrated to `timeseries` and `stat`/`gauge` by Grafana 8+ (graph: automatically from
//!   Grafana 11, or with `autoMigrateOldPanels`; singlestat: always, schema 28); the heatmap
//!   of Grafana 7 is the old one, Grafana 9+ migrates it.
//! - **Layout**: `gridPos` for every panel; rows as row panels, a collapsed row carrying its
//!   panels inside (the inverse of import).
//! - **Data sources**: what was imported is written back; Lookout's own references are the
//!   Prometheus input `${DS_PROMETHEUS}` (or the dashboard's first Prometheus input) with its
//!   `__inputs` entry, so Grafana asks which Prometheus to use, or `${variable}`; strings
//!   below schema 33, `{type, uid}` objects from 33 on. A remote URL is never written.
//! - **Normalisations** (what does not survive export → import): the dashboard's own data
//!   source and version (Grafana has neither; import gives `Page` and 0); panel data sources
//!   `Page`, `Server` and `Remote` (all become the Prometheus input, so `Dashboard`); options of
//!   another kind than the panel's (time series options of a stat, stat options of a time
//!   series; an unsupported panel's options live in its kept JSON); the order of panels (top to
//!   bottom, left to right, then id) and rows (top to bottom, then id); a collapsed row's panels
//!   start right below it (Grafana moves them there when the row opens); an empty `uid` is
//!   derived from the title; empty objects left in kept maps at modelled places; below schema 27
//!   and 29 (the version written), constants shown in the bar and query variables that never
//!   refresh are read as Grafana migrates them (textbox; refresh on load); an interval
//!   variable's resolved `auto` value is not written (Grafana computes it); a graph's fill is
//!   written in tens and its bars read back solid, as Grafana migrates them. Queries of other
//!   data sources and variables Lookout does not model are written after Lookout's own; an
//!   unsupported panel keeps its own `type`, or none (a library panel has none).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod dashboard;
mod datasource;
mod error;
mod export;
mod groups;
mod import;
mod json;
mod layout;
mod panel;
mod report;
mod targets;
mod variables;

use lookout_dashboard::Dashboard;
use lookout_dashboard::model::MAX_JSON_BYTES;
use serde_json::{Map, Value};

pub use error::{ExportError, ImportError};
pub use report::{Kept, LegacyAlert, Report, Source, VariableSummary};

/// serde_json's recursion limit: deeper JSON is refused.
const MAX_DEPTH: usize = 128;

/// An imported dashboard and what the import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The dashboard, validated.
    pub dashboard: Dashboard,
    /// What was found, converted, kept and dropped.
    pub report: Report,
}

/// Imports Grafana dashboard JSON (or Lookout's own): at most 16 MiB, nesting at most 128 deep.
pub fn import(json: &str) -> Result<Imported, ImportError> {
    if json.len() > MAX_JSON_BYTES {
        return Err(ImportError::TooLarge {
            size: json.len(),
            max: MAX_JSON_BYTES,
        });
    }
    let value: Value = serde_json::from_str(json)?;
    import_owned(value)
}

/// [`import`] over parsed JSON.
pub fn import_value(value: &Value) -> Result<Imported, ImportError> {
    if json::depth_exceeds(value, MAX_DEPTH) {
        return Err(ImportError::TooDeep { max: MAX_DEPTH });
    }
    import_owned(value.clone())
}

/// Whether a top-level object is Lookout's own document.
fn is_lookout(obj: &Map<String, Value>) -> bool {
    obj.contains_key("cells")
        || obj
            .get("schemaVersion")
            .and_then(Value::as_u64)
            .is_some_and(|v| v <= u64::from(lookout_dashboard::DASHBOARD_SCHEMA))
        || obj
            .get("panels")
            .and_then(Value::as_array)
            .is_some_and(|p| {
                p.iter()
                    .any(|c| c.get("panel").is_some_and(Value::is_object))
            })
}

fn import_owned(value: Value) -> Result<Imported, ImportError> {
    let mut obj = match value {
        Value::Object(o) => o,
        other => {
            return Err(ImportError::NotAnObject {
                found: json::type_name(&other),
            });
        }
    };
    let mut report = Report::default();
    let wrapped = obj.get("dashboard").is_some_and(Value::is_object)
        && !["panels", "rows", "cells"]
            .iter()
            .any(|k| obj.contains_key(*k));
    if wrapped {
        if obj.contains_key("meta") {
            report
                .dropped
                .push("meta (Grafana's API metadata around the dashboard)".into());
        }
        obj = match obj.remove("dashboard") {
            Some(Value::Object(d)) => d,
            _ => Map::new(),
        };
    }
    if is_lookout(&obj) {
        let dashboard = Dashboard::from_value(&mut Value::Object(obj))?;
        report.source = Source::Lookout;
        report.title = dashboard.title.clone();
        for c in &dashboard.panels {
            let kind = serde_json::to_value(c.panel.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *report.panels_by_type.entry(kind).or_default() += 1;
            report.queries += c.targets.len();
        }
        if !dashboard.rows.is_empty() {
            report
                .panels_by_type
                .insert("row".into(), dashboard.rows.len());
        }
        report.variables = dashboard
            .variables
            .iter()
            .map(|v| VariableSummary {
                name: v.name.clone(),
                kind: v.kind.type_name().to_string(),
                kept_raw: false,
            })
            .collect();
        return Ok(Imported { dashboard, report });
    }
    let dashboard = import::grafana(obj, &mut report)?;
    Ok(Imported { dashboard, report })
}

/// Writes a dashboard as Grafana classic JSON (see the crate documentation for what is
/// written and which Grafana versions show it).
pub fn export(d: &Dashboard) -> Result<Value, ExportError> {
    export::grafana(d)
}

/// [`export`], pretty-printed, ending with a newline.
pub fn export_pretty(d: &Dashboard) -> Result<String, ExportError> {
    let mut s = serde_json::to_string_pretty(&export(d)?)?;
    s.push('\n');
    Ok(s)
}
