//! Alerting in `lookout serve`: the panels' Grafana 7 legacy alerts evaluated continuously,
//! their state kept across restarts, and notifications sent to the channels the server keeps.
//!
//! - **Rules** are the dashboards' panels carrying an `alert` ([`lookout_alerts::dashboard_rules`]),
//!   found by a scan of the dashboard folder every tick (`--alert-interval`, 1 s); a dashboard is
//!   parsed again only when its version changes. A rule's key is `<dashboard uid>/<panel id>`.
//!   A rule that does not parse is kept as a rule in the Error state (its message the parse
//!   error); a rule whose panel or dashboard is gone is dropped with its state.
//! - **Evaluation** ([`lookout_alerts::evaluate`]) when [`lookout_alerts::due`] says so, each rule
//!   in its own task (a slow data source holds up no other rule), with the dashboard's current
//!   variable values: panels reading the page, the server or the dashboard's source (when that is
//!   one of these) query the server's own store through the embedded engine on a blocking
//!   thread; a remote URL, or `/prometheus` (the `--prometheus` proxy), goes over HTTP.
//! - **State** ([`lookout_alerts::RuleState`] per rule, plus the last delivery per channel) lives
//!   in `DIR/alerts/state.json`, rule key → state, written atomically after evaluations that
//!   changed something a restart needs (not the evaluation time, nor the current values of
//!   series that keep firing), at most once a second, and always before the notifications
//!   they made are sent: a restart (even `kill -9`) neither forgets a firing alert nor sends
//!   it twice. The scan keeps the parsed rules (shared, not copied) while no dashboard file
//!   changes.
//! - **Channels** (Slack, webhook, Alertmanager v2) live only on the server, in
//!   `DIR/alerts/channels.json` (`{"channels": [Grafana 7 channel JSON with secureSettings]}`,
//!   mode 0600, atomic writes). Answers never carry their secrets: `GET /api/channels` gives
//!   Grafana's API shape (`secureFields` names the secrets that are set); error messages and
//!   log lines have every secret (URL, its host and path, passwords) replaced by `***`.
//! - **Deliveries**: each notification × channel on its own task, 10 s per request, retried
//!   with [`RetryPolicy`]'s backoff (5 attempts), one after the other per rule and channel (a
//!   resolve never overtakes the alert it resolves), the outcome kept in the rule's state.
//!
//! Routes (ARCHITECTURE "Rules for routes"; all under `/api/`, so `--auth-token` covers them,
//! and writes are refused cross-site by [`crate::security::guard`]):
//! - `GET /api/alerts` → `{"enabled", "intervalMs", "rules": [rule…]}`, each rule with its
//!   last [`LIST_HISTORY`] transitions;
//! - `GET /api/alerts/<dashboard uid>/<panel id>` → one rule, its whole history;
//! - `GET /api/channels` → `{"channels": [channel without secrets…]}`;
//! - `PUT /api/channels/<uid>` → create or replace (Lookout's or Grafana 7's channel JSON, at
//!   most 64 KiB); a secret left out keeps the stored one (as Grafana's `secureSettings`);
//! - `DELETE /api/channels/<uid>` → 204;
//! - `POST /api/channels/<uid>/test` → sends a test notification now: 200 `{"delivered": true}`
//!   or 502 with the (masked) error;
//! - `POST /api/alerts/notify` → a tab that evaluated a rule itself (a dashboard this server
//!   does not keep) hands over the notifications for the rule's channels; the server sends
//!   them as its own (202). The page never holds a secret and never calls a channel itself.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::Method;
use axum::response::Response;
use lookout_alerts::eval::EvalOptions;
use lookout_alerts::notify::{ChannelKind, OutgoingRequest};
use lookout_alerts::state::{Track, next_due_ms};
use lookout_alerts::{
    AlertRule, AlertState, Channel, Delivery, EvalMatch, EvalResult, ExecutionErrorState,
    Notification, PayloadContext, RetryPolicy, RuleState, SendOutcome, channels_for,
    dashboard_rules, due, evaluate_with, plan_deliveries, requests_for, step_with,
};
use lookout_dashboard::DataSourceRef;
use lookout_dashboard::document::{Dashboard, valid_uid};
use lookout_dashboard::variables::datasource_choice;
use lookout_datasource::{
    Credentials, Embedded, HttpClient, HttpRequest, HttpResponse, Remote, TransportError,
    block_on_ready,
};
use lookout_store::DashboardStore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::query::{SharedStore, now_ms};
use crate::{AppState, json_response, read_limited};

/// The state file in `DIR/alerts/`.
pub const STATE_FILE: &str = "state.json";
/// The channels file in `DIR/alerts/` (holds secrets: mode 0600).
pub const CHANNELS_FILE: &str = "channels.json";
/// Transitions per rule in `GET /api/alerts` (one rule's answer has them all).
pub const LIST_HISTORY: usize = 20;
/// The largest channel a PUT may send.
pub const MAX_CHANNEL_BYTES: usize = 64 * 1024;
/// The largest `POST /api/alerts/notify` body.
pub const MAX_NOTIFY_BYTES: usize = 256 * 1024;
/// The most notifications one `POST /api/alerts/notify` may carry.
pub const MAX_NOTIFY_NOTES: usize = 64;
/// Each notification request's time limit.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time between two writes of the state file.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// A remote data source's time limit for one query.
const QUERY_TIMEOUT_MS: u64 = 15_000;

/// How alerting runs.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// `DIR/alerts`.
    pub dir: PathBuf,
    /// Evaluate rules (`--alerts on`); off: channels are kept, nothing is evaluated or sent.
    pub evaluate: bool,
    /// How often the scheduler looks for due rules.
    pub interval: Duration,
    /// `--prometheus`: what a dashboard reading `/prometheus` queries.
    pub prometheus: Option<String>,
    /// The server's own scrape interval (the smallest step over its store).
    pub scrape_interval_ms: i64,
    pub retry: RetryPolicy,
}

/// The last delivery of a rule's notification to one channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeliveryStatus {
    /// The notification's state (`alerting`, `ok`, …).
    pub state: AlertState,
    /// When the notification was made.
    pub time_ms: i64,
    pub attempts: u32,
    pub last_attempt_ms: Option<i64>,
    pub delivered_ms: Option<i64>,
    /// Still being retried.
    pub retrying: bool,
    /// The last attempt's error, secrets masked.
    pub last_error: Option<String>,
}

/// What `state.json` keeps per rule: the pure crate's state and the deliveries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StoredRule {
    #[serde(flatten)]
    state: RuleState,
    /// By channel uid.
    deliveries: BTreeMap<String, DeliveryStatus>,
}

/// A dashboard as last read, with its rules parsed.
#[derive(Clone)]
struct Cached {
    version: u64,
    dashboard: Arc<Dashboard>,
    rules: Arc<Vec<PanelRule>>,
}

