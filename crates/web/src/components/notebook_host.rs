//! Where the notebook goes: its own wasm module (`crates/notebook`, built into `notebook/`
//! beside the page) is imported the first time the notebook is opened and mounted here, so
//! the first prediction never waits for it. The page publishes its metrics for it as
//! `window.lookoutPage`: instance id, exposition text (the notebook scrapes it like
//! Prometheus scrapes a target) and the page store's recent history (OpenMetrics with
//! timestamps, loaded once when the notebook mounts).

use leptos::prelude::*;
use lookout_metrics::Format;
use wasm_bindgen::prelude::*;

use crate::ctx::use_page;

/// Where Trunk's post-build hook (`web/build-notebook.sh`) puts the module.
pub const MODULE_PATH: &str = "notebook/lookout_notebook.js";

#[wasm_bindgen(inline_js = r#"
let loading = null;
export function load_and_mount(path, el) {
  if (!loading) {
    loading = (async () => {
      const m = await import(new URL(path, document.baseURI).href);
      await m.default();
      m.mount(el);
      return true;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn load_and_mount(path: &str, el: &web_sys::HtmlElement) -> Result<JsValue, JsValue>;
}

/// Publishes the page's metrics for the notebook module.
fn publish_metrics() {
    let page = use_page();
    let instance = page
        .state
        .with_value(|s| s.service.metrics().instance().to_string());
    let exposition = Closure::<dyn Fn() -> String>::new(move || {
        page.state
            .with_value(|s| s.service.metrics().encode(Format::Text))
    });
    let history = Closure::<dyn Fn(f64) -> String>::new(move |since: f64| {
        page.state.with_value(|s| s.history(since as i64))
    });
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"instance".into(), &instance.into());
    let _ = js_sys::Reflect::set(&o, &"exposition".into(), &exposition.into_js_value());
    let _ = js_sys::Reflect::set(&o, &"history".into(), &history.into_js_value());
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"lookoutPage".into(), &o);
    }
}

#[component]
pub fn NotebookHost() -> impl IntoView {
    publish_metrics();
    let holder = NodeRef::<leptos::html::Div>::new();
    let status = RwSignal::new(Some("Loading the notebook…".to_string()));
    Effect::new(move |_| {
        let Some(el) = holder.get() else { return };
        leptos::task::spawn_local(async move {
            let el: web_sys::HtmlElement = el.into();
            match load_and_mount(MODULE_PATH, &el).await {
                Ok(_) => status.set(None),
                Err(e) => status.set(Some(format!(
                    "the notebook could not load: {}",
                    e.as_string()
                        .or_else(|| js_sys::JSON::stringify(&e).ok().map(String::from))
                        .unwrap_or_default()
                ))),
            }
        });
    });
    view! {
        <p class="loading" id="notebook-loading">{move || status.get().unwrap_or_default()}</p>
        <div id="notebook-root" node_ref=holder></div>
    }
}
