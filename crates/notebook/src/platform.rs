//! Browser glue that is not drawing: the clock, the page's origin, and `fetch` as the data
//! sources' HTTP transport.

use lookout_datasource::remote::TransportError;
use lookout_datasource::{HttpClient, HttpRequest, HttpResponse};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// The page's origin, e.g. `http://127.0.0.1:8080`.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// `fetch` as the data sources' transport: a timeout through an `AbortController`, answers
/// over the size limit refused (from `Content-Length` first, then by length).
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchHttp;

fn js_message(e: &wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the request failed (network error, or blocked by CORS)".into())
}

impl HttpClient for FetchHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let window = web_sys::window().ok_or(TransportError::Failed("no window".into()))?;
        let init = web_sys::RequestInit::new();
        init.set_method(request.method);
        let headers =
            web_sys::Headers::new().map_err(|e| TransportError::Failed(js_message(&e)))?;
        for (k, v) in &request.headers {
            headers
                .set(k, v)
                .map_err(|e| TransportError::Failed(js_message(&e)))?;
        }
        init.set_headers(&headers);
        if let Some(body) = &request.body {
            init.set_body(&wasm_bindgen::JsValue::from_str(body));
        }
        // Never send cookies to another origin; credentials travel in the header only.
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        let abort = web_sys::AbortController::new().ok();
        if let Some(a) = &abort {
            init.set_signal(Some(&a.signal()));
            let a = a.clone();
            let cb = wasm_bindgen::closure::Closure::once_into_js(move || a.abort());
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                cb.unchecked_ref(),
                request.timeout_ms.min(i32::MAX as u64) as i32,
            );
        }
        let started = js_sys::Date::now();
        let resp = JsFuture::from(window.fetch_with_str_and_init(&request.url, &init))
            .await
            .map_err(|e| {
                if js_sys::Date::now() - started >= request.timeout_ms as f64 {
                    TransportError::Timeout
                } else {
                    TransportError::Failed(js_message(&e))
                }
            })?;
        let resp: web_sys::Response = resp
            .dyn_into()
            .map_err(|_| TransportError::Failed("not a response".into()))?;
        let declared = resp
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > request.max_body_bytes) {
            return Err(TransportError::TooLarge);
        }
        let buf = resp
            .array_buffer()
            .map_err(|e| TransportError::Failed(js_message(&e)))?;
        let buf = JsFuture::from(buf).await.map_err(|e| {
            if js_sys::Date::now() - started >= request.timeout_ms as f64 {
                TransportError::Timeout
            } else {
                TransportError::Failed(js_message(&e))
            }
        })?;
        let bytes = js_sys::Uint8Array::new(&buf);
        if bytes.length() as usize > request.max_body_bytes {
            return Err(TransportError::TooLarge);
        }
        Ok(HttpResponse {
            status: resp.status(),
            body: bytes.to_vec(),
        })
    }
}

/// Offers `text` as a file download named `name` (a Blob URL, released a minute later).
pub fn download(name: &str, text: &str, mime: &str) -> Result<(), String> {
    let fail = |e: wasm_bindgen::JsValue| format!("the download failed: {}", js_message(&e));
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(fail)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_string())?;
    a.set_href(&url);
    a.set_download(name);
    a.set_attribute("hidden", "").map_err(fail)?;
    let body = document.body().ok_or("no body")?;
    body.append_child(&a).map_err(fail)?;
    a.click();
    a.remove();
    let release = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(release.unchecked_ref(), 60_000);
    Ok(())
}

/// The page's address without its fragment (`origin + pathname`).
pub fn page_address() -> String {
    web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_default()
}

/// The page's fragment (`#…`, or empty).
pub fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Drops the fragment from the address bar (no reload, no new history entry).
pub fn clear_fragment() {
    if let Some(w) = web_sys::window()
        && let Ok(h) = w.history()
    {
        let address = format!(
            "{}{}",
            page_address(),
            w.location().search().unwrap_or_default()
        );
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
    }
}

/// Copies `text` to the clipboard; `Err` when the browser refuses (no clipboard here, or
/// no permission).
pub async fn copy_text(text: &str) -> Result<(), String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .ok()
        .filter(|c| c.is_object())
        .ok_or("this page has no clipboard access")?;
    let clipboard: web_sys::Clipboard = clipboard.unchecked_into();
    JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|e| js_message(&e))
}

/// A JavaScript error's message.
pub fn error_text(e: &wasm_bindgen::JsValue) -> String {
    js_message(e)
}
