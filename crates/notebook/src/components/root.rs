//! What `mount` draws: a switch "Notebook | Dashboards | Alerts" over the notebook, the
//! dashboards and the alert list (`alert_list.rs`, states from `alerting.rs`),
//! and what both share: the page's metrics feed, the editor/charts bundle, the query history
//! and the dashboards' store. The dashboards view mounts the first time it is opened and then
//! stays (display switched), as the notebook does. A page opened with a shared dashboard in
//! its fragment (`#dashboard=…`, `lookout_dashboard::share`) opens the dashboards view with
//! it, as an unsaved copy; so does a fragment changed later (`hashchange`).

use leptos::prelude::*;

use crate::alerting::AlertsCtx;
use crate::components::alert_list::AlertListView;
use crate::components::dashboards::DashboardsView;
use crate::components::notebook::{NotebookView, load_history};
use crate::dash_store::DashStore;
use crate::notebook_js;
use crate::page_feed::{FeedCtx, PageFeed, SCRAPE_INTERVAL_MS};
use crate::platform::{fragment, now_ms};

/// Which view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Notebook,
    Dashboards,
    Alerts,
}

/// State shared by the notebook and every dashboard (context).
#[derive(Clone, Copy)]
pub struct Shared {
    /// The JS bundle: `None` while loading.
    pub ready: RwSignal<Option<Result<(), String>>>,
    pub history: RwSignal<Vec<String>>,
    pub view: RwSignal<View>,
}

pub fn use_shared() -> Shared {
    expect_context::<Shared>()
}

#[component]
pub fn Root() -> impl IntoView {
    let shared = Shared {
        ready: RwSignal::new(None),
        history: RwSignal::new(load_history()),
        view: RwSignal::new(View::Notebook),
    };
    provide_context(shared);
    let feed = FeedCtx(StoredValue::new_local(std::rc::Rc::new(PageFeed::new(
        now_ms(),
    ))));
    provide_context(feed);
    feed.0.with_value(|f| f.scrape(now_ms()));
    set_interval(
        move || feed.0.with_value(|f| f.scrape(now_ms())),
        std::time::Duration::from_millis(SCRAPE_INTERVAL_MS as u64),
    );
    let store = DashStore::new();
    provide_context(store);
    // The alerts' states: the server's read while the dashboards or the alert list are shown.
    let alerts = AlertsCtx::start(store, move || {
        matches!(shared.view.try_get(), Some(View::Dashboards | View::Alerts))
    });
    provide_context(alerts);
    // A shared dashboard in the fragment: opened in the dashboards view.
    let from_link = move || {
        let hash = fragment();
        if !hash.contains("dashboard=") {
            return;
        }
        shared.view.set(View::Dashboards);
        match lookout_dashboard::share::decode(&hash) {
            Ok(d) => store.open_shared(d),
            Err(e) => store
                .shared_error
                .set(Some(format!("The shared link could not be opened: {e}"))),
        }
    };
    from_link();
    // The listener lives as long as the page (Root is never unmounted).
    let _ = window_event_listener_untyped("hashchange", move |_| from_link());
    leptos::task::spawn_local(async move {
        let r = notebook_js::load().await;
        shared.ready.set(Some(r));
    });
    // The dashboards' store starts when they are first shown (it needs the bundle).
    Effect::new(move |_| {
        if matches!(shared.view.get(), View::Dashboards | View::Alerts)
            && matches!(shared.ready.get(), Some(Ok(())))
        {
            store.ensure_init();
        }
    });
    let dashboards_opened = Memo::new(move |before: Option<&bool>| {
        before.copied().unwrap_or(false) || shared.view.get() == View::Dashboards
    });
    let switch = move |v: View, id: &'static str, text: &'static str| {
        view! {
            <button id=id class="view-switch" class:active=move || shared.view.get() == v
                aria-pressed=move || (shared.view.get() == v).to_string()
                on:click=move |_| shared.view.set(v)>
                {text}
            </button>
        }
    };
    view! {
        <nav class="view-switches" aria-label="Notebook or dashboards">
            {switch(View::Notebook, "view-notebook", "Notebook")}
            {switch(View::Dashboards, "view-dashboards", "Dashboards")}
            {switch(View::Alerts, "view-alerts", "Alerts")}
        </nav>
        <div style:display=move || if shared.view.get() == View::Notebook { "block" } else { "none" }>
            <NotebookView />
        </div>
        <Show when=move || dashboards_opened.get()>
            <div style:display=move || if shared.view.get() == View::Dashboards { "block" } else { "none" }>
                <DashboardsView />
            </div>
        </Show>
        <Show when=move || shared.view.get() == View::Alerts>
            <AlertListView />
        </Show>
    }
}
