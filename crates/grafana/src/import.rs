//! Grafana classic dashboard JSON → Lookout [`Dashboard`].

use std::collections::{BTreeMap, BTreeSet};

use lookout_dashboard::document::Row;
use lookout_dashboard::{Cell, Dashboard};
use serde_json::{Map, Value};

use crate::dashboard::{self, ALL as DASHBOARD_GROUPS};
use crate::datasource::{Ctx, input_entry};
use crate::error::ImportError;
use crate::groups::strip;
use crate::json::{self, Seg::K, str_of, truthy, type_name};
use crate::layout::{self, Flat, Node};
use crate::panel::{self, PanelCtx};
use crate::report::{Kept, LegacyAlert, Report, Source};
use crate::{targets, variables};

/// The oldest schema whose structure this crate reads (Grafana 4.6's `rows[]`).
const OLDEST: u64 = 14;
/// What Lookout writes for a dashboard it made (Grafana 7.1–7.3).
pub(crate) const DEFAULT_SHAPE: u64 = 26;
/// Reserved keys of the kept maps, consumed by export.
pub(crate) const KEPT_VARIABLES: &str = "lookout:variables";
pub(crate) const KEPT_ROWS: &str = "lookout:rows";
pub(crate) const KEPT_TARGETS: &str = "lookout:targets";

const GRID_LEAVES: [&[json::Seg]; 4] = [
    &[K("gridPos"), K("x")],
    &[K("gridPos"), K("y")],
    &[K("gridPos"), K("w")],
    &[K("gridPos"), K("h")],
];

/// Removes the position (written again from the layout); keeps other keys of `gridPos`.
fn drop_grid(kept: &mut Map<String, Value>) {
    if kept.get("gridPos").is_some_and(|g| !g.is_object()) {
        kept.remove("gridPos");
    }
    for leaf in GRID_LEAVES {
        json::remove(kept, leaf);
    }
    if kept
        .get("gridPos")
        .is_some_and(|g| g.as_object().is_some_and(Map::is_empty))
    {
        kept.remove("gridPos");
    }
}

fn is_repeat_copy(p: &Map<String, Value>) -> bool {
    truthy(p.get("repeatPanelId")) || truthy(p.get("repeatByRow"))
}

/// Counts panel types (rows' panels too) and drops the copies repeated panels left behind
/// (`removeRepeatedPanels`, schema 27).
fn survey(nodes: &mut Vec<Node>, report: &mut Report) {
    fn count(p: &Map<String, Value>, report: &mut Report) {
        let t = str_of(p, "type").unwrap_or("(no type)").to_string();
        *report.panels_by_type.entry(t).or_default() += 1;
        if let Some(kids) = p.get("panels").and_then(Value::as_array)
            && str_of(p, "type") == Some("row")
        {
            for k in kids.iter().filter_map(Value::as_object) {
                count(k, report);
            }
        }
    }
    let mut dropped = 0usize;
    nodes.retain(|n| {
        let copy = is_repeat_copy(&n.raw);
        dropped += usize::from(copy);
        !copy
    });
    for n in nodes.iter_mut() {
        if str_of(&n.raw, "type") == Some("row")
            && let Some(Value::Array(kids)) = n.raw.get_mut("panels")
        {
            let before = kids.len();
            kids.retain(|k| !k.as_object().is_some_and(is_repeat_copy));
            dropped += before - kids.len();
        }
        count(&n.raw, report);
    }
    if dropped > 0 {
        report.dropped.push(format!(
            "{dropped} copies of repeated panels (Grafana makes them again from `repeat`)"
        ));
    }
}

