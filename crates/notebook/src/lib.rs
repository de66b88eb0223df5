//! The page's PromQL notebook as its own wasm module, loaded the first time the notebook is
//! opened (`notebook/` beside the page, built by `web/build-notebook.sh`), so the first
//! prediction never waits for it. The page calls [`mount`] with the element to draw into.
//!
//! Components, one per file in `components/` (`notebook`, `time_picker`, `cell`,
//! `target_editor`, `panel`), shared state through context; the data sources in
//! `sources.rs`; the page's own metrics in `page_feed.rs` (scraped from the page module's
//! exposition, as Prometheus scrapes a target); the editor and charts (JavaScript,
//! `web/notebook`) bound in `notebook_js.rs`; browser glue in `platform.rs`. Everything that
//! is not drawing lives in `lookout-dashboard` and `lookout-datasource`.

#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod notebook_js;
#[cfg(target_arch = "wasm32")]
mod page_feed;
#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod sources;

#[cfg(target_arch = "wasm32")]
mod entry {
    use wasm_bindgen::prelude::*;

    /// Draws the notebook into `parent` (once per page).
    #[wasm_bindgen]
    pub fn mount(parent: web_sys::HtmlElement) {
        console_error_panic_hook::set_once();
        leptos::mount::mount_to(parent, crate::components::notebook::NotebookView).forget();
    }
}
