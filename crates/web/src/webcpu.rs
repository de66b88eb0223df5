//! The page's side of the relaxed-SIMD CPU module: asks the browser whether it validates
//! relaxed SIMD, and where it does loads the separate `lookout-webcpu` module (`webcpu/` next
//! to the page) in the background, handing it the page's own compact weights. Until it is
//! ready — and for good in a browser without relaxed SIMD (Safari), or with `?cpu=simd128`
//! in the address — predictions run on the page's own SIMD128 kernels.
//!
//! wasm cannot detect an instruction set from inside a module: a module that uses relaxed
//! SIMD fails to compile where it is missing. Hence two modules, and the probe below: the
//! smallest module with one `f32x4.relaxed_madd`, given to `WebAssembly.validate` (the
//! technique of the wasm-feature-detect package, without adding it to the page).

use wasm_bindgen::prelude::*;

/// Where Trunk's post-build hook (`web/build-module.sh`) puts the module.
pub const MODULE_PATH: &str = "webcpu/lookout_webcpu.js";

#[wasm_bindgen(inline_js = r#"
// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
const zeros = new Array(16).fill(0);
const constant = [0xfd, 0x0c, ...zeros];
const body = [0x00, ...constant, ...constant, ...constant, 0xfd, 0x85, 0x02, 0x0b];
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, body.length + 2, 0x01, body.length, ...body,
]);
let classifier = null;
let loading = null;
export function asked_off() {
  return new URLSearchParams(location.search).get('cpu') === 'simd128';
}
export function relaxed_simd() {
  try { return WebAssembly.validate(PROBE); } catch (e) { return false; }
}
export function load(path, weights) {
  if (!loading) {
    loading = (async () => {
      const url = new URL(path, document.baseURI).href;
      // `cargo xtask run` serves the page before it has built this module: say so rather
      // than "Failed to fetch dynamically imported module".
      const probe = await fetch(url, { method: 'HEAD', cache: 'no-store' }).catch(() => null);
      if (probe && (probe.status === 404 || probe.status === 503)) {
        throw new Error('the relaxed-SIMD module is not built yet (cargo xtask run builds it ' +
          'after the page is up)');
      }
      const m = await import(url);
      await m.default();
      classifier = m.load(weights);
      return classifier.kernel;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}
export function logits(input) {
  if (!classifier) throw new Error('the relaxed-SIMD module is not loaded');
  return classifier.logits(input);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = asked_off)]
    fn js_asked_off() -> bool;
    #[wasm_bindgen(js_name = relaxed_simd)]
    fn js_relaxed_simd() -> bool;
    #[wasm_bindgen(catch, js_name = load)]
    async fn js_load(path: &str, weights: js_sys::Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = logits)]
    fn js_logits(input: js_sys::Float32Array) -> Result<JsValue, JsValue>;
}

/// What the page knows about the relaxed-SIMD module.
#[derive(Clone, Debug, PartialEq)]
pub enum CpuState {
    Checking,
    /// `WebAssembly.validate` refuses the probe.
    Unsupported,
    /// `?cpu=simd128` in the page's address (to compare the two).
    Off,
    Loading,
    /// Loaded; the kernel's name.
    Ready(String),
    Failed(String),
}

impl CpuState {
    pub fn describe(&self) -> String {
        match self {
            CpuState::Checking => "checking for relaxed SIMD…".into(),
            CpuState::Unsupported => "no relaxed SIMD in this browser: SIMD128 kernels".into(),
            CpuState::Off => "relaxed SIMD off (?cpu=simd128): SIMD128 kernels".into(),
            CpuState::Loading => "loading the relaxed-SIMD kernels…".into(),
            CpuState::Ready(k) => format!("relaxed SIMD ready ({k})"),
            CpuState::Failed(e) => format!("relaxed SIMD failed, SIMD128 kernels: {e}"),
        }
    }
}

/// Whether the page's address asks for the SIMD128 kernels (`?cpu=simd128`).
pub fn asked_off() -> bool {
    js_asked_off()
}

/// Whether this browser validates relaxed SIMD.
pub fn relaxed_simd() -> bool {
    js_relaxed_simd()
}

/// Loads the module with the page's compact weights; the kernel's name.
pub async fn load() -> Result<String, String> {
    let weights = js_sys::Uint8Array::from(lookout_model::weights::EMBEDDED_COMPACT);
    let kernel = js_load(MODULE_PATH, weights)
        .await
        .map_err(|e| crate::gpu::error_text(&e))?;
    Ok(kernel
        .as_string()
        .unwrap_or_else(|| "wasm-relaxed-simd".into()))
}

/// Logits for normalised inputs on the loaded module.
pub fn logits(input: &[f32]) -> Result<Vec<f32>, String> {
    let v = js_logits(js_sys::Float32Array::from(input)).map_err(|e| crate::gpu::error_text(&e))?;
    let arr: js_sys::Float32Array = v.dyn_into().map_err(|_| "logits are not a Float32Array")?;
    Ok(arr.to_vec())
}
