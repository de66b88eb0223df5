//! Shared helpers for Lookout's cross-crate tests.

use std::path::PathBuf;

/// Folder of this crate (the repository's `tests/`).
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The first 500 images of the CIFAR-10 test batch, shipped in the repository.
pub fn test_slice() -> PathBuf {
    tests_dir().join("data/cifar10-test-500.bin")
}

/// The sample JPEGs shipped with the model crate.
pub fn samples() -> Vec<PathBuf> {
    let dir = tests_dir().join("../crates/model/samples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}
