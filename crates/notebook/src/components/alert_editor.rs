//! The panel editor's "Alert" section, as Grafana 7's alert tab: name, evaluate every, for,
//! conditions (reducer, query, from, to, evaluator and its params, and/or; added and
//! removed), no data and error handling, message, tags, notification channels (the server's
//! list when there is one, uids typed otherwise) and Lookout's per-series option.
//!
//! The form is a draft of text fields; every change builds the alert's JSON over the stored
//! one (unknown fields kept), reads it back with `AlertRule::from_value` and checks it
//! against the panel's queries: a valid rule is stored in the panel with `set_rule` (so it is
//! saved, versioned, synced and exported with the dashboard), an invalid one shows the
//! `RuleError` and is not stored. A new rule ("Create alert") is stored at its first change
//! or when the editor closes. "Test rule" evaluates the stored rule once now through the
//! panel's source and shows Grafana's condition trace, the matches and each condition's
//! series.

use leptos::prelude::*;
use lookout_alerts::{AlertRule, EvalResult, EvaluatorKind, ReducerKind, rule_of, set_rule};
use lookout_dashboard::Cell;
use serde_json::{Map, Value, json};

use crate::alerting::{evaluate_once, use_alerts};
use crate::components::notebook::use_notebook;
use crate::page_feed::use_feed;
use crate::platform::now_ms;

const EVALUATORS: [(&str, &str); 5] = [
    ("gt", "IS ABOVE"),
    ("lt", "IS BELOW"),
    ("outside_range", "IS OUTSIDE RANGE"),
    ("within_range", "IS WITHIN RANGE"),
    ("no_value", "HAS NO VALUE"),
];
const NO_DATA: [(&str, &str); 4] = [
    ("no_data", "No Data"),
    ("alerting", "Alerting"),
    ("keep_state", "Keep Last State"),
    ("ok", "OK"),
];
const EXEC_ERROR: [(&str, &str); 3] = [
    ("alerting", "Alerting"),
    ("keep_state", "Keep Last State"),
    ("error", "Error"),
];

#[derive(Debug, Clone, PartialEq, Default)]
struct CondDraft {
    operator: String,
    reducer: String,
    ref_id: String,
    from: String,
    to: String,
    evaluator: String,
    p0: String,
    p1: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Draft {
    name: String,
    frequency: String,
    for_: String,
    conditions: Vec<CondDraft>,
    no_data: String,
    exec_error: String,
    message: String,
    /// `key=value` per line.
    tags: String,
    /// Channel uids, comma separated.
    channels: String,
    per_series: bool,
}

fn number_text(v: Option<&f64>) -> String {
    v.map(|v| {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            format!("{}", *v as i64)
        } else {
            v.to_string()
        }
    })
    .unwrap_or_default()
}