/// A panel's id and its rule (or why the rule does not parse).
type PanelRule = (u64, Result<Arc<AlertRule>, String>);

/// One rule the scan found.
#[derive(Clone)]
struct RuleEntry {
    dashboard: Arc<Dashboard>,
    panel_id: u64,
    panel_title: String,
    /// The rule; for one that does not parse, a stand-in that reports the error.
    rule: Arc<AlertRule>,
    parse_error: Option<String>,
}

/// A notification waiting for the state that made it to be saved.
struct Outgoing {
    key: String,
    channel: Channel,
    note: Notification,
    ctx: PayloadContext,
}

#[derive(Default)]
struct Inner {
    dashboards: BTreeMap<String, Cached>,
    rules: BTreeMap<String, RuleEntry>,
    states: BTreeMap<String, StoredRule>,
    running: HashSet<String>,
    outbox: Vec<Outgoing>,
    dirty: bool,
    scan_error: Option<String>,
}

/// The server's alerting: rules, their states, channels and deliveries.
pub struct Alerts {
    config: AlertsConfig,
    dashboards: Arc<DashboardStore>,
    store: SharedStore,
    engine: lookout_promql::Engine,
    http: reqwest::Client,
    base_url: OnceLock<String>,
    inner: Mutex<Inner>,
    channels: Mutex<Vec<Channel>>,
    /// Serializes writes of the channels file.
    channels_file: Mutex<()>,
    lanes: Mutex<HashMap<(String, String), Lane>>,
    wake: tokio::sync::Notify,
    /// Evaluations over the server's own store running at once: one per core. A thousand
    /// rules due together would otherwise each take a blocking thread (and its memory).
    eval_slots: Arc<tokio::sync::Semaphore>,
}

