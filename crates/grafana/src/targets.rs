//! Queries: Grafana's Prometheus targets (`expr`, `legendFormat`, `interval`, `instant`,
//! `range`, `format`, `hide`, `refId`) as Lookout [`Target`]s; other data sources' targets kept
//! as Grafana wrote them.
//!
//! - `refId`: missing ones are assigned `A`, `B`, … (the first letters not used, as Grafana's
//!   `getNextQueryLetter`); a repeated one is renamed the same way and reported.
//! - `instant`/`range`: exports before Grafana 8 have only `instant` (range = !instant); with
//!   neither the query is a range query.
//! - `interval` and `maxDataPoints`: a query without its own takes the panel's (Grafana's
//!   "Min interval" and "Max data points" query options), and is written without it again.
//! - Everything else (`intervalFactor`, `step`, `exemplar`, `editorMode`, the target's own
//!   `datasource`, …) is kept per ref id and written back.

use std::collections::BTreeSet;

use lookout_dashboard::model::next_ref_id;
use lookout_dashboard::{Target, TargetFormat};
use serde_json::{Map, Value};

use crate::datasource::{Ctx, Ds};
use crate::error::ImportError;
use crate::groups::{Group, restore, strip};
use crate::json::{self, Path, Seg::K, lenient_f64, str_of, truthy, type_name};

/// The panel-level query options a target falls back to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inherit {
    interval: String,
    max_data_points: Option<u32>,
}

impl Inherit {
    pub(crate) fn of(panel: &Map<String, Value>) -> Self {
        Inherit {
            interval: str_of(panel, "interval").unwrap_or_default().to_string(),
            max_data_points: panel.get("maxDataPoints").and_then(max_points),
        }
    }
}

fn max_points(v: &Value) -> Option<u32> {
    let f = lenient_f64(v)?;
    (f >= 1.0).then(|| f.min(f64::from(u32::MAX)) as u32)
}

/// Keys a Prometheus target may carry besides its query.
const PROMETHEUS_KEYS: &[&str] = &[
    "refId",
    "hide",
    "datasource",
    "key",
    "queryType",
    "editorMode",
    "legendFormat",
    "interval",
    "format",
    "instant",
    "range",
    "exemplar",
    "intervalFactor",
    "step",
    "expr",
    "metric",
    "legendLink",
    "maxDataPoints",
];

/// Whether Lookout runs this target: a Prometheus data source (its own, or the panel's when it
/// has none) and an `expr` (or nothing that belongs to another query language).
fn is_prometheus(t: &Map<String, Value>, panel_ds: &Ds, ctx: &Ctx) -> bool {
    let class = match t.get("datasource") {
        None | Some(Value::Null) => panel_ds.clone(),
        Some(v) => ctx.classify(Some(v)),
    };
    if matches!(class, Ds::Other(_)) {
        return false;
    }
    t.get("expr").is_some_and(Value::is_string)
        || t.keys().all(|k| PROMETHEUS_KEYS.contains(&k.as_str()))
}

pub(crate) fn read_target(t: &Map<String, Value>, inherit: &Inherit) -> Target {
    let instant = t.get("instant").and_then(Value::as_bool);
    let range = t.get("range").and_then(Value::as_bool);
    let (instant, range) = match (instant, range) {
        (Some(i), Some(r)) => (i, r),
        (Some(i), None) => (i, !i),
        (None, Some(r)) => (!r, r),
        (None, None) => (false, true),
    };
    let interval = str_of(t, "interval").unwrap_or_default();
    Target {
        ref_id: str_of(t, "refId").unwrap_or_default().to_string(),
        expr: str_of(t, "expr").unwrap_or_default().to_string(),
        legend_format: str_of(t, "legendFormat").unwrap_or_default().to_string(),
        instant,
        range,
        hide: truthy(t.get("hide")),
        interval: if interval.is_empty() {
            inherit.interval.clone()
        } else {
            interval.to_string()
        },
        max_data_points: match t.get("maxDataPoints") {
            None => inherit.max_data_points,
            Some(v) => max_points(v),
        },
        format: match str_of(t, "format") {
            Some("table") => TargetFormat::Table,
            Some("heatmap") => TargetFormat::Heatmap,
            _ => TargetFormat::TimeSeries,
        },
    }
}

#[derive(Debug, Clone, Copy)]
enum TG {
    RefId,
    Expr,
    Legend,
    InstantRange,
    Hide,
    Interval,
    MaxDataPoints,
    Format,
}

const ALL: [TG; 8] = [
    TG::RefId,
    TG::Expr,
    TG::Legend,
    TG::InstantRange,
    TG::Hide,
    TG::Interval,
    TG::MaxDataPoints,
    TG::Format,
];

