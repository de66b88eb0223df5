//! The rule's state over time: Grafana 7's state machine, driven by evaluations.
//!
//! - The new state (`eval_context.go` `GetNewState`, `getNewStateInternal`): an execution
//!   error → `executionErrorState` (`keep_state` keeps the previous state; `alerting`; and
//!   Lookout's `error`); firing → Alerting; no data → `noDataState` (`keep_state` keeps the
//!   previous state); otherwise OK. Then `for`: a new Alerting state — whatever led to it,
//!   error and no data included — is Pending until the rule has been Pending for `for`, and
//!   Alerting from then on while it stays Alerting; `for` = 0 alerts at once. Grafana
//!   compares wall-clock times taken after the queries ran (`time.Since(LastStateChange) >
//!   For`); Lookout's clock is the scheduled evaluation time, so it alerts when `for` has
//!   elapsed (`>=`), i.e. at the evaluation `for` after the one that went Pending.
//! - `since_ms` is Grafana's `LastStateChange`, set when the state changes
//!   (`result_handler.go`). A rule starts Unknown, as a new Grafana alert does.
//! - [`due`]: a rule runs every `frequency`, counted from its last evaluation.
//! - Notifications ([`crate::notify::should_notify`], `notifiers/base.go`): per channel, from
//!   the previous and the new state and when that channel was last told. Nothing while
//!   Pending; one on entering Alerting (or No Data, or Error); one on Alerting → OK unless the
//!   channel disables resolve messages; reminders while the state stays, when the channel
//!   asks. The time each channel was told is part of the state, so a restart that restores
//!   the state (see [`RuleState`]) sends nothing twice: an Alerting rule that was notified
//!   stays Alerting without a new message, and reminders keep their rhythm.
//! - Per-series rules: every firing series is an instance with its own state, `for`,
//!   notifications and resolve; an instance whose series stops firing or disappears goes to
//!   OK (resolving if it was Alerting) and is dropped. Errors, no data, and a rule firing with
//!   no series firing (`no_value`) are the rule-level instance `{}`, which follows
//!   `executionErrorState`/`noDataState` as a rule does. On an error, series instances keep
//!   their state. The rule's own state is computed as for a plain rule (for display); the
//!   notifications come from the instances.
//! - History: every change of state, the rule's and each instance's, with the values that
//!   made it, the last [`HISTORY_LIMIT`] kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::eval::{EvalMatch, EvalResult};
use crate::notify::{Channel, should_notify};
use crate::rule::{AlertRule, ExecutionErrorState, NoDataState};

/// Transitions kept per rule.
pub const HISTORY_LIMIT: usize = 100;
/// The key of a per-series rule's rule-level instance (no data, errors).
pub const RULE_INSTANCE: &str = "{}";

/// Grafana's alert states (`models/alert.go`), less `paused`, plus Lookout's Error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Never evaluated.
    #[default]
    Unknown,
    Ok,
    Pending,
    Alerting,
    NoData,
    Error,
}

impl AlertState {
    /// Grafana's id (`ok`, `pending`, `alerting`, `no_data`, `unknown`; Lookout's `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Unknown => "unknown",
            AlertState::Ok => "ok",
            AlertState::Pending => "pending",
            AlertState::Alerting => "alerting",
            AlertState::NoData => "no_data",
            AlertState::Error => "error",
        }
    }

    /// The text of Grafana's `GetStateModel` (`[Alerting] name`).
    pub fn text(self) -> &'static str {
        match self {
            AlertState::Unknown => "Unknown",
            AlertState::Ok => "OK",
            AlertState::Pending => "Pending",
            AlertState::Alerting => "Alerting",
            AlertState::NoData => "No Data",
            AlertState::Error => "Error",
        }
    }

    /// The colour of Grafana's `GetStateModel`.
    pub fn color(self) -> &'static str {
        match self {
            AlertState::Ok => "#36a64f",
            AlertState::Alerting | AlertState::Error => "#D63232",
            AlertState::Pending => "#FFA500",
            AlertState::NoData | AlertState::Unknown => "#888888",
        }
    }

    fn active(self) -> bool {
        matches!(self, AlertState::Pending | AlertState::Alerting)
    }
}

