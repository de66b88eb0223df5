//! The page's PromQL notebook and dashboards as their own wasm module, loaded the first time
//! the notebook is opened (`notebook/` beside the page, built by `web/build-notebook.sh`), so
//! the first prediction never waits for it. The page calls `mount` with the element to draw
//! into: a switch "Notebook | Dashboards" (`components/root.rs`).
//!
//! Components, one per file in `components/` (`root`, `notebook`, `time_picker`, `cell`,
//! `target_editor`, `panel`, `add_to_dashboard`; `dashboards`, `dashboard_list`,
//! `dashboard`, `dashboard_grid`, `dashboard_row`, `dashboard_panel`, `panel_editor`,
//! `versions`, `save_state`; `variables_bar` and `variables_editor` for template variables,
//! `dashboard_import` for Grafana/Lookout JSON files, `share` for links and exports), shared
//! state through context (`NotebookCtx`: the notebook's or an open dashboard's document;
//! `DashStore`: every dashboard; `VarsCtx`: an open dashboard's variables); running a cell in
//! `cell_run.rs`; the data sources in `sources.rs`; the page's own metrics in `page_feed.rs`
//! (scraped from the page module's exposition, as Prometheus scrapes a target); the editor
//! and charts (JavaScript, `web/notebook`) bound in `notebook_js.rs`; browser glue in
//! `platform.rs`. Everything that is not drawing lives in `lookout-dashboard` and
//! `lookout-datasource`.
//!
//! Dashboards are never lost: `dash_store.rs` keeps them in memory, saves every change at once
//! to IndexedDB (`storage.rs` over a small plain-JS module, `web/notebook/src/dashboard-store.js`,
//! bundled into `notebook.js`: no web-sys IndexedDB bindings, no npm dependency), with the last
//! 50 versions of each, and syncs them with `lookout serve --data-dir` (`server_api.rs`) when
//! the page is served by it, retrying while the server is away. Local versions guard against
//! two tabs overwriting each other (IndexedDB check-and-write in one transaction, plus a
//! `BroadcastChannel`); the server's version guards the same across browsers (409). The
//! versions panel's line diff is `lookout_dashboard::diff` (Myers).
//!
//! Alerts (`alerting.rs`, `components/alert_editor.rs`, `components/alert_list.rs`): a
//! panel's Grafana 7 legacy alert (`lookout-alerts`) is edited in the panel editor and stored
//! in the panel; its state is the server's (`GET /api/alerts`) when the page is served by
//! `lookout serve`, else evaluated in the tab while the dashboard is open (never notifying).
//!
//! Template variables, import/export (`lookout-grafana`) and shared links
//! (`lookout_dashboard::share`: the dashboard in the URL's fragment, opened as an unsaved copy
//! when the page loads with `#dashboard=…`) are the pure crates'; this crate draws them.

#[cfg(target_arch = "wasm32")]
mod alerting;
#[cfg(target_arch = "wasm32")]
mod cell_run;
#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod dash_store;
#[cfg(target_arch = "wasm32")]
mod notebook_js;
#[cfg(target_arch = "wasm32")]
mod page_feed;
#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod server_api;
#[cfg(target_arch = "wasm32")]
mod sources;
#[cfg(target_arch = "wasm32")]
mod storage;

#[cfg(target_arch = "wasm32")]
mod entry {
    use wasm_bindgen::prelude::*;

    /// Draws the notebook and the dashboards into `parent` (once per page).
    #[wasm_bindgen]
    pub fn mount(parent: web_sys::HtmlElement) {
        console_error_panic_hook::set_once();
        leptos::mount::mount_to(parent, crate::components::root::Root).forget();
    }
}
