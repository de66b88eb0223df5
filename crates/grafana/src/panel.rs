//! Panels: Grafana's panel types read into Lookout's [`Cell`] and written back.
//!
//! Families (by Grafana `type`):
//! - **modern** (`timeseries`, `stat`, `gauge`, `bargauge`, `table`, `heatmap`): field options
//!   from `fieldConfig.defaults` (`unit`, `decimals`, `min`, `max`, `thresholds` with the base
//!   step's `value: null`, `noValue`), the time series' `custom.drawStyle`, `fillOpacity`,
//!   `lineWidth`, `stacking.mode`, `thresholdsStyle.mode` (`series` reads as off), the reducer from `options.reduceOptions.calcs[0]` and the
//!   stat's sparkline from `options.graphMode`;
//! - **graph** → time series, as Grafana migrates it (`graphToTimeseriesOptions` in
//!   `public/app/plugins/panel/timeseries/migrations.ts`): `yaxes[0]` format/decimals/min/max
//!   (numbers or strings), lines/bars/points → draw style, `fill` × 10 → fill opacity (bars
//!   100, `fillGradient` × 10, 35 with a `fillBelowTo` override), `linewidth`, `stack`, the
//!   graph's `thresholds` (`op`, `colorMode`) → threshold steps, drawn as lines and/or filled
//!   regions as their `line`/`fill` flags say (none: not drawn);
//! - **singlestat** → stat, or gauge when `gauge.show` (`migrateSinglestat` in
//!   `DashboardMigrator.ts`, `sharedSingleStatPanelChangedHandler` in
//!   `packages/grafana-ui/src/components/SingleStatShared/SingleStatBaseOptions.ts`,
//!   `public/app/plugins/panel/stat/StatMigrations.ts`): `format` → unit, `decimals`,
//!   `valueName` → reducer (unknown: mean), `thresholds` "a,b" + `colors` → steps, gauge
//!   min/max, `nullText` → no value, `sparkline.show`;
//! - **table-old** (and, below schema 24, a `table` with `styles`, Grafana's migration 24) →
//!   table; its styles stay as they are;
//! - anything else (text, piechart, news, dashlist, plugins) → [`PanelKind::Unsupported`],
//!   kept whole.
//!
//! Legacy panels keep their type: a graph is written back as a graph (its yaxes updated from
//! Lookout's unit/min/max/decimals), a singlestat as a singlestat. Panels made in Lookout are
//! written in the modern types.

use lookout_dashboard::reduce::Reducer;
use lookout_dashboard::{
    Cell, DrawStyle, FieldConfig, PanelKind, StatOptions, ThresholdStep, Thresholds,
    ThresholdsMode, ThresholdsStyle, TimeSeriesOptions,
};
use serde_json::{Map, Value, json};

use crate::datasource::{Ctx, Ds};
use crate::groups::{Group, restore, strip};
use crate::json::{self, Path, Seg::I, Seg::K, lenient_f64, num, str_of, truthy};

/// A panel's family (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fam {
    Modern,
    Graph,
    Singlestat,
    TableOld,
    Other,
}

/// The family of a Grafana panel type (`shape`: the document's schema version).
pub(crate) fn family(kind: &str, obj: &Map<String, Value>, shape: u64) -> Fam {
    match kind {
        "graph" => Fam::Graph,
        "singlestat" => Fam::Singlestat,
        "table-old" => Fam::TableOld,
        "table" if shape < 24 && obj.get("styles").is_some_and(|s| !s.is_null()) => Fam::TableOld,
        "timeseries" | "stat" | "gauge" | "bargauge" | "table" | "heatmap" => Fam::Modern,
        _ => Fam::Other,
    }
}

/// The Lookout kind of a Grafana panel.
pub(crate) fn kind_of(kind: &str, fam: Fam, obj: &Map<String, Value>) -> PanelKind {
    match fam {
        Fam::Graph => PanelKind::TimeSeries,
        Fam::Singlestat => {
            if truthy(json::get(obj, GAUGE_SHOW)) {
                PanelKind::Gauge
            } else {
                PanelKind::Stat
            }
        }
        Fam::TableOld => PanelKind::Table,
        Fam::Modern => match kind {
            "stat" => PanelKind::Stat,
            "gauge" => PanelKind::Gauge,
            "bargauge" => PanelKind::BarGauge,
            "table" => PanelKind::Table,
            "heatmap" => PanelKind::Heatmap,
            _ => PanelKind::TimeSeries,
        },
        Fam::Other => PanelKind::Unsupported,
    }
}

