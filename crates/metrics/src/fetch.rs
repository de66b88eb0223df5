//! The browser's [`Transport`]: `fetch()` from a page (the same-origin proxy of `lookout
//! serve`, or any Pushgateway URL the page may reach).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::push::{PushRequest, Transport};

/// Pushes with the page's `fetch()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchTransport;

impl Transport for FetchTransport {
    async fn send(&self, request: PushRequest) -> Result<u16, String> {
        let window = web_sys::window().ok_or("no window: FetchTransport runs in a page")?;
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
        headers
            .set("Content-Type", request.content_type)
            .map_err(|e| format!("{e:?}"))?;
        init.set_headers(&headers);
        init.set_body(&wasm_bindgen::JsValue::from_str(&request.body));
        let resp = JsFuture::from(window.fetch_with_str_and_init(&request.url, &init))
            .await
            .map_err(|e| format!("{e:?}"))?;
        let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
        Ok(resp.status())
    }
}
