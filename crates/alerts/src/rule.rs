//! The rule: a Grafana 7 legacy alert (`panel.alert`) as a typed [`AlertRule`].
//!
//! Reading follows Grafana's extractor and rule model (`pkg/services/alerting/extractor.go`,
//! `rule.go`, `conditions/query.go`, `conditions/reducer.go`, `conditions/evaluator.go`):
//! `frequency` as `getTimeDurationStringToSeconds` reads it, `for` as a Go duration (absent =
//! 0), `noDataState` defaulting to `no_data`, `executionErrorState` to `alerting`, each
//! condition `{type: "query", query: {params: [refId, from, to]}, reducer, evaluator,
//! operator}` with the operator defaulting to `and`, notifications by `uid` or by the older
//! numeric `id`. Where Grafana fails late (an unknown reducer silently reduces to null, a
//! missing `from` panics), Lookout refuses the rule with a [`RuleError`] naming the place.
//!
//! Writing keeps everything the JSON carried: each condition's original object (the query's
//! `model`, `datasourceId`, the reducer's `params`, …) and the rule's unknown fields are
//! written back with the typed fields laid over them, so an import → export round trip gives
//! back what came in. Lookout's own option, [`AlertRule::per_series`], is stored under a
//! `lookout` object Grafana ignores.

use std::collections::BTreeMap;

use lookout_dashboard::Cell;
use lookout_dashboard::document::Dashboard;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::duration;

/// Why a legacy alert cannot be used. Each names the place in the alert's JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// `panel.alert` is not an object.
    #[error("the alert is not a JSON object")]
    NotAnObject,
    /// A field of the wrong JSON type.
    #[error("alert {field}: {message}")]
    InvalidField { field: String, message: String },
    /// `frequency`, `for`, or a condition's `from`/`to` is not a duration.
    #[error("alert {field}: invalid duration {value:?}: {message}")]
    BadDuration {
        field: String,
        value: String,
        message: String,
    },
    /// `conditions` is missing or empty.
    #[error("the alert has no conditions")]
    NoConditions,
    /// A condition whose `type` is not `query` (Grafana registers no other).
    #[error("alert conditions[{index}]: unknown condition type {kind:?} (only \"query\")")]
    UnknownConditionType { index: usize, kind: String },
    /// A condition without `query.params[0]`.
    #[error("alert conditions[{index}].query.params[0]: the query's refId is missing")]
    MissingRefId { index: usize },
    /// A condition naming a query the panel does not have.
    #[error("alert conditions[{index}].query.params[0]: the panel has no query {ref_id:?}")]
    UnknownRefId { index: usize, ref_id: String },
    /// A condition whose range is empty (`to` at or before `from`).
    #[error("alert conditions[{index}].query.params: the range now-{from} to now-{to} is empty")]
    EmptyRange {
        index: usize,
        from: String,
        to: String,
    },
    /// A reducer Grafana 7 does not have.
    #[error("alert conditions[{index}].reducer.type: unknown reducer {reducer:?}")]
    UnknownReducer { index: usize, reducer: String },
    /// An evaluator Grafana 7 does not have.
    #[error("alert conditions[{index}].evaluator.type: unknown evaluator {evaluator:?}")]
    UnknownEvaluator { index: usize, evaluator: String },
    /// An evaluator without the numbers it needs.
    #[error("alert conditions[{index}].evaluator.params: {evaluator} needs {expected} number(s)")]
    EvaluatorParams {
        index: usize,
        evaluator: String,
        expected: usize,
    },
    /// An operator other than `and`/`or`.
    #[error("alert conditions[{index}].operator.type: unknown operator {operator:?} (and, or)")]
    UnknownOperator { index: usize, operator: String },
    /// An unknown `noDataState`.
    #[error("alert noDataState: unknown option {0:?} (no_data, alerting, ok, keep_state)")]
    UnknownNoDataState(String),
    /// An unknown `executionErrorState`.
    #[error("alert executionErrorState: unknown option {0:?} (alerting, keep_state, error)")]
    UnknownExecutionErrorState(String),
    /// A notification reference with neither `uid` nor `id`.
    #[error("alert notifications[{index}]: neither uid nor id")]
    BadNotification { index: usize },
}

/// A duration as written (kept for export) and its value in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText {
    pub text: String,
    pub ms: i64,
}