/// The Grafana type Lookout writes for a kind it made; none for an unsupported panel, whose
/// own `type` (or its absence: a library panel has none) is kept.
pub(crate) fn canonical_type(kind: PanelKind) -> Option<&'static str> {
    match kind {
        PanelKind::TimeSeries => Some("timeseries"),
        PanelKind::Stat => Some("stat"),
        PanelKind::Gauge => Some("gauge"),
        PanelKind::BarGauge => Some("bargauge"),
        PanelKind::Table => Some("table"),
        PanelKind::Heatmap => Some("heatmap"),
        PanelKind::Unsupported => None,
    }
}

/// Whether a kept Grafana type can still show a panel of this kind.
fn compatible(kept: &str, obj: &Map<String, Value>, shape: u64, kind: PanelKind) -> bool {
    match family(kept, obj, shape) {
        Fam::Graph => kind == PanelKind::TimeSeries,
        Fam::Singlestat => matches!(kind, PanelKind::Stat | PanelKind::Gauge),
        Fam::TableOld => kind == PanelKind::Table,
        Fam::Modern => kind_of(kept, Fam::Modern, obj) == kind,
        Fam::Other => kind == PanelKind::Unsupported,
    }
}

// --- paths ---------------------------------------------------------------------------------

const TITLE: Path = &[K("title")];
const DESCRIPTION: Path = &[K("description")];
const TIME_FROM: Path = &[K("timeFrom")];
const TIME_SHIFT: Path = &[K("timeShift")];
const DATASOURCE: Path = &[K("datasource")];

const FC_UNIT: Path = &[K("fieldConfig"), K("defaults"), K("unit")];
const FC_DECIMALS: Path = &[K("fieldConfig"), K("defaults"), K("decimals")];
const FC_MIN: Path = &[K("fieldConfig"), K("defaults"), K("min")];
const FC_MAX: Path = &[K("fieldConfig"), K("defaults"), K("max")];
const FC_THRESHOLDS: Path = &[K("fieldConfig"), K("defaults"), K("thresholds")];
const FC_NO_VALUE: Path = &[K("fieldConfig"), K("defaults"), K("noValue")];
const FC_DRAW: Path = &[K("fieldConfig"), K("defaults"), K("custom"), K("drawStyle")];
const FC_FILL: Path = &[
    K("fieldConfig"),
    K("defaults"),
    K("custom"),
    K("fillOpacity"),
];
const FC_LINE: Path = &[K("fieldConfig"), K("defaults"), K("custom"), K("lineWidth")];
const FC_TSTYLE: Path = &[
    K("fieldConfig"),
    K("defaults"),
    K("custom"),
    K("thresholdsStyle"),
];
const FC_STACK: Path = &[
    K("fieldConfig"),
    K("defaults"),
    K("custom"),
    K("stacking"),
    K("mode"),
];
const CALCS: Path = &[K("options"), K("reduceOptions"), K("calcs")];
const GRAPH_MODE: Path = &[K("options"), K("graphMode")];

const Y_FORMAT: Path = &[K("yaxes"), I(0), K("format")];
const Y_DECIMALS: Path = &[K("yaxes"), I(0), K("decimals")];
const Y_MIN: Path = &[K("yaxes"), I(0), K("min")];
const Y_MAX: Path = &[K("yaxes"), I(0), K("max")];
const G_THRESHOLDS: Path = &[K("thresholds")];
const G_LINES: Path = &[K("lines")];
const G_BARS: Path = &[K("bars")];
const G_POINTS: Path = &[K("points")];
const G_FILL: Path = &[K("fill")];
const G_GRADIENT: Path = &[K("fillGradient")];
const G_LINEWIDTH: Path = &[K("linewidth")];
const G_STACK: Path = &[K("stack")];

const GAUGE_SHOW: Path = &[K("gauge"), K("show")];
const S_FORMAT: Path = &[K("format")];
const S_DECIMALS: Path = &[K("decimals")];
const S_MIN: Path = &[K("gauge"), K("minValue")];
const S_MAX: Path = &[K("gauge"), K("maxValue")];
const S_THRESHOLDS: Path = &[K("thresholds")];
const S_COLORS: Path = &[K("colors")];
const S_NULL_TEXT: Path = &[K("nullText")];
const S_VALUE_NAME: Path = &[K("valueName")];
const S_SPARKLINE: Path = &[K("sparkline"), K("show")];

// --- reading -------------------------------------------------------------------------------

/// What the groups read and write: the cell plus whether it has queries (a panel without any
/// is written without a data source).
pub(crate) struct PanelCtx<'a> {
    pub ds: &'a mut Ctx,
    pub has_targets: bool,
    pub notes: Option<&'a mut Vec<String>>,
    pub place: &'a str,
}

