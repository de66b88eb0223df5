//! The embedded PromQL engine against a real Prometheus 2.42 (Debian `prometheus`): the same
//! generated series are backfilled into Prometheus with `promtool tsdb
//! create-blocks-from openmetrics` and loaded into Lookout's store, then a few hundred
//! queries (functions × aggregations × operators × ranges, subqueries, offsets, `@`, the
//! seed's five queries) run through Prometheus' `/api/v1/query` and `/api/v1/query_range`
//! and through the engine; the answers must be the same series with values within 1e-6
//! (relative), errors where Prometheus errors. Also: the engine's own test files.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use lookout_metrics::{Format, INFERENCE_BUCKETS, Metrics, Observation, Runtime};
use lookout_promql::Scraper;
use lookout_promql::testlang::almost_equal;
use lookout_promql::value::{ApiResponse, QueryData};
use lookout_promql::{Engine, Labels, Storage};
use lookout_tests::{TempDir, classic_quantile, start_prometheus, tests_dir};

const STEP_MS: i64 = 15_000;
const POINTS: i64 = 241; // one hour at 15 s

/// A generated series: labels and (ms, value) samples.
type GenSeries = (Labels, Vec<(i64, f64)>);

/// A small deterministic generator (no dependency, same numbers every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Series of the test: counters (one with a reset, one that stops early), gauges, a classic
/// histogram, and the seed's metric families.
fn generate(t0: i64) -> Vec<GenSeries> {
    let mut rng = Lcg(42);
    let mut out = Vec::new();
    let ts = |i: i64| t0 + i * STEP_MS;
    for job in ["api", "web"] {
        for instance in ["0", "1", "2"] {
            for code in ["200", "500"] {
                let labels = Labels::from_pairs(&[
                    ("__name__", "req_total"),
                    ("job", job),
                    ("instance", instance),
                    ("code", code),
                ]);
                let mut v = 0.0;
                let mut points = Vec::new();
                for i in 0..POINTS {
                    v += (rng.next() * 10.0).floor();
                    if job == "web" && instance == "1" && code == "200" && i == 120 {
                        v = 3.0; // counter reset
                    }
                    if job == "api" && instance == "2" && code == "500" && i > 200 {
                        break; // the series stops: lookback and absent windows see it go
                    }
                    points.push((ts(i), v));
                }
                out.push((labels, points));
            }
        }
    }
    for room in ["a", "b", "c", "d"] {
        let labels = Labels::from_pairs(&[("__name__", "temp"), ("room", room)]);
        let mut v = 20.0;
        let points = (0..POINTS)
            .map(|i| {
                v += rng.next() * 4.0 - 2.0;
                (ts(i), (v * 100.0).round() / 100.0 - 10.0)
            })
            .collect();
        out.push((labels, points));
    }
    let bounds = ["0.1", "0.5", "1", "2.5", "+Inf"];
    for job in ["api", "web"] {
        let mut counts = [0.0f64; 5];
        let mut points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 5];
        for i in 0..POINTS {
            for _ in 0..(rng.next() * 20.0) as usize {
                let x = rng.next() * 3.0;
                for (b, ub) in [0.1, 0.5, 1.0, 2.5, f64::INFINITY].iter().enumerate() {
                    if x <= *ub {
                        counts[b] += 1.0;
                    }
                }
            }
            for b in 0..5 {
                points[b].push((ts(i), counts[b]));
            }
        }
        for (b, p) in points.into_iter().enumerate() {
            out.push((
                Labels::from_pairs(&[("__name__", "lat_bucket"), ("job", job), ("le", bounds[b])]),
                p,
            ));
        }
    }
    // The seed's families, as two Lookout instances push them.
    for instance in ["edge-1", "server-1"] {
        let mut per_label = [0.0f64; 3];
        let mut buckets = [0.0f64; 4];
        let mut label_points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 3];
        let mut bucket_points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 4];
        for i in 0..POINTS {
            let n = (rng.next() * 6.0) as usize;
            for _ in 0..n {
                per_label[(rng.next() * 3.0) as usize] += 1.0;
                let secs = rng.next() * 0.02;
                for (b, ub) in [0.0025, 0.005, 0.01, f64::INFINITY].iter().enumerate() {
                    if secs <= *ub {
                        buckets[b] += 1.0;
                    }
                }
            }
            for l in 0..3 {
                label_points[l].push((ts(i), per_label[l]));
            }
            for b in 0..4 {
                bucket_points[b].push((ts(i), buckets[b]));
            }
        }
        for (l, label) in ["Cat", "Dog", "Ship"].iter().enumerate() {
            out.push((
                Labels::from_pairs(&[
                    ("__name__", "prediction_value_total"),
                    ("job", "lookout"),
                    ("instance", instance),
                    ("label", label),
                ]),
                label_points[l].clone(),
            ));
        }
        for (b, le) in ["0.0025", "0.005", "0.01", "+Inf"].iter().enumerate() {
            out.push((
                Labels::from_pairs(&[
                    ("__name__", "inference_time_bucket"),
                    ("job", "lookout"),
                    ("instance", instance),
                    ("le", le),
                ]),
                bucket_points[b].clone(),
            ));
        }
        out.push((
            Labels::from_pairs(&[
                ("__name__", "inference_time_count"),
                ("job", "lookout"),
                ("instance", instance),
            ]),
            bucket_points[3].clone(),
        ));
    }
    out
}