impl DurationText {
    /// A Go duration (`for`, reminder frequencies).
    pub fn go(text: &str) -> Result<Self, String> {
        let ms = if text.trim().is_empty() {
            0
        } else {
            duration::parse_go_duration(text)?
        };
        Ok(Self {
            text: text.to_string(),
            ms,
        })
    }

    /// A rule's `frequency`.
    pub fn frequency(text: &str) -> Result<Self, String> {
        Ok(Self {
            text: text.to_string(),
            ms: duration::parse_frequency(text)?,
        })
    }

    /// A value in milliseconds, written the way Grafana writes one (`5m`).
    pub fn from_ms(ms: i64) -> Self {
        Self {
            text: duration::format_duration(ms),
            ms,
        }
    }
}

/// Grafana 7's reducers (`conditions/reducer.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReducerKind {
    Avg,
    Sum,
    Min,
    Max,
    Count,
    Last,
    Median,
    Diff,
    DiffAbs,
    PercentDiff,
    PercentDiffAbs,
    CountNonNull,
}

impl ReducerKind {
    /// Every reducer, in Grafana's menu order.
    pub const ALL: [ReducerKind; 12] = [
        ReducerKind::Avg,
        ReducerKind::Min,
        ReducerKind::Max,
        ReducerKind::Sum,
        ReducerKind::Count,
        ReducerKind::Last,
        ReducerKind::Median,
        ReducerKind::Diff,
        ReducerKind::DiffAbs,
        ReducerKind::PercentDiff,
        ReducerKind::PercentDiffAbs,
        ReducerKind::CountNonNull,
    ];

    /// Grafana's id (`avg`, `percent_diff_abs`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReducerKind::Avg => "avg",
            ReducerKind::Sum => "sum",
            ReducerKind::Min => "min",
            ReducerKind::Max => "max",
            ReducerKind::Count => "count",
            ReducerKind::Last => "last",
            ReducerKind::Median => "median",
            ReducerKind::Diff => "diff",
            ReducerKind::DiffAbs => "diff_abs",
            ReducerKind::PercentDiff => "percent_diff",
            ReducerKind::PercentDiffAbs => "percent_diff_abs",
            ReducerKind::CountNonNull => "count_non_null",
        }
    }

    /// The reducer with this id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == id)
    }
}

/// Grafana 7's evaluator types (`conditions/evaluator.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluatorKind {
    /// Above the threshold.
    Gt,
    /// Below the threshold.
    Lt,
    /// Strictly between the two params, in either order.
    WithinRange,
    /// Strictly outside the two params, in either order.
    OutsideRange,
    /// The reduced value is null (no value).
    NoValue,
}

impl EvaluatorKind {
    /// Grafana's id.
    pub fn as_str(self) -> &'static str {
        match self {
            EvaluatorKind::Gt => "gt",
            EvaluatorKind::Lt => "lt",
            EvaluatorKind::WithinRange => "within_range",
            EvaluatorKind::OutsideRange => "outside_range",
            EvaluatorKind::NoValue => "no_value",
        }
    }

    /// The evaluator with this id.
    pub fn parse(id: &str) -> Option<Self> {
        [
            EvaluatorKind::Gt,
            EvaluatorKind::Lt,
            EvaluatorKind::WithinRange,
            EvaluatorKind::OutsideRange,
            EvaluatorKind::NoValue,
        ]
        .into_iter()
        .find(|e| e.as_str() == id)
    }

    /// How many params it reads.
    pub fn params_needed(self) -> usize {
        match self {
            EvaluatorKind::Gt | EvaluatorKind::Lt => 1,
            EvaluatorKind::WithinRange | EvaluatorKind::OutsideRange => 2,
            EvaluatorKind::NoValue => 0,
        }
    }
}

/// An evaluator and its thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluator {
    pub kind: EvaluatorKind,
    /// At least [`EvaluatorKind::params_needed`] numbers (checked when read).
    pub params: Vec<f64>,
}

impl Evaluator {
    /// Whether a reduced value matches, as Grafana's `ThresholdEvaluator`, `RangedEvaluator`
    /// and `NoValueEvaluator` decide: null matches only `no_value`; ranges are strict and
    /// read their two params in either order.
    pub fn matches(&self, value: Option<f64>) -> bool {
        let p = |i: usize| self.params.get(i).copied().unwrap_or(f64::NAN);
        match (self.kind, value) {
            (EvaluatorKind::NoValue, v) => v.is_none(),
            (_, None) => false,
            (EvaluatorKind::Gt, Some(v)) => v > p(0),
            (EvaluatorKind::Lt, Some(v)) => v < p(0),
            (EvaluatorKind::WithinRange, Some(v)) => {
                let (a, b) = (p(0), p(1));
                (a < v && b > v) || (b < v && a > v)
            }
            (EvaluatorKind::OutsideRange, Some(v)) => {
                let (a, b) = (p(0), p(1));
                (b < v && a < v) || (b > v && a > v)
            }
        }
    }
}