/// One rule's deliveries to one channel take turns here (in order).
type Lane = Arc<tokio::sync::Mutex<()>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: go on with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why alerting could not start.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> AlertsError {
    AlertsError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl Alerts {
    /// Opens `config.dir` (creating it, owner-only on unix), loads the state and the channels.
    /// A state file that does not parse is moved aside (`state.json.broken-<unix seconds>`)
    /// and alerting starts afresh; a channels file that does not parse stops the start (its
    /// channels would otherwise be lost at the next save).
    pub fn open(
        config: AlertsConfig,
        dashboards: Arc<DashboardStore>,
        store: SharedStore,
        engine: lookout_promql::Engine,
    ) -> Result<Self, AlertsError> {
        create_private_dir(&config.dir).map_err(|e| file_error(&config.dir, e))?;
        let state_path = config.dir.join(STATE_FILE);
        let states = match std::fs::read(&state_path) {
            Ok(bytes) => match serde_json::from_slice::<BTreeMap<String, StoredRule>>(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    let aside = config
                        .dir
                        .join(format!("{STATE_FILE}.broken-{}", now_ms() / 1000));
                    let _ = std::fs::rename(&state_path, &aside);
                    eprintln!(
                        "alerts: {} does not parse ({e}); moved to {}, starting afresh",
                        state_path.display(),
                        aside.display()
                    );
                    BTreeMap::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(file_error(&state_path, e)),
        };
        let channels_path = config.dir.join(CHANNELS_FILE);
        let channels = match std::fs::read(&channels_path) {
            Ok(bytes) => read_channels(&bytes).map_err(|m| {
                file_error(
                    &channels_path,
                    format!("{m} (fix the file or move it away)"),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(file_error(&channels_path, e)),
        };
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| file_error(&config.dir, e.without_url()))?;
        Ok(Self {
            config,
            dashboards,
            store,
            engine,
            http,
            base_url: OnceLock::new(),
            inner: Mutex::new(Inner {
                states,
                ..Inner::default()
            }),
            channels: Mutex::new(channels),
            channels_file: Mutex::new(()),
            lanes: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            eval_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
        })
    }

    /// The server's own URL (links in payloads; how `/prometheus` is recognised).
    pub fn set_base_url(&self, url: &str) {
        let _ = self.base_url.set(url.trim_end_matches('/').to_string());
    }

    /// Whether rules are evaluated.
    pub fn evaluating(&self) -> bool {
        self.config.evaluate
    }

    /// `(rules, dashboards with rules)` as the last scan found them.
    pub fn counts(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        let dashboards: HashSet<&str> = inner
            .rules
            .values()
            .map(|r| r.dashboard.uid.as_str())
            .collect();
        (inner.rules.len(), dashboards.len())
    }

    /// Reads the dashboard folder: dashboards whose version changed are parsed again; rules
    /// of dashboards that are gone are dropped with their state. Blocking (file system).
    pub fn scan(&self) {
        let list = match self.dashboards.list() {
            Ok(l) => l,
            Err(e) => {
                let message = e.to_string();
                let mut inner = lock(&self.inner);
                if inner.scan_error.as_deref() != Some(message.as_str()) {
                    eprintln!("alerts: cannot read the dashboards: {message}");
                    inner.scan_error = Some(message);
                }
                return;
            }
        };
        let old = {
            let mut inner = lock(&self.inner);
            // Nothing changed on disk (the common case, every tick): the rules stand.
            let same = list.len() == inner.dashboards.len()
                && list.iter().all(|e| {
                    e.error.is_none()
                        && inner
                            .dashboards
                            .get(&e.uid)
                            .is_some_and(|c| c.version == e.version)
                });
            if same {
                inner.scan_error = None;
                return;
            }
            inner.dashboards.clone()
        };
        let mut fresh = BTreeMap::new();
        for entry in list {
            let previous = old.get(&entry.uid);
            if entry.error.is_some() {
                // A file that does not parse (a hand edit in progress): keep what it was.
                if let Some(p) = previous {
                    fresh.insert(entry.uid.clone(), p.clone());
                }
                continue;
            }
            if let Some(p) = previous.filter(|p| p.version == entry.version) {
                fresh.insert(entry.uid.clone(), p.clone());
                continue;
            }
            match self.dashboards.get(&entry.uid) {
                Ok(d) => {
                    let rules = Arc::new(
                        dashboard_rules(&d)
                            .into_iter()
                            .map(|(id, r)| (id, r.map(Arc::new).map_err(|e| e.to_string())))
                            .collect(),
                    );
                    fresh.insert(
                        entry.uid.clone(),
                        Cached {
                            version: d.version,
                            dashboard: Arc::new(d),
                            rules,
                        },
                    );
                }
                Err(_) => {
                    if let Some(p) = previous {
                        fresh.insert(entry.uid.clone(), p.clone());
                    }
                }
            }
        }
        let mut rules = BTreeMap::new();
        for (uid, cached) in &fresh {
            for (panel_id, parsed) in cached.rules.iter() {
                let Some(cell) = cached.dashboard.panel(*panel_id) else {
                    continue;
                };
                let (rule, parse_error) = match parsed {
                    Ok(r) => (r.clone(), None),
                    Err(e) => (Arc::new(invalid_rule(cell.alert.as_ref())), Some(e.clone())),
                };
                rules.insert(
                    format!("{uid}/{panel_id}"),
                    RuleEntry {
                        dashboard: cached.dashboard.clone(),
                        panel_id: *panel_id,
                        panel_title: cell.title.clone(),
                        rule,
                        parse_error,
                    },
                );
            }
        }
        let mut inner = lock(&self.inner);
        inner.scan_error = None;
        inner.dashboards = fresh;
        let before = inner.states.len();
        inner.states.retain(|key, _| rules.contains_key(key));
        if inner.states.len() != before {
            inner.dirty = true;
        }
        // A rule that was edited is due at once: its old frequency no longer says when.
        let old_rules = std::mem::take(&mut inner.rules);
        for (key, entry) in &rules {
            let edited = old_rules.get(key).is_some_and(|old| old.rule != entry.rule);
            if let Some(stored) = inner.states.get_mut(key).filter(|_| edited) {
                stored.state.track.last_eval_ms = None;
            }
        }
        inner.rules = rules;
    }

    /// The scheduler: every tick, a scan and the due rules started; the state saved (at most
    /// once a second) and the notifications sent once it is. Ends when `stop` changes, after a
    /// last save.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let interval = self.config.interval.max(Duration::from_millis(10));
        let mut next_tick = tokio::time::Instant::now();
        let mut last_save: Option<tokio::time::Instant> = None;
        loop {
            let now = tokio::time::Instant::now();
            if now >= next_tick {
                self.tick().await;
                next_tick = now + interval;
            }
            let mut wake = next_tick;
            if self.pending_save() {
                match last_save.map(|t| t + SAVE_EVERY) {
                    Some(earliest) if earliest > now => wake = wake.min(earliest),
                    _ => {
                        self.save_and_send().await;
                        last_save = Some(tokio::time::Instant::now());
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => break,
            }
        }
        self.save_and_send().await;
    }

    fn pending_save(&self) -> bool {
        let inner = lock(&self.inner);
        inner.dirty || !inner.outbox.is_empty()
    }

    async fn tick(self: &Arc<Self>) {
        let me = self.clone();
        let _ = tokio::task::spawn_blocking(move || me.scan()).await;
        let now = now_ms();
        let due_now: Vec<(String, RuleEntry)> = {
            let mut inner = lock(&self.inner);
            let mut out = Vec::new();
            for (key, entry) in &inner.rules {
                if inner.running.contains(key) {
                    continue;
                }
                let is_due = match inner.states.get(key) {
                    Some(s) => due(&entry.rule, &s.state, now),
                    None => due(&entry.rule, &RuleState::default(), now),
                };
                if is_due {
                    out.push((key.clone(), entry.clone()));
                }
            }
            for (key, _) in &out {
                inner.running.insert(key.clone());
            }
            out
        };
        for (key, entry) in due_now {
            tokio::spawn(self.clone().evaluate_one(key, entry, now));
        }
    }

    async fn evaluate_one(self: Arc<Self>, key: String, entry: RuleEntry, now: i64) {
        let result = match &entry.parse_error {
            Some(e) => EvalResult::failed(now, e.clone()),
            None => self.run_rule(&entry, now).await,
        };
        let channels = lock(&self.channels).clone();
        let ctx = self.payload_context(&entry.dashboard.uid, entry.panel_id);
        let mut inner = lock(&self.inner);
        inner.running.remove(&key);
        if !inner.rules.contains_key(&key) {
            // The panel went away meanwhile.
            return;
        }
        // Taken out (not copied): `next` goes back in below, under the same lock.
        let prev = inner.states.remove(&key).unwrap_or_default();
        let targets = if entry.parse_error.is_some() {
            Vec::new()
        } else {
            channels_for(&entry.rule, &channels)
        };
        let (state, _transitions, notes) =
            step_with(&entry.rule, &prev.state, &result, now, &targets);
        let mut next = StoredRule {
            state,
            deliveries: prev.deliveries.clone(),
        };
        let mut outgoing = Vec::new();
        for note in notes {
            let Some(uid) = note.channel_uid.clone() else {
                continue;
            };
            let Some(channel) = channels.iter().find(|c| c.uid == uid) else {
                continue;
            };
            next.deliveries.insert(
                uid,
                DeliveryStatus {
                    state: note.state,
                    time_ms: note.time_ms,
                    retrying: true,
                    ..DeliveryStatus::default()
                },
            );
            outgoing.push(Outgoing {
                key: key.clone(),
                channel: channel.clone(),
                note,
                ctx: ctx.clone(),
            });
        }
        if changed(&prev, &next) {
            inner.dirty = true;
        }
        inner.states.insert(key, next);
        let wake = !outgoing.is_empty() || inner.dirty;
        inner.outbox.extend(outgoing);
        drop(inner);
        if wake {
            self.wake.notify_one();
        }
    }

    /// What payloads say about the rule on panel `panel_id` of dashboard `uid`: ids and a link.
    fn payload_context(&self, uid: &str, panel_id: u64) -> PayloadContext {
        let base = self.base_url.get().map_or("", String::as_str);
        PayloadContext {
            rule_id: panel_id as i64,
            panel_id: panel_id as i64,
            rule_url: format!("{base}/?dashboard={uid}&viewPanel={panel_id}"),
            ..PayloadContext::default()
        }
    }

    /// Where a panel's queries go (see the module docs).
    fn source_for(&self, entry: &RuleEntry) -> Source {
        let d = &entry.dashboard;
        let Some(cell) = d.panel(entry.panel_id) else {
            return Source::Unavailable("the panel is gone".into());
        };
        let own = match &cell.datasource {
            DataSourceRef::Dashboard => &d.datasource,
            other => other,
        };
        let resolved = match own {
            DataSourceRef::Variable { name } => match datasource_choice(&d.variables, name) {
                Some("page") | Some("server") | None => DataSourceRef::Server,
                Some(url) => DataSourceRef::Remote {
                    url: url.to_string(),
                },
            },
            other => other.clone(),
        };
        match resolved {
            DataSourceRef::Page | DataSourceRef::Server | DataSourceRef::Dashboard => {
                Source::Embedded
            }
            DataSourceRef::Variable { .. } => Source::Embedded,
            DataSourceRef::Remote { url } => self.remote_for(&url),
        }
    }

    fn remote_for(&self, url: &str) -> Source {
        let url = url.trim().trim_end_matches('/');
        let own = self.base_url.get().map_or("", String::as_str);
        match own_path(own, url).as_deref() {
            Some("/prometheus") => match &self.config.prometheus {
                Some(p) => Source::Remote(p.clone()),
                None => Source::Unavailable(
                    "the panel reads /prometheus but lookout serve runs without --prometheus"
                        .into(),
                ),
            },
            Some("") => Source::Embedded,
            Some(other) => Source::Unavailable(format!(
                "the panel's data source {other:?} is not a Prometheus API this server can query"
            )),
            None if url.starts_with("http://") || url.starts_with("https://") => {
                Source::Remote(url.to_string())
            }
            None => Source::Unavailable(format!(
                "the panel's data source {url:?} is not an http(s) URL"
            )),
        }
    }

    async fn run_rule(&self, entry: &RuleEntry, now: i64) -> EvalResult {
        match self.source_for(entry) {
            Source::Unavailable(message) => EvalResult::failed(now, message),
            Source::Embedded => {
                let source =
                    Embedded::new(self.store.clone(), self.engine.clone(), "lookout serve");
                let options = EvalOptions {
                    scrape_interval_ms: Some(self.config.scrape_interval_ms),
                    ..EvalOptions::default()
                };
                let entry = entry.clone();
                let Ok(_slot) = self.eval_slots.clone().acquire_owned().await else {
                    return EvalResult::failed(now, "the server is stopping");
                };
                tokio::task::spawn_blocking(move || {
                    let Some(cell) = entry.dashboard.panel(entry.panel_id) else {
                        return EvalResult::failed(now, "the panel is gone");
                    };
                    block_on_ready(evaluate_with(
                        &entry.rule,
                        cell,
                        &entry.dashboard.variables,
                        &source,
                        now,
                        &options,
                    ))
                })
                .await
                .unwrap_or_else(|e| EvalResult::failed(now, format!("evaluation failed: {e}")))
            }
            Source::Remote(url) => {
                let mut source =
                    Remote::new(&url, Credentials::None, ReqwestHttp(self.http.clone()));
                source.timeout_ms = QUERY_TIMEOUT_MS;
                let Some(cell) = entry.dashboard.panel(entry.panel_id) else {
                    return EvalResult::failed(now, "the panel is gone");
                };
                evaluate_with(
                    &entry.rule,
                    cell,
                    &entry.dashboard.variables,
                    &source,
                    now,
                    &EvalOptions::default(),
                )
                .await
            }
        }
    }

    /// Writes the state (when it changed), then sends what waited for it.
    async fn save_and_send(self: &Arc<Self>) {
        let (bytes, outbox) = {
            let mut inner = lock(&self.inner);
            let bytes = if inner.dirty {
                inner.dirty = false;
                Some(serde_json::to_vec_pretty(&inner.states))
            } else {
                None
            };
            (bytes, std::mem::take(&mut inner.outbox))
        };
        if let Some(bytes) = bytes {
            let path = self.config.dir.join(STATE_FILE);
            let written = match bytes {
                Ok(bytes) => tokio::task::spawn_blocking(move || {
                    lookout_store::write_atomic(&path, &bytes).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string())),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = written {
                eprintln!("alerts: cannot save the alert state: {e}");
                lock(&self.inner).dirty = true;
            }
        }
        for o in outbox {
            tokio::spawn(self.clone().deliver(o));
        }
    }

    fn lane(&self, key: &str, channel: &str) -> Lane {
        let mut lanes = lock(&self.lanes);
        lanes.retain(|_, l| Arc::strong_count(l) > 1);
        lanes
            .entry((key.to_string(), channel.to_string()))
            .or_default()
            .clone()
    }

    /// Delivers one notification to one channel, retrying; records each attempt.
    async fn deliver(self: Arc<Self>, o: Outgoing) {
        let lane = self.lane(&o.key, &o.channel.uid);
        let _turn = lane.lock().await;
        let mut delivery = Delivery::new(o.note.clone());
        loop {
            let outcome = send(&self.http, &o.channel, &o.note, &o.ctx).await;
            let now = now_ms();
            let (outcome, permanent) = match outcome {
                Ok(outcome) => (outcome, false),
                Err(message) => (
                    SendOutcome::Failed {
                        status: None,
                        message,
                    },
                    true,
                ),
            };
            let mut plan = plan_deliveries(&self.config.retry, vec![(delivery, outcome)], now);
            if permanent {
                plan.abandoned.append(&mut plan.retry);
            }
            let (d, retry) = if let Some(d) = plan.retry.pop() {
                (d, true)
            } else if let Some(d) = plan.delivered.pop() {
                (d, false)
            } else if let Some(d) = plan.abandoned.pop() {
                (d, false)
            } else {
                return;
            };
            self.record(&o, &d, retry, now);
            let wait = (d.not_before_ms - now).max(0) as u64;
            if let Some(e) = &d.last_error {
                let next = if retry {
                    format!("trying again in {:.0} s", wait as f64 / 1000.0)
                } else {
                    "giving up".to_string()
                };
                eprintln!(
                    "alerts: {}: the {} notification to channel {:?} failed (attempt {}, {next}): {e}",
                    o.key,
                    o.note.state.as_str(),
                    o.channel.uid,
                    d.attempts
                );
            }
            if !retry {
                return;
            }
            tokio::time::sleep(Duration::from_millis(wait)).await;
            delivery = d;
        }
    }

    fn record(&self, o: &Outgoing, d: &Delivery, retrying: bool, now: i64) {
        let mut inner = lock(&self.inner);
        let Some(stored) = inner.states.get_mut(&o.key) else {
            return;
        };
        let status = stored.deliveries.entry(o.channel.uid.clone()).or_default();
        if status.time_ms > o.note.time_ms {
            // A later notification's status is there already.
            return;
        }
        *status = DeliveryStatus {
            state: o.note.state,
            time_ms: o.note.time_ms,
            attempts: d.attempts,
            last_attempt_ms: Some(now),
            delivered_ms: d.last_error.is_none().then_some(now),
            retrying,
            last_error: d.last_error.clone(),
        };
        inner.dirty = true;
    }

    fn rule_json(&self, key: &str, history: Option<usize>) -> Option<Value> {
        let channels = lock(&self.channels).clone();
        let inner = lock(&self.inner);
        let entry = inner.rules.get(key)?;
        let stored = inner.states.get(key).cloned().unwrap_or_default();
        Some(rule_view(key, entry, &stored, &channels, history))
    }

    fn rules_json(&self) -> Value {
        let channels = lock(&self.channels).clone();
        let inner = lock(&self.inner);
        let rules: Vec<Value> = inner
            .rules
            .iter()
            .map(|(key, entry)| {
                let stored = inner.states.get(key).cloned().unwrap_or_default();
                rule_view(key, entry, &stored, &channels, Some(LIST_HISTORY))
            })
            .collect();
        json!({
            "enabled": self.config.evaluate,
            "intervalMs": self.config.interval.as_millis() as u64,
            "rules": rules,
        })
    }

    /// Writes the channels file (blocking); `channels` is the new list.
    fn save_channels(&self, channels: &[Channel]) -> Result<(), String> {
        let _file = lock(&self.channels_file);
        let stored: Vec<Value> = channels.iter().map(Channel::to_stored_json).collect();
        let bytes =
            serde_json::to_vec_pretty(&json!({ "channels": stored })).map_err(|e| e.to_string())?;
        let path = self.config.dir.join(CHANNELS_FILE);
        lookout_store::write_atomic_private(&path, &bytes)
            .map_err(|e| format!("cannot save the channels: {e}"))
    }
}

/// The path of `url` when it names this server (its port, on a loopback name or the
/// address it listens on): `""` for its own API, `/prometheus` for the proxy.
fn own_path(base: &str, url: &str) -> Option<String> {
    let own = reqwest::Url::parse(base).ok()?;
    let u = reqwest::Url::parse(url).ok()?;
    if u.port_or_known_default() != own.port_or_known_default() {
        return None;
    }
    let host = u.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let local = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || Some(host) == own.host_str();
    local.then(|| u.path().trim_end_matches('/').to_string())
}

enum Source {
    Embedded,
    Remote(String),
    Unavailable(String),
}

/// A stand-in for a rule that does not parse: evaluated like any (its result the parse
/// error), it goes to Error and stays there, telling no channel.
fn invalid_rule(alert: Option<&Value>) -> AlertRule {
    AlertRule {
        name: alert
            .and_then(|a| a.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        execution_error_state: ExecutionErrorState::Error,
        ..AlertRule::default()
    }
}

/// Whether the state changed in a way worth saving for a restart: states, since when,
/// pending and notification times, errors, history, deliveries, which series fire — not the
/// evaluation time, nor the firing series' current values (both change at every evaluation;
/// rewriting the state file for them cost 1,000 rules a 5 MB write every second).
fn changed(prev: &StoredRule, next: &StoredRule) -> bool {
    fn same_track(a: &Track, b: &Track) -> bool {
        // Every field named: a field added to `Track` has to be decided here.
        let Track {
            state,
            since_ms,
            last_eval_ms: _,
            pending_since,
            last_notified_ms,
            notified_ms,
            firing_matches,
            last_error,
        } = a;
        *state == b.state
            && *since_ms == b.since_ms
            && *pending_since == b.pending_since
            && *last_notified_ms == b.last_notified_ms
            && *notified_ms == b.notified_ms
            && *last_error == b.last_error
            && firing_matches.len() == b.firing_matches.len()
            && firing_matches
                .iter()
                .zip(&b.firing_matches)
                .all(|(x, y)| x.metric == y.metric && x.tags == y.tags)
    }
    let (a, b) = (&prev.state, &next.state);
    a.track.last_eval_ms.is_none()
        || prev.deliveries != next.deliveries
        || a.history != b.history
        || !same_track(&a.track, &b.track)
        || a.instances.len() != b.instances.len()
        || a.instances
            .iter()
            .zip(&b.instances)
            .any(|((ka, x), (kb, y))| {
                ka != kb
                    || x.labels != y.labels
                    || x.metric != y.metric
                    || !same_track(&x.track, &y.track)
            })
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn read_channels(bytes: &[u8]) -> Result<Vec<Channel>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let list = v
        .get("channels")
        .and_then(Value::as_array)
        .ok_or("no \"channels\" list")?;
    list.iter()
        .map(|c| Channel::from_stored_json(c).map_err(|e| e.to_string()))
        .collect()
}

fn rule_view(
    key: &str,
    entry: &RuleEntry,
    stored: &StoredRule,
    channels: &[Channel],
    history: Option<usize>,
) -> Value {
    let s = &stored.state;
    let next_due = if entry.rule.frequency_ms() > 0 {
        s.track.last_eval_ms.map(|_| next_due_ms(&entry.rule, s))
    } else {
        None
    };
    let skip = history.map_or(0, |n| s.history.len().saturating_sub(n));
    let instances: Vec<Value> = s
        .instances
        .iter()
        .map(|(k, i)| {
            json!({
                "key": k,
                "labels": i.labels,
                "metric": i.metric,
                "state": i.track.state,
                "sinceMs": i.track.since_ms,
                "pendingSince": i.track.pending_since,
                "lastEvalMs": i.track.last_eval_ms,
                "firingMatches": i.track.firing_matches,
                "lastError": i.track.last_error,
            })
        })
        .collect();
    let targets: Vec<&str> = if entry.parse_error.is_some() {
        Vec::new()
    } else {
        channels_for(&entry.rule, channels)
            .into_iter()
            .map(|c| c.uid.as_str())
            .collect()
    };
    json!({
        "key": key,
        "dashboardUid": entry.dashboard.uid,
        "dashboardTitle": entry.dashboard.title,
        "panelId": entry.panel_id,
        "panelTitle": entry.panel_title,
        "ruleName": entry.rule.name,
        "valid": entry.parse_error.is_none(),
        "frequencyMs": entry.rule.frequency_ms(),
        "forMs": entry.rule.for_ms(),
        "perSeries": entry.rule.per_series,
        "state": s.track.state,
        "sinceMs": s.track.since_ms,
        "pendingSince": s.track.pending_since,
        "lastEvalMs": s.track.last_eval_ms,
        "nextDueMs": next_due,
        "lastNotifiedMs": s.track.last_notified_ms,
        "lastError": entry.parse_error.clone().or_else(|| s.track.last_error.clone()),
        "firingMatches": s.track.firing_matches,
        "instances": instances,
        "channels": targets,
        "deliveries": stored.deliveries,
        "historyTotal": s.history.len(),
        "history": s.history[skip..],
    })
}

// ---------------------------------------------------------------------------------------------
// Sending

/// Every secret of a channel, as text to hide: each secret, and for URLs also their host and
/// path (a host alone can tell who is being called).
fn secrets_of(channel: &Channel) -> Vec<String> {
    let secrets: Vec<&str> = match &channel.kind {
        ChannelKind::Slack(s) => vec![s.url.expose(), s.token.expose()],
        ChannelKind::Webhook(w) => vec![w.url.expose(), w.password.expose()],
        ChannelKind::Alertmanager(a) => {
            let mut v: Vec<&str> = a.url.expose().split(',').map(str::trim).collect();
            v.push(a.url.expose());
            v.push(a.basic_auth_password.expose());
            v
        }
    };
    let mut out = Vec::new();
    for s in secrets.into_iter().filter(|s| !s.is_empty()) {
        out.push(s.to_string());
        if let Ok(url) = reqwest::Url::parse(s) {
            if let Some(host) = url.host_str() {
                if let Some(port) = url.port() {
                    out.push(format!("{host}:{port}"));
                }
                out.push(host.to_string());
            }
            let path = url.path().trim_end_matches('/');
            if path.len() > 1 {
                out.push(path.to_string());
            }
            if let Some(q) = url.query() {
                out.push(q.to_string());
            }
        }
    }
    // Longest first, so a URL is hidden whole before its parts.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `text` with every secret replaced by `***`.
fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 2) {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// A reqwest error as text without its URL, with its causes (`connection refused`).
fn error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() {
        format!("no answer within {} s", SEND_TIMEOUT.as_secs())
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// One attempt: every request of the delivery (Alertmanager: one per URL). `Err`: the
/// channel cannot be used as it is (no retry). Messages have the channel's secrets masked.
async fn send(
    http: &reqwest::Client,
    channel: &Channel,
    note: &Notification,
    ctx: &PayloadContext,
) -> Result<SendOutcome, String> {
    let secrets = secrets_of(channel);
    let requests = requests_for(channel, note, ctx).map_err(|e| mask(&e.to_string(), &secrets))?;
    if requests.is_empty() {
        return Err(format!("channel {:?} has no URL", channel.name));
    }
    for r in requests {
        let outcome = send_one(http, &r).await?;
        if let SendOutcome::Failed { status, message } = outcome {
            return Ok(SendOutcome::Failed {
                status,
                message: mask(&message, &secrets),
            });
        }
    }
    Ok(SendOutcome::Delivered)
}

async fn send_one(http: &reqwest::Client, r: &OutgoingRequest) -> Result<SendOutcome, String> {
    let method = reqwest::Method::from_bytes(r.method.as_bytes())
        .map_err(|_| format!("invalid HTTP method {:?}", r.method))?;
    let url = checked_url(r.url.expose())?;
    let mut req = http
        .request(method, url)
        .timeout(SEND_TIMEOUT)
        .body(r.body.clone());
    for (k, v) in &r.headers {
        req = req.header(k.as_str(), v.expose());
    }
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => {
            return Ok(SendOutcome::Failed {
                status: None,
                message: error_text(e),
            });
        }
    };
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(SendOutcome::Delivered);
    }
    // The first line of the answer (at most 200 characters) says why.
    let mut resp = resp;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 4096 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    let line: String = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    Ok(SendOutcome::from_status(status, line))
}

/// A URL the server may send to: http or https with a host. The error names no part of it.
fn checked_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| "the URL is not valid".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("the URL must be http:// or https:// with a host".into());
    }
    Ok(parsed)
}

/// The message Grafana 7's "Test" sends.
fn test_notification(channel: &Channel, now: i64) -> Notification {
    Notification {
        channel_uid: Some(channel.uid.clone()),
        rule_name: "Test notification".into(),
        message: "Someone is testing the alert notification within Lookout.".into(),
        state: AlertState::Alerting,
        prev_state: AlertState::Ok,
        reminder: false,
        time_ms: now,
        active_since_ms: Some(now),
        matches: vec![
            EvalMatch {
                value: Some(100.0),
                metric: "High value".into(),
                tags: BTreeMap::new(),
            },
            EvalMatch {
                value: Some(200.0),
                metric: "Higher Value".into(),
                tags: BTreeMap::new(),
            },
        ],
        firing_matches: Vec::new(),
        error: None,
        instance: None,
        labels: BTreeMap::new(),
        tags: BTreeMap::new(),
        eval_interval_ms: 60_000,
    }
}

/// reqwest as the remote data source's transport.
pub struct ReqwestHttp(pub reqwest::Client);

impl HttpClient for ReqwestHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| TransportError::Failed("invalid method".into()))?;
        let mut req = self
            .0
            .request(method, &request.url)
            .timeout(Duration::from_millis(request.timeout_ms));
        for (k, v) in &request.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(body) = request.body {
            req = req.body(body);
        }
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                TransportError::Timeout
            } else {
                TransportError::Failed(error_text(e))
            }
        };
        let mut resp = req.send().await.map_err(map)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map)? {
            if body.len() + chunk.len() > request.max_body_bytes {
                return Err(TransportError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status, body })
    }
}

