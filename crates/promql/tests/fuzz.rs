#![cfg(not(target_arch = "wasm32"))]
//! No input makes the engine panic: proptest feeds the parser and the evaluator random
//! byte strings, random token soups, and random well-formed queries built from PromQL's
//! grammar (functions × aggregations × operators × modifiers), each evaluated as an instant
//! and a range query under tight limits. Errors are fine; panics and hangs are not.
//! `PROPTEST_CASES` raises the count (BENCHMARKS.md records a long run).

use std::sync::atomic::{AtomicUsize, Ordering};

use lookout_promql::{Engine, Labels, Limits, Storage};
use proptest::prelude::*;

static RAN: AtomicUsize = AtomicUsize::new(0);
static PARSED: AtomicUsize = AtomicUsize::new(0);
static ANSWERED: AtomicUsize = AtomicUsize::new(0);

fn storage() -> Storage {
    let mut s = Storage::new();
    for (i, job) in ["a", "b", "c"].iter().enumerate() {
        for code in ["200", "500"] {
            let l = Labels::from_pairs(&[("__name__", "m"), ("job", job), ("code", code)]);
            let b = Labels::from_pairs(&[("__name__", "h_bucket"), ("job", job), ("le", code)]);
            for t in 0..60 {
                let v = (t * (i as i64 + 1)) as f64;
                let _ = s.append(&l, t * 15_000, if t == 30 { f64::NAN } else { v });
                let _ = s.append(&b, t * 15_000, v / 2.0);
            }
        }
    }
    s
}

fn engine() -> Engine {
    Engine::new(Limits {
        max_samples: 200_000,
        max_series: 1_000,
        max_steps: 200,
        timeout: std::time::Duration::from_secs(2),
    })
}

fn run(q: &str) {
    thread_local! {
        static S: Storage = storage();
    }
    let e = engine();
    if lookout_promql::parse(q).is_ok() {
        PARSED.fetch_add(1, Ordering::Relaxed);
    }
    S.with(|s| {
        if e.instant_query(s, q, 600_000).is_ok() {
            ANSWERED.fetch_add(1, Ordering::Relaxed);
        }
        let _ = e.range_query(s, q, 0, 900_000, 30_000);
    });
    RAN.fetch_add(1, Ordering::Relaxed);
}