const REF_ID: Path = &[K("refId")];
const EXPR: Path = &[K("expr")];
const LEGEND: Path = &[K("legendFormat")];
const INSTANT: Path = &[K("instant")];
const RANGE: Path = &[K("range")];
const HIDE: Path = &[K("hide")];
const INTERVAL: Path = &[K("interval")];
const MAX_DATA_POINTS: Path = &[K("maxDataPoints")];
const FORMAT: Path = &[K("format")];

impl Group<Target, Inherit> for TG {
    fn paths(&self) -> &'static [Path] {
        match self {
            TG::RefId => &[REF_ID],
            TG::Expr => &[EXPR],
            TG::Legend => &[LEGEND],
            TG::InstantRange => &[INSTANT, RANGE],
            TG::Hide => &[HIDE],
            TG::Interval => &[INTERVAL],
            TG::MaxDataPoints => &[MAX_DATA_POINTS],
            TG::Format => &[FORMAT],
        }
    }

    fn same(&self, a: &Target, b: &Target) -> bool {
        match self {
            TG::RefId => a.ref_id == b.ref_id,
            TG::Expr => a.expr == b.expr,
            TG::Legend => a.legend_format == b.legend_format,
            TG::InstantRange => a.instant == b.instant && a.range == b.range,
            TG::Hide => a.hide == b.hide,
            TG::Interval => a.interval == b.interval,
            TG::MaxDataPoints => a.max_data_points == b.max_data_points,
            TG::Format => a.format == b.format,
        }
    }

    fn write(&self, o: &mut Map<String, Value>, t: &Target, inherit: &mut Inherit) {
        match self {
            TG::RefId => json::set(o, REF_ID, Value::from(t.ref_id.as_str())),
            TG::Expr => json::set(o, EXPR, Value::from(t.expr.as_str())),
            TG::Legend => json::set(o, LEGEND, Value::from(t.legend_format.as_str())),
            TG::InstantRange => {
                json::set(o, INSTANT, Value::Bool(t.instant));
                json::set(o, RANGE, Value::Bool(t.range));
            }
            TG::Hide => {
                if t.hide {
                    json::set(o, HIDE, Value::Bool(true));
                } else {
                    json::remove(o, HIDE);
                }
            }
            TG::Interval => {
                if t.interval == inherit.interval {
                    json::remove(o, INTERVAL);
                } else {
                    json::set(o, INTERVAL, Value::from(t.interval.as_str()));
                }
            }
            TG::MaxDataPoints => {
                if t.max_data_points == inherit.max_data_points {
                    json::remove(o, MAX_DATA_POINTS);
                } else {
                    json::set(
                        o,
                        MAX_DATA_POINTS,
                        t.max_data_points.map_or(Value::Null, Value::from),
                    );
                }
            }
            TG::Format => {
                let f = match t.format {
                    TargetFormat::TimeSeries => "time_series",
                    TargetFormat::Table => "table",
                    TargetFormat::Heatmap => "heatmap",
                };
                json::set(o, FORMAT, Value::from(f));
            }
        }
    }
}

/// A panel's targets, read.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    /// The Prometheus queries.
    pub targets: Vec<Target>,
    /// What Lookout does not model of each, by ref id.
    pub extras: Map<String, Value>,
    /// Other data sources' targets, whole.
    pub raw: Vec<Value>,
    /// Ref ids given to queries that had none.
    pub assigned: Vec<String>,
}

/// Reads `panel.targets` (`place` names the panel in messages).
pub(crate) fn import(
    panel: &Map<String, Value>,
    place: &str,
    ctx: &Ctx,
    notes: &mut Vec<String>,
) -> Result<Imported, ImportError> {
    let list: &[Value] = match panel.get("targets") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ImportError::WrongType {
                at: format!("{place}.targets"),
                expected: "an array",
                found: type_name(other),
            });
        }
    };
    let panel_ds = match ctx.classify(panel.get("datasource")) {
        Ds::Mixed => Ds::Prom(lookout_dashboard::DataSourceRef::Dashboard),
        other => other,
    };
    let mut inherit = Inherit::of(panel);
    let mut out = Imported::default();
    // Grafana's `getNextRefIdChar` skips every ref id the panel already has.
    let mut taken: BTreeSet<String> = list
        .iter()
        .filter_map(|t| t.get("refId").and_then(Value::as_str))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut kept_other = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let Some(t) = t.as_object() else {
            return Err(ImportError::WrongType {
                at: format!("{place}.targets[{i}]"),
                expected: "an object",
                found: type_name(t),
            });
        };
        let mut t = t.clone();
        let own = str_of(&t, "refId").filter(|r| !r.is_empty());
        let ref_id = match own {
            Some(r) if !used.contains(r) => r.to_string(),
            _ => {
                let r = next_ref_id(taken.iter().map(String::as_str));
                taken.insert(r.clone());
                match own {
                    Some(old) => notes.push(format!(
                        "{place}: ref id {old:?} repeated; the second query is now {r:?}"
                    )),
                    None => out.assigned.push(r.clone()),
                }
                t.insert("refId".into(), Value::from(r.as_str()));
                r
            }
        };
        used.insert(ref_id.clone());
        if !is_prometheus(&t, &panel_ds, ctx) {
            kept_other.push(ref_id);
            out.raw.push(Value::Object(t));
            continue;
        }
        let target = read_target(&t, &inherit);
        let mut extras = t.clone();
        strip(&ALL, &t, &mut extras, &target, &mut inherit);
        if !extras.is_empty() {
            out.extras.insert(ref_id, Value::Object(extras));
        }
        out.targets.push(target);
    }
    if !kept_other.is_empty() {
        notes.push(format!(
            "{place}: queries {} are not Prometheus queries; kept for Grafana, not run by Lookout",
            kept_other.join(", ")
        ));
    }
    Ok(out)
}

