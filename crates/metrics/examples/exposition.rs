//! Prints an example exposition: `cargo run --release --example exposition -- [openmetrics]`.
use lookout_metrics::{Format, InputStats, Metrics, Observation, Runtime};

fn main() {
    let names: Vec<String> = (0..10).map(|i| format!("class{i}")).collect();
    let classes: Vec<&str> = names.iter().map(String::as_str).collect();
    let m = Metrics::new(Runtime::NativeCpu, "example", &classes);
    for (i, c) in classes.iter().enumerate() {
        m.record(&Observation {
            label: c,
            confidence: 0.05 + 0.09 * i as f64,
            inference_seconds: 0.002 * (i + 1) as f64,
            input: Some(InputStats {
                brightness: 0.4,
                contrast: 0.2,
            }),
        });
    }
    let format = if std::env::args().nth(1).as_deref() == Some("openmetrics") {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    print!("{}", m.encode(format));
}
