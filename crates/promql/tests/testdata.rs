//! Every `testdata/*.test` file through the test-language runner, as Prometheus runs its own
//! `promql/testdata` from its package's tests: each failed `eval` is printed as `file:line`
//! with the query, what was expected and what the engine answered, and the test fails if any
//! did (or if a file does not parse).
//!
//! `LOOKOUT_PROMQL_TEST_FILES` (paths separated by `:`, relative ones from this crate's
//! directory) runs those files instead. `prometheus_check.py` beside this file runs a test
//! file against a real Prometheus 2.42 instead of the engine.

use std::path::PathBuf;

use lookout_promql::Engine;
use lookout_promql::testlang;

fn test_files() -> Vec<PathBuf> {
    if let Ok(list) = std::env::var("LOOKOUT_PROMQL_TEST_FILES") {
        return list
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    let dir = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    files
}

#[test]
fn testdata_files_pass() {
    let engine = Engine::default();
    let files = test_files();
    assert!(!files.is_empty(), "no .test files found");
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in &files {
        let text =
            std::fs::read_to_string(f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()));
        let (p, n, messages) =
            testlang::outcome(&f.display().to_string(), testlang::run(&text, &engine));
        passed += p;
        failed += n;
        for m in messages {
            println!("{m}");
        }
    }
    println!(
        "{} files: {passed} evals passed, {failed} failed",
        files.len()
    );
    assert_eq!(failed, 0, "{failed} eval(s) failed; see the output above");
    assert!(passed > 0, "no eval ran");
}