/// One state, rule's or instance's, and what it remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Track {
    pub state: AlertState,
    /// When the state last changed (Grafana's `LastStateChange`).
    pub since_ms: Option<i64>,
    pub last_eval_ms: Option<i64>,
    /// When the current Pending/Alerting episode began (Prometheus' `activeAt`; the
    /// Alertmanager alert's `startsAt`); `None` when not active.
    pub pending_since: Option<i64>,
    /// When any channel was last told.
    pub last_notified_ms: Option<i64>,
    /// When each channel (by uid; `""` for the rule's own event) was last told.
    pub notified_ms: BTreeMap<String, i64>,
    /// The matches of the last firing evaluation (resolve messages name what was firing).
    pub firing_matches: Vec<EvalMatch>,
    /// The last evaluation's error.
    pub last_error: Option<String>,
}

/// A per-series rule's instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InstanceState {
    pub labels: BTreeMap<String, String>,
    pub metric: String,
    #[serde(flatten)]
    pub track: Track,
}

/// A change of state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub time_ms: i64,
    pub from: AlertState,
    pub to: AlertState,
    /// The instance's key for a per-series rule's instance; `None` for the rule.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance: Option<String>,
    /// The matches (metric, value) of the evaluation that made it.
    pub values: Vec<EvalMatch>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub no_data: bool,
}

/// A rule's whole state: serialize it to keep it across restarts (restoring it sends no
/// notification twice; see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleState {
    #[serde(flatten)]
    pub track: Track,
    /// Per-series rules: the active instances by key.
    pub instances: BTreeMap<String, InstanceState>,
    /// The last [`HISTORY_LIMIT`] transitions, oldest first.
    pub history: Vec<Transition>,
}

impl RuleState {
    pub fn state(&self) -> AlertState {
        self.track.state
    }

    fn record(&mut self, t: Transition) {
        self.history.push(t);
        if self.history.len() > HISTORY_LIMIT {
            let excess = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..excess);
        }
    }
}

/// A message for one channel (or, with no channels given, the rule's own event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The channel's uid; `None` for the rule's own event.
    pub channel_uid: Option<String>,
    pub rule_name: String,
    pub message: String,
    pub state: AlertState,
    pub prev_state: AlertState,
    /// Sent again while the state stays (a reminder, or an Alertmanager resend).
    pub reminder: bool,
    pub time_ms: i64,
    /// When the episode began (Alertmanager's `startsAt`).
    pub active_since_ms: Option<i64>,
    /// This evaluation's matches (empty on a resolve, as in Grafana).
    pub matches: Vec<EvalMatch>,
    /// What was firing (for a resolve: what is resolved).
    pub firing_matches: Vec<EvalMatch>,
    pub error: Option<String>,
    /// The instance's key for a per-series rule.
    pub instance: Option<String>,
    /// The instance's labels for a per-series rule.
    pub labels: BTreeMap<String, String>,
    /// The rule's tags.
    pub tags: BTreeMap<String, String>,
    /// The rule's evaluation interval (Alertmanager's `endsAt` margin).
    pub eval_interval_ms: i64,
}

/// Whether the rule should be evaluated at `now_ms`: never evaluated, or `frequency` since
/// the last evaluation.
pub fn due(rule: &AlertRule, state: &RuleState, now_ms: i64) -> bool {
    now_ms >= next_due_ms(rule, state)
}

/// When the rule is next due.
pub fn next_due_ms(rule: &AlertRule, state: &RuleState) -> i64 {
    state
        .track
        .last_eval_ms
        .map_or(i64::MIN, |t| t.saturating_add(rule.frequency_ms()))
}