/// The kept keys of a panel, for the report.
fn kept_keys(kept: &Map<String, Value>) -> Vec<String> {
    let mut keys = Vec::new();
    for (k, v) in kept {
        match (k.as_str(), v) {
            (KEPT_TARGETS, Value::Object(by_ref)) => {
                for (r, extras) in by_ref {
                    for e in extras.as_object().into_iter().flat_map(|e| e.keys()) {
                        keys.push(format!("targets[{r}].{e}"));
                    }
                }
            }
            ("targets", Value::Array(raw)) => {
                for t in raw {
                    let r = t.get("refId").and_then(Value::as_str).unwrap_or("?");
                    keys.push(format!("targets[{r}]"));
                }
            }
            ("fieldConfig" | "options", Value::Object(inner)) => {
                for (ik, iv) in inner {
                    match (ik.as_str(), iv) {
                        ("defaults", Value::Object(d)) => {
                            keys.extend(d.keys().map(|dk| format!("{k}.defaults.{dk}")));
                        }
                        _ => keys.push(format!("{k}.{ik}")),
                    }
                }
            }
            _ => keys.push(k.clone()),
        }
    }
    keys
}

fn import_cell(
    flat: Flat,
    id: u64,
    ctx: &mut Ctx,
    report: &mut Report,
    assigned: &mut Vec<String>,
) -> Result<Cell, ImportError> {
    let j = flat.raw;
    let title = str_of(&j, "title").unwrap_or_default();
    let place = format!("{} {title:?}", flat.place);
    let t = targets::import(&j, &flat.place, ctx, &mut report.notes)?;
    if !t.assigned.is_empty() {
        assigned.push(flat.place.clone());
    }
    let has_targets = !t.targets.is_empty() || !t.raw.is_empty();
    let mut pc = PanelCtx {
        ds: ctx,
        has_targets,
        notes: Some(&mut report.notes),
        place: &place,
    };
    let mut cell = panel::read(&j, &mut pc);
    pc.notes = None;
    cell.id = id;
    cell.panel.grid = Some(flat.pos.grid());
    cell.alert = j.get("alert").filter(|a| !a.is_null()).cloned();
    if let Some(alert) = &cell.alert {
        report.legacy_alerts.push(LegacyAlert {
            panel: cell.title.clone(),
            name: alert
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        });
    }
    let mut kept = j.clone();
    for k in ["id", "targets", "alert"] {
        kept.remove(k);
    }
    drop_grid(&mut kept);
    panel::strip_panel(&j, &mut kept, &cell, &mut pc);
    report.queries += t.targets.len();
    report.kept_queries += t.raw.len();
    cell.targets = t.targets;
    if !t.extras.is_empty() {
        kept.insert(KEPT_TARGETS.into(), Value::Object(t.extras));
    }
    if !t.raw.is_empty() {
        kept.insert("targets".into(), Value::Array(t.raw));
    }
    if !kept.is_empty() {
        let unsupported = (cell.panel.kind == lookout_dashboard::PanelKind::Unsupported)
            .then(|| str_of(&j, "type").unwrap_or("(no type)").to_string());
        report.kept.push(Kept {
            place: format!("panel {id} {:?}", cell.title),
            unsupported_type: unsupported,
            keys: kept_keys(&kept),
        });
        cell.grafana = Some(kept);
    }
    Ok(cell)
}

fn import_row(flat: Flat, id: u64, collapsed: bool, kept_rows: &mut Map<String, Value>) -> Row {
    let mut extras = flat.raw;
    let title = str_of(&extras, "title").unwrap_or_default().to_string();
    let repeat = str_of(&extras, "repeat")
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    for k in ["type", "id", "title", "collapsed"] {
        extras.remove(k);
    }
    if repeat.is_some() {
        extras.remove("repeat");
    }
    drop_grid(&mut extras);
    if !extras.is_empty() {
        kept_rows.insert(id.to_string(), Value::Object(extras));
    }
    Row {
        id,
        title,
        y: flat.pos.grid().y,
        collapsed,
        repeat,
    }
}

/// Fresh ids for panels and rows without a usable one (missing, not a non-negative integer, or
/// used by an earlier panel); notes name them.
fn assign_ids(flat: &[Flat], notes: &mut Vec<String>) -> Vec<u64> {
    let own: Vec<Option<u64>> = flat
        .iter()
        .map(|f| f.raw.get("id").and_then(Value::as_u64))
        .collect();
    let mut next = own
        .iter()
        .flatten()
        .max()
        .map_or(1, |m| m.saturating_add(1));
    let mut seen = BTreeSet::new();
    let mut changed = Vec::new();
    let ids = own
        .iter()
        .zip(flat)
        .map(|(id, f)| match id {
            Some(id) if seen.insert(*id) => *id,
            _ => {
                let fresh = next;
                next = next.saturating_add(1);
                seen.insert(fresh);
                changed.push(format!(
                    "{} ({})",
                    f.place,
                    id.map_or("no id".to_string(), |i| format!("id {i} repeated"))
                ));
                fresh
            }
        })
        .collect();
    if !changed.is_empty() {
        notes.push(format!("new panel ids for {}", changed.join(", ")));
    }
    ids
}

