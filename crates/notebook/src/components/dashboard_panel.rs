//! One panel on the dashboard's grid: a header (title, description, the panel's own time as
//! Grafana shows it, a menu: edit, duplicate, share, remove) that moves the panel when dragged, the
//! panel drawn by `PanelView` at the panel's size, and a resize handle bottom-right. A panel
//! Lookout does not draw (an imported Grafana type) shows a placeholder naming it. The title
//! and description are shown with the dashboard's variables substituted, as text.

use leptos::prelude::*;
use lookout_dashboard::model::GridPos;
use lookout_dashboard::variables::{VariableFormat, substitute_variables};

use crate::alerting::{Evaluator, time_text, use_alerts};
use crate::cell_run::{CellRun, use_cell_run};
use crate::components::dashboard::use_dash;
use crate::components::dashboard_grid::{Drag, DragMode, GAP_PX, ROW_PX, use_grid};
use crate::components::notebook::use_notebook;
use crate::components::panel::PanelView;
use crate::components::share::{Shared, panel_link};

/// Height of the panel header, CSS px.
const HEADER_PX: f64 = 28.0;

/// Grafana's header note for a panel's time overrides: `Last 1h timeshift -1d`.
pub fn time_note(relative: Option<&str>, shift: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(r) = relative.map(str::trim).filter(|s| !s.is_empty()) {
        parts.push(format!("Last {}", r.trim_start_matches("now-")));
    }
    if let Some(s) = shift.map(str::trim).filter(|s| !s.is_empty()) {
        parts.push(format!("timeshift -{s}"));
    }
    parts.join(" ")
}

#[component]
pub fn DashboardPanel(id: u64, pos: Signal<GridPos>) -> impl IntoView {
    let ctx = use_notebook();
    let dash = use_dash();
    let grid = use_grid();
    let CellRun {
        cell,
        data,
        panel_ref,
        running,
        ..
    } = use_cell_run(id);
    let menu = RwSignal::new(false);
    let alerts = use_alerts();
    // The panel's alert: its state (the server's or this tab's), colour-coded, and since when.
    let alert_badge = move || {
        if !cell.with(|c| c.as_ref().is_some_and(|c| c.alert.is_some())) {
            return None;
        }
        let by = dash.alerts_by.get();
        let row = alerts.row(&dash.uid.get_value(), id, by);
        let state = row
            .as_ref()
            .map_or(lookout_alerts::AlertState::Unknown, |r| r.state);
        let since = row
            .as_ref()
            .and_then(|r| r.since_ms)
            .map(|t| format!(" since {}", time_text(t)))
            .unwrap_or_default();
        let text = if row.is_none() {
            "Not evaluated yet".to_string()
        } else {
            state.text().to_string()
        };
        let who = match by {
            Evaluator::Server => "evaluated by the server",
            Evaluator::Tab => "evaluated in this tab while it is open",
        };
        let error = row
            .and_then(|r| r.last_error)
            .map(|e| format!("; {e}"))
            .unwrap_or_default();
        let tip = format!("Alert {text}{since} ({who}){error}");
        Some(view! {
            <span class="dash-panel-alert" data-state=state.as_str()
                style=format!("--alert-color: {}", state.color())
                title=tip>
                <span class="alert-state-text">{text}</span>
                <span class="alert-since">{since}</span>
            </span>
        })
    };
    let substituted = move |text: String, format: VariableFormat| {
        ctx.doc.with(|d| {
            if d.variables.is_empty() {
                text
            } else {
                substitute_variables(&text, &d.variables, format)
            }
        })
    };
    let title = move || {
        let t = cell.with(|c| c.as_ref().map(|c| c.title.clone()).unwrap_or_default());
        substituted(t, VariableFormat::Text)
    };
    let description = move || {
        let t = cell.with(|c| {
            c.as_ref()
                .map(|c| c.description.clone())
                .unwrap_or_default()
        });
        substituted(t, VariableFormat::Glob)
    };
    let note = move || {
        cell.with(|c| {
            c.as_ref()
                .map(|c| {
                    time_note(
                        c.panel.relative_time.as_deref(),
                        c.panel.time_shift.as_deref(),
                    )
                })
                .unwrap_or_default()
        })
    };
    // The chart fills the panel below its header (legend included, scrolled when long).
    let height = Signal::derive(move || {
        let h = f64::from(pos.get().h);
        let px = h * ROW_PX + (h - 1.0).max(0.0) * GAP_PX - HEADER_PX - 36.0;
        px.max(40.0) as u32
    });
    let start = move |ev: web_sys::PointerEvent, mode: DragMode| {
        if ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        ev.stop_propagation();
        let at = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        grid.drag.set(Some(Drag {
            id,
            mode,
            orig: pos.get_untracked(),
            start: at,
            now: at,
        }));
    };
    let style = move || {
        let p = pos.get();
        format!(
            "grid-column: {} / span {}; grid-row: {} / span {};",
            p.x + 1,
            p.w,
            p.y + 1,
            p.h
        )
    };
    view! {
        <article class="dash-panel" id=format!("panel-{id}") data-panel=id.to_string()
            data-x=move || pos.get().x.to_string() data-y=move || pos.get().y.to_string()
            data-w=move || pos.get().w.to_string() data-h=move || pos.get().h.to_string()
            class:moving=move || grid.drag.with(|d| d.is_some_and(|d| d.id == id))
            style=style>
            <div class="dash-panel-head" title="Drag to move"
                on:pointerdown=move |ev| start(ev, DragMode::Move)>
                <h3 class="dash-panel-title">{title}</h3>
                <Show when=move || !description().is_empty()>
                    <span class="dash-panel-info" title=description>"ⓘ"</span>
                </Show>
                {alert_badge}
                <span class="dash-panel-time">{note}</span>
                <Show when=move || running.get()>
                    <span class="dash-panel-running" title="Running">"…"</span>
                </Show>
                <button class="dash-panel-menu icon" title="Panel menu"
                    on:pointerdown=move |ev| ev.stop_propagation()
                    on:click=move |_| menu.update(|m| *m = !*m)>"⋮"</button>
                <Show when=move || menu.get()>
                    <div class="dash-menu" on:pointerdown=move |ev| ev.stop_propagation()>
                        <button class="menu-edit" on:click=move |_| { menu.set(false); dash.editing.set(Some(id)); }>"Edit"</button>
                        <button class="menu-duplicate" on:click=move |_| {
                            menu.set(false);
                            ctx.doc.update(|d| { d.duplicate_panel(id); });
                        }>"Duplicate"</button>
                        <button class="menu-share" on:click=move |_| {
                            menu.set(false);
                            let link = ctx.doc.with_untracked(|d| panel_link(d, id));
                            dash.share.set(Some(Shared { what: "panel", link }));
                        }>"Share panel"</button>
                        <button class="menu-remove danger" on:click=move |_| {
                            menu.set(false);
                            ctx.doc.update(|d| { d.remove_panel(id); });
                        }>"Remove"</button>
                    </div>
                </Show>
            </div>
            <div class="dash-panel-body panel" node_ref=panel_ref>
                <PanelView cell=cell data=data height=height />
            </div>
            <div class="dash-resize" title="Drag to resize"
                on:pointerdown=move |ev| start(ev, DragMode::Resize)></div>
        </article>
    }
}
