//! The notebook's JavaScript half (`web/notebook`: CodeMirror 6 + codemirror-promql 0.42 for
//! the editor, uPlot for charts, bundled by esbuild), imported when the notebook mounts:
//! Trunk's post-build hook (`web/build-notebook.sh`) writes the bundle to
//! `notebook/notebook.js` beside the page.

use wasm_bindgen::prelude::*;

/// Where the bundle lives, relative to the page.
pub const MODULE_PATH: &str = "notebook/notebook.js";

#[wasm_bindgen(inline_js = r#"
let mod = null;
let loading = null;
export function load(path) {
  if (!loading) {
    loading = (async () => {
      mod = await import(new URL(path, document.baseURI).href);
      return true;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}
export function create_editor(parent, opts) { return mod.createEditor(parent, opts); }
export function create_time_series(parent, opts) { return mod.createTimeSeries(parent, opts); }
export function create_heatmap(parent, opts) { return mod.createHeatmap(parent, opts); }
export function create_sparkline(parent, opts) { return mod.createSparkline(parent, opts); }
export function store_open() { return mod.storeOpen(); }
export function store_list() { return mod.storeList(); }
export function store_get(uid) { return mod.storeGet(uid); }
export function store_save(rec, base) { return mod.storeSave(rec, base); }
export function store_mark(uid, pending, sv) { return mod.storeMark(uid, pending, sv); }
export function store_delete(uid) { return mod.storeDelete(uid); }
export function store_versions(uid) { return mod.storeVersions(uid); }
export function channel_post(msg) { return mod.channelPost(msg); }
export function channel_listen(cb) { return mod.channelListen(cb); }
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = load)]
    async fn js_load(path: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub fn create_editor(parent: &web_sys::HtmlElement, opts: &JsValue) -> Result<Editor, JsValue>;
    #[wasm_bindgen(catch)]
    pub fn create_time_series(
        parent: &web_sys::HtmlElement,
        opts: &JsValue,
    ) -> Result<Chart, JsValue>;
    #[wasm_bindgen(catch)]
    pub fn create_heatmap(parent: &web_sys::HtmlElement, opts: &JsValue) -> Result<Chart, JsValue>;
    #[wasm_bindgen(catch)]
    pub fn create_sparkline(
        parent: &web_sys::HtmlElement,
        opts: &JsValue,
    ) -> Result<Chart, JsValue>;

    // The dashboards' IndexedDB store and tab channel (`web/notebook/src/dashboard-store.js`):
    // every call resolves with a JSON string (or null) and rejects with a message string.
    #[wasm_bindgen(catch)]
    pub async fn store_open() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub async fn store_list() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub async fn store_get(uid: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub async fn store_save(record_json: &str, base: Option<f64>) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub async fn store_mark(
        uid: &str,
        pending: Option<bool>,
        server_version: Option<f64>,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub async fn store_delete(uid: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    pub async fn store_versions(uid: &str) -> Result<JsValue, JsValue>;
    pub fn channel_post(msg: &str) -> bool;
    pub fn channel_listen(cb: &JsValue) -> bool;

    /// A CodeMirror editor with PromQL completion and lint.
    pub type Editor;
    #[wasm_bindgen(method, js_name = getDoc)]
    pub fn get_doc(this: &Editor) -> String;
    #[wasm_bindgen(method, js_name = setDoc)]
    pub fn set_doc(this: &Editor, text: &str);
    #[wasm_bindgen(method, js_name = setError)]
    pub fn set_error(this: &Editor, from: u32, to: u32, message: &str);
    #[wasm_bindgen(method, js_name = clearError)]
    pub fn clear_error(this: &Editor);
    #[wasm_bindgen(method, js_name = setHistory)]
    pub fn set_history(this: &Editor, list: &JsValue);
    #[wasm_bindgen(method)]
    pub fn destroy(this: &Editor);

    /// A uPlot chart, a heatmap or a sparkline.
    pub type Chart;
    #[wasm_bindgen(method)]
    pub fn destroy(this: &Chart);
    #[wasm_bindgen(method, js_name = setSize)]
    pub fn set_size(this: &Chart, width: u32, height: u32);
}

/// Loads the bundle (once; later calls wait for the same load).
pub async fn load() -> Result<(), String> {
    js_load(MODULE_PATH)
        .await
        .map(|_| ())
        .map_err(|e| format!("the notebook's editor and charts could not load: {e:?}"))
}

/// A plain JS object from key/value pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// A JS array of strings.
pub fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> JsValue {
    items
        .into_iter()
        .map(JsValue::from_str)
        .collect::<js_sys::Array>()
        .into()
}
