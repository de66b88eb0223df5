//! The `lookout` binary as a user meets it: clear one-line errors and non-zero exits for bad
//! input, never a panic; JSON output that parses.

use std::path::PathBuf;
use std::process::{Command, Output};

fn lookout(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(args)
        .output()
        .expect("run lookout")
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write tmp");
    p
}

fn sample() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../model/samples/0001_ship.jpg")
}

fn assert_clean_failure(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in {stderr:?}"
    );
    for line in stderr.lines() {
        assert!(line.starts_with("error: "), "unexpected line {line:?}");
    }
}

#[test]
fn predicts_a_sample_as_json() {
    let s = sample();
    let out = lookout(&["predict", "--json", s.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("json");
    assert_eq!(v["class"], "Ship");
    assert_eq!(v["probabilities"].as_array().map(Vec::len), Some(10));
}

#[test]
fn text_output_has_top3() {
    let s = sample();
    let out = lookout(&["predict", s.to_str().expect("utf8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("Ship") && text.matches('%').count() == 3,
        "{text}"
    );
}

#[test]
fn missing_file() {
    let out = lookout(&["predict", "/nonexistent/cat.jpg"]);
    assert_clean_failure(&out, "No such file");
}

#[test]
fn empty_file() {
    let p = tmp("empty.jpg", b"");
    assert_clean_failure(
        &lookout(&["predict", p.to_str().expect("utf8")]),
        "empty input",
    );
}

#[test]
fn truncated_image() {
    let bytes = std::fs::read(sample()).expect("sample");
    let p = tmp("truncated.jpg", &bytes[..bytes.len() / 2]);
    assert_clean_failure(
        &lookout(&["predict", p.to_str().expect("utf8")]),
        "truncated",
    );
}

#[test]
fn unsupported_and_unknown_formats() {
    let tiff = tmp("x.tiff", b"II*\0\x08\0\0\0rest of a tiff");
    assert_clean_failure(
        &lookout(&["predict", tiff.to_str().expect("utf8")]),
        "unsupported",
    );
    let text = tmp("notes.jpg", b"this is text, not a picture");
    assert_clean_failure(
        &lookout(&["predict", text.to_str().expect("utf8")]),
        "not a recognised image",
    );
}

#[test]
fn absurd_dimensions_are_refused() {
    let png = lookout_model::fixtures::png_header_only(40_000, 40_000);
    let p = tmp("bomb.png", &png);
    assert_clean_failure(
        &lookout(&["predict", p.to_str().expect("utf8")]),
        "40000x40000",
    );
}

#[test]
fn eval_without_data_dir_says_how_to_give_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["eval"])
        .env_remove("LOOKOUT_CIFAR10")
        .output()
        .expect("run");
    assert_clean_failure(&out, "--data");
}

#[test]
fn eval_on_the_shipped_slice() {
    let slice = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../tests/data/cifar10-test-500.bin");
    let out = lookout(&["eval", "--json", "--file", slice.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["images"], 500);
    let total: u64 = v["confusion"]
        .as_array()
        .expect("matrix")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|c| c.as_u64().expect("count"))
        })
        .sum();
    assert_eq!(total, 500);
}
