//! The server's own metrics store and Prometheus' query API over it.
//!
//! The store is fed like a Prometheus would be: the server scrapes its own metrics every
//! `scrape_interval` (target `job`, `instance`), and with `--pushgateway` also the
//! Pushgateway's `/metrics` with `honor_labels` semantics (labels pushed by pages and edge
//! workers win; the server's own series are skipped there, it has them first-hand). The
//! answers come from `lookout_datasource::api`, the same code the page's embedded source
//! runs, on blocking threads.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{Method, header};
use axum::response::Response;
use lookout_datasource::EmbeddedStore;
use lookout_datasource::api::{self, Endpoint};
use lookout_metrics::Format;
use lookout_promql::Scraper;

use crate::{AppState, json_response, read_limited};

/// The store shared by the scrape loop and the API.
pub type SharedStore = Arc<RwLock<EmbeddedStore>>;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `/api/v1/<endpoint>`, GET or POST (form), as Prometheus answers it.
pub(crate) async fn api_v1(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
    req: Request,
) -> Response {
    let Some(endpoint) = Endpoint::from_path(&rest) else {
        return json_response(
            404,
            serde_json::json!({"status": "error", "errorType": "not_found", "error": format!("no API endpoint /api/v1/{rest}")}).to_string(),
        );
    };
    if !matches!(*req.method(), Method::GET | Method::POST) {
        return json_response(
            405,
            r#"{"status":"error","errorType":"bad_data","error":"method not allowed"}"#.into(),
        );
    }
    let query_string = req.uri().query().unwrap_or("").to_string();
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let body = if *req.method() == Method::POST && form {
        match read_limited(req, 1024 * 1024).await {
            Ok(b) => b,
            Err(e) => return crate::error_response(&e),
        }
    } else {
        Default::default()
    };
    let params = api::parse_params(&query_string, &body);
    let store = state.store.clone();
    let engine = state.engine.clone();
    let answer = tokio::task::spawn_blocking(move || match store.read() {
        Ok(s) => api::handle(&engine, &s, &endpoint, &params, now_ms()),
        Err(_) => api::error_answer(&lookout_datasource::SourceError::BadRequest(
            "the store is unavailable".into(),
        )),
    })
    .await;
    match answer {
        Ok(a) => json_response(a.status, a.body),
        Err(e) => json_response(
            500,
            serde_json::json!({"status": "error", "errorType": "internal", "error": e.to_string()})
                .to_string(),
        ),
    }
}

/// Scrapes the server's own metrics (and the Pushgateway's) into the store until `stop`.
pub(crate) async fn scrape_loop(
    state: Arc<AppState>,
    interval: Duration,
    job: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let instance = state.service.metrics().instance().to_string();
    let mut own = Scraper::new(
        interval.as_millis() as i64,
        &[("job", job.as_str()), ("instance", instance.as_str())],
    );
    let pg_instance = state
        .pushgateway
        .as_deref()
        .map(|u| {
            u.trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string()
        })
        .unwrap_or_default();
    let mut pushed = Scraper::new(
        interval.as_millis() as i64,
        &[("job", "pushgateway"), ("instance", pg_instance.as_str())],
    );
    let own_marker = format!("instance=\"{instance}\"");
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            _ = stop.changed() => break,
        }
        let text = state.service.metrics().encode(Format::OpenMetrics);
        let pg_text = match &state.pushgateway {
            Some(base) => fetch_pushgateway(&state.http, base).await.map(|t| {
                // The server's own series come first-hand above; pushed copies are skipped.
                t.lines()
                    .filter(|l| !l.contains(&own_marker))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            None => None,
        };
        let t = now_ms();
        if let Ok(mut store) = state.store.write() {
            let _ = store.scrape(&mut own, &text, t);
            if let Some(pg) = pg_text {
                let _ = store.scrape(&mut pushed, &pg, t);
            }
        }
    }
}

async fn fetch_pushgateway(http: &reqwest::Client, base: &str) -> Option<String> {
    let resp = http
        .get(format!("{}/metrics", base.trim_end_matches('/')))
        .header(header::ACCEPT, "text/plain;version=0.0.4")
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    // 64 MiB at most: a Pushgateway holding more is misused.
    let bytes = resp.bytes().await.ok()?;
    if bytes.len() > 64 * 1024 * 1024 {
        return None;
    }
    String::from_utf8(bytes.to_vec()).ok()
}

/// A fresh store with this retention.
pub fn new_store(retention: lookout_promql::Retention) -> SharedStore {
    Arc::new(RwLock::new(EmbeddedStore::new(
        lookout_promql::Storage::with_retention(retention),
    )))
}
