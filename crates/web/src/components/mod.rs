//! The page's components, one per file.

pub mod classify;
pub mod live;
pub mod notebook_host;
