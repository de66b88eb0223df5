//! The page's side of the WebGPU backend: detects an adapter without loading anything, and
//! loads the separate `lookout-webgpu` module (`webgpu/` next to the page) only when WebGPU
//! is used, so the first CPU prediction never waits for the wgpu/cubecl code.

use wasm_bindgen::prelude::*;

/// Where Trunk's post-build hook (`web/build-module.sh`) puts the module.
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
  // A fallback adapter is a software rasteriser (Chromium: SwiftShader), not a GPU.
  const fallback = Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter);
  return { name: text || 'WebGPU adapter', fallback };
}
export function load(path) {
  if (!loading) {
    loading = (async () => {
      const url = new URL(path, document.baseURI).href;
      // `cargo xtask run` serves the page before it has built this module: say so rather
      // than "Failed to fetch dynamically imported module".
      const probe = await fetch(url, { method: 'HEAD', cache: 'no-store' }).catch(() => null);
      if (probe && (probe.status === 404 || probe.status === 503)) {
        throw new Error('the WebGPU module is not built yet (cargo xtask run builds it after ' +
          'the page is up); reload the page when it says so');
      }
      const m = await import(url);
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
    /// The only adapter is a software fallback (no GPU): the CPU plan is faster, so the
    /// page stays there unless WebGPU is chosen.
    Software(String),
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
            GpuState::Software(a) => format!(
                "software adapter {a} (no GPU): wasm CPU is faster here; choose WebGPU to use it anyway"
            ),
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

/// The adapter the browser offers: its description, and whether it is a software fallback.
pub struct Adapter {
    pub name: String,
    pub fallback: bool,
}

/// The browser's adapter, or `None` when it offers none.
pub async fn adapter() -> Option<Adapter> {
    let v = js_adapter_info().await.ok()?;
    if v.is_null() || v.is_undefined() {
        return None;
    }
    let get = |k: &str| js_sys::Reflect::get(&v, &JsValue::from_str(k)).ok();
    Some(Adapter {
        name: get("name")
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "WebGPU adapter".into()),
        fallback: get("fallback").and_then(|f| f.as_bool()).unwrap_or(false),
    })
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
