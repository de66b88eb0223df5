//! The dashboard list: search by title or tag, open, create, rename, delete (after a
//! confirmation in the page), each with its save indicator; and where dashboards are kept
//! (this browser only, or synced with `lookout serve --data-dir`); importing Grafana or
//! Lookout JSON (`dashboard_import.rs`).

use leptos::prelude::*;

use crate::components::dashboard_import::DashboardImport;
use crate::components::save_state::SaveStateView;
use crate::dash_store::{Server, use_dash_store};

#[component]
pub fn DashboardList() -> impl IntoView {
    let store = use_dash_store();
    let search = RwSignal::new(String::new());
    let new_title = RwSignal::new(String::new());
    let shown = Memo::new(move |_| {
        let q = search.get().trim().to_lowercase();
        store.entries.with(|e| {
            let mut list: Vec<(String, String)> = e
                .values()
                .filter(|e| {
                    q.is_empty()
                        || e.title.to_lowercase().contains(&q)
                        || e.tags.iter().any(|t| t.to_lowercase().contains(&q))
                })
                .map(|e| (e.uid.clone(), e.title.to_lowercase()))
                .collect();
            list.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            list.into_iter().map(|(u, _)| u).collect::<Vec<_>>()
        })
    });
    let server_text = move || match store.server.get() {
        Server::Checking => "Looking for the server…".to_string(),
        Server::Local => {
            "Saved in this browser (this page is not served by lookout serve --data-dir)."
                .to_string()
        }
        Server::Online => "Saved in this browser and on the server.".to_string(),
        Server::Away(why) => format!(
            "Saved in this browser; the server is away ({why}): changes are sent when it is back."
        ),
        Server::Refused(why) => format!("Saved in this browser; the server refused: {why}"),
    };
    let create = move || {
        store.create(&new_title.get_untracked());
        new_title.set(String::new());
    };
    view! {
        <div class="dash-list-view">
            <p class="dash-server" id="dash-server">{server_text}</p>
            <div class="dash-bar">
                <input id="dash-search" type="search" placeholder="Search by title or tag" aria-label="Search dashboards"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev)) />
                <span>
                    <input id="dash-new-title" placeholder="New dashboard title" aria-label="New dashboard title"
                        prop:value=move || new_title.get()
                        on:input=move |ev| new_title.set(event_target_value(&ev))
                        on:keydown=move |ev| if ev.key() == "Enter" { create() } />
                    <button id="dash-create" on:click=move |_| create()>"+ New dashboard"</button>
                </span>
            </div>
            <DashboardImport />
            <ul class="dash-list" id="dash-list">
                <For each=move || shown.get() key=|uid| uid.clone() children=move |uid| view! { <DashboardItem uid=uid /> } />
            </ul>
            <Show when=move || shown.with(Vec::is_empty)>
                <p class="note">"No dashboard matches."</p>
            </Show>
        </div>
    }
}

#[component]
fn DashboardItem(uid: String) -> impl IntoView {
    let store = use_dash_store();
    let uid_sv = StoredValue::new(uid.clone());
    let entry = Memo::new(move |_| store.entries.with(|e| e.get(&uid_sv.get_value()).cloned()));
    let renaming = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let title = move || entry.with(|e| e.as_ref().map(|e| e.title.clone()).unwrap_or_default());
    view! {
        <li class="dash-item" data-uid=uid.clone()>
            {move || if renaming.get() {
                view! {
                    <input class="dash-rename-input" aria-label="New title" prop:value=title
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            store.rename(&uid_sv.get_value(), v);
                            renaming.set(false);
                        } />
                }.into_any()
            } else {
                view! {
                    <button class="dash-open link" on:click=move |_| store.open_dashboard(Some(uid_sv.get_value()))>{title}</button>
                }.into_any()
            }}
            <span class="dash-tags">
                {move || entry.with(|e| e.as_ref().map(|e| e.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()))}
            </span>
            <SaveStateView uid=uid.clone() />
            <span class="dash-item-actions">
                <button class="dash-rename" on:click=move |_| renaming.update(|r| *r = !*r)>"Rename"</button>
                {move || if confirming.get() {
                    view! {
                        <span class="dash-confirm">
                            {format!("Delete “{}”? ", title())}
                            <button class="dash-delete-yes danger" on:click=move |_| store.delete(&uid_sv.get_value())>"Delete"</button>
                            <button class="dash-delete-no" on:click=move |_| confirming.set(false)>"Cancel"</button>
                        </span>
                    }.into_any()
                } else {
                    view! { <button class="dash-delete" on:click=move |_| confirming.set(true)>"Delete…"</button> }.into_any()
                }}
            </span>
        </li>
    }
}
