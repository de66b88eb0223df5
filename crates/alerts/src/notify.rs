//! Notification channels, when they are told, what they are sent, and how deliveries retry.
//!
//! - [`Channel`]: Grafana 7's notification channel (`pkg/services/alerting/notifiers/base.go`
//!   `NotifierBase`: uid, name, `isDefault`, `sendReminder`, `frequency`,
//!   `disableResolveMessage`) with the three kinds Lookout sends to: Slack (`slack.go`),
//!   webhook (`webhook.go`) and Alertmanager (`alertmanager.go`, but Alertmanager's API v2).
//!   URLs, passwords and tokens are [`Secret`]s: they print as `***` and the default
//!   `Serialize` of a channel leaves them out (Grafana's API answer: `secureFields` says which
//!   are set), so an export or an API answer can never hold them. The server keeps them with
//!   [`Channel::to_stored_json`] / [`Channel::from_stored_json`], Grafana's channel JSON with
//!   `secureSettings`, which is also what [`Channel::from_grafana_json`] imports.
//! - [`should_notify`]: `NotifierBase.ShouldNotify` (`base.go`): on a state change; while the
//!   state stays, only as a reminder (`sendReminder`, at most every `frequency`) and never for
//!   OK or Pending; not for OK/Pending after Unknown or No Data, Pending → OK or OK → Pending;
//!   not for a resolve when `disableResolveMessage`. Alertmanager channels follow
//!   `AlertmanagerNotifier.ShouldNotify`: every evaluation while Alerting — here at most every
//!   resend delay (Prometheus' `--rules.alert.resend-delay`, 1 m, or the channel's frequency)
//!   — and Alerting → OK.
//! - Payloads, pure builders over a [`Notification`]: [`slack_payload`] in the shape of
//!   `SlackNotifier.Notify`, [`webhook_payload`] in the shape of `WebhookNotifier.Notify`,
//!   [`alertmanager_alerts`] as Prometheus' notifier posts to `/api/v2/alerts` (`labels`,
//!   `annotations`, `startsAt`, `endsAt`, `generatorURL`; firing alerts valid until
//!   `now + 4 × max(evaluation interval, resend delay)` as `rules/alerting.go` `sendAlerts`
//!   sets `ValidUntil`; resolved ones ending at the resolve time).
//! - [`Delivery`] and [`plan_deliveries`]: retries with exponential backoff, each delivery on
//!   its own, so a failing channel never holds up another.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::duration;
use crate::eval::EvalMatch;
use crate::rule::{AlertRule, NotificationRef};
use crate::state::{AlertState, Notification};

/// A credential: a channel's URL (Slack's and webhooks' URLs carry tokens), password or token.
/// `Debug` and `Display` print `***`; it does not implement `Serialize`, so it can only be
/// written out on purpose ([`Secret::expose`], [`Channel::to_stored_json`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Slack (`slack.go`). `url` and `token` are Grafana 7's secure settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlackSettings {
    /// The incoming webhook URL.
    pub url: Secret,
    /// Channel or user override (`#alerts`, `@someone`).
    pub recipient: String,
    pub username: String,
    pub icon_emoji: String,
    pub icon_url: String,
    pub mention_users: Vec<String>,
    pub mention_groups: Vec<String>,
    /// `here` or `channel`.
    pub mention_channel: String,
    /// A bot token (for image uploads; kept, not used).
    pub token: Secret,
}

/// A generic webhook (`webhook.go`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: Secret,
    /// `POST` (default) or `PUT`.
    pub http_method: String,
    pub username: String,
    pub password: Secret,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            http_method: "POST".to_string(),
            username: String::new(),
            password: Secret::default(),
        }
    }
}

/// Prometheus Alertmanager (`alertmanager.go`): its base URL (several, comma-separated, as
/// Grafana 7 allows), optional basic auth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertmanagerSettings {
    pub url: Secret,
    pub basic_auth_user: String,
    pub basic_auth_password: Secret,
}

/// What a channel sends to.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelKind {
    Slack(SlackSettings),
    Webhook(WebhookSettings),
    Alertmanager(AlertmanagerSettings),
}

impl ChannelKind {
    /// Grafana's type id.
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Slack(_) => "slack",
            ChannelKind::Webhook(_) => "webhook",
            ChannelKind::Alertmanager(_) => "prometheus-alertmanager",
        }
    }
}

/// A notification channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub uid: String,
    /// Grafana's numeric id, for rules that name channels by `{"id": …}`.
    pub id: Option<i64>,
    pub name: String,
    pub kind: ChannelKind,
    /// Send reminders while a rule stays Alerting (or No Data).
    pub send_reminder: bool,
    /// The reminder interval (0 = every evaluation).
    pub frequency_ms: i64,
    /// No message when a rule goes back to OK.
    pub disable_resolve_message: bool,
    /// Used by every rule, named or not.
    pub is_default: bool,
    /// Other (non-secret) settings the channel JSON carried (`uploadImage`, `autoResolve`, …),
    /// written back as they came.
    pub other_settings: Map<String, Value>,
}

/// Why a channel could not be read or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChannelError {
    #[error("the notification channel is not a JSON object")]
    NotAnObject,
    #[error(
        "notification channel {name:?}: type {kind:?} is not supported (slack, webhook, prometheus-alertmanager)"
    )]
    UnsupportedType { name: String, kind: String },
    #[error("notification channel {name:?}: {field}: {message}")]
    InvalidField {
        name: String,
        field: String,
        message: String,
    },
    #[error("notification channel {name:?}: {field} is not set")]
    MissingSecret { name: String, field: String },
}

const SLACK_PLAIN: [&str; 7] = [
    "recipient",
    "username",
    "icon_emoji",
    "icon_url",
    "mentionUsers",
    "mentionGroups",
    "mentionChannel",
];

impl Channel {
    /// A channel with Grafana's defaults around `kind`.
    pub fn new(uid: &str, name: &str, kind: ChannelKind) -> Self {
        Self {
            uid: uid.to_string(),
            id: None,
            name: name.to_string(),
            kind,
            send_reminder: false,
            frequency_ms: 0,
            disable_resolve_message: false,
            is_default: false,
            other_settings: Map::new(),
        }
    }

