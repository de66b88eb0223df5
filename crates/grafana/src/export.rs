//! Lookout [`Dashboard`] → Grafana classic dashboard JSON.

use lookout_dashboard::document::Row;
use lookout_dashboard::{Cell, Dashboard};
use serde_json::{Map, Value, json};

use crate::dashboard::{self, ALL as DASHBOARD_GROUPS};
use crate::datasource::{Ctx, input_entry};
use crate::error::ExportError;
use crate::groups::restore;
use crate::import::{DEFAULT_SHAPE, KEPT_ROWS, KEPT_TARGETS, KEPT_VARIABLES};
use crate::layout::{Entry, fold};
use crate::panel::{self, PanelCtx};
use crate::{targets, variables};

fn cell_json(c: &Cell, y: u32, ctx: &mut Ctx) -> Value {
    let mut out = c.grafana.clone().unwrap_or_default();
    let extras = match out.remove(KEPT_TARGETS) {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    let raw = match out.remove("targets") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let list = targets::export(&c.targets, extras.as_ref(), &raw, &out);
    let has_targets = !list.is_empty();
    if has_targets {
        out.insert("targets".into(), Value::Array(list));
    }
    let mut pc = PanelCtx {
        ds: ctx,
        has_targets,
        notes: None,
        place: "",
    };
    panel::restore_panel(&mut out, c, &mut pc);
    out.insert("id".into(), Value::from(c.id));
    let g = c.panel.grid.unwrap_or_default();
    let mut grid = match out.remove("gridPos") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (k, v) in [("h", g.h), ("w", g.w), ("x", g.x), ("y", y)] {
        grid.insert(k.into(), Value::from(v));
    }
    out.insert("gridPos".into(), Value::Object(grid));
    if let Some(alert) = &c.alert {
        out.insert("alert".into(), alert.clone());
    }
    Value::Object(out)
}

fn row_json(r: &Row, y: u32, kids: Vec<Value>, kept: Option<&Map<String, Value>>) -> Value {
    let mut out = kept
        .and_then(|k| k.get(&r.id.to_string()))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    out.insert("type".into(), Value::from("row"));
    out.insert("id".into(), Value::from(r.id));
    out.insert("title".into(), Value::from(r.title.as_str()));
    out.insert("collapsed".into(), Value::Bool(r.collapsed));
    if let Some(rep) = &r.repeat {
        out.insert("repeat".into(), Value::from(rep.as_str()));
    }
    let mut grid = match out.remove("gridPos") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (k, v) in [("h", 1), ("w", 24), ("x", 0), ("y", y)] {
        grid.insert(k.into(), Value::from(v));
    }
    out.insert("gridPos".into(), Value::Object(grid));
    out.insert("panels".into(), Value::Array(kids));
    Value::Object(out)
}

/// Writes a dashboard as Grafana classic JSON (see the crate documentation).
pub(crate) fn grafana(d: &Dashboard) -> Result<Value, ExportError> {
    d.validate()?;
    let mut out = d.grafana.clone().unwrap_or_default();
    let var_extras = match out.remove(KEPT_VARIABLES) {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    let row_extras = match out.remove(KEPT_ROWS) {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    let mut templating = match out.remove("templating") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let raw_vars = match templating.remove("list") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let shape = out
        .remove("schemaVersion")
        .and_then(|v| v.as_u64())
        .unwrap_or(DEFAULT_SHAPE)
        .max(16);
    let mut ctx = Ctx {
        shape,
        ..Ctx::default()
    };
    ctx.read_inputs(out.get("__inputs"));
    for v in &d.variables {
        let (name, info) = variables::info(&variables_info_obj(v));
        ctx.vars.insert(name, info);
    }
    for v in raw_vars.iter().filter_map(Value::as_object) {
        let (name, info) = variables::info(v);
        ctx.vars.entry(name).or_insert(info);
    }
    ctx.choose_primary();

    let list = variables::export(&d.variables, var_extras.as_ref(), &raw_vars, &mut ctx);
    templating.insert("list".into(), Value::Array(list));
    out.insert("templating".into(), Value::Object(templating));

    let mut panels = Vec::new();
    for entry in fold(&d.rows, &d.panels) {
        match entry {
            Entry::Panel(c, y) => panels.push(cell_json(c, y, &mut ctx)),
            Entry::Row(r, y, kids) => {
                let kids = kids
                    .into_iter()
                    .map(|(c, ky)| cell_json(c, ky, &mut ctx))
                    .collect();
                panels.push(row_json(r, y, kids, row_extras.as_ref()));
            }
        }
    }
    out.insert("panels".into(), Value::Array(panels));
    restore(&DASHBOARD_GROUPS, &mut out, d, &mut (), |o, _| {
        dashboard::read(o)
    });
    if ctx.used_primary {
        let inputs = out
            .entry("__inputs")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !inputs.is_array() {
            *inputs = Value::Array(Vec::new());
        }
        if let Value::Array(list) = inputs {
            let present = list
                .iter()
                .any(|i| i.get("name").and_then(Value::as_str) == Some(ctx.primary.as_str()));
            if !present {
                list.push(input_entry(&ctx.primary));
            }
        }
    }
    out.insert("schemaVersion".into(), Value::from(shape));
    Ok(Value::Object(out))
}

/// The parts of a Lookout variable that data source references look at.
fn variables_info_obj(v: &lookout_dashboard::Variable) -> Map<String, Value> {
    let query = match &v.kind {
        lookout_dashboard::VariableKind::Datasource { query, .. } => query.as_str(),
        _ => "",
    };
    json!({"name": v.name, "type": v.kind.type_name(), "query": query})
        .as_object()
        .cloned()
        .unwrap_or_default()
}