impl PanelCtx<'_> {
    fn note(&mut self, s: String) {
        if let Some(n) = self.notes.as_deref_mut() {
            n.push(format!("{}: {s}", self.place));
        }
    }
}

fn decimals_of(v: Option<&Value>) -> Option<u32> {
    let f = lenient_f64(v?)?;
    (f >= 0.0).then(|| f.round().min(20.0) as u32)
}

fn reducer_of(id: &str) -> Option<Reducer> {
    serde_json::from_value(Value::String(id.to_string())).ok()
}

/// Modern `thresholds`: `{mode, steps: [{value|null, color}]}`; `None` when absent or not of
/// that shape.
fn read_thresholds(v: Option<&Value>) -> Option<Thresholds> {
    let o = v?.as_object()?;
    let mode = match o.get("mode").and_then(Value::as_str) {
        Some("percentage") => ThresholdsMode::Percentage,
        _ => ThresholdsMode::Absolute,
    };
    let steps = o
        .get("steps")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .map(|s| ThresholdStep {
            value: s.get("value").and_then(lenient_f64),
            color: str_of(s, "color").unwrap_or_default().to_string(),
        })
        .collect();
    Some(Thresholds { mode, steps })
}

fn write_thresholds(t: &Thresholds) -> Value {
    let mode = match t.mode {
        ThresholdsMode::Absolute => "absolute",
        ThresholdsMode::Percentage => "percentage",
    };
    let steps: Vec<Value> = t
        .steps
        .iter()
        .map(|s| json!({"color": s.color, "value": s.value.map_or(Value::Null, num)}))
        .collect();
    json!({"mode": mode, "steps": steps})
}

/// The colour of a graph threshold (`getThresholdColor`).
fn graph_threshold_color(t: &Map<String, Value>) -> String {
    match str_of(t, "colorMode") {
        Some("warning") => "orange".into(),
        Some("custom") => [str_of(t, "fillColor"), str_of(t, "lineColor")]
            .into_iter()
            .flatten()
            .find(|c| !c.is_empty())
            .unwrap_or("red")
            .to_string(),
        _ => "red".into(),
    }
}

/// A graph's `thresholds` as the time series' steps (`graphToTimeseriesOptions`).
fn graph_thresholds(list: &[Value]) -> Thresholds {
    let mut sorted: Vec<(&Map<String, Value>, f64)> = list
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|t| t.get("value").and_then(lenient_f64).map(|v| (t, v)))
        .collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut steps: Vec<ThresholdStep> = Vec::new();
    for (i, (t, v)) in sorted.iter().enumerate() {
        let next = sorted.get(i + 1);
        let color = graph_threshold_color(t);
        match str_of(t, "op") {
            Some("gt") => steps.push(ThresholdStep {
                value: Some(*v),
                color,
            }),
            Some("lt") => {
                if steps.is_empty() {
                    steps.push(ThresholdStep { value: None, color });
                }
                let color = match next {
                    Some((n, nv)) if str_of(n, "op") == Some("gt") && *nv > *v => {
                        "transparent".to_string()
                    }
                    Some((n, _)) if str_of(n, "op") == Some("lt") => graph_threshold_color(n),
                    _ => "transparent".to_string(),
                };
                steps.push(ThresholdStep {
                    value: Some(*v),
                    color,
                });
            }
            _ => {}
        }
    }
    if steps.first().is_some_and(|s| s.value.is_some()) {
        steps.insert(
            0,
            ThresholdStep {
                value: None,
                color: "transparent".into(),
            },
        );
    }
    Thresholds {
        mode: ThresholdsMode::Absolute,
        steps,
    }
}

/// How a graph drew its thresholds, as the time series' `thresholdsStyle`
/// (`graphToTimeseriesOptions`: filled regions when a threshold fills, lines when one draws
/// a line, both when both).
fn graph_thresholds_style(list: &[Value]) -> ThresholdsStyle {
    let any = |k: &str| {
        list.iter()
            .filter_map(Value::as_object)
            .any(|t| truthy(t.get(k)))
    };
    match (any("line"), any("fill")) {
        (true, true) => ThresholdsStyle::LineAndArea,
        (false, true) => ThresholdsStyle::Area,
        (true, false) => ThresholdsStyle::Line,
        (false, false) => ThresholdsStyle::Off,
    }
}

/// Lookout's steps as graph thresholds (regions above each value, filled and lined as
/// `style` says).
fn write_graph_thresholds(t: &Thresholds, style: ThresholdsStyle) -> Value {
    let (fill, line) = (style.areas(), style.lines());
    let list: Vec<Value> = t
        .steps
        .iter()
        .filter_map(|s| {
            s.value.map(|v| {
                json!({"colorMode": "custom", "fill": fill, "fillColor": s.color, "line": line,
                       "lineColor": s.color, "op": "gt", "value": num(v), "yaxis": "left"})
            })
        })
        .collect();
    Value::Array(list)
}

