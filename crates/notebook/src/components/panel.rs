//! A cell's panel: time series (uPlot), stat (with an optional sparkline), gauge, bar gauge,
//! table (sortable) and heatmap, drawn from the shaped data (`lookout-dashboard`). Values,
//! units, colours and legends come from the pure crate; this file only draws. Every text
//! from data is rendered as text.

use leptos::prelude::*;
use lookout_dashboard::model::{Cell, FieldConfig, PanelKind, ThresholdsMode};
use lookout_dashboard::table::{TableCell, table_from_instant};
use lookout_dashboard::thresholds::{color_for, named_color_hex, value_range};
use lookout_dashboard::time::TimeRange;
use lookout_dashboard::{CellData, format_value, heatmaps, suggested_kind};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::Closure;

use crate::alerting::AlertsCtx;
use crate::components::dashboard::DashCtx;
use crate::components::notebook::use_notebook;
use crate::notebook_js::{self, Chart, object};

const HEIGHT: u32 = 260;
/// Most series a time series panel lists in its legend.
const LEGEND_MAX: usize = 100;
/// A qualitative palette (Grafana's classic series colours).
const PALETTE: &[&str] = &[
    "#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
    "#508642", "#CCA300",
];

fn css_color(name: &str) -> String {
    named_color_hex(name).map_or_else(|| name.to_string(), str::to_string)
}

fn fmt(v: Option<f64>, field: &FieldConfig) -> String {
    match v {
        Some(v) => format_value(v, &field.unit, field.decimals).to_string(),
        None => field.no_value.clone().unwrap_or_else(|| "No data".into()),
    }
}

fn json_value<T: serde::Serialize>(v: &T) -> JsValue {
    serde_json::to_string(v)
        .ok()
        .and_then(|s| js_sys::JSON::parse(&s).ok())
        .unwrap_or(JsValue::NULL)
}

fn formatter(field: &FieldConfig) -> JsValue {
    let (unit, decimals) = (field.unit.clone(), field.decimals);
    Closure::<dyn Fn(f64) -> String>::new(move |v: f64| {
        format_value(v, &unit, decimals).to_string()
    })
    .into_js_value()
}

#[component]
pub fn PanelView(
    cell: Memo<Option<Cell>>,
    data: RwSignal<Option<CellData>>,
    /// The chart's height in CSS px (a dashboard panel's); the notebook's default otherwise.
    #[prop(optional, into)]
    height: Option<Signal<u32>>,
) -> impl IntoView {
    let height = height.unwrap_or_else(|| Signal::stored(HEIGHT));
    // The chosen panel, unless it cannot show what came back: instant values in a time
    // series panel are shown as the result's own suggestion (one value → stat, several →
    // table), as a first query of a new cell would want.
    let kind = Memo::new(move |_| {
        let chosen = cell.with(|c| c.as_ref().map(|c| c.panel.kind));
        data.with(|d| match (chosen, d) {
            (Some(PanelKind::TimeSeries), Some(d))
                if d.frame.as_ref().is_none_or(|f| f.series.is_empty())
                    && d.instant.as_ref().is_some_and(|i| !i.series.is_empty()) =>
            {
                Some(suggested_kind(d))
            }
            _ => chosen,
        })
    });
    view! {
        <ul class="cell-errors">
            {move || data.with(|d| d.as_ref().map(|d| d.errors.iter().map(|(r, e)| {
                let text = if r.is_empty() { e.to_string() } else { format!("{r}: {e}") };
                view! { <li class="cell-error">{text}</li> }
            }).collect_view()))}
        </ul>
        {move || {
            let empty = data.with(|d| d.as_ref().is_some_and(|d| d.is_empty()));
            let no_value = cell.with(|c| c.as_ref().and_then(|c| c.panel.field.no_value.clone()));
            empty.then(|| view! { <p class="no-data">{no_value.unwrap_or_else(|| "No data".into())}</p> })
        }}
        {move || match kind.get() {
            Some(PanelKind::TimeSeries) | None => view! { <TimeSeriesChart cell=cell data=data height=height /> }.into_any(),
            Some(PanelKind::Heatmap) => view! { <HeatmapChart data=data height=height /> }.into_any(),
            Some(PanelKind::Stat) => view! { <Values cell=cell data=data style=ValueStyle::Stat /> }.into_any(),
            Some(PanelKind::Gauge) => view! { <Values cell=cell data=data style=ValueStyle::Gauge /> }.into_any(),
            Some(PanelKind::BarGauge) => view! { <Values cell=cell data=data style=ValueStyle::Bar /> }.into_any(),
            Some(PanelKind::Table) => view! { <TableView cell=cell data=data /> }.into_any(),
            Some(PanelKind::Unsupported) => {
                let kept = cell.with(|c| c.as_ref()
                    .and_then(|c| c.grafana.as_ref())
                    .and_then(|g| g.get("type"))
                    .and_then(|t| t.as_str().map(str::to_string))
                    .unwrap_or_else(|| "unknown".into()));
                view! { <p class="unsupported">{format!("Lookout does not draw “{kept}” panels; the panel is kept as it was and exported back.")}</p> }.into_any()
            }
        }}
    }
}