fn openmetrics(series: &[GenSeries]) -> String {
    let mut by_name: BTreeMap<String, Vec<&GenSeries>> = BTreeMap::new();
    for s in series {
        by_name
            .entry(s.0.name().unwrap_or("").to_string())
            .or_default()
            .push(s);
    }
    let mut text = String::new();
    for (name, list) in by_name {
        text.push_str(&format!("# TYPE {name} gauge\n"));
        for (labels, points) in list {
            let l: Vec<String> = labels
                .iter()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            for (t, v) in points {
                text.push_str(&format!(
                    "{name}{{{}}} {v} {}.{:03}\n",
                    l.join(","),
                    t / 1000,
                    t % 1000
                ));
            }
        }
    }
    text.push_str("# EOF\n");
    text
}

fn queries() -> Vec<String> {
    let mut q: Vec<String> = Vec::new();
    let counters = [
        "req_total",
        "req_total{job=\"api\"}",
        "req_total{code=~\"5..\"}",
    ];
    let gauges = ["temp", "temp{room!~\"a|b\"}"];
    let range_fns = [
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "resets",
        "changes",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "present_over_time",
        "stddev_over_time",
        "stdvar_over_time",
    ];
    for f in range_fns {
        for (i, sel) in counters.iter().chain(gauges.iter()).enumerate() {
            let range = ["1m", "5m", "17m", "2m", "10m"][i % 5];
            q.push(format!("{f}({sel}[{range}])"));
        }
    }
    for range in ["30s", "1h"] {
        q.push(format!("rate(req_total[{range}])"));
        q.push(format!("increase(req_total{{job=\"web\"}}[{range}])"));
    }
    q.push("quantile_over_time(0.3, temp[10m])".into());
    q.push("quantile_over_time(0.95, req_total[5m])".into());
    q.push("holt_winters(temp[10m], 0.3, 0.6)".into());
    q.push("predict_linear(temp[10m], 600)".into());
    q.push("predict_linear(req_total{job=\"api\"}[15m], 3600)".into());
    q.push("absent_over_time(req_total{job=\"api\",instance=\"2\",code=\"500\"}[1m])".into());
    q.push("absent_over_time(nothing{job=\"x\"}[5m])".into());
    for agg in [
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
    ] {
        for grouping in ["", " by (job)", " without (instance)", " by (code, job)"] {
            q.push(format!("{agg}{grouping} (req_total)"));
        }
        q.push(format!("{agg} by (job) (rate(req_total[5m]))"));
        q.push(format!("{agg}(temp)"));
    }
    for k in ["1", "2", "5"] {
        q.push(format!("topk({k}, req_total)"));
        q.push(format!("bottomk by (job) ({k}, rate(req_total[5m]))"));
    }
    for p in ["0", "0.25", "0.5", "0.9", "1"] {
        q.push(format!("quantile({p}, temp)"));
        q.push(format!("quantile by (job) ({p}, rate(req_total[5m]))"));
    }
    q.push("count_values(\"v\", round(temp))".into());
    q.push("count_values by (job) (\"code_value\", req_total > 0 and req_total < 100)".into());
    // Operators.
    for op in ["+", "-", "*", "/", "%", "^", "atan2"] {
        q.push(format!("temp {op} 3"));
        q.push(format!("2 {op} temp"));
        q.push(format!(
            "req_total {op} on(job, instance, code) req_total offset 5m"
        ));
    }
    for op in ["==", "!=", ">", "<", ">=", "<="] {
        q.push(format!("temp {op} 10"));
        q.push(format!("10 {op} temp"));
        q.push(format!("temp {op} bool 10"));
        q.push(format!("rate(req_total[5m]) {op} ignoring(code) group_left sum without (code) (rate(req_total[5m])) / 2"));
    }
    q.extend(
        [
            "req_total / on(instance, job) group_left sum by (instance, job) (req_total)",
            "sum by (job, instance) (req_total) / ignoring(instance) group_left sum by (job) (req_total)",
            "sum by (job) (req_total) * on(job) group_right sum by (job, code) (req_total)",
            "req_total and req_total{code=\"500\"}",
            "req_total and on(job) temp",
            "req_total or temp",
            "req_total unless on(code) req_total{code=\"500\"}",
            "req_total{job=\"api\"} or on(instance) req_total{job=\"web\"}",
            "req_total + temp",
            "req_total + on(job) req_total",
            "sum by (job) (req_total) + on(job) req_total",
            "-temp",
            "- - temp",
            "temp - temp offset 5m",
            "(temp > 5) * 2",
            "1 + 2 * 3 ^ 2 % 5",
            "2 ^ 3 ^ 2",
            "-1 ^ 2",
            "(1 > bool 2) + (3 >= bool 3)",
            "scalar(temp{room=\"a\"}) * temp",
        ]
        .map(String::from),
    );
    // Math, clamping, rounding.
    for f in [
        "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sin", "cos", "tan", "asin",
        "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad", "sgn",
    ] {
        q.push(format!("{f}(temp / 10)"));
    }
    q.extend(
        [
            "round(temp)",
            "round(temp, 0.5)",
            "round(temp, 3)",
            "clamp(temp, -1, 5)",
            "clamp(temp, 5, -1)",
            "clamp_max(temp, 3)",
            "clamp_min(temp, 3)",
            "pi()",
            "time()",
            "vector(time())",
            "timestamp(temp)",
            "timestamp(temp * 2)",
            "timestamp(req_total{job=\"api\",instance=\"2\",code=\"500\"})",
            "scalar(temp)",
            "scalar(temp{room=\"b\"})",
            "vector(1)",
            "absent(temp)",
            "absent(nothing{job=\"x\", env=\"y\"})",
            "absent(nothing{job=~\"x.*\"})",
            "hour()",
            "minute()",
            "month()",
            "year()",
            "day_of_month()",
            "day_of_week()",
            "day_of_year()",
            "days_in_month()",
            "hour(vector(1700000000))",
            "days_in_month(vector(1709251200))",
            "day_of_week(temp * 86400 * 30)",
            "label_replace(temp, \"x\", \"r-$1\", \"room\", \"(.*)\")",
            "label_replace(temp, \"room\", \"\", \"room\", \"a\")",
            "label_replace(req_total, \"job\", \"$1\", \"code\", \"(5)00\")",
            "label_join(req_total, \"x\", \"-\", \"job\", \"code\", \"instance\")",
            "label_join(temp, \"room\", \"\", \"nothing\")",
            "sort(temp)",
            "sort_desc(temp)",
            "sort_desc(sum by (job) (rate(req_total[5m])))",
        ]
        .map(String::from),
    );
    // Histograms.
    for p in ["0", "0.5", "0.9", "0.99", "1", "1.5", "-1"] {
        q.push(format!(
            "histogram_quantile({p}, sum by (le) (rate(lat_bucket[5m])))"
        ));
        q.push(format!("histogram_quantile({p}, rate(lat_bucket[10m]))"));
    }
    q.push("histogram_quantile(0.9, lat_bucket)".into());
    // Subqueries, offset, @.
    q.extend(
        [
            "max_over_time(rate(req_total[1m])[10m:1m])",
            "avg_over_time(temp[15m:30s])",
            "rate(req_total[5m:1m])",
            "sum_over_time(sum by (job) (req_total)[7m:45s])",
            "min_over_time(temp[20m:])",
            "max_over_time(deriv(temp[5m])[30m:2m] offset 3m)",
            "rate(req_total[5m] offset 10m)",
            "temp offset 7m",
            "sum(temp offset 1m) by (room)",
            "temp @ end()",
            "temp @ start()",
            "rate(req_total[5m] @ end())",
            "sum by (job) (rate(req_total[3m] @ start() offset 1m))",
        ]
        .map(String::from),
    );
    // The seed's five queries.
    q.extend(
        [
            "sum by (instance) (prediction_value_total)",
            "sum by (instance) (inference_time_count)",
            "sum by (label) (prediction_value_total)",
            "sum by (label) (rate(prediction_value_total[1m]))",
            "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))",
        ]
        .map(String::from),
    );
    q
}

