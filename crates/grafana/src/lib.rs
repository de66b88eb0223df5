//! Grafana classic dashboard JSON in and out of Lookout's dashboard model (being written).

#![forbid(unsafe_code)]