/// How a condition combines with the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    #[default]
    And,
    Or,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::And => "and",
            Operator::Or => "or",
        }
    }
}

/// One `query` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The panel's query (target) it runs, even a hidden one.
    pub ref_id: String,
    /// How far back the range starts (`5m`; `now-5m` reads too).
    pub from: DurationText,
    /// How far back the range ends (`now` = 0).
    pub to: DurationText,
    pub reducer: ReducerKind,
    pub evaluator: Evaluator,
    pub operator: Operator,
    /// The condition's JSON as read, written back under the typed fields.
    pub raw: Map<String, Value>,
}

impl Condition {
    /// A new condition (`reducer(refId, from, now) evaluator`).
    pub fn new(ref_id: &str, from_ms: i64, reducer: ReducerKind, evaluator: Evaluator) -> Self {
        Self {
            ref_id: ref_id.to_string(),
            from: DurationText::from_ms(from_ms),
            to: DurationText {
                text: "now".to_string(),
                ms: 0,
            },
            reducer,
            evaluator,
            operator: Operator::And,
            raw: Map::new(),
        }
    }

    /// Grafana's description of the condition, as its editor shows it:
    /// `max() OF query(A, 5m, now) IS ABOVE 0.0042`.
    pub fn describe(&self) -> String {
        let p = |i: usize| {
            self.evaluator
                .params
                .get(i)
                .map_or_else(String::new, |v| format_number(*v))
        };
        let eval = match self.evaluator.kind {
            EvaluatorKind::Gt => format!("IS ABOVE {}", p(0)),
            EvaluatorKind::Lt => format!("IS BELOW {}", p(0)),
            EvaluatorKind::WithinRange => format!("IS WITHIN RANGE {} TO {}", p(0), p(1)),
            EvaluatorKind::OutsideRange => format!("IS OUTSIDE RANGE {} TO {}", p(0), p(1)),
            EvaluatorKind::NoValue => "HAS NO VALUE".to_string(),
        };
        format!(
            "{}() OF query({}, {}, {}) {eval}",
            self.reducer.as_str(),
            self.ref_id,
            self.from.text,
            self.to.text
        )
    }
}

/// What a rule becomes when its queries return no data (`noDataState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataState {
    #[default]
    NoData,
    Alerting,
    Ok,
    KeepState,
}

impl NoDataState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoDataState::NoData => "no_data",
            NoDataState::Alerting => "alerting",
            NoDataState::Ok => "ok",
            NoDataState::KeepState => "keep_state",
        }
    }
}

/// What a rule becomes when a query fails (`executionErrorState`). Grafana 7 has `alerting`
/// and `keep_state`; `error` (an Error state of its own, as Grafana 8's "Error") is Lookout's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionErrorState {
    #[default]
    Alerting,
    KeepState,
    Error,
}

impl ExecutionErrorState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionErrorState::Alerting => "alerting",
            ExecutionErrorState::KeepState => "keep_state",
            ExecutionErrorState::Error => "error",
        }
    }
}

/// A notification channel the rule sends to: `{"uid": …}`, or Grafana ≤ 6's `{"id": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NotificationRef {
    Uid { uid: String },
    Id { id: i64 },
}

/// A legacy alert rule (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub message: String,
    /// How often it is evaluated (`1m`, `60s`).
    pub frequency: DurationText,
    /// How long it must fire before it alerts (`5m`; 0 = at once).
    pub for_duration: DurationText,
    pub conditions: Vec<Condition>,
    pub no_data_state: NoDataState,
    pub execution_error_state: ExecutionErrorState,
    pub notifications: Vec<NotificationRef>,
    /// `alertRuleTags`.
    pub tags: BTreeMap<String, String>,
    /// Grafana's `handler` (1).
    pub handler: Option<i64>,
    /// Lookout: one alert instance per firing series (as Prometheus and Grafana 8 do) rather
    /// than one per rule. Stored as `lookout.perSeries`.
    pub per_series: bool,
    /// The alert JSON as read: written back with the typed fields laid over it, so fields
    /// Lookout does not model survive an import → export round trip.
    pub raw: Map<String, Value>,
}

