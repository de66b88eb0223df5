//! The dashboards' store in the page (leptos context): every dashboard in memory (so nothing
//! is lost while the browser's storage fails), saved to IndexedDB at once (`storage.rs`), and
//! synced to `lookout serve --data-dir` when the page is served by it (`server_api.rs`).
//!
//! Versions: a dashboard's `version` is its local version; every local save increments it and
//! is refused when IndexedDB holds a newer one than the save was based on (another tab saved:
//! "changed in another tab: reload / overwrite"). The server's version is kept beside it
//! (`server_version`): a PUT carries it as the version it was based on; a 409 offers "reload
//! theirs / overwrite with mine". While the server is away each unsynced dashboard keeps a
//! "pending sync" mark in IndexedDB and the store retries with backoff (1 s doubling to 8 s).
//! On load the server's list is merged with the local one: the newer wins, local edits not yet
//! synced are pushed. Saves are announced on `BroadcastChannel("lookout-dashboards")`: other
//! tabs reload the dashboard when they have no unsaved edits.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use lookout_dashboard::document::{MAX_UID_LEN, uid_from_title, valid_uid};
use lookout_dashboard::sync::{TombstoneAction, tombstone_action};
use lookout_dashboard::time::TimeRange;
use lookout_dashboard::{Cell, Dashboard, builtin};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::notebook_js;
use crate::server_api::{self, Failure, ListAnswer, PutAnswer};
use crate::storage::{self, Record, Saved};

const SEEDED_KEY: &str = "lookout.dashboards.seeded";
const OPEN_KEY: &str = "lookout.dashboards.open";
const RETRY_MAX_MS: u64 = 8_000;
/// How often a visible page merges with the server's list.
const WATCH_MS: u64 = 10_000;
/// `{JOURNAL_PREFIX}{uid}:{tab}` holds an edit not yet in IndexedDB (localStorage is written
/// synchronously, so an edit made just before the tab closes or reloads is not lost).
const JOURNAL_PREFIX: &str = "lookout.dashboards.unsaved:";

#[derive(Serialize, Deserialize)]
struct Journal {
    base: u64,
    json: String,
}

thread_local! {
    static TAB_ID: String = format!("{:x}", (js_sys::Math::random() * 1e12) as u64);
}

fn journal_key(uid: &str) -> String {
    TAB_ID.with(|t| format!("{JOURNAL_PREFIX}{uid}:{t}"))
}

/// Notes an edit of `d` (based on the local version `base`) before it is saved.
pub fn journal_write(d: &Dashboard, base: u64) {
    let Some(s) = local_storage() else { return };
    if let Ok(json) = d.to_json_pretty()
        && let Ok(text) = serde_json::to_string(&Journal { base, json })
    {
        let _ = s.set_item(&journal_key(&d.uid), &text);
    }
}

/// The edit of `uid` is saved.
pub fn journal_clear(uid: &str) {
    if let Some(s) = local_storage() {
        let _ = s.remove_item(&journal_key(uid));
    }
}

/// Where a dashboard's last change is.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveState {
    /// Written (to the browser, and to the server when there is one).
    Saved,
    Saving,
    /// Saved in this browser; the server is away: retried until it is back.
    Pending(String),
    /// Saved in this browser; the server refused it.
    SyncFailed(String),
    /// Not saved: the browser's storage failed (kept in this tab's memory).
    Failed(String),
    /// Another tab or the server has a newer copy: the user chooses.
    Conflict,
}

impl SaveState {
    /// `data-state` for tests and CSS.
    pub fn id(&self) -> &'static str {
        match self {
            SaveState::Saved => "saved",
            SaveState::Saving => "saving",
            SaveState::Pending(_) => "pending",
            SaveState::SyncFailed(_) => "sync-failed",
            SaveState::Failed(_) => "failed",
            SaveState::Conflict => "conflict",
        }
    }
}

/// One dashboard in the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub version: u64,
    pub pending: bool,
    pub server_version: Option<u64>,
    pub state: SaveState,
}

/// Whether the page has a server to sync with.
#[derive(Debug, Clone, PartialEq)]
pub enum Server {
    Checking,
    /// Not served by `lookout serve --data-dir`: saved in this browser only.
    Local,
    Online,
    Away(String),
    Refused(String),
}

impl Server {
    pub fn served(&self) -> bool {
        matches!(self, Server::Online | Server::Away(_) | Server::Refused(_))
    }
}

