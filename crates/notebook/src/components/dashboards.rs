//! The dashboards view: the list, the open dashboard, or one opened from a shared link (an
//! unsaved copy), and what the store has to say (storage errors, notices, the last import, a
//! shared link that could not be read). A first visit opens the seed's dashboard (the store's
//! `init`).

use leptos::prelude::*;

use crate::components::dashboard::DashboardView;
use crate::components::dashboard_import::ImportResults;
use crate::components::dashboard_list::DashboardList;
use crate::components::root::use_shared;
use crate::dash_store::use_dash_store;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Loading,
    List,
    Open(String),
    /// The shared link's serial.
    Shared(u64),
}

#[component]
pub fn DashboardsView() -> impl IntoView {
    let store = use_dash_store();
    let shared = use_shared();
    let shown = Memo::new(move |_| {
        if !store.loaded.get() {
            return Shown::Loading;
        }
        if let Some(n) = store.shared.with(|s| s.as_ref().map(|(n, _)| *n)) {
            return Shown::Shared(n);
        }
        match store.open.get() {
            None => Shown::List,
            Some(uid) => Shown::Open(uid),
        }
    });
    view! {
        <section class="dashboards" id="dashboards">
            <p class="error" id="dash-storage-error" role="alert">{move || store.storage_error.get().unwrap_or_default()}</p>
            <p class="note" id="dash-notice">{move || store.notice.get().unwrap_or_default()}</p>
            <p class="error" id="dash-share-error" role="alert">{move || store.shared_error.get().unwrap_or_default()}</p>
            <ImportResults />
            {move || match shown.get() {
                Shown::Loading => view! { <p class="loading" id="dash-loading">{move || match shared.ready.get() {
                    Some(Err(e)) => e,
                    _ => "Loading the dashboards…".to_string(),
                }}</p> }.into_any(),
                Shown::List => view! { <DashboardList /> }.into_any(),
                Shown::Open(uid) => view! { <DashboardView uid=uid /> }.into_any(),
                Shown::Shared(_) => match store.shared.get_untracked() {
                    Some((_, d)) => view! { <DashboardView uid=d.uid.clone() shared=d /> }.into_any(),
                    None => ().into_any(),
                },
            }}
        </section>
    }
}