/// Destroys a chart when its component goes away.
fn chart_slot() -> StoredValue<Option<Chart>, LocalStorage> {
    let slot = StoredValue::new_local(None::<Chart>);
    on_cleanup(move || {
        slot.update_value(|c| {
            if let Some(c) = c.take() {
                c.destroy();
            }
        });
    });
    slot
}

fn replace(slot: StoredValue<Option<Chart>, LocalStorage>, chart: Option<Chart>) {
    slot.update_value(|c| {
        if let Some(old) = c.take() {
            old.destroy();
        }
        *c = chart;
    });
}

fn width_of(el: &web_sys::HtmlElement) -> u32 {
    (el.client_width().max(0) as u32).clamp(200, 4000)
}

/// A dashboard panel's alert on its time series: the first condition's threshold(s)
/// (`gt`/`lt`: a line and the firing side shaded; ranges: two lines) and the state changes
/// of its history as vertical markers.
fn alert_marks(cell: Memo<Option<Cell>>) -> Memo<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    let dash = use_context::<DashCtx>();
    let alerts = use_context::<AlertsCtx>();
    Memo::new(move |_| {
        let rule = cell.with(|c| c.as_ref().and_then(lookout_alerts::rule_of));
        let Some(Ok(rule)) = rule else {
            return (Vec::new(), Vec::new());
        };
        let mut lines = Vec::new();
        if let Some(c) = rule.conditions.first() {
            use lookout_alerts::EvaluatorKind as K;
            let p = &c.evaluator.params;
            match (c.evaluator.kind, p.first(), p.get(1)) {
                (K::Gt, Some(v), _) => lines.push(serde_json::json!({"value": v, "fill": "above"})),
                (K::Lt, Some(v), _) => lines.push(serde_json::json!({"value": v, "fill": "below"})),
                (K::WithinRange | K::OutsideRange, Some(a), Some(b)) => {
                    lines.push(serde_json::json!({"value": a}));
                    lines.push(serde_json::json!({"value": b}));
                }
                _ => {}
            }
        }
        let mut marks = Vec::new();
        if let (Some(dash), Some(alerts), Some(id)) =
            (dash, alerts, cell.with(|c| c.as_ref().map(|c| c.id)))
            && let Some(row) = alerts.row(&dash.uid.get_value(), id, dash.alerts_by.get())
        {
            for t in row.history.iter().filter(|t| t.instance.is_none()) {
                marks.push(serde_json::json!({
                    "timeMs": t.time_ms,
                    "color": t.to.color(),
                    "text": format!("Alert {}: {} → {}", row.name, t.from.text(), t.to.text()),
                }));
            }
        }
        (lines, marks)
    })
}