/// A newer copy elsewhere than the one being edited.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    /// Another tab saved it (IndexedDB holds a newer version).
    Tab(Box<Dashboard>),
    /// The server holds a newer version (409).
    Server(Box<Dashboard>),
}

/// What importing one file gave (shown as text: the report or the error).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportLine {
    pub file: String,
    /// The dashboard's uid once saved; `None` when the file was refused.
    pub uid: Option<String>,
    /// The import report (`lookout_grafana::Report`'s text), or the one-line error.
    pub text: String,
}

#[derive(Serialize, Deserialize)]
struct Announcement {
    uid: String,
    version: u64,
    #[serde(default)]
    deleted: bool,
}

#[derive(Clone, Copy)]
pub struct DashStore {
    pub entries: RwSignal<BTreeMap<String, Entry>>,
    docs: StoredValue<BTreeMap<String, Dashboard>>,
    /// The open dashboard (`None`: the list).
    pub open: RwSignal<Option<String>>,
    /// The browser's storage failed (shown; dashboards keep working in memory).
    pub storage_error: RwSignal<Option<String>>,
    pub server: RwSignal<Server>,
    pub conflicts: RwSignal<BTreeMap<String, Conflict>>,
    /// Bumped with a uid when its stored copy was replaced from elsewhere (another tab, the
    /// server): an open view without unsaved edits reloads it.
    pub replaced: RwSignal<(String, u64)>,
    /// A message about the last list action (delete, create).
    pub notice: RwSignal<Option<String>>,
    pub loaded: RwSignal<bool>,
    /// A dashboard opened from a shared link (`#dashboard=…`), shown as an unsaved copy: a
    /// serial (each link opens a fresh view) and the document.
    pub shared: RwSignal<Option<(u64, Dashboard)>>,
    /// Why a shared link could not be opened.
    pub shared_error: RwSignal<Option<String>>,
    /// The last import, one line per file.
    pub imports: RwSignal<Vec<ImportLine>>,
    started: StoredValue<bool>,
    idb: StoredValue<bool>,
    syncing: StoredValue<BTreeSet<String>>,
    resync: StoredValue<BTreeSet<String>>,
    retry_attempt: StoredValue<u32>,
    retry_scheduled: StoredValue<bool>,
    /// A merge with the server's list is running.
    merging: StoredValue<bool>,
}

