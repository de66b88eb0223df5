//! Odd images through every adapter — the CLI, the model server, the edge worker in a real
//! workerd, the page in headless Chromium — each must give a prediction or a clear refusal,
//! and the same one in all four: CMYK and progressive JPEG, EXIF orientation, 16-bit,
//! palette and grey + alpha PNG, an animated GIF, 1×1 pictures, 12 and 24 MP photos
//! (baseline and progressive), headers that declare 65,000 px sides, TIFF / HEIC / SVG, an
//! empty file.
//!
//! The files in tests/data/odd were written by real encoders (tests/data/odd/make_odd.py:
//! Pillow with libjpeg-turbo, pillow-heif with libheif); the large ones are made here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use lookout_tests::{TempDir, lookout_bin, post, start_server, start_workerd, tests_dir};
use serde_json::Value;

/// What a file must give, known before any adapter runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// A prediction of this class (the ship the file was made from).
    Class(&'static str),
    /// A prediction, whatever the class (the file no longer looks like the ship: a grey or
    /// 64-colour copy, a single pixel).
    Predicts,
    /// A refusal with this HTTP status (the CLI reports the status the server would send).
    Refused(u16),
}

/// One adapter's answer for one file.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Class and confidence in percent.
    Class(String, f64),
    /// The error line (the status where the adapter has one).
    Refused(String, Option<u16>),
}

/// The worker's answer where it differs on purpose. A progressive JPEG keeps all its DCT
/// coefficients until its last scan, whatever scale it is decoded at: 73 MB for 24 MP at
/// 4:2:0, over the 48 MiB the 128 MB isolate gives its decoder (crates/edge `edge_limits`),
/// while the server's 256 MiB take it. Baseline photos of any size are decoded at 1/8 and
/// pass everywhere.
fn worker_expect(name: &str) -> Option<Expect> {
    (name == "camera_progressive_6000x4000.jpg").then_some(Expect::Refused(413))
}

fn cases() -> Vec<(&'static str, Expect)> {
    use Expect::*;
    vec![
        ("ship_baseline.jpg", Class("Ship")),
        ("ship_progressive.jpg", Class("Ship")),
        ("ship_cmyk.jpg", Class("Ship")),
        ("ship_exif_orientation_3.jpg", Class("Ship")),
        ("ship_exif_orientation_6.jpg", Class("Ship")),
        ("ship_exif_orientation_8.jpg", Class("Ship")),
        ("ship_16bit.png", Class("Ship")),
        ("ship_palette.png", Predicts),
        ("ship_grey_alpha.png", Predicts),
        ("ship_animated.gif", Class("Ship")),
        ("ship.webp", Class("Ship")),
        ("ship.bmp", Class("Ship")),
        ("pixel_1x1.png", Predicts),
        ("pixel_1x1.jpg", Predicts),
        ("phone_4032x3024.jpg", Class("Ship")),
        ("photo_6000x4000.jpg", Class("Ship")),
        ("phone_progressive_4032x3024.jpg", Class("Ship")),
        ("camera_progressive_6000x4000.jpg", Class("Ship")),
        ("declares_65000px.png", Refused(413)),
        ("declares_65000px.jpg", Refused(413)),
        ("ship.tiff", Refused(415)),
        ("ship.heic", Refused(415)),
        ("drawing.svg", Refused(415)),
        ("empty.jpg", Refused(422)),
    ]
}