/// `getNewStateInternal` and `GetNewState` (see the module docs).
pub fn new_state(
    rule: &AlertRule,
    prev: &Track,
    firing: bool,
    no_data: bool,
    error: bool,
    now_ms: i64,
) -> AlertState {
    let internal = if error {
        match rule.execution_error_state {
            ExecutionErrorState::KeepState => prev.state,
            ExecutionErrorState::Alerting => AlertState::Alerting,
            ExecutionErrorState::Error => AlertState::Error,
        }
    } else if firing {
        AlertState::Alerting
    } else if no_data {
        match rule.no_data_state {
            NoDataState::KeepState => prev.state,
            NoDataState::NoData => AlertState::NoData,
            NoDataState::Ok => AlertState::Ok,
            NoDataState::Alerting => AlertState::Alerting,
        }
    } else {
        AlertState::Ok
    };
    if internal != AlertState::Alerting || rule.for_ms() == 0 {
        return internal;
    }
    let since = now_ms - prev.since_ms.unwrap_or(now_ms);
    match prev.state {
        AlertState::Pending if since >= rule.for_ms() => AlertState::Alerting,
        AlertState::Alerting => AlertState::Alerting,
        _ => AlertState::Pending,
    }
}

struct Outcome<'a> {
    firing: bool,
    no_data: bool,
    error: Option<&'a str>,
    matches: &'a [EvalMatch],
}

/// Steps one track; returns the previous state.
fn advance(
    rule: &AlertRule,
    track: &mut Track,
    o: &Outcome<'_>,
    now_ms: i64,
) -> (AlertState, AlertState) {
    let prev = track.state;
    let next = new_state(rule, track, o.firing, o.no_data, o.error.is_some(), now_ms);
    if next != prev {
        track.since_ms = Some(now_ms);
    }
    if next.active() && !prev.active() {
        track.pending_since = Some(now_ms);
    } else if !next.active() {
        track.pending_since = None;
    }
    track.state = next;
    track.last_eval_ms = Some(now_ms);
    track.last_error = o.error.map(str::to_string);
    (prev, next)
}

#[allow(clippy::too_many_arguments)]
fn notify(
    rule: &AlertRule,
    track: &mut Track,
    prev: AlertState,
    o: &Outcome<'_>,
    channels: &[&Channel],
    instance: Option<(&str, &BTreeMap<String, String>)>,
    now_ms: i64,
    out: &mut Vec<Notification>,
) {
    let next = track.state;
    let targets: Vec<Option<&Channel>> = if channels.is_empty() {
        vec![None]
    } else {
        channels.iter().map(|c| Some(*c)).collect()
    };
    for channel in targets {
        let key = channel.map_or(String::new(), |c| c.uid.clone());
        let last = track.notified_ms.get(&key).copied();
        if !should_notify(channel, prev, next, last, now_ms) {
            continue;
        }
        out.push(Notification {
            channel_uid: channel.map(|c| c.uid.clone()),
            rule_name: rule.name.clone(),
            message: rule.message.clone(),
            state: next,
            prev_state: prev,
            reminder: prev == next,
            time_ms: now_ms,
            active_since_ms: track.pending_since,
            matches: o.matches.to_vec(),
            firing_matches: track.firing_matches.clone(),
            error: o.error.map(str::to_string),
            instance: instance.map(|(k, _)| k.to_string()),
            labels: instance.map(|(_, l)| l.clone()).unwrap_or_default(),
            tags: rule.tags.clone(),
            eval_interval_ms: rule.frequency_ms(),
        });
        track.notified_ms.insert(key, now_ms);
        track.last_notified_ms = Some(now_ms);
    }
}

/// [`step_with`] without channels: notifications are the rule's own events (no reminders,
/// resolves sent), one per event, `channel_uid` `None`.
pub fn step(
    rule: &AlertRule,
    prev: &RuleState,
    result: &EvalResult,
    now_ms: i64,
) -> (RuleState, Vec<Transition>, Vec<Notification>) {
    step_with(rule, prev, result, now_ms, &[])
}

