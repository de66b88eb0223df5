//! `/api/dashboards`: the dashboards kept in `--data-dir` ([`lookout_store`]), as plain files.
//!
//! - `GET /api/dashboards` → `{"dashboards": [{"uid", "title", "tags", "version"[, "error"]}]}`;
//! - `GET /api/dashboards/<uid>` → the Lookout dashboard JSON (its `version` the stored one);
//! - `PUT /api/dashboards/<uid>` with a Lookout dashboard whose `version` is the one it was
//!   based on → `{"uid", "version"}` (the new version), or 409 `{"error", "current"}` when the
//!   stored version is another (the client offers reload or overwrite: overwrite is a PUT
//!   based on `current.version`);
//! - `DELETE /api/dashboards/<uid>` → 204 (the file moves to the folder's `.trash/`).
//!
//! Writes follow the server's rules ([`crate::security`]): same-origin (or `--cors-origin`)
//! and the token when one is set. Bodies are limited to 16 MiB before they are read; uids are
//! checked before any path is built. File system work runs on blocking threads.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::Method;
use axum::response::Response;
use lookout_dashboard::document::Dashboard;
use lookout_dashboard::model::MAX_JSON_BYTES;
use lookout_store::StoreError;

use crate::{AppState, json_response, read_limited};

fn error(status: u16, message: &str) -> Response {
    json_response(status, serde_json::json!({ "error": message }).to_string())
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::InvalidUid(_) => error(400, &e.to_string()),
        StoreError::NotFound(_) => error(404, &e.to_string()),
        StoreError::Conflict { ref current, .. } => {
            let current = serde_json::to_value(current.as_ref()).unwrap_or_default();
            json_response(
                409,
                serde_json::json!({ "error": e.to_string(), "current": current }).to_string(),
            )
        }
        StoreError::Invalid { .. } | StoreError::TooLarge { .. } => error(422, &e.to_string()),
        StoreError::Io { .. } => error(500, &e.to_string()),
    }
}

fn no_store() -> Response {
    error(
        404,
        "this server keeps no dashboards (start it with --data-dir)",
    )
}

/// Runs file system work on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(StoreError::Io {
            path: Default::default(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}

/// `GET /api/dashboards`.
pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Response {
    let Some(store) = state.dashboards.clone() else {
        return no_store();
    };
    match blocking(move || store.list()).await {
        Ok(list) => json_response(200, serde_json::json!({ "dashboards": list }).to_string()),
        Err(e) => store_error(e),
    }
}

/// `GET|PUT|DELETE /api/dashboards/<uid>`.
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    req: Request,
) -> Response {
    let Some(store) = state.dashboards.clone() else {
        return no_store();
    };
    if let Err(e) = store.path_of(&uid) {
        return store_error(e);
    }
    let method = req.method().clone();
    match method {
        Method::GET | Method::HEAD => match blocking(move || store.get(&uid)).await {
            Ok(d) => match d.to_json_pretty() {
                Ok(json) => json_response(200, json),
                Err(e) => error(500, &e.to_string()),
            },
            Err(e) => store_error(e),
        },
        Method::PUT => {
            let body = match read_limited(req, MAX_JSON_BYTES).await {
                Ok(b) => b,
                Err(_) => {
                    return error(
                        413,
                        &format!("a dashboard is at most {MAX_JSON_BYTES} bytes"),
                    );
                }
            };
            let text = String::from_utf8_lossy(&body);
            let dashboard = match Dashboard::from_json(&text) {
                Ok(d) => d,
                Err(e) => return error(400, &format!("invalid dashboard: {e}")),
            };
            let uid2 = uid.clone();
            match blocking(move || store.put(&uid2, dashboard)).await {
                Ok(version) => json_response(
                    200,
                    serde_json::json!({ "uid": uid, "version": version }).to_string(),
                ),
                Err(e) => store_error(e),
            }
        }
        Method::DELETE => match blocking(move || store.delete(&uid)).await {
            Ok(()) => json_response(204, String::new()),
            Err(e) => store_error(e),
        },
        _ => error(405, "use GET, PUT or DELETE"),
    }
}