/// A singlestat's `thresholds` ("70,90") and `colors` as steps (`migrateFromAngularSinglestat`).
fn singlestat_thresholds(obj: &Map<String, Value>) -> Option<Thresholds> {
    let levels = str_of(obj, "thresholds").filter(|s| !s.is_empty())?;
    let colors = obj.get("colors")?.as_array()?;
    let levels: Vec<Option<f64>> = levels
        .split(',')
        .map(|s| {
            let t = s.trim();
            if t.is_empty() {
                Some(0.0) // JavaScript's Number("")
            } else {
                t.parse::<f64>().ok().filter(|f| f.is_finite())
            }
        })
        .collect();
    let mut steps = Vec::new();
    for (i, c) in colors.iter().enumerate() {
        let color = c.as_str().unwrap_or_default().to_string();
        if i == 0 {
            steps.push(ThresholdStep { value: None, color });
        } else if let Some(Some(v)) = levels.get(i - 1) {
            steps.push(ThresholdStep {
                value: Some(*v),
                color,
            });
        }
    }
    Some(Thresholds {
        mode: ThresholdsMode::Absolute,
        steps,
    })
}

/// Grafana's singlestat `valueName` for a reducer (its aliases where it has them).
fn value_name(r: Reducer) -> &'static str {
    match r {
        Reducer::LastNotNull => "current",
        Reducer::Mean => "avg",
        Reducer::Sum => "total",
        other => other.id(),
    }
}

fn clamp_u8(f: f64, max: f64) -> u8 {
    f.clamp(0.0, max).round() as u8
}