// ---------------------------------------------------------------------------------------------
// Routes

fn error(status: u16, message: &str) -> Response {
    json_response(
        status,
        json!({ "error": message, "status": status }).to_string(),
    )
}

fn no_alerts() -> Response {
    error(
        404,
        "this server keeps no alerts (start it with --data-dir)",
    )
}

fn only_get(method: &Method) -> Option<Response> {
    (!matches!(*method, Method::GET | Method::HEAD)).then(|| error(405, "use GET"))
}

/// `GET /api/alerts`.
pub(crate) async fn rules(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(r) = only_get(req.method()) {
        return r;
    }
    let Some(alerts) = state.alerts.clone() else {
        return no_alerts();
    };
    if !alerts.evaluating() {
        // No scheduler scans the folder: look now, so the list is current.
        let a = alerts.clone();
        let _ = tokio::task::spawn_blocking(move || a.scan()).await;
    }
    json_response(200, alerts.rules_json().to_string())
}

/// `GET /api/alerts/<dashboard uid>/<panel id>`.
pub(crate) async fn rule(
    State(state): State<Arc<AppState>>,
    UrlPath(rest): UrlPath<String>,
    req: Request,
) -> Response {
    let Some(alerts) = state.alerts.clone() else {
        return no_alerts();
    };
    if rest == "notify" {
        return notify(alerts, req).await;
    }
    let Some((uid, panel)) = rest.split_once('/') else {
        return error(
            404,
            "use /api/alerts/<dashboard uid>/<panel id> or POST /api/alerts/notify",
        );
    };
    if !valid_uid(uid) {
        return error(
            400,
            "invalid dashboard uid: use 1 to 40 letters, digits, '-' or '_'",
        );
    }
    let Ok(panel) = panel.parse::<u64>() else {
        return error(400, "the panel id is not a number");
    };
    if let Some(r) = only_get(req.method()) {
        return r;
    }
    match alerts.rule_json(&format!("{uid}/{panel}"), None) {
        Some(v) => json_response(200, v.to_string()),
        None => error(
            404,
            &format!("no alert on panel {panel} of dashboard {uid:?}"),
        ),
    }
}

