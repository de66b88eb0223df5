#![cfg(not(target_arch = "wasm32"))]
//! Hostile Grafana exports at scale: the five real exports in `testdata/grafana/`, mutated
//! byte by byte and value by value (`lookout-hostile`), imported. What imports must export,
//! import again equal (the round trip), and export the same again; what does not is a typed
//! error. `hostile.rs` keeps the hand-picked cases; this is the long-running one:
//! `FUZZ_CASES` sets the count (FUZZING.md).

use lookout_grafana::{export, import, import_value};
use lookout_hostile::{Tally, mutated, mutated_json};
use proptest::prelude::*;
use serde_json::Value;

fn seeds() -> Vec<Vec<u8>> {
    let dir = format!(
        "{}/testdata/grafana",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn round_trip(imp: &lookout_grafana::Imported) -> Result<(), TestCaseError> {
    let out = export(&imp.dashboard).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back = import_value(&out).map_err(|e| TestCaseError::fail(format!("re-import: {e}")))?;
    prop_assert!(back.dashboard == imp.dashboard, "the round trip differs");
    let again = export(&back.dashboard).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, out);
    let _ = imp.report.to_string();
    Ok(())
}

proptest! {
    #![proptest_config(lookout_hostile::config(60))]

    #[test]
    fn mutated_export_bytes_never_panic(bytes in mutated(seeds(), 8)) {
        static T: Tally = Tally::new("mutated_export_bytes_never_panic");
        let read = import(&String::from_utf8_lossy(&bytes));
        T.record(read.is_ok());
        match read {
            Ok(imp) => round_trip(&imp)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn mutated_export_values_never_panic(
        doc in mutated_json(
            seeds().iter().filter_map(|b| serde_json::from_slice::<Value>(b).ok()).collect(),
            6,
        ),
    ) {
        static T: Tally = Tally::new("mutated_export_values_never_panic");
        let read = import_value(&doc);
        T.record(read.is_ok());
        match read {
            Ok(imp) => round_trip(&imp)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