    /// Reads Grafana 7's channel JSON (the API's camelCase or provisioning's snake_case), with
    /// secrets from `secureSettings` or, as older Grafana kept them, from `settings`. A secret
    /// an export left out (only `secureFields` says it was set) reads as empty: the channel
    /// then reports it in [`Channel::missing_secrets`].
    pub fn from_grafana_json(value: &Value) -> Result<Self, ChannelError> {
        let obj = value.as_object().ok_or(ChannelError::NotAnObject)?;
        let get = |a: &str, b: &str| obj.get(a).or_else(|| obj.get(b));
        let name = get("name", "name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let bad = |field: &str, message: &str| ChannelError::InvalidField {
            name: name.clone(),
            field: field.to_string(),
            message: message.to_string(),
        };
        let id = obj.get("id").and_then(Value::as_i64);
        let uid = match obj.get("uid") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => id.map(|i| i.to_string()).unwrap_or_default(),
        };
        let flag = |a: &str, b: &str| get(a, b).and_then(Value::as_bool).unwrap_or(false);
        let frequency_ms = match get("frequency", "frequency") {
            None | Some(Value::Null) => 0,
            Some(Value::String(s)) if s.trim().is_empty() => 0,
            Some(Value::String(s)) => {
                duration::parse_go_duration(s).map_err(|m| bad("frequency", &m))?
            }
            // The API's model holds nanoseconds (Go's time.Duration).
            Some(Value::Number(n)) => n.as_i64().map_or(0, |ns| ns / 1_000_000),
            Some(_) => return Err(bad("frequency", "expected a duration")),
        };
        let empty = Map::new();
        let settings = match get("settings", "settings") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => &empty,
            Some(_) => return Err(bad("settings", "expected an object")),
        };
        let secure = match get("secureSettings", "secure_settings") {
            Some(Value::Object(m)) => m,
            _ => &empty,
        };
        let text = |key: &str| {
            settings
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let secret = |key: &str| {
            Secret::new(
                secure
                    .get(key)
                    .or_else(|| settings.get(key))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim(),
            )
        };
        let list = |key: &str| -> Vec<String> {
            text(key)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let kind_name = get("type", "type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (kind, modelled): (ChannelKind, &[&str]) = match kind_name {
            "slack" => (
                ChannelKind::Slack(SlackSettings {
                    url: secret("url"),
                    recipient: text("recipient"),
                    username: text("username"),
                    icon_emoji: text("icon_emoji"),
                    icon_url: text("icon_url"),
                    mention_users: list("mentionUsers"),
                    mention_groups: list("mentionGroups"),
                    mention_channel: text("mentionChannel"),
                    token: secret("token"),
                }),
                &[
                    "url",
                    "token",
                    "recipient",
                    "username",
                    "icon_emoji",
                    "icon_url",
                    "mentionUsers",
                    "mentionGroups",
                    "mentionChannel",
                ],
            ),
            "webhook" => {
                let method = text("httpMethod").to_ascii_uppercase();
                (
                    ChannelKind::Webhook(WebhookSettings {
                        url: secret("url"),
                        http_method: if method.is_empty() {
                            "POST".into()
                        } else {
                            method
                        },
                        username: text("username"),
                        password: secret("password"),
                    }),
                    &["url", "httpMethod", "username", "password"],
                )
            }
            "prometheus-alertmanager" => (
                ChannelKind::Alertmanager(AlertmanagerSettings {
                    url: secret("url"),
                    basic_auth_user: text("basicAuthUser"),
                    basic_auth_password: secret("basicAuthPassword"),
                }),
                &["url", "basicAuthUser", "basicAuthPassword"],
            ),
            other => {
                return Err(ChannelError::UnsupportedType {
                    name,
                    kind: other.to_string(),
                });
            }
        };
        let other_settings = settings
            .iter()
            .filter(|(k, _)| !modelled.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Self {
            uid,
            id,
            name: name.clone(),
            kind,
            send_reminder: flag("sendReminder", "send_reminder"),
            frequency_ms,
            disable_resolve_message: flag("disableResolveMessage", "disable_resolve_message"),
            is_default: flag("isDefault", "is_default"),
            other_settings,
        })
    }

    /// The server's own record of the channel, secrets included (`secureSettings`). Never
    /// hand this to a page or an export.
    pub fn to_stored_json(&self) -> Value {
        self.to_json(true)
    }

    /// Reads what [`Channel::to_stored_json`] wrote.
    pub fn from_stored_json(value: &Value) -> Result<Self, ChannelError> {
        Self::from_grafana_json(value)
    }

    /// The settings that are secret and unset (a channel imported without them).
    pub fn missing_secrets(&self) -> Vec<&'static str> {
        match &self.kind {
            ChannelKind::Slack(s) if s.url.is_empty() => vec!["url"],
            ChannelKind::Webhook(w) if w.url.is_empty() => vec!["url"],
            ChannelKind::Alertmanager(a) if a.url.is_empty() => vec!["url"],
            _ => Vec::new(),
        }
    }

    fn secrets(&self) -> Vec<(&'static str, &Secret)> {
        let all: Vec<(&'static str, &Secret)> = match &self.kind {
            ChannelKind::Slack(s) => vec![("url", &s.url), ("token", &s.token)],
            ChannelKind::Webhook(w) => vec![("url", &w.url), ("password", &w.password)],
            ChannelKind::Alertmanager(a) => {
                vec![
                    ("url", &a.url),
                    ("basicAuthPassword", &a.basic_auth_password),
                ]
            }
        };
        all.into_iter().filter(|(_, s)| !s.is_empty()).collect()
    }

    fn to_json(&self, with_secrets: bool) -> Value {
        let mut settings = self.other_settings.clone();
        let mut put = |k: &str, v: &str| {
            settings.insert(k.to_string(), Value::String(v.to_string()));
        };
        match &self.kind {
            ChannelKind::Slack(s) => {
                for (k, v) in SLACK_PLAIN.iter().zip([
                    s.recipient.clone(),
                    s.username.clone(),
                    s.icon_emoji.clone(),
                    s.icon_url.clone(),
                    s.mention_users.join(","),
                    s.mention_groups.join(","),
                    s.mention_channel.clone(),
                ]) {
                    if !v.is_empty() {
                        put(k, &v);
                    }
                }
            }
            ChannelKind::Webhook(w) => {
                put("httpMethod", &w.http_method);
                if !w.username.is_empty() {
                    put("username", &w.username);
                }
            }
            ChannelKind::Alertmanager(a) => {
                if !a.basic_auth_user.is_empty() {
                    put("basicAuthUser", &a.basic_auth_user);
                }
            }
        }
        let mut obj = Map::new();
        obj.insert("uid".into(), self.uid.clone().into());
        if let Some(id) = self.id {
            obj.insert("id".into(), id.into());
        }
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("type".into(), self.kind.type_name().into());
        obj.insert("isDefault".into(), self.is_default.into());
        obj.insert("sendReminder".into(), self.send_reminder.into());
        obj.insert(
            "frequency".into(),
            if self.frequency_ms > 0 {
                duration::format_duration(self.frequency_ms).into()
            } else {
                "".into()
            },
        );
        obj.insert(
            "disableResolveMessage".into(),
            self.disable_resolve_message.into(),
        );
        obj.insert("settings".into(), Value::Object(settings));
        let secrets = self.secrets();
        if with_secrets {
            obj.insert(
                "secureSettings".into(),
                Value::Object(
                    secrets
                        .iter()
                        .map(|(k, s)| (k.to_string(), Value::String(s.expose().to_string())))
                        .collect(),
                ),
            );
        } else {
            obj.insert(
                "secureFields".into(),
                Value::Object(
                    secrets
                        .iter()
                        .map(|(k, _)| (k.to_string(), Value::Bool(true)))
                        .collect(),
                ),
            );
        }
        Value::Object(obj)
    }
}

