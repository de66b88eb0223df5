//! Template variables: Grafana's `templating.list` as Lookout [`Variable`]s and back.
//!
//! Lookout models `query`, `custom`, `constant`, `interval`, `datasource` and `textbox`
//! variables. Other types (`adhoc`, `groupby`, `system`, plugins) and variables whose name
//! Lookout cannot reference (`$name` needs letters, digits and `_`; or a repeated name) are
//! kept as Grafana wrote them and written after Lookout's own.
//!
//! Grafana's migrations (`public/app/features/dashboard/state/DashboardMigrator.ts`) that
//! change what a variable is: a missing `type` is `query` (schema 6); a boolean `refresh` is
//! 1/0 (schema 12); below schema 27 a `constant` that is shown in the bar (`hide` 0 or 1) is a
//! `textbox` whose current value is its query; below schema 29 a `query` variable refreshes
//! on load at least (`refresh` 1 or 2). Newer exports write a query variable's `query` as an
//! object `{query, refId}`; its `query` is read.

use std::collections::BTreeSet;

use lookout_dashboard::variables::{ALL_TEXT, ALL_VALUE, VariableOption};
use lookout_dashboard::{DataSourceRef, Variable, VariableKind};
use serde_json::{Map, Value, json};

use crate::datasource::{Ctx, VarInfo};
use crate::error::ImportError;
use crate::groups::{Group, restore, strip};
use crate::json::{Path, Seg::K, lenient_f64, str_of, truthy, type_name};
use crate::report::VariableSummary;

/// Whether Lookout can reference a variable of this name (`Dashboard::validate`'s rule).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

const MODELLED: &[&str] = &[
    "query",
    "custom",
    "constant",
    "interval",
    "datasource",
    "textbox",
];

/// `templating.list`, checked: each entry must be an object.
pub(crate) fn list(
    dashboard: &Map<String, Value>,
) -> Result<Vec<&Map<String, Value>>, ImportError> {
    let templating = match dashboard.get("templating") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(t)) => t,
        Some(other) => {
            return Err(ImportError::WrongType {
                at: "templating".into(),
                expected: "an object",
                found: type_name(other),
            });
        }
    };
    let entries: &[Value] = match templating.get("list") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ImportError::WrongType {
                at: "templating.list".into(),
                expected: "an array",
                found: type_name(other),
            });
        }
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_object().ok_or_else(|| ImportError::WrongType {
                at: format!("templating.list[{i}]"),
                expected: "an object",
                found: type_name(v),
            })
        })
        .collect()
}

/// A variable as data source references see it.
pub(crate) fn info(v: &Map<String, Value>) -> (String, VarInfo) {
    let kind = str_of(v, "type").unwrap_or("query").to_string();
    let plugin = if kind == "datasource" {
        str_of(v, "query").unwrap_or_default().to_string()
    } else {
        String::new()
    };
    (
        str_of(v, "name").unwrap_or_default().to_string(),
        VarInfo { kind, plugin },
    )
}

fn query_of(v: &Map<String, Value>) -> String {
    match v.get("query") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => str_of(o, "query").unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::Number(n)) => vec![n.to_string()],
        Some(Value::Bool(b)) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

fn small(v: Option<&Value>, max: f64) -> Option<u8> {
    v.and_then(lenient_f64)
        .map(|f| f.clamp(0.0, max).round() as u8)
}

