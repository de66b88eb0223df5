//! Browser glue that is not drawing: the clock, ids, timers, files.

use wasm_bindgen_futures::JsFuture;

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// A random id with a prefix, `page-1a2b3c4d`.
pub fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 4];
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(&mut b);
    }
    format!("{prefix}-{:08x}", u32::from_le_bytes(b))
}

pub async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("cannot read {}: {e:?}", file.name()))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}
