//! `lookout serve`: the seed's model server, made real.
//!
//! - `POST /predict` — `{"image": "<base64>", "format": "JPEG"}` or `{"images": [...]}`;
//! - `GET /metrics` — this instance's metrics (text 0.0.4, or OpenMetrics when asked);
//! - `GET /healthz` — backend, predictions so far, push status;
//! - `/pushgateway/*` — same-origin proxy to the configured Pushgateway (it sends no CORS
//!   headers, so the page pushes through here);
//! - everything else — the web page's built files, when a folder is given.
//!
//! With `cors_origin`, browsers on that origin (or any, with `*`) may call all of these from
//! another origin (like Prometheus' `--web.cors.origin`); without it, same-origin only.
//!
//! Inference runs on blocking threads, never on the async runtime; the metrics are pushed
//! every few seconds and once more at shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lookout_metrics::push::{PushConfig, PushRequest, PushStatus, Pusher, Transport};
use lookout_service::{Service, ServiceError};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Pushgateway base URL, e.g. `http://127.0.0.1:9091`.
    pub pushgateway: Option<String>,
    pub push_interval: Duration,
    pub job: String,
    /// Folder with the built web page, served at `/`.
    pub static_dir: Option<PathBuf>,
    /// Origin allowed to call this server from another origin (`*`: any).
    pub cors_origin: Option<String>,
}

struct AppState {
    service: Arc<Service>,
    push_status: Arc<Mutex<PushStatus>>,
    pushgateway: Option<String>,
    http: reqwest::Client,
    backend: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// A random instance id, `native-xxxxxxxx`.
pub fn new_instance_id() -> String {
    format!("native-{:08x}", rand::random::<u32>())
}

/// The reqwest-based push transport.
pub struct HttpTransport(pub reqwest::Client);

impl Transport for HttpTransport {
    async fn send(&self, request: PushRequest) -> Result<u16, String> {
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|e| e.to_string())?;
        self.0
            .request(method, &request.url)
            .header(header::CONTENT_TYPE, request.content_type)
            .body(request.body)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    }
}

fn json_response(status: u16, body: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn error_response(e: &ServiceError) -> Response {
    json_response(e.status(), e.to_json())
}

/// The router over a service; exposed for tests and embedding.
fn router(
    state: Arc<AppState>,
    static_dir: Option<PathBuf>,
    cors_origin: Option<&str>,
) -> Result<Router, ServerError> {
    let mut app = Router::new()
        .route("/predict", post(predict))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/pushgateway/{*rest}", any(proxy))
        .with_state(state);
    if let Some(dir) = static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    if let Some(origin) = cors_origin {
        use tower_http::cors::{AllowOrigin, Any, CorsLayer};
        let allow = if origin == "*" {
            AllowOrigin::any()
        } else {
            AllowOrigin::exact(
                HeaderValue::from_str(origin)
                    .map_err(|_| ServerError::Config(format!("bad CORS origin {origin:?}")))?,
            )
        };
        app = app.layer(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods(Any)
                .allow_headers([header::CONTENT_TYPE, header::ACCEPT]),
        );
    }
    Ok(app)
}

/// Reads at most `limit` bytes of body; refuses from `Content-Length` before reading.
async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ServiceError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ServiceError::BodyTooLarge(limit));
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ServiceError::BodyTooLarge(limit))
}

async fn predict(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let body = match read_limited(req, state.service.max_body_bytes()).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let service = state.service.clone();
    match tokio::task::spawn_blocking(move || service.predict_json(&body)).await {
        Ok(Ok(json)) => json_response(200, json),
        Ok(Err(e)) => error_response(&e),
        Err(join) => error_response(&ServiceError::Inference(join.to_string())),
    }
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = state.service.exposition(accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let push = state
        .push_status
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let body = serde_json::json!({
        "status": "ok",
        "backend": state.backend,
        "runtime": state.service.metrics().runtime().as_str(),
        "instance": state.service.metrics().instance(),
        "predictions": state.service.metrics().predictions_total(),
        "push": {
            "configured": state.pushgateway.is_some(),
            "ok": push.pushes_ok,
            "failed": push.pushes_failed,
            "consecutive_failures": push.consecutive_failures,
            "last_error": push.last_error,
            "last_pushed_predictions": push.last_pushed_predictions,
        },
    });
    json_response(200, body.to_string())
}

/// Same-origin proxy to the Pushgateway: method, path, query, content type and body pass
/// through; the answer comes back as is.
async fn proxy(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(base) = state.pushgateway.clone() else {
        return json_response(
            503,
            serde_json::json!({"error": "no Pushgateway configured (lookout serve --pushgateway URL)", "status": 503}).to_string(),
        );
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().trim_start_matches("/pushgateway").to_string())
        .unwrap_or_default();
    let method = req.method().clone();
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let body = match read_limited(req, 8 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let Ok(m) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return json_response(405, r#"{"error":"method not allowed","status":405}"#.into());
    };
    let mut out = state
        .http
        .request(m, format!("{}{}", base.trim_end_matches('/'), path))
        .timeout(Duration::from_secs(10))
        .body(body);
    if let Some(ct) = content_type {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    match out.send().await {
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let ct = resp.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = status;
            if let Some(ct) = ct {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r
        }
        Err(e) => json_response(
            502,
            serde_json::json!({"error": format!("pushgateway unreachable: {e}"), "status": 502})
                .to_string(),
        ),
    }
}

/// Runs the server until `shutdown` resolves; pushes once more before returning. Calls
/// `on_ready` with the bound address (port 0 picks a free one).
pub async fn serve(
    config: ServerConfig,
    service: Service,
    on_ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let backend = service.classifier().backend().name();
    let service = Arc::new(service);
    let push_status = Arc::new(Mutex::new(PushStatus::default()));
    let http = reqwest::Client::new();
    let state = Arc::new(AppState {
        service: service.clone(),
        push_status: push_status.clone(),
        pushgateway: config.pushgateway.clone(),
        http: http.clone(),
        backend,
    });
    let app = router(
        state,
        config.static_dir.clone(),
        config.cors_origin.as_deref(),
    )?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServerError::Bind(config.addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Bind(config.addr, e))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let pusher_task = config.pushgateway.clone().map(|url| {
        let pusher = Pusher::new(PushConfig {
            url,
            job: config.job.clone(),
            extra_grouping: vec![],
        });
        tokio::spawn(push_loop(
            pusher,
            service.clone(),
            HttpTransport(http.clone()),
            push_status.clone(),
            config.push_interval,
            stop_rx,
        ))
    });

    on_ready(addr);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve);
    let _ = stop_tx.send(true);
    if let Some(task) = pusher_task {
        let _ = task.await;
    }
    result
}

async fn push_loop(
    mut pusher: Pusher,
    service: Arc<Service>,
    transport: HttpTransport,
    status: Arc<Mutex<PushStatus>>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.changed() => true,
        };
        // At shutdown, flush even if backing off: one last attempt.
        if stopping || pusher.ready(web_time_now()) {
            if stopping {
                pusher.clear_backoff();
            }
            let _ = pusher.push(service.metrics(), &transport).await;
            if let Ok(mut s) = status.lock() {
                *s = pusher.status().clone();
            }
        }
        if stopping {
            break;
        }
    }
}

fn web_time_now() -> lookout_metrics::push::Instant {
    lookout_metrics::push::Instant::now()
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