/// Reads a panel object into a cell (no id, targets, position or kept map).
pub(crate) fn read(obj: &Map<String, Value>, pc: &mut PanelCtx<'_>) -> Cell {
    let kind_s = str_of(obj, "type").unwrap_or_default();
    let fam = family(kind_s, obj, pc.ds.shape);
    let kind = kind_of(kind_s, fam, obj);
    let mut cell = Cell {
        title: str_of(obj, "title").unwrap_or_default().to_string(),
        description: str_of(obj, "description").unwrap_or_default().to_string(),
        targets: Vec::new(),
        ..Cell::default()
    };
    cell.panel.kind = kind;
    cell.panel.relative_time = str_of(obj, "timeFrom")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    cell.panel.time_shift = str_of(obj, "timeShift")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    cell.datasource = read_datasource(obj, pc.ds);
    let field = &mut cell.panel.field;
    let defaults = json::get(obj, &[K("fieldConfig"), K("defaults")]).and_then(Value::as_object);
    let d_str = |k: &str| defaults.and_then(|d| str_of(d, k)).map(str::to_string);
    let d_num = |k: &str| defaults.and_then(|d| d.get(k)).and_then(lenient_f64);
    match fam {
        Fam::Modern => {
            field.unit = d_str("unit").unwrap_or_default();
            field.decimals = decimals_of(defaults.and_then(|d| d.get("decimals")));
            field.min = d_num("min");
            field.max = d_num("max");
            field.thresholds = read_thresholds(json::get(obj, FC_THRESHOLDS)).unwrap_or_default();
            field.no_value = d_str("noValue");
            if kind == PanelKind::TimeSeries {
                let ts = &mut cell.panel.time_series;
                ts.draw = match json::get(obj, FC_DRAW).and_then(Value::as_str) {
                    Some("bars") => DrawStyle::Bars,
                    Some("points") => DrawStyle::Points,
                    _ => DrawStyle::Lines,
                };
                ts.fill_opacity = json::get(obj, FC_FILL)
                    .and_then(lenient_f64)
                    .map_or(0, |f| clamp_u8(f, 100.0));
                ts.line_width = json::get(obj, FC_LINE)
                    .and_then(lenient_f64)
                    .map_or(1, |f| clamp_u8(f, 255.0));
                ts.stacked = matches!(
                    json::get(obj, FC_STACK).and_then(Value::as_str),
                    Some("normal" | "percent")
                );
                ts.thresholds_style = json::get(obj, FC_TSTYLE)
                    .and_then(|t| t.get("mode"))
                    .and_then(Value::as_str)
                    .and_then(ThresholdsStyle::from_id)
                    .unwrap_or_default();
            }
            if matches!(
                kind,
                PanelKind::Stat | PanelKind::Gauge | PanelKind::BarGauge
            ) {
                let calc = json::get(obj, CALCS)
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str);
                cell.panel.stat.reducer = match calc {
                    None => Reducer::LastNotNull,
                    Some(id) => reducer_of(id).unwrap_or_else(|| {
                        pc.note(format!(
                            "reducer {id:?} is not one of Lookout's; shown as lastNotNull (kept for Grafana)"
                        ));
                        Reducer::LastNotNull
                    }),
                };
            }
            if kind == PanelKind::Stat {
                cell.panel.stat.sparkline =
                    json::get(obj, GRAPH_MODE).and_then(Value::as_str) != Some("none");
            }
        }
        Fam::Graph => {
            let y0 = json::get(obj, &[K("yaxes"), I(0)]).and_then(Value::as_object);
            field.unit = y0
                .and_then(|y| str_of(y, "format"))
                .map(str::to_string)
                .or_else(|| d_str("unit"))
                .unwrap_or_default();
            field.decimals = decimals_of(y0.and_then(|y| y.get("decimals")))
                .or_else(|| decimals_of(defaults.and_then(|d| d.get("decimals"))));
            field.min = y0
                .and_then(|y| y.get("min"))
                .and_then(lenient_f64)
                .or_else(|| d_num("min"));
            field.max = y0
                .and_then(|y| y.get("max"))
                .and_then(lenient_f64)
                .or_else(|| d_num("max"));
            let graph_list = obj
                .get("thresholds")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty());
            field.thresholds = match graph_list {
                Some(list) => graph_thresholds(list),
                None => read_thresholds(json::get(obj, FC_THRESHOLDS)).unwrap_or_default(),
            };
            cell.panel.time_series.thresholds_style =
                graph_list.map_or(ThresholdsStyle::Off, |l| graph_thresholds_style(l));
            field.no_value = d_str("noValue");
            // Missing keys take the graph panel's defaults (lines, fill 1, linewidth 1), as
            // the angular panel drew them.
            let flag = |k: &str, default: bool| obj.get(k).map_or(default, |v| truthy(Some(v)));
            let ts = &mut cell.panel.time_series;
            let bars = flag("bars", false);
            ts.draw = if bars {
                DrawStyle::Bars
            } else if flag("lines", true) {
                DrawStyle::Lines
            } else {
                DrawStyle::Points
            };
            ts.line_width = obj
                .get("linewidth")
                .and_then(lenient_f64)
                .map_or(1, |f| clamp_u8(f, 255.0));
            let fill_below = obj
                .get("seriesOverrides")
                .and_then(Value::as_array)
                .is_some_and(|o| {
                    o.iter()
                        .filter_map(Value::as_object)
                        .any(|s| s.contains_key("fillBelowTo") && truthy(s.get("alias")))
                });
            let mut fill = if fill_below {
                35.0
            } else {
                obj.get("fill")
                    .map_or(Some(1.0), lenient_f64)
                    .unwrap_or(0.0)
                    * 10.0
            };
            if let Some(g) = obj
                .get("fillGradient")
                .and_then(lenient_f64)
                .filter(|g| *g > 0.0)
            {
                fill = g * 10.0;
            }
            if bars {
                fill = 100.0;
            }
            ts.fill_opacity = clamp_u8(fill, 100.0);
            ts.stacked = truthy(obj.get("stack"));
        }
        Fam::Singlestat => {
            field.unit = str_of(obj, "format").unwrap_or_default().to_string();
            field.decimals = decimals_of(obj.get("decimals"));
            if truthy(json::get(obj, GAUGE_SHOW)) {
                field.min = json::get(obj, S_MIN).and_then(lenient_f64);
                field.max = json::get(obj, S_MAX).and_then(lenient_f64);
            }
            field.thresholds = singlestat_thresholds(obj).unwrap_or_default();
            field.no_value = str_of(obj, "nullText")
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            cell.panel.stat = StatOptions {
                reducer: str_of(obj, "valueName")
                    .and_then(reducer_of)
                    .unwrap_or(Reducer::Mean),
                sparkline: truthy(json::get(obj, S_SPARKLINE)),
            };
        }
        Fam::TableOld | Fam::Other => {}
    }
    cell
}

/// The cell's data source: the panel's, or for a mixed panel the one its Prometheus queries
/// share (the dashboard's when they differ).
fn read_datasource(obj: &Map<String, Value>, ctx: &Ctx) -> lookout_dashboard::DataSourceRef {
    use lookout_dashboard::DataSourceRef;
    match ctx.classify(obj.get("datasource")) {
        Ds::Prom(r) => r,
        Ds::Other(_) => DataSourceRef::Dashboard,
        Ds::Mixed => {
            let mut refs = obj
                .get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .filter_map(|t| match ctx.classify(t.get("datasource")) {
                    Ds::Prom(r) => Some(r),
                    _ => None,
                });
            match refs.next() {
                Some(first) if refs.all(|r| r == first) => first,
                _ => DataSourceRef::Dashboard,
            }
        }
    }
}