/// Grafana's API answer for a channel: settings without secrets, `secureFields` naming the
/// secrets that are set.
impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json(false).serialize(s)
    }
}

/// Reads Grafana's channel JSON (secrets from `secureSettings`), as an API request sets them.
impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Channel::from_grafana_json(&v).map_err(serde::de::Error::custom)
    }
}

/// The channels a rule notifies: the ones it names (by uid or id) and every default channel,
/// each once, in `channels`' order (Grafana's `GetAlertNotificationsWithUidToSendQuery`).
pub fn channels_for<'a>(rule: &AlertRule, channels: &'a [Channel]) -> Vec<&'a Channel> {
    channels
        .iter()
        .filter(|c| {
            c.is_default
                || rule.notifications.iter().any(|n| match n {
                    NotificationRef::Uid { uid } => *uid == c.uid,
                    NotificationRef::Id { id } => Some(*id) == c.id,
                })
        })
        .collect()
}

/// Prometheus' default `--rules.alert.resend-delay`.
pub const RESEND_DELAY_MS: i64 = 60_000;

/// Whether a channel is told about a state change or a repeated state
/// (`NotifierBase.ShouldNotify`, `AlertmanagerNotifier.ShouldNotify`; see the module docs).
/// `channel` `None` is the rule's own event: no reminders, resolves sent. `last_notified_ms`
/// is when this channel was last told about this rule (or instance).
pub fn should_notify(
    channel: Option<&Channel>,
    prev: AlertState,
    new: AlertState,
    last_notified_ms: Option<i64>,
    now_ms: i64,
) -> bool {
    use AlertState::*;
    if let Some(c) = channel
        && matches!(c.kind, ChannelKind::Alertmanager(_))
    {
        if prev == Pending && new == Ok {
            return false;
        }
        if prev == Alerting && new == Ok {
            return true;
        }
        if new != Alerting {
            return false;
        }
        let resend = if c.frequency_ms > 0 {
            c.frequency_ms
        } else {
            RESEND_DELAY_MS
        };
        return prev != Alerting || last_notified_ms.is_none_or(|t| now_ms - t >= resend);
    }
    let (send_reminder, frequency_ms, disable_resolve) = channel.map_or((false, 0, false), |c| {
        (c.send_reminder, c.frequency_ms, c.disable_resolve_message)
    });
    if prev == new {
        if !send_reminder {
            return false;
        }
        if last_notified_ms.is_some_and(|t| t + frequency_ms > now_ms) {
            return false;
        }
        if matches!(new, Ok | Pending | Unknown) {
            return false;
        }
    }
    let unknown_or_no_data = matches!(prev, Unknown | NoData | Error);
    let ok_or_pending = matches!(new, Ok | Pending);
    if unknown_or_no_data && ok_or_pending {
        return false;
    }
    if prev == Pending && new == Ok {
        return false;
    }
    if prev == Ok && new == Pending {
        return false;
    }
    if new == Ok && disable_resolve {
        return false;
    }
    !matches!(new, Unknown | Pending)
}

/// What payloads link to and say about where the rule lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadContext {
    /// Grafana's rule id (Lookout: the panel's id, unless the server numbers rules).
    pub rule_id: i64,
    pub org_id: i64,
    pub dashboard_id: i64,
    pub panel_id: i64,
    /// A link to the rule's panel (`title_link`, `ruleUrl`, `generatorURL`).
    pub rule_url: String,
    /// Slack's footer (Grafana writes `Grafana v7.x`).
    pub footer: String,
    /// Slack's footer icon; none when empty.
    pub footer_icon: String,
    /// A rendered image of the panel, when there is one.
    pub image_url: Option<String>,
}

impl Default for PayloadContext {
    fn default() -> Self {
        Self {
            rule_id: 0,
            org_id: 1,
            dashboard_id: 0,
            panel_id: 0,
            rule_url: String::new(),
            footer: "Lookout".to_string(),
            footer_icon: String::new(),
            image_url: None,
        }
    }
}

