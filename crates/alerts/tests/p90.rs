//! The users' rule over the real engine: "max() of the last 5 minutes of the P90 inference
//! time above 0.0042", on the seed dashboard's P90 panel, evaluated every minute across a
//! timeline whose P90 crosses 0.0042 at a known time and drops back later.

use std::cell::RefCell;
use std::rc::Rc;

use lookout_alerts::notify::{
    AlertmanagerSettings, SlackSettings, alertmanager_alerts, slack_payload,
};
use lookout_alerts::{
    AlertRule, AlertState, Channel, ChannelKind, Notification, PayloadContext, RuleState, Secret,
    channels_for, due, evaluate, rule_of, set_rule, step_with,
};
use lookout_dashboard::builtin;
use lookout_datasource::{Embedded, EmbeddedStore, block_on_ready};
use lookout_promql::{Engine, Labels};
use serde_json::json;

/// Minute- and hour-aligned (UTC): "00:00" of the timeline.
const BASE: i64 = 1_699_999_200_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const SCRAPE: i64 = 15 * SEC;
/// The first scrape with slow observations.
const SLOW_FROM: i64 = BASE + 25 * MIN + 15 * SEC;
/// The last scrape with slow observations.
const SLOW_UNTIL: i64 = BASE + 40 * MIN;

/// `inference_time_bucket{job="model"}` every 15 s for 70 minutes. Each scrape observes 5
/// requests ≤ 1 ms and 5 in (1 ms, 2.5 ms] (P90 = 2.2 ms); from `SLOW_FROM` to `SLOW_UNTIL`
/// also 10,000 in (2.5 ms, 5 ms], so any 5-minute window holding one of those scrapes has a
/// P90 of about 4.7 ms.
fn store() -> EmbeddedStore {
    let mut store = EmbeddedStore::default();
    let les = ["0.001", "0.0025", "0.005", "0.01", "+Inf"];
    let mut counts = [0.0_f64; 5];
    let mut t = BASE;
    while t <= BASE + 70 * MIN {
        let slow = if (SLOW_FROM..=SLOW_UNTIL).contains(&t) {
            10_000.0
        } else {
            0.0
        };
        let per_scrape = [5.0, 10.0, 10.0 + slow, 10.0 + slow, 10.0 + slow];
        for (i, le) in les.iter().enumerate() {
            counts[i] += per_scrape[i];
            let labels = Labels::from_pairs(&[
                ("__name__", "inference_time_bucket"),
                ("job", "model"),
                ("le", le),
            ]);
            store.storage.append(&labels, t, counts[i]).unwrap();
        }
        t += SCRAPE;
    }
    store
}

fn at(minute: i64) -> i64 {
    BASE + minute * MIN
}

