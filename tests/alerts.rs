//! Alerting in `lookout serve` over real parts: a real Alertmanager, a webhook receiver and a
//! "Slack" receiver (this test's own HTTP endpoints, recording what they are sent), a channel
//! whose port is closed and one that never answers, and `lookout serve` with backfilled samples
//! that make a panel's Grafana 7 legacy alert fire.
//!
//! Pending, then Alerting after `for`; one webhook body in Grafana 7's shape, one Slack body,
//! the alert in Alertmanager with the rule's labels, none of them held up by the dead
//! channels; `kill -9` while Alerting and a restart on the same data folder: still Alerting,
//! nothing sent twice; the rule's threshold raised: one resolve to each, Alertmanager's alert
//! resolved. The channels' secret URLs never appear in an answer, a file other than the
//! channels file, or a log line.

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lookout_tests::{
    Daemon, Received, Receiver, ServerLog, TempDir, closed_port, start_alertmanager,
    start_prometheus, start_server_logged, wait_for,
};
use serde_json::{Value, json};

const RULE: &str = "Probe too high";
const SECRETS: [&str; 4] = [
    "T000SECRET",
    "T000SLACKSECRET",
    "T000DOWNSECRET",
    "T000SLOWSECRET",
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The bodies `receiver` got about `RULE` in `state` (webhook: `state`; Slack: the title).
fn about(receiver: &Receiver, state: &str) -> Vec<Received> {
    receiver
        .requests()
        .into_iter()
        .filter(|r| {
            let b = &r.body;
            (b["ruleName"] == RULE && b["state"] == state)
                || b["text"].as_str().is_some_and(|t| {
                    t == format!("[{}] {RULE}", if state == "ok" { "OK" } else { "Alerting" })
                })
        })
        .collect()
}

/// Accepts connections and never answers.
fn black_hole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().map_while(Result::ok) {
            held.push(s);
        }
    });
    port
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Every answer the server gave, to look for secrets in at the end.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    fn call(&mut self, method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client().request(method, url);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        self.0.push(text.clone());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn get(&mut self, url: &str) -> Value {
        let (status, v) = self.call("GET", url, None);
        assert_eq!(status, 200, "GET {url}: {v}");
        v
    }
}

fn backfill(dir: &TempDir) -> String {
    let now = now_ms() / 1000;
    let mut text = String::from("# TYPE lookout_alert_probe gauge\n");
    for t in (now - 300..now).step_by(5) {
        text.push_str(&format!("lookout_alert_probe{{job=\"probe\"}} 10 {t}\n"));
    }
    text.push_str("# EOF\n");
    let path = dir.0.join("probe.om");
    std::fs::write(&path, text).expect("backfill file");
    path.to_string_lossy().into_owned()
}

/// A rule on `vector(1)` with no channels, reading `datasource`.
fn remote_panel(id: u64, title: &str, datasource: Value) -> Value {
    json!({
        "id": id, "title": title, "datasource": datasource,
        "targets": [{"refId": "A", "expr": "vector(1)"}],
        "panel": {"grid": {"x": 0, "y": 8 * id, "w": 12, "h": 8}},
        "alert": {
            "name": title, "frequency": "1s", "for": "0m",
            "conditions": [{
                "type": "query", "query": {"params": ["A", "1m", "now"]},
                "reducer": {"type": "last"},
                "evaluator": {"type": "gt", "params": [0]}
            }]
        }
    })
}

