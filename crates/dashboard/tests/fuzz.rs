#![cfg(not(target_arch = "wasm32"))]
//! Hostile dashboards: the built-in ones as JSON, mutated byte by byte and value by value
//! (`lookout-hostile`), read as dashboards (what the server's store and the page read from
//! files, IndexedDB and imports), and shared links mutated before decoding. What reads must
//! write back and read again the same (floats to the last bits, a known serde_json limit:
//! FUZZING.md); what does not is a typed error. `FUZZ_CASES` sets the
//! count (FUZZING.md).

use lookout_dashboard::{Dashboard, builtin, share};
use lookout_hostile::{Tally, mutated, mutated_json, same_json};
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
    // The same document (floats to their last bits: see `same_json`).
    let again_text = again
        .to_json_pretty()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (x, y): (Value, Value) = (
        serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?,
        serde_json::from_str(&again_text).map_err(|e| TestCaseError::fail(e.to_string()))?,
    );
    prop_assert!(same_json(&x, &y), "{text}\n≠\n{again_text}");
    Ok(())
}

proptest! {
    #![proptest_config(lookout_hostile::config(500))]

    #[test]
    fn hostile_documents_never_panic(doc in mutated_json(seeds(), 6)) {
        static T: Tally = Tally::new("hostile_documents_never_panic");
        let read = Dashboard::from_json(&doc.to_string());
        T.record(read.is_ok());
        match read {
            Ok(d) => reads_back(&d)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in mutated(seeds().iter().map(|v| v.to_string().into_bytes()).collect(), 10)) {
        static T: Tally = Tally::new("hostile_bytes_never_panic");
        let read = Dashboard::from_json(&String::from_utf8_lossy(&bytes));
        T.record(read.is_ok());
        if let Ok(d) = read {
            reads_back(&d)?;
        }
    }

    #[test]
    fn hostile_links_never_panic(bytes in mutated(links(), 6)) {
        static T: Tally = Tally::new("hostile_links_never_panic");
        let read = share::decode(&String::from_utf8_lossy(&bytes));
        T.record(read.is_ok());
        match read {
            Ok(d) => reads_back(&d)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