/// Reads one variable with Grafana's migrations for documents below `shape`; `notes` collects
/// what the migrations changed.
pub(crate) fn read(
    v: &Map<String, Value>,
    shape: u64,
    notes: Option<&mut Vec<String>>,
) -> Variable {
    let name = str_of(v, "name").unwrap_or_default().to_string();
    let kind_s = str_of(v, "type").unwrap_or("query");
    let query = query_of(v);
    let hide = small(v.get("hide"), 2.0).unwrap_or(0);
    let mut current = strings(v.get("current").and_then(|c| c.get("value")));
    let mut options: Vec<VariableOption> = v
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter_map(|o| {
            let value = str_of(o, "value")?;
            let text = str_of(o, "text").unwrap_or(value);
            Some(VariableOption::with_text(text, value))
        })
        .collect();
    let mut note = None;
    let kind = match kind_s {
        "query" => {
            let mut refresh = match v.get("refresh") {
                Some(Value::Bool(b)) => u8::from(*b),
                other => small(other, 255.0).unwrap_or(0),
            };
            if shape < 29 && refresh != 1 && refresh != 2 {
                note = Some(format!(
                    "variable {name:?}: refresh {refresh} read as 1, on load (Grafana's migration 29)"
                ));
                refresh = 1;
            }
            VariableKind::Query {
                query,
                regex: str_of(v, "regex").unwrap_or_default().to_string(),
                sort: small(v.get("sort"), 255.0).unwrap_or(0),
                refresh,
            }
        }
        "constant" if shape < 27 && hide < 2 => {
            note = Some(format!(
                "variable {name:?}: a constant shown in the bar is a textbox (Grafana's migration 27)"
            ));
            current = vec![query.clone()];
            options = vec![VariableOption::new(query.as_str())];
            VariableKind::Textbox { query }
        }
        "constant" => VariableKind::Constant { query },
        "custom" => VariableKind::Custom { query },
        "textbox" => VariableKind::Textbox { query },
        "interval" => VariableKind::Interval {
            query,
            auto: truthy(v.get("auto")),
            auto_count: v
                .get("auto_count")
                .and_then(lenient_f64)
                .map_or(30, |f| f.clamp(0.0, f64::from(u32::MAX)).round() as u32),
            auto_min: str_of(v, "auto_min").unwrap_or("10s").to_string(),
        },
        _ => VariableKind::Datasource {
            query,
            regex: str_of(v, "regex").unwrap_or_default().to_string(),
        },
    };
    if let (Some(n), Some(note)) = (notes, note) {
        n.push(note);
    }
    let mut var = Variable {
        name,
        label: str_of(v, "label").unwrap_or_default().to_string(),
        description: str_of(v, "description").unwrap_or_default().to_string(),
        kind,
        multi: truthy(v.get("multi")),
        include_all: truthy(v.get("includeAll")),
        all_value: str_of(v, "allValue")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        current,
        hide,
        ..Variable::default()
    };
    var.set_options(&options);
    var
}

#[derive(Debug, Clone, Copy)]
enum VG {
    Label,
    Description,
    Type,
    Multi,
    IncludeAll,
    AllValue,
    Current,
    Options,
    Hide,
    Query,
    Regex,
    Sort,
    Refresh,
    Auto,
    AutoCount,
    AutoMin,
    Datasource,
}

fn groups(kind: &VariableKind) -> Vec<VG> {
    let mut g = vec![
        VG::Type,
        VG::Label,
        VG::Description,
        VG::Multi,
        VG::IncludeAll,
        VG::AllValue,
        VG::Current,
        VG::Options,
        VG::Hide,
        VG::Query,
    ];
    match kind {
        VariableKind::Query { .. } => {
            g.extend([VG::Regex, VG::Sort, VG::Refresh, VG::Datasource]);
        }
        VariableKind::Interval { .. } => g.extend([VG::Auto, VG::AutoCount, VG::AutoMin]),
        VariableKind::Datasource { .. } => g.push(VG::Regex),
        _ => {}
    }
    g
}

fn kind_query(k: &VariableKind) -> &str {
    match k {
        VariableKind::Query { query, .. }
        | VariableKind::Custom { query }
        | VariableKind::Constant { query }
        | VariableKind::Interval { query, .. }
        | VariableKind::Datasource { query, .. }
        | VariableKind::Textbox { query } => query,
    }
}

fn kind_regex(k: &VariableKind) -> Option<&str> {
    match k {
        VariableKind::Query { regex, .. } | VariableKind::Datasource { regex, .. } => Some(regex),
        _ => None,
    }
}

