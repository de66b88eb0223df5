//! Where the panels' alert states come from (`lookout-alerts` rules stored in the panels).
//!
//! - Served by `lookout serve` (the dashboards' store found its API): `GET /api/alerts` every
//!   5 s while the dashboards or the alert list are shown (every second while a rule is
//!   pending or not evaluated yet, or was just changed here); a saved dashboard's states are the
//!   server's ("evaluated by the server"), as are its notifications.
//! - Otherwise (local-only, or a dashboard opened from a shared link and not saved), the open
//!   dashboard's rules are evaluated in this tab while it is open: the same pure
//!   `lookout_alerts::evaluate` through the panel's `PageSource`, then `step_with` without
//!   the rule's channels, on a 1 s timer honouring `due`; the `RuleState`s stay in this tab's
//!   memory. When the page is served by `lookout serve`, the notifications `step_with` makes
//!   for the rule's channels (read from `GET /api/channels`, which answers without secrets:
//!   their policies — reminders, resolve messages, Alertmanager re-sends — are all the tab
//!   needs) are handed to the server (`POST /api/alerts/notify`), which sends them. The page
//!   never calls a channel itself and never holds a secret; with no server, nothing is sent.

use std::collections::BTreeMap;

use leptos::prelude::*;
use lookout_alerts::{
    AlertRule, AlertState, Channel, EvalOptions, EvalResult, RuleState, Transition, channels_for,
    due, evaluate_with, rule_of, step_with,
};
use lookout_dashboard::{Cell, Dashboard};
use lookout_datasource::remote::TransportError;
use lookout_datasource::{HttpClient, HttpRequest};
use serde::Deserialize;

use crate::dash_store::{DashStore, Server};
use crate::page_feed::FeedCtx;
use crate::platform::{FetchHttp, now_ms, origin};
use crate::sources::{PageSource, effective};

/// How often the server's states are read.
pub const POLL_MS: u64 = 5_000;
/// How often the tab looks for due rules (local evaluation).
const TICK_MS: u64 = 1_000;

/// One rule in `GET /api/alerts`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServerRule {
    pub dashboard_uid: String,
    pub dashboard_title: String,
    pub panel_id: u64,
    pub panel_title: String,
    pub rule_name: String,
    pub valid: bool,
    pub state: AlertState,
    pub since_ms: Option<i64>,
    pub last_eval_ms: Option<i64>,
    pub next_due_ms: Option<i64>,
    pub last_error: Option<String>,
    pub history: Vec<Transition>,
}

impl Default for ServerRule {
    fn default() -> Self {
        Self {
            dashboard_uid: String::new(),
            dashboard_title: String::new(),
            panel_id: 0,
            panel_title: String::new(),
            rule_name: String::new(),
            valid: true,
            state: AlertState::Unknown,
            since_ms: None,
            last_eval_ms: None,
            next_due_ms: None,
            last_error: None,
            history: Vec::new(),
        }
    }
}

/// A channel as `GET /api/channels` lists it (its secrets are never sent; nothing else kept).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ChannelInfo {
    pub uid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A rule evaluated in this tab.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRule {
    pub dashboard_title: String,
    pub panel_title: String,
    pub name: String,
    pub state: RuleState,
    pub next_due_ms: Option<i64>,
    /// Why the rule cannot be used (it is then in the Error state).
    pub invalid: Option<String>,
    /// Why the server did not take this tab's last notifications.
    pub notify_error: Option<String>,
}

/// Who evaluated a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluator {
    Server,
    Tab,
}

/// One rule as the views show it, from either place.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub dashboard_uid: String,
    pub dashboard_title: String,
    pub panel_id: u64,
    pub panel_title: String,
    pub name: String,
    pub state: AlertState,
    pub since_ms: Option<i64>,
    pub last_eval_ms: Option<i64>,
    pub next_due_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Oldest first.
    pub history: Vec<Transition>,
    pub by: Evaluator,
}

/// The alert states (context, from the root).
#[derive(Clone, Copy)]
pub struct AlertsCtx {
    /// The server's last list (`None`: not read yet, or no server).
    pub server: RwSignal<Option<Vec<ServerRule>>>,
    /// The server evaluates rules (`enabled` in its answer).
    pub server_enabled: RwSignal<bool>,
    pub server_error: RwSignal<Option<String>>,
    /// Rules evaluated in this tab, by (dashboard uid, panel id).
    pub local: RwSignal<BTreeMap<(String, u64), LocalRule>>,
    /// The server's channels (`None`: not read, or no server).
    pub channels: RwSignal<Option<Vec<ChannelInfo>>>,
    /// The same channels as the evaluator reads them (policies; no secrets).
    policies: StoredValue<Vec<Channel>>,
    channels_loading: StoredValue<bool>,
    polling: StoredValue<bool>,
    last_poll: StoredValue<i64>,
    /// Until when to read every second (a rule just changed).
    hurry_until: StoredValue<i64>,
}

