//! Lookout as a Cloudflare Worker: the seed's `/predict` API over the one predict pipeline
//! ([`lookout_service::Service`]), this isolate's metrics at `/metrics`, and a push of its
//! cumulative metrics to a Pushgateway after each answer (in `ctx.wait_until`, so a slow or
//! absent Pushgateway never delays or fails a prediction).
//!
//! Configuration (worker variables or secrets): `PUSHGATEWAY_URL` (no push when unset or
//! empty), `PUSH_JOB` (default `lookout`).
//!
//! The crate is empty natively; build it with `worker-build` (see README.md, "Edge worker").
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use lookout_metrics::Runtime;
use lookout_metrics::push::{Method as PushMethod, PushConfig, PushRequest, Pusher, Transport};
use lookout_model::{Backend, Classifier, DecodeLimits};
use lookout_service::{Service, ServiceError};
use worker::{Context, Env, Fetch, Headers, Method, Request, RequestInit, Response, Result, event};

/// Decode limits inside the 128 MB isolate: an 8 MiB encoded image of at most 4096 px a side
/// and 8 Mpx once decoded (JPEGs decode scaled, so camera photos pass), the decoder's
/// buffers under 48 MiB; the largest of each kind leave the isolate under 90 MB of wasm
/// memory (tests/edge.rs). Anything larger is refused from its header, before a pixel is
/// decoded.
pub fn edge_limits() -> DecodeLimits {
    DecodeLimits {
        max_bytes: 8 * 1024 * 1024,
        max_side: 4096,
        max_pixels: 8 * 1024 * 1024,
        max_alloc: 48 * 1024 * 1024,
    }
}

/// Images per batch request at the edge (CPU time per request is the constraint).
const EDGE_MAX_BATCH: usize = 16;

/// Per-isolate state: created on the first request, kept while the isolate lives.
struct Isolate {
    service: Service,
    instance: String,
    /// `None` while a push is in flight (its task holds it).
    pusher: RefCell<Option<Pusher>>,
    /// Pushes wanted since the in-flight one started.
    dirty: RefCell<bool>,
}

thread_local! {
    static ISOLATE: RefCell<Option<Rc<Isolate>>> = const { RefCell::new(None) };
}

fn instance_id() -> String {
    let r = worker::js_sys::Math::random();
    format!("edge-{:08x}", (r * f64::from(u32::MAX)) as u32)
}

