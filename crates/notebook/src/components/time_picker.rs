//! A document's time range (the notebook's, or a dashboard's for all its panels): presets (last 5 minutes … 7 days), from/to in Grafana's syntax
//! (`now-6h`, or epoch milliseconds), zoom out, run now, and auto refresh.

use leptos::prelude::*;
use lookout_dashboard::time::{PRESETS, REFRESH_CHOICES, TimeRange, zoom_out};

use crate::components::notebook::use_notebook;
use crate::platform::now_ms;

#[component]
pub fn TimePicker(
    /// Prefix of the element ids (`{prefix}time-from`, …): the dashboards' picker is `dash-`.
    #[prop(optional)]
    prefix: &'static str,
) -> impl IntoView {
    let ctx = use_notebook();
    let set_range = move |from: String, to: String| {
        ctx.doc.update(|d| d.time = TimeRange::new(&from, &to));
        ctx.refresh();
    };
    let preset_value = move || {
        ctx.doc.with(|d| {
            PRESETS
                .iter()
                .position(|p| p.from == d.time.from && p.to == d.time.to)
                .map(|i| i.to_string())
                .unwrap_or_else(|| "custom".into())
        })
    };
    view! {
        <div class="time-picker">
            <select id=format!("{prefix}time-preset") aria-label="Time range"
                prop:value=preset_value
                on:change=move |ev| {
                    if let Some(p) = event_target_value(&ev).parse::<usize>().ok().and_then(|i| PRESETS.get(i)) {
                        set_range(p.from.to_string(), p.to.to_string());
                    }
                }>
                {PRESETS
                    .iter()
                    .enumerate()
                    .map(|(i, p)| view! { <option value=i.to_string()>{p.label}</option> })
                    .collect_view()}
                <option value="custom">"Custom"</option>
            </select>
            <input id=format!("{prefix}time-from") class="time" aria-label="From" title="now-6h, or epoch ms"
                prop:value=move || ctx.doc.with(|d| d.time.from.clone())
                on:change=move |ev| {
                    let to = ctx.doc.with_untracked(|d| d.time.to.clone());
                    set_range(event_target_value(&ev), to);
                } />
            " to "
            <input id=format!("{prefix}time-to") class="time" aria-label="To"
                prop:value=move || ctx.doc.with(|d| d.time.to.clone())
                on:change=move |ev| {
                    let from = ctx.doc.with_untracked(|d| d.time.from.clone());
                    set_range(from, event_target_value(&ev));
                } />
            <button id=format!("{prefix}zoom-out") title="Zoom out (twice the range)" on:click=move |_| {
                let (s, e) = ctx.range.get_untracked();
                let (s, e) = zoom_out(s, e, now_ms());
                set_range(s.to_string(), e.to_string());
            }>"−"</button>
            <button id=format!("{prefix}run-all") title="Run every cell" on:click=move |_| ctx.refresh()>"Run"</button>
            <select id=format!("{prefix}refresh") aria-label="Auto refresh"
                prop:value=move || ctx.doc.with(|d| d.refresh.clone().unwrap_or_else(|| "off".into()))
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    ctx.doc.update(|d| d.refresh = (v != "off").then_some(v));
                }>
                {REFRESH_CHOICES
                    .iter()
                    .map(|c| view! { <option value=*c>{if *c == "off" { "Auto refresh off".to_string() } else { format!("every {c}") }}</option> })
                    .collect_view()}
            </select>
        </div>
    }
}