pub fn use_alerts() -> AlertsCtx {
    expect_context::<AlertsCtx>()
}

async fn get_json(path: &str) -> Result<serde_json::Value, String> {
    let resp = FetchHttp
        .send(HttpRequest {
            method: "GET",
            url: format!("{}{path}", origin()),
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
            timeout_ms: 10_000,
            max_body_bytes: 16 << 20,
        })
        .await
        .map_err(|e| match e {
            TransportError::Timeout => "no answer in 10 s".to_string(),
            TransportError::TooLarge => "the answer is too large".to_string(),
            TransportError::Failed(m) => m,
        })?;
    if resp.status != 200 {
        return Err(format!("{path}: HTTP {}", resp.status));
    }
    serde_json::from_slice(&resp.body).map_err(|e| format!("{path}: {e}"))
}

impl AlertsCtx {
    /// The context, polling the server while `active()` says the alerts are shown.
    pub fn start(store: DashStore, active: impl Fn() -> bool + Copy + 'static) -> Self {
        let ctx = Self {
            server: RwSignal::new(None),
            server_enabled: RwSignal::new(false),
            server_error: RwSignal::new(None),
            local: RwSignal::new(BTreeMap::new()),
            channels: RwSignal::new(None),
            policies: StoredValue::new(Vec::new()),
            channels_loading: StoredValue::new(false),
            polling: StoredValue::new(false),
            last_poll: StoredValue::new(0),
            hurry_until: StoredValue::new(0),
        };
        // Every POLL_MS; every second while a rule is pending or not evaluated yet, or just
        // changed, so short states are seen.
        let poll = move || {
            if !active() || !store.server.get_untracked().served() {
                return;
            }
            let now = now_ms();
            let busy = ctx.server_enabled.get_untracked()
                && ctx.server.with_untracked(|s| {
                    s.iter().flatten().any(|r| {
                        r.valid && matches!(r.state, AlertState::Pending | AlertState::Unknown)
                    })
                });
            if busy
                || now < ctx.hurry_until.get_value()
                || now - ctx.last_poll.get_value() >= POLL_MS as i64
            {
                ctx.poll();
            }
        };
        // At once when the view opens or the server is found, then every POLL_MS.
        Effect::new(move |_| {
            let served = store.server.with(Server::served);
            if active() && served {
                ctx.poll();
                ctx.load_channels();
            }
        });
        set_interval(poll, std::time::Duration::from_millis(TICK_MS));
        ctx
    }

    /// Reads the server every second for a while (a rule was just stored).
    pub fn hurry(self) {
        self.hurry_until.set_value(now_ms() + 15_000);
    }

    /// Reads `GET /api/alerts` now (one read at a time).
    pub fn poll(self) {
        if self.polling.get_value() {
            return;
        }
        self.polling.set_value(true);
        self.last_poll.set_value(now_ms());
        leptos::task::spawn_local(async move {
            #[derive(Deserialize)]
            #[serde(default)]
            struct Answer {
                enabled: bool,
                rules: Vec<ServerRule>,
            }
            impl Default for Answer {
                fn default() -> Self {
                    Self {
                        enabled: true,
                        rules: Vec::new(),
                    }
                }
            }
            match get_json("/api/alerts").await {
                Ok(v) => match serde_json::from_value::<Answer>(v) {
                    Ok(a) => {
                        self.server_enabled.set(a.enabled);
                        if self.server.with_untracked(|s| s.as_ref() != Some(&a.rules)) {
                            self.server.set(Some(a.rules));
                        }
                        self.server_error.set(None);
                    }
                    Err(e) => self.server_error.set(Some(format!("/api/alerts: {e}"))),
                },
                Err(e) => self.server_error.set(Some(e)),
            }
            self.polling.set_value(false);
        });
    }