// --- groups --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub(crate) enum PG {
    Title,
    Description,
    TimeFrom,
    TimeShift,
    Datasource,
    GaugeShow,
    Unit(Fam),
    Decimals(Fam),
    Min(Fam),
    Max(Fam),
    Thresholds(Fam),
    NoValue(Fam),
    Draw(Fam),
    Reducer(Fam),
    Sparkline(Fam),
}

/// The groups of a family (and, for modern panels, of the kind).
pub(crate) fn groups(fam: Fam, kind: PanelKind) -> Vec<PG> {
    let mut g = vec![
        PG::Title,
        PG::Description,
        PG::TimeFrom,
        PG::TimeShift,
        PG::Datasource,
    ];
    let field = [
        PG::Unit(fam),
        PG::Decimals(fam),
        PG::Min(fam),
        PG::Max(fam),
        PG::Thresholds(fam),
    ];
    match fam {
        Fam::Modern => {
            g.extend(field);
            g.push(PG::NoValue(fam));
            if kind == PanelKind::TimeSeries {
                g.push(PG::Draw(fam));
            }
            if matches!(
                kind,
                PanelKind::Stat | PanelKind::Gauge | PanelKind::BarGauge
            ) {
                g.push(PG::Reducer(fam));
            }
            if kind == PanelKind::Stat {
                g.push(PG::Sparkline(fam));
            }
        }
        Fam::Graph => {
            g.extend(field);
            g.push(PG::Draw(fam));
        }
        Fam::Singlestat => {
            g.push(PG::GaugeShow);
            g.extend(field);
            g.extend([PG::NoValue(fam), PG::Reducer(fam), PG::Sparkline(fam)]);
        }
        Fam::TableOld | Fam::Other => {}
    }
    g
}

fn set_or_remove(obj: &mut Map<String, Value>, p: Path, v: Option<Value>) {
    match v {
        Some(v) => json::set(obj, p, v),
        None => json::remove(obj, p),
    }
}