impl Draft {
    fn of(rule: &AlertRule) -> Self {
        Self {
            name: rule.name.clone(),
            frequency: rule.frequency.text.clone(),
            for_: rule.for_duration.text.clone(),
            conditions: rule
                .conditions
                .iter()
                .map(|c| CondDraft {
                    operator: c.operator.as_str().into(),
                    reducer: c.reducer.as_str().into(),
                    ref_id: c.ref_id.clone(),
                    from: c.from.text.clone(),
                    to: c.to.text.clone(),
                    evaluator: c.evaluator.kind.as_str().into(),
                    p0: number_text(c.evaluator.params.first()),
                    p1: number_text(c.evaluator.params.get(1)),
                })
                .collect(),
            no_data: rule.no_data_state.as_str().into(),
            exec_error: rule.execution_error_state.as_str().into(),
            message: rule.message.clone(),
            tags: rule
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            channels: rule
                .notifications
                .iter()
                .map(|n| match n {
                    lookout_alerts::NotificationRef::Uid { uid } => uid.clone(),
                    lookout_alerts::NotificationRef::Id { id } => format!("#{id}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
            per_series: rule.per_series,
        }
    }

    /// A new rule for `cell`: the average of its first query over 5 minutes above 0.
    fn new_for(cell: &Cell) -> Self {
        let ref_id = cell
            .targets
            .first()
            .map(|t| t.ref_id.clone())
            .unwrap_or_else(|| "A".into());
        Self {
            name: format!("{} alert", cell.title),
            frequency: "1m".into(),
            for_: "5m".into(),
            conditions: vec![CondDraft {
                operator: "and".into(),
                reducer: "avg".into(),
                ref_id,
                from: "5m".into(),
                to: "now".into(),
                evaluator: "gt".into(),
                p0: "0".into(),
                p1: String::new(),
            }],
            no_data: "no_data".into(),
            exec_error: "alerting".into(),
            ..Self::default()
        }
    }

    fn channel_uids(&self) -> Vec<String> {
        self.channels
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The alert's JSON: `base` (the stored alert) with the draft laid over it.
    fn to_value(&self, base: Option<&Value>) -> Value {
        let mut obj: Map<String, Value> =
            base.and_then(Value::as_object).cloned().unwrap_or_default();
        let old_conditions: Vec<Value> = obj
            .get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let param = |s: &str| -> Value {
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(t.to_string()), Value::Number)
        };
        let conditions: Vec<Value> = self
            .conditions
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut o = old_conditions
                    .get(i)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                o.insert("type".into(), "query".into());
                let mut query = o
                    .get("query")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                query.insert(
                    "params".into(),
                    json!([c.ref_id.trim(), c.from.trim(), c.to.trim()]),
                );
                o.insert("query".into(), Value::Object(query));
                let mut reducer = o
                    .get("reducer")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                reducer.insert("type".into(), c.reducer.clone().into());
                reducer
                    .entry("params")
                    .or_insert_with(|| Value::Array(Vec::new()));
                o.insert("reducer".into(), Value::Object(reducer));
                let needed = EvaluatorKind::parse(&c.evaluator).map_or(2, |k| k.params_needed());
                let params: Vec<Value> = [&c.p0, &c.p1]
                    .iter()
                    .take(needed)
                    .map(|p| param(p))
                    .collect();
                o.insert(
                    "evaluator".into(),
                    json!({"type": c.evaluator, "params": params}),
                );
                o.insert("operator".into(), json!({"type": c.operator}));
                Value::Object(o)
            })
            .collect();
        obj.insert("conditions".into(), Value::Array(conditions));
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("message".into(), self.message.clone().into());
        obj.insert("frequency".into(), self.frequency.trim().into());
        obj.insert("for".into(), self.for_.trim().into());
        obj.insert("noDataState".into(), self.no_data.clone().into());
        obj.insert("executionErrorState".into(), self.exec_error.clone().into());
        obj.entry("handler").or_insert(json!(1));
        let notifications: Vec<Value> = self
            .channel_uids()
            .into_iter()
            .map(
                |u| match u.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
                    Some(id) => json!({"id": id}),
                    None => json!({"uid": u}),
                },
            )
            .collect();
        obj.insert("notifications".into(), Value::Array(notifications));
        let mut tags = Map::new();
        for line in self.tags.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            tags.insert(k.trim().to_string(), v.trim().into());
        }
        if tags.is_empty() {
            obj.remove("alertRuleTags");
        } else {
            obj.insert("alertRuleTags".into(), Value::Object(tags));
        }
        let mut lookout = obj
            .get("lookout")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        lookout.insert("perSeries".into(), self.per_series.into());
        obj.insert("lookout".into(), Value::Object(lookout));
        Value::Object(obj)
    }
}

/// `alert` of `cell` checked: the rule, or the error text.
fn check(value: &Value, cell: &Cell) -> Result<AlertRule, String> {
    let rule = AlertRule::from_value(value).map_err(|e| e.to_string())?;
    rule.check_against(cell).map_err(|e| e.to_string())?;
    Ok(rule)
}

fn options(list: &'static [(&'static str, &'static str)], current: String) -> impl IntoView {
    list.iter()
        .map(|(v, text)| {
            view! { <option value=*v selected=current == *v>{*text}</option> }
        })
        .collect_view()
}

