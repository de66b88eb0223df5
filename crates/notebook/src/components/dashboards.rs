//! The dashboards view: the list, or the open dashboard, and what the store has to say
//! (storage errors, notices). A first visit opens the seed's dashboard (the store's `init`).

use leptos::prelude::*;

use crate::components::dashboard::DashboardView;
use crate::components::dashboard_list::DashboardList;
use crate::components::root::use_shared;
use crate::dash_store::use_dash_store;

#[component]
pub fn DashboardsView() -> impl IntoView {
    let store = use_dash_store();
    let shared = use_shared();
    let open = Memo::new(move |_| store.open.get());
    view! {
        <section class="dashboards" id="dashboards">
            <p class="error" id="dash-storage-error" role="alert">{move || store.storage_error.get().unwrap_or_default()}</p>
            <p class="note" id="dash-notice">{move || store.notice.get().unwrap_or_default()}</p>
            {move || if !store.loaded.get() {
                view! { <p class="loading" id="dash-loading">{move || match shared.ready.get() {
                    Some(Err(e)) => e,
                    _ => "Loading the dashboards…".to_string(),
                }}</p> }.into_any()
            } else {
                match open.get() {
                    None => view! { <DashboardList /> }.into_any(),
                    Some(uid) => view! { <DashboardView uid=uid /> }.into_any(),
                }
            }}
        </section>
    }
}