/// What a tab that evaluated a rule itself asks the server to send (`POST /api/alerts/notify`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifyRequest {
    dashboard_uid: String,
    panel_id: u64,
    /// The panel's `alert`, as the tab evaluated it.
    alert: Value,
    /// The notifications `step_with` made for the rule's channels (each names its channel).
    notifications: Vec<Notification>,
}

/// `POST /api/alerts/notify`: a tab that evaluated a rule itself (a dashboard this server does
/// not keep, e.g. opened from a shared link) hands over the notifications the shared
/// [`step_with`] made for the rule's channels, and the server delivers them like its own
/// (secrets stay here, retries, one lane per rule and channel). Each notification must name
/// one of the channels the rule notifies on this server ([`channels_for`]); its time is the
/// server's. 202 `{"queued": n, "channels": [uid…]}`.
async fn notify(alerts: Arc<Alerts>, req: Request) -> Response {
    if req.method() != Method::POST {
        return error(405, "use POST");
    }
    if !alerts.config.evaluate {
        return error(
            409,
            "alerting is off on this server (lookout serve --alerts off): nothing is sent",
        );
    }
    let body = match read_limited(req, MAX_NOTIFY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                413,
                &format!("a notify request is at most {MAX_NOTIFY_BYTES} bytes"),
            );
        }
    };
    let request: NotifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(400, &format!("not a notify request: {e}")),
    };
    if !valid_uid(&request.dashboard_uid) {
        return error(
            400,
            "invalid dashboard uid: use 1 to 40 letters, digits, '-' or '_'",
        );
    }
    if request.notifications.is_empty() || request.notifications.len() > MAX_NOTIFY_NOTES {
        return error(
            400,
            &format!("send 1 to {MAX_NOTIFY_NOTES} notifications at a time"),
        );
    }
    let rule = match AlertRule::from_value(&request.alert) {
        Ok(r) => r,
        Err(e) => return error(400, &format!("the alert rule is not valid: {e}")),
    };
    let channels = lock(&alerts.channels).clone();
    let targets = channels_for(&rule, &channels);
    let now = now_ms();
    let key = format!("tab:{}/{}", request.dashboard_uid, request.panel_id);
    let ctx = alerts.payload_context(&request.dashboard_uid, request.panel_id);
    let mut outgoing = Vec::new();
    for mut note in request.notifications {
        let Some(uid) = note.channel_uid.clone() else {
            return error(400, "each notification names its channel (channelUid)");
        };
        let Some(channel) = targets.iter().find(|c| c.uid == uid) else {
            return error(
                400,
                &format!("channel {uid:?} is not one of this rule's channels on this server"),
            );
        };
        // The rule's own words and the server's clock, whatever the tab wrote.
        note.rule_name = rule.name.clone();
        note.message = rule.message.clone();
        note.tags = rule.tags.clone();
        note.eval_interval_ms = rule.frequency_ms();
        note.active_since_ms = note.active_since_ms.map(|t| t.min(now));
        note.time_ms = now;
        outgoing.push(Outgoing {
            key: key.clone(),
            channel: (*channel).clone(),
            note,
            ctx: ctx.clone(),
        });
    }
    let uids: Vec<String> = outgoing.iter().map(|o| o.channel.uid.clone()).collect();
    let queued = outgoing.len();
    lock(&alerts.inner).outbox.extend(outgoing);
    alerts.wake.notify_one();
    json_response(
        202,
        json!({ "queued": queued, "channels": uids }).to_string(),
    )
}

