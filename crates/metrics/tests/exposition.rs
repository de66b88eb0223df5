//! The native exposition of a fixed recording, kept in `tests/fixtures/` as the oracle for
//! the browser test (`tests/browser.rs`): fails when the encoding changes and the fixture was
//! not regenerated (`LOOKOUT_WRITE_FIXTURE=1 cargo test --release --workspace --test exposition`).
#![cfg(not(target_arch = "wasm32"))]

mod common;

#[test]
fn native_exposition_matches_the_fixture() {
    let dir = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures");
    for (name, got) in common::expositions() {
        let path = dir.join(format!("exposition-{name}.txt"));
        if std::env::var_os("LOOKOUT_WRITE_FIXTURE").is_some() {
            std::fs::write(&path, &got).expect("write fixture");
        }
        let want = std::fs::read_to_string(&path).expect("fixture");
        assert_eq!(
            got,
            want,
            "{name} exposition differs from {}",
            path.display()
        );
        assert!(got.contains("runtime=\"browser-webgpu\""), "{name}");
    }
}