/// One evaluation's effect: the next state, the transitions it made, and the notifications
/// for `channels` (the rule's, see [`crate::notify::channels_for`]).
pub fn step_with(
    rule: &AlertRule,
    prev: &RuleState,
    result: &EvalResult,
    now_ms: i64,
    channels: &[&Channel],
) -> (RuleState, Vec<Transition>, Vec<Notification>) {
    let mut next = prev.clone();
    let mut transitions = Vec::new();
    let mut notifications = Vec::new();
    let whole = Outcome {
        firing: result.firing,
        no_data: result.no_data,
        error: result.error.as_deref(),
        matches: &result.matches,
    };
    let (from, to) = advance(rule, &mut next.track, &whole, now_ms);
    if to != from {
        transitions.push(Transition {
            time_ms: now_ms,
            from,
            to,
            instance: None,
            values: result.matches.clone(),
            error: result.error.clone(),
            no_data: result.no_data,
        });
    }
    if !rule.per_series {
        if result.firing {
            next.track.firing_matches = result.matches.clone();
        }
        notify(
            rule,
            &mut next.track,
            from,
            &whole,
            channels,
            None,
            now_ms,
            &mut notifications,
        );
        if to == AlertState::Ok {
            next.track.firing_matches.clear();
        }
    } else {
        step_instances(
            rule,
            &mut next,
            result,
            now_ms,
            channels,
            &mut transitions,
            &mut notifications,
        );
    }
    for t in &transitions {
        next.record(t.clone());
    }
    (next, transitions, notifications)
}

