//! The edge worker in a real workerd: the seed's API answers exactly like the native
//! pipeline with the same (compact) weights, bad input is refused with 4xx JSON before any
//! decoding, and the isolate's metrics reach a real Pushgateway without losing an increment
//! across an outage.

use std::time::Duration;

use lookout_model::{Backend, Classifier, LABELS};
use lookout_tests::{
    bad_input_cases, get, parse_exposition, post, run_lookout, start_pushgateway,
    start_pushgateway_at, start_workerd, wait_for,
};

/// Images per batch request the worker accepts.
const EDGE_MAX_BATCH: usize = 16;

fn seed_request(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    serde_json::json!({
        "image": base64::engine::general_purpose::STANDARD.encode(bytes),
        "format": "JPEG",
    })
    .to_string()
    .into_bytes()
}

/// Every class probability of `got` (the worker's JSON) within `tol` of `want` (native).
fn assert_same_prediction(what: &str, got: &serde_json::Value, want: &lookout_model::Prediction) {
    assert_eq!(got["class"], want.label, "{what}: {got}");
    assert_eq!(got["runtime"], "edge", "{what}");
    for (i, label) in LABELS.iter().enumerate() {
        let p = got["probabilities"][label].as_f64().expect("probability");
        let diff = (p - f64::from(want.probabilities[i])).abs();
        assert!(
            diff < 1e-4,
            "{what} {label}: worker {p}, native {}",
            want.probabilities[i]
        );
    }
}

fn prediction_total(metrics: &str, filter: impl Fn(&[(String, String)]) -> bool) -> f64 {
    parse_exposition(metrics)
        .iter()
        .filter(|(n, labels, _)| n == "prediction_value_total" && filter(labels))
        .map(|(_, _, v)| v)
        .sum()
}

#[test]
fn worker_predicts_like_native_and_refuses_bad_input() {
    let (_workerd, base) = start_workerd(None);
    let url = format!("{base}/predict");
    let native = Classifier::embedded_compact(Backend::Cpu).expect("native compact classifier");
    let samples = lookout_model::samples::SAMPLES;
    assert!(samples.len() >= EDGE_MAX_BATCH);

    // One image per request: the seed's request shape.
    for (name, bytes) in samples {
        let (status, v) = post(&url, seed_request(bytes));
        assert_eq!(status, 200, "{name}: {v}");
        let want = native
            .predict_bytes(bytes, Some(image::ImageFormat::Jpeg))
            .expect("native prediction");
        assert_same_prediction(name, &v, &want);
    }

    // The batch form, full.
    use base64::Engine;
    let batch: Vec<serde_json::Value> = samples[..EDGE_MAX_BATCH]
        .iter()
        .map(|(_, b)| {
            serde_json::json!({"image": base64::engine::general_purpose::STANDARD.encode(b)})
        })
        .collect();
    let (status, v) = post(
        &url,
        serde_json::json!({ "images": batch })
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 200, "{v}");
    let items = v["predictions"].as_array().expect("predictions");
    assert_eq!(items.len(), EDGE_MAX_BATCH);
    for ((name, bytes), item) in samples.iter().zip(items) {
        let want = native.predict_bytes(bytes, None).expect("native");
        assert_same_prediction(&format!("batch {name}"), item, &want);
    }

    // Bad input: 4xx JSON, and the isolate keeps serving after each.
    // A 20 MB body: refused from its Content-Length, before the body is read.
    let (head, body) = lookout_tests::post_oversize(&base, 20 << 20);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let v: serde_json::Value = serde_json::from_str(body.trim()).expect("JSON error body");
    assert_eq!(v["status"], 413, "{v}");
    let (status, v) = post(&url, seed_request(samples[0].1));
    assert_eq!(status, 200, "still serving after the 20 MB body: {v}");
    lookout_tests::check_refusals(&url, bad_input_cases(EDGE_MAX_BATCH), |what| {
        let (status, v) = post(&url, seed_request(samples[0].1));
        assert_eq!(status, 200, "still serving after {what}: {v}");
    });
    let (status, v) = post(&format!("{base}/nowhere"), b"{}".to_vec());
    assert_eq!((status, v["status"].as_u64()), (404, Some(404)), "{v}");

    // Every successful prediction was counted, with the edge runtime label:
    // 20 single + 16 batch + one after each of the 10 refusals.
    let metrics = get(&format!("{base}/metrics")).expect("metrics");
    let total = prediction_total(&metrics, |l| {
        l.iter().any(|(k, v)| k == "runtime" && v == "edge")
    });
    assert_eq!(total, (samples.len() + EDGE_MAX_BATCH + 10) as f64);
    assert!(metrics.contains("# TYPE inference_time histogram"));
}

