//! `lookout serve`: the seed's model server, made real.
//!
//! - `POST /predict` — `{"image": "<base64>", "format": "JPEG"}` or `{"images": [...]}`;
//! - `GET /metrics` — this instance's metrics (text 0.0.4, or OpenMetrics when asked);
//! - `GET /healthz` — backend, predictions so far, push status;
//! - `/pushgateway/*` — same-origin proxy to the configured Pushgateway (it sends no CORS
//!   headers, so the page pushes through here): pushes only ([`proxy`]);
//! - `/api/v1/*` — Prometheus' query API over the server's own store ([`query`]): its own
//!   metrics and the Pushgateway's, scraped every few seconds;
//! - `/prometheus/api/v1/*` — same-origin proxy to a configured Prometheus-compatible API;
//! - `/api/dashboards[/<uid>]` — dashboards kept as files in the data folder ([`dashboards`]);
//! - `/api/alerts[/<uid>/<panel>]`, `/api/channels[/<uid>[/test]]` — the panels' alerts,
//!   evaluated continuously, and the notification channels ([`alerts`]);
//! - everything else — the web page's built files, when a folder is given.
//!
//! With `cors_origin`, browsers on that origin (or any, with `*`) may call all of these from
//! another origin (like Prometheus' `--web.cors.origin`); without it, same-origin only, and
//! cross-site writes are refused ([`security`]). With `auth_token`, the APIs need it.
//!
//! Inference runs on blocking threads, never on the async runtime; the metrics are pushed
//! every few seconds and once more at shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lookout_metrics::push::{PushConfig, PushRequest, PushStatus, Pusher, Transport};
use lookout_service::{Service, ServiceError};

pub mod alerts;
pub mod dashboards;
pub mod proxy;
pub mod query;
pub mod security;

pub use query::SharedStore;

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
    /// Bearer token the APIs require (see [`security`]).
    pub auth_token: Option<String>,
    /// A Prometheus-compatible API proxied at `/prometheus/api/v1/`.
    pub prometheus: Option<String>,
    /// How often the server scrapes itself (and the Pushgateway) into its store.
    pub scrape_interval: Duration,
    /// Prometheus' global `evaluation_interval`: the step of a subquery that names none.
    pub evaluation_interval: Duration,
    /// Where dashboards live (`DIR/dashboards/<uid>.json`); `None`: no dashboard API.
    pub data_dir: Option<PathBuf>,
    /// Evaluate the dashboards' alerts (with a data folder; `DIR/alerts/`).
    pub alerts: bool,
    /// How often the alert scheduler looks for due rules.
    pub alert_interval: Duration,
}

impl ServerConfig {
    /// A config with the defaults for everything but the address.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            pushgateway: None,
            push_interval: Duration::from_secs(5),
            job: "lookout".into(),
            static_dir: None,
            cors_origin: None,
            auth_token: None,
            prometheus: None,
            scrape_interval: Duration::from_secs(5),
            evaluation_interval: Duration::from_secs(60),
            data_dir: None,
            alerts: true,
            alert_interval: Duration::from_secs(1),
        }
    }
}