#[component]
fn TimeSeriesChart(
    cell: Memo<Option<Cell>>,
    data: RwSignal<Option<CellData>>,
    height: Signal<u32>,
) -> impl IntoView {
    let ctx = use_notebook();
    let holder = NodeRef::<leptos::html::Div>::new();
    let slot = chart_slot();
    let marks = alert_marks(cell);
    Effect::new(move |_| {
        let Some(el) = holder.get() else { return };
        let Some(c) = cell.get() else { return };
        let (alert_thresholds, annotations) = marks.get();
        let field = &c.panel.field;
        // Read in place (no copy of the frame: 1,000 series × 361 points are 5.8 MB).
        let shaped = data.with(|d| {
            let frame = d
                .as_ref()?
                .frame
                .as_ref()
                .filter(|f| !f.series.is_empty())?;
            let times: Vec<f64> = frame.times_ms.iter().map(|t| *t as f64 / 1000.0).collect();
            // Values as typed arrays (NaN = gap): no JSON for hundreds of thousands of
            // points; one buffer reused for every series.
            let series = js_sys::Array::new();
            let mut values = Vec::with_capacity(times.len());
            for (i, s) in frame.series.iter().enumerate() {
                values.clear();
                values.extend(s.values.iter().map(|v| v.unwrap_or(f64::NAN)));
                series.push(&object(&[
                    ("label", JsValue::from_str(&s.name)),
                    (
                        "values",
                        js_sys::Float64Array::from(values.as_slice()).into(),
                    ),
                    ("color", JsValue::from_str(PALETTE[i % PALETTE.len()])),
                ]));
            }
            // The range over every value only where percentage thresholds need it.
            let range = (field.thresholds.mode == ThresholdsMode::Percentage)
                .then(|| value_range(field, frame.series.iter().flat_map(|s| &s.values)));
            Some((times, series, frame.series.len(), range))
        });
        let Some((times, series, series_count, range)) = shaped else {
            replace(slot, None);
            return;
        };
        let thresholds: Vec<serde_json::Value> = field
            .thresholds
            .steps
            .iter()
            .filter_map(|s| {
                let v = s.value?;
                // `range` is there exactly for percentage thresholds.
                let v = match range {
                    Some((min, max)) => min + (max - min) * v / 100.0,
                    None => v,
                };
                v.is_finite()
                    .then(|| serde_json::json!({"value": v, "color": css_color(&s.color)}))
            })
            .collect();
        let ts = &c.panel.time_series;
        let draw = match ts.draw {
            lookout_dashboard::DrawStyle::Lines => "lines",
            lookout_dashboard::DrawStyle::Points => "points",
            lookout_dashboard::DrawStyle::Bars => "bars",
        };
        let on_zoom = Closure::<dyn Fn(f64, f64)>::new(move |from: f64, to: f64| {
            if from.is_finite() && to.is_finite() && to > from {
                ctx.doc
                    .update(|d| d.time = TimeRange::absolute(from as i64, to as i64));
                ctx.refresh();
            }
        });
        let opts = object(&[
            ("width", JsValue::from(width_of(&el))),
            ("height", JsValue::from(height.get())),
            ("times", js_sys::Float64Array::from(times.as_slice()).into()),
            ("series", series.into()),
            // A legend of hundreds of rows costs more than the plot; above LEGEND_MAX
            // series the tooltip names them.
            ("legend", JsValue::from(series_count <= LEGEND_MAX)),
            ("format", formatter(field)),
            ("thresholds", json_value(&thresholds)),
            (
                "thresholdStyle",
                JsValue::from_str(ts.thresholds_style.id()),
            ),
            ("draw", JsValue::from_str(draw)),
            ("stacked", JsValue::from(ts.stacked)),
            ("fillOpacity", JsValue::from(ts.fill_opacity)),
            ("lineWidth", JsValue::from(ts.line_width)),
            ("onZoom", on_zoom.into_js_value()),
            ("alertThresholds", json_value(&alert_thresholds)),
            ("annotations", json_value(&annotations)),
        ]);
        replace(slot, None);
        match notebook_js::create_time_series(&el, &opts) {
            Ok(chart) => replace(slot, Some(chart)),
            Err(e) => ctx.status.set(Some(format!("the chart failed: {e:?}"))),
        }
    });
    view! { <div class="chart timeseries" node_ref=holder></div> }
}