fn put(o: &mut Map<String, Value>, k: &str, v: Value) {
    o.insert(k.to_string(), v);
}

pub(crate) struct VarCtx<'a> {
    pub ds: &'a mut Ctx,
}

impl Group<Variable, VarCtx<'_>> for VG {
    fn paths(&self) -> &'static [Path] {
        match self {
            VG::Label => &[&[K("label")]],
            VG::Description => &[&[K("description")]],
            VG::Type => &[&[K("type")]],
            VG::Multi => &[&[K("multi")]],
            VG::IncludeAll => &[&[K("includeAll")]],
            VG::AllValue => &[&[K("allValue")]],
            VG::Current => &[&[K("current")]],
            VG::Options => &[&[K("options")]],
            VG::Hide => &[&[K("hide")]],
            VG::Query => &[&[K("query")]],
            VG::Regex => &[&[K("regex")]],
            VG::Sort => &[&[K("sort")]],
            VG::Refresh => &[&[K("refresh")]],
            VG::Auto => &[&[K("auto")]],
            VG::AutoCount => &[&[K("auto_count")]],
            VG::AutoMin => &[&[K("auto_min")]],
            VG::Datasource => &[&[K("datasource")]],
        }
    }

    fn same(&self, a: &Variable, b: &Variable) -> bool {
        match self {
            VG::Label => a.label == b.label,
            VG::Description => a.description == b.description,
            VG::Type => a.kind.type_name() == b.kind.type_name(),
            VG::Multi => a.multi == b.multi,
            VG::IncludeAll => a.include_all == b.include_all,
            VG::AllValue => a.all_value == b.all_value,
            VG::Current => a.current == b.current,
            VG::Options => a.options == b.options && a.option_texts == b.option_texts,
            VG::Hide => a.hide == b.hide,
            VG::Query => kind_query(&a.kind) == kind_query(&b.kind),
            VG::Regex => kind_regex(&a.kind) == kind_regex(&b.kind),
            VG::Sort | VG::Refresh => match (&a.kind, &b.kind) {
                (
                    VariableKind::Query {
                        sort: sa,
                        refresh: ra,
                        ..
                    },
                    VariableKind::Query {
                        sort: sb,
                        refresh: rb,
                        ..
                    },
                ) => {
                    if matches!(self, VG::Sort) {
                        sa == sb
                    } else {
                        ra == rb
                    }
                }
                _ => false,
            },
            VG::Auto | VG::AutoCount | VG::AutoMin => match (&a.kind, &b.kind) {
                (
                    VariableKind::Interval {
                        auto: aa,
                        auto_count: ca,
                        auto_min: ma,
                        ..
                    },
                    VariableKind::Interval {
                        auto: ab,
                        auto_count: cb,
                        auto_min: mb,
                        ..
                    },
                ) => match self {
                    VG::Auto => aa == ab,
                    VG::AutoCount => ca == cb,
                    _ => ma == mb,
                },
                _ => false,
            },
            // Lookout's query variables use the dashboard's data source; a kept one stays.
            VG::Datasource => true,
        }
    }

    fn write(&self, o: &mut Map<String, Value>, v: &Variable, vc: &mut VarCtx<'_>) {
        match self {
            VG::Label | VG::Description => {
                let (k, s) = match self {
                    VG::Label => ("label", &v.label),
                    _ => ("description", &v.description),
                };
                if s.is_empty() {
                    o.remove(k);
                } else {
                    put(o, k, Value::from(s.as_str()));
                }
            }
            VG::Type => put(o, "type", Value::from(v.kind.type_name())),
            VG::Multi => put(o, "multi", Value::Bool(v.multi)),
            VG::IncludeAll => put(o, "includeAll", Value::Bool(v.include_all)),
            VG::AllValue => match &v.all_value {
                Some(a) => put(o, "allValue", Value::from(a.as_str())),
                None => {
                    o.remove("allValue");
                }
            },
            VG::Current => {
                let c = &v.current;
                let cur = match c.as_slice() {
                    [] => json!({}),
                    [one] if !v.multi => json!({"text": v.text_of(one), "value": one}),
                    many => json!({
                        "text": many.iter().map(|s| v.text_of(s)).collect::<Vec<_>>(),
                        "value": many,
                    }),
                };
                put(o, "current", cur);
            }
            VG::Options => {
                // Grafana lists "All" first among a variable's stored options.
                let all = (v.include_all && !v.options.is_empty())
                    .then(|| json!({"selected": v.is_all(), "text": ALL_TEXT, "value": ALL_VALUE}));
                let opts: Vec<Value> = all
                    .into_iter()
                    .chain(v.option_list().into_iter().map(|x| {
                        json!({"selected": v.current.contains(&x.value), "text": x.text, "value": x.value})
                    }))
                    .collect();
                put(o, "options", Value::Array(opts));
            }
            VG::Hide => put(o, "hide", Value::from(v.hide)),
            VG::Query => put(o, "query", Value::from(kind_query(&v.kind))),
            VG::Regex => put(
                o,
                "regex",
                Value::from(kind_regex(&v.kind).unwrap_or_default()),
            ),
            VG::Sort | VG::Refresh => {
                if let VariableKind::Query { sort, refresh, .. } = &v.kind {
                    if matches!(self, VG::Sort) {
                        put(o, "sort", Value::from(*sort));
                    } else {
                        put(o, "refresh", Value::from(*refresh));
                    }
                }
            }
            VG::Auto | VG::AutoCount | VG::AutoMin => {
                if let VariableKind::Interval {
                    auto,
                    auto_count,
                    auto_min,
                    ..
                } = &v.kind
                {
                    match self {
                        VG::Auto => put(o, "auto", Value::Bool(*auto)),
                        VG::AutoCount => put(o, "auto_count", Value::from(*auto_count)),
                        _ => put(o, "auto_min", Value::from(auto_min.as_str())),
                    }
                }
            }
            VG::Datasource => {
                let r = vc.ds.write_ref(&DataSourceRef::Dashboard);
                put(o, "datasource", r);
            }
        }
    }
}