    /// Reads the server's channels (uid, name, type, and their policies); none when they
    /// cannot be read.
    pub fn load_channels(self) {
        if self.channels_loading.get_value() {
            return;
        }
        self.channels_loading.set_value(true);
        leptos::task::spawn_local(async move {
            let answer = get_json("/api/channels").await;
            self.channels_loading.set_value(false);
            if answer.is_err() {
                self.policies.set_value(Vec::new());
                self.channels.set(Some(Vec::new()));
            }
            if let Ok(v) = answer {
                let raw = v.get("channels").cloned().unwrap_or_default();
                let list: Vec<ChannelInfo> =
                    serde_json::from_value(raw.clone()).unwrap_or_default();
                let policies: Vec<Channel> = raw
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| Channel::from_grafana_json(c).ok())
                    .collect();
                self.policies.set_value(policies);
                self.channels.set(Some(list));
            }
        });
    }

    /// The panel's rule state as shown: the server's for a saved dashboard on a server,
    /// else this tab's.
    pub fn row(&self, uid: &str, panel: u64, by: Evaluator) -> Option<RuleRow> {
        match by {
            Evaluator::Server => self.server.with(|s| {
                s.as_ref()?
                    .iter()
                    .find(|r| r.dashboard_uid == uid && r.panel_id == panel)
                    .map(server_row)
            }),
            Evaluator::Tab => self.local.with(|l| {
                l.get(&(uid.to_string(), panel))
                    .map(|r| local_row(uid, panel, r))
            }),
        }
    }

    /// Every rule: the server's when served, then those evaluated in this tab.
    pub fn rows(&self, served: bool) -> Vec<RuleRow> {
        let mut rows: Vec<RuleRow> = if served {
            self.server
                .with(|s| s.iter().flatten().map(server_row).collect())
        } else {
            Vec::new()
        };
        self.local.with(|l| {
            rows.extend(l.iter().map(|((uid, panel), r)| local_row(uid, *panel, r)));
        });
        rows
    }
}

fn server_row(r: &ServerRule) -> RuleRow {
    RuleRow {
        dashboard_uid: r.dashboard_uid.clone(),
        dashboard_title: r.dashboard_title.clone(),
        panel_id: r.panel_id,
        panel_title: r.panel_title.clone(),
        name: r.rule_name.clone(),
        state: r.state,
        since_ms: r.since_ms,
        last_eval_ms: r.last_eval_ms,
        next_due_ms: r.next_due_ms,
        last_error: r.last_error.clone(),
        history: r.history.clone(),
        by: Evaluator::Server,
    }
}

fn local_row(uid: &str, panel: u64, r: &LocalRule) -> RuleRow {
    RuleRow {
        dashboard_uid: uid.to_string(),
        dashboard_title: r.dashboard_title.clone(),
        panel_id: panel,
        panel_title: r.panel_title.clone(),
        name: r.name.clone(),
        state: if r.invalid.is_some() {
            AlertState::Error
        } else {
            r.state.track.state
        },
        since_ms: r.state.track.since_ms,
        last_eval_ms: r.state.track.last_eval_ms,
        next_due_ms: r.next_due_ms,
        last_error: r
            .invalid
            .clone()
            .or_else(|| r.state.track.last_error.clone())
            .or_else(|| r.notify_error.clone()),
        history: r.state.history.clone(),
        by: Evaluator::Tab,
    }
}

/// Evaluates `rule` on `cell` of `doc` once, now, through the source the panel reads.
pub async fn evaluate_once(
    feed: FeedCtx,
    rule: &AlertRule,
    cell: &Cell,
    doc: &Dashboard,
    now: i64,
) -> EvalResult {
    let mut c = cell.clone();
    c.datasource = effective(&cell.datasource, doc);
    let store = feed.0.with_value(|f| f.store.clone());
    feed.0.with_value(|f| f.scrape(now));
    let src = PageSource::new(&c.datasource, &store);
    let options = EvalOptions {
        scrape_interval_ms: Some(src.scrape_interval_ms()),
        ..EvalOptions::default()
    };
    evaluate_with(rule, &c, &doc.variables, &src, now, &options).await
}

