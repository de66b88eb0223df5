#![allow(dead_code)] // each test file uses part of these helpers
//! One fixed recording, shared by the native fixture test and the browser test, so that the
//! browser's exposition can be compared with the native one line for line.

use lookout_metrics::{Format, InputStats, Metrics, Observation, Runtime};

const LABELS: [&str; 10] = [
    "Airplane",
    "Automobile",
    "Bird",
    "Cat",
    "Deer",
    "Dog",
    "Frog",
    "Horse",
    "Ship",
    "Truck",
];

/// 60 predictions on wasm CPU and 15 on WebGPU, with varied labels, confidences, latencies
/// and input statistics (values on and between bucket bounds).
pub fn recording() -> Metrics {
    let m = Metrics::new(Runtime::BrowserCpu, "page-fixture", &LABELS);
    for i in 0..75usize {
        let runtime = if i % 5 == 4 {
            Runtime::BrowserWebgpu
        } else {
            Runtime::BrowserCpu
        };
        m.record_on(
            runtime,
            &Observation {
                label: LABELS[(i * 7) % 10],
                confidence: ((i * 37) % 101) as f64 / 100.0,
                inference_seconds: 0.00025 * (1 + (i * 13) % 40) as f64,
                input: Some(InputStats {
                    brightness: ((i * 11) % 100) as f64 / 100.0,
                    contrast: ((i * 3) % 50) as f64 / 100.0,
                }),
            },
        );
    }
    m
}

/// An exposition's lines, sorted: series order within a family follows a hash map, so only
/// the set of lines is comparable across processes.
pub fn canonical(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.join("\n") + "\n"
}

pub fn expositions() -> [(&'static str, String); 2] {
    let m = recording();
    [
        ("text", canonical(&m.encode(Format::Text))),
        ("openmetrics", canonical(&m.encode(Format::OpenMetrics))),
    ]
}