#[test]
fn worker_pushes_to_pushgateway_and_survives_an_outage() {
    let pg = start_pushgateway();
    let pg_port = pg.port();
    let pg_url = format!("http://127.0.0.1:{pg_port}");
    let (_workerd, base) = start_workerd(Some(&pg_url));
    let health = || -> serde_json::Value {
        serde_json::from_str(&get(&format!("{base}/healthz")).expect("healthz")).expect("json")
    };
    let instance = health()["instance"].as_str().expect("instance").to_string();
    assert!(instance.starts_with("edge-"), "{instance}");

    let traffic = |n: u64| {
        let s = run_lookout(&[
            "traffic",
            "--url",
            &format!("{base}/predict"),
            "--count",
            &n.to_string(),
            "--rate",
            "100",
            "--concurrency",
            "4",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(s.trim()).expect("summary");
        assert_eq!(
            (v["ok"].as_u64(), v["errors"].as_u64()),
            (Some(n), Some(0)),
            "{v}"
        );
    };
    let pushed = || -> Option<f64> {
        let text = get(&format!("{pg_url}/metrics"))?;
        Some(prediction_total(&text, |l| {
            let has = |k: &str, v: &str| l.iter().any(|(a, b)| a == k && b == v);
            has("job", "lookout") && has("instance", &instance) && has("runtime", "edge")
        }))
    };

    traffic(30);
    wait_for("30 pushed", Duration::from_secs(20), || {
        (pushed() == Some(30.0)).then_some(())
    });

    // Outage: predictions go on, answered at once; the pushes fail.
    pg.stop();
    traffic(40);
    wait_for("push failures reported", Duration::from_secs(20), || {
        (health()["push"]["failed"].as_u64()? > 0).then_some(())
    });

    // A new, empty Pushgateway on the same port (the worker pushes to that URL): the next
    // request's push carries all 75.
    let _pg = start_pushgateway_at(pg_port);
    traffic(5);
    wait_for(
        "all 75 predictions at the Pushgateway",
        Duration::from_secs(30),
        || {
            let _ = get(&format!("{base}/healthz")); // any request retries a pending push
            (pushed() == Some(75.0)).then_some(())
        },
    );
    assert_eq!(health()["predictions"], 75);
}

/// A `width`×`height` picture with ±`noise` of deterministic sensor-like noise on the rows
/// above `noisy_rows` (noise is what makes a file large; the rest compresses to little).
fn noisy(width: u32, height: u32, noise: u8, noisy_rows: u32) -> image::RgbaImage {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    image::RgbaImage::from_fn(width, height, |x, y| {
        let mut px = [(x * 255 / width) as u8, (y * 255 / height) as u8, 128, 255];
        if y < noisy_rows {
            for c in &mut px[..3] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let n = (state % (2 * u64::from(noise) + 1)) as i16 - i16::from(noise);
                *c = (i16::from(*c) + n).clamp(0, 255) as u8;
            }
        }
        image::Rgba(px)
    })
}

/// The worker's largest inputs — the biggest of each kind its limits let through (8 MiB,
/// 8 Mpx, 48 MiB for the decoder) — keep the isolate's wasm memory well under Cloudflare's
/// 128 MB (below 100 MB): measured after each (wasm memory only grows, so each reading is
/// the high-water mark so far).
#[test]
fn the_isolate_stays_well_under_128_mb_with_its_largest_inputs() {
    let rgb = |img: &image::RgbaImage| image::DynamicImage::ImageRgba8(img.clone()).into_rgb8();
    // A 24 MP baseline JPEG just under 8 MiB: decoded at 1/8.
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&rgb(&noisy(6000, 4000, 8, 4000)))
        .expect("jpeg");
    // A 12 MP progressive JPEG: its coefficients (37 MB) kept whole until the last scan.
    let mut progressive = Vec::new();
    let phone = rgb(&noisy(4032, 3024, 16, 3024));
    let mut encoder = jpeg_encoder::Encoder::new(&mut progressive, 95);
    encoder.set_progressive(true);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode(phone.as_raw(), 4032, 3024, jpeg_encoder::ColorType::Rgb)
        .expect("progressive");
    // An 8 Mpx RGBA PNG just under 8 MiB: decoded whole (33.5 MB).
    let mut png = std::io::Cursor::new(Vec::new());
    noisy(2896, 2896, 1, 2896 * 3 / 4)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let cases = [
        ("24 MP baseline JPEG", jpeg.into_inner()),
        ("12 MP progressive JPEG", progressive),
        ("8 Mpx RGBA PNG", png.into_inner()),
    ];
    // Each in an isolate of its own (what one input costs depends on what came before it:
    // a freed buffer may or may not fit the next), twice over, then all in one.
    let memory = |base: &str| {
        let health = get(&format!("{base}/healthz")).expect("healthz");
        let v: serde_json::Value = serde_json::from_str(&health).expect("healthz JSON");
        v["wasm_memory_bytes"].as_f64().expect("wasm_memory_bytes") / 1e6
    };
    let run = |base: &str, what: &str, bytes: &[u8]| {
        assert!(bytes.len() <= 8 << 20, "{what}: {} bytes", bytes.len());
        assert!(bytes.len() > 4 << 20, "{what}: only {} bytes", bytes.len());
        let (status, v) = post(&format!("{base}/predict"), seed_request(bytes));
        assert_eq!(status, 200, "{what}: {v}");
        let mb = memory(base);
        println!("{what} ({} bytes): the isolate at {mb:.1} MB", bytes.len());
        assert!(mb < 100.0, "{what}: the isolate's memory is {mb:.1} MB");
    };
    for (what, bytes) in &cases {
        let (_workerd, base) = start_workerd(None);
        println!("a new isolate: {:.1} MB", memory(&base));
        run(&base, what, bytes);
        run(&base, what, bytes);
    }
    // The costliest order seen: the PNG's buffer does not fit where the JPEG's body was.
    let (_workerd, base) = start_workerd(None);
    for i in [0, 2, 1] {
        run(&base, cases[i].0, &cases[i].1);
    }
}
