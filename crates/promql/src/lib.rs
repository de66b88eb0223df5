//! Lookout's embedded PromQL: an in-memory series store ([`Storage`]), an evaluator with
//! Prometheus 2.42 float semantics ([`Engine`]; queries parsed by `promql-parser`), results
//! in the shape of Prometheus' HTTP API ([`value`]), and a runner for Prometheus' own test
//! language ([`testlang`]). Pure Rust; compiles for wasm32, so the page evaluates queries
//! with no server.
//!
//! Layout, after Prometheus' `promql/` package: `engine.rs` (evaluation, binary operators),
//! `aggregate.rs` (aggregations), `functions.rs` (the function table), `golang.rs` (Go's
//! float, sort, parse and time semantics that 2.42 inherits), `testlang.rs` (the `.test` file
//! format), `testdata/*.test` (test files in that format).

pub mod aggregate;
pub mod bench;
pub mod engine;
pub mod functions;
pub mod golang;
pub mod labels;
pub mod scrape;
pub mod store;
pub mod testlang;
pub mod value;

pub use engine::{Engine, Limits, QueryError, parse};
pub use labels::Labels;
pub use scrape::Scraper;
pub use store::{Retention, Storage};
pub use value::{ApiResponse, QueryData, Value};