/// `Ok` when two answers are the same series with values within 1e-6 relative (ordered when
/// the query orders its result).
fn same(ours: &QueryData, theirs: &QueryData, ordered: bool) -> Result<(), String> {
    match (ours, theirs) {
        (QueryData::Scalar(a), QueryData::Scalar(b)) => {
            if a.t_ms() == b.t_ms() && almost_equal(a.value(), b.value()) {
                Ok(())
            } else {
                Err(format!("scalar {a:?} vs {b:?}"))
            }
        }
        (QueryData::Vector(a), QueryData::Vector(b)) => {
            if a.len() != b.len() {
                return Err(format!("{} vs {} samples", a.len(), b.len()));
            }
            if ordered {
                for (x, y) in a.iter().zip(b) {
                    if x.metric != y.metric || !almost_equal(x.value.value(), y.value.value()) {
                        return Err(format!("order/value: {x:?} vs {y:?}"));
                    }
                }
                return Ok(());
            }
            let theirs: BTreeMap<&Labels, f64> =
                b.iter().map(|s| (&s.metric, s.value.value())).collect();
            for s in a {
                match theirs.get(&s.metric) {
                    Some(v) if almost_equal(s.value.value(), *v) => {}
                    Some(v) => return Err(format!("{}: {} vs {v}", s.metric, s.value.1)),
                    None => return Err(format!("{} not in Prometheus' answer", s.metric)),
                }
            }
            Ok(())
        }
        (QueryData::Matrix(a), QueryData::Matrix(b)) => {
            if a.len() != b.len() {
                return Err(format!("{} vs {} series", a.len(), b.len()));
            }
            let theirs: BTreeMap<&Labels, &Vec<lookout_promql::value::ApiPoint>> =
                b.iter().map(|s| (&s.metric, &s.values)).collect();
            for s in a {
                let Some(pts) = theirs.get(&s.metric) else {
                    return Err(format!("{} not in Prometheus' answer", s.metric));
                };
                if pts.len() != s.values.len() {
                    return Err(format!(
                        "{}: {} vs {} points",
                        s.metric,
                        s.values.len(),
                        pts.len()
                    ));
                }
                for (x, y) in s.values.iter().zip(pts.iter()) {
                    if x.t_ms() != y.t_ms() || !almost_equal(x.value(), y.value()) {
                        return Err(format!("{}: {x:?} vs {y:?}", s.metric));
                    }
                }
            }
            Ok(())
        }
        (a, b) => Err(format!("result types differ: {a:?} vs {b:?}")),
    }
}