/// `GET /api/channels`.
pub(crate) async fn channels(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(r) = only_get(req.method()) {
        return r;
    }
    let Some(alerts) = state.alerts.clone() else {
        return no_alerts();
    };
    let list = lock(&alerts.channels).clone();
    json_response(200, json!({ "channels": list }).to_string())
}

/// `PUT|DELETE /api/channels/<uid>`, `POST /api/channels/<uid>/test`.
pub(crate) async fn channel(
    State(state): State<Arc<AppState>>,
    UrlPath(rest): UrlPath<String>,
    req: Request,
) -> Response {
    let Some(alerts) = state.alerts.clone() else {
        return no_alerts();
    };
    let (uid, action) = match rest.split_once('/') {
        None => (rest.as_str(), None),
        Some((uid, action)) => (uid, Some(action)),
    };
    if !valid_uid(uid) {
        return error(
            400,
            "invalid channel uid: use 1 to 40 letters, digits, '-' or '_'",
        );
    }
    let test = match action {
        None => false,
        Some("test") => true,
        Some(_) => return error(404, "use /api/channels/<uid> or /api/channels/<uid>/test"),
    };
    let uid = uid.to_string();
    let method = req.method().clone();
    match (method, test) {
        (Method::POST, true) => test_channel(&alerts, &uid).await,
        (_, true) => error(405, "use POST"),
        (Method::GET | Method::HEAD, false) => {
            match lock(&alerts.channels).iter().find(|c| c.uid == uid) {
                Some(c) => json_response(200, json!(c).to_string()),
                None => error(404, &format!("no channel {uid:?}")),
            }
        }
        (Method::PUT, false) => put_channel(alerts, uid, req).await,
        (Method::DELETE, false) => {
            let me = alerts.clone();
            let removed = tokio::task::spawn_blocking(move || {
                let mut channels = lock(&me.channels);
                let Some(at) = channels.iter().position(|c| c.uid == uid) else {
                    return Err((404, format!("no channel {uid:?}")));
                };
                let mut next = channels.clone();
                next.remove(at);
                me.save_channels(&next).map_err(|e| (500, e))?;
                *channels = next;
                Ok(())
            })
            .await;
            match removed {
                Ok(Ok(())) => json_response(204, String::new()),
                Ok(Err((status, message))) => error(status, &message),
                Err(e) => error(500, &e.to_string()),
            }
        }
        _ => error(405, "use GET, PUT or DELETE"),
    }
}