/// The test's dashboard: panel 1 the rule under test, 2 a rule that does not parse, and with
/// `remote` (a Prometheus, the server's URL) 3 a rule reading Prometheus over HTTP and 4 one
/// reading the server's `/prometheus` (`--prometheus`).
fn dashboard(threshold: f64, version: u64, remote: Option<(&str, &str)>) -> Value {
    let mut d = json!({
        "title": "Alerting test",
        "version": version,
        "panels": [
            {
                "id": 1, "title": "Probe",
                "targets": [{"refId": "A", "expr": "lookout_alert_probe"}],
                "panel": {"grid": {"x": 0, "y": 0, "w": 12, "h": 8}},
                "alert": {
                    "name": RULE, "message": "the probe is above its threshold",
                    "frequency": "1s", "for": "2s", "handler": 1,
                    "noDataState": "no_data", "executionErrorState": "alerting",
                    "alertRuleTags": {"team": "ml"},
                    "notifications": [{"uid": "hook"}, {"uid": "slack"}, {"uid": "am"},
                                      {"uid": "down"}, {"uid": "slow"}],
                    "conditions": [{
                        "type": "query", "query": {"params": ["A", "1m", "now"]},
                        "reducer": {"type": "avg", "params": []},
                        "evaluator": {"type": "gt", "params": [threshold]},
                        "operator": {"type": "and"}
                    }]
                }
            },
            {
                "id": 2, "title": "Broken rule",
                "targets": [{"refId": "A", "expr": "lookout_alert_probe"}],
                "panel": {"grid": {"x": 12, "y": 0, "w": 12, "h": 8}},
                "alert": {
                    "name": "Broken", "frequency": "1s",
                    "notifications": [{"uid": "hook"}],
                    "conditions": [{
                        "type": "query", "query": {"params": ["A", "1m", "now"]},
                        "reducer": {"type": "p95"},
                        "evaluator": {"type": "gt", "params": [1]}
                    }]
                }
            }
        ]
    });
    if let (Some((prometheus, own)), Some(panels)) = (remote, d["panels"].as_array_mut()) {
        panels.push(remote_panel(
            3,
            "Prometheus",
            json!({"type": "remote", "url": prometheus}),
        ));
        panels.push(remote_panel(
            4,
            "Through --prometheus",
            json!({"type": "remote", "url": format!("{own}/prometheus")}),
        ));
    }
    d
}

fn lines(log: &ServerLog) -> Vec<String> {
    log.lock().expect("log").clone()
}

fn start(data: &str, backfill: &str, prometheus: &str) -> (Daemon, String, ServerLog) {
    start_server_logged(&[
        "--data-dir",
        data,
        "--backfill",
        backfill,
        "--prometheus",
        prometheus,
    ])
}

