//! The notebook's components, one per file.

pub mod cell;
pub mod notebook;
pub mod panel;
pub mod target_editor;
pub mod time_picker;