async fn put_channel(alerts: Arc<Alerts>, uid: String, req: Request) -> Response {
    let body = match read_limited(req, MAX_CHANNEL_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                413,
                &format!("a channel is at most {MAX_CHANNEL_BYTES} bytes"),
            );
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(400, &format!("invalid JSON: {e}")),
    };
    let mut channel = match Channel::from_grafana_json(&value) {
        Ok(c) => c,
        Err(e) => return error(400, &e.to_string()),
    };
    let body_uid = value.get("uid").and_then(Value::as_str).unwrap_or("");
    if !body_uid.is_empty() && body_uid != uid {
        return error(
            400,
            &format!("the channel's uid {body_uid:?} is not the one in the path ({uid:?})"),
        );
    }
    channel.uid = uid.clone();
    if channel.name.trim().is_empty() {
        channel.name = uid.clone();
    }
    let me = alerts.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let mut channels = lock(&me.channels);
        if let Some(old) = channels.iter().find(|c| c.uid == uid) {
            keep_secrets(&mut channel, old);
        }
        if let Some(field) = channel.missing_secrets().first() {
            return Err((
                400,
                format!("channel {:?}: {field} is not set", channel.name),
            ));
        }
        for url in urls_of(&channel) {
            checked_url(url).map_err(|e| (400, format!("channel {:?}: {e}", channel.name)))?;
        }
        let mut next = channels.clone();
        match next.iter_mut().find(|c| c.uid == uid) {
            Some(slot) => *slot = channel.clone(),
            None => next.push(channel.clone()),
        }
        me.save_channels(&next).map_err(|e| (500, e))?;
        *channels = next;
        Ok(channel)
    })
    .await;
    match saved {
        Ok(Ok(c)) => json_response(200, json!(c).to_string()),
        Ok(Err((status, message))) => error(status, &message),
        Err(e) => error(500, &e.to_string()),
    }
}

