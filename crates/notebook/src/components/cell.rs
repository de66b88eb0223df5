//! One notebook cell (or a dashboard panel in its editor): title, data source, queries (A, B,
//! …), panel options, and the panel. It runs on Shift+Enter, on "Run", when its source changes
//! and on every refresh (`cell_run.rs`). Its errors stay in the cell.

use leptos::prelude::*;
use lookout_dashboard::Reducer;
use lookout_dashboard::model::{
    DataSourceRef, DrawStyle, PanelKind, ThresholdStep, Thresholds, ThresholdsMode, ThresholdsStyle,
};
use lookout_datasource::{Credentials, Secret};

use crate::cell_run::{CellRun, use_cell_run};
use crate::components::notebook::use_notebook;
use crate::components::panel::PanelView;
use crate::components::target_editor::TargetEditor;
use crate::sources::{has_credentials, set_credentials};

pub const KINDS: &[(PanelKind, &str)] = &[
    (PanelKind::TimeSeries, "Time series"),
    (PanelKind::Stat, "Stat"),
    (PanelKind::Gauge, "Gauge"),
    (PanelKind::BarGauge, "Bar gauge"),
    (PanelKind::Table, "Table"),
    (PanelKind::Heatmap, "Heatmap"),
];

fn kind_id(k: PanelKind) -> &'static str {
    match k {
        PanelKind::TimeSeries => "timeseries",
        PanelKind::Stat => "stat",
        PanelKind::Gauge => "gauge",
        PanelKind::BarGauge => "bargauge",
        PanelKind::Table => "table",
        PanelKind::Heatmap => "heatmap",
        PanelKind::Unsupported => "unsupported",
    }
}

const UNITS: &[&str] = &[
    "short",
    "none",
    "percent",
    "percentunit",
    "s",
    "ms",
    "µs",
    "ns",
    "bytes",
    "decbytes",
    "reqps",
    "ops",
    "hertz",
];

