//! A dashboard panel's editor, over the grid: its description and time overrides (Grafana's
//! "Relative time" and "Time shift"), and the notebook's cell editor for the rest (title,
//! data source, queries, panel type and options, a preview), and its alert
//! (`alert_editor.rs`). Closing it refreshes the
//! dashboard so the grid shows the edited queries.

use leptos::prelude::*;

use crate::components::alert_editor::AlertEditor;
use crate::components::cell::CellView;
use crate::components::dashboard::use_dash;
use crate::components::notebook::use_notebook;

#[component]
pub fn PanelEditor(id: u64) -> impl IntoView {
    let ctx = use_notebook();
    let dash = use_dash();
    let cell = Memo::new(move |_| ctx.doc.with(|d| d.panel(id).cloned()));
    let field = move |f: fn(&lookout_dashboard::Cell) -> String| {
        move || cell.with(|c| c.as_ref().map(f).unwrap_or_default())
    };
    let close = move |_| {
        dash.editing.set(None);
        ctx.refresh();
    };
    let opt = |v: String| {
        let v = v.trim().to_string();
        (!v.is_empty()).then_some(v)
    };
    view! {
        <div class="dash-editor-backdrop">
            <div class="dash-editor" id="dash-editor" role="dialog" aria-label="Edit panel">
                <div class="dash-editor-head">
                    <h3>"Edit panel"</h3>
                    <button id="dash-editor-close" on:click=close>"Close"</button>
                </div>
                <Show when=move || cell.with(Option::is_some)
                    fallback=|| view! { <p class="note">"This panel was removed."</p> }>
                    <div class="option-grid">
                        <label>"Description "
                            <input class="panel-description" size="40"
                                prop:value=field(|c| c.description.clone())
                                on:change=move |ev| { let v = event_target_value(&ev); ctx.update_cell(id, move |c| c.description = v); } />
                        </label>
                        <label>"Relative time "
                            <input class="relative-time" size="8" placeholder="1h"
                                prop:value=field(|c| c.panel.relative_time.clone().unwrap_or_default())
                                on:change=move |ev| { let v = opt(event_target_value(&ev)); ctx.update_cell(id, move |c| c.panel.relative_time = v); } />
                        </label>
                        <label>"Time shift "
                            <input class="time-shift" size="8" placeholder="1d"
                                prop:value=field(|c| c.panel.time_shift.clone().unwrap_or_default())
                                on:change=move |ev| { let v = opt(event_target_value(&ev)); ctx.update_cell(id, move |c| c.panel.time_shift = v); } />
                        </label>
                    </div>
                    <CellView id=id prefix="edit-" dashboard=true />
                    <AlertEditor id=id />
                </Show>
            </div>
        </div>
    }
}