pub fn use_dash_store() -> DashStore {
    expect_context::<DashStore>()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Dashboards deleted here that the server was not told about yet: uid → the server's
/// version this page had (see `lookout_dashboard::sync`). In localStorage, so every tab and
/// the next visit see them.
const TOMBSTONES_KEY: &str = "lookout.dashboards.deleted";

fn tombstones() -> BTreeMap<String, u64> {
    local_storage()
        .and_then(|s| s.get_item(TOMBSTONES_KEY).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn set_tombstones(t: &BTreeMap<String, u64>) {
    let Some(s) = local_storage() else { return };
    if t.is_empty() {
        let _ = s.remove_item(TOMBSTONES_KEY);
    } else if let Ok(text) = serde_json::to_string(t) {
        let _ = s.set_item(TOMBSTONES_KEY, &text);
    }
}

fn tombstone_add(uid: &str, server_version: u64) {
    let mut t = tombstones();
    t.insert(uid.to_string(), server_version);
    set_tombstones(&t);
}

fn tombstone_remove(uid: &str) {
    let mut t = tombstones();
    if t.remove(uid).is_some() {
        set_tombstones(&t);
    }
}

fn record_of(d: &Dashboard, pending: bool, server_version: Option<u64>) -> Result<Record, String> {
    Ok(Record {
        uid: d.uid.clone(),
        title: d.title.clone(),
        tags: d.tags.clone(),
        version: d.version,
        json: Some(d.to_json_pretty().map_err(|e| e.to_string())?),
        pending,
        server_version,
        updated: 0.0,
    })
}

fn dashboard_of(r: &Record) -> Result<Dashboard, String> {
    let json = r.json.as_deref().ok_or("no JSON stored")?;
    Dashboard::from_json(json).map_err(|e| format!("dashboard {:?} could not be read: {e}", r.uid))
}

impl DashStore {
    pub fn new() -> Self {
        Self {
            entries: RwSignal::new(BTreeMap::new()),
            docs: StoredValue::new(BTreeMap::new()),
            open: RwSignal::new(None),
            storage_error: RwSignal::new(None),
            server: RwSignal::new(Server::Checking),
            conflicts: RwSignal::new(BTreeMap::new()),
            replaced: RwSignal::new((String::new(), 0)),
            notice: RwSignal::new(None),
            loaded: RwSignal::new(false),
            shared: RwSignal::new(None),
            shared_error: RwSignal::new(None),
            imports: RwSignal::new(Vec::new()),
            started: StoredValue::new(false),
            idb: StoredValue::new(false),
            syncing: StoredValue::new(BTreeSet::new()),
            resync: StoredValue::new(BTreeSet::new()),
            retry_attempt: StoredValue::new(0),
            retry_scheduled: StoredValue::new(false),
            merging: StoredValue::new(false),
        }
    }

    /// The dashboard as last saved or loaded.
    pub fn doc(&self, uid: &str) -> Option<Dashboard> {
        self.docs.with_value(|d| d.get(uid).cloned())
    }

    pub fn entry(&self, uid: &str) -> Option<Entry> {
        self.entries.with_untracked(|e| e.get(uid).cloned())
    }

    /// An edit is waiting to be saved.
    pub fn set_saving(&self, uid: &str) {
        if self
            .entry(uid)
            .is_some_and(|e| e.state != SaveState::Conflict)
        {
            self.set_state(uid, SaveState::Saving);
        }
    }

    fn set_state(&self, uid: &str, state: SaveState) {
        self.entries.update(|e| {
            if let Some(e) = e.get_mut(uid) {
                e.state = state;
            }
        });
    }

    fn put_memory(
        &self,
        d: &Dashboard,
        pending: bool,
        server_version: Option<u64>,
        state: SaveState,
    ) {
        self.docs.update_value(|m| {
            m.insert(d.uid.clone(), d.clone());
        });
        let entry = Entry {
            uid: d.uid.clone(),
            title: d.title.clone(),
            tags: d.tags.clone(),
            version: d.version,
            pending,
            server_version,
            state,
        };
        self.entries.update(|e| {
            e.insert(d.uid.clone(), entry);
        });
    }

    fn storage_failed(&self, what: &str, e: String) {
        self.storage_error.set(Some(format!(
            "{what}: {e}. Dashboards keep working in this tab's memory; they are lost when it closes."
        )));
    }

    /// Starts [`DashStore::init`] once: when the dashboards are first shown or a notebook cell
    /// is first offered to one (never on a page that only uses the notebook).
    pub fn ensure_init(self) {
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        leptos::task::spawn_local(self.init());
    }

    /// Opens IndexedDB, loads every dashboard, seeds the built-in ones on a first visit (and
    /// opens the seed's), listens to other tabs, then syncs with the server.
    pub async fn init(self) {
        let first_visit = local_storage()
            .and_then(|s| s.get_item(SEEDED_KEY).ok().flatten())
            .is_none();
        match storage::open().await {
            Ok(()) => self.idb.set_value(true),
            Err(e) => self.storage_failed("the browser's storage (IndexedDB) is unavailable", e),
        }
        let mut found = 0;
        if self.idb.get_value() {
            match storage::list().await {
                Ok(list) => {
                    for r in list {
                        match storage::get(&r.uid).await {
                            Ok(Some(full)) => match dashboard_of(&full) {
                                Ok(d) => {
                                    found += 1;
                                    let state = if full.pending {
                                        SaveState::Pending("not yet on the server".into())
                                    } else {
                                        SaveState::Saved
                                    };
                                    self.put_memory(&d, full.pending, full.server_version, state);
                                }
                                Err(e) => self.notice.set(Some(e)),
                            },
                            Ok(None) => {}
                            Err(e) => self.storage_failed("a dashboard could not be read", e),
                        }
                    }
                }
                Err(e) => self.storage_failed("the saved dashboards could not be listed", e),
            }
        }
        self.recover_journals().await;
        if first_visit && found == 0 {
            for d in builtin::all() {
                let d = Dashboard { version: 1, ..d };
                self.put_memory(&d, false, None, SaveState::Saved);
                if self.idb.get_value() {
                    match record_of(&d, false, None) {
                        Ok(r) => {
                            if let Err(e) = storage::save(&r, Some(0)).await {
                                self.storage_failed(
                                    "the built-in dashboards could not be saved",
                                    e,
                                );
                            }
                        }
                        Err(e) => self.notice.set(Some(e)),
                    }
                }
            }
            self.open.set(Some(builtin::SEED_UID.to_string()));
        } else {
            let last = local_storage()
                .and_then(|s| s.get_item(OPEN_KEY).ok().flatten())
                .filter(|uid| self.doc(uid).is_some());
            self.open.set(last);
        }
        if let Some(s) = local_storage() {
            let _ = s.set_item(SEEDED_KEY, "1");
        }
        self.listen();
        self.loaded.set(true);
        self.sync_all().await;
        self.watch_server();
    }

    /// Merges with the server's list every [`WATCH_MS`] while the page is visible, and at
    /// once when it becomes visible again: a dashboard changed on the server (another
    /// browser, a file edited by hand or by `git pull` in its folder) reaches an open view
    /// without a reload; an open view with unsaved edits is offered the choice instead.
    fn watch_server(self) {
        let visible = || {
            web_sys::window()
                .and_then(|w| w.document())
                .is_none_or(|d| !d.hidden())
        };
        let tick = move || {
            if visible() && self.server.get_untracked() != Server::Local {
                leptos::task::spawn_local(self.sync_all());
            }
        };
        set_interval(tick, std::time::Duration::from_millis(WATCH_MS));
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            let on_visible = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(tick);
            let _ = d.add_event_listener_with_callback(
                "visibilitychange",
                wasm_bindgen::JsCast::unchecked_ref(on_visible.as_ref()),
            );
            on_visible.forget();
        }
    }

    /// Saves edits a closed tab noted but could not save, when nothing newer was saved since.
    async fn recover_journals(self) {
        let Some(s) = local_storage() else { return };
        let keys: Vec<String> = (0..s.length().unwrap_or(0))
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with(JOURNAL_PREFIX))
            .collect();
        for key in keys {
            let Some(j) = s
                .get_item(&key)
                .ok()
                .flatten()
                .and_then(|t| serde_json::from_str::<Journal>(&t).ok())
            else {
                let _ = s.remove_item(&key);
                continue;
            };
            let Ok(d) = Dashboard::from_json(&j.json) else {
                let _ = s.remove_item(&key);
                continue;
            };
            // Another tab's edit in progress, or superseded: left alone.
            let current = self.entry(&d.uid).map_or(0, |e| e.version);
            if current != j.base {
                continue;
            }
            let _ = s.remove_item(&key);
            let title = d.title.clone();
            if self.save(d, j.base, true).await.is_ok() {
                self.notice.set(Some(format!(
                    "“{title}”: an edit made just before a tab closed was saved now."
                )));
            }
        }
    }

    /// Opens a dashboard (`None`: the list) and remembers it for the next visit.
    pub fn open_dashboard(&self, uid: Option<String>) {
        if let Some(s) = local_storage() {
            let _ = match &uid {
                Some(u) => s.set_item(OPEN_KEY, u),
                None => s.remove_item(OPEN_KEY),
            };
        }
        // Leaving a dashboard opened from a link: the link leaves the address bar too (a
        // reload shows what is open now).
        if self.shared.with_untracked(Option::is_some) {
            self.shared.set(None);
            crate::platform::clear_fragment();
        }
        self.open.set(uid);
    }

    /// Shows a dashboard from a shared link as an unsaved copy.
    pub fn open_shared(&self, d: Dashboard) {
        let n = self
            .shared
            .with_untracked(|s| s.as_ref().map_or(0, |(n, _)| n + 1));
        self.shared_error.set(None);
        self.shared.set(Some((n, d)));
    }

    /// Saves a dashboard from elsewhere (an import, a shared link) as a new one: its uid when
    /// free (or when `replace`: then over the dashboard holding it), else a free one derived
    /// from it. The saved uid.
    pub async fn add_dashboard(self, mut d: Dashboard, replace: bool) -> Result<String, String> {
        let wanted = if valid_uid(&d.uid) {
            d.uid.clone()
        } else {
            uid_from_title(&d.title)
        };
        let existing = self.entry(&wanted);
        let base = match &existing {
            Some(e) if replace => e.version,
            Some(_) => {
                d.uid = self.free_uid_from(wanted);
                0
            }
            None => {
                d.uid = wanted;
                0
            }
        };
        let uid = d.uid.clone();
        self.save(d, base, true).await.map_err(|()| {
            format!("“{uid}” was changed in another tab meanwhile; import it again")
        })?;
        if existing.is_some() && replace {
            self.bump_replaced(&uid);
        }
        Ok(uid)
    }

    fn listen(self) {
        let cb = Closure::<dyn Fn(String)>::new(move |msg: String| {
            let Ok(a) = serde_json::from_str::<Announcement>(&msg) else {
                return;
            };
            leptos::task::spawn_local(async move { self.reload_from_storage(a).await });
        });
        notebook_js::channel_listen(&cb.into_js_value());
    }

    async fn reload_from_storage(self, a: Announcement) {
        if a.deleted {
            self.docs.update_value(|m| {
                m.remove(&a.uid);
            });
            self.entries.update(|e| {
                e.remove(&a.uid);
            });
            if self.open.get_untracked().as_deref() == Some(a.uid.as_str()) {
                self.open.set(None);
            }
            return;
        }
        match storage::get(&a.uid).await {
            Ok(Some(r)) => match dashboard_of(&r) {
                Ok(d) => {
                    let state = self
                        .entry(&a.uid)
                        .map(|e| e.state)
                        .filter(|s| *s == SaveState::Conflict)
                        .unwrap_or(if r.pending {
                            SaveState::Pending("not yet on the server".into())
                        } else {
                            SaveState::Saved
                        });
                    self.put_memory(&d, r.pending, r.server_version, state);
                    self.bump_replaced(&a.uid);
                }
                Err(e) => self.notice.set(Some(e)),
            },
            Ok(None) => {}
            Err(e) => self.storage_failed("a dashboard saved in another tab could not be read", e),
        }
    }

    fn bump_replaced(&self, uid: &str) {
        let n = self.replaced.with_untracked(|(_, n)| *n) + 1;
        self.replaced.set((uid.to_string(), n));
    }

    /// A free uid for a new dashboard titled `title`.
    fn free_uid(&self, title: &str) -> String {
        self.free_uid_from(uid_from_title(title))
    }

    /// `base` when no dashboard has it, else `base-2`, `base-3`, … (cut to the uid's length).
    fn free_uid_from(&self, base: String) -> String {
        let taken = |u: &str| self.docs.with_value(|m| m.contains_key(u));
        if !taken(&base) {
            return base;
        }
        for n in 2u32.. {
            let suffix = format!("-{n}");
            let mut stem = base.clone();
            stem.truncate(MAX_UID_LEN - suffix.len());
            let uid = format!("{stem}{suffix}");
            if !taken(&uid) {
                return uid;
            }
        }
        base
    }

    /// A new empty dashboard (not saved yet).
    fn new_dashboard(&self, title: &str) -> Dashboard {
        let title = if title.trim().is_empty() {
            "New dashboard".to_string()
        } else {
            title.trim().to_string()
        };
        Dashboard {
            uid: self.free_uid(&title),
            title,
            time: TimeRange::new("now-1h", "now"),
            // The page's own metrics arrive as predictions are made: follow them, as the
            // built-in dashboards do.
            refresh: Some("10s".to_string()),
            ..Dashboard::default()
        }
    }

    /// Adds a copy of a notebook cell to a dashboard (`None`: a new one) below its panels;
    /// the dashboard's uid and title.
    pub async fn add_panel(
        self,
        uid: Option<String>,
        cell: Cell,
    ) -> Result<(String, String), String> {
        let mut d = match uid.as_deref().and_then(|u| self.doc(u)) {
            Some(d) => d,
            None => self.new_dashboard("From the notebook"),
        };
        let base = d.version;
        let mut cell = cell;
        cell.panel.grid = None;
        d.add_panel(cell);
        let (uid, title) = (d.uid.clone(), d.title.clone());
        self.save(d, base, true).await.map_err(|()| {
            "another tab changed that dashboard: open it and try again".to_string()
        })?;
        self.bump_replaced(&uid);
        Ok((uid, title))
    }

    /// Creates an empty dashboard and opens it.
    pub fn create(self, title: &str) {
        let d = self.new_dashboard(title);
        let uid = d.uid.clone();
        leptos::task::spawn_local(async move {
            let _ = self.save(d, 0, true).await;
            self.open_dashboard(Some(uid));
        });
    }

    /// Renames a dashboard (its uid stays).
    pub fn rename(self, uid: &str, title: String) {
        let Some(mut d) = self.doc(uid) else { return };
        let base = d.version;
        d.title = title;
        let uid = uid.to_string();
        leptos::task::spawn_local(async move {
            if self.save(d, base, true).await.is_ok() {
                self.bump_replaced(&uid);
            }
        });
    }

    /// Deletes a dashboard here, in IndexedDB and on the server. When the server cannot be
    /// told now, a tombstone remembers it until the next merge deletes it there too.
    pub fn delete(self, uid: &str) {
        let uid = uid.to_string();
        let server_version = self.entry(&uid).and_then(|e| e.server_version);
        self.docs.update_value(|m| {
            m.remove(&uid);
        });
        self.entries.update(|e| {
            e.remove(&uid);
        });
        if self.open.get_untracked().as_deref() == Some(uid.as_str()) {
            self.open_dashboard(None);
        }
        leptos::task::spawn_local(async move {
            if self.idb.get_value()
                && let Err(e) = storage::delete(&uid).await
            {
                self.storage_failed("the dashboard could not be deleted from this browser", e);
            }
            if let Ok(msg) = serde_json::to_string(&Announcement {
                uid: uid.clone(),
                version: 0,
                deleted: true,
            }) {
                notebook_js::channel_post(&msg);
            }
            let Some(known) = server_version else {
                return; // never on a server: nothing to tell one
            };
            let told = match self.server.get_untracked() {
                Server::Online | Server::Refused(_) => server_api::delete(&uid).await,
                Server::Checking | Server::Away(_) => {
                    Err(Failure::Away("not reachable now".into()))
                }
                Server::Local => Ok(()),
            };
            match told {
                Ok(()) => {}
                Err(Failure::Away(_)) => {
                    tombstone_add(&uid, known);
                    self.notice.set(Some(format!(
                        "“{uid}” is deleted in this browser; the server will be told when it is back."
                    )));
                    self.schedule_retry();
                }
                Err(e) => self.notice.set(Some(format!(
                    "“{uid}” was deleted in this browser, not on the server: {e}"
                ))),
            }
        });
    }

    /// Saves `d` as based on the local version `base`: the new version is `base + 1`. Saved in
    /// memory whatever happens; in IndexedDB unless another tab saved a newer version (then
    /// a [`Conflict::Tab`] is offered and `Err(())` returned); then synced when `sync`.
    pub async fn save(self, mut d: Dashboard, base: u64, sync: bool) -> Result<u64, ()> {
        d.version = base + 1;
        let uid = d.uid.clone();
        // Saved again under a uid deleted while the server was away: it lives.
        tombstone_remove(&uid);
        let served = self.server.get_untracked().served();
        let server_version = self.entry(&uid).and_then(|e| e.server_version);
        let pending = served && sync;
        self.put_memory(&d, pending, server_version, SaveState::Saving);
        if self.idb.get_value() {
            let record = match record_of(&d, pending, server_version) {
                Ok(r) => r,
                Err(e) => {
                    self.set_state(&uid, SaveState::Failed(e));
                    return Ok(d.version);
                }
            };
            match storage::save(&record, Some(base)).await {
                Ok(Saved::Ok) => {
                    self.storage_error.set(None);
                }
                Ok(Saved::Conflict(theirs)) => {
                    match dashboard_of(&theirs) {
                        Ok(t) => self.conflicts.update(|c| {
                            c.insert(uid.clone(), Conflict::Tab(Box::new(t)));
                        }),
                        Err(e) => self.notice.set(Some(e)),
                    }
                    self.set_state(&uid, SaveState::Conflict);
                    return Err(());
                }
                Err(e) => {
                    self.storage_failed(
                        "the dashboard could not be saved in this browser",
                        e.clone(),
                    );
                    self.set_state(&uid, SaveState::Failed(e));
                    if sync {
                        self.sync(uid).await;
                    }
                    return Ok(d.version);
                }
            }
            if let Ok(msg) = serde_json::to_string(&Announcement {
                uid: uid.clone(),
                version: d.version,
                deleted: false,
            }) {
                notebook_js::channel_post(&msg);
            }
        }
        if sync && served {
            self.set_state(&uid, SaveState::Pending("sending to the server".into()));
            self.sync(uid).await;
        } else if self
            .entry(&uid)
            .is_some_and(|e| matches!(e.state, SaveState::Saving))
        {
            self.set_state(&uid, SaveState::Saved);
        }
        Ok(d.version)
    }

    /// Takes another tab's copy (a resolved conflict): memory and list only.
    pub fn accept(&self, d: &Dashboard) {
        let e = self.entry(&d.uid);
        self.put_memory(
            d,
            e.as_ref().is_some_and(|e| e.pending),
            e.and_then(|e| e.server_version),
            SaveState::Saved,
        );
        self.conflicts.update(|c| {
            c.remove(&d.uid);
        });
    }

    pub fn clear_conflict(&self, uid: &str) {
        self.conflicts.update(|c| {
            c.remove(uid);
        });
    }

    /// The server's version this dashboard is now based on (after a 409, to overwrite).
    pub fn set_server_version(&self, uid: &str, v: u64) {
        self.entries.update(|e| {
            if let Some(e) = e.get_mut(uid) {
                e.server_version = Some(v);
            }
        });
    }

    /// Sends a dashboard to the server (when there is one), as based on the server version
    /// it was last synced with.
    pub async fn sync(self, uid: String) {
        if !self.server.get_untracked().served() {
            if self
                .entry(&uid)
                .is_some_and(|e| !matches!(e.state, SaveState::Failed(_) | SaveState::Conflict))
            {
                self.set_state(&uid, SaveState::Saved);
            }
            return;
        }
        if self.syncing.with_value(|s| s.contains(&uid)) {
            self.resync.update_value(|s| {
                s.insert(uid);
            });
            return;
        }
        self.syncing.update_value(|s| {
            s.insert(uid.clone());
        });
        loop {
            self.resync.update_value(|s| {
                s.remove(&uid);
            });
            let Some(d) = self.doc(&uid) else { break };
            let base = self.entry(&uid).and_then(|e| e.server_version).unwrap_or(0);
            match server_api::put(&d, base).await {
                PutAnswer::Stored(v) => {
                    self.server.set(Server::Online);
                    self.retry_attempt.set_value(0);
                    self.entries.update(|e| {
                        if let Some(e) = e.get_mut(&uid) {
                            e.server_version = Some(v);
                            e.pending = false;
                            if !matches!(e.state, SaveState::Failed(_) | SaveState::Conflict) {
                                e.state = SaveState::Saved;
                            }
                        }
                    });
                    if self.idb.get_value()
                        && let Err(e) = storage::mark(&uid, Some(false), Some(v)).await
                    {
                        self.storage_failed("the sync mark could not be saved", e);
                    }
                }
                PutAnswer::Conflict(current) => {
                    self.server.set(Server::Online);
                    self.conflicts.update(|c| {
                        c.insert(uid.clone(), Conflict::Server(current));
                    });
                    self.set_state(&uid, SaveState::Conflict);
                    break;
                }
                PutAnswer::Failed(Failure::Away(m)) => {
                    self.server.set(Server::Away(m.clone()));
                    self.set_state(&uid, SaveState::Pending(m));
                    self.schedule_retry();
                    break;
                }
                PutAnswer::Failed(Failure::Refused(m)) => {
                    self.server.set(Server::Refused(m.clone()));
                    self.set_state(&uid, SaveState::SyncFailed(m));
                    break;
                }
            }
            if !self.resync.with_value(|s| s.contains(&uid)) {
                break;
            }
        }
        self.syncing.update_value(|s| {
            s.remove(&uid);
        });
    }

    fn schedule_retry(self) {
        if self.retry_scheduled.get_value() {
            return;
        }
        self.retry_scheduled.set_value(true);
        let attempt = self.retry_attempt.get_value();
        self.retry_attempt.set_value(attempt.saturating_add(1));
        let ms = (1_000u64 << attempt.min(4)).min(RETRY_MAX_MS);
        set_timeout(
            move || {
                self.retry_scheduled.set_value(false);
                leptos::task::spawn_local(self.sync_all());
            },
            std::time::Duration::from_millis(ms),
        );
    }

    /// Asks the server for its list and merges it with the local one: the newer version wins,
    /// unsynced local edits are pushed, conflicts are offered.
    pub async fn sync_all(self) {
        if self.merging.get_value() {
            return;
        }
        self.merging.set_value(true);
        self.merge_with_server().await;
        self.merging.set_value(false);
    }

    async fn merge_with_server(self) {
        let list = match server_api::list().await {
            ListAnswer::NotServed => {
                self.server.set(Server::Local);
                let uids: Vec<String> =
                    self.entries.with_untracked(|e| e.keys().cloned().collect());
                for uid in uids {
                    self.sync(uid).await;
                }
                return;
            }
            ListAnswer::Failed(Failure::Away(m)) => {
                self.server.set(Server::Away(m.clone()));
                let uids: Vec<String> = self.entries.with_untracked(|e| {
                    e.values()
                        .filter(|e| e.pending)
                        .map(|e| e.uid.clone())
                        .collect()
                });
                for uid in uids {
                    self.set_state(&uid, SaveState::Pending(m.clone()));
                }
                self.schedule_retry();
                return;
            }
            ListAnswer::Failed(Failure::Refused(m)) => {
                self.server.set(Server::Refused(m));
                return;
            }
            ListAnswer::Served(list) => list,
        };
        self.server.set(Server::Online);
        self.retry_attempt.set_value(0);
        let on_server: BTreeSet<String> = list.iter().map(|s| s.uid.clone()).collect();
        // Deletions the server was not told about: told now, unless it changed there since.
        let mut dead = tombstones();
        let mut deleted_now = BTreeSet::new();
        for (uid, deleted) in dead.clone() {
            let theirs = list.iter().find(|s| s.uid == uid).map(|s| s.version);
            match tombstone_action(Some(deleted), theirs) {
                TombstoneAction::Forget => {}
                TombstoneAction::DeleteOnServer => match server_api::delete(&uid).await {
                    Ok(()) => {
                        deleted_now.insert(uid.clone());
                    }
                    Err(Failure::Away(m)) => {
                        self.server.set(Server::Away(m));
                        self.schedule_retry();
                        return;
                    }
                    Err(e) => self.notice.set(Some(format!(
                        "“{uid}” was deleted in this browser, not on the server: {e}"
                    ))),
                },
                TombstoneAction::KeepServers => self.notice.set(Some(format!(
                    "“{uid}” was changed on the server after it was deleted here: the server's copy is kept."
                ))),
            }
            dead.remove(&uid);
            set_tombstones(&dead);
        }
        let list: Vec<_> = list
            .into_iter()
            .filter(|s| !deleted_now.contains(&s.uid))
            .collect();
        let on_server: BTreeSet<String> = on_server.difference(&deleted_now).cloned().collect();
        for s in list {
            let local = self.entry(&s.uid);
            let take_theirs = match &local {
                None => true,
                Some(e) if e.pending => false,
                Some(e) => e.server_version.is_none_or(|v| s.version > v),
            };
            if take_theirs {
                match server_api::get(&s.uid).await {
                    Ok(Some(theirs)) => self.take_server_copy(theirs).await,
                    Ok(None) => {}
                    Err(e) => self.notice.set(Some(format!("“{}”: {e}", s.uid))),
                }
            } else if local.is_some_and(|e| e.pending) {
                self.sync(s.uid.clone()).await;
            }
        }
        let local_only: Vec<String> = self.entries.with_untracked(|e| {
            e.keys()
                .filter(|u| !on_server.contains(*u))
                .cloned()
                .collect()
        });
        for uid in local_only {
            self.sync(uid).await;
        }
    }

    /// Stores the server's copy here as a new local version (synced, not pending).
    pub async fn take_server_copy(self, theirs: Dashboard) {
        let uid = theirs.uid.clone();
        let server_version = theirs.version;
        let base = self
            .entry(&uid)
            .map_or(server_version.saturating_sub(1), |e| e.version);
        self.entries.update(|e| {
            if let Some(e) = e.get_mut(&uid) {
                e.server_version = Some(server_version);
            }
        });
        if self.entry(&uid).is_none() {
            self.put_memory(&theirs, false, Some(server_version), SaveState::Saving);
        }
        self.conflicts.update(|c| {
            c.remove(&uid);
        });
        if self.save(theirs, base, false).await.is_ok() {
            self.entries.update(|e| {
                if let Some(e) = e.get_mut(&uid) {
                    e.server_version = Some(server_version);
                    e.pending = false;
                    e.state = SaveState::Saved;
                }
            });
            if self.idb.get_value() {
                let _ = storage::mark(&uid, Some(false), Some(server_version)).await;
            }
            self.bump_replaced(&uid);
        }
    }

    /// The browser's storage works (versions are kept).
    pub fn has_storage(&self) -> bool {
        self.idb.get_value()
    }
}

impl Default for DashStore {
    fn default() -> Self {
        Self::new()
    }
}