pub(crate) struct AppState {
    service: Arc<Service>,
    push_status: Arc<Mutex<PushStatus>>,
    pushgateway: Option<String>,
    prometheus: Option<String>,
    http: reqwest::Client,
    backend: &'static str,
    store: SharedStore,
    engine: lookout_promql::Engine,
    dashboards: Option<Arc<lookout_store::DashboardStore>>,
    alerts: Option<Arc<alerts::Alerts>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Config(String),
    #[error("data folder: {0}")]
    DataDir(#[from] lookout_store::StoreError),
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

pub(crate) fn json_response(status: u16, body: String) -> Response {
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

pub(crate) fn error_response(e: &ServiceError) -> Response {
    json_response(e.status(), e.to_json())
}

/// The router over a service; exposed for tests and embedding.
fn router(
    state: Arc<AppState>,
    static_dir: Option<PathBuf>,
    cors_origin: Option<&str>,
    policy: security::Policy,
) -> Result<Router, ServerError> {
    let mut app = Router::new()
        .route("/predict", post(predict))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/pushgateway/{*rest}", any(proxy::pushgateway))
        .route("/api/v1/{*rest}", any(query::api_v1))
        .route("/prometheus/api/v1/{*rest}", any(proxy::prometheus))
        .route("/api/dashboards", get(dashboards::list))
        .route("/api/dashboards/{uid}", any(dashboards::one))
        .route("/api/alerts", any(alerts::rules))
        .route("/api/alerts/{*rest}", any(alerts::rule))
        .route("/api/channels", any(alerts::channels))
        .route("/api/channels/{*rest}", any(alerts::channel))
        .with_state(state);
    if let Some(dir) = static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    app = app.layer(axum::middleware::from_fn_with_state(
        Arc::new(policy),
        security::guard,
    ));
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
                .allow_headers([header::CONTENT_TYPE, header::ACCEPT, header::AUTHORIZATION]),
        );
    }
    Ok(app)
}

/// Reads at most `limit` bytes of body; refuses from `Content-Length` before reading.
pub(crate) async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ServiceError> {
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
    match tokio::task::spawn_blocking(move || service.predict_json(body.into())).await {
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

/// Runs the server until `shutdown` resolves; pushes once more before returning. Calls
/// `on_ready` with the bound address (port 0 picks a free one).
///
/// `store` is the store the query API answers from (a fresh one from
/// [`query::new_store`], or one filled beforehand, e.g. by `lookout serve --backfill`).
pub async fn serve(
    config: ServerConfig,
    service: Service,
    store: SharedStore,
    on_ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let backend = service.classifier().backend().name();
    let service = Arc::new(service);
    let push_status = Arc::new(Mutex::new(PushStatus::default()));
    let http = reqwest::Client::new();
    let dashboards = match &config.data_dir {
        Some(dir) => Some(Arc::new(lookout_store::DashboardStore::open(
            dir.join("dashboards"),
        )?)),
        None => None,
    };
    let engine = lookout_promql::Engine {
        default_subquery_step_ms: (config.evaluation_interval.as_millis() as i64).max(1),
        ..lookout_promql::Engine::default()
    };
    let alerts = match (&config.data_dir, &dashboards) {
        (Some(dir), Some(d)) => Some(Arc::new(
            alerts::Alerts::open(
                alerts::AlertsConfig {
                    dir: dir.join("alerts"),
                    evaluate: config.alerts,
                    interval: config.alert_interval,
                    prometheus: config.prometheus.clone(),
                    scrape_interval_ms: config.scrape_interval.as_millis() as i64,
                    retry: lookout_alerts::RetryPolicy::default(),
                },
                d.clone(),
                store.clone(),
                engine.clone(),
            )
            .map_err(|e| ServerError::Config(format!("alerts: {e}")))?,
        )),
        _ => None,
    };
    let state = Arc::new(AppState {
        service: service.clone(),
        push_status: push_status.clone(),
        pushgateway: config.pushgateway.clone(),
        prometheus: config.prometheus.clone(),
        http: http.clone(),
        backend,
        store,
        engine,
        dashboards,
        alerts: alerts.clone(),
    });
    let policy = security::Policy {
        allowed_origin: config.cors_origin.clone(),
        token: config.auth_token.clone(),
    };
    let app = router(
        state.clone(),
        config.static_dir.clone(),
        config.cors_origin.as_deref(),
        policy,
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
            stop_rx.clone(),
        ))
    });

    let scrape_task = tokio::spawn(query::scrape_loop(
        state,
        config.scrape_interval.max(Duration::from_millis(100)),
        config.job.clone(),
        stop_rx.clone(),
    ));

    let mut alerts_line = None;
    let alerts_task = match alerts {
        Some(alerts) => {
            let host = if addr.ip().is_unspecified() {
                SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            } else {
                addr
            };
            alerts.set_base_url(&format!("http://{host}"));
            let a = alerts.clone();
            let _ = tokio::task::spawn_blocking(move || a.scan()).await;
            let (rules, dashboards) = alerts.counts();
            alerts_line = Some(if alerts.evaluating() {
                format!(
                    "alerts: {rules} rule(s) on {dashboards} dashboard(s), checked every {}s",
                    config.alert_interval.as_secs_f64()
                )
            } else {
                format!(
                    "alerts: {rules} rule(s) on {dashboards} dashboard(s), not evaluated (--alerts off)"
                )
            });
            alerts
                .evaluating()
                .then(|| tokio::spawn(alerts.run(stop_rx.clone())))
        }
        None => None,
    };

    on_ready(addr);
    if let Some(line) = alerts_line {
        // Not `println!`: a closed stdout must not stop the server.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve);
    let _ = stop_tx.send(true);
    if let Some(task) = pusher_task {
        let _ = task.await;
    }
    let _ = scrape_task.await;
    if let Some(task) = alerts_task {
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