impl Default for AlertRule {
    fn default() -> Self {
        Self {
            name: String::new(),
            message: String::new(),
            frequency: DurationText::from_ms(60_000),
            for_duration: DurationText::from_ms(0),
            conditions: Vec::new(),
            no_data_state: NoDataState::NoData,
            execution_error_state: ExecutionErrorState::Alerting,
            notifications: Vec::new(),
            tags: BTreeMap::new(),
            handler: Some(1),
            per_series: false,
            raw: Map::new(),
        }
    }
}

fn invalid(field: &str, message: &str) -> RuleError {
    RuleError::InvalidField {
        field: field.to_string(),
        message: message.to_string(),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, RuleError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(field, "expected a string")),
    }
}

/// A tag value or parameter as text (strings as they are, numbers and booleans written out).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number as JSON: whole numbers as integers (so `100` stays `100`).
pub(crate) fn number_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// A threshold as the editor shows it (`0.0042`, `100`).
pub(crate) fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl AlertRule {
    /// Reads a legacy alert (the value of `panel.alert`).
    pub fn from_value(value: &Value) -> Result<Self, RuleError> {
        let obj = value.as_object().ok_or(RuleError::NotAnObject)?;
        let name = opt_str(obj, "name")?.unwrap_or_default().to_string();
        let message = opt_str(obj, "message")?.unwrap_or_default().to_string();
        let frequency = match obj.get("frequency") {
            None | Some(Value::Null) => DurationText::from_ms(60_000),
            Some(v) => {
                let text =
                    scalar_text(v).ok_or_else(|| invalid("frequency", "expected a string"))?;
                DurationText::frequency(&text).map_err(|message| RuleError::BadDuration {
                    field: "frequency".into(),
                    value: text.clone(),
                    message,
                })?
            }
        };
        let for_text = opt_str(obj, "for")?.unwrap_or("");
        let for_duration =
            DurationText::go(for_text).map_err(|message| RuleError::BadDuration {
                field: "for".into(),
                value: for_text.to_string(),
                message,
            })?;
        let no_data_state = match opt_str(obj, "noDataState")?.unwrap_or("no_data") {
            "no_data" | "" => NoDataState::NoData,
            "alerting" => NoDataState::Alerting,
            "ok" => NoDataState::Ok,
            "keep_state" => NoDataState::KeepState,
            other => return Err(RuleError::UnknownNoDataState(other.to_string())),
        };
        let execution_error_state = match opt_str(obj, "executionErrorState")?.unwrap_or("alerting")
        {
            "alerting" | "" => ExecutionErrorState::Alerting,
            "keep_state" => ExecutionErrorState::KeepState,
            "error" => ExecutionErrorState::Error,
            other => return Err(RuleError::UnknownExecutionErrorState(other.to_string())),
        };
        let conditions = match obj.get("conditions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, c)| parse_condition(i, c))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid("conditions", "expected an array")),
        };
        if conditions.is_empty() {
            return Err(RuleError::NoConditions);
        }
        let notifications = match obj.get("notifications") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(index, n)| {
                    if let Some(uid) = n.get("uid").and_then(Value::as_str) {
                        Ok(NotificationRef::Uid {
                            uid: uid.to_string(),
                        })
                    } else if let Some(id) = n.get("id").and_then(Value::as_i64) {
                        Ok(NotificationRef::Id { id })
                    } else {
                        Err(RuleError::BadNotification { index })
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid("notifications", "expected an array")),
        };
        let tags = match obj.get("alertRuleTags") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    scalar_text(v)
                        .map(|t| (k.clone(), t))
                        .ok_or_else(|| invalid(&format!("alertRuleTags.{k}"), "expected a string"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("alertRuleTags", "expected an object")),
        };
        let handler = match obj.get("handler") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| invalid("handler", "expected an integer"))?,
            ),
        };
        let per_series = obj
            .get("lookout")
            .and_then(|l| l.get("perSeries"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Self {
            name,
            message,
            frequency,
            for_duration,
            conditions,
            no_data_state,
            execution_error_state,
            notifications,
            tags,
            handler,
            per_series,
            raw: obj.clone(),
        })
    }

    /// Reads a legacy alert from JSON text.
    pub fn from_json(json: &str) -> Result<Self, RuleError> {
        let value: Value = serde_json::from_str(json).map_err(|e| RuleError::InvalidField {
            field: "(json)".into(),
            message: e.to_string(),
        })?;
        Self::from_value(&value)
    }

    /// The alert JSON: what was read, with the typed fields laid over it.
    pub fn to_value(&self) -> Value {
        let mut obj = self.raw.clone();
        let mut lookout = match obj.remove("lookout") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if self.per_series {
            lookout.insert("perSeries".into(), Value::Bool(true));
        } else {
            lookout.remove("perSeries");
        }
        if !lookout.is_empty() {
            obj.insert("lookout".into(), Value::Object(lookout));
        }
        obj.insert(
            "conditions".into(),
            Value::Array(self.conditions.iter().map(condition_value).collect()),
        );
        obj.insert(
            "executionErrorState".into(),
            self.execution_error_state.as_str().into(),
        );
        if self.for_duration.text.is_empty() && !self.raw.contains_key("for") {
            obj.remove("for");
        } else {
            obj.insert("for".into(), self.for_duration.text.clone().into());
        }
        obj.insert("frequency".into(), self.frequency.text.clone().into());
        match self.handler {
            Some(h) => obj.insert("handler".into(), h.into()),
            None => obj.remove("handler"),
        };
        obj.insert("message".into(), self.message.clone().into());
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("noDataState".into(), self.no_data_state.as_str().into());
        obj.insert(
            "notifications".into(),
            serde_json::to_value(&self.notifications).unwrap_or(Value::Array(Vec::new())),
        );
        if self.tags.is_empty() && !self.raw.contains_key("alertRuleTags") {
            obj.remove("alertRuleTags");
        } else {
            obj.insert(
                "alertRuleTags".into(),
                Value::Object(
                    self.tags
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            );
        }
        Value::Object(obj)
    }

    /// Evaluation interval in milliseconds.
    pub fn frequency_ms(&self) -> i64 {
        self.frequency.ms
    }

    /// `for` in milliseconds.
    pub fn for_ms(&self) -> i64 {
        self.for_duration.ms
    }

    /// Checks the rule against its panel: every condition's refId is one of the panel's
    /// queries (Grafana's extractor refuses an alert that "refers to query(B) that cannot be
    /// found").
    pub fn check_against(&self, cell: &Cell) -> Result<(), RuleError> {
        for (index, c) in self.conditions.iter().enumerate() {
            if !cell.targets.iter().any(|t| t.ref_id == c.ref_id) {
                return Err(RuleError::UnknownRefId {
                    index,
                    ref_id: c.ref_id.clone(),
                });
            }
        }
        Ok(())
    }
}

