//! The dashboards' browser storage: IndexedDB (database `lookout`) through the small plain-JS
//! module `web/notebook/src/dashboard-store.js` (bundled into `notebook.js`, bound in
//! `notebook_js.rs`), here as typed async functions. A store of dashboards by uid (the
//! dashboard's JSON, its local version, a "pending sync" mark and the server version it was
//! last synced with) and a store of versions (the last 50 of each dashboard, with their time).
//! Every error is a readable message (quota exceeded, IndexedDB unavailable), for the page to
//! show; nothing here swallows one.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::notebook_js;

/// One stored dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub uid: String,
    pub title: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The dashboard's local version (every local save increments it).
    pub version: u64,
    /// The dashboard (Lookout JSON); absent in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// Saved here, not yet on the server.
    #[serde(default)]
    pub pending: bool,
    /// The server's version this copy was last synced with; `None`: never synced.
    #[serde(default)]
    pub server_version: Option<u64>,
    /// When it was last saved (epoch ms).
    #[serde(default)]
    pub updated: f64,
}

/// One kept version of a dashboard.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    pub id: u64,
    pub version: u64,
    /// When it was saved (epoch ms).
    pub ts: f64,
    pub json: String,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    Ok,
    /// The stored copy is newer than the one the save was based on: nothing was written.
    Conflict(Record),
}

fn err(e: JsValue) -> String {
    e.as_string()
        .unwrap_or_else(|| format!("the browser's storage failed: {e:?}"))
}

fn text(v: JsValue) -> Option<String> {
    v.as_string()
}

fn parse<T: for<'de> Deserialize<'de>>(v: JsValue) -> Result<T, String> {
    let s = text(v).ok_or("the browser's storage answered nothing")?;
    serde_json::from_str(&s).map_err(|e| format!("the browser's storage answered badly: {e}"))
}

pub async fn open() -> Result<(), String> {
    notebook_js::store_open().await.map(|_| ()).map_err(err)
}

pub async fn list() -> Result<Vec<Record>, String> {
    parse(notebook_js::store_list().await.map_err(err)?)
}

pub async fn get(uid: &str) -> Result<Option<Record>, String> {
    let v = notebook_js::store_get(uid).await.map_err(err)?;
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    parse(v).map(Some)
}

/// Saves `record` (with its JSON) unless the stored copy is newer than `base` (`None`: no
/// check); adds a version and keeps the last 50.
pub async fn save(record: &Record, base: Option<u64>) -> Result<Saved, String> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        conflict: Option<Record>,
    }
    let json = serde_json::to_string(record).map_err(|e| e.to_string())?;
    let a: Answer = parse(
        notebook_js::store_save(&json, base.map(|b| b as f64))
            .await
            .map_err(err)?,
    )?;
    Ok(match a.conflict {
        Some(r) => Saved::Conflict(r),
        None => Saved::Ok,
    })
}

/// Sets the "pending sync" mark and/or the synced server version.
pub async fn mark(
    uid: &str,
    pending: Option<bool>,
    server_version: Option<u64>,
) -> Result<(), String> {
    notebook_js::store_mark(uid, pending, server_version.map(|v| v as f64))
        .await
        .map(|_| ())
        .map_err(err)
}

pub async fn delete(uid: &str) -> Result<(), String> {
    notebook_js::store_delete(uid)
        .await
        .map(|_| ())
        .map_err(err)
}

/// The kept versions, newest first.
pub async fn versions(uid: &str) -> Result<Vec<VersionRecord>, String> {
    parse(notebook_js::store_versions(uid).await.map_err(err)?)
}