/// Slack shows at most this many matches: Grafana appends a field, then stops once the index
/// passed 4, which is 6 fields.
pub const SLACK_MAX_FIELDS: usize = 6;

/// `[Alerting] name`: Grafana's `GetNotificationTitle`.
pub fn notification_title(n: &Notification) -> String {
    format!("[{}] {}", n.state.text(), n.rule_name)
}

fn match_value(m: &EvalMatch) -> Value {
    m.value
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Slack's incoming-webhook body, as `SlackNotifier.Notify` builds it.
pub fn slack_payload(n: &Notification, s: &SlackSettings, ctx: &PayloadContext) -> Value {
    let title = notification_title(n);
    let mut fields: Vec<Value> = n
        .matches
        .iter()
        .take(SLACK_MAX_FIELDS)
        .map(|m| json!({"title": m.metric, "value": match_value(m), "short": true}))
        .collect();
    if let Some(e) = &n.error {
        fields.push(json!({"title": "Error message", "value": e, "short": false}));
    }
    let mut mentions: Vec<String> = Vec::new();
    if !s.mention_channel.trim().is_empty() {
        let c = s.mention_channel.trim();
        mentions.push(format!("<!{c}|{c}>"));
    }
    if !s.mention_groups.is_empty() {
        mentions.push(
            s.mention_groups
                .iter()
                .map(|g| format!("<!subteam^{g}>"))
                .collect(),
        );
    }
    if !s.mention_users.is_empty() {
        mentions.push(s.mention_users.iter().map(|u| format!("<@{u}>")).collect());
    }
    let blocks = if mentions.is_empty() {
        Value::Null
    } else {
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": mentions.join(" ")}}])
    };
    // Grafana leaves the message out when going back to OK.
    let text = if n.state == AlertState::Ok {
        ""
    } else {
        n.message.as_str()
    };
    let mut attachment = json!({
        "color": n.state.color(),
        "title": title,
        "title_link": ctx.rule_url,
        "text": text,
        "fallback": title,
        "fields": fields,
        "footer": ctx.footer,
        "ts": n.time_ms.div_euclid(1_000),
    });
    if !ctx.footer_icon.is_empty() {
        attachment["footer_icon"] = ctx.footer_icon.clone().into();
    }
    if let Some(url) = ctx.image_url.as_ref().filter(|u| !u.is_empty()) {
        attachment["image_url"] = url.clone().into();
    }
    let mut body = json!({
        "text": title,
        "blocks": blocks,
        "attachments": [attachment],
        "parse": "full",
    });
    for (key, value) in [
        ("channel", &s.recipient),
        ("username", &s.username),
        ("icon_emoji", &s.icon_emoji),
        ("icon_url", &s.icon_url),
    ] {
        if !value.is_empty() {
            body[key] = value.clone().into();
        }
    }
    body
}

/// The generic webhook body, as `WebhookNotifier.Notify` builds it.
pub fn webhook_payload(n: &Notification, ctx: &PayloadContext) -> Value {
    let mut body = json!({
        "title": notification_title(n),
        "ruleId": ctx.rule_id,
        "ruleName": n.rule_name,
        "state": n.state.as_str(),
        "evalMatches": n.matches,
        "orgId": ctx.org_id,
        "dashboardId": ctx.dashboard_id,
        "panelId": ctx.panel_id,
        "tags": n.tags,
        "ruleUrl": ctx.rule_url,
    });
    if let Some(url) = ctx.image_url.as_ref().filter(|u| !u.is_empty()) {
        body["imageUrl"] = url.clone().into();
    }
    if !n.message.is_empty() {
        body["message"] = n.message.clone().into();
    }
    body
}

/// A Prometheus label name from any text (`replaceIllegalCharsInLabelname`).
fn label_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The body of `POST /api/v2/alerts`: one alert per rule, or per series for per-series rules
/// (the instance's labels, without `__name__`), with the rule's tags and `alertname`.
/// Annotations as Grafana's notifier writes them: `summary` the rule's name, `description` its
/// message (and the error). A firing alert starts when the rule became active and is valid
/// until `now + 4 × max(evaluation interval, resend delay)`; a resolved one ends now.
///
/// Grafana 7 posts one alert per eval match (the series' tags as labels) and resolves with an
/// alert labelled `alertname` only, which leaves the per-match alerts firing in Alertmanager
/// until they expire. Here an alert is the rule's, or a per-series rule's instance's, so the
/// resolve carries the labels that fired.
pub fn alertmanager_alerts(n: &Notification, ctx: &PayloadContext) -> Value {
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &n.labels {
        if k != "__name__" {
            labels.insert(label_name(k), v.clone());
        }
    }
    for (k, v) in &n.tags {
        labels.insert(label_name(k), v.clone());
    }
    labels.insert("alertname".to_string(), n.rule_name.clone());
    let mut annotations = Map::new();
    annotations.insert("summary".into(), n.rule_name.clone().into());
    let mut description = n.message.clone();
    if let Some(e) = &n.error {
        if !description.is_empty() {
            description.push('\n');
        }
        description.push_str("Error: ");
        description.push_str(e);
    }
    if !description.is_empty() {
        annotations.insert("description".into(), description.into());
    }
    if let Some(url) = ctx.image_url.as_ref().filter(|u| !u.is_empty()) {
        annotations.insert("image".into(), url.clone().into());
    }
    let ends_at = if n.state == AlertState::Ok {
        n.time_ms
    } else {
        n.time_ms + 4 * n.eval_interval_ms.max(RESEND_DELAY_MS)
    };
    json!([{
        "labels": labels,
        "annotations": annotations,
        "startsAt": duration::rfc3339(n.active_since_ms.unwrap_or(n.time_ms)),
        "endsAt": duration::rfc3339(ends_at),
        "generatorURL": ctx.rule_url,
    }])
}

/// An HTTP request to send; its URL and credential headers print as `***`.
#[derive(Clone, PartialEq)]
pub struct OutgoingRequest {
    pub method: String,
    pub url: Secret,
    /// `Content-Type` and, with basic auth, `Authorization` (secret).
    pub headers: Vec<(String, Secret)>,
    pub body: String,
}

impl fmt::Debug for OutgoingRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        if k.eq_ignore_ascii_case("authorization") {
                            (k.as_str(), "***")
                        } else {
                            (k.as_str(), v.expose())
                        }
                    })
                    .collect::<Vec<_>>(),
            )
            .field("body", &self.body)
            .finish()
    }
}