/// Writes Lookout's targets (merged with what was kept of each), then the kept ones of other
/// data sources. `panel` is the panel as kept (its `interval`, `maxDataPoints`).
pub(crate) fn export(
    targets: &[Target],
    extras: Option<&Map<String, Value>>,
    raw: &[Value],
    panel: &Map<String, Value>,
) -> Vec<Value> {
    let mut inherit = Inherit::of(panel);
    let mut out: Vec<Value> = targets
        .iter()
        .map(|t| {
            let mut o = extras
                .and_then(|e| e.get(&t.ref_id))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            restore(&ALL, &mut o, t, &mut inherit, |o, i| read_target(o, i));
            Value::Object(o)
        })
        .collect();
    out.extend(raw.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn targets_round_trip() {
        let mut ctx = Ctx::default();
        ctx.choose_primary();
        let panel = obj(json!({
            "interval": "1m",
            "targets": [
                {"expr": "up", "instant": true},
                {"expr": "rate(x[$__rate_interval])", "refId": "A", "intervalFactor": 2,
                 "legendFormat": "__auto", "format": "table", "hide": false},
                {"refId": "A", "expr": "b", "interval": "5s"},
                {"rawSql": "SELECT 1", "datasource": {"type": "mysql", "uid": "m"}},
                {"refId": "E"}
            ]
        }));
        let mut notes = Vec::new();
        let got = import(&panel, "panels[0]", &ctx, &mut notes).unwrap();
        let ids: Vec<&str> = got.targets.iter().map(|t| t.ref_id.as_str()).collect();
        assert_eq!(ids, ["B", "A", "C", "E"]);
        assert_eq!(got.raw.len(), 1);
        assert_eq!(got.raw[0]["refId"], "D");
        let t0 = &got.targets[0];
        assert!(t0.instant && !t0.range);
        assert_eq!(t0.interval, "1m");
        assert_eq!(got.targets[1].legend_format, "__auto");
        assert_eq!(got.targets[1].format, TargetFormat::Table);
        assert!(got.targets[3].range && got.targets[3].expr.is_empty());
        assert_eq!(got.targets[2].interval, "5s");
        assert_eq!(got.extras["A"], json!({"intervalFactor": 2, "hide": false}));
        assert_eq!(got.assigned, ["B", "D"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        let written = export(&got.targets, Some(&got.extras), &got.raw, &panel);
        assert_eq!(written[0]["expr"], "up");
        assert_eq!(written[0]["refId"], "B");
        assert!(written[0].get("interval").is_none());
        assert_eq!(written[2]["interval"], "5s");
        assert_eq!(written[4]["rawSql"], "SELECT 1");
        // Reading what was written gives the same targets.
        let again = obj(json!({"interval": "1m", "targets": written}));
        let back = import(&again, "p", &ctx, &mut Vec::new()).unwrap();
        assert_eq!(back.targets, got.targets);
        assert_eq!(back.extras, got.extras);
        assert_eq!(back.raw, got.raw);
    }

    #[test]
    fn wrong_types() {
        let ctx = Ctx::default();
        let e = import(
            &obj(json!({"targets": {}})),
            "panels[3]",
            &ctx,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "panels[3].targets: expected an array, found an object"
        );
        let e = import(
            &obj(json!({"targets": [1]})),
            "panels[3]",
            &ctx,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("panels[3].targets[0]"));
        assert!(import(&obj(json!({"targets": null})), "p", &ctx, &mut Vec::new()).is_ok());
    }
}
