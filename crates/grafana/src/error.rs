//! Typed errors of import and export; each names the place in the document.

use lookout_dashboard::DashboardError;

/// Why a document could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Larger than `lookout_dashboard::model::MAX_JSON_BYTES` (16 MiB), refused before parsing.
    #[error("the document is {size} bytes, more than the {max} bytes allowed")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON (serde_json's message gives line and column; nesting deeper than 128 levels is
    /// refused here too).
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A value built in memory nested deeper than JSON read from text may be.
    #[error("the JSON nests deeper than {max} levels")]
    TooDeep {
        /// The limit (serde_json's parser limit).
        max: usize,
    },
    /// The top level is not an object.
    #[error("a dashboard is a JSON object, not {found}")]
    NotAnObject {
        /// What it is.
        found: &'static str,
    },
    /// A part of the document whose type Lookout cannot read around (`panels` that is not an
    /// array, a panel that is not an object, …).
    #[error("{at}: expected {expected}, found {found}")]
    WrongType {
        /// Where: `panels[3].targets`, `templating.list[2]`, `rows[1].panels[0]`.
        at: String,
        /// What was expected.
        expected: &'static str,
        /// What was there.
        found: &'static str,
    },
    /// A Lookout document that does not read or validate.
    #[error("Lookout dashboard: {0}")]
    Lookout(#[from] DashboardError),
}

/// Why a dashboard could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The dashboard does not validate (duplicate panel ids, invalid uid, …).
    #[error("the dashboard is not valid: {0}")]
    Invalid(#[from] DashboardError),
    /// Serializing failed (does not happen for a `serde_json::Value`; kept for the API).
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
}