/// A text binding (variable or secret), read straight off the env object: workers-rs'
/// typed getters throw on a binding that is not a `String` object.
fn text_var(env: &Env, name: &str) -> Option<String> {
    worker::js_sys::Reflect::get(env, &name.into())
        .ok()
        .and_then(|v| v.as_string())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn isolate(env: &Env) -> std::result::Result<Rc<Isolate>, String> {
    if let Some(i) = ISOLATE.with(|s| s.borrow().clone()) {
        return Ok(i);
    }
    let classifier = Classifier::embedded(Backend::Cpu)
        .map_err(|e| e.to_string())?
        .with_limits(edge_limits());
    let instance = instance_id();
    let service =
        Service::new(classifier, Runtime::Edge, instance.clone()).with_max_batch(EDGE_MAX_BATCH);
    let pusher = text_var(env, "PUSHGATEWAY_URL").map(|url| {
        Pusher::new(PushConfig {
            url,
            job: text_var(env, "PUSH_JOB").unwrap_or_else(|| "lookout".into()),
            extra_grouping: Vec::new(),
        })
        // Short backoff: the next request after it expires retries.
        .with_backoff(
            web_time::Duration::from_millis(200),
            web_time::Duration::from_secs(5),
        )
    });
    let isolate = Rc::new(Isolate {
        service,
        instance,
        pusher: RefCell::new(pusher),
        dirty: RefCell::new(false),
    });
    ISOLATE.with(|s| *s.borrow_mut() = Some(isolate.clone()));
    Ok(isolate)
}

/// `fetch()` to the Pushgateway.
struct FetchTransport;

impl Transport for FetchTransport {
    async fn send(&self, request: PushRequest) -> std::result::Result<u16, String> {
        let headers = Headers::new();
        headers
            .set("Content-Type", request.content_type)
            .map_err(|e| e.to_string())?;
        let method = match request.method {
            PushMethod::Put => Method::Put,
            PushMethod::Post => Method::Post,
            PushMethod::Delete => Method::Delete,
        };
        let mut init = RequestInit::new();
        init.with_method(method)
            .with_headers(headers)
            .with_body(Some(request.body.into()));
        let req = Request::new_with_init(&request.url, &init).map_err(|e| e.to_string())?;
        let resp = Fetch::Request(req)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(resp.status_code())
    }
}

/// Pushes the isolate's cumulative metrics until nothing new is left to push. One push is in
/// flight at a time; requests that arrive meanwhile mark the state dirty and the same task
/// pushes again. A failure (or backoff) leaves the state dirty: the next request retries.
async fn push_pending(isolate: Rc<Isolate>, changed: bool) {
    if changed {
        *isolate.dirty.borrow_mut() = true;
    }
    if !*isolate.dirty.borrow() {
        return;
    }
    let Some(mut pusher) = isolate.pusher.borrow_mut().take() else {
        return; // none configured, or another task is pushing and will see `dirty`
    };
    while *isolate.dirty.borrow() {
        if !pusher.ready(web_time::Instant::now()) {
            break;
        }
        *isolate.dirty.borrow_mut() = false;
        if let Err(e) = pusher
            .push(isolate.service.metrics(), &FetchTransport)
            .await
        {
            *isolate.dirty.borrow_mut() = true;
            worker::console_warn!("lookout edge: {e}");
            break;
        }
    }
    *isolate.pusher.borrow_mut() = Some(pusher);
}

fn json_response(body: String, status: u16) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

fn error_response(message: &str, status: u16) -> Result<Response> {
    json_response(
        serde_json::json!({ "error": message, "status": status }).to_string(),
        status,
    )
}

/// Reads at most `limit` bytes of body; `Err` carries the refusal to send.
async fn read_body(req: &mut Request, limit: usize) -> std::result::Result<Vec<u8>, ServiceError> {
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ServiceError::BodyTooLarge(limit));
    }
    let mut stream = req
        .stream()
        .map_err(|e| ServiceError::Json(format!("cannot read body: {e}")))?;
    // Sized once from the declared length (already bounded): a growing buffer would hold
    // its old and new copies at once, twice the body at the worst moment.
    let mut body = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ServiceError::Json(format!("cannot read body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ServiceError::BodyTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A panic would abort the isolate mid-request; say where, in the worker's log.
#[event(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        worker::console_error!("lookout edge panic: {info}")
    }));
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let isolate = match isolate(&env) {
        Ok(i) => i,
        Err(e) => return error_response(&format!("model unavailable: {e}"), 500),
    };
    let path = req.path();
    let changed = path == "/predict";
    let response = match (req.method(), path.as_str()) {
        (Method::Post, "/predict") => {
            let limit = isolate.service.max_body_bytes();
            match read_body(&mut req, limit).await {
                Err(e) => error_response(&e.to_string(), e.status()),
                Ok(body) => match isolate.service.predict_json(body) {
                    Ok(json) => json_response(json, 200),
                    Err(e) => error_response(&e.to_string(), e.status()),
                },
            }
        }
        (Method::Get, "/metrics") => {
            let accept = req.headers().get("Accept").ok().flatten();
            let (content_type, body) = isolate.service.exposition(accept.as_deref());
            let headers = Headers::new();
            headers.set("Content-Type", content_type)?;
            Ok(Response::ok(body)?.with_headers(headers))
        }
        (Method::Get, "/healthz") => {
            let push = isolate.pusher.borrow().as_ref().map(|p| {
                let s = p.status();
                serde_json::json!({
                    "url": p.config().url,
                    "ok": s.pushes_ok,
                    "failed": s.pushes_failed,
                    "last_error": s.last_error,
                    "last_pushed_predictions": s.last_pushed_predictions,
                })
            });
            json_response(
                serde_json::json!({
                    "status": "ok",
                    "runtime": Runtime::Edge.as_str(),
                    "instance": isolate.instance,
                    "predictions": isolate.service.metrics().predictions_total(),
                    "push": push,
                    // The isolate's wasm linear memory (it only grows): what counts against
                    // the platform's 128 MB beside V8's own heap.
                    "wasm_memory_bytes": wasm_memory_bytes(),
                })
                .to_string(),
                200,
            )
        }
        (_, "/predict" | "/metrics" | "/healthz") => error_response("method not allowed", 405),
        _ => error_response(&format!("no route for {path}"), 404),
    };
    // Every request gives a pending push another chance, after the answer has gone.
    ctx.wait_until(push_pending(isolate, changed));
    response
}

/// The size of this module's linear memory, in bytes (0 off wasm32).
fn wasm_memory_bytes() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) * 65_536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}