/// Copies the committed files and makes the large ones in `dir`; returns each case's path.
fn prepare(dir: &Path) -> Vec<(PathBuf, Expect)> {
    let odd = tests_dir().join("data/odd");
    let mut out = Vec::new();
    for (name, expect) in cases() {
        let path = dir.join(name);
        let bytes = match name {
            "phone_4032x3024.jpg" => photo(&odd.join("ship_baseline.jpg"), 4032, 3024, false),
            "photo_6000x4000.jpg" => photo(&odd.join("ship_baseline.jpg"), 6000, 4000, false),
            "phone_progressive_4032x3024.jpg" => {
                photo(&odd.join("ship_baseline.jpg"), 4032, 3024, true)
            }
            "camera_progressive_6000x4000.jpg" => {
                photo(&odd.join("ship_baseline.jpg"), 6000, 4000, true)
            }
            "declares_65000px.png" => lookout_model::fixtures::png_header_only(65_000, 65_000),
            "declares_65000px.jpg" => lookout_model::fixtures::jpeg_declaring(65_000, 65_000),
            "empty.jpg" => Vec::new(),
            _ => std::fs::read(odd.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")),
        };
        std::fs::write(&path, bytes).expect("write case");
        out.push((path, expect));
    }
    out
}

/// A camera-sized JPEG of the ship (12 MP phone, 24 MP camera): scaled up, with sensor-like
/// noise so it compresses like a photo (a few MB), quality 85, 4:2:0; baseline as the
/// `image` crate writes it, or progressive (jpeg-encoder) as many cameras and editors do.
fn photo(source: &Path, width: u32, height: u32, progressive: bool) -> Vec<u8> {
    let small = image::open(source).expect("ship").into_rgb8();
    let mut big =
        image::imageops::resize(&small, width, height, image::imageops::FilterType::Triangle);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for px in big.pixels_mut() {
        for c in px.0.iter_mut() {
            // xorshift: deterministic noise of ±6.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 13) as i16 - 6;
            *c = (i16::from(*c) + noise).clamp(0, 255) as u8;
        }
    }
    let bytes = if progressive {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
        encoder.set_progressive(true);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        let side = |s: u32| u16::try_from(s).expect("side");
        encoder
            .encode(
                big.as_raw(),
                side(width),
                side(height),
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encode progressive photo");
        out
    } else {
        let mut out = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&big)
            .expect("encode photo");
        out.into_inner()
    };
    println!(
        "{width}x{height} {}: {} bytes",
        if progressive {
            "progressive"
        } else {
            "baseline"
        },
        bytes.len()
    );
    bytes
}

/// A refusal without the limits it quotes (`… over the limit (16384 px a side, …)`).
fn without_limits(error: &str) -> &str {
    match error.split_once(" over the limit") {
        Some((head, _)) => head,
        None => error,
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `lookout predict --json` over every file at once (it exits non-zero: some are refused).
fn cli(paths: &[PathBuf]) -> BTreeMap<String, Outcome> {
    let out = Command::new(lookout_bin())
        .arg("predict")
        .arg("--json")
        .args(paths)
        .output()
        .expect("run lookout predict");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut got = BTreeMap::new();
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = name_of(Path::new(v["file"].as_str().unwrap_or("")));
        got.insert(name, outcome(&v));
    }
    got
}

/// An answer of the CLI, the server or the worker.
fn outcome(v: &Value) -> Outcome {
    match (v["class"].as_str(), v["error"].as_str()) {
        (Some(class), _) => Outcome::Class(
            class.to_string(),
            v["confidence"].as_f64().unwrap_or(f64::NAN) * 100.0,
        ),
        (None, Some(error)) => Outcome::Refused(
            error.to_string(),
            v["status"].as_u64().and_then(|s| u16::try_from(s).ok()),
        ),
        _ => panic!("neither a class nor an error: {v}"),
    }
}

/// `POST {base}/predict {"image": base64}` for each file — no `format`: the content decides,
/// as it does for a file dropped on the page.
fn http(base: &str, paths: &[PathBuf]) -> BTreeMap<String, Outcome> {
    let mut got = BTreeMap::new();
    for path in paths {
        let bytes = std::fs::read(path).expect("case");
        let body = serde_json::json!({
            "image": base64::engine::general_purpose::STANDARD.encode(bytes)
        });
        let (status, v) = post(&format!("{base}/predict"), body.to_string().into_bytes());
        let o = outcome(&v);
        match &o {
            Outcome::Class(..) => assert_eq!(status, 200, "{}: {v}", name_of(path)),
            Outcome::Refused(_, s) => assert_eq!(Some(status), *s, "{}: {v}", name_of(path)),
        }
        got.insert(name_of(path), o);
    }
    got
}

/// The page's file picker in headless Chromium (tests/e2e/odd.mjs).
fn page(base: &str, paths: &[PathBuf]) -> BTreeMap<String, Outcome> {
    let out = Command::new("node")
        .arg(tests_dir().join("e2e/odd.mjs"))
        .arg(format!("{base}/"))
        .args(paths)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON from odd.mjs ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(v.get("failure").is_none(), "{v}");
    assert_eq!(v["console_errors"], serde_json::json!([]), "{v}");
    assert_eq!(
        v["after"], "Frog",
        "the page still classifies afterwards: {v}"
    );
    let mut got = BTreeMap::new();
    for (name, r) in v["results"].as_object().expect("results") {
        println!("page {name}: {r}");
        let o = match (r["class"].as_str(), r["error"].as_str()) {
            (Some(class), _) => Outcome::Class(
                class.to_string(),
                r["confidence_percent"].as_f64().unwrap_or(f64::NAN),
            ),
            (None, Some(error)) => Outcome::Refused(error.to_string(), None),
            _ => panic!("{name}: the page showed neither: {r}"),
        };
        got.insert(name.clone(), o);
    }
    got
}

#[test]
fn odd_images_get_the_same_answer_everywhere() {
    let dist = tests_dir().join("../dist");
    assert!(
        dist.join("index.html").exists(),
        "{} has no page: `cargo xtask test` builds it",
        dist.display()
    );
    assert!(
        tests_dir()
            .join("e2e/node_modules/playwright-core")
            .exists(),
        "run `npm ci` in tests/e2e (cargo xtask test does)"
    );
    let dir = TempDir::new("odd");
    let cases = prepare(&dir.0);
    let paths: Vec<PathBuf> = cases.iter().map(|(p, _)| p.clone()).collect();

    let (_server, base) = start_server(&["--static-dir", dist.to_str().expect("utf8")]);
    let (_worker, worker_base) = start_workerd(None);
    let adapters = [
        ("cli", cli(&paths)),
        ("server", http(&base, &paths)),
        ("worker", http(&worker_base, &paths)),
        ("page", page(&base, &paths)),
    ];

    for (path, expect) in &cases {
        let name = name_of(path);
        let answers: Vec<(&str, &Outcome)> = adapters
            .iter()
            .map(|(adapter, got)| {
                let o = got
                    .get(&name)
                    .unwrap_or_else(|| panic!("{adapter} gave nothing for {name}"));
                (*adapter, o)
            })
            .collect();
        println!("{name}: {answers:?}");
        for (adapter, o) in &answers {
            let expect = match (*adapter, worker_expect(&name)) {
                ("worker", Some(e)) => e,
                _ => *expect,
            };
            match (expect, o) {
                (Expect::Class(want), Outcome::Class(class, _)) => {
                    assert_eq!(class, want, "{adapter}, {name}")
                }
                (Expect::Predicts, Outcome::Class(..)) => {}
                (Expect::Refused(status), Outcome::Refused(error, got)) => {
                    assert!(!error.trim().is_empty(), "{adapter}, {name}: empty error");
                    if let Some(got) = got {
                        assert_eq!(*got, status, "{adapter}, {name}: {error}");
                    }
                }
                _ => panic!("{adapter}, {name}: expected {expect:?}, got {o:?}"),
            }
        }
        // The same in all four: one class, or word for word the same refusal. Confidences
        // differ by design within a few points: natively the network runs the f16 weights,
        // on wasm32 (worker, page) the compact ones (4/8-bit); the wasm builds' agreement
        // with the native pipeline on the compact weights (1e-4) is checked by
        // crates/model/tests/browser.rs.
        let alike: Vec<_> = answers
            .iter()
            .filter(|(adapter, _)| *adapter != "worker" || worker_expect(&name).is_none())
            .collect();
        let (first_adapter, first) = alike[0];
        for (adapter, o) in &alike[1..] {
            match (first, o) {
                (Outcome::Class(a, pa), Outcome::Class(b, pb)) => {
                    assert_eq!(a, b, "{name}: {first_adapter} vs {adapter}");
                    assert!(
                        (pa - pb).abs() < 3.0,
                        "{name}: {first_adapter} {pa:.2} % vs {adapter} {pb:.2} %"
                    );
                }
                (Outcome::Refused(a, _), Outcome::Refused(b, _)) if *adapter == "worker" => {
                    // The worker names its own, smaller limits; the rest is the same.
                    assert_eq!(
                        without_limits(a),
                        without_limits(b),
                        "{name}: {first_adapter} vs {adapter}"
                    )
                }
                (Outcome::Refused(a, _), Outcome::Refused(b, _)) => {
                    assert_eq!(a, b, "{name}: {first_adapter} vs {adapter}")
                }
                _ => panic!("{name}: {first_adapter} {first:?} vs {adapter} {o:?}"),
            }
        }
    }
}