/// Alertmanager's alerts named `RULE`.
fn am_alerts(am: u16) -> Vec<Value> {
    let v: Value = client()
        .get(format!("http://127.0.0.1:{am}/api/v2/alerts"))
        .send()
        .and_then(|r| r.json())
        .unwrap_or(Value::Null);
    v.as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["labels"]["alertname"] == RULE)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn alerts_fire_notify_survive_a_kill_and_resolve() {
    let dir = TempDir::new("alerts");
    let data = dir.0.join("data");
    let data_dir = data.to_string_lossy().into_owned();
    let am = start_alertmanager(&dir);
    let am_port = am.port();
    let prom_dir = TempDir::new("alerts-prometheus");
    let prom = start_prometheus(
        &prom_dir,
        &format!(
            "  - job_name: am\n    static_configs:\n      - targets: ['127.0.0.1:{am_port}']\n"
        ),
    );
    let prometheus = prom.url();
    let hook = Receiver::start();
    let slack = Receiver::start();
    let closed = closed_port();
    let slow = black_hole();
    let fill = backfill(&dir);
    let mut answers = Answers::default();

    let (server, base, log1) = start(&data_dir, &fill, &prometheus);
    wait_for("the alerts line", Duration::from_secs(10), || {
        lines(&log1)
            .iter()
            .any(|l| l.starts_with("alerts: 0 rule(s) on 0 dashboard(s)"))
            .then_some(())
    });

    // Channels: Grafana 7's JSON (secrets in secureSettings, or in settings as older
    // versions kept them).
    let channels = [
        json!({"uid": "hook", "name": "Hook", "type": "webhook",
               "settings": {"httpMethod": "POST"},
               "secureSettings": {"url": hook.url("/hooks/T000SECRET")}}),
        json!({"name": "Slack", "type": "slack",
               "settings": {"url": slack.url("/services/T000SLACKSECRET"), "recipient": "#ml"}}),
        json!({"name": "Alertmanager", "type": "prometheus-alertmanager",
               "settings": {"url": format!("http://127.0.0.1:{am_port}")}}),
        json!({"name": "Down", "type": "webhook",
               "secureSettings": {"url": format!("http://127.0.0.1:{closed}/hooks/T000DOWNSECRET")}}),
        json!({"name": "Slow", "type": "webhook",
               "secureSettings": {"url": format!("http://127.0.0.1:{slow}/hooks/T000SLOWSECRET")}}),
    ];
    for (uid, c) in ["hook", "slack", "am", "down", "slow"]
        .iter()
        .zip(&channels)
    {
        let (s, v) = answers.call("PUT", &format!("{base}/api/channels/{uid}"), Some(c));
        assert_eq!(s, 200, "PUT channel {uid}: {v}");
        assert_eq!(v["secureFields"]["url"], true, "{v}");
    }
    // A PUT without the secret keeps the stored one.
    let renamed = json!({"name": "Hook (renamed)", "type": "webhook", "settings": {}});
    let (s, v) = answers.call("PUT", &format!("{base}/api/channels/hook"), Some(&renamed));
    assert_eq!(s, 200, "{v}");
    // Refused: another uid in the body, an unknown type, a channel without URL, bad JSON.
    for (body, want) in [
        (json!({"uid": "other", "name": "x", "type": "webhook"}), 400),
        (json!({"name": "x", "type": "pagerduty"}), 400),
        (json!({"name": "x", "type": "webhook", "settings": {}}), 400),
        (
            json!({"name": "x", "type": "webhook", "settings": {"url": "ftp://h/T000SECRET"}}),
            400,
        ),
    ] {
        let (s, v) = answers.call("PUT", &format!("{base}/api/channels/fresh"), Some(&body));
        assert_eq!(s, want, "{body}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    let listed = answers.get(&format!("{base}/api/channels"));
    let kinds: Vec<(String, String, String)> = listed["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| {
            (
                c["uid"].as_str().unwrap_or("").to_string(),
                c["name"].as_str().unwrap_or("").to_string(),
                c["type"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("hook", "Hook (renamed)", "webhook"),
        ("slack", "Slack", "slack"),
        ("am", "Alertmanager", "prometheus-alertmanager"),
        ("down", "Down", "webhook"),
        ("slow", "Slow", "webhook"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(kinds, want);
    let listed_text = listed.to_string();
    assert!(
        !listed_text.contains("127.0.0.1") && !listed_text.contains("hooks"),
        "{listed_text}"
    );

    // "Test": delivered to the webhook (its URL kept through the rename); refused port: 502.
    let (s, v) = answers.call("POST", &format!("{base}/api/channels/hook/test"), None);
    assert_eq!((s, &v["delivered"]), (200, &json!(true)), "{v}");
    let tests: Vec<Received> = hook
        .requests()
        .into_iter()
        .filter(|r| r.body["ruleName"] == "Test notification")
        .collect();
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].path, "/hooks/T000SECRET");
    let (s, v) = answers.call("POST", &format!("{base}/api/channels/down/test"), None);
    assert_eq!(s, 502, "{v}");
    assert_eq!(v["delivered"], false);

    // The rule arrives with a dashboard save.
    let own = base.replace("127.0.0.1", "localhost");
    let remote = Some((prometheus.as_str(), own.as_str()));
    let (s, v) = answers.call(
        "PUT",
        &format!("{base}/api/dashboards/alerting"),
        Some(&dashboard(5.0, 0, remote)),
    );
    assert_eq!(s, 200, "{v}");
    let rule_url = format!("{base}/api/alerts/alerting/1");
    let mut seen = Vec::new();
    let alerting = wait_for("Alerting", Duration::from_secs(20), || {
        let (status, v) = answers.call("GET", &rule_url, None);
        if status != 200 {
            return None;
        }
        let state = v["state"].as_str().unwrap_or("").to_string();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        (state == "alerting").then_some(v)
    });
    assert!(seen.contains(&"pending".to_string()), "{seen:?}");
    let history: Vec<(String, String, i64)> = alerting["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap_or("").to_string(),
                t["to"].as_str().unwrap_or("").to_string(),
                t["timeMs"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let states: Vec<(&str, &str)> = history
        .iter()
        .map(|(f, t, _)| (f.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        states,
        [("unknown", "pending"), ("pending", "alerting")],
        "{alerting}"
    );
    let (pending_at, alerting_at) = (history[0].2, history[1].2);
    assert!(
        (2_000..4_000).contains(&(alerting_at - pending_at)),
        "for: 2s, got {} ms",
        alerting_at - pending_at
    );
    assert_eq!(alerting["sinceMs"].as_i64(), Some(alerting_at));
    assert_eq!(alerting["pendingSince"].as_i64(), Some(pending_at));
    assert_eq!(alerting["dashboardTitle"], "Alerting test");
    assert_eq!(alerting["panelTitle"], "Probe");
    assert_eq!(alerting["ruleName"], RULE);
    assert_eq!(alerting["firingMatches"][0]["value"].as_f64(), Some(10.0));
    assert!(alerting["lastEvalMs"].as_i64().is_some() && alerting["nextDueMs"].as_i64().is_some());

    // One webhook body in Grafana 7's shape, one Slack body, soon: the closed port and the
    // receiver that never answers hold up neither.
    let hooked = wait_for("the webhook", Duration::from_secs(10), || {
        let a = about(&hook, "alerting");
        (!a.is_empty()).then_some(a)
    });
    let slacked = wait_for("Slack", Duration::from_secs(10), || {
        let a = about(&slack, "alerting");
        (!a.is_empty()).then_some(a)
    });
    let body = &hooked[0].body;
    assert_eq!(hooked[0].path, "/hooks/T000SECRET");
    assert_eq!(body["title"], format!("[Alerting] {RULE}"));
    assert_eq!(body["message"], "the probe is above its threshold");
    assert_eq!(body["tags"], json!({"team": "ml"}));
    assert_eq!(body["panelId"], 1);
    assert_eq!(body["evalMatches"][0]["value"].as_f64(), Some(10.0));
    assert_eq!(body["evalMatches"][0]["tags"]["job"], "probe");
    assert!(
        body["ruleUrl"]
            .as_str()
            .is_some_and(|u| u.contains("dashboard=alerting")),
        "{body}"
    );
    let attachment = &slacked[0].body["attachments"][0];
    assert_eq!(attachment["color"], "#D63232");
    assert_eq!(attachment["fields"][0]["value"].as_f64(), Some(10.0));
    assert_eq!(slacked[0].body["channel"], "#ml");
    for r in [&hooked[0], &slacked[0]] {
        assert!(
            r.at_ms - alerting_at < 3_000,
            "delivered {} ms after the rule alerted",
            r.at_ms - alerting_at
        );
    }

    // Alertmanager has it, with the rule's labels.
    let in_am = wait_for("the alert in Alertmanager", Duration::from_secs(20), || {
        am_alerts(am_port)
            .into_iter()
            .find(|a| a["status"]["state"] == "active")
    });
    assert_eq!(in_am["labels"], json!({"alertname": RULE, "team": "ml"}));
    assert_eq!(
        in_am["annotations"]["description"],
        "the probe is above its threshold"
    );

    // The dead channels' failures are recorded, masked.
    let failures = wait_for("the failed deliveries", Duration::from_secs(15), || {
        let v = answers.get(&rule_url);
        let d = &v["deliveries"];
        (d["down"]["lastError"].is_string()
            && d["hook"]["deliveredMs"].is_i64()
            && d["slack"]["deliveredMs"].is_i64()
            && d["am"]["deliveredMs"].is_i64())
        .then(|| d.clone())
    });
    assert!(
        failures["down"]["attempts"].as_u64().unwrap_or(0) >= 1,
        "{failures}"
    );
    assert!(
        !failures.to_string().contains(&closed.to_string()),
        "{failures}"
    );

    // The broken rule is reported, not skipped.
    let broken = answers.get(&format!("{base}/api/alerts/alerting/2"));
    assert_eq!(broken["valid"], false, "{broken}");
    assert_eq!(broken["state"], "error", "{broken}");
    assert!(
        broken["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("p95")),
        "{broken}"
    );
    // The rules reading over HTTP: Prometheus, and Prometheus through the proxy.
    for panel in [3, 4] {
        let v = wait_for("the remote rules", Duration::from_secs(15), || {
            let v = answers.get(&format!("{base}/api/alerts/alerting/{panel}"));
            (v["state"] == "alerting").then_some(v)
        });
        assert!(v["lastError"].is_null(), "{v}");
        assert_eq!(v["firingMatches"][0]["value"].as_f64(), Some(1.0), "{v}");
    }
    let all = answers.get(&format!("{base}/api/alerts"));
    assert_eq!(all["rules"].as_array().map(Vec::len), Some(4), "{all}");
    assert_eq!(all["enabled"], true);

    // kill -9 while Alerting (its state is on disk before anything is sent), then a restart
    // on the same folder.
    let state_file = data.join("alerts/state.json");
    let saved = std::fs::read_to_string(&state_file).expect("state.json");
    assert!(saved.contains("\"alerting\""), "{saved}");
    server.stop();
    let restarted_at = now_ms();
    let (server, base, log2) = start(&data_dir, &fill, &prometheus);
    wait_for("the alerts line", Duration::from_secs(10), || {
        lines(&log2)
            .iter()
            .any(|l| l.starts_with("alerts: 4 rule(s) on 1 dashboard(s)"))
            .then_some(())
    });
    let rule_url = format!("{base}/api/alerts/alerting/1");
    let after = answers.get(&rule_url);
    assert_eq!(after["state"], "alerting", "{after}");
    assert_eq!(after["sinceMs"].as_i64(), Some(alerting_at));
    // A few evaluations later: still Alerting, nothing sent again.
    let later = wait_for(
        "evaluations after the restart",
        Duration::from_secs(15),
        || {
            let v = answers.get(&rule_url);
            (v["lastEvalMs"].as_i64().unwrap_or(0) > restarted_at + 2_500).then_some(v)
        },
    );
    assert_eq!(later["state"], "alerting", "{later}");
    assert_eq!(later["historyTotal"], 2, "{later}");
    assert_eq!(about(&hook, "alerting").len(), 1);
    assert_eq!(about(&slack, "alerting").len(), 1);

    // The threshold goes up: the rule resolves, each channel is told once.
    let current = answers.get(&format!("{base}/api/dashboards/alerting"));
    let version = current["version"].as_u64().expect("version");
    let (s, v) = answers.call(
        "PUT",
        &format!("{base}/api/dashboards/alerting"),
        Some(&dashboard(1000.0, version, remote)),
    );
    assert_eq!(s, 200, "{v}");
    let ok = wait_for("OK", Duration::from_secs(15), || {
        let v = answers.get(&rule_url);
        (v["state"] == "ok").then_some(v)
    });
    let resolved_at = ok["sinceMs"].as_i64().expect("since");
    let resolved = wait_for("the resolve webhook", Duration::from_secs(10), || {
        let a = about(&hook, "ok");
        (!a.is_empty()).then_some(a)
    });
    assert_eq!(resolved[0].body["evalMatches"], json!([]));
    assert_eq!(resolved[0].body["title"], format!("[OK] {RULE}"));
    let slack_ok = wait_for("the resolve on Slack", Duration::from_secs(10), || {
        let a = about(&slack, "ok");
        (!a.is_empty()).then_some(a)
    });
    assert_eq!(slack_ok[0].body["attachments"][0]["color"], "#36a64f");
    // Resolved in Alertmanager: its alert ended (the API lists only alerts that have not).
    wait_for(
        "the alert resolved in Alertmanager",
        Duration::from_secs(20),
        || am_alerts(am_port).is_empty().then_some(()),
    );
    // A little later: still one of each.
    wait_for("an evaluation after OK", Duration::from_secs(10), || {
        let v = answers.get(&rule_url);
        (v["lastEvalMs"].as_i64().unwrap_or(0) > resolved_at + 1_500).then_some(())
    });
    assert_eq!(about(&hook, "ok").len(), 1);
    assert_eq!(about(&hook, "alerting").len(), 1);
    assert_eq!(about(&slack, "ok").len(), 1);
    assert!(
        hook.requests()
            .iter()
            .all(|r| r.body["ruleName"] != "Broken"),
        "the broken rule notified"
    );

    // Deleting a channel; the dashboard gone: its rules and their state go too.
    let (s, _) = answers.call("DELETE", &format!("{base}/api/channels/slow"), None);
    assert_eq!(s, 204);
    let (s, _) = answers.call("DELETE", &format!("{base}/api/channels/slow"), None);
    assert_eq!(s, 404);
    let (s, _) = answers.call("DELETE", &format!("{base}/api/dashboards/alerting"), None);
    assert_eq!(s, 204);
    wait_for("the rules dropped", Duration::from_secs(10), || {
        let v = answers.get(&format!("{base}/api/alerts"));
        v["rules"]
            .as_array()
            .is_some_and(Vec::is_empty)
            .then_some(())
    });
    let (s, _) = answers.call("GET", &rule_url, None);
    assert_eq!(s, 404);
    wait_for("the state file emptied", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&state_file).ok()?;
        (text.trim() == "{}").then_some(())
    });
    server.stop();

    // Secrets: in the channels file (owner-only) and nowhere else.
    let channels_file = data.join("alerts/channels.json");
    let stored = std::fs::read_to_string(&channels_file).expect("channels.json");
    assert!(stored.contains("T000SECRET") && stored.contains("T000SLACKSECRET"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&channels_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let state = std::fs::read_to_string(&state_file).expect("state.json");
    let logs: Vec<String> = lines(&log1).into_iter().chain(lines(&log2)).collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("notification to channel \"down\"")),
        "the dead channel's failure is logged: {logs:?}"
    );
    for secret in SECRETS {
        for a in &answers.0 {
            assert!(!a.contains(secret), "{secret} in an answer: {a}");
        }
        for l in &logs {
            assert!(!l.contains(secret), "{secret} in the log: {l}");
        }
        assert!(!state.contains(secret), "{secret} in state.json");
    }
}

#[test]
fn alerts_off_evaluates_nothing() {
    let dir = TempDir::new("alerts-off");
    let data = dir.0.join("data");
    let data_dir = data.to_string_lossy().into_owned();
    let fill = backfill(&dir);
    std::fs::create_dir_all(data.join("dashboards")).expect("dashboards");
    std::fs::write(
        data.join("dashboards/alerting.json"),
        dashboard(5.0, 1, None).to_string(),
    )
    .expect("dashboard file");
    let hook = Receiver::start();
    let (_server, base, log) = start_server_logged(&[
        "--data-dir",
        &data_dir,
        "--backfill",
        &fill,
        "--alerts",
        "off",
    ]);
    wait_for("the alerts line", Duration::from_secs(10), || {
        lines(&log)
            .iter()
            .any(|l| l.starts_with("alerts: 2 rule(s) on 1 dashboard(s), not evaluated"))
            .then_some(())
    });
    let mut answers = Answers::default();
    let channel = json!({"name": "Hook", "type": "webhook", "settings": {"url": hook.url("/h")}});
    let (s, v) = answers.call("PUT", &format!("{base}/api/channels/hook"), Some(&channel));
    assert_eq!(s, 200, "{v}");
    // A window in which nothing may change (nothing to poll for): the rules stay unevaluated.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2_500) {
        let v = answers.get(&format!("{base}/api/alerts"));
        assert_eq!(v["enabled"], false);
        assert_eq!(v["rules"].as_array().map(Vec::len), Some(2), "{v}");
        assert!(
            v["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| r["state"] == "unknown" && r["lastEvalMs"].is_null()),
            "{v}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Nor does it send what a tab hands over.
    let note = json!({"channelUid": "hook", "ruleName": "x", "message": "", "state": "alerting",
                      "prevState": "ok", "reminder": false, "timeMs": 0, "activeSinceMs": null,
                      "matches": [], "firingMatches": [], "error": null, "instance": null,
                      "labels": {}, "tags": {}, "evalIntervalMs": 1000});
    let request = json!({"dashboardUid": "x", "panelId": 1,
                         "alert": dashboard(5.0, 1, None)["panels"][0]["alert"],
                         "notifications": [note]});
    let (s, v) = answers.call("POST", &format!("{base}/api/alerts/notify"), Some(&request));
    assert_eq!(s, 409, "{v}");
    // Deliberately a fixed window: nothing may arrive at the hook during it.
    std::thread::sleep(Duration::from_millis(500));
    assert!(hook.requests().is_empty());
}

/// A tab that evaluated a rule itself (a dashboard the server does not keep) hands the
/// notifications the shared state machine made for the rule's channels to the server, which
/// sends them with its secrets; the tab never sees a URL. What the server refuses: a channel
/// the rule does not name, an unknown one, a rule that does not parse, another method, a body
/// too large, a cross-site request, and anything at all with `--alerts off`.
#[test]
fn a_tab_hands_its_notifications_to_the_server() {
    use lookout_alerts::{
        AlertRule, Channel, EvalMatch, EvalResult, RuleState, channels_for, step_with,
    };
    let dir = TempDir::new("alerts-notify");
    let data = dir.0.join("data");
    let data_dir = data.to_string_lossy().into_owned();
    let hook = Receiver::start();
    let slack = Receiver::start();
    let (_server, base, log) = start_server_logged(&["--data-dir", &data_dir]);
    let mut answers = Answers::default();
    for (uid, c) in [
        (
            "hook",
            json!({"name": "Hook", "type": "webhook",
                   "secureSettings": {"url": hook.url("/hooks/T000SECRET")}}),
        ),
        (
            "slack",
            json!({"name": "Slack", "type": "slack", "disableResolveMessage": true,
                   "secureSettings": {"url": slack.url("/services/T000SLACKSECRET")}}),
        ),
        (
            "other",
            json!({"name": "Other", "type": "webhook",
                   "secureSettings": {"url": hook.url("/hooks/T000DOWNSECRET")}}),
        ),
    ] {
        let (s, v) = answers.call("PUT", &format!("{base}/api/channels/{uid}"), Some(&c));
        assert_eq!(s, 200, "PUT channel {uid}: {v}");
    }
    // What the page does: the channels as the server lists them (no secrets) are the
    // evaluator's policies.
    let listed = answers.get(&format!("{base}/api/channels"));
    let policies: Vec<Channel> = listed["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| Channel::from_grafana_json(c).expect("a listed channel reads back"))
        .collect();
    let alert = json!({
        "name": RULE, "message": "the probe is above its threshold",
        "frequency": "1s", "for": "0s", "alertRuleTags": {"team": "ml"},
        "notifications": [{"uid": "hook"}, {"uid": "slack"}],
        "conditions": [{
            "type": "query", "query": {"params": ["A", "1m", "now"]},
            "reducer": {"type": "last"},
            "evaluator": {"type": "gt", "params": [5]}
        }]
    });
    let rule = AlertRule::from_value(&alert).expect("rule");
    let targets = channels_for(&rule, &policies);
    assert_eq!(
        targets.iter().map(|c| c.uid.as_str()).collect::<Vec<_>>(),
        ["hook", "slack"]
    );
    let result = |firing: bool, t: i64| EvalResult {
        time_ms: t,
        firing,
        no_data: false,
        error: None,
        matches: if firing {
            vec![EvalMatch {
                value: Some(10.0),
                metric: "lookout_alert_probe".into(),
                tags: [("job".to_string(), "probe".to_string())].into(),
            }]
        } else {
            Vec::new()
        },
        condition_evals: String::new(),
        conditions: Vec::new(),
        instances: Vec::new(),
    };
    let t0 = now_ms();
    let (state, _, notes) = step_with(
        &rule,
        &RuleState::default(),
        &result(true, t0),
        t0,
        &targets,
    );
    let mut notes: Vec<_> = notes
        .into_iter()
        .filter(|n| n.channel_uid.is_some())
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    // The tab's words are not trusted: the server writes the rule's own.
    notes[0].rule_name = "forged".into();
    let notify = format!("{base}/api/alerts/notify");
    let request = |notes: &[lookout_alerts::Notification]| json!({"dashboardUid": "shared-copy", "panelId": 3, "alert": alert, "notifications": notes});
    let (s, v) = answers.call("POST", &notify, Some(&request(&notes)));
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["queued"], 2, "{v}");
    wait_for(
        "the webhook and Slack bodies",
        Duration::from_secs(10),
        || {
            (about(&hook, "alerting").len() == 1 && about(&slack, "alerting").len() == 1)
                .then_some(())
        },
    );
    let body = &about(&hook, "alerting")[0];
    assert_eq!(body.path, "/hooks/T000SECRET");
    assert_eq!(body.body["ruleName"], RULE, "{}", body.body);
    assert_eq!(body.body["message"], "the probe is above its threshold");
    assert_eq!(body.body["evalMatches"][0]["value"], 10.0, "{}", body.body);
    assert_eq!(body.body["tags"]["team"], "ml", "{}", body.body);
    assert!(
        body.body["ruleUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/?dashboard=shared-copy&viewPanel=3")),
        "{}",
        body.body
    );
    // Resolved: to the webhook only (Slack's channel does not send resolve messages, which
    // the tab knew from the listed policy).
    let t1 = t0 + 1_000;
    let (_, _, resolved) = step_with(&rule, &state, &result(false, t1), t1, &targets);
    let resolved: Vec<_> = resolved
        .into_iter()
        .filter(|n| n.channel_uid.is_some())
        .collect();
    assert_eq!(
        resolved
            .iter()
            .filter_map(|n| n.channel_uid.as_deref())
            .collect::<Vec<_>>(),
        ["hook"]
    );
    let (s, v) = answers.call("POST", &notify, Some(&request(&resolved)));
    assert_eq!(s, 202, "{v}");
    wait_for("the resolve", Duration::from_secs(10), || {
        (about(&hook, "ok").len() == 1).then_some(())
    });

    // Refused, and nothing sent for any of them.
    let before = hook.requests().len() + slack.requests().len();
    let to = |uid: &str| {
        let mut n = notes[1].clone();
        n.channel_uid = Some(uid.to_string());
        request(&[n])
    };
    let other = to("other");
    let unknown = to("nope");
    let mut broken = request(&notes);
    broken["alert"]["conditions"][0]["reducer"]["type"] = json!("p95");
    let mut bad_uid = request(&notes);
    bad_uid["dashboardUid"] = json!("../x");
    let empty = request(&[]);
    for (what, body, want) in [
        ("a channel the rule does not name", other, 400),
        ("an unknown channel", unknown, 400),
        ("a rule that does not parse", broken, 400),
        ("a bad dashboard uid", bad_uid, 400),
        ("no notifications", empty, 400),
    ] {
        let (s, v) = answers.call("POST", &notify, Some(&body));
        assert_eq!(s, want, "{what}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {v}"
        );
    }
    let (s, _) = answers.call("GET", &notify, None);
    assert_eq!(s, 405);
    let huge = json!({"dashboardUid": "x", "panelId": 1, "alert": alert,
                      "notifications": notes, "pad": "x".repeat(300 * 1024)});
    let (s, _) = answers.call("POST", &notify, Some(&huge));
    assert_eq!(s, 413);
    let cross = client()
        .post(&notify)
        .header("content-type", "application/json")
        .header("origin", "https://elsewhere.example")
        .header("sec-fetch-site", "cross-site")
        .body(request(&notes).to_string())
        .send()
        .expect("cross-site POST");
    assert_eq!(cross.status().as_u16(), 403);
    // Deliberately a fixed window: nothing refused may be delivered during it.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(hook.requests().len() + slack.requests().len(), before);
    // No secret in an answer or a log line.
    let logged = lines(&log).join("\n");
    for secret in SECRETS {
        assert!(!logged.contains(secret), "{secret} in the log");
        for a in &answers.0 {
            assert!(!a.contains(secret), "{secret} in an answer: {a}");
        }
    }
}