impl Group<Cell, PanelCtx<'_>> for PG {
    fn paths(&self) -> &'static [Path] {
        match self {
            PG::Title => &[TITLE],
            PG::Description => &[DESCRIPTION],
            PG::TimeFrom => &[TIME_FROM],
            PG::TimeShift => &[TIME_SHIFT],
            PG::Datasource => &[DATASOURCE],
            PG::GaugeShow => &[GAUGE_SHOW],
            PG::Unit(Fam::Graph) => &[Y_FORMAT],
            PG::Unit(Fam::Singlestat) => &[S_FORMAT],
            PG::Unit(_) => &[FC_UNIT],
            PG::Decimals(Fam::Graph) => &[Y_DECIMALS],
            PG::Decimals(Fam::Singlestat) => &[S_DECIMALS],
            PG::Decimals(_) => &[FC_DECIMALS],
            PG::Min(Fam::Graph) => &[Y_MIN],
            PG::Min(Fam::Singlestat) => &[S_MIN],
            PG::Min(_) => &[FC_MIN],
            PG::Max(Fam::Graph) => &[Y_MAX],
            PG::Max(Fam::Singlestat) => &[S_MAX],
            PG::Max(_) => &[FC_MAX],
            PG::Thresholds(Fam::Graph) => &[G_THRESHOLDS],
            PG::Thresholds(Fam::Singlestat) => &[S_THRESHOLDS, S_COLORS],
            PG::Thresholds(_) => &[FC_THRESHOLDS],
            PG::NoValue(Fam::Singlestat) => &[S_NULL_TEXT],
            PG::NoValue(_) => &[FC_NO_VALUE],
            PG::Draw(Fam::Graph) => &[
                G_LINES,
                G_BARS,
                G_POINTS,
                G_FILL,
                G_GRADIENT,
                G_LINEWIDTH,
                G_STACK,
            ],
            PG::Draw(_) => &[FC_DRAW, FC_FILL, FC_LINE, FC_STACK, FC_TSTYLE],
            PG::Reducer(Fam::Singlestat) => &[S_VALUE_NAME],
            PG::Reducer(_) => &[CALCS],
            PG::Sparkline(Fam::Singlestat) => &[S_SPARKLINE],
            PG::Sparkline(_) => &[GRAPH_MODE],
        }
    }

    fn same(&self, a: &Cell, b: &Cell) -> bool {
        let (fa, fb) = (&a.panel.field, &b.panel.field);
        match self {
            PG::Title => a.title == b.title,
            PG::Description => a.description == b.description,
            PG::TimeFrom => a.panel.relative_time == b.panel.relative_time,
            PG::TimeShift => a.panel.time_shift == b.panel.time_shift,
            PG::Datasource => a.datasource == b.datasource,
            PG::GaugeShow => {
                (a.panel.kind == PanelKind::Gauge) == (b.panel.kind == PanelKind::Gauge)
            }
            PG::Unit(_) => fa.unit == fb.unit,
            PG::Decimals(_) => fa.decimals == fb.decimals,
            PG::Min(_) => fa.min == fb.min,
            PG::Max(_) => fa.max == fb.max,
            PG::Thresholds(Fam::Graph) => {
                fa.thresholds == fb.thresholds
                    && a.panel.time_series.thresholds_style == b.panel.time_series.thresholds_style
            }
            PG::Thresholds(_) => fa.thresholds == fb.thresholds,
            PG::NoValue(_) => fa.no_value == fb.no_value,
            PG::Draw(_) => a.panel.time_series == b.panel.time_series,
            PG::Reducer(_) => a.panel.stat.reducer == b.panel.stat.reducer,
            PG::Sparkline(_) => a.panel.stat.sparkline == b.panel.stat.sparkline,
        }
    }

    fn write(&self, o: &mut Map<String, Value>, c: &Cell, pc: &mut PanelCtx<'_>) {
        let f: &FieldConfig = &c.panel.field;
        let ts: &TimeSeriesOptions = &c.panel.time_series;
        let non_empty = |s: &str| (!s.is_empty()).then(|| Value::from(s));
        match self {
            PG::Title => json::set(o, TITLE, Value::from(c.title.as_str())),
            PG::Description => set_or_remove(o, DESCRIPTION, non_empty(&c.description)),
            PG::TimeFrom => set_or_remove(
                o,
                TIME_FROM,
                c.panel.relative_time.as_deref().map(Value::from),
            ),
            PG::TimeShift => set_or_remove(
                o,
                TIME_SHIFT,
                c.panel.time_shift.as_deref().map(Value::from),
            ),
            PG::Datasource => {
                // A panel without queries needs no data source (Grafana's default serves it).
                let v = (pc.has_targets
                    || matches!(
                        c.datasource,
                        lookout_dashboard::DataSourceRef::Variable { .. }
                    ))
                .then(|| pc.ds.write_ref(&c.datasource));
                set_or_remove(o, DATASOURCE, v);
            }
            PG::GaugeShow => {
                json::set(o, GAUGE_SHOW, Value::Bool(c.panel.kind == PanelKind::Gauge))
            }
            PG::Unit(Fam::Graph) => set_or_remove(o, Y_FORMAT, non_empty(&f.unit)),
            PG::Unit(Fam::Singlestat) => set_or_remove(o, S_FORMAT, non_empty(&f.unit)),
            PG::Unit(_) => set_or_remove(o, FC_UNIT, non_empty(&f.unit)),
            PG::Decimals(fam) => {
                let p = match fam {
                    Fam::Graph => Y_DECIMALS,
                    Fam::Singlestat => S_DECIMALS,
                    _ => FC_DECIMALS,
                };
                set_or_remove(o, p, f.decimals.map(Value::from));
            }
            PG::Min(fam) | PG::Max(fam) => {
                let min = matches!(self, PG::Min(_));
                let p = match (fam, min) {
                    (Fam::Graph, true) => Y_MIN,
                    (Fam::Graph, false) => Y_MAX,
                    (Fam::Singlestat, true) => S_MIN,
                    (Fam::Singlestat, false) => S_MAX,
                    (_, true) => FC_MIN,
                    (_, false) => FC_MAX,
                };
                set_or_remove(o, p, if min { f.min } else { f.max }.map(num));
            }
            PG::Thresholds(Fam::Graph) => {
                let list = if f.thresholds == Thresholds::default() {
                    Value::Array(Vec::new())
                } else {
                    write_graph_thresholds(&f.thresholds, ts.thresholds_style)
                };
                json::set(o, G_THRESHOLDS, list);
            }
            PG::Thresholds(Fam::Singlestat) => {
                let levels: Vec<String> = f
                    .thresholds
                    .steps
                    .iter()
                    .filter_map(|s| s.value.map(|v| v.to_string()))
                    .collect();
                let colors: Vec<Value> = f
                    .thresholds
                    .steps
                    .iter()
                    .map(|s| Value::from(s.color.as_str()))
                    .collect();
                json::set(o, S_THRESHOLDS, Value::from(levels.join(",")));
                json::set(o, S_COLORS, Value::Array(colors));
            }
            // Grafana's defaults (its standard thresholds, the time series' line style, the
            // stat's last-not-null and sparkline) are left out, as Grafana leaves them.
            PG::Thresholds(_) => set_or_remove(
                o,
                FC_THRESHOLDS,
                (f.thresholds != Thresholds::default()).then(|| write_thresholds(&f.thresholds)),
            ),
            PG::NoValue(Fam::Singlestat) => {
                set_or_remove(o, S_NULL_TEXT, f.no_value.as_deref().map(Value::from));
            }
            PG::NoValue(_) => set_or_remove(o, FC_NO_VALUE, f.no_value.as_deref().map(Value::from)),
            PG::Draw(Fam::Graph) => {
                json::set(o, G_LINES, Value::Bool(ts.draw == DrawStyle::Lines));
                json::set(o, G_BARS, Value::Bool(ts.draw == DrawStyle::Bars));
                json::set(o, G_POINTS, Value::Bool(ts.draw == DrawStyle::Points));
                let fill = (f64::from(ts.fill_opacity) / 10.0).round().clamp(0.0, 10.0);
                json::set(o, G_FILL, num(fill));
                json::set(o, G_GRADIENT, Value::from(0));
                json::set(o, G_LINEWIDTH, Value::from(ts.line_width));
                json::set(o, G_STACK, Value::Bool(ts.stacked));
            }
            PG::Draw(_) => {
                let style = match ts.draw {
                    DrawStyle::Lines => "line",
                    DrawStyle::Points => "points",
                    DrawStyle::Bars => "bars",
                };
                let d = TimeSeriesOptions::default();
                set_or_remove(o, FC_DRAW, (ts.draw != d.draw).then(|| Value::from(style)));
                set_or_remove(
                    o,
                    FC_FILL,
                    (ts.fill_opacity != d.fill_opacity).then(|| Value::from(ts.fill_opacity)),
                );
                set_or_remove(
                    o,
                    FC_LINE,
                    (ts.line_width != d.line_width).then(|| Value::from(ts.line_width)),
                );
                set_or_remove(o, FC_STACK, ts.stacked.then(|| Value::from("normal")));
                set_or_remove(
                    o,
                    FC_TSTYLE,
                    (ts.thresholds_style != d.thresholds_style)
                        .then(|| json!({"mode": ts.thresholds_style.id()})),
                );
            }
            PG::Reducer(Fam::Singlestat) => {
                json::set(
                    o,
                    S_VALUE_NAME,
                    Value::from(value_name(c.panel.stat.reducer)),
                );
            }
            PG::Reducer(_) => {
                let r = c.panel.stat.reducer;
                set_or_remove(
                    o,
                    CALCS,
                    (r != Reducer::LastNotNull).then(|| json!([r.id()])),
                );
            }
            PG::Sparkline(Fam::Singlestat) => {
                json::set(o, S_SPARKLINE, Value::Bool(c.panel.stat.sparkline));
            }
            PG::Sparkline(_) => {
                let none = (!c.panel.stat.sparkline).then(|| Value::from("none"));
                set_or_remove(o, GRAPH_MODE, none);
            }
        }
    }
}

