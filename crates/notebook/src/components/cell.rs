//! One notebook cell: title, data source, queries (A, B, …), panel options, and the panel.
//! It runs on Shift+Enter, on "Run", when its source changes and on every notebook refresh;
//! a slower earlier run never overwrites a later one. Its errors stay in the cell.

use leptos::prelude::*;
use lookout_dashboard::model::{
    DataSourceRef, DrawStyle, PanelKind, ThresholdStep, Thresholds, ThresholdsMode,
};
use lookout_dashboard::{CellData, Reducer, run_cell};
use lookout_datasource::{Credentials, Secret};

use crate::components::notebook::use_notebook;
use crate::components::panel::PanelView;
use crate::components::target_editor::TargetEditor;
use crate::page_feed::use_feed;
use crate::platform::now_ms;
use crate::sources::{PageSource, has_credentials, set_credentials};

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

/// Runs `f` after the next frame is painted (two animation frames: the first runs before
/// the paint of the DOM changes made now).
fn after_paint(f: impl FnOnce() + 'static) {
    use wasm_bindgen::JsCast;
    let Some(w) = web_sys::window() else { return };
    let second = wasm_bindgen::closure::Closure::once_into_js(f);
    let w2 = w.clone();
    let first = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = w2.request_animation_frame(second.unchecked_ref());
    });
    let _ = w.request_animation_frame(first.unchecked_ref());
}

#[component]
pub fn CellView(id: u64) -> impl IntoView {
    let ctx = use_notebook();
    let feed = use_feed();
    let cell = Memo::new(move |_| ctx.doc.with(|d| d.cell(id).cloned()));
    let data = RwSignal::new(None::<CellData>);
    let running = RwSignal::new(false);
    let run_tick = RwSignal::new(0u64);
    let seq = StoredValue::new(0u64);
    let panel_ref = NodeRef::<leptos::html::Div>::new();
    // When the last run started (ms, `performance.now()`-like), and how long the query
    // and the drawing took: shown under the panel, read by `cargo xtask notebook-bench`.
    let started = StoredValue::new(0f64);
    let query_ms = RwSignal::new(None::<f64>);
    let drawn_ms = RwSignal::new(None::<f64>);
    let draws = RwSignal::new(0u32);
    let run = Callback::new(move |_: ()| run_tick.update(|t| *t += 1));
    let datasource = Memo::new(move |_| cell.with(|c| c.as_ref().map(|c| c.datasource.clone())));
    Effect::new(move |_| {
        ctx.tick.track();
        run_tick.track();
        datasource.track();
        let Some(c) = cell.get_untracked() else {
            return;
        };
        // A relative range ("now-5m") is resolved at each run, as a refresh would.
        let range = ctx
            .doc
            .with_untracked(|d| d.time.resolve(now_ms()).ok())
            .unwrap_or_else(|| ctx.range.get_untracked());
        let store = feed.0.with_value(|f| f.store.clone());
        let n = seq.get_value() + 1;
        seq.set_value(n);
        running.set(true);
        let width = panel_ref
            .get_untracked()
            .map(|e| e.client_width().max(0) as u32)
            .filter(|w| *w > 0);
        // The page's own metrics: scrape when due, so the panel shows the latest ones.
        feed.0.with_value(|f| f.scrape(now_ms()));
        let t0 = js_sys::Date::now();
        started.set_value(t0);
        leptos::task::spawn_local(async move {
            let src = PageSource::new(&c.datasource, &store);
            let scrape = src.scrape_interval_ms();
            let result = run_cell(&src, &c, range, now_ms(), width, Some(scrape)).await;
            if seq.get_value() == n {
                query_ms.set(Some(js_sys::Date::now() - t0));
                drawn_ms.set(None);
                data.set(Some(result));
                running.set(false);
                // The panel is drawn once this frame is painted.
                after_paint(move || {
                    if seq.get_value() == n {
                        drawn_ms.set(Some(js_sys::Date::now() - started.get_value()));
                        draws.update(|n| *n += 1);
                    }
                });
            }
        });
    });
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
        Some(DataSourceRef::Server) => "server",
        Some(DataSourceRef::Remote { .. }) => "remote",
        _ => "page",
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
        <article class="cell" id=format!("cell-{id}") data-kind=move || kind_id(panel().kind)>
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
                                "server" => DataSourceRef::Server,
                                "remote" => DataSourceRef::Remote { url: "http://127.0.0.1:9090".into() },
                                _ => DataSourceRef::Page,
                            };
                        }));
                    }>
                    <option value="page">"This page"</option>
                    <option value="server">"This server"</option>
                    <option value="remote">"Prometheus URL…"</option>
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
                    ctx.doc.update(|d| d.cells.retain(|c| c.id != id));
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