fn prometheus(port: u16, path: &str, params: &[(&str, String)]) -> ApiResponse {
    let resp = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .query(params)
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    resp.json::<ApiResponse>()
        .unwrap_or_else(|e| panic!("{path} answer: {e}"))
}

#[test]
fn engine_agrees_with_prometheus() {
    // Aligned to the hour, an hour and a half ago: inside Prometheus' retention, and
    // backfilled blocks do not overlap its (empty) head.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let t0 = (now_ms / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    let series = generate(t0);

    let dir = TempDir::new("promql-diff");
    let om = dir.0.join("data.om");
    std::fs::write(&om, openmetrics(&series)).expect("write openmetrics");
    let data = dir.0.join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .expect("promtool (cargo xtask setup installs prometheus)");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prom = start_prometheus(&dir, "");
    let port = prom.port();

    let mut storage = Storage::new();
    for (labels, points) in &series {
        for &(t, v) in points {
            storage.append(labels, t, v).expect("append");
        }
    }
    // Prometheus' default subquery step is its evaluation interval (1 s in this config).
    let engine = Engine {
        default_subquery_step_ms: 1000,
        ..Engine::default()
    };

    // Wait until Prometheus has loaded the blocks.
    lookout_tests::wait_for("blocks loaded", Duration::from_secs(60), || {
        let r = prometheus(
            port,
            "/api/v1/query",
            &[
                ("query", "count(temp)".into()),
                ("time", format!("{}", (t0 + 1_800_000) / 1000)),
            ],
        );
        matches!(r.data, Some(QueryData::Vector(ref v)) if v.len() == 1).then_some(())
    });

    let secs = |ms: i64| format!("{}.{:03}", ms / 1000, ms % 1000);
    let instants = [
        t0 + 30 * 60_000,
        t0 + 47 * 60_000 + 30_000,
        t0 + 62 * 60_000,
    ];
    let (range_start, range_end) = (t0 + 10 * 60_000, t0 + 65 * 60_000);
    let mut checked = 0;
    let mut failures = Vec::new();
    for q in queries() {
        let ordered = q.starts_with("sort") || q.starts_with("topk") || q.starts_with("bottomk");
        let mut compare =
            |what: String, ours: Result<lookout_promql::Value, _>, t: i64, theirs: ApiResponse| {
                checked += 1;
                match (ours, theirs.status.as_str()) {
                    (Ok(v), "success") => {
                        let Some(theirs) = theirs.data else {
                            failures.push(format!("{what}: Prometheus sent no data"));
                            return;
                        };
                        if let Err(e) = same(&v.to_api(t), &theirs, ordered) {
                            failures.push(format!("{what}: {e}"));
                        }
                    }
                    (Err(_), "error") => {}
                    (Ok(v), _) => failures.push(format!(
                        "{what}: Prometheus failed ({:?}), Lookout answered {:?}",
                        theirs.error, v
                    )),
                    (Err(e), _) => failures.push(format!("{what}: Lookout failed: {e}")),
                }
            };
        for &t in &instants {
            let theirs = prometheus(
                port,
                "/api/v1/query",
                &[("query", q.clone()), ("time", secs(t))],
            );
            compare(
                format!("{q} @ instant {t}"),
                engine.instant_query(&storage, &q, t),
                t,
                theirs,
            );
        }
        for step in [60_000i64, 37_000] {
            let theirs = prometheus(
                port,
                "/api/v1/query_range",
                &[
                    ("query", q.clone()),
                    ("start", secs(range_start)),
                    ("end", secs(range_end)),
                    ("step", secs(step)),
                ],
            );
            compare(
                format!("{q} range step {step}"),
                engine.range_query(&storage, &q, range_start, range_end, step),
                range_end,
                theirs,
            );
        }
    }
    println!("{checked} answers compared, {} differ", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {checked} answers differ from Prometheus:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 1000, "only {checked} comparisons");
}