fn basic_auth(user: &str, password: &Secret) -> Option<(String, Secret)> {
    if user.is_empty() && password.is_empty() {
        return None;
    }
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
    Some((
        "Authorization".to_string(),
        Secret::new(format!("Basic {token}")),
    ))
}

/// The requests that deliver `n` through `channel` (Alertmanager: one per URL).
pub fn requests_for(
    channel: &Channel,
    n: &Notification,
    ctx: &PayloadContext,
) -> Result<Vec<OutgoingRequest>, ChannelError> {
    if let Some(field) = channel.missing_secrets().first() {
        return Err(ChannelError::MissingSecret {
            name: channel.name.clone(),
            field: (*field).to_string(),
        });
    }
    let json_header = ("Content-Type".to_string(), Secret::new("application/json"));
    Ok(match &channel.kind {
        ChannelKind::Slack(s) => vec![OutgoingRequest {
            method: "POST".into(),
            url: s.url.clone(),
            headers: vec![json_header],
            body: slack_payload(n, s, ctx).to_string(),
        }],
        ChannelKind::Webhook(w) => {
            let mut headers = vec![json_header];
            headers.extend(basic_auth(&w.username, &w.password));
            vec![OutgoingRequest {
                method: w.http_method.clone(),
                url: w.url.clone(),
                headers,
                body: webhook_payload(n, ctx).to_string(),
            }]
        }
        ChannelKind::Alertmanager(a) => {
            let body = alertmanager_alerts(n, ctx).to_string();
            let mut headers = vec![json_header];
            headers.extend(basic_auth(&a.basic_auth_user, &a.basic_auth_password));
            a.url
                .expose()
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|base| OutgoingRequest {
                    method: "POST".into(),
                    url: Secret::new(format!("{}/api/v2/alerts", base.trim_end_matches('/'))),
                    headers: headers.clone(),
                    body: body.clone(),
                })
                .collect()
        }
    })
}

/// How deliveries retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub initial_backoff_ms: i64,
    /// The longest wait.
    pub max_backoff_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// The wait after `failed` failed attempts (1 = the first failed), or `None` when no
    /// attempt is left: `initial × 2^(failed−1)`, at most `max_backoff_ms`.
    pub fn backoff_ms(&self, failed: u32) -> Option<i64> {
        if failed == 0 || failed >= self.max_attempts {
            return None;
        }
        let factor = 1_i64.checked_shl(failed - 1).unwrap_or(i64::MAX);
        Some(
            self.initial_backoff_ms
                .saturating_mul(factor)
                .min(self.max_backoff_ms),
        )
    }
}

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum SendOutcome {
    Delivered,
    /// No answer (`status` `None`) or an error status.
    Failed {
        status: Option<u16>,
        message: String,
    },
}

impl SendOutcome {
    /// From an HTTP status: 2xx delivered, anything else failed.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        if (200..300).contains(&status) {
            SendOutcome::Delivered
        } else {
            SendOutcome::Failed {
                status: Some(status),
                message: message.into(),
            }
        }
    }

    /// Whether trying again may help: no answer, 408, 429 or 5xx; not other 4xx (a bad URL or
    /// credentials stay bad).
    pub fn retryable(&self) -> bool {
        match self {
            SendOutcome::Delivered => false,
            SendOutcome::Failed { status: None, .. } => true,
            SendOutcome::Failed {
                status: Some(s), ..
            } => *s == 408 || *s == 429 || *s >= 500,
        }
    }
}

/// One notification on its way to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub channel_uid: String,
    pub notification: Notification,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not to be tried before this time.
    pub not_before_ms: i64,
    pub last_error: Option<String>,
}

impl Delivery {
    /// A delivery of `n` to its channel, due at once.
    pub fn new(n: Notification) -> Self {
        Self {
            channel_uid: n.channel_uid.clone().unwrap_or_default(),
            not_before_ms: n.time_ms,
            notification: n,
            attempts: 0,
            last_error: None,
        }
    }

    pub fn is_due(&self, now_ms: i64) -> bool {
        now_ms >= self.not_before_ms
    }
}

/// What becomes of a round of attempts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPlan {
    pub delivered: Vec<Delivery>,
    /// To try again at their `not_before_ms`.
    pub retry: Vec<Delivery>,
    /// Out of attempts, or failed for good.
    pub abandoned: Vec<Delivery>,
}