#[component]
pub fn AlertEditor(id: u64) -> impl IntoView {
    let ctx = use_notebook();
    let alerts = use_alerts();
    let feed = use_feed();
    let cell = Memo::new(move |_| ctx.doc.with(|d| d.panel(id).cloned()));
    let has_alert =
        Memo::new(move |_| cell.with(|c| c.as_ref().is_some_and(|c| c.alert.is_some())));
    let initial = cell.with_untracked(|c| {
        let c = c.as_ref()?;
        let v = c.alert.as_ref()?;
        Some(match AlertRule::from_value(v) {
            Ok(r) => (Draft::of(&r), check(v, c).err()),
            Err(e) => (Draft::default(), Some(e.to_string())),
        })
    });
    let (draft0, error0) = initial.unwrap_or_default();
    let draft = RwSignal::new(draft0);
    let error = RwSignal::new(error0);
    let tested = RwSignal::new(None::<EvalResult>);
    let testing = RwSignal::new(false);
    // Every change: checked, and stored when valid.
    // A new rule (Create) is a draft until its first change or until the editor closes, so
    // what the server first sees is what was asked for.
    let drafting = RwSignal::new(false);
    let commit = move || {
        let Some(Some(c)) = ctx.doc.try_with_untracked(|d| d.panel(id).cloned()) else {
            return;
        };
        let Some(value) = draft.try_with_untracked(|d| d.to_value(c.alert.as_ref())) else {
            return;
        };
        match check(&value, &c) {
            Ok(rule) => {
                let _ = error.try_set(None);
                let _ = drafting.try_set(false);
                ctx.update_cell(id, |c| set_rule(c, &rule));
                alerts.hurry();
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        }
    };
    on_cleanup(move || {
        if drafting.try_get_untracked() == Some(true) {
            commit();
        }
    });
    let edit = move |f: Box<dyn FnOnce(&mut Draft)>| {
        draft.update(|d| f(d));
        commit();
    };
    let create = move |_| {
        if let Some(c) = cell.get_untracked() {
            draft.set(Draft::new_for(&c));
            error.set(None);
            drafting.set(true);
        }
    };
    let remove = move |_| {
        ctx.update_cell(id, |c| c.alert = None);
        drafting.set(false);
        error.set(None);
        tested.set(None);
    };
    let test = move |_| {
        if drafting.get_untracked() {
            commit();
        }
        let Some(c) = cell.get_untracked() else {
            return;
        };
        let rule = match rule_of(&c) {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                error.set(Some(e.to_string()));
                return;
            }
            None => return,
        };
        testing.set(true);
        let d = ctx.doc.get_untracked();
        leptos::task::spawn_local(async move {
            let r = evaluate_once(feed, &rule, &c, &d, now_ms()).await;
            let _ = tested.try_set(Some(r));
            let _ = testing.try_set(false);
        });
    };
    let text_field = move |label: &'static str,
                           class: &'static str,
                           size: &'static str,
                           get: fn(&Draft) -> String,
                           set: fn(&mut Draft, String)| {
        view! {
            <label>{label}" "
                <input class=class size=size prop:value=move || draft.with(get)
                    on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| set(d, v))); } />
            </label>
        }
    };
    let ref_ids = move || {
        cell.with(|c| {
            c.as_ref()
                .map(|c| {
                    c.targets
                        .iter()
                        .map(|t| t.ref_id.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let n_conditions = Memo::new(move |_| draft.with(|d| d.conditions.len()));
    let condition_row = move |i: usize| {
        let get = move |f: fn(&CondDraft) -> String| {
            move || draft.with(|d| d.conditions.get(i).map(f).unwrap_or_default())
        };
        let set = move |f: fn(&mut CondDraft, String)| {
            move |ev: web_sys::Event| {
                let v = event_target_value(&ev);
                edit(Box::new(move |d| {
                    if let Some(c) = d.conditions.get_mut(i) {
                        f(c, v);
                    }
                }));
            }
        };
        let needed = move || {
            draft.with(|d| {
                d.conditions
                    .get(i)
                    .and_then(|c| EvaluatorKind::parse(&c.evaluator))
                    .map_or(1, EvaluatorKind::params_needed)
            })
        };
        view! {
            <div class="alert-condition" data-index=i.to_string()>
                {if i == 0 {
                    view! { <span class="alert-when">"WHEN"</span> }.into_any()
                } else {
                    view! {
                        <select class="alert-operator" on:change=set(|c, v| c.operator = v)>
                            {move || { let cur = get(|c| c.operator.clone())(); options(&[("and", "AND"), ("or", "OR")], cur) }}
                        </select>
                    }.into_any()
                }}
                <select class="alert-reducer" aria-label="Reducer" on:change=set(|c, v| c.reducer = v)>
                    {move || {
                        let cur = get(|c| c.reducer.clone())();
                        ReducerKind::ALL.iter().map(|r| {
                            let v = r.as_str();
                            view! { <option value=v selected=cur == v>{format!("{v}()")}</option> }
                        }).collect_view()
                    }}
                </select>
                " OF query("
                <select class="alert-ref" aria-label="Query" on:change=set(|c, v| c.ref_id = v)>
                    {move || {
                        let cur = get(|c| c.ref_id.clone())();
                        let mut ids = ref_ids();
                        if !ids.contains(&cur) { ids.push(cur.clone()); }
                        ids.into_iter().map(|r| {
                            let sel = r == cur;
                            view! { <option value=r.clone() selected=sel>{r.clone()}</option> }
                        }).collect_view()
                    }}
                </select>
                ", "
                <input class="alert-from" size="5" aria-label="From" prop:value=get(|c| c.from.clone()) on:change=set(|c, v| c.from = v) />
                ", "
                <input class="alert-to" size="5" aria-label="To" prop:value=get(|c| c.to.clone()) on:change=set(|c, v| c.to = v) />
                ") "
                <select class="alert-evaluator" aria-label="Evaluator" on:change=set(|c, v| c.evaluator = v)>
                    {move || { let cur = get(|c| c.evaluator.clone())(); options(&EVALUATORS, cur) }}
                </select>
                <Show when=move || { needed() >= 1 }>
                    <input class="alert-param0" size="7" aria-label="Threshold" prop:value=get(|c| c.p0.clone()) on:change=set(|c, v| c.p0 = v) />
                </Show>
                <Show when=move || { needed() >= 2 }>
                    " TO "
                    <input class="alert-param1" size="7" aria-label="Second threshold" prop:value=get(|c| c.p1.clone()) on:change=set(|c, v| c.p1 = v) />
                </Show>
                <button class="alert-remove-condition icon" title="Remove this condition"
                    on:click=move |_| edit(Box::new(move |d| { if d.conditions.len() > 1 && i < d.conditions.len() { d.conditions.remove(i); } }))>"×"</button>
            </div>
        }
    };
    let channel_boxes = move || {
        alerts.channels.get().map(|list| {
            list.into_iter()
                .map(|ch| {
                    let uid = ch.uid.clone();
                    let uid2 = ch.uid.clone();
                    let checked = move || draft.with(|d| d.channel_uids().contains(&uid));
                    view! {
                        <label class="alert-channel" data-uid=ch.uid.clone()>
                            <input type="checkbox" prop:checked=checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let uid = uid2.clone();
                                    edit(Box::new(move |d| {
                                        let mut uids = d.channel_uids();
                                        uids.retain(|u| *u != uid);
                                        if on { uids.push(uid); }
                                        d.channels = uids.join(", ");
                                    }));
                                } />
                            {format!(" {} ({}, {})", ch.name, ch.kind, ch.uid)}
                        </label>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="alert-editor" id="alert-editor">
            <h4>"Alert"</h4>
            <Show when=move || has_alert.get() || drafting.get()
                fallback=move || view! { <button id="alert-create" on:click=create>"Create alert"</button> }>
                <div class="option-grid">
                    {text_field("Name", "alert-name", "30", |d| d.name.clone(), |d, v| d.name = v)}
                    {text_field("Evaluate every", "alert-frequency", "5", |d| d.frequency.clone(), |d, v| d.frequency = v)}
                    {text_field("For", "alert-for", "5", |d| d.for_.clone(), |d, v| d.for_ = v)}
                </div>
                <div class="alert-conditions">
                    <h5>"Conditions"</h5>
                    {move || (0..n_conditions.get()).map(condition_row).collect_view()}
                    <button id="alert-add-condition" on:click=move |_| edit(Box::new(|d| {
                        let mut c = d.conditions.last().cloned().unwrap_or_default();
                        c.operator = "and".into();
                        d.conditions.push(c);
                    }))>"+ Condition"</button>
                </div>
                <div class="option-grid">
                    <label>"If no data or all values are null "
                        <select class="alert-nodata" on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| d.no_data = v)); }>
                            {move || options(&NO_DATA, draft.with(|d| d.no_data.clone()))}
                        </select>
                    </label>
                    <label>"If execution error or timeout "
                        <select class="alert-execerror" on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| d.exec_error = v)); }>
                            {move || options(&EXEC_ERROR, draft.with(|d| d.exec_error.clone()))}
                        </select>
                    </label>
                    <label>
                        <input type="checkbox" class="alert-per-series" prop:checked=move || draft.with(|d| d.per_series)
                            on:change=move |ev| { let on = event_target_checked(&ev); edit(Box::new(move |d| d.per_series = on)); } />
                        " One alert per series"
                    </label>
                </div>
                <div class="alert-notifications">
                    <h5>"Notifications"</h5>
                    <div class="alert-channels">{channel_boxes}</div>
                    <label>"Send to (channel uids) "
                        <input class="alert-channel-uids" size="30" prop:value=move || draft.with(|d| d.channels.clone())
                            on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| d.channels = v)); } />
                    </label>
                    <label class="alert-message-label">"Message "
                        <textarea class="alert-message" rows="2" prop:value=move || draft.with(|d| d.message.clone())
                            on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| d.message = v)); }></textarea>
                    </label>
                    <label class="alert-tags-label">"Tags (key=value, one a line) "
                        <textarea class="alert-tags" rows="2" prop:value=move || draft.with(|d| d.tags.clone())
                            on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| d.tags = v)); }></textarea>
                    </label>
                    <p class="note">"Notifications are sent by lookout serve (its channels); the page never sends them."</p>
                </div>
                <Show when=move || drafting.get()>
                    <p class="note" id="alert-draft-note">"New alert: stored in the panel at its first change, or when the editor closes."</p>
                </Show>
                <p class="error alert-error" id="alert-error" role="alert">{move || error.get().unwrap_or_default()}</p>
                <div class="alert-actions">
                    <button id="alert-test" disabled=move || testing.get() on:click=test>"Test rule"</button>
                    <button id="alert-remove" class="danger" on:click=remove>"Remove alert"</button>
                </div>
                {move || tested.get().map(|r| view! { <TestResult result=r /> })}
            </Show>
        </section>
    }
}