#[component]
fn HeatmapChart(data: RwSignal<Option<CellData>>, height: Signal<u32>) -> impl IntoView {
    let ctx = use_notebook();
    let holder = NodeRef::<leptos::html::Div>::new();
    let slot = chart_slot();
    let problem = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(el) = holder.get() else { return };
        let frame = data.with(|d| d.as_ref().and_then(|d| d.frame.clone()));
        let Some(frame) = frame.filter(|f| !f.series.is_empty()) else {
            replace(slot, None);
            return;
        };
        let maps = match heatmaps(&frame) {
            Ok(m) => m,
            Err(e) => {
                problem.set(Some(format!("heatmap: {e} (query classic histogram buckets, e.g. sum by (le) (rate(inference_time_bucket[1m])))")));
                replace(slot, None);
                return;
            }
        };
        problem.set(None);
        let Some(h) = maps.first() else { return };
        let times: Vec<f64> = h.times_ms.iter().map(|t| *t as f64 / 1000.0).collect();
        // Edges: the first lower bound, then every upper bound (+Inf stays Infinity).
        let edges = js_sys::Array::new();
        if let Some((lo, _)) = h.bounds.first() {
            edges.push(&JsValue::from_f64(*lo));
        }
        for (_, hi) in &h.bounds {
            edges.push(&JsValue::from_f64(*hi));
        }
        let opts = object(&[
            ("width", JsValue::from(width_of(&el))),
            ("height", JsValue::from(height.get())),
            ("times", json_value(&times)),
            ("bounds", edges.into()),
            ("counts", json_value(&h.counts)),
        ]);
        replace(slot, None);
        match notebook_js::create_heatmap(&el, &opts) {
            Ok(chart) => replace(slot, Some(chart)),
            Err(e) => ctx.status.set(Some(format!("the heatmap failed: {e:?}"))),
        }
    });
    view! {
        <p class="error">{move || problem.get().unwrap_or_default()}</p>
        <div class="chart heatmap" node_ref=holder></div>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueStyle {
    Stat,
    Gauge,
    Bar,
}

/// One value per series: stat, gauge or bar gauge.
#[component]
fn Values(
    cell: Memo<Option<Cell>>,
    data: RwSignal<Option<CellData>>,
    style: ValueStyle,
) -> impl IntoView {
    move || {
        let Some(c) = cell.get() else {
            return ().into_any();
        };
        let field = c.panel.field.clone();
        let values = data.with(|d| {
            d.as_ref()
                .map(|d| d.reduced(c.panel.stat.reducer))
                .unwrap_or_default()
        });
        let nums: Vec<Option<f64>> = values.iter().map(|(_, v)| *v).collect();
        let (min, max) = value_range(&field, &nums);
        let sparkline = c.panel.stat.sparkline && style == ValueStyle::Stat;
        let frame = data.with(|d| d.as_ref().and_then(|d| d.frame.clone()));
        let items = values
            .into_iter()
            .enumerate()
            .map(|(i, (name, v))| {
                let color = css_color(color_for(&field.thresholds, v, min, max));
                let text = fmt(v, &field);
                let share = match v {
                    Some(v) if max > min => ((v - min) / (max - min)).clamp(0.0, 1.0),
                    Some(_) => 1.0,
                    None => 0.0,
                };
                let spark = if sparkline {
                    frame.as_ref().and_then(|f| {
                        let s = f.series.get(i)?;
                        Some(view! { <Sparkline times=f.times_ms.clone() values=s.values.clone() color=color.clone() /> })
                    })
                } else {
                    None
                };
                match style {
                    ValueStyle::Stat => view! {
                        <div class="stat" style:color=color.clone()>
                            <div class="stat-value">{text}</div>
                            <div class="stat-name">{name}</div>
                            {spark}
                        </div>
                    }
                    .into_any(),
                    ValueStyle::Gauge => view! {
                        <div class="gauge">
                            <svg viewBox="0 0 120 80" width="180" height="120">
                                <path d=arc(1.0) stroke="#e3e6ec" stroke-width="12" fill="none" />
                                <path d=arc(share) stroke=color.clone() stroke-width="12" fill="none" />
                                <text x="60" y="62" text-anchor="middle" class="gauge-value">{text}</text>
                            </svg>
                            <div class="stat-name">{name}</div>
                        </div>
                    }
                    .into_any(),
                    ValueStyle::Bar => view! {
                        <div class="bar-gauge">
                            <span class="bar-name">{name}</span>
                            <span class="bar-track">
                                <span class="bar-fill" style:width=format!("{:.1}%", share * 100.0) style:background=color.clone()></span>
                            </span>
                            <span class="bar-value" style:color=color>{text}</span>
                        </div>
                    }
                    .into_any(),
                }
            })
            .collect_view();
        view! { <div class=match style { ValueStyle::Stat => "stats", ValueStyle::Gauge => "gauges", ValueStyle::Bar => "bar-gauges" }>{items}</div> }.into_any()
    }
}

/// An SVG arc of 240°, `share` of it drawn.
fn arc(share: f64) -> String {
    let (cx, cy, r) = (60.0, 50.0, 40.0);
    let start = 210f64.to_radians();
    let sweep = 240f64.to_radians() * share.clamp(0.0, 1.0);
    let end = start - sweep;
    let (x0, y0) = (cx + r * start.cos(), cy - r * start.sin());
    let (x1, y1) = (cx + r * end.cos(), cy - r * end.sin());
    let large = if sweep > std::f64::consts::PI { 1 } else { 0 };
    format!("M {x0:.2} {y0:.2} A {r} {r} 0 {large} 1 {x1:.2} {y1:.2}")
}

#[component]
fn Sparkline(times: Vec<i64>, values: Vec<Option<f64>>, color: String) -> impl IntoView {
    let holder = NodeRef::<leptos::html::Div>::new();
    let slot = chart_slot();
    Effect::new(move |_| {
        let Some(el) = holder.get() else { return };
        let t: Vec<f64> = times.iter().map(|t| *t as f64 / 1000.0).collect();
        let opts = object(&[
            ("width", JsValue::from(160)),
            ("height", JsValue::from(40)),
            ("times", json_value(&t)),
            ("values", json_value(&values)),
            ("color", JsValue::from_str(&color)),
        ]);
        replace(slot, notebook_js::create_sparkline(&el, &opts).ok());
    });
    view! { <div class="sparkline" node_ref=holder></div> }
}

#[component]
fn TableView(cell: Memo<Option<Cell>>, data: RwSignal<Option<CellData>>) -> impl IntoView {
    let sort = RwSignal::new(None::<(usize, bool)>);
    move || {
        let field = cell
            .with(|c| c.as_ref().map(|c| c.panel.field.clone()))
            .unwrap_or_default();
        let Some(mut table) =
            data.with(|d| d.as_ref().map(|d| table_from_instant(&d.as_instant())))
        else {
            return ().into_any();
        };
        if let Some((col, desc)) = sort.get() {
            let _ = table.sort_by(col, desc);
        }
        let head = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mark = match sort.get() {
                    Some((c, true)) if c == i => " ▼",
                    Some((c, false)) if c == i => " ▲",
                    _ => "",
                };
                view! {
                    <th on:click=move |_| sort.update(|s| *s = Some(match *s { Some((c, d)) if c == i => (i, !d), _ => (i, false) }))>
                        {format!("{name}{mark}")}
                    </th>
                }
            })
            .collect_view();
        let rows = table
            .rows
            .into_iter()
            .map(|row| {
                let cells = row
                    .into_iter()
                    .map(|c| {
                        let text = match c {
                            TableCell::Empty => String::new(),
                            TableCell::Time(t) => js_sys::Date::new(&JsValue::from_f64(t as f64))
                                .to_iso_string()
                                .into(),
                            TableCell::Text(s) => s,
                            TableCell::Number(v) => fmt(Some(v), &field),
                        };
                        view! { <td>{text}</td> }
                    })
                    .collect_view();
                view! { <tr>{cells}</tr> }
            })
            .collect_view();
        view! {
            <table class="result-table">
                <thead><tr>{head}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    }
}