/// The variables, read.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    pub vars: Vec<Variable>,
    /// What Lookout does not model of each, by name.
    pub extras: Map<String, Value>,
    /// Variables kept whole.
    pub raw: Vec<Value>,
    pub summary: Vec<VariableSummary>,
}

/// Reads `templating.list`.
pub(crate) fn import(
    entries: &[&Map<String, Value>],
    ctx: &mut Ctx,
    notes: &mut Vec<String>,
) -> Imported {
    let mut out = Imported::default();
    let mut names = BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        let name = str_of(e, "name").unwrap_or_default();
        let kind_s = str_of(e, "type").unwrap_or("query");
        let why = if !MODELLED.contains(&kind_s) {
            Some(format!("type {kind_s:?} is not one Lookout models"))
        } else if !valid_name(name) {
            Some("Lookout names variables with letters, digits and _".to_string())
        } else if names.contains(name) {
            Some("the name is used by an earlier variable".to_string())
        } else {
            None
        };
        out.summary.push(VariableSummary {
            name: name.to_string(),
            kind: kind_s.to_string(),
            kept_raw: why.is_some(),
        });
        if let Some(why) = why {
            notes.push(format!(
                "templating.list[{i}] {name:?} kept for Grafana as it is: {why}"
            ));
            let mut raw = (*e).clone();
            raw.entry("type").or_insert_with(|| Value::from("query"));
            out.raw.push(Value::Object(raw));
            continue;
        }
        names.insert(name.to_string());
        let var = read(e, ctx.shape, Some(notes));
        let mut extras = (*e).clone();
        extras.remove("name");
        let mut vc = VarCtx { ds: ctx };
        strip(&groups(&var.kind), e, &mut extras, &var, &mut vc);
        if !extras.is_empty() {
            out.extras.insert(var.name.clone(), Value::Object(extras));
        }
        out.vars.push(var);
    }
    out
}

