//! The dashboards API of `lookout serve --data-dir` (same origin, so no credentials; with
//! `--auth-token` its 401 is shown as an error and no token is stored):
//! `GET /api/dashboards` → `{"dashboards":[{uid,title,tags,version}]}`,
//! `GET|PUT|DELETE /api/dashboards/<uid>`; a PUT carries the version it was based on and gets
//! `{uid, version}` or 409 `{error, current}`. 503 and network errors mean "server away".

use lookout_dashboard::Dashboard;
use lookout_dashboard::model::MAX_JSON_BYTES;
use lookout_datasource::remote::TransportError;
use lookout_datasource::{HttpClient, HttpRequest};
use serde::Deserialize;

use crate::platform::{FetchHttp, origin};

const TIMEOUT_MS: u64 = 10_000;

/// One dashboard in the server's list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Summary {
    pub uid: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub version: u64,
}

/// Why a call gave nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Unreachable, or 502/503/504: try again later.
    Away(String),
    /// Refused (401, 400, …) or answered badly: retrying will not help.
    Refused(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Away(m) => write!(f, "the server is away ({m})"),
            Failure::Refused(m) => write!(f, "the server refused: {m}"),
        }
    }
}

/// What the server's list said.
#[derive(Debug, Clone, PartialEq)]
pub enum ListAnswer {
    /// Served by `lookout serve --data-dir`.
    Served(Vec<Summary>),
    /// No dashboards API here (404, not JSON): the page stays local-only.
    NotServed,
    Failed(Failure),
}

/// What a PUT did.
#[derive(Debug, Clone, PartialEq)]
pub enum PutAnswer {
    /// Stored; the server's new version.
    Stored(u64),
    /// The server's copy is newer: it is here.
    Conflict(Box<Dashboard>),
    Failed(Failure),
}

fn url(uid: Option<&str>) -> String {
    match uid {
        Some(uid) => format!("{}/api/dashboards/{uid}", origin()),
        None => format!("{}/api/dashboards", origin()),
    }
}

async fn send(
    method: &'static str,
    url: String,
    body: Option<String>,
) -> Result<(u16, String), Failure> {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if body.is_some() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    let resp = FetchHttp
        .send(HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms: TIMEOUT_MS,
            max_body_bytes: MAX_JSON_BYTES + 4096,
        })
        .await
        .map_err(|e| match e {
            TransportError::Timeout => Failure::Away("no answer in 10 s".into()),
            TransportError::TooLarge => Failure::Refused("the answer is too large".into()),
            TransportError::Failed(m) => Failure::Away(m),
        })?;
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    if matches!(resp.status, 502..=504) {
        return Err(Failure::Away(format!("HTTP {}", resp.status)));
    }
    Ok((resp.status, text))
}

fn refused(status: u16, body: &str) -> Failure {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    Failure::Refused(format!("HTTP {status}: {msg}"))
}

pub async fn list() -> ListAnswer {
    #[derive(Deserialize)]
    struct List {
        dashboards: Vec<Summary>,
    }
    match send("GET", url(None), None).await {
        Ok((200, body)) => match serde_json::from_str::<List>(&body) {
            Ok(l) => ListAnswer::Served(l.dashboards),
            Err(_) => ListAnswer::NotServed,
        },
        Ok((404 | 405, _)) => ListAnswer::NotServed,
        Ok((status, body)) => ListAnswer::Failed(refused(status, &body)),
        Err(f) => ListAnswer::Failed(f),
    }
}

pub async fn get(uid: &str) -> Result<Option<Dashboard>, Failure> {
    match send("GET", url(Some(uid)), None).await? {
        (200, body) => Dashboard::from_json(&body).map(Some).map_err(|e| {
            Failure::Refused(format!("the server's dashboard {uid:?} is unreadable: {e}"))
        }),
        (404, _) => Ok(None),
        (status, body) => Err(refused(status, &body)),
    }
}

/// Stores `d` as based on the server's version `base`.
pub async fn put(d: &Dashboard, base: u64) -> PutAnswer {
    #[derive(Deserialize)]
    struct Stored {
        version: u64,
    }
    #[derive(Deserialize)]
    struct Conflict {
        current: serde_json::Value,
    }
    let mut d = d.clone();
    d.version = base;
    let body = match d.to_json_pretty() {
        Ok(b) => b,
        Err(e) => return PutAnswer::Failed(Failure::Refused(e.to_string())),
    };
    match send("PUT", url(Some(&d.uid)), Some(body)).await {
        Ok((200 | 201, body)) => match serde_json::from_str::<Stored>(&body) {
            Ok(s) => PutAnswer::Stored(s.version),
            Err(e) => PutAnswer::Failed(Failure::Refused(format!("unexpected answer: {e}"))),
        },
        Ok((409, body)) => match serde_json::from_str::<Conflict>(&body)
            .ok()
            .and_then(|mut c| Dashboard::from_value(&mut c.current).ok())
        {
            Some(current) => PutAnswer::Conflict(Box::new(current)),
            None => PutAnswer::Failed(refused(409, &body)),
        },
        Ok((status, body)) => PutAnswer::Failed(refused(status, &body)),
        Err(f) => PutAnswer::Failed(f),
    }
}

pub async fn delete(uid: &str) -> Result<(), Failure> {
    match send("DELETE", url(Some(uid)), None).await? {
        (200 | 204 | 404, _) => Ok(()),
        (status, body) => Err(refused(status, &body)),
    }
}

/// Asks the server to send `notifications` (each naming one of the rule's channels) for the
/// rule `alert` on panel `panel_id` of `dashboard_uid`, which this tab evaluated
/// (`POST /api/alerts/notify`; the server holds the channels' secrets and sends).
pub async fn notify(
    dashboard_uid: &str,
    panel_id: u64,
    alert: &serde_json::Value,
    notifications: &[lookout_alerts::Notification],
) -> Result<(), Failure> {
    let body = serde_json::json!({
        "dashboardUid": dashboard_uid,
        "panelId": panel_id,
        "alert": alert,
        "notifications": notifications,
    })
    .to_string();
    match send(
        "POST",
        format!("{}/api/alerts/notify", origin()),
        Some(body),
    )
    .await?
    {
        (202, _) => Ok(()),
        (status, body) => Err(refused(status, &body)),
    }
}