/// Sorts a round of attempts: each delivery on its own (one channel's failure changes nothing
/// for another's deliveries).
pub fn plan_deliveries(
    policy: &RetryPolicy,
    results: Vec<(Delivery, SendOutcome)>,
    now_ms: i64,
) -> DeliveryPlan {
    let mut plan = DeliveryPlan::default();
    for (mut d, outcome) in results {
        d.attempts += 1;
        match &outcome {
            SendOutcome::Delivered => {
                d.last_error = None;
                plan.delivered.push(d);
            }
            SendOutcome::Failed { status, message } => {
                d.last_error = Some(match status {
                    Some(s) => format!("HTTP {s}: {message}"),
                    None => message.clone(),
                });
                match policy
                    .backoff_ms(d.attempts)
                    .filter(|_| outcome.retryable())
                {
                    Some(wait) => {
                        d.not_before_ms = now_ms + wait;
                        plan.retry.push(d);
                    }
                    None => plan.abandoned.push(d),
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::AlertState::*;

    const T: i64 = 1_700_000_000_000;

    fn note(state: AlertState, matches: Vec<EvalMatch>) -> Notification {
        Notification {
            channel_uid: Some("ops".into()),
            rule_name: "Panel Title alert".into(),
            message: "Notification Message".into(),
            state,
            prev_state: Pending,
            reminder: false,
            time_ms: T,
            active_since_ms: Some(T - 300_000),
            matches,
            firing_matches: Vec::new(),
            error: None,
            instance: None,
            labels: BTreeMap::new(),
            tags: [("tag name".to_string(), "tag value".to_string())].into(),
            eval_interval_ms: 60_000,
        }
    }

    fn count_match() -> EvalMatch {
        EvalMatch {
            value: Some(1.0),
            metric: "Count".into(),
            tags: BTreeMap::new(),
        }
    }

    fn slack_json() -> Value {
        json!({
            "id": 4, "uid": "slack-ops", "name": "Ops Slack", "type": "slack",
            "isDefault": false, "sendReminder": true, "frequency": "15m",
            "disableResolveMessage": false,
            "settings": {"recipient": "#ml-alerts", "username": "lookout", "uploadImage": false,
                         "mentionUsers": "U1, U2", "mentionChannel": "here"},
            "secureSettings": {"url": "https://hooks.slack.com/services/T0/B0/XXXX", "token": "xoxb-1"}
        })
    }

    #[test]
    fn secrets_never_print_or_serialize() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        let c = Channel::from_grafana_json(&slack_json()).unwrap();
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("XXXX") && !debug.contains("xoxb"),
            "{debug}"
        );
        // The default Serialize (an export, an API answer) leaves them out.
        let exported = serde_json::to_string(&c).unwrap();
        assert!(
            !exported.contains("XXXX") && !exported.contains("xoxb"),
            "{exported}"
        );
        let v: Value = serde_json::from_str(&exported).unwrap();
        assert_eq!(v["secureFields"], json!({"url": true, "token": true}));
        assert!(v.get("secureSettings").is_none());
        assert_eq!(v["settings"]["recipient"], json!("#ml-alerts"));
        assert_eq!(v["settings"]["uploadImage"], json!(false));
        assert_eq!(v["frequency"], json!("15m"));
        // The server's own file keeps them, and reads them back.
        let stored = c.to_stored_json();
        assert_eq!(
            stored["secureSettings"]["url"],
            json!("https://hooks.slack.com/services/T0/B0/XXXX")
        );
        assert_eq!(Channel::from_stored_json(&stored).unwrap(), c);
        // A request prints masked too.
        let reqs = requests_for(&c, &note(Alerting, vec![]), &PayloadContext::default()).unwrap();
        let debug = format!("{reqs:?}");
        assert!(!debug.contains("XXXX"), "{debug}");
        assert_eq!(
            reqs[0].url.expose(),
            "https://hooks.slack.com/services/T0/B0/XXXX"
        );
    }

    #[test]
    fn grafana_channels_read() {
        let c = Channel::from_grafana_json(&slack_json()).unwrap();
        assert_eq!(
            (c.uid.as_str(), c.id, c.name.as_str()),
            ("slack-ops", Some(4), "Ops Slack")
        );
        assert!(c.send_reminder && !c.is_default);
        assert_eq!(c.frequency_ms, 900_000);
        let ChannelKind::Slack(s) = &c.kind else {
            panic!("slack")
        };
        assert_eq!(s.mention_users, ["U1", "U2"]);
        assert_eq!(
            s.url.expose(),
            "https://hooks.slack.com/services/T0/B0/XXXX"
        );
        // Provisioning's snake_case, a webhook with its password secure.
        let w = Channel::from_grafana_json(&json!({
            "uid": "hook", "name": "Hook", "type": "webhook", "is_default": true,
            "disable_resolve_message": true,
            "settings": {"url": "http://hook.example/alert", "httpMethod": "put", "username": "u"},
            "secure_settings": {"password": "p"}
        }))
        .unwrap();
        assert!(w.is_default && w.disable_resolve_message);
        let ChannelKind::Webhook(ws) = &w.kind else {
            panic!("webhook")
        };
        assert_eq!(ws.http_method, "PUT");
        assert_eq!(ws.password.expose(), "p");
        // An old export: id only, url left out (only secureFields): reads, reports the gap.
        let am = Channel::from_grafana_json(&json!({
            "id": 7, "name": "AM", "type": "prometheus-alertmanager",
            "settings": {"basicAuthUser": "admin"}, "secureFields": {"url": true}
        }))
        .unwrap();
        assert_eq!(am.uid, "7");
        assert_eq!(am.missing_secrets(), ["url"]);
        assert_eq!(
            requests_for(&am, &note(Alerting, vec![]), &PayloadContext::default()),
            Err(ChannelError::MissingSecret {
                name: "AM".into(),
                field: "url".into()
            })
        );
        assert!(matches!(
            Channel::from_grafana_json(&json!({"name": "pd", "type": "pagerduty"})),
            Err(ChannelError::UnsupportedType { .. })
        ));
        assert!(matches!(
            Channel::from_grafana_json(
                &json!({"name": "x", "type": "slack", "frequency": "often"})
            ),
            Err(ChannelError::InvalidField { .. })
        ));
        // Deserialize reads secrets (an API request setting them).
        let c: Channel = serde_json::from_value(slack_json()).unwrap();
        assert!(c.missing_secrets().is_empty());
    }

    #[test]
    fn rules_name_their_channels() {
        let rule = AlertRule::from_value(&json!({
            "conditions": [{"type": "query", "query": {"params": ["A", "5m", "now"]},
                            "reducer": {"type": "avg"}, "evaluator": {"type": "gt", "params": [1]}}],
            "notifications": [{"uid": "slack-ops"}, {"id": 7}]
        }))
        .unwrap();
        let mut slack = Channel::from_grafana_json(&slack_json()).unwrap();
        slack.id = None;
        let mut am = Channel::new(
            "am",
            "AM",
            ChannelKind::Alertmanager(AlertmanagerSettings::default()),
        );
        am.id = Some(7);
        let other = Channel::new(
            "other",
            "Other",
            ChannelKind::Webhook(WebhookSettings::default()),
        );
        let mut default = other.clone();
        default.uid = "default".into();
        default.is_default = true;
        let all = [slack, other, am, default];
        let uids: Vec<&str> = channels_for(&rule, &all)
            .iter()
            .map(|c| c.uid.as_str())
            .collect();
        assert_eq!(uids, ["slack-ops", "am", "default"]);
    }

    #[test]
    fn should_notify_as_base_go() {
        let mut c = Channel::new("c", "c", ChannelKind::Webhook(WebhookSettings::default()));
        let ch = Some(&c);
        assert!(should_notify(ch, Pending, Alerting, None, T));
        assert!(should_notify(ch, Ok, Alerting, None, T));
        assert!(should_notify(ch, Unknown, Alerting, None, T));
        assert!(should_notify(ch, Alerting, Ok, None, T));
        assert!(should_notify(ch, Ok, NoData, None, T));
        assert!(should_notify(ch, Alerting, NoData, None, T));
        assert!(!should_notify(ch, Ok, Pending, None, T));
        assert!(!should_notify(ch, Pending, Ok, None, T));
        assert!(!should_notify(ch, Unknown, Ok, None, T));
        assert!(!should_notify(ch, NoData, Ok, None, T));
        assert!(!should_notify(ch, Alerting, Alerting, None, T));
        c.send_reminder = true;
        c.frequency_ms = 600_000;
        let ch = Some(&c);
        assert!(should_notify(ch, Alerting, Alerting, Some(T - 600_000), T));
        assert!(!should_notify(ch, Alerting, Alerting, Some(T - 599_999), T));
        assert!(should_notify(ch, NoData, NoData, Some(T - 600_000), T));
        assert!(!should_notify(ch, Ok, Ok, None, T));
        assert!(!should_notify(ch, Pending, Pending, None, T));
        c.disable_resolve_message = true;
        assert!(!should_notify(Some(&c), Alerting, Ok, None, T));
        assert!(should_notify(None, Alerting, Ok, None, T));
    }

    #[test]
    fn slack_payload_in_grafana_7_shape() {
        let s = SlackSettings {
            url: Secret::new("https://hooks.slack.com/x"),
            recipient: "#ml-alerts".into(),
            ..SlackSettings::default()
        };
        let ctx = PayloadContext {
            rule_url: "http://lookout:8080/d/seed?viewPanel=5".into(),
            ..PayloadContext::default()
        };
        let n = note(
            Alerting,
            vec![EvalMatch {
                value: Some(0.0047),
                metric: "model".into(),
                tags: [("job".to_string(), "model".to_string())].into(),
            }],
        );
        // slack.go: text/blocks/attachments/parse, the attachment's colour by state, the
        // matches as short fields, footer and ts; the recipient as `channel`.
        let expected = json!({
            "text": "[Alerting] Panel Title alert",
            "blocks": null,
            "attachments": [{
                "color": "#D63232",
                "title": "[Alerting] Panel Title alert",
                "title_link": "http://lookout:8080/d/seed?viewPanel=5",
                "text": "Notification Message",
                "fallback": "[Alerting] Panel Title alert",
                "fields": [{"title": "model", "value": 0.0047, "short": true}],
                "footer": "Lookout",
                "ts": 1_700_000_000
            }],
            "parse": "full",
            "channel": "#ml-alerts"
        });
        assert_eq!(slack_payload(&n, &s, &ctx), expected);
        // OK: green, no message, no fields; No Data: grey.
        let ok = slack_payload(&note(Ok, vec![]), &s, &ctx);
        assert_eq!(ok["attachments"][0]["color"], json!("#36a64f"));
        assert_eq!(ok["attachments"][0]["text"], json!(""));
        assert_eq!(ok["text"], json!("[OK] Panel Title alert"));
        let nd = slack_payload(&note(NoData, vec![]), &s, &ctx);
        assert_eq!(nd["attachments"][0]["color"], json!("#888888"));
        assert_eq!(nd["text"], json!("[No Data] Panel Title alert"));
        // At most 6 fields, then the error; mentions as a block.
        let many: Vec<EvalMatch> = (0..9).map(|_| count_match()).collect();
        let mut n = note(Alerting, many);
        n.error = Some("boom".into());
        let mentions = SlackSettings {
            mention_users: vec!["U1".into()],
            mention_groups: vec!["G1".into()],
            mention_channel: "here".into(),
            ..s.clone()
        };
        let p = slack_payload(&n, &mentions, &ctx);
        let fields = p["attachments"][0]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 7);
        assert_eq!(
            fields[6],
            json!({"title": "Error message", "value": "boom", "short": false})
        );
        assert_eq!(
            p["blocks"],
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "<!here|here> <!subteam^G1> <@U1>"}}])
        );
    }

    #[test]
    fn webhook_payload_as_grafana_docs_show_it() {
        // The example body of Grafana 7's webhook notifier documentation.
        let expected = json!({
            "dashboardId": 1,
            "evalMatches": [{"value": 1, "metric": "Count", "tags": {}}],
            "imageUrl": "https://grafana.com/assets/img/blog/mixed_styles.png",
            "message": "Notification Message",
            "orgId": 1,
            "panelId": 2,
            "ruleId": 1,
            "ruleName": "Panel Title alert",
            "ruleUrl": "http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1",
            "state": "alerting",
            "tags": {"tag name": "tag value"},
            "title": "[Alerting] Panel Title alert"
        });
        let ctx = PayloadContext {
            rule_id: 1,
            org_id: 1,
            dashboard_id: 1,
            panel_id: 2,
            rule_url: "http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1".into(),
            image_url: Some("https://grafana.com/assets/img/blog/mixed_styles.png".into()),
            ..PayloadContext::default()
        };
        let got = webhook_payload(&note(Alerting, vec![count_match()]), &ctx);
        // `1` and `1.0` are the same JSON number.
        assert_eq!(got["evalMatches"][0]["value"].as_f64(), Some(1.0));
        let mut got = got;
        got["evalMatches"][0]["value"] = json!(1);
        assert_eq!(got, expected);
        let mut ok = note(Ok, vec![]);
        ok.message.clear();
        let ok = webhook_payload(&ok, &PayloadContext::default());
        assert_eq!(ok["state"], json!("ok"));
        assert_eq!(ok["evalMatches"], json!([]));
        assert!(ok.get("message").is_none() && ok.get("imageUrl").is_none());
    }

    #[test]
    fn alertmanager_v2_alerts() {
        let ctx = PayloadContext {
            rule_url: "http://lookout:8080/d/seed?viewPanel=5".into(),
            ..PayloadContext::default()
        };
        let mut n = note(Alerting, vec![count_match()]);
        n.tags = [("team".to_string(), "ml".to_string())].into();
        assert_eq!(
            alertmanager_alerts(&n, &ctx),
            json!([{
                "labels": {"alertname": "Panel Title alert", "team": "ml"},
                "annotations": {"summary": "Panel Title alert", "description": "Notification Message"},
                "startsAt": "2023-11-14T22:08:20Z",
                "endsAt": "2023-11-14T22:17:20Z",
                "generatorURL": "http://lookout:8080/d/seed?viewPanel=5"
            }])
        );
        // Per series: the instance's labels (no __name__, names made valid); resolved: ends now.
        n.state = Ok;
        n.labels = [
            ("__name__".to_string(), "x".to_string()),
            ("job".to_string(), "model".to_string()),
            ("k8s.pod".to_string(), "p".to_string()),
        ]
        .into();
        n.error = Some("late".into());
        let a = alertmanager_alerts(&n, &ctx);
        assert_eq!(
            a[0]["labels"],
            json!({"alertname": "Panel Title alert", "team": "ml", "job": "model", "k8s_pod": "p"})
        );
        assert_eq!(a[0]["endsAt"], json!("2023-11-14T22:13:20Z"));
        assert_eq!(
            a[0]["annotations"]["description"],
            json!("Notification Message\nError: late")
        );
        // A long evaluation interval lengthens the validity.
        let mut slow = note(Alerting, vec![]);
        slow.eval_interval_ms = 300_000;
        assert_eq!(
            alertmanager_alerts(&slow, &ctx)[0]["endsAt"],
            json!("2023-11-14T22:33:20Z")
        );
    }

    #[test]
    fn requests() {
        let am = Channel::new(
            "am",
            "AM",
            ChannelKind::Alertmanager(AlertmanagerSettings {
                url: Secret::new("http://am1:9093/, http://am2:9093"),
                basic_auth_user: "admin".into(),
                basic_auth_password: Secret::new("pw"),
            }),
        );
        let n = note(Alerting, vec![]);
        let reqs = requests_for(&am, &n, &PayloadContext::default()).unwrap();
        let urls: Vec<&str> = reqs.iter().map(|r| r.url.expose()).collect();
        assert_eq!(
            urls,
            [
                "http://am1:9093/api/v2/alerts",
                "http://am2:9093/api/v2/alerts"
            ]
        );
        assert_eq!(reqs[0].method, "POST");
        assert_eq!(reqs[0].headers[1].1.expose(), "Basic YWRtaW46cHc=");
        assert!(!format!("{reqs:?}").contains("YWRtaW46cHc"));
        let body: Value = serde_json::from_str(&reqs[0].body).unwrap();
        assert!(body.is_array());
        let hook = Channel::new(
            "h",
            "h",
            ChannelKind::Webhook(WebhookSettings {
                url: Secret::new("http://hook"),
                http_method: "PUT".into(),
                ..WebhookSettings::default()
            }),
        );
        let reqs = requests_for(&hook, &n, &PayloadContext::default()).unwrap();
        assert_eq!(reqs[0].method, "PUT");
        assert_eq!(reqs[0].headers.len(), 1, "no credentials, no Authorization");
    }

    #[test]
    fn backoff_and_independent_deliveries() {
        let p = RetryPolicy::default();
        let waits: Vec<Option<i64>> = (0..=5).map(|i| p.backoff_ms(i)).collect();
        assert_eq!(
            waits,
            [
                None,
                Some(1_000),
                Some(2_000),
                Some(4_000),
                Some(8_000),
                None
            ]
        );
        let capped = RetryPolicy {
            max_attempts: 100,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
        };
        assert_eq!(capped.backoff_ms(7), Some(60_000));
        assert_eq!(capped.backoff_ms(99), Some(60_000));
        let d = |uid: &str| {
            let mut n = note(Alerting, vec![]);
            n.channel_uid = Some(uid.into());
            Delivery::new(n)
        };
        let plan = plan_deliveries(
            &p,
            vec![
                (
                    d("slack"),
                    SendOutcome::Failed {
                        status: None,
                        message: "refused".into(),
                    },
                ),
                (d("hook"), SendOutcome::from_status(204, "")),
                (d("am"), SendOutcome::from_status(503, "unavailable")),
                (d("bad"), SendOutcome::from_status(404, "not found")),
            ],
            T,
        );
        let uids = |v: &[Delivery]| v.iter().map(|d| d.channel_uid.clone()).collect::<Vec<_>>();
        assert_eq!(uids(&plan.delivered), ["hook"]);
        assert_eq!(uids(&plan.retry), ["slack", "am"]);
        assert_eq!(uids(&plan.abandoned), ["bad"]);
        assert_eq!(plan.retry[0].not_before_ms, T + 1_000);
        assert!(!plan.retry[0].is_due(T) && plan.retry[0].is_due(T + 1_000));
        assert_eq!(
            plan.abandoned[0].last_error.as_deref(),
            Some("HTTP 404: not found")
        );
        // Out of attempts.
        let mut last = d("slack");
        last.attempts = 4;
        let plan = plan_deliveries(&p, vec![(last, SendOutcome::from_status(500, "x"))], T);
        assert_eq!(plan.abandoned.len(), 1);
        assert_eq!(plan.abandoned[0].attempts, 5);
    }
}
