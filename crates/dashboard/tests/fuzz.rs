#![cfg(not(target_arch = "wasm32"))]
//! Hostile dashboards: the built-in ones as JSON, mutated byte by byte and value by value
//! (`lookout-hostile`), read as dashboards (what the server's store and the page read from
//! files, IndexedDB and imports), and shared links mutated before decoding. What reads must
//! write back and read again the same; what does not is a typed error. `FUZZ_CASES` sets the
//! count (FUZZING.md).

use lookout_dashboard::{Dashboard, builtin, share};
use lookout_hostile::{cases, mutated, mutated_json};
use proptest::prelude::*;
use serde_json::Value;

fn seeds() -> Vec<Value> {
    builtin::all()
        .iter()
        .filter_map(|d| d.to_json_pretty().ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect()
}

fn links() -> Vec<Vec<u8>> {
    builtin::all()
        .iter()
        .filter_map(|d| share::encode(d).ok())
        .map(String::into_bytes)
        .collect()
}

fn reads_back(d: &Dashboard) -> Result<(), TestCaseError> {
    let text = d
        .to_json_pretty()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = Dashboard::from_json(&text)
        .map_err(|e| TestCaseError::fail(format!("does not read back: {e}")))?;
    prop_assert_eq!(&again, d);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(500),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_documents_never_panic(doc in mutated_json(seeds(), 6)) {
        match Dashboard::from_json(&doc.to_string()) {
            Ok(d) => reads_back(&d)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in mutated(seeds().iter().map(|v| v.to_string().into_bytes()).collect(), 10)) {
        if let Ok(d) = Dashboard::from_json(&String::from_utf8_lossy(&bytes)) {
            reads_back(&d)?;
        }
    }

    #[test]
    fn hostile_links_never_panic(bytes in mutated(links(), 6)) {
        match share::decode(&String::from_utf8_lossy(&bytes)) {
            Ok(d) => reads_back(&d)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