/// Well-formed (mostly) queries from PromQL's grammar.
fn expr() -> impl Strategy<Value = String> {
    let selector = prop_oneof![
        Just("m".to_string()),
        Just("m{job=\"a\"}".to_string()),
        Just("m{code=~\"5..\"}".to_string()),
        Just("h_bucket".to_string()),
        Just("nothing".to_string()),
        Just("{__name__=~\".+\"}".to_string()),
        Just("m offset 1m".to_string()),
        Just("m @ 300".to_string()),
    ];
    let range = prop_oneof![Just("1m"), Just("5m"), Just("30s"), Just("1h"), Just("0s")];
    // Mostly vectors: most functions and set operators take them (scalars there are type
    // errors, which only exercise the parser).
    let leaf = prop_oneof![
        8 => selector.clone(),
        1 => (-5.0f64..5.0).prop_map(|v| format!("{v}")),
        1 => prop_oneof![Just("NaN".to_string()), Just("Inf".to_string())],
    ];
    leaf.prop_recursive(4, 64, 4, move |inner| {
        let range_fn = prop_oneof![
            Just("rate"),
            Just("irate"),
            Just("increase"),
            Just("delta"),
            Just("idelta"),
            Just("deriv"),
            Just("resets"),
            Just("changes"),
            Just("avg_over_time"),
            Just("stddev_over_time"),
            Just("last_over_time"),
            Just("absent_over_time"),
            Just("present_over_time"),
        ];
        let vec_fn = prop_oneof![
            Just("abs"),
            Just("ln"),
            Just("sqrt"),
            Just("sort_desc"),
            Just("absent"),
            Just("timestamp"),
            Just("scalar"),
            Just("day_of_week"),
            Just("exp"),
        ];
        let agg = prop_oneof![
            Just("sum"),
            Just("avg"),
            Just("min"),
            Just("max"),
            Just("count"),
            Just("group"),
            Just("stddev"),
            Just("stdvar"),
        ];
        let op = prop_oneof![
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("%"),
            Just("^"),
            Just(">"),
            Just("== bool"),
            Just("and"),
            Just("or"),
            Just("unless"),
            Just("atan2"),
        ];
        let matching = prop_oneof![
            Just(""),
            Just(" on(job)"),
            Just(" ignoring(code)"),
            Just(" on(job) group_left"),
            Just(" ignoring(code) group_right(le)"),
        ];
        prop_oneof![
            (range_fn, selector.clone(), range.clone())
                .prop_map(|(f, s, r)| format!("{f}({s}[{r}])")),
            (vec_fn, inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            (
                agg,
                inner.clone(),
                prop_oneof![Just(""), Just(" by (job)"), Just(" without (code)")]
            )
                .prop_map(|(a, e, g)| format!("{a}{g} ({e})")),
            (inner.clone(), op, matching, inner.clone())
                .prop_map(|(l, o, m, r)| format!("({l}) {o}{m} ({r})")),
            (inner.clone(), range.clone())
                .prop_map(|(e, r)| format!("max_over_time(({e})[{r}:1m])")),
            (0.0f64..1.5, inner.clone()).prop_map(|(q, e)| format!("histogram_quantile({q}, {e})")),
            (-2i32..5, inner.clone()).prop_map(|(k, e)| format!("topk({k}, {e})")),
            (-0.5f64..1.5, inner.clone()).prop_map(|(q, e)| format!("quantile({q}, {e})")),
            inner
                .clone()
                .prop_map(|e| format!("count_values(\"v\", {e})")),
            inner
                .clone()
                .prop_map(|e| format!("label_replace({e}, \"x\", \"$1\", \"job\", \"(.*)\")")),
            inner.clone().prop_map(|e| format!("clamp({e}, 1, -1)")),
            inner.clone().prop_map(|e| format!("-({e})")),
            (inner.clone(), 0.0f64..1.0, 0.0f64..1.0)
                .prop_map(|(e, a, b)| format!("holt_winters(({e})[5m:1m], {a}, {b})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok())
            .unwrap_or_else(|| lookout_hostile::cases(2000)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        run(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(prop_oneof![
        Just("m"), Just("("), Just(")"), Just("["), Just("]"), Just("{"), Just("}"),
        Just("5m"), Just(":"), Just("sum"), Just("by"), Just("rate"), Just("+"), Just("offset"),
        Just("@"), Just("1"), Just(","), Just("\"a\""), Just("="), Just("=~"), Just("bool"),
        Just("on"), Just("group_left"), Just("topk"), Just("-"), Just("start()"), Just("^"),
    ], 0..16)) {
        run(&tokens.join(" "));
    }

    #[test]
    fn grammar_queries_never_panic(q in expr()) {
        run(&q);
    }

    /// The metrics text a scrape reads (the server scraping itself and the Pushgateway, the
    /// page scraping its module): real exposition mutated byte by byte, scraped twice into a
    /// store (the second marks vanished series stale), then queried.
    #[test]
    fn scraped_text_never_panics(text in lookout_hostile::mutated(exposition_seeds(), 10)) {
        let text = String::from_utf8_lossy(&text);
        let mut storage = Storage::new();
        let mut scraper = lookout_promql::Scraper::new(15_000, &[("job", "fuzz"), ("instance", "i")]);
        let first = scraper.scrape(&mut storage, &text, 15_000);
        static T: lookout_hostile::Tally = lookout_hostile::Tally::new("scraped_text_never_panics");
        T.record(first.is_ok());
        let _ = scraper.scrape(&mut storage, "", 30_000);
        if first.is_ok() {
            let e = engine();
            for q in ["count({__name__!=\"\"})", "sum by (le) (rate(inference_time_bucket[1m]))"] {
                let _ = e.instant_query(&storage, q, 30_000);
            }
        }
    }
}

/// Exposition text as Lookout and the Pushgateway write it: HELP/TYPE/UNIT lines, escaped
/// label values, a histogram, timestamps, NaN and infinities, exemplar-like suffixes.
fn exposition_seeds() -> Vec<Vec<u8>> {
    [
        "# HELP prediction_value_total Predictions per class.\n# TYPE prediction_value_total counter\nprediction_value_total{label=\"Ship\",runtime=\"native\"} 12\nprediction_value_total{label=\"Cat\\\"s \\\\ \\n\"} 3 1700000000000\n",
        "# TYPE inference_time histogram\n# UNIT inference_time seconds\ninference_time_bucket{le=\"0.001\"} 1\ninference_time_bucket{le=\"0.0025\"} 4\ninference_time_bucket{le=\"+Inf\"} 5\ninference_time_sum 0.01\ninference_time_count 5\n# EOF\n",
        "up 1\nm{a=\"b\"} NaN\nm{a=\"c\"} +Inf\nm{a=\"d\"} -Inf\nm{a=\"e\"} 1e308\nx_total 1 # {trace_id=\"abc\"} 1.0\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

#[test]
fn z_report_count() {
    // Runs last in name order when single-threaded; in parallel it reports what ran so far.
    println!(
        "fuzz inputs evaluated: {} ({} parsed, {} answered without error)",
        RAN.load(Ordering::Relaxed),
        PARSED.load(Ordering::Relaxed),
        ANSWERED.load(Ordering::Relaxed)
    );
}