/// A PUT without a secret keeps the stored one (as Grafana's `secureSettings`), when the
/// channel stays of the same kind.
fn keep_secrets(new: &mut Channel, old: &Channel) {
    let keep = |n: &mut lookout_alerts::Secret, o: &lookout_alerts::Secret| {
        if n.is_empty() {
            *n = o.clone();
        }
    };
    match (&mut new.kind, &old.kind) {
        (ChannelKind::Slack(n), ChannelKind::Slack(o)) => {
            keep(&mut n.url, &o.url);
            keep(&mut n.token, &o.token);
        }
        (ChannelKind::Webhook(n), ChannelKind::Webhook(o)) => {
            keep(&mut n.url, &o.url);
            keep(&mut n.password, &o.password);
        }
        (ChannelKind::Alertmanager(n), ChannelKind::Alertmanager(o)) => {
            keep(&mut n.url, &o.url);
            keep(&mut n.basic_auth_password, &o.basic_auth_password);
        }
        _ => {}
    }
}

fn urls_of(channel: &Channel) -> Vec<&str> {
    match &channel.kind {
        ChannelKind::Slack(s) => vec![s.url.expose()],
        ChannelKind::Webhook(w) => vec![w.url.expose()],
        ChannelKind::Alertmanager(a) => a
            .url
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect(),
    }
}

async fn test_channel(alerts: &Alerts, uid: &str) -> Response {
    let Some(channel) = lock(&alerts.channels)
        .iter()
        .find(|c| c.uid == uid)
        .cloned()
    else {
        return error(404, &format!("no channel {uid:?}"));
    };
    let now = now_ms();
    let note = test_notification(&channel, now);
    let ctx = PayloadContext {
        rule_url: alerts.base_url.get().cloned().unwrap_or_default(),
        ..PayloadContext::default()
    };
    match send(&alerts.http, &channel, &note, &ctx).await {
        Ok(SendOutcome::Delivered) => {
            json_response(200, json!({"channel": uid, "delivered": true}).to_string())
        }
        Ok(SendOutcome::Failed { status, message }) => {
            let message = match status {
                Some(s) => format!("HTTP {s}: {message}"),
                None => message,
            };
            json_response(
                502,
                json!({
                    "channel": uid, "delivered": false, "httpStatus": status,
                    "error": format!("the test notification was not delivered: {message}"),
                    "status": 502,
                })
                .to_string(),
            )
        }
        Err(message) => error(400, &message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_alerts::Secret;
    use lookout_alerts::notify::WebhookSettings;

    #[test]
    fn secrets_are_masked_with_their_parts() {
        let c = Channel::new(
            "h",
            "Hook",
            ChannelKind::Webhook(WebhookSettings {
                url: Secret::new("http://hooks.example:8080/T000/SECRET?k=v"),
                password: Secret::new("pw-123"),
                ..WebhookSettings::default()
            }),
        );
        let s = secrets_of(&c);
        let text = "POST http://hooks.example:8080/T000/SECRET?k=v failed; host hooks.example \
                    path /T000/SECRET with pw-123";
        let masked = mask(text, &s);
        for part in ["hooks.example", "T000", "SECRET", "pw-123", "k=v"] {
            assert!(!masked.contains(part), "{masked}");
        }
        assert!(masked.contains("failed"));
    }

    #[test]
    fn the_servers_own_urls_are_recognised() {
        let own = "http://127.0.0.1:8080";
        for (url, path) in [
            ("http://127.0.0.1:8080/prometheus", Some("/prometheus")),
            ("http://localhost:8080/prometheus/", Some("/prometheus")),
            ("http://[::1]:8080", Some("")),
            ("http://127.0.0.2:8080/", Some("")),
            ("http://localhost:9090/prometheus", None),
            ("http://prometheus.example:8080/prometheus", None),
            ("https://localhost/prometheus", None),
        ] {
            assert_eq!(own_path(own, url).as_deref(), path, "{url}");
        }
        assert_eq!(own_path("", "http://localhost:8080"), None);
    }

    #[test]
    fn urls_are_checked_without_naming_them() {
        assert!(checked_url("http://127.0.0.1:9/x").is_ok());
        for bad in [
            "ftp://host/SECRET",
            "not a url SECRET",
            "http://:80/SECRET",
            "file:///SECRET",
        ] {
            let e = checked_url(bad).unwrap_err();
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn stored_rules_round_trip_and_only_real_changes_count() {
        let mut a = StoredRule::default();
        a.state.track.state = AlertState::Alerting;
        a.state.track.last_eval_ms = Some(1);
        a.deliveries.insert(
            "hook".into(),
            DeliveryStatus {
                attempts: 2,
                last_error: Some("HTTP 500: x".into()),
                ..DeliveryStatus::default()
            },
        );
        let text = serde_json::to_string(&a).unwrap();
        let back: StoredRule = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
        // The file is a RuleState with deliveries beside: the pure crate reads it as one.
        let plain: RuleState = serde_json::from_str(&text).unwrap();
        assert_eq!(plain, a.state);
        let m = |metric: &str, value: f64| EvalMatch {
            value: Some(value),
            metric: metric.into(),
            tags: [("job".to_string(), metric.to_string())].into(),
        };
        a.state.track.firing_matches = vec![m("a", 1.0), m("b", 2.0)];
        let mut inst = lookout_alerts::state::InstanceState::default();
        inst.track.state = AlertState::Alerting;
        inst.track.last_eval_ms = Some(1);
        inst.track.firing_matches = vec![m("a", 1.0)];
        a.state.instances.insert("{job=\"a\"}".into(), inst);
        let mut b = a.clone();
        // An evaluation that only moved time on and the values of the same firing series.
        b.state.track.last_eval_ms = Some(2);
        b.state.track.firing_matches = vec![m("a", 1.5), m("b", 0.5)];
        for i in b.state.instances.values_mut() {
            i.track.last_eval_ms = Some(2);
            i.track.firing_matches[0].value = Some(9.0);
        }
        assert!(!changed(&a, &b));
        // What a restart needs does count: another firing series, a state, an instance, a
        // delivery, a transition.
        let mut c = b.clone();
        c.state.track.firing_matches.pop();
        assert!(changed(&a, &c));
        let mut c = b.clone();
        c.state.track.state = AlertState::Ok;
        assert!(changed(&a, &c));
        let mut c = b.clone();
        for i in c.state.instances.values_mut() {
            i.track.state = AlertState::Ok;
        }
        assert!(changed(&a, &c));
        let mut c = b.clone();
        c.state.instances.clear();
        assert!(changed(&a, &c));
        let mut c = b.clone();
        c.deliveries.clear();
        assert!(changed(&a, &c));
        let mut c = b.clone();
        c.state.track.last_notified_ms = Some(5);
        assert!(changed(&a, &c));
        // Never evaluated before: saved.
        let mut fresh = a.clone();
        fresh.state.track.last_eval_ms = None;
        assert!(changed(&fresh, &b));
    }
}