/// Thresholds as the cell writes them: `green, 80 red, 90 #d44a3a` (a base colour, then
/// `value colour` steps).
pub fn thresholds_text(t: &Thresholds) -> String {
    t.steps
        .iter()
        .map(|s| match s.value {
            None => s.color.clone(),
            Some(v) => format!("{v} {}", s.color),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn parse_thresholds(text: &str, mode: ThresholdsMode) -> Result<Thresholds, String> {
    let mut steps = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut words = item.split_whitespace();
        let first = words.next().unwrap_or_default();
        match (first.parse::<f64>(), words.next()) {
            (Ok(v), Some(color)) if v.is_finite() => steps.push(ThresholdStep {
                value: Some(v),
                color: color.to_string(),
            }),
            (Err(_), None) => steps.push(ThresholdStep {
                value: None,
                color: first.to_string(),
            }),
            _ => return Err(format!("{item:?}: write `colour` or `value colour`")),
        }
    }
    Ok(Thresholds { mode, steps })
}

#[component]
pub fn CellView(
    id: u64,
    /// Prefix of the element id (`{prefix}cell-{id}`), for a second view of the same id.
    #[prop(optional)]
    prefix: &'static str,
    /// A dashboard's panel: offers "the dashboard's data source".
    #[prop(optional)]
    dashboard: bool,
) -> impl IntoView {
    let ctx = use_notebook();
    let CellRun {
        cell,
        data,
        running,
        run,
        panel_ref,
        query_ms,
        drawn_ms,
        draws,
    } = use_cell_run(id);
    let datasource = Memo::new(move |_| cell.with(|c| c.as_ref().map(|c| c.datasource.clone())));
    let with_cell = move |f: Box<dyn FnOnce(&mut lookout_dashboard::Cell)>| ctx.update_cell(id, f);
    let ref_ids = move || {
        cell.with(|c| {
            c.as_ref()
                .map(|c| {
                    c.targets
                        .iter()
                        .map(|t| t.ref_id.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let panel = move || cell.with(|c| c.as_ref().map(|c| c.panel.clone()).unwrap_or_default());
    let source_kind = move || match datasource.get() {
        Some(DataSourceRef::Server) => "server".to_string(),
        Some(DataSourceRef::Remote { .. }) => "remote".to_string(),
        Some(DataSourceRef::Dashboard) if dashboard => "dashboard".to_string(),
        Some(DataSourceRef::Variable { name }) if dashboard => format!("var:{name}"),
        _ => "page".to_string(),
    };
    // A dashboard's `datasource` variables, offered as sources (`$name`).
    let source_variables = move || {
        if !dashboard {
            return Vec::new();
        }
        ctx.doc.with(|d| {
            d.variables
                .iter()
                .filter(|v| {
                    matches!(
                        v.kind,
                        lookout_dashboard::variables::VariableKind::Datasource { .. }
                    )
                })
                .map(|v| v.name.clone())
                .collect::<Vec<_>>()
        })
    };
    let remote_url = move || match datasource.get() {
        Some(DataSourceRef::Remote { url }) => url,
        _ => String::new(),
    };
    let token = RwSignal::new(String::new());
    let cred_note = RwSignal::new(String::new());
    let thresholds_error = RwSignal::new(None::<String>);
    let set_panel = move |f: Box<dyn FnOnce(&mut lookout_dashboard::Panel)>| {
        with_cell(Box::new(move |c| f(&mut c.panel)));
    };
    view! {
        <article class="cell" id=format!("{prefix}cell-{id}") data-kind=move || kind_id(panel().kind)>
            <div class="cell-head">
                <input class="cell-title" aria-label="Panel title"
                    prop:value=move || cell.with(|c| c.as_ref().map(|c| c.title.clone()).unwrap_or_default())
                    on:change=move |ev| { let v = event_target_value(&ev); with_cell(Box::new(move |c| c.title = v)); } />
                <select class="source" aria-label="Data source"
                    prop:value=source_kind
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        with_cell(Box::new(move |c| {
                            c.datasource = match v.as_str() {
                                var if var.starts_with("var:") => DataSourceRef::Variable { name: var[4..].to_string() },
                                "server" => DataSourceRef::Server,
                                "remote" => DataSourceRef::Remote { url: "http://127.0.0.1:9090".into() },
                                "dashboard" => DataSourceRef::Dashboard,
                                _ => DataSourceRef::Page,
                            };
                        }));
                    }>
                    {dashboard.then(|| view! { <option value="dashboard">"Dashboard's source"</option> })}
                    <option value="page">"This page"</option>
                    <option value="server">"This server"</option>
                    <option value="remote">"Prometheus URL…"</option>
                    {move || source_variables().into_iter().map(|n| view! { <option value=format!("var:{n}")>{format!("${n}")}</option> }).collect_view()}
                </select>
                <select class="kind" aria-label="Panel type"
                    prop:value=move || kind_id(panel().kind)
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some((k, _)) = KINDS.iter().find(|(k, _)| kind_id(*k) == v) {
                            let k = *k;
                            set_panel(Box::new(move |p| p.kind = k));
                        }
                    }>
                    {KINDS.iter().map(|(k, label)| view! { <option value=kind_id(*k)>{*label}</option> }).collect_view()}
                </select>
                <button class="run" on:click=move |_| run.run(())>
                    {move || if running.get() { "Running…" } else { "Run" }}
                </button>
                <button class="icon" title="Add a query" on:click=move |_| with_cell(Box::new(|c| { c.add_target(""); }))>"+ Query"</button>
                <button class="icon remove-cell" title="Remove this cell" on:click=move |_| {
                    ctx.doc.update(|d| { d.remove_panel(id); });
                }>"Remove"</button>
            </div>
            <Show when=move || source_kind() == "remote">
                <div class="remote">
                    <label>"URL "
                        <input class="remote-url" size="40" placeholder="http://prometheus:9090"
                            prop:value=remote_url
                            on:change=move |ev| {
                                let url = event_target_value(&ev).trim().trim_end_matches('/').to_string();
                                with_cell(Box::new(move |c| c.datasource = DataSourceRef::Remote { url }));
                            } />
                    </label>
                    <label>" Bearer token "
                        <input type="password" class="remote-token" autocomplete="off"
                            prop:value=move || token.get()
                            on:input=move |ev| token.set(event_target_value(&ev)) />
                    </label>
                    <button on:click=move |_| {
                        let url = remote_url();
                        let t = token.get_untracked();
                        set_credentials(&url, if t.is_empty() { Credentials::None } else { Credentials::Bearer(Secret::new(t)) });
                        token.set(String::new());
                        cred_note.set(if has_credentials(&url) { "token set for this tab only".into() } else { "no token".into() });
                        run.run(());
                    }>"Use"</button>
                    <span class="note">{move || cred_note.get()}</span>
                    <p class="hint">
                        "The browser calls this URL directly: Prometheus must allow this page's origin ("
                        <code>"--web.cors.origin"</code>
                        "), or start lookout serve with --prometheus URL and choose This server's proxy at /prometheus. Tokens are kept for this tab only, never saved."
                    </p>
                </div>
            </Show>
            <div class="targets">
                <For each=ref_ids key=|r| r.clone() children=move |ref_id: String| {
                    let r = ref_id.clone();
                    let error = Signal::derive(move || {
                        data.with(|d| {
                            let d = d.as_ref()?;
                            let (_, e) = d.errors.iter().find(|(x, _)| *x == r)?;
                            let expr = cell.with_untracked(|c| {
                                c.as_ref().and_then(|c| c.targets.iter().find(|t| t.ref_id == r).map(|t| t.expr.clone()))
                            }).unwrap_or_default();
                            // Positions are in the substituted query: only mark them where
                            // nothing was substituted.
                            let pos = e.position().filter(|_| !expr.contains('$') && !expr.contains("[["));
                            Some((e.to_string(), pos))
                        })
                    });
                    view! { <TargetEditor cell_id=id ref_id=ref_id error=error run=run /> }
                } />
            </div>
            <details class="options">
                <summary>"Panel options"</summary>
                <div class="option-grid">
                    <label>"Unit "
                        <input class="unit" list="units" prop:value=move || panel().field.unit
                            on:change=move |ev| { let v = event_target_value(&ev); set_panel(Box::new(move |p| p.field.unit = v)); } />
                    </label>
                    <datalist id="units">{UNITS.iter().map(|u| view! { <option value=*u /> }).collect_view()}</datalist>
                    <label>"Decimals "
                        <input type="number" min="0" max="20" class="decimals"
                            prop:value=move || panel().field.decimals.map(|d| d.to_string()).unwrap_or_default()
                            on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); set_panel(Box::new(move |p| p.field.decimals = v)); } />
                    </label>
                    <label>"Min "
                        <input class="min" prop:value=move || panel().field.min.map(|d| d.to_string()).unwrap_or_default()
                            on:change=move |ev| { let v = event_target_value(&ev).parse().ok().filter(|v: &f64| v.is_finite()); set_panel(Box::new(move |p| p.field.min = v)); } />
                    </label>
                    <label>"Max "
                        <input class="max" prop:value=move || panel().field.max.map(|d| d.to_string()).unwrap_or_default()
                            on:change=move |ev| { let v = event_target_value(&ev).parse().ok().filter(|v: &f64| v.is_finite()); set_panel(Box::new(move |p| p.field.max = v)); } />
                    </label>
                    <label>"Thresholds "
                        <input class="thresholds" size="28" placeholder="green, 80 red"
                            prop:value=move || thresholds_text(&panel().field.thresholds)
                            on:change=move |ev| {
                                let mode = panel().field.thresholds.mode;
                                match parse_thresholds(&event_target_value(&ev), mode) {
                                    Ok(t) => { thresholds_error.set(None); set_panel(Box::new(move |p| p.field.thresholds = t)); }
                                    Err(e) => thresholds_error.set(Some(e)),
                                }
                            } />
                    </label>
                    <label>
                        <input type="checkbox" class="percentage"
                            prop:checked=move || panel().field.thresholds.mode == ThresholdsMode::Percentage
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                set_panel(Box::new(move |p| p.field.thresholds.mode = if on { ThresholdsMode::Percentage } else { ThresholdsMode::Absolute }));
                            } />
                        " percent of min–max"
                    </label>
                    <label>"No value "
                        <input class="no-value" placeholder="No data" prop:value=move || panel().field.no_value.unwrap_or_default()
                            on:change=move |ev| { let v = event_target_value(&ev); set_panel(Box::new(move |p| p.field.no_value = (!v.is_empty()).then_some(v))); } />
                    </label>
                    <label>"Reducer "
                        <select class="reducer" prop:value=move || panel().stat.reducer.id().to_string()
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                if let Some(r) = Reducer::ALL.iter().find(|r| r.id() == v) {
                                    let r = *r;
                                    set_panel(Box::new(move |p| p.stat.reducer = r));
                                }
                            }>
                            {Reducer::ALL.iter().map(|r| view! { <option value=r.id()>{r.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>
                        <input type="checkbox" class="sparkline" prop:checked=move || panel().stat.sparkline
                            on:change=move |ev| { let on = event_target_checked(&ev); set_panel(Box::new(move |p| p.stat.sparkline = on)); } />
                        " Sparkline"
                    </label>
                    <label>"Draw "
                        <select class="draw" prop:value=move || match panel().time_series.draw { DrawStyle::Lines => "lines", DrawStyle::Points => "points", DrawStyle::Bars => "bars" }
                            on:change=move |ev| {
                                let d = match event_target_value(&ev).as_str() { "points" => DrawStyle::Points, "bars" => DrawStyle::Bars, _ => DrawStyle::Lines };
                                set_panel(Box::new(move |p| p.time_series.draw = d));
                            }>
                            <option value="lines">"Lines"</option>
                            <option value="points">"Points"</option>
                            <option value="bars">"Bars"</option>
                        </select>
                    </label>
                    <label>
                        <input type="checkbox" class="stacked" prop:checked=move || panel().time_series.stacked
                            on:change=move |ev| { let on = event_target_checked(&ev); set_panel(Box::new(move |p| p.time_series.stacked = on)); } />
                        " Stacked"
                    </label>
                    <label>"Fill "
                        <input type="number" min="0" max="100" class="fill" prop:value=move || panel().time_series.fill_opacity.to_string()
                            on:change=move |ev| { let v = event_target_value(&ev).parse::<u8>().unwrap_or(0).min(100); set_panel(Box::new(move |p| p.time_series.fill_opacity = v)); } />
                    </label>
                    <label>"Line width "
                        <input type="number" min="1" max="10" class="line-width" prop:value=move || panel().time_series.line_width.to_string()
                            on:change=move |ev| { let v = event_target_value(&ev).parse::<u8>().unwrap_or(1).clamp(1, 10); set_panel(Box::new(move |p| p.time_series.line_width = v)); } />
                    </label>
                    <label>"Show thresholds "
                        <select class="thresholds-style" prop:value=move || panel().time_series.thresholds_style.id().to_string()
                            on:change=move |ev| {
                                let style = ThresholdsStyle::from_id(&event_target_value(&ev)).unwrap_or_default();
                                set_panel(Box::new(move |p| p.time_series.thresholds_style = style));
                            }>
                            {ThresholdsStyle::ALL.iter().map(|t| view! { <option value=t.id()>{t.label()}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <p class="error">{move || thresholds_error.get().unwrap_or_default()}</p>
            </details>
            <div class="panel" node_ref=panel_ref>
                <PanelView cell=cell data=data />
            </div>
            <p class="cell-footer"
                data-query-ms=move || query_ms.get().map(|v| format!("{v:.1}")).unwrap_or_default()
                data-drawn-ms=move || drawn_ms.get().map(|v| format!("{v:.1}")).unwrap_or_default()
                data-runs=move || draws.get().to_string()>
                {move || data.with(|d| {
                    let d = d.as_ref()?;
                    let (series, points) = d.frame.as_ref().map_or((0, 0), |f| {
                        (f.series.len(), f.series.iter().map(|s| s.values.iter().filter(|v| v.is_some()).count()).sum())
                    });
                    let instant = d.instant.as_ref().map_or(0, |i| i.series.len());
                    Some(format!(
                        "{} series · {points} points{} · query {} · drawn {}",
                        series + instant,
                        if instant > 0 { format!(" · {instant} instant values") } else { String::new() },
                        query_ms.get().map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into()),
                        drawn_ms.get().map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "…".into()),
                    ))
                })}
            </p>
        </article>
    }
}
