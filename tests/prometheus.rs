//! The real Prometheus stack: `lookout serve` pushes to a real Pushgateway, a real
//! Prometheus scrapes it, `lookout traffic` drives the server, and the seed's queries return
//! the right numbers. Then the Pushgateway is stopped during traffic and started again
//! empty: no increment is lost.

use std::collections::BTreeMap;
use std::time::Duration;

use lookout_tests::{
    TempDir, classic_quantile, get, parse_exposition, prom_query, run_lookout, start_prometheus,
    start_pushgateway, start_pushgateway_at, start_server, wait_for,
};

fn exposition_counts(text: &str, name: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (n, labels, v) in parse_exposition(text) {
        if n == name
            && let Some((_, l)) = labels.iter().find(|(k, _)| k == "label")
        {
            *out.entry(l.clone()).or_insert(0.0) += v;
        }
    }
    out
}

#[test]
fn seed_queries_return_the_right_numbers() {
    let pg = start_pushgateway();
    let pg_port = pg.port();
    let (_server, base) = start_server(&[
        "--pushgateway",
        &format!("http://127.0.0.1:{pg_port}"),
        "--push-interval",
        "0.5",
        "--instance",
        "it-server",
    ]);
    let prom_dir = TempDir::new("prom");
    let prom = start_prometheus(
        &prom_dir,
        &format!(
            "  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{pg_port}']\n"
        ),
    );
    let prom_port = prom.port();
    // Prometheus has seen the zero state before any traffic.
    wait_for(
        "first scrape of the zero state",
        Duration::from_secs(30),
        || {
            let r = prom_query(prom_port, "sum(prediction_value_total)");
            (r.len() == 1 && r[0].1 == 0.0).then_some(())
        },
    );

    let summary = run_lookout(&[
        "traffic",
        "--url",
        &format!("{base}/predict"),
        "--count",
        "120",
        "--rate",
        "60",
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(summary.trim()).expect("summary");
    assert_eq!(summary["ok"], 120, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");

    let server_metrics = get(&format!("{base}/metrics")).expect("server metrics");
    let per_label = exposition_counts(&server_metrics, "prediction_value_total");
    assert_eq!(per_label.values().sum::<f64>(), 120.0);

    wait_for(
        "Prometheus to see all 120 predictions",
        Duration::from_secs(30),
        || {
            let r = prom_query(prom_port, "sum(prediction_value_total)");
            (r.len() == 1 && r[0].1 == 120.0).then_some(())
        },
    );
    // The rate windows hold the final values: a rate per label, positive exactly where the
    // server counted predictions (asserted again below, as before).
    wait_for(
        "the rates of the final values",
        Duration::from_secs(30),
        || {
            let r = prom_query(
                prom_port,
                "sum by (label) (rate(prediction_value_total[1m]))",
            );
            (r.len() == 10
                && r.iter().all(|(labels, v)| {
                    let label = labels["label"].as_str().unwrap_or("");
                    (*v > 0.0) == (per_label.get(label).copied().unwrap_or(0.0) > 0.0)
                }))
            .then_some(())
        },
    );

    // sum by (instance) (prediction_value_total)
    let r = prom_query(prom_port, "sum by (instance) (prediction_value_total)");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0["instance"], "it-server");
    assert_eq!(r[0].1, 120.0);

    // sum by (instance) (inference_time_count)
    let r = prom_query(prom_port, "sum by (instance) (inference_time_count)");
    assert_eq!((r.len(), r[0].1), (1, 120.0), "{r:?}");

    // sum by (label) (prediction_value_total): equals the server's own counts.
    let r = prom_query(prom_port, "sum by (label) (prediction_value_total)");
    let got: BTreeMap<String, f64> = r
        .iter()
        .map(|(l, v)| (l["label"].as_str().unwrap_or("").to_string(), *v))
        .collect();
    assert_eq!(got, per_label);

    // sum by (label) (rate(prediction_value_total[1m])): positive exactly where counts are.
    let r = prom_query(
        prom_port,
        "sum by (label) (rate(prediction_value_total[1m]))",
    );
    assert_eq!(r.len(), 10, "{r:?}");
    for (labels, v) in &r {
        let label = labels["label"].as_str().unwrap_or("");
        let count = per_label.get(label).copied().unwrap_or(0.0);
        assert_eq!(*v > 0.0, count > 0.0, "{label}: rate {v}, count {count}");
    }

    // histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m]))): the
    // window holds the whole run from zero, so it equals the quantile of the final buckets.
    let r = prom_query(
        prom_port,
        "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))",
    );
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0["job"], "lookout");
    let mut buckets: Vec<(f64, f64)> = parse_exposition(&server_metrics)
        .into_iter()
        .filter(|(n, _, _)| n == "inference_time_bucket")
        .map(|(_, labels, v)| {
            let le = labels
                .iter()
                .find(|(k, _)| k == "le")
                .map(|(_, v)| {
                    if v == "+Inf" {
                        f64::INFINITY
                    } else {
                        v.parse().unwrap_or(f64::NAN)
                    }
                })
                .unwrap_or(f64::NAN);
            (le, v)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let want = classic_quantile(0.9, &buckets);
    let got = r[0].1;
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1e-9),
        "p90 from Prometheus {got}, from the server's buckets {want} ({buckets:?})"
    );
}

#[test]
fn pushgateway_outage_loses_no_increment() {
    let pg = start_pushgateway();
    let pg_port = pg.port();
    let pg_url = format!("http://127.0.0.1:{pg_port}");
    let (_server, base) = start_server(&[
        "--pushgateway",
        &pg_url,
        "--push-interval",
        "0.3",
        "--instance",
        "outage",
    ]);
    let traffic = |n: &str| {
        let s = run_lookout(&[
            "traffic",
            "--url",
            &format!("{base}/predict"),
            "--count",
            n,
            "--rate",
            "100",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(s.trim()).expect("summary");
        assert_eq!(v["errors"], 0, "{v}");
    };
    let pushed_total = |url: &str| -> Option<f64> {
        let text = get(&format!("{url}/metrics"))?;
        Some(
            parse_exposition(&text)
                .iter()
                .filter(|(n, labels, _)| {
                    n == "prediction_value_total"
                        && labels.iter().any(|(k, v)| k == "instance" && v == "outage")
                })
                .map(|(_, _, v)| v)
                .sum(),
        )
    };

    // The same-origin proxy the page pushes through: a PUT via the server lands at the real
    // Pushgateway, and its answer comes back.
    let client = reqwest::blocking::Client::new();
    let resp = client
        .put(format!("{base}/pushgateway/metrics/job/lookout/instance/page-1"))
        .header("content-type", "text/plain; version=0.0.4")
        .body("# TYPE prediction_value_total counter\nprediction_value_total{label=\"Cat\",runtime=\"browser-cpu\"} 3\n")
        .send()
        .expect("proxy put");
    assert!(
        resp.status().is_success(),
        "proxy answered {}",
        resp.status()
    );
    wait_for(
        "proxied push at the Pushgateway",
        Duration::from_secs(10),
        || {
            get(&format!("{pg_url}/metrics"))?
                .lines()
                .any(|l| {
                    l.starts_with("prediction_value_total")
                        && l.contains("instance=\"page-1\"")
                        && l.ends_with(" 3")
                })
                .then_some(())
        },
    );

    traffic("30");
    wait_for("30 pushed", Duration::from_secs(20), || {
        (pushed_total(&pg_url) == Some(30.0)).then_some(())
    });

    pg.stop();
    traffic("40");
    // The server notices the outage and says so.
    wait_for("push failures reported", Duration::from_secs(20), || {
        let h: serde_json::Value = serde_json::from_str(&get(&format!("{base}/healthz"))?).ok()?;
        (h["push"]["consecutive_failures"].as_u64()? > 0).then_some(())
    });

    // A new, empty Pushgateway on the same port (the server pushes to that URL): the next
    // push carries everything.
    let _pg = start_pushgateway_at(pg_port);
    traffic("5");
    wait_for(
        "all 75 predictions at the Pushgateway",
        Duration::from_secs(60),
        || (pushed_total(&pg_url) == Some(75.0)).then_some(()),
    );
    let h: serde_json::Value =
        serde_json::from_str(&get(&format!("{base}/healthz")).expect("healthz")).expect("json");
    assert_eq!(h["predictions"], 75);
    assert_eq!(h["push"]["consecutive_failures"], 0);
}
