//! The notebook's and the dashboards' components, one per file.

pub mod add_to_dashboard;
pub mod alert_editor;
pub mod alert_list;
pub mod cell;
pub mod dashboard;
pub mod dashboard_grid;
pub mod dashboard_import;
pub mod dashboard_list;
pub mod dashboard_panel;
pub mod dashboard_row;
pub mod dashboards;
pub mod notebook;
pub mod panel;
pub mod panel_editor;
pub mod root;
pub mod save_state;
pub mod share;
pub mod target_editor;
pub mod time_picker;
pub mod variables_bar;
pub mod variables_editor;
pub mod versions;