#[component]
fn TestResult(result: EvalResult) -> impl IntoView {
    let verdict = if let Some(e) = &result.error {
        format!("Error: {e}")
    } else if result.firing {
        "Firing".to_string()
    } else if result.no_data {
        "No data".to_string()
    } else {
        "Not firing".to_string()
    };
    let state = if result.error.is_some() {
        "error"
    } else if result.firing {
        "alerting"
    } else if result.no_data {
        "no_data"
    } else {
        "ok"
    };
    let matches = result
        .matches
        .iter()
        .map(|m| {
            let v = m
                .value
                .map_or_else(|| "null".to_string(), |v| v.to_string());
            view! { <li class="alert-test-match">{format!("{} = {v}", m.metric)}</li> }
        })
        .collect_view();
    let conditions = result
        .conditions
        .iter()
        .map(|c| {
            let series = c
                .series
                .iter()
                .map(|s| {
                    let v = s.value.map_or_else(|| "null".to_string(), |v| v.to_string());
                    view! {
                        <tr class="alert-test-series" class:matched=s.matched>
                            <td>{s.metric.clone()}</td><td>{v}</td><td>{s.points.to_string()}</td>
                            <td>{if s.matched { "matched" } else { "" }}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <div class="alert-test-condition">
                    <p class="alert-test-description">{format!("{}. {}", c.index + 1, c.description)}
                        {format!(" → {}", if c.firing { "true" } else if c.no_data { "no data" } else { "false" })}</p>
                    {c.query.clone().map(|q| view! { <p class="note">{format!("query: {q}")}</p> })}
                    {c.error.clone().map(|e| view! { <p class="error">{e}</p> })}
                    <table class="alert-test-table">
                        <thead><tr><th>"series"</th><th>"value"</th><th>"points"</th><th></th></tr></thead>
                        <tbody>{series}</tbody>
                    </table>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="alert-test" id="alert-test-result" data-state=state>
            <p class="alert-test-verdict">{verdict}</p>
            <p class="alert-test-evals">{format!("Conditions: {}", result.condition_evals)}</p>
            <ul class="alert-test-matches">{matches}</ul>
            {conditions}
        </div>
    }
}