/// Imports Grafana dashboard JSON (the top-level object, unwrapped).
pub(crate) fn grafana(
    obj: Map<String, Value>,
    report: &mut Report,
) -> Result<Dashboard, ImportError> {
    let schema = obj
        .get("schemaVersion")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    report.source = Source::Grafana {
        schema_version: schema,
    };
    if schema < OLDEST {
        report.notes.push(format!(
            "schemaVersion {schema} is older than {OLDEST} (Grafana 4.6); read as {OLDEST}"
        ));
    }
    let shape = schema.max(16);
    let mut ctx = Ctx {
        shape,
        ..Ctx::default()
    };
    ctx.read_inputs(obj.get("__inputs"));
    let entries: Vec<Map<String, Value>> = variables::list(&obj)?.into_iter().cloned().collect();
    for e in &entries {
        let (name, info) = variables::info(e);
        ctx.vars.entry(name).or_insert(info);
    }
    ctx.choose_primary();
    let entry_refs: Vec<&Map<String, Value>> = entries.iter().collect();
    let vars = variables::import(&entry_refs, &mut ctx, &mut report.notes);
    report.variables = vars.summary;

    // Panels: the grid's, then those of an old `rows[]` layout.
    let mut nodes = Vec::new();
    match obj.get("panels") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for (i, p) in a.iter().enumerate() {
                let o = p.as_object().ok_or_else(|| ImportError::WrongType {
                    at: format!("panels[{i}]"),
                    expected: "an object",
                    found: type_name(p),
                })?;
                nodes.push(Node {
                    raw: o.clone(),
                    place: format!("panels[{i}]"),
                });
            }
        }
        Some(other) => {
            return Err(ImportError::WrongType {
                at: "panels".into(),
                expected: "an array",
                found: type_name(other),
            });
        }
    }
    let mut consumed_rows = false;
    match obj.get("rows") {
        None | Some(Value::Null) => {}
        Some(Value::Array(rows)) if schema < 16 => {
            let up = layout::upgrade_rows(rows)?;
            let mut row_nodes = up.panels;
            // Count the document's panels, not the row panels made for it.
            let made: Vec<Node> = row_nodes
                .iter()
                .filter(|n| str_of(&n.raw, "type") == Some("row"))
                .cloned()
                .collect();
            for r in &made {
                for k in r
                    .raw
                    .get("panels")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let t = k.get("type").and_then(Value::as_str).unwrap_or("(no type)");
                    *report.panels_by_type.entry(t.to_string()).or_default() += 1;
                }
            }
            for n in row_nodes
                .iter()
                .filter(|n| str_of(&n.raw, "type") != Some("row"))
            {
                let t = str_of(&n.raw, "type").unwrap_or("(no type)").to_string();
                *report.panels_by_type.entry(t).or_default() += 1;
            }
            survey(&mut nodes, report);
            nodes.append(&mut row_nodes);
            report.rows_created = up.rows_created;
            report.dropped.extend(up.dropped);
            consumed_rows = true;
        }
        Some(Value::Array(_)) => {
            report.notes.push(format!(
                "`rows` next to schemaVersion {schema}: Grafana ignores it; kept as it is"
            ));
        }
        Some(other) => {
            return Err(ImportError::WrongType {
                at: "rows".into(),
                expected: "an array",
                found: type_name(other),
            });
        }
    }
    if !consumed_rows {
        survey(&mut nodes, report);
    }
    let flat = layout::flatten(nodes, &mut report.notes)?;
    let ids = assign_ids(&flat, &mut report.notes);

    let mut d = dashboard::read(&obj);
    let mut kept_rows = Map::new();
    let mut assigned = Vec::new();
    for (f, id) in flat.into_iter().zip(ids) {
        match f.row {
            Some(collapsed) => d.rows.push(import_row(f, id, collapsed, &mut kept_rows)),
            None => d
                .panels
                .push(import_cell(f, id, &mut ctx, report, &mut assigned)?),
        }
    }
    if !assigned.is_empty() {
        let shown: Vec<&str> = assigned.iter().take(4).map(String::as_str).collect();
        let more = if assigned.len() > 4 { ", …" } else { "" };
        report.notes.push(format!(
            "queries without refId in {} panels named A, B, … as Grafana names them ({}{more})",
            assigned.len(),
            shown.join(", ")
        ));
    }
    d.panels.sort_by_key(|c| {
        let g = c.panel.grid.unwrap_or_default();
        (g.y, g.x, c.id)
    });
    d.rows.sort_by_key(|r| (r.y, r.id));
    d.variables = vars.vars;
    if str_of(&obj, "uid").is_none_or(|u| u != d.uid) {
        report.notes.push(format!(
            "uid {} is not a Lookout uid (1–40 of A-Z a-z 0-9 - _): {:?} derived from the title",
            obj.get("uid")
                .map_or("(none)".to_string(), Value::to_string),
            d.uid
        ));
    }
    if let Some(v) = obj.get("title").filter(|t| !t.is_string() && !t.is_null()) {
        report.notes.push(format!(
            "title is {}, not text: kept for Grafana",
            type_name(v)
        ));
    }
    report.title = d.title.clone();

    // What the dashboard keeps.
    let mut kept = obj.clone();
    for k in ["panels", "schemaVersion", "id", "templating"] {
        kept.remove(k);
    }
    if consumed_rows {
        kept.remove("rows");
    }
    if let Some(id) = obj.get("id").filter(|i| !i.is_null()) {
        report.dropped.push(format!(
            "id {id} (Grafana's database id; Grafana assigns one when importing)"
        ));
    }
    strip(&DASHBOARD_GROUPS, &obj, &mut kept, &d, &mut ());
    if let Some(inputs) = kept.get("__inputs") {
        // Export writes this very entry again when a reference needs it (and picks the same
        // name: no variable has it).
        if json::json_eq(inputs, &Value::Array(vec![input_entry(&ctx.primary)]))
            && !ctx.vars.contains_key(&ctx.primary)
        {
            kept.remove("__inputs");
        }
    }
    if shape != DEFAULT_SHAPE {
        kept.insert("schemaVersion".into(), Value::from(shape));
    }
    if let Some(Value::Object(t)) = obj.get("templating") {
        let mut t = t.clone();
        t.remove("list");
        if !vars.raw.is_empty() {
            t.insert("list".into(), Value::Array(vars.raw));
        }
        if !t.is_empty() {
            kept.insert("templating".into(), Value::Object(t));
        }
    }
    if !vars.extras.is_empty() {
        kept.insert(KEPT_VARIABLES.into(), Value::Object(vars.extras));
    }
    if !kept_rows.is_empty() {
        kept.insert(KEPT_ROWS.into(), Value::Object(kept_rows));
    }
    if !kept.is_empty() {
        let mut keys: Vec<String> = Vec::new();
        for (k, v) in &kept {
            match (k.as_str(), v) {
                (KEPT_VARIABLES | KEPT_ROWS, Value::Object(m)) => {
                    let what = if k == KEPT_ROWS { "row" } else { "variable" };
                    let mut inner: BTreeMap<&str, usize> = BTreeMap::new();
                    for e in m.values().filter_map(Value::as_object) {
                        for ik in e.keys() {
                            *inner.entry(ik).or_default() += 1;
                        }
                    }
                    keys.extend(inner.keys().map(|ik| format!("{what} {ik}")));
                }
                _ => keys.push(k.clone()),
            }
        }
        report.kept.insert(
            0,
            Kept {
                place: "dashboard".into(),
                unsupported_type: None,
                keys,
            },
        );
        d.grafana = Some(kept);
    }
    d.validate()?;
    Ok(d)
}
