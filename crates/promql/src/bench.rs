//! The benchmark's data and queries, shared by `cargo xtask promql-bench` (native, and
//! against Prometheus) and the in-browser run (`tests/browser_bench.rs`): 1,000 series at
//! 15 s — 600 counters (`http_requests_total`, 10 jobs × 12 instances × 5 codes) and 50
//! classic histograms of 8 buckets — from a fixed pseudo-random sequence.

use crate::labels::Labels;

/// Scrape interval of the generated data.
pub const STEP_MS: i64 = 15_000;

/// The queries measured: a rate, an aggregation, a histogram quantile, a subquery, a topk.
pub const QUERIES: &[&str] = &[
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))",
    "max_over_time(sum(rate(http_requests_total[5m]))[1h:1m])",
    "topk(5, rate(http_requests_total[5m]))",
];

/// `points` samples per series from `t0`.
pub fn dataset(t0: i64, points: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    let mut x: u64 = 7;
    let mut rnd = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for job in 0..10 {
        for instance in 0..12 {
            for code in ["200", "201", "400", "404", "500"] {
                let l = Labels::from_pairs(&[
                    ("__name__", "http_requests_total"),
                    ("job", &format!("job-{job}")),
                    ("instance", &format!("10.0.{job}.{instance}:9100")),
                    ("code", code),
                ]);
                let mut v = 0.0;
                let p = (0..points)
                    .map(|i| {
                        v += (rnd() * 20.0).floor();
                        (t0 + i * STEP_MS, v)
                    })
                    .collect();
                out.push((l, p));
            }
        }
    }
    let bounds = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"];
    for job in 0..10 {
        for instance in 0..5 {
            let mut counts = [0.0f64; 8];
            let mut pts: Vec<Vec<(i64, f64)>> = (0..8)
                .map(|_| Vec::with_capacity(points as usize))
                .collect();
            for i in 0..points {
                for _ in 0..(rnd() * 30.0) as usize {
                    let d = rnd() * rnd() * 6.0;
                    for (b, ub) in [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, f64::INFINITY]
                        .iter()
                        .enumerate()
                    {
                        if d <= *ub {
                            counts[b] += 1.0;
                        }
                    }
                }
                for b in 0..8 {
                    pts[b].push((t0 + i * STEP_MS, counts[b]));
                }
            }
            for (b, p) in pts.into_iter().enumerate() {
                out.push((
                    Labels::from_pairs(&[
                        ("__name__", "request_duration_seconds_bucket"),
                        ("job", &format!("job-{job}")),
                        ("instance", &format!("10.0.{job}.{instance}:9100")),
                        ("le", bounds[b]),
                    ]),
                    p,
                ));
            }
        }
    }
    out
}