fn step_instances(
    rule: &AlertRule,
    next: &mut RuleState,
    result: &EvalResult,
    now_ms: i64,
    channels: &[&Channel],
    transitions: &mut Vec<Transition>,
    notifications: &mut Vec<Notification>,
) {
    let mut step_one = |next: &mut RuleState,
                        key: &str,
                        labels: &BTreeMap<String, String>,
                        metric: &str,
                        o: &Outcome<'_>| {
        let inst = next
            .instances
            .entry(key.to_string())
            .or_insert_with(|| InstanceState {
                labels: labels.clone(),
                metric: metric.to_string(),
                track: Track::default(),
            });
        let (from, to) = advance(rule, &mut inst.track, o, now_ms);
        if o.firing {
            inst.track.firing_matches = o.matches.to_vec();
        }
        if from != to {
            transitions.push(Transition {
                time_ms: now_ms,
                from,
                to,
                instance: Some(key.to_string()),
                values: o.matches.to_vec(),
                error: o.error.map(str::to_string),
                no_data: o.no_data,
            });
        }
        let labels = inst.labels.clone();
        notify(
            rule,
            &mut inst.track,
            from,
            o,
            channels,
            Some((key, &labels)),
            now_ms,
            notifications,
        );
        if matches!(to, AlertState::Ok | AlertState::Unknown) {
            next.instances.remove(key);
        }
    };

    if let Some(error) = result.error.as_deref() {
        for inst in next.instances.values_mut() {
            inst.track.last_eval_ms = Some(now_ms);
        }
        step_one(
            next,
            RULE_INSTANCE,
            &BTreeMap::new(),
            &rule.name,
            &Outcome {
                firing: false,
                no_data: false,
                error: Some(error),
                matches: &[],
            },
        );
        return;
    }
    let mut seen = Vec::new();
    for inst in &result.instances {
        seen.push(inst.key.clone());
        if inst.firing || next.instances.contains_key(&inst.key) {
            step_one(
                next,
                &inst.key,
                &inst.labels,
                &inst.metric,
                &Outcome {
                    firing: inst.firing,
                    no_data: false,
                    error: None,
                    matches: &inst.matches,
                },
            );
        }
    }
    let gone: Vec<(String, BTreeMap<String, String>, String)> = next
        .instances
        .iter()
        .filter(|(k, _)| k.as_str() != RULE_INSTANCE && !seen.contains(k))
        .map(|(k, i)| (k.clone(), i.labels.clone(), i.metric.clone()))
        .collect();
    for (key, labels, metric) in gone {
        step_one(
            next,
            &key,
            &labels,
            &metric,
            &Outcome {
                firing: false,
                no_data: false,
                error: None,
                matches: &[],
            },
        );
    }
    let series_firing = result.instances.iter().any(|i| i.firing);
    let rule_firing = result.firing && !series_firing;
    if rule_firing || result.no_data || next.instances.contains_key(RULE_INSTANCE) {
        let matches: Vec<EvalMatch> = if rule_firing {
            result.matches.clone()
        } else {
            Vec::new()
        };
        step_one(
            next,
            RULE_INSTANCE,
            &BTreeMap::new(),
            &rule.name,
            &Outcome {
                firing: rule_firing,
                no_data: result.no_data,
                error: None,
                matches: &matches,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Instance;
    use crate::notify::{AlertmanagerSettings, ChannelKind, Secret, WebhookSettings};
    use AlertState::*;
    use serde_json::json;

    const T0: i64 = 1_700_000_000_000;
    const MIN: i64 = 60_000;

    fn rule(for_: &str, no_data: &str, exec_error: &str) -> AlertRule {
        AlertRule::from_value(&json!({
            "name": "P90", "message": "too slow", "frequency": "1m", "for": for_,
            "noDataState": no_data, "executionErrorState": exec_error,
            "alertRuleTags": {"team": "ml"},
            "conditions": [{"type": "query", "query": {"params": ["A", "5m", "now"]},
                            "reducer": {"type": "max"}, "evaluator": {"type": "gt", "params": [1]}}]
        }))
        .unwrap()
    }

    fn m(v: f64) -> EvalMatch {
        EvalMatch {
            value: Some(v),
            metric: "model".into(),
            tags: [("job".to_string(), "model".to_string())].into(),
        }
    }

    fn res(firing: bool, no_data: bool, error: Option<&str>) -> EvalResult {
        let mut r = EvalResult::failed(0, "");
        r.error = error.map(str::to_string);
        r.firing = firing;
        r.no_data = no_data;
        if firing {
            r.matches = vec![m(2.0)];
        }
        r
    }

    fn firing() -> EvalResult {
        res(true, false, None)
    }
    fn quiet() -> EvalResult {
        res(false, false, None)
    }

    /// Runs results one a minute from `T0`; returns (state, every notification with its minute).
    fn run(
        rule: &AlertRule,
        start: RuleState,
        results: &[EvalResult],
        channels: &[&Channel],
    ) -> (RuleState, Vec<AlertState>, Vec<(i64, Notification)>) {
        let mut s = start;
        let mut states = Vec::new();
        let mut notes = Vec::new();
        for (i, r) in results.iter().enumerate() {
            let now = T0 + i as i64 * MIN;
            let (next, _t, n) = step_with(rule, &s, r, now, channels);
            s = next;
            states.push(s.state());
            notes.extend(n.into_iter().map(|n| (i as i64, n)));
        }
        (s, states, notes)
    }

    fn webhook(uid: &str) -> Channel {
        Channel::new(
            uid,
            uid,
            ChannelKind::Webhook(WebhookSettings {
                url: Secret::new("http://hook"),
                ..WebhookSettings::default()
            }),
        )
    }

    #[test]
    fn ok_pending_alerting_ok_with_for() {
        let r = rule("5m", "no_data", "alerting");
        let mut results = vec![quiet()];
        results.extend((0..8).map(|_| firing()));
        results.extend([quiet(), quiet()]);
        let (s, states, notes) = run(&r, RuleState::default(), &results, &[]);
        assert_eq!(
            states,
            [
                Ok, Pending, Pending, Pending, Pending, Pending, Alerting, Alerting, Alerting, Ok,
                Ok
            ]
        );
        // One on entering Alerting (minute 6 = 5 minutes after Pending), one on resolve.
        let got: Vec<(i64, AlertState, AlertState)> = notes
            .iter()
            .map(|(i, n)| (*i, n.prev_state, n.state))
            .collect();
        assert_eq!(got, [(6, Pending, Alerting), (9, Alerting, Ok)]);
        let alerting = &notes[0].1;
        assert_eq!(alerting.matches, vec![m(2.0)]);
        assert_eq!(alerting.active_since_ms, Some(T0 + MIN));
        assert_eq!(alerting.tags.get("team").map(String::as_str), Some("ml"));
        assert!(!alerting.reminder && alerting.channel_uid.is_none());
        let resolve = &notes[1].1;
        assert!(resolve.matches.is_empty());
        assert_eq!(resolve.firing_matches, vec![m(2.0)]);
        // History: Unknown→OK, OK→Pending, Pending→Alerting, Alerting→OK.
        let h: Vec<(AlertState, AlertState)> = s.history.iter().map(|t| (t.from, t.to)).collect();
        assert_eq!(
            h,
            [
                (Unknown, Ok),
                (Ok, Pending),
                (Pending, Alerting),
                (Alerting, Ok)
            ]
        );
        assert_eq!(s.history[2].time_ms, T0 + 6 * MIN);
        assert_eq!(s.history[2].values, vec![m(2.0)]);
        assert_eq!(s.track.since_ms, Some(T0 + 9 * MIN));
        assert_eq!(s.track.pending_since, None);
    }

    #[test]
    fn for_zero_alerts_at_once() {
        let r = rule("0m", "no_data", "alerting");
        let (_, states, notes) = run(&r, RuleState::default(), &[firing(), firing()], &[]);
        assert_eq!(states, [Alerting, Alerting]);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].1.prev_state, Unknown);
    }

    #[test]
    fn flapping_back_before_for_elapses_sends_nothing() {
        let r = rule("5m", "no_data", "alerting");
        let results = [
            quiet(),
            firing(),
            firing(),
            quiet(),
            firing(),
            firing(),
            firing(),
            firing(),
            firing(),
            firing(),
        ];
        let (s, states, notes) = run(&r, RuleState::default(), &results, &[]);
        assert_eq!(
            states,
            [
                Ok, Pending, Pending, Ok, Pending, Pending, Pending, Pending, Pending, Alerting
            ]
        );
        // Pending counted afresh from minute 4.
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].0, 9);
        assert_eq!(s.track.pending_since, Some(T0 + 4 * MIN));
    }

    #[test]
    fn no_data_in_each_mode() {
        let nd = res(false, true, None);
        // no_data: the No Data state, notified; back to OK silently (Grafana).
        let r = rule("0m", "no_data", "alerting");
        let (_, states, notes) = run(
            &r,
            RuleState::default(),
            &[quiet(), nd.clone(), quiet()],
            &[],
        );
        assert_eq!(states, [Ok, NoData, Ok]);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].1.state, NoData);
        // alerting: through `for` like firing.
        let r = rule("2m", "alerting", "alerting");
        let (_, states, _) = run(
            &r,
            RuleState::default(),
            &[nd.clone(), nd.clone(), nd.clone()],
            &[],
        );
        assert_eq!(states, [Pending, Pending, Alerting]);
        // ok.
        let r = rule("0m", "ok", "alerting");
        let (_, states, notes) = run(&r, RuleState::default(), &[firing(), nd.clone()], &[]);
        assert_eq!(states, [Alerting, Ok]);
        assert_eq!(notes.len(), 2);
        // keep_state: an Alerting rule stays Alerting, no new message.
        let r = rule("0m", "keep_state", "alerting");
        let (_, states, notes) = run(&r, RuleState::default(), &[firing(), nd.clone(), nd], &[]);
        assert_eq!(states, [Alerting, Alerting, Alerting]);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn errors_in_each_mode() {
        let err = res(false, false, Some("cannot reach prometheus"));
        let r = rule("0m", "no_data", "alerting");
        let (s, states, notes) = run(&r, RuleState::default(), &[quiet(), err.clone()], &[]);
        assert_eq!(states, [Ok, Alerting]);
        assert_eq!(notes[0].1.error.as_deref(), Some("cannot reach prometheus"));
        assert_eq!(
            s.track.last_error.as_deref(),
            Some("cannot reach prometheus")
        );
        assert_eq!(
            s.history.last().unwrap().error.as_deref(),
            Some("cannot reach prometheus")
        );
        // alerting goes through `for` as well.
        let r = rule("1m", "no_data", "alerting");
        let (_, states, _) = run(&r, RuleState::default(), &[err.clone(), err.clone()], &[]);
        assert_eq!(states, [Pending, Alerting]);
        let r = rule("0m", "no_data", "keep_state");
        let (_, states, notes) = run(
            &r,
            RuleState::default(),
            &[quiet(), err.clone(), firing(), err.clone()],
            &[],
        );
        assert_eq!(states, [Ok, Ok, Alerting, Alerting]);
        assert_eq!(notes.len(), 1);
        let r = rule("0m", "no_data", "error");
        let (_, states, notes) = run(&r, RuleState::default(), &[quiet(), err, quiet()], &[]);
        assert_eq!(states, [Ok, Error, Ok]);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].1.state, Error);
    }

    #[test]
    fn reminders_and_resolve_per_channel() {
        let r = rule("0m", "no_data", "alerting");
        let mut remind = webhook("remind");
        remind.send_reminder = true;
        remind.frequency_ms = 10 * MIN;
        let mut quiet_resolve = webhook("no-resolve");
        quiet_resolve.disable_resolve_message = true;
        let mut results: Vec<EvalResult> = (0..25).map(|_| firing()).collect();
        results.push(quiet());
        results.push(quiet());
        let (_, _, notes) = run(
            &r,
            RuleState::default(),
            &results,
            &[&remind, &quiet_resolve],
        );
        let of = |uid: &str| -> Vec<(i64, bool, AlertState)> {
            notes
                .iter()
                .filter(|(_, n)| n.channel_uid.as_deref() == Some(uid))
                .map(|(i, n)| (*i, n.reminder, n.state))
                .collect()
        };
        assert_eq!(
            of("remind"),
            [
                (0, false, Alerting),
                (10, true, Alerting),
                (20, true, Alerting),
                (25, false, Ok)
            ]
        );
        assert_eq!(of("no-resolve"), [(0, false, Alerting)]);
    }

    #[test]
    fn alertmanager_channels_resend_while_firing() {
        let r = rule("0m", "no_data", "alerting");
        let am = Channel::new(
            "am",
            "am",
            ChannelKind::Alertmanager(AlertmanagerSettings {
                url: Secret::new("http://am:9093"),
                ..AlertmanagerSettings::default()
            }),
        );
        let (_, _, notes) = run(
            &r,
            RuleState::default(),
            &[
                firing(),
                firing(),
                firing(),
                quiet(),
                quiet(),
                res(false, true, None),
            ],
            &[&am],
        );
        let got: Vec<(i64, AlertState)> = notes.iter().map(|(i, n)| (*i, n.state)).collect();
        assert_eq!(got, [(0, Alerting), (1, Alerting), (2, Alerting), (3, Ok)]);
    }

    #[test]
    fn a_restart_does_not_notify_again() {
        let r = rule("0m", "no_data", "alerting");
        let mut remind = webhook("remind");
        remind.send_reminder = true;
        remind.frequency_ms = 10 * MIN;
        let (s, _, notes) = run(&r, RuleState::default(), &[firing(), firing()], &[&remind]);
        assert_eq!(notes.len(), 1);
        // The server saves the state, stops, and loads it again.
        let saved = serde_json::to_string(&s).unwrap();
        let restored: RuleState = serde_json::from_str(&saved).unwrap();
        assert_eq!(restored, s);
        let mut after = restored;
        let mut sent = Vec::new();
        for minute in 5..=10 {
            let (next, _, n) = step_with(&r, &after, &firing(), T0 + minute * MIN, &[&remind]);
            after = next;
            sent.extend(n.into_iter().map(|n| (minute, n.reminder)));
        }
        // Nothing on the first evaluations after the restart; the reminder keeps its rhythm.
        assert_eq!(sent, [(10, true)]);
    }

    #[test]
    fn per_series_instances_have_their_own_state() {
        let mut r = rule("2m", "no_data", "alerting");
        r.per_series = true;
        let inst = |key: &str, firing: bool| Instance {
            key: format!("{{job=\"{key}\"}}"),
            labels: [("job".to_string(), key.to_string())].into(),
            metric: key.to_string(),
            firing,
            value: Some(if firing { 2.0 } else { 0.0 }),
            matches: if firing {
                vec![EvalMatch {
                    value: Some(2.0),
                    metric: key.to_string(),
                    tags: [("job".to_string(), key.to_string())].into(),
                }]
            } else {
                Vec::new()
            },
        };
        let eval = |a: bool, b: bool| {
            let mut e = res(a || b, false, None);
            e.instances = vec![inst("a", a), inst("b", b)];
            e
        };
        let results = [
            eval(true, false),
            eval(true, true),
            eval(true, true),
            eval(false, true),
            eval(false, true),
            eval(false, false),
        ];
        let (s, states, notes) = run(&r, RuleState::default(), &results, &[]);
        // The rule's own state, for display.
        assert_eq!(states, [Pending, Pending, Alerting, Alerting, Alerting, Ok]);
        let got: Vec<(i64, String, AlertState)> = notes
            .iter()
            .map(|(i, n)| (*i, n.labels["job"].clone(), n.state))
            .collect();
        assert_eq!(
            got,
            [
                (2, "a".into(), Alerting),
                (3, "a".into(), Ok),
                (3, "b".into(), Alerting),
                (5, "b".into(), Ok),
            ]
        );
        assert!(notes.iter().all(|(_, n)| n.instance.is_some()));
        assert!(s.instances.is_empty());
        let transitions: Vec<(Option<String>, AlertState)> = s
            .history
            .iter()
            .filter(|t| t.instance.is_some())
            .map(|t| (t.instance.clone(), t.to))
            .collect();
        assert_eq!(transitions.len(), 6, "{transitions:?}");
        // No data in per-series mode is the rule-level instance's.
        let (s, _, notes) = run(
            &r,
            RuleState::default(),
            &[eval(true, false), res(false, true, None)],
            &[],
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].1.instance.as_deref(), Some(RULE_INSTANCE));
        assert_eq!(notes[0].1.state, NoData);
        assert!(s.instances.contains_key(RULE_INSTANCE));
    }

    #[test]
    fn due_history_and_unknown() {
        let r = rule("0m", "no_data", "alerting");
        let mut s = RuleState::default();
        assert!(due(&r, &s, T0));
        let (next, t, n) = step(&r, &s, &quiet(), T0);
        assert_eq!((t.len(), n.len()), (1, 0), "Unknown → OK says nothing");
        s = next;
        assert!(!due(&r, &s, T0 + 59_999));
        assert!(due(&r, &s, T0 + MIN));
        for i in 0..300 {
            let result = if i % 2 == 0 { firing() } else { quiet() };
            s = step(&r, &s, &result, T0 + (i + 1) * MIN).0;
        }
        assert_eq!(s.history.len(), HISTORY_LIMIT);
        assert_eq!(s.history.last().unwrap().time_ms, T0 + 300 * MIN);
    }
}