fn parse_condition(index: usize, value: &Value) -> Result<Condition, RuleError> {
    let field = |f: &str| format!("conditions[{index}].{f}");
    let raw = value
        .as_object()
        .ok_or_else(|| invalid(&format!("conditions[{index}]"), "expected an object"))?
        .clone();
    let kind = raw.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "query" {
        return Err(RuleError::UnknownConditionType {
            index,
            kind: kind.to_string(),
        });
    }
    let params = raw
        .get("query")
        .and_then(|q| q.get("params"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ref_id = params
        .first()
        .and_then(scalar_text)
        .filter(|s| !s.trim().is_empty())
        .ok_or(RuleError::MissingRefId { index })?;
    let duration_param = |i: usize, parse: fn(&str) -> Result<i64, String>| {
        let text = params.get(i).and_then(scalar_text).unwrap_or_default();
        parse(&text)
            .map(|ms| DurationText {
                text: text.clone(),
                ms,
            })
            .map_err(|message| RuleError::BadDuration {
                field: field(&format!("query.params[{i}]")),
                value: text.clone(),
                message,
            })
    };
    let from = duration_param(1, duration::parse_from)?;
    let to = duration_param(2, duration::parse_to)?;
    if from.ms <= to.ms {
        return Err(RuleError::EmptyRange {
            index,
            from: from.text,
            to: to.text,
        });
    }
    let reducer_id = raw
        .get("reducer")
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let reducer = ReducerKind::parse(reducer_id).ok_or_else(|| RuleError::UnknownReducer {
        index,
        reducer: reducer_id.to_string(),
    })?;
    let eval = raw.get("evaluator");
    let eval_id = eval
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = EvaluatorKind::parse(eval_id).ok_or_else(|| RuleError::UnknownEvaluator {
        index,
        evaluator: eval_id.to_string(),
    })?;
    let raw_params = eval
        .and_then(|e| e.get("params"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let needed = kind.params_needed();
    let params_err = || RuleError::EvaluatorParams {
        index,
        evaluator: eval_id.to_string(),
        expected: needed,
    };
    let params: Vec<f64> = raw_params
        .iter()
        .map(Value::as_f64)
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(params_err)?;
    if params.len() < needed || params.iter().take(needed).any(|p| !p.is_finite()) {
        return Err(params_err());
    }
    let operator = match raw
        .get("operator")
        .and_then(|o| o.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("and")
    {
        "and" | "" => Operator::And,
        "or" => Operator::Or,
        other => {
            return Err(RuleError::UnknownOperator {
                index,
                operator: other.to_string(),
            });
        }
    };
    Ok(Condition {
        ref_id,
        from,
        to,
        reducer,
        evaluator: Evaluator { kind, params },
        operator,
        raw,
    })
}

/// Sets `obj[key]` to an object with `fields` laid over what was there.
fn overlay(obj: &mut Map<String, Value>, key: &str, fields: Vec<(&str, Value)>) {
    let mut inner = match obj.remove(key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (k, v) in fields {
        inner.insert(k.to_string(), v);
    }
    obj.insert(key.to_string(), Value::Object(inner));
}

fn condition_value(c: &Condition) -> Value {
    let mut obj = c.raw.clone();
    obj.insert("type".into(), "query".into());
    // Keep the params as written when they still say the same (`100` stays `100`).
    let same_params = obj
        .get("evaluator")
        .and_then(|e| e.get("params"))
        .and_then(Value::as_array)
        .is_some_and(|old| {
            old.len() == c.evaluator.params.len()
                && old
                    .iter()
                    .zip(&c.evaluator.params)
                    .all(|(o, n)| o.as_f64() == Some(*n))
        });
    let mut eval_fields = vec![("type", Value::from(c.evaluator.kind.as_str()))];
    if !same_params {
        eval_fields.push((
            "params",
            Value::Array(
                c.evaluator
                    .params
                    .iter()
                    .map(|v| number_value(*v))
                    .collect(),
            ),
        ));
    }
    overlay(&mut obj, "evaluator", eval_fields);
    overlay(
        &mut obj,
        "operator",
        vec![("type", c.operator.as_str().into())],
    );
    overlay(
        &mut obj,
        "query",
        vec![(
            "params",
            Value::Array(vec![
                c.ref_id.clone().into(),
                c.from.text.clone().into(),
                c.to.text.clone().into(),
            ]),
        )],
    );
    let had_reducer_params = obj.get("reducer").and_then(|r| r.get("params")).is_some();
    let mut reducer_fields = vec![("type", Value::from(c.reducer.as_str()))];
    if !had_reducer_params {
        reducer_fields.push(("params", Value::Array(Vec::new())));
    }
    overlay(&mut obj, "reducer", reducer_fields);
    Value::Object(obj)
}

impl Serialize for AlertRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for AlertRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        AlertRule::from_value(&v).map_err(serde::de::Error::custom)
    }
}

/// The rule a panel carries: `None` without one, else the rule or why it cannot be used
/// (including a condition naming a query the panel lacks). Any panel type may carry one.
pub fn rule_of(cell: &Cell) -> Option<Result<AlertRule, RuleError>> {
    let alert = cell.alert.as_ref()?;
    Some(AlertRule::from_value(alert).and_then(|r| {
        r.check_against(cell)?;
        Ok(r)
    }))
}

/// Stores `rule` as the panel's alert (its JSON, unknown fields kept).
pub fn set_rule(cell: &mut Cell, rule: &AlertRule) {
    cell.alert = Some(rule.to_value());
}

/// Every panel's rule on a dashboard, by panel (cell) id.
pub fn dashboard_rules(dashboard: &Dashboard) -> Vec<(u64, Result<AlertRule, RuleError>)> {
    dashboard
        .panels
        .iter()
        .filter_map(|c| rule_of(c).map(|r| (c.id, r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "conditions": [{
                "evaluator": {"params": [0.0042], "type": "gt"},
                "operator": {"type": "and"},
                "query": {"datasourceId": 1, "model": {"refId": "A"}, "params": ["A", "5m", "now"]},
                "reducer": {"params": [], "type": "max"},
                "type": "query"
            }],
            "executionErrorState": "alerting",
            "for": "5m",
            "frequency": "1m",
            "handler": 1,
            "message": "P90 above 4.2 ms",
            "name": "P90 inference time",
            "noDataState": "no_data",
            "notifications": [{"uid": "slack-ops"}, {"id": 3}],
            "alertRuleTags": {"team": "ml"},
            "somethingNew": {"kept": true}
        })
    }

    #[test]
    fn reads_and_round_trips() {
        let rule = AlertRule::from_value(&sample()).unwrap();
        assert_eq!(rule.name, "P90 inference time");
        assert_eq!(rule.frequency_ms(), 60_000);
        assert_eq!(rule.for_ms(), 300_000);
        let c = &rule.conditions[0];
        assert_eq!(c.ref_id, "A");
        assert_eq!((c.from.ms, c.to.ms), (300_000, 0));
        assert_eq!(c.reducer, ReducerKind::Max);
        assert_eq!(c.evaluator.kind, EvaluatorKind::Gt);
        assert_eq!(c.evaluator.params, vec![0.0042]);
        assert_eq!(
            rule.notifications,
            vec![
                NotificationRef::Uid {
                    uid: "slack-ops".into()
                },
                NotificationRef::Id { id: 3 }
            ]
        );
        assert_eq!(rule.tags.get("team").map(String::as_str), Some("ml"));
        assert_eq!(c.describe(), "max() OF query(A, 5m, now) IS ABOVE 0.0042");
        assert_eq!(rule.to_value(), sample());
        // serde goes the same way.
        let text = serde_json::to_string(&rule).unwrap();
        let back: AlertRule = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rule);
    }

    #[test]
    fn per_series_is_stored_where_grafana_ignores_it() {
        let mut rule = AlertRule::from_value(&sample()).unwrap();
        rule.per_series = true;
        let v = rule.to_value();
        assert_eq!(v["lookout"], json!({"perSeries": true}));
        let back = AlertRule::from_value(&v).unwrap();
        assert!(back.per_series);
        rule.per_series = false;
        assert!(rule.to_value().get("lookout").is_none());
    }

    #[test]
    fn edits_are_written_over_the_original() {
        let mut rule = AlertRule::from_value(&sample()).unwrap();
        rule.conditions[0].evaluator = Evaluator {
            kind: EvaluatorKind::WithinRange,
            params: vec![1.0, 2.5],
        };
        rule.conditions[0].operator = Operator::Or;
        let v = rule.to_value();
        assert_eq!(
            v["conditions"][0]["evaluator"],
            json!({"type": "within_range", "params": [1, 2.5]})
        );
        assert_eq!(v["conditions"][0]["operator"], json!({"type": "or"}));
        assert_eq!(v["conditions"][0]["query"]["datasourceId"], json!(1));
    }

    fn err_of(patch: impl FnOnce(&mut Value)) -> RuleError {
        let mut v = sample();
        patch(&mut v);
        AlertRule::from_value(&v).unwrap_err()
    }

    #[test]
    fn invalid_rules_name_the_place() {
        assert_eq!(
            err_of(|v| v["conditions"][0]["reducer"]["type"] = json!("p99")),
            RuleError::UnknownReducer {
                index: 0,
                reducer: "p99".into()
            }
        );
        assert_eq!(
            err_of(|v| v["conditions"][0]["evaluator"]["type"] = json!("eq")),
            RuleError::UnknownEvaluator {
                index: 0,
                evaluator: "eq".into()
            }
        );
        assert_eq!(
            err_of(|v| v["conditions"][0]["evaluator"] =
                json!({"type": "within_range", "params": [1]})),
            RuleError::EvaluatorParams {
                index: 0,
                evaluator: "within_range".into(),
                expected: 2
            }
        );
        assert_eq!(
            err_of(|v| v["conditions"][0]["query"]["params"] = json!([])),
            RuleError::MissingRefId { index: 0 }
        );
        assert!(matches!(
            err_of(|v| v["conditions"][0]["query"]["params"] = json!(["A", "five", "now"])),
            RuleError::BadDuration { ref field, .. } if field == "conditions[0].query.params[1]"
        ));
        assert!(matches!(
            err_of(|v| v["conditions"][0]["query"]["params"] = json!(["A", "1m", "now-5m"])),
            RuleError::EmptyRange { index: 0, .. }
        ));
        assert!(matches!(
            err_of(|v| v["frequency"] = json!("0s")),
            RuleError::BadDuration { ref field, .. } if field == "frequency"
        ));
        assert!(matches!(
            err_of(|v| v["for"] = json!("5 minutes")),
            RuleError::BadDuration { ref field, .. } if field == "for"
        ));
        assert_eq!(
            err_of(|v| v["noDataState"] = json!("maybe")),
            RuleError::UnknownNoDataState("maybe".into())
        );
        assert_eq!(
            err_of(|v| v["executionErrorState"] = json!("ok")),
            RuleError::UnknownExecutionErrorState("ok".into())
        );
        assert_eq!(
            err_of(|v| v["conditions"] = json!([])),
            RuleError::NoConditions
        );
        assert_eq!(
            err_of(|v| v["conditions"][0]["type"] = json!("time")),
            RuleError::UnknownConditionType {
                index: 0,
                kind: "time".into()
            }
        );
        assert_eq!(
            err_of(|v| v["notifications"] = json!([{"name": "x"}])),
            RuleError::BadNotification { index: 0 }
        );
        assert_eq!(
            err_of(|v| v["conditions"][0]["operator"]["type"] = json!("xor")),
            RuleError::UnknownOperator {
                index: 0,
                operator: "xor".into()
            }
        );
        assert_eq!(
            AlertRule::from_value(&json!([1])).unwrap_err(),
            RuleError::NotAnObject
        );
        assert!(AlertRule::from_json("{").is_err());
        // Messages name the place.
        let e = err_of(|v| v["conditions"][0]["reducer"]["type"] = json!("p99"));
        assert!(e.to_string().contains("conditions[0].reducer.type"), "{e}");
    }

    #[test]
    fn defaults_as_grafana() {
        let v = json!({
            "conditions": [{"type": "query", "query": {"params": ["A", "now-10m", "now-1m"]},
                            "reducer": {"type": "avg"}, "evaluator": {"type": "no_value"}}],
        });
        let rule = AlertRule::from_value(&v).unwrap();
        assert_eq!(rule.no_data_state, NoDataState::NoData);
        assert_eq!(rule.execution_error_state, ExecutionErrorState::Alerting);
        assert_eq!(rule.for_ms(), 0);
        assert_eq!(rule.frequency_ms(), 60_000);
        assert_eq!(rule.conditions[0].operator, Operator::And);
        assert_eq!(
            (rule.conditions[0].from.ms, rule.conditions[0].to.ms),
            (600_000, 60_000)
        );
    }

    #[test]
    fn panels_carry_rules() {
        let mut cell = Cell::default();
        assert!(rule_of(&cell).is_none());
        let mut rule = AlertRule::from_value(&sample()).unwrap();
        set_rule(&mut cell, &rule);
        assert_eq!(rule_of(&cell), Some(Ok(rule.clone())));
        cell.panel.kind = lookout_dashboard::PanelKind::Stat;
        assert!(matches!(rule_of(&cell), Some(Ok(_))));
        rule.conditions[0].ref_id = "B".into();
        set_rule(&mut cell, &rule);
        assert_eq!(
            rule_of(&cell),
            Some(Err(RuleError::UnknownRefId {
                index: 0,
                ref_id: "B".into()
            }))
        );
        cell.alert = Some(json!("nonsense"));
        assert_eq!(rule_of(&cell), Some(Err(RuleError::NotAnObject)));
    }

    #[test]
    fn evaluators_as_grafana() {
        let e = |kind, params: &[f64]| Evaluator {
            kind,
            params: params.to_vec(),
        };
        let gt = e(EvaluatorKind::Gt, &[5.0]);
        assert!(gt.matches(Some(6.0)) && !gt.matches(Some(5.0)) && !gt.matches(None));
        let lt = e(EvaluatorKind::Lt, &[5.0]);
        assert!(lt.matches(Some(4.0)) && !lt.matches(Some(5.0)) && !lt.matches(None));
        for params in [[1.0, 10.0], [10.0, 1.0]] {
            let within = e(EvaluatorKind::WithinRange, &params);
            assert!(within.matches(Some(5.0)));
            assert!(!within.matches(Some(1.0)) && !within.matches(Some(10.0)));
            assert!(!within.matches(Some(11.0)) && !within.matches(None));
            let outside = e(EvaluatorKind::OutsideRange, &params);
            assert!(outside.matches(Some(11.0)) && outside.matches(Some(0.0)));
            assert!(!outside.matches(Some(5.0)) && !outside.matches(Some(10.0)));
            assert!(!outside.matches(None));
        }
        let none = e(EvaluatorKind::NoValue, &[]);
        assert!(none.matches(None) && !none.matches(Some(0.0)));
    }
}
