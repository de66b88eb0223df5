//! "Add to dashboard…" under a notebook cell: copies the cell (queries, panel, options) as a
//! new panel below a dashboard's panels, or into a new dashboard.

use leptos::prelude::*;

use crate::components::notebook::use_notebook;
use crate::components::root::{View, use_shared};
use crate::dash_store::use_dash_store;

const NEW: &str = "__new";

#[component]
pub fn AddToDashboard(id: u64) -> impl IntoView {
    let ctx = use_notebook();
    let store = use_dash_store();
    let shared = use_shared();
    let choice = RwSignal::new(String::new());
    let note = RwSignal::new(None::<String>);
    let added = RwSignal::new(None::<String>);
    let options = move || {
        store.entries.with(|e| {
            e.values()
                .map(|e| (e.uid.clone(), e.title.clone()))
                .collect::<Vec<_>>()
        })
    };
    let add = move |_| {
        let Some(cell) = ctx.doc.with_untracked(|d| d.panel(id).cloned()) else {
            return;
        };
        let c = choice.get_untracked();
        let target = match c.as_str() {
            "" => {
                note.set(Some("choose a dashboard".into()));
                return;
            }
            NEW => None,
            uid => Some(uid.to_string()),
        };
        leptos::task::spawn_local(async move {
            match store.add_panel(target, cell).await {
                Ok((uid, title)) => {
                    note.set(Some(format!("added to “{title}”")));
                    added.set(Some(uid));
                }
                Err(e) => note.set(Some(e)),
            }
        });
    };
    view! {
        <details class="add-to-dashboard" on:toggle=move |_| store.ensure_init()>
            <summary>"Add to dashboard…"</summary>
            <select class="dashboard-choice" aria-label="Dashboard"
                prop:value=move || choice.get()
                on:change=move |ev| choice.set(event_target_value(&ev))>
                <option value="">"Choose a dashboard"</option>
                {move || options().into_iter().map(|(uid, title)| view! { <option value=uid>{title}</option> }).collect_view()}
                <option value=NEW>"New dashboard"</option>
            </select>
            <button class="add-to" on:click=add>"Add"</button>
            <span class="note">{move || note.get().unwrap_or_default()}</span>
            {move || added.get().map(|uid| view! {
                <button class="link open-added" on:click=move |_| {
                    store.open_dashboard(Some(uid.clone()));
                    shared.view.set(View::Dashboards);
                }>"Open it"</button>
            })}
        </details>
    }
}