/// Writes Lookout's variables (merged with what was kept of each), then the kept ones.
pub(crate) fn export(
    vars: &[Variable],
    extras: Option<&Map<String, Value>>,
    raw: &[Value],
    ctx: &mut Ctx,
) -> Vec<Value> {
    let shape = ctx.shape;
    let mut out: Vec<Value> = vars
        .iter()
        .map(|v| {
            let mut o = extras
                .and_then(|e| e.get(&v.name))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            o.insert("name".into(), Value::from(v.name.as_str()));
            let mut vc = VarCtx { ds: ctx };
            restore(&groups(&v.kind), &mut o, v, &mut vc, |o, _| {
                read(o, shape, None)
            });
            Value::Object(o)
        })
        .collect();
    out.extend(raw.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn variables_read_and_write_back() {
        let dash = obj(json!({"templating": {"list": [
            {"name": "job", "type": "query", "datasource": "$datasource", "refresh": 0,
             "query": {"query": "label_values(up, job)", "refId": "A"}, "multi": true,
             "includeAll": true, "current": {"text": "All", "value": "$__all", "selected": true},
             "options": [], "definition": "label_values(up, job)", "sort": 1, "regex": "/a.*/"},
            {"name": "c", "type": "constant", "query": "x", "hide": 0},
            {"name": "i", "type": "interval", "query": "1m,5m", "auto": true, "auto_count": 10,
             "auto_min": "30s", "current": {"text": ["1m"], "value": ["1m"]}},
            {"name": "filters", "type": "adhoc"},
            {"name": "a-b", "type": "custom", "query": "1,2"},
            {"name": "job", "type": "custom", "query": "dup"}
        ]}}));
        let list = list(&dash).unwrap();
        let mut ctx = Ctx {
            shape: 18,
            ..Ctx::default()
        };
        ctx.choose_primary();
        let mut notes = Vec::new();
        let got = import(&list, &mut ctx, &mut notes);
        assert_eq!(got.vars.len(), 3);
        assert_eq!(got.raw.len(), 3);
        let job = &got.vars[0];
        assert_eq!(
            job.kind,
            VariableKind::Query {
                query: "label_values(up, job)".into(),
                regex: "/a.*/".into(),
                sort: 1,
                refresh: 1
            }
        );
        assert_eq!(job.current, ["$__all"]);
        assert_eq!(
            got.vars[1].kind,
            VariableKind::Textbox { query: "x".into() }
        );
        assert_eq!(got.vars[1].current, ["x"]);
        assert!(matches!(
            got.vars[2].kind,
            VariableKind::Interval {
                auto: true,
                auto_count: 10,
                ..
            }
        ));
        assert_eq!(notes.len(), 5, "{notes:?}");
        // Unedited: written back as they were (plus explicit defaults such as `hide`).
        let written = export(&got.vars, Some(&got.extras), &got.raw, &mut ctx);
        assert_eq!(written.len(), 6);
        let names: Vec<&Value> = written.iter().map(|w| &w["name"]).collect();
        assert_eq!(names, ["job", "c", "i", "filters", "a-b", "job"]);
        for (w, orig) in written.iter().zip(list.iter()) {
            for (k, v) in orig.iter() {
                assert!(crate::json::json_eq(&w[k], v), "{k}: {w} vs {orig:?}");
            }
        }
        // Edited: the edit is written.
        let mut vars = got.vars.clone();
        vars[0].current = vec!["a".into(), "b".into()];
        let written = export(&vars, Some(&got.extras), &got.raw, &mut ctx);
        assert_eq!(
            written[0]["current"],
            json!({"text": ["a", "b"], "value": ["a", "b"]})
        );
        assert_eq!(written[0]["definition"], "label_values(up, job)");
    }
}
