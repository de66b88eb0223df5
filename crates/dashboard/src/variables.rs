//! Template variables (Grafana's `templating.list`): the model.
//!
//! Kinds: `query` (`label_values(metric, label)`, `label_values(label)`, `query_result(…)`,
//! `metrics(…)`, with a regex filter), `custom`, `constant`, `interval`, `datasource` and
//! `textbox`; single or multi value, with an "All" option. A variable's chosen value is in
//! [`Variable::current`]; `"$__all"` stands for "All".

use serde::{Deserialize, Serialize};

/// The value Grafana stores for the "All" option.
pub const ALL_VALUE: &str = "$__all";

/// One template variable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Variable {
    /// Referenced as `$name`, `${name}`, `[[name]]`.
    pub name: String,
    /// Shown instead of the name in the variables bar (empty = the name).
    pub label: String,
    /// Free text.
    pub description: String,
    /// What the variable is and where its options come from.
    pub kind: VariableKind,
    /// Several values may be chosen.
    pub multi: bool,
    /// Offer "All".
    pub include_all: bool,
    /// What "All" stands for in queries (`.*`); `None` = every option, joined as a regex
    /// alternation, as Grafana does.
    pub all_value: Option<String>,
    /// The chosen value(s); `["$__all"]` = All.
    pub current: Vec<String>,
    /// The options as last resolved (kept so a dashboard opens with them before the query
    /// runs, as Grafana keeps `options`).
    pub options: Vec<String>,
    /// Hide nothing, the label, or the whole variable in the bar (Grafana's `hide` 0/1/2).
    pub hide: u8,
}

/// The variable's kind and its own settings (JSON: `{"type": "query", …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum VariableKind {
    /// Options from a query against the dashboard's data source.
    Query {
        /// `label_values(up, job)`, `label_values(job)`, `query_result(…)`, `metrics(…)`,
        /// `label_names()`.
        #[serde(default)]
        query: String,
        /// Keeps only options matching this regex (`/…/` as Grafana writes it); a capture
        /// group, if any, is the option's value.
        #[serde(default)]
        regex: String,
        /// Option order: Grafana's `sort` (0 none, 1 alpha asc, 2 alpha desc, 3 numeric asc,
        /// 4 numeric desc, 5 alpha case-insensitive asc, 6 desc).
        #[serde(default)]
        sort: u8,
        /// When to re-run the query: Grafana's `refresh` (1 on load, 2 on time range change).
        #[serde(default = "one")]
        refresh: u8,
    },
    /// Options typed in, comma separated (`a, b, c` or `text : value`).
    Custom {
        /// The list.
        #[serde(default)]
        query: String,
    },
    /// A hidden fixed value.
    Constant {
        /// The value.
        #[serde(default)]
        query: String,
    },
    /// Time spans (`1m,10m,1h`), optionally with `auto`.
    Interval {
        /// The spans, comma separated.
        #[serde(default)]
        query: String,
        /// Offer `auto` (range / `auto_count`, at least `auto_min`).
        #[serde(default)]
        auto: bool,
        /// Buckets for `auto`.
        #[serde(default = "thirty")]
        auto_count: u32,
        /// Smallest `auto` value.
        #[serde(default = "ten_seconds")]
        auto_min: String,
    },
    /// Chooses the data source: options are Lookout's sources (`page`, `server`, remote URLs).
    Datasource {
        /// The plugin type in Grafana (`prometheus`).
        #[serde(default)]
        query: String,
        /// Filters data source names.
        #[serde(default)]
        regex: String,
    },
    /// Free text typed by the viewer.
    Textbox {
        /// The default text.
        #[serde(default)]
        query: String,
    },
}

fn one() -> u8 {
    1
}
fn thirty() -> u32 {
    30
}
fn ten_seconds() -> String {
    "10s".to_string()
}

impl Default for VariableKind {
    fn default() -> Self {
        VariableKind::Custom {
            query: String::new(),
        }
    }
}

impl VariableKind {
    /// Grafana's `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            VariableKind::Query { .. } => "query",
            VariableKind::Custom { .. } => "custom",
            VariableKind::Constant { .. } => "constant",
            VariableKind::Interval { .. } => "interval",
            VariableKind::Datasource { .. } => "datasource",
            VariableKind::Textbox { .. } => "textbox",
        }
    }
}
