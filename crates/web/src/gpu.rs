//! The page's side of the WebGPU backend: detects an adapter without loading anything, and
//! loads the separate `lookout-webgpu` module (`webgpu/` next to the page) only when WebGPU
//! is used, so the first CPU prediction never waits for the wgpu/cubecl code.

use wasm_bindgen::prelude::*;

/// Where Trunk's post-build hook (`web/build-webgpu.sh`) puts the module.
pub const MODULE_PATH: &str = "webgpu/lookout_webgpu.js";

#[wasm_bindgen(inline_js = r#"
let classifier = null;
let loading = null;
export async function adapter_info() {
  if (!('gpu' in navigator)) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const i = adapter.info || {};
  const text = [i.vendor, i.architecture, i.description].filter((s) => s).join(' ');
  return text || 'WebGPU adapter';
}
export function load(path) {
  if (!loading) {
    loading = (async () => {
      const m = await import(new URL(path, document.baseURI).href);
      await m.default();
      classifier = await m.load();
      return classifier.adapter;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}
export function logits(input) {
  if (!classifier) return Promise.reject(new Error('the WebGPU module is not loaded'));
  return classifier.logits(input);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = adapter_info)]
    async fn js_adapter_info() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = load)]
    async fn js_load(path: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = logits)]
    async fn js_logits(input: js_sys::Float32Array) -> Result<JsValue, JsValue>;
}

/// What the page knows about WebGPU.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuState {
    Checking,
    /// No `navigator.gpu`, or it gives no adapter.
    Absent,
    /// An adapter exists; the module is not loaded yet.
    Available(String),
    Loading,
    /// Loaded and warmed up on this adapter.
    Ready(String),
    Failed(String),
}

impl GpuState {
    pub fn describe(&self) -> String {
        match self {
            GpuState::Checking => "checking for a WebGPU adapter…".into(),
            GpuState::Absent => "no WebGPU adapter in this browser: running on wasm CPU".into(),
            GpuState::Available(a) => format!("adapter {a}; module not loaded"),
            GpuState::Loading => "loading the WebGPU module and compiling shaders…".into(),
            GpuState::Ready(a) => format!("ready on {a}"),
            GpuState::Failed(e) => format!("WebGPU failed, running on wasm CPU: {e}"),
        }
    }
}

/// The text of a JS error or rejection value.
pub fn error_text(e: &JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// The adapter's description, or `None` when the browser offers none.
pub async fn adapter() -> Option<String> {
    match js_adapter_info().await {
        Ok(v) => v.as_string(),
        Err(_) => None,
    }
}

/// Loads the module, brings up the device and warms up; the adapter name on success.
pub async fn load() -> Result<String, String> {
    let v = js_load(MODULE_PATH).await.map_err(|e| error_text(&e))?;
    Ok(v.as_string().unwrap_or_else(|| "WebGPU".into()))
}

/// Logits for normalised inputs, computed by the WebGPU module.
pub async fn logits(input: &[f32]) -> Result<Vec<f32>, String> {
    let v = js_logits(js_sys::Float32Array::from(input))
        .await
        .map_err(|e| error_text(&e))?;
    let arr: js_sys::Float32Array = v.dyn_into().map_err(|_| "logits are not a Float32Array")?;
    Ok(arr.to_vec())
}