/// Evaluates the open dashboard's rules in this tab while `local()` says so (the view's
/// life): each rule when `due`, one evaluation per rule at a time.
pub fn evaluate_in_tab(
    alerts: AlertsCtx,
    feed: FeedCtx,
    store: DashStore,
    uid: String,
    doc: RwSignal<Dashboard>,
    local: impl Fn() -> bool + 'static,
) {
    let busy = StoredValue::new(std::collections::BTreeSet::<u64>::new());
    let tick = move || {
        if !local() {
            return;
        }
        let Some(d) = doc.try_get_untracked() else {
            return;
        };
        // Not before the page knows whether a server sends its notifications, and which
        // channels the server has (a first evaluation without them would never notify).
        let Some(server) = store.server.try_get_untracked() else {
            return;
        };
        if server == Server::Checking {
            return;
        }
        if server.served() && alerts.channels.with_untracked(Option::is_none) {
            alerts.load_channels();
            return;
        }
        let now = now_ms();
        let mut seen = Vec::new();
        for cell in &d.panels {
            let Some(parsed) = rule_of(cell) else {
                continue;
            };
            seen.push(cell.id);
            let key = (uid.clone(), cell.id);
            let prev = alerts
                .local
                .with_untracked(|l| l.get(&key).cloned())
                .unwrap_or_else(|| LocalRule {
                    dashboard_title: d.title.clone(),
                    panel_title: cell.title.clone(),
                    name: String::new(),
                    state: RuleState::default(),
                    next_due_ms: None,
                    invalid: None,
                    notify_error: None,
                });
            let rule = match parsed {
                Ok(r) => r,
                Err(e) => {
                    let mut r = prev;
                    r.invalid = Some(e.to_string());
                    r.name = cell
                        .alert
                        .as_ref()
                        .and_then(|a| a.get("name"))
                        .and_then(|n| n.as_str())
                        .unwrap_or_default()
                        .to_string();
                    alerts.local.update(|l| {
                        l.insert(key, r);
                    });
                    continue;
                }
            };
            if busy.with_value(|b| b.contains(&cell.id)) || !due(&rule, &prev.state, now) {
                continue;
            }
            busy.update_value(|b| {
                b.insert(cell.id);
            });
            let cell = cell.clone();
            let d = d.clone();
            let uid = uid.clone();
            let served = server.served();
            leptos::task::spawn_local(async move {
                let result = evaluate_once(feed, &rule, &cell, &d, now).await;
                // The rule's channels on the server (none without one: nothing to send with).
                let channels = if served {
                    alerts.policies.get_value()
                } else {
                    Vec::new()
                };
                let targets = channels_for(&rule, &channels);
                let (next, _, notes) = step_with(&rule, &prev.state, &result, now, &targets);
                let notes: Vec<_> = notes
                    .into_iter()
                    .filter(|n| n.channel_uid.is_some())
                    .collect();
                let mut notify_error = prev.notify_error.clone();
                if !notes.is_empty() {
                    let alert = cell.alert.clone().unwrap_or_default();
                    notify_error = crate::server_api::notify(&uid, cell.id, &alert, &notes)
                        .await
                        .err()
                        .map(|e| format!("the server did not send the notifications: {e}"));
                }
                let next_due = Some(lookout_alerts::state::next_due_ms(&rule, &next));
                let _ = alerts.local.try_update(|l| {
                    l.insert(
                        key,
                        LocalRule {
                            dashboard_title: d.title.clone(),
                            panel_title: cell.title.clone(),
                            name: rule.name.clone(),
                            state: next,
                            next_due_ms: next_due,
                            invalid: None,
                            notify_error,
                        },
                    );
                });
                busy.try_update_value(|b| {
                    b.remove(&cell.id);
                });
            });
        }
        // Rules removed from the dashboard are forgotten.
        let stale = alerts
            .local
            .with_untracked(|l| l.keys().any(|(u, id)| *u == uid && !seen.contains(id)));
        if stale {
            alerts
                .local
                .update(|l| l.retain(|(u, id), _| *u != uid || seen.contains(id)));
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_millis(TICK_MS)) {
        on_cleanup(move || handle.clear());
    }
}

/// A time as the page shows it (local time of day; the date when not today).
pub fn time_text(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let today = js_sys::Date::new_0();
    let time: String = d.to_locale_time_string("en-GB").into();
    if d.to_date_string() == today.to_date_string() {
        time
    } else {
        format!(
            "{} {time}",
            String::from(d.to_locale_date_string("en-CA", &wasm_bindgen::JsValue::UNDEFINED))
        )
    }
}

/// How long ago, short (`12s`, `5m`, `3h`).
pub fn ago_text(ms: i64) -> String {
    let s = ((now_ms() - ms) / 1000).max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m", s / 60)
    } else if s < 172_800 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// The values of a transition: `metric=1.5, other=2`.
pub fn values_text(t: &Transition) -> String {
    let mut parts: Vec<String> = t
        .values
        .iter()
        .map(|m| match m.value {
            Some(v) => format!("{}={v}", m.metric),
            None => format!("{}=no value", m.metric),
        })
        .collect();
    if let Some(e) = &t.error {
        parts.push(format!("error: {e}"));
    }
    if t.no_data && parts.is_empty() {
        parts.push("no data".into());
    }
    parts.join(", ")
}