#[test]
fn p90_rule_over_the_engine() {
    let source = Embedded::new(Rc::new(RefCell::new(store())), Engine::default(), "test");
    let mut dashboard = builtin::seed();
    let cell = dashboard
        .panels
        .iter_mut()
        .find(|c| c.title == "P90 Model Inference Time")
        .unwrap();
    assert_eq!(
        cell.targets[0].expr,
        "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))"
    );
    let rule = AlertRule::from_value(&json!({
        "name": "P90 inference time",
        "message": "P90 inference time above 4.2 ms",
        "frequency": "1m",
        "for": "5m",
        "noDataState": "no_data",
        "executionErrorState": "alerting",
        "handler": 1,
        "alertRuleTags": {"team": "ml"},
        "notifications": [{"uid": "ops-slack"}, {"uid": "am"}],
        "conditions": [{
            "type": "query",
            "query": {"params": ["A", "5m", "now"]},
            "reducer": {"type": "max", "params": []},
            "evaluator": {"type": "gt", "params": [0.0042]},
            "operator": {"type": "and"}
        }]
    }))
    .unwrap();
    set_rule(cell, &rule);
    let cell = cell.clone();
    let rule = rule_of(&cell).unwrap().unwrap();

    let channels = [
        Channel::new(
            "ops-slack",
            "Ops",
            ChannelKind::Slack(SlackSettings {
                url: Secret::new("https://hooks.slack.com/services/T/B/X"),
                ..SlackSettings::default()
            }),
        ),
        Channel::new(
            "am",
            "Alertmanager",
            ChannelKind::Alertmanager(AlertmanagerSettings {
                url: Secret::new("http://alertmanager:9093"),
                ..AlertmanagerSettings::default()
            }),
        ),
        Channel::new(
            "unused",
            "Unused",
            ChannelKind::Slack(SlackSettings::default()),
        ),
    ];
    let to = channels_for(&rule, &channels);
    assert_eq!(to.len(), 2);

    // Every 15 s a scheduler tick; the rule runs when due (every minute).
    let mut state = RuleState::default();
    let mut transitions = Vec::new();
    let mut notes: Vec<Notification> = Vec::new();
    let mut evaluations = 0;
    let mut now = at(20);
    while now <= at(60) {
        if due(&rule, &state, now) {
            evaluations += 1;
            let result = block_on_ready(evaluate(&rule, &cell, &[], &source, now));
            assert!(result.error.is_none(), "{result:?}");
            assert!(!result.no_data, "{result:?}");
            let (next, t, n) = step_with(&rule, &state, &result, now, &to);
            state = next;
            transitions.extend(t);
            notes.extend(n);
        }
        now += SCRAPE;
    }
    assert_eq!(evaluations, 41);

    let got: Vec<(i64, AlertState, AlertState)> = transitions
        .iter()
        .map(|t| ((t.time_ms - BASE) / MIN, t.from, t.to))
        .collect();
    // The first slow scrape (25:15) is in the window at 26:00: Pending; 5 minutes later
    // Alerting; the last slow scrape (40:00) leaves the P90's window at 44:45, and the P90's
    // 5-minute max at 50:00: OK.
    assert_eq!(
        got,
        [
            (20, AlertState::Unknown, AlertState::Ok),
            (26, AlertState::Ok, AlertState::Pending),
            (31, AlertState::Pending, AlertState::Alerting),
            (50, AlertState::Alerting, AlertState::Ok),
        ]
    );
    let p = transitions[1].values[0].value.unwrap();
    assert!((p - 0.004_745).abs() < 1e-5, "{p}");
    assert_eq!(transitions[1].values[0].metric, "model");
    assert_eq!(transitions[1].values[0].tags["job"], "model");

    // Slack: one on Alerting, one on resolve.
    let slack: Vec<&Notification> = notes
        .iter()
        .filter(|n| n.channel_uid.as_deref() == Some("ops-slack"))
        .collect();
    let when: Vec<(i64, AlertState)> = slack
        .iter()
        .map(|n| ((n.time_ms - BASE) / MIN, n.state))
        .collect();
    assert_eq!(when, [(31, AlertState::Alerting), (50, AlertState::Ok)]);
    let ctx = PayloadContext {
        rule_url: "http://lookout:8080/d/lookout-seed?viewPanel=5".into(),
        panel_id: 5,
        ..PayloadContext::default()
    };
    let body = slack_payload(slack[0], &slack_settings(&channels[0]), &ctx);
    assert_eq!(body["text"], json!("[Alerting] P90 inference time"));
    assert_eq!(body["attachments"][0]["fields"][0]["title"], json!("model"));
    assert_eq!(body["attachments"][0]["ts"], json!((at(31)) / 1000));

    // Alertmanager: sent on Alerting and resent every minute while firing, then resolved.
    let am: Vec<&Notification> = notes
        .iter()
        .filter(|n| n.channel_uid.as_deref() == Some("am"))
        .collect();
    assert_eq!(am.len(), 20);
    assert!(am[..19].iter().all(|n| n.state == AlertState::Alerting));
    let first = alertmanager_alerts(am[0], &ctx);
    assert_eq!(
        first[0]["labels"],
        json!({"alertname": "P90 inference time", "team": "ml"})
    );
    // Active since it went Pending; valid for 4 minutes.
    assert_eq!(first[0]["startsAt"], json!("2023-11-14T22:26:00Z"));
    assert_eq!(first[0]["endsAt"], json!("2023-11-14T22:35:00Z"));
    let resolved = alertmanager_alerts(am[19], &ctx);
    assert_eq!(am[19].state, AlertState::Ok);
    assert_eq!(resolved[0]["endsAt"], json!("2023-11-14T22:50:00Z"));

    // The state survives a restart without a second message.
    let saved = serde_json::to_string(&state).unwrap();
    let restored: RuleState = serde_json::from_str(&saved).unwrap();
    let result = block_on_ready(evaluate(&rule, &cell, &[], &source, at(61)));
    let (_, t, n) = step_with(&rule, &restored, &result, at(61), &to);
    assert!(t.is_empty() && n.is_empty());
}

fn slack_settings(c: &Channel) -> SlackSettings {
    match &c.kind {
        ChannelKind::Slack(s) => s.clone(),
        _ => SlackSettings::default(),
    }
}