/// Import: the kept object minus canonical groups; the panel's `type` goes when it is the
/// modern type of the kind.
pub(crate) fn strip_panel(
    original: &Map<String, Value>,
    kept: &mut Map<String, Value>,
    cell: &Cell,
    pc: &mut PanelCtx<'_>,
) {
    let kind_s = str_of(original, "type").unwrap_or_default();
    let fam = family(kind_s, original, pc.ds.shape);
    if fam == Fam::Modern {
        kept.remove("type");
    }
    strip(&groups(fam, cell.panel.kind), original, kept, cell, pc);
}

/// Export: the panel's type (the kept one when it can still show the kind) and its groups.
pub(crate) fn restore_panel(out: &mut Map<String, Value>, cell: &Cell, pc: &mut PanelCtx<'_>) {
    let kind = cell.panel.kind;
    let shape = pc.ds.shape;
    let kept_type = str_of(out, "type")
        .filter(|t| compatible(t, out, shape, kind))
        .map(str::to_string);
    let kind_s = kept_type.or_else(|| canonical_type(kind).map(str::to_string));
    // An unsupported panel keeps whatever `type` it had, or none.
    if let Some(t) = &kind_s {
        out.insert("type".into(), Value::from(t.as_str()));
    }
    let fam = family(kind_s.as_deref().unwrap_or_default(), out, shape);
    let groups = groups(fam, kind);
    restore(&groups, out, cell, pc, |o, pc| {
        let notes = pc.notes.take();
        let c = read(o, pc);
        pc.notes = notes;
        c
    });
}