/// The engine's own test files, in Prometheus' test language.
#[test]
fn promql_test_files_pass() {
    let dir = tests_dir().join("../crates/promql/testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut args = vec!["promql-test".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = Command::new(lookout_tests::lookout_bin())
        .args(&args)
        .output()
        .expect("lookout promql-test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    assert!(out.status.success(), "{stdout}");
    let passed: usize = last
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(last.ends_with(", 0 failed") && passed >= 150, "{last}");
}

/// The page's own metrics, scraped into the store every 15 s the way Prometheus would, answer
/// the seed's five queries with the numbers the recorder saw.
#[test]
fn seed_queries_on_scraped_metrics() {
    let labels = lookout_model::LABELS;
    let metrics = Metrics::new(Runtime::BrowserCpu, "page-1", &labels);
    let mut storage = Storage::new();
    let mut scraper = Scraper::new(
        15_000,
        &[("job", "lookout"), ("instance", metrics.instance())],
    );
    // Cumulative per-label counts and inference-time bucket counts at every scrape.
    let mut counts: Vec<BTreeMap<&str, f64>> = Vec::new();
    let mut buckets: Vec<Vec<f64>> = Vec::new();
    let mut per_label: BTreeMap<&str, f64> = BTreeMap::new();
    let mut per_bucket = vec![0.0; INFERENCE_BUCKETS.len() + 1];
    for step in 0..=40usize {
        for k in 0..(step % 4 + step % 3) {
            let label = labels[(step * 3 + k) % labels.len()];
            let secs = 0.0004 * ((step + k) % 9 + 1) as f64;
            metrics.record(&Observation {
                label,
                confidence: 0.5,
                inference_seconds: secs,
                input: None,
            });
            *per_label.entry(label).or_insert(0.0) += 1.0;
            for (b, ub) in INFERENCE_BUCKETS
                .iter()
                .chain([f64::INFINITY].iter())
                .enumerate()
            {
                if secs <= *ub {
                    per_bucket[b] += 1.0;
                }
            }
        }
        counts.push(per_label.clone());
        buckets.push(per_bucket.clone());
        scraper
            .scrape(
                &mut storage,
                &metrics.encode(Format::Text),
                step as i64 * 15_000,
            )
            .expect("scrape");
    }
    let engine = Engine::default();
    let t = 600_000;
    let vector = |q: &str| -> Vec<(Labels, f64)> {
        match engine.instant_query(&storage, q, t) {
            Ok(lookout_promql::Value::Vector(v)) => {
                v.into_iter().map(|s| (s.labels, s.v)).collect()
            }
            other => panic!("{q}: {other:?}"),
        }
    };
    let total: f64 = per_label.values().sum();
    assert!(total > 50.0);
    let one = |q: &str, label: &str, value: &str| {
        let r = vector(q);
        assert_eq!(r.len(), 1, "{q}: {r:?}");
        assert_eq!(r[0].0.get(label), Some(value), "{q}");
        r[0].1
    };
    assert_eq!(
        one(
            "sum by (instance) (prediction_value_total)",
            "instance",
            "page-1"
        ),
        total
    );
    assert_eq!(
        one(
            "sum by (instance) (inference_time_count)",
            "instance",
            "page-1"
        ),
        total
    );
    for (l, v) in vector("sum by (label) (prediction_value_total)") {
        let label = l.get("label").expect("label");
        assert_eq!(v, per_label.get(label).copied().unwrap_or(0.0), "{label}");
    }
    // Samples sit on both edges of the 1 m window: the rate is the plain difference / 60.
    for (l, v) in vector("sum by (label) (rate(prediction_value_total[1m]))") {
        let label = l.get("label").expect("label");
        let at = |i: usize| counts[i].get(label).copied().unwrap_or(0.0);
        let want = (at(40) - at(36)) / 60.0;
        assert!(almost_equal(v, want), "{label}: {v} vs {want}");
    }
    let r = vector("histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0.get("job"), Some("lookout"));
    let rates: Vec<(f64, f64)> = INFERENCE_BUCKETS
        .iter()
        .chain([f64::INFINITY].iter())
        .enumerate()
        .map(|(b, ub)| (*ub, (buckets[40][b] - buckets[20][b]) / 300.0))
        .collect();
    let want = classic_quantile(0.9, &rates);
    assert!(almost_equal(r[0].1, want), "p90 {} vs {want}", r[0].1);
}

/// GET (or POST as a form) an API path; the HTTP status and the JSON answer.
fn api(base: &str, path: &str, params: &[(&str, String)], post: bool) -> (u16, serde_json::Value) {
    let client = reqwest::blocking::Client::new();
    let url = format!("{base}{path}");
    let req = if post {
        client.post(&url).form(params)
    } else {
        client.get(&url).query(params)
    };
    let resp = req
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url} ({e}): {text}"));
    (status, json)
}

/// `lookout serve`'s query API (its own store, filled here with `--backfill` and by scraping
/// itself) against a real Prometheus 2.42 holding the same data (backfilled with promtool,
/// scraping the same server): every query instant and range (GET, and as a form POST, with
/// RFC 3339 times and duration steps), the HTTP status and errorType of every error, label
/// names and values, series and metadata.
#[test]
fn server_api_agrees_with_prometheus() {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let t0 = (now_ms / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    let series = generate(t0);
    let dir = TempDir::new("server-api-diff");
    let om = dir.0.join("data.om");
    std::fs::write(&om, openmetrics(&series)).expect("write openmetrics");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(dir.0.join("data"))
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let om_arg = om.to_string_lossy().into_owned();
    let (_server, ours) =
        // Prometheus here evaluates every 1 s (start_prometheus): the step of a subquery
        // that names none.
        lookout_tests::start_server(&[
            "--backfill",
            &om_arg,
            "--scrape-interval",
            "1",
            "--evaluation-interval",
            "1",
        ]);
    let target = ours.trim_start_matches("http://").to_string();
    let prom = start_prometheus(
        &dir,
        &format!("  - job_name: lookout\n    static_configs:\n      - targets: ['{target}']\n"),
    );
    let theirs = prom.url();
    // Blocks loaded, and the server scraped (for metadata).
    lookout_tests::wait_for("blocks and a scrape", Duration::from_secs(90), || {
        let (_, blocks) = api(
            &theirs,
            "/api/v1/query",
            &[
                ("query", "count(temp)".into()),
                ("time", format!("{}", (t0 + 1_800_000) / 1000)),
            ],
            false,
        );
        let (_, meta) = api(&theirs, "/api/v1/metadata", &[], false);
        (blocks["data"]["result"]
            .as_array()
            .is_some_and(|r| r.len() == 1)
            && meta["data"].get("inference_time").is_some())
        .then_some(())
    });

    let secs = |ms: i64| format!("{}.{:03}", ms / 1000, ms % 1000);
    let rfc3339 = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .expect("time")
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let data = |v: &serde_json::Value| -> QueryData {
        serde_json::from_value(v["data"].clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    let at = t0 + 47 * 60_000 + 30_000;
    let (start, end) = (t0 + 10 * 60_000, t0 + 65 * 60_000);
    for (i, q) in queries().into_iter().enumerate() {
        let ordered = q.starts_with("sort") || q.starts_with("topk") || q.starts_with("bottomk");
        // Vary how the request is written: GET or POST, seconds or RFC 3339, step as seconds
        // or as a duration.
        let post = i % 2 == 1;
        let time = if i % 3 == 0 { rfc3339(at) } else { secs(at) };
        let step = if i % 4 == 0 {
            "37s".to_string()
        } else {
            "60".to_string()
        };
        let requests = [
            ("/api/v1/query", vec![("query", q.clone()), ("time", time)]),
            (
                "/api/v1/query_range",
                vec![
                    ("query", q.clone()),
                    ("start", secs(start)),
                    ("end", rfc3339(end)),
                    ("step", step),
                ],
            ),
        ];
        for (path, params) in requests {
            checked += 1;
            let (s1, a) = api(&ours, path, &params, post);
            let (s2, b) = api(&theirs, path, &params, post);
            if s1 != s2 || a["status"] != b["status"] || a["errorType"] != b["errorType"] {
                failures.push(format!(
                    "{path} {q}: HTTP {s1} {} {} vs Prometheus {s2} {} {}",
                    a["status"], a["errorType"], b["status"], b["errorType"]
                ));
                continue;
            }
            if s1 == 200
                && let Err(e) = same(&data(&a), &data(&b), ordered)
            {
                failures.push(format!("{path} {q}: {e}"));
            }
        }
    }
    // Malformed requests: the same status and errorType.
    let bad: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("/api/v1/query", vec![]),
        ("/api/v1/query", vec![("query", "sum(".into())]),
        (
            "/api/v1/query",
            vec![("query", "up".into()), ("time", "yesterday".into())],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up".into()),
                ("start", "10".into()),
                ("end", "0".into()),
                ("step", "1".into()),
            ],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up".into()),
                ("start", "0".into()),
                ("end", "10".into()),
                ("step", "0".into()),
            ],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up".into()),
                ("start", "0".into()),
                ("end", "100000".into()),
                ("step", "1".into()),
            ],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "up".into()),
                ("start", "0".into()),
                ("end", "10".into()),
                ("step", "x".into()),
            ],
        ),
        ("/api/v1/series", vec![]),
        ("/api/v1/series", vec![("match[]", "sum(up)".into())]),
        ("/api/v1/label/0bad/values", vec![]),
    ];
    for (path, params) in bad {
        checked += 1;
        let (s1, a) = api(&ours, path, &params, false);
        let (s2, b) = api(&theirs, path, &params, false);
        if (s1, &a["status"], &a["errorType"]) != (s2, &b["status"], &b["errorType"]) {
            failures.push(format!(
                "{path} {params:?}: {s1} {a} vs Prometheus {s2} {b}"
            ));
        }
    }
    // Labels, values and series over the backfilled hour (Prometheus' head, holding the
    // live scrapes, lies outside it).
    let window = |extra: Vec<(&'static str, String)>| {
        let mut p = vec![("start", secs(t0)), ("end", secs(t0 + 3_600_000))];
        p.extend(extra);
        p
    };
    let mut compare = |path: &str, params: Vec<(&str, String)>| {
        checked += 1;
        let (s1, a) = api(&ours, path, &params, false);
        let (s2, b) = api(&theirs, path, &params, false);
        if s1 != s2 || a["data"] != b["data"] {
            failures.push(format!(
                "{path} {params:?}: {s1} {} vs Prometheus {s2} {}",
                a["data"], b["data"]
            ));
        }
        a
    };
    let names = compare("/api/v1/labels", window(vec![]));
    compare(
        "/api/v1/labels",
        window(vec![("match[]", "req_total{job=\"api\"}".into())]),
    );
    compare(
        "/api/v1/labels",
        window(vec![
            ("match[]", "temp".into()),
            ("match[]", "inference_time_bucket".into()),
        ]),
    );
    for name in names["data"].as_array().cloned().unwrap_or_default() {
        let name = name.as_str().unwrap_or_default().to_string();
        compare(&format!("/api/v1/label/{name}/values"), window(vec![]));
        compare(
            &format!("/api/v1/label/{name}/values"),
            window(vec![("match[]", "{__name__=~\"req.*\"}".into())]),
        );
    }
    for m in [
        "req_total",
        "{job=\"web\",code=~\"5..\"}",
        "{__name__=~\".+_bucket\",le=\"+Inf\"}",
    ] {
        compare("/api/v1/series", window(vec![("match[]", m.into())]));
    }
    compare(
        "/api/v1/series",
        window(vec![
            ("match[]", "temp".into()),
            ("match[]", "req_total{code=\"500\"}".into()),
        ]),
    );
    // Metadata of the families the server scraped from itself.
    let (_, theirs_meta) = api(&theirs, "/api/v1/metadata", &[], false);
    let families: Vec<String> = theirs_meta["data"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert!(families.len() >= 8, "{theirs_meta}");
    for f in &families {
        compare("/api/v1/metadata", vec![("metric", f.clone())]);
    }
    println!(
        "{checked} server answers compared, {} differ",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} answers differ from Prometheus:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
