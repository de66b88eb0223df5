//! Template variables (Grafana's `templating.list`): the model, their substitution into
//! queries, their options and the selection rules.
//!
//! Kinds: `query` (`label_values(metric, label)`, `label_values(label)`, `label_names()`,
//! `query_result(…)`, `metrics(…)`, with a regex filter and a sort), `custom`, `constant`,
//! `interval` (with `auto`), `datasource` and `textbox`; single or multi value, with an "All"
//! option. A variable's chosen value(s) are in [`Variable::current`]; `"$__all"` stands for "All".
//!
//! Each rule follows a Grafana source, reimplemented here (not copied):
//!
//! - references (`$var`, `${var}`, `${var:format}`, `${var.fieldPath}`, `[[var]]`,
//!   `[[var:format]]`): `variableRegex` of `public/app/features/variables/utils.ts`, applied as
//!   `TemplateSrv.replace` does in `public/app/features/templating/template_srv.ts` (unknown
//!   names stay as written; All = `allValue` unformatted, else every option);
//! - formats: `public/app/features/templating/formatRegistry.ts` (unknown format names fall
//!   back to `glob`, as `formatVariableValue` does); the Prometheus default is
//!   `interpolateQueryExpr`, `prometheusRegularEscape` and `prometheusSpecialRegexEscape` of the
//!   Prometheus data source (`public/app/plugins/datasource/prometheus/datasource.ts`, classic
//!   escaping: the `prometheusSpecialCharsInLabelValues` feature toggle off, Grafana's default);
//! - query variables: `public/app/plugins/datasource/prometheus/metric_find_query.ts`; the
//!   regex filter, de-duplication and sort: `metricNamesToVariableValues` and
//!   `sortVariableValues` (`public/app/features/variables/utils.ts`, formerly
//!   `query/reducer.ts`) with `stringToJsRegex` (`packages/grafana-data`);
//! - custom options: `public/app/features/variables/custom/reducer.ts`; interval options and
//!   `auto`: `public/app/features/variables/interval/reducer.ts` and `actions.ts`
//!   (`rangeUtil.calculateInterval`);
//! - selection: `validateVariableSelectionState` and `selectOptionsForCurrentValue`
//!   (`public/app/features/variables/state/actions.ts`).
//!
//! **Text and value.** [`Variable::options`] holds option *values* and [`Variable::current`]
//! holds chosen *values*; an option's display text, when it differs from its value (custom
//! `text : value` options, regex named groups), is in the parallel [`Variable::option_texts`].
//! The "All" option is never stored in `options` (a `$__all` entry there, as a Grafana export
//! has it, is ignored).
//!
//! Grafana's built-in variables (`$__interval`, `$__rate_interval`, `$__range`, …) are never
//! touched here: [`crate::interval::substitute`] replaces them afterwards, when a cell is
//! planned, so `apply_to_cell` then `plan_cell` compose.

use std::collections::HashSet;

use lookout_datasource::{InstantQuery, QuerySource, SeriesFilter, SourceError};
use lookout_promql::Labels;
use lookout_promql::value::QueryData;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::interval::round_interval;
use crate::model::Cell;
use crate::time::{format_duration, parse_duration};

/// The value Grafana stores for the "All" option.
pub const ALL_VALUE: &str = "$__all";
/// The text of the "All" option (Grafana's `ALL_VARIABLE_TEXT`).
pub const ALL_TEXT: &str = "All";
/// The text of an interval variable's `auto` option.
pub const AUTO_TEXT: &str = "auto";
/// An interval variable's `auto` option has the value `$__auto_interval_<name>`, as in Grafana.
pub const AUTO_VALUE_PREFIX: &str = "$__auto_interval_";
/// The largest compiled regex (variable regex filters, `metrics(…)`), in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The longest regex source accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 16 * 1024;
/// How deep a custom `allValue` that references variables is substituted.
const MAX_DEPTH: u8 = 4;

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
    /// The chosen value(s) (values, not texts); `["$__all"]` = All.
    pub current: Vec<String>,
    /// The option values as last resolved (kept so a dashboard opens with them before the
    /// query runs, as Grafana keeps `options`); their texts are in
    /// [`Variable::option_texts`]. "All" is not among them.
    pub options: Vec<String>,
    /// Hide nothing, the label, or the whole variable in the bar (Grafana's `hide` 0/1/2).
    pub hide: u8,
    /// The options' display texts, parallel to [`Variable::options`] (Grafana's
    /// `options[].text`); empty when every text equals its value, which is the common case
    /// (a length mismatch also reads as "texts = values").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub option_texts: Vec<String>,
    /// What an interval variable's `auto` option stood for over the range it was last
    /// resolved for (Grafana's `$__auto_interval_<name>` system variable), e.g. `2m`; `None`
    /// before that (then `auto` reads as `auto_min`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_interval: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Options, values and texts
// ---------------------------------------------------------------------------------------------

/// One option of a variable: what the picker shows and what queries get.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct VariableOption {
    /// Shown in the picker (and by the `text` format).
    pub text: String,
    /// Substituted into queries.
    pub value: String,
}

impl VariableOption {
    /// An option whose text is its value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            text: value.clone(),
            value,
        }
    }

    /// An option with its own text.
    pub fn with_text(text: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            value: value.into(),
        }
    }
}

impl Variable {
    /// The options with their texts, "All" excluded.
    pub fn option_list(&self) -> Vec<VariableOption> {
        let texts = (self.option_texts.len() == self.options.len()).then_some(&self.option_texts);
        self.options
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_str() != ALL_VALUE)
            .map(|(i, v)| VariableOption {
                text: texts
                    .and_then(|t| t.get(i))
                    .cloned()
                    .unwrap_or_else(|| v.clone()),
                value: v.clone(),
            })
            .collect()
    }

    /// Stores options: values in [`Variable::options`], texts in [`Variable::option_texts`]
    /// only where some text differs from its value. An option valued `$__all` is dropped.
    pub fn set_options(&mut self, options: &[VariableOption]) {
        let kept: Vec<&VariableOption> = options.iter().filter(|o| o.value != ALL_VALUE).collect();
        self.options = kept.iter().map(|o| o.value.clone()).collect();
        self.option_texts = if kept.iter().all(|o| o.text == o.value) {
            Vec::new()
        } else {
            kept.iter().map(|o| o.text.clone()).collect()
        };
    }

    /// The option values, "All" excluded (what "All" stands for without an `allValue`).
    pub fn option_values(&self) -> Vec<String> {
        self.options
            .iter()
            .filter(|v| v.as_str() != ALL_VALUE)
            .cloned()
            .collect()
    }

    /// The display text of a value: its option's text, `All` for `$__all`, `auto` for an
    /// interval's auto value, else the value.
    pub fn text_of(&self, value: &str) -> String {
        if value == ALL_VALUE {
            return ALL_TEXT.to_string();
        }
        if value.starts_with(AUTO_VALUE_PREFIX) {
            return AUTO_TEXT.to_string();
        }
        if self.option_texts.len() == self.options.len()
            && let Some(i) = self.options.iter().position(|v| v == value)
            && let Some(t) = self.option_texts.get(i)
        {
            return t.clone();
        }
        value.to_string()
    }

    /// "All" is chosen (Grafana's `isAllValue`: the value, or the first of several, is
    /// `$__all`).
    pub fn is_all(&self) -> bool {
        self.current.first().is_some_and(|v| v == ALL_VALUE)
    }
}

/// A variable's value as the formats see it: one string, or a list (a multi-value variable,
/// or "All" without an `allValue`), as Grafana passes a string or an array to the formatters.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    One(String),
    Many(Vec<String>),
}

impl Val {
    fn join(&self, sep: &str) -> String {
        match self {
            Val::One(s) => s.clone(),
            Val::Many(v) => v.join(sep),
        }
    }

    fn map(&self, f: impl Fn(&str) -> String) -> Val {
        match self {
            Val::One(s) => Val::One(f(s)),
            Val::Many(v) => Val::Many(v.iter().map(|s| f(s)).collect()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------------

/// How a value is written into the text: Grafana's variable formats
/// (`formatRegistry.ts`), plus the Prometheus data source's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableFormat {
    /// The Prometheus data source's `interpolateQueryExpr`: a variable that is neither multi
    /// nor has "All" gets `prometheusRegularEscape` (`\` → `\\`, `'` → `\\'`); otherwise each
    /// value gets `prometheusSpecialRegexEscape` (regex metacharacters escaped for a PromQL
    /// string) and several are joined as `(a|b)`. What queries of a Prometheus target get.
    Prometheus,
    /// `{a,b}` for several values, else the value (Grafana's default format).
    #[default]
    Glob,
    /// Regex-escaped, several as `(a|b)`.
    Regex,
    /// `a|b`.
    Pipe,
    /// `a,b`.
    Csv,
    /// JSON: `"a"` or `["a","b"]`.
    Json,
    /// Lucene-escaped, several as `("a" OR "b")`, none as `__empty__`.
    Lucene,
    /// As is (several: `a,b`).
    Raw,
    /// The display text (several: `a + b`, All: `All`).
    Text,
    /// `var-name=a&var-name=b`, percent-encoded.
    QueryParam,
    /// `"a","b"` (`"` escaped as `\"`).
    DoubleQuote,
    /// `'a','b'` (`'` escaped as `\'`).
    SingleQuote,
    /// `'a','b'` (`'` doubled).
    SqlString,
    /// Percent-encoded (RFC 3986 strict), several as `{a,b}` encoded.
    PercentEncode,
    /// `a,name=b,name=c`.
    Distributed,
    /// HTML-escaped (several: `a, b`).
    Html,
}

impl VariableFormat {
    /// The format named in `${var:name}` / `[[var:name]]` (Grafana's registry ids); `None` for
    /// names Grafana does not know (and for `prometheus`, which is not a registry format).
    pub fn from_name(name: &str) -> Option<Self> {
        use VariableFormat as F;
        Some(match name {
            "glob" => F::Glob,
            "regex" => F::Regex,
            "pipe" => F::Pipe,
            "csv" => F::Csv,
            "json" => F::Json,
            "lucene" => F::Lucene,
            "raw" => F::Raw,
            "text" => F::Text,
            "queryparam" => F::QueryParam,
            "doublequote" => F::DoubleQuote,
            "singlequote" => F::SingleQuote,
            "sqlstring" => F::SqlString,
            "percentencode" => F::PercentEncode,
            "distributed" => F::Distributed,
            "html" => F::Html,
            _ => return None,
        })
    }

    /// The format a reference's `:spec` asks for: its name before any `:` argument
    /// (`date:iso`); an unknown name is `glob`, as Grafana's `formatVariableValue` falls back.
    pub fn parse(spec: &str) -> Self {
        let name = spec.split(':').next().unwrap_or_default();
        Self::from_name(name).unwrap_or(VariableFormat::Glob)
    }
}

/// `kbn.regexEscape`: `\ ^ $ * + ? . ( ) | [ ] { } /` escaped with a backslash.
pub fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        if matches!(
            c,
            '\\' | '^'
                | '$'
                | '*'
                | '+'
                | '?'
                | '.'
                | '('
                | ')'
                | '|'
                | '['
                | ']'
                | '{'
                | '}'
                | '/'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Prometheus data source's `prometheusRegularEscape` (classic): `\` → `\\`, `'` → `\\'`.
pub fn prometheus_regular_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\\\'")
}

/// The Prometheus data source's `prometheusSpecialRegexEscape` (classic): `\` → `\\\\`, then
/// each of `$ ^ * { } [ ] + ? . ( ) |` → `\\` and itself, so that inside a PromQL string the
/// regex sees an escaped literal.
pub fn prometheus_special_regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `encodeURIComponentStrict` (RFC 3986): every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`.
pub fn percent_encode_strict(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `luceneEscape`: numbers (as JavaScript's `Number()` reads them) as they are, otherwise
/// `! * + - = < > whitespace & | ( ) [ ] { } ^ ~ ? : \ / "` escaped with a backslash.
pub fn lucene_escape(value: &str) -> String {
    if js_numeric(value) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        if c.is_whitespace()
            || matches!(
                c,
                '!' | '*'
                    | '+'
                    | '-'
                    | '='
                    | '<'
                    | '>'
                    | '&'
                    | '|'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '^'
                    | '~'
                    | '?'
                    | ':'
                    | '\\'
                    | '/'
                    | '"'
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `!isNaN(+value)`: what JavaScript's `Number()` reads as a number (empty and blank strings
/// included).
fn js_numeric(value: &str) -> bool {
    let t = value.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return true;
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return !rest.is_empty() && rest.chars().all(|c| c.is_digit(radix));
        }
    }
    let u = t.strip_prefix(['+', '-']).unwrap_or(t);
    if u == "Infinity" {
        return true;
    }
    let b = u.as_bytes();
    let digits = |from: usize| {
        b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let int = digits(0);
    let mut i = int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(i);
        i += frac;
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = digits(i);
        if e == 0 {
            return false;
        }
        i += e;
    }
    i == b.len()
}

fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn quote_each(value: &Val, quote: char, escaped: &str) -> String {
    let q = |s: &str| {
        let mut out = String::with_capacity(s.len() + 2);
        out.push(quote);
        out.push_str(&s.replace(quote, escaped));
        out.push(quote);
        out
    };
    match value {
        Val::One(s) => q(s),
        Val::Many(v) => v.iter().map(|s| q(s)).collect::<Vec<_>>().join(","),
    }
}

/// The Prometheus data source's `interpolateQueryExpr`.
fn interpolate_query_expr(value: &Val, var: &Variable) -> String {
    if !var.multi && !var.include_all {
        return value.map(prometheus_regular_escape).join(",");
    }
    match value.map(prometheus_special_regex_escape) {
        Val::One(s) => s,
        Val::Many(v) if v.len() == 1 => v.join(""),
        Val::Many(v) => format!("({})", v.join("|")),
    }
}

fn format_val(value: &Val, text: &Val, format: VariableFormat, var: &Variable) -> String {
    use VariableFormat as F;
    match format {
        F::Prometheus => interpolate_query_expr(value, var),
        F::Glob => match value {
            Val::Many(v) if v.len() > 1 => format!("{{{}}}", v.join(",")),
            v => v.join(","),
        },
        F::Regex => match value.map(regex_escape) {
            Val::One(s) => s,
            Val::Many(v) if v.len() == 1 => v.join(""),
            Val::Many(v) => format!("({})", v.join("|")),
        },
        F::Pipe => value.join("|"),
        F::Csv | F::Raw => value.join(","),
        F::Distributed => match value {
            Val::One(s) => s.clone(),
            Val::Many(v) => v
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i == 0 {
                        s.clone()
                    } else {
                        format!("{}={s}", var.name)
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
        },
        F::Json => match value {
            Val::One(s) => serde_json::to_string(s).unwrap_or_default(),
            Val::Many(v) => serde_json::to_string(v).unwrap_or_default(),
        },
        F::Lucene => match value {
            Val::One(s) => lucene_escape(s),
            Val::Many(v) if v.is_empty() => "__empty__".to_string(),
            Val::Many(v) => format!(
                "({})",
                v.iter()
                    .map(|s| format!("\"{}\"", lucene_escape(s)))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ),
        },
        F::PercentEncode => match value {
            Val::One(s) => percent_encode_strict(s),
            Val::Many(v) => percent_encode_strict(&format!("{{{}}}", v.join(","))),
        },
        F::SingleQuote => quote_each(value, '\'', "\\'"),
        F::DoubleQuote => quote_each(value, '"', "\\\""),
        F::SqlString => quote_each(value, '\'', "''"),
        F::Html => escape_html(&value.join(", ")),
        F::Text => match (value, text) {
            (Val::One(v), _) if v == ALL_VALUE => ALL_TEXT.to_string(),
            (_, Val::One(t)) => t.clone(),
            (_, Val::Many(t)) => t.join(" + "),
        },
        F::QueryParam => match value {
            Val::One(s) => format!("var-{}={}", var.name, percent_encode_strict(s)),
            Val::Many(v) => v
                .iter()
                .map(|s| format!("var-{}={}", var.name, percent_encode_strict(s)))
                .collect::<Vec<_>>()
                .join("&"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// References and substitution
// ---------------------------------------------------------------------------------------------

/// One variable reference in a text, as Grafana's `variableRegex` matches it:
/// `\$(\w+)`, `\[\[(\w+?)(?::(\w+))?\]\]` or `\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reference<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    format: Option<&'a str>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn word_len(b: &[u8]) -> usize {
    b.iter().take_while(|c| is_word(**c)).count()
}

/// The reference starting at byte `pos` (a `$` or `[`), if one does.
fn reference_at(text: &str, pos: usize) -> Option<Reference<'_>> {
    let b = text.as_bytes();
    let len = b.len();
    match b.get(pos)? {
        b'$' => {
            let n = word_len(&b[pos + 1..]);
            if n > 0 {
                return Some(Reference {
                    start: pos,
                    end: pos + 1 + n,
                    name: &text[pos + 1..pos + 1 + n],
                    format: None,
                });
            }
            if b.get(pos + 1) != Some(&b'{') {
                return None;
            }
            let name_start = pos + 2;
            let n = word_len(&b[name_start.min(len)..]);
            if n == 0 {
                return None;
            }
            let mut i = name_start + n;
            if b.get(i) == Some(&b'.') {
                // `.fieldPath`: `[^:^}]+`, then `:` or `}` must follow.
                let from = i + 1;
                let mut j = from;
                while j < len && !matches!(b[j], b':' | b'^' | b'}') {
                    j += 1;
                }
                if j == from || j >= len || b[j] == b'^' {
                    return None;
                }
                i = j;
            }
            let mut format = None;
            if b.get(i) == Some(&b':') {
                let from = i + 1;
                let mut j = from;
                while j < len && b[j] != b'}' {
                    j += 1;
                }
                if j == from || j >= len {
                    return None;
                }
                format = Some(&text[from..j]);
                i = j;
            }
            (b.get(i) == Some(&b'}')).then(|| Reference {
                start: pos,
                end: i + 1,
                name: &text[name_start..name_start + n],
                format,
            })
        }
        b'[' => {
            if b.get(pos + 1) != Some(&b'[') {
                return None;
            }
            let name_start = pos + 2;
            let n = word_len(&b[name_start.min(len)..]);
            if n == 0 {
                return None;
            }
            let mut i = name_start + n;
            let mut format = None;
            if b.get(i) == Some(&b':') {
                let m = word_len(&b[i + 1..]);
                if m == 0 {
                    return None;
                }
                format = Some(&text[i + 1..i + 1 + m]);
                i += 1 + m;
            }
            b[i.min(len)..].starts_with(b"]]").then(|| Reference {
                start: pos,
                end: i + 2,
                name: &text[name_start..name_start + n],
                format,
            })
        }
        _ => None,
    }
}

/// Every reference in `text`, left to right, not overlapping (as a global regex replace
/// walks it).
fn references(text: &str) -> impl Iterator<Item = Reference<'_>> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if matches!(b[i], b'$' | b'[')
                && let Some(r) = reference_at(text, i)
            {
                i = r.end;
                return Some(r);
            }
            i += 1;
        }
        None
    })
}

/// Replaces each reference for which `f` answers; the others stay as written.
fn replace_references(text: &str, mut f: impl FnMut(&Reference<'_>) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in references(text) {
        if let Some(v) = f(&r) {
            out.push_str(&text[last..r.start]);
            out.push_str(&v);
            last = r.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Grafana's global and built-in variable names that are not dashboard variables (never
/// reported as unknown, never replaced here).
pub const BUILTIN_VARIABLES: &[&str] = &[
    "__interval",
    "__interval_ms",
    "__rate_interval",
    "__rate_interval_ms",
    "__range",
    "__range_s",
    "__range_ms",
    "__from",
    "__to",
    "__dashboard",
    "__org",
    "__user",
    "__name",
    "__timezone",
    "__url",
    "__url_time_range",
    "__all_variables",
    "__auto_interval",
    "__field",
    "__series",
    "__value",
    "__data",
    "__cell",
    "__timeFilter",
    "__timeFrom",
    "__timeTo",
    "timeFilter",
];

/// A Grafana built-in (see [`BUILTIN_VARIABLES`]; also `__auto_interval_<name>`).
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_VARIABLES.contains(&name) || name.starts_with("__auto_interval_")
}

/// The dashboard variable a reference names. Names starting with `__` are Grafana's (it
/// refuses them for dashboard variables), so they are never looked up.
fn find_variable<'a>(vars: &'a [Variable], name: &str) -> Option<&'a Variable> {
    if name.starts_with("__") {
        return None;
    }
    vars.iter().find(|v| v.name == name)
}

/// Replaces the dashboard variables referenced in `text`, in every syntax Grafana accepts
/// (`$var`, `${var}`, `${var:format}`, `${var.fieldPath}`, `[[var]]`, `[[var:format]]`);
/// `default` is the format of references that name none ([`VariableFormat::Prometheus`] for
/// a Prometheus query's expression, [`VariableFormat::Glob`] elsewhere,
/// [`VariableFormat::Text`] for titles). Unknown names and Grafana's built-ins stay as written.
///
/// "All" is the `allValue` verbatim (itself substituted, unformatted) when set — except for
/// the `text` (`All`) and `percentencode` formats — else every option, formatted. A
/// `${var.fieldPath}` is the variable itself (option values have no fields).
pub fn substitute_variables(text: &str, vars: &[Variable], default: VariableFormat) -> String {
    substitute_inner(text, vars, default, &|_| None, 0)
}

fn substitute_inner(
    text: &str,
    vars: &[Variable],
    default: VariableFormat,
    builtins: &dyn Fn(&str) -> Option<String>,
    depth: u8,
) -> String {
    if !text.contains(['$', '[']) {
        return text.to_string();
    }
    replace_references(text, |r| {
        if let Some(v) = builtins(r.name) {
            return Some(v);
        }
        let var = find_variable(vars, r.name)?;
        Some(evaluate(var, r.format, default, vars, depth))
    })
}

/// The current value(s), with an interval's `auto` and a constant's fixed value resolved.
fn current_val(var: &Variable) -> Val {
    if let VariableKind::Constant { query } = &var.kind {
        return Val::One(query.clone());
    }
    let resolve = |v: &String| -> String {
        if let VariableKind::Interval { auto_min, .. } = &var.kind
            && v.starts_with("$__auto_interval")
        {
            return var
                .auto_interval
                .clone()
                .unwrap_or_else(|| auto_min.clone());
        }
        v.clone()
    };
    let values: Vec<String> = var.current.iter().map(resolve).collect();
    if var.multi || values.len() > 1 {
        Val::Many(values)
    } else {
        Val::One(values.into_iter().next().unwrap_or_default())
    }
}

fn evaluate(
    var: &Variable,
    format: Option<&str>,
    default: VariableFormat,
    vars: &[Variable],
    depth: u8,
) -> String {
    let format = format.map_or(default, VariableFormat::parse);
    let all = var.is_all();
    if format == VariableFormat::QueryParam {
        // The URL value: `$__all` for All (Grafana's `getValueForUrl`).
        let value = if all {
            Val::One(ALL_VALUE.to_string())
        } else {
            current_val(var)
        };
        return format_val(&value, &value, format, var);
    }
    if all {
        let text = Val::One(ALL_TEXT.to_string());
        return match var.all_value.as_deref().filter(|a| !a.is_empty()) {
            Some(custom) => {
                if matches!(format, VariableFormat::Text | VariableFormat::PercentEncode) {
                    format_val(&Val::One(custom.to_string()), &text, format, var)
                } else if depth >= MAX_DEPTH {
                    custom.to_string()
                } else {
                    // "Skip formatting of custom all values": substituted, not escaped.
                    substitute_inner(custom, vars, VariableFormat::Glob, &|_| None, depth + 1)
                }
            }
            None => format_val(&Val::Many(var.option_values()), &text, format, var),
        };
    }
    let value = current_val(var);
    let text = match (&var.kind, &value) {
        (VariableKind::Constant { .. } | VariableKind::Textbox { .. }, v) => v.clone(),
        (_, Val::One(_)) => Val::One(var.text_of(var.current.first().map_or("", String::as_str))),
        (_, Val::Many(_)) => Val::Many(var.current.iter().map(|v| var.text_of(v)).collect()),
    };
    format_val(&value, &text, format, var)
}

/// The variable names `text` references that `vars` does not define, each once, in order
/// (Grafana's built-ins excepted, and all-digit names: `$1` in `label_replace` is a regex
/// group, not a variable): what `lookout dashboards check` reports.
pub fn unknown_variables(text: &str, vars: &[Variable]) -> Vec<String> {
    let mut seen = HashSet::new();
    references(text)
        .filter(|r| !is_builtin(r.name) && !r.name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|r| find_variable(vars, r.name).is_none())
        .filter(|r| seen.insert(r.name))
        .map(|r| r.name.to_string())
        .collect()
}

/// A cell with the dashboard's variables substituted, ready for [`crate::run::plan_cell`]:
/// each target's `expr` (the Prometheus format, as Grafana's Prometheus data source's
/// `applyTemplateVariables`), `legendFormat` and `interval` (glob), the panel's title (text, as
/// Grafana interpolates titles) and description. Built-ins (`$__interval`, …) are left for
/// `plan_cell`.
pub fn apply_to_cell(cell: &Cell, vars: &[Variable]) -> Cell {
    let mut out = cell.clone();
    if vars.is_empty() {
        return out;
    }
    out.title = substitute_variables(&cell.title, vars, VariableFormat::Text);
    out.description = substitute_variables(&cell.description, vars, VariableFormat::Glob);
    for t in &mut out.targets {
        t.expr = substitute_variables(&t.expr, vars, VariableFormat::Prometheus);
        t.legend_format = substitute_variables(&t.legend_format, vars, VariableFormat::Glob);
        t.interval = substitute_variables(&t.interval, vars, VariableFormat::Glob);
    }
    out
}

/// The data source a `datasource` variable chose (`page`, `server` or a URL), for a cell whose
/// data source is `{"type": "variable", "name": …}`.
pub fn datasource_choice<'a>(vars: &'a [Variable], name: &str) -> Option<&'a str> {
    let name = name.strip_prefix('$').unwrap_or(name);
    let var = find_variable(vars, name)?;
    if !matches!(var.kind, VariableKind::Datasource { .. }) {
        return None;
    }
    var.current
        .first()
        .map(String::as_str)
        .filter(|v| *v != ALL_VALUE)
        .or_else(|| var.options.first().map(String::as_str))
}

// ---------------------------------------------------------------------------------------------
// Errors, regexes
// ---------------------------------------------------------------------------------------------

/// Why a variable's options could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VariableError {
    /// A regex (the variable's filter, `metrics(…)`, a data source filter) that does not
    /// compile, is too large, or is not `/…/flags` as Grafana writes it.
    #[error("invalid regex {pattern:?}: {message}")]
    BadRegex {
        /// The regex as written (after substitution).
        pattern: String,
        /// Why.
        message: String,
    },
    /// The data source refused or could not answer the query.
    #[error("query failed: {0}")]
    Query(#[from] SourceError),
    /// `foo(…)` where `label_values`, `label_names`, `metrics` or `query_result` was expected.
    #[error(
        "unknown function {0:?} in a variable query (expected label_values, label_names, metrics or query_result)"
    )]
    UnknownFunction(String),
    /// A known function with arguments it cannot take (`label_values(up, not-a-label)`).
    #[error("invalid variable query {query:?}: {message}")]
    BadQuery {
        /// The query.
        query: String,
        /// Why.
        message: String,
    },
    /// `query_result` answered a result type Grafana does not handle (a range vector).
    #[error("query_result: unhandled result type {0}")]
    UnhandledResult(String),
    /// An interval variable's `auto_min` that is not a duration.
    #[error("invalid interval {0:?}")]
    BadInterval(String),
}

fn bad_regex(pattern: &str, message: impl Into<String>) -> VariableError {
    VariableError::BadRegex {
        pattern: pattern.to_string(),
        message: message.into(),
    }
}

/// A compiled variable regex: Grafana's `stringToJsRegex` — `/pattern/flags` (flags from
/// `g i m y s`, in that order; `g` = every match) or, without slashes, `^pattern$`.
#[derive(Debug, Clone)]
pub struct JsRegex {
    /// The compiled regex.
    pub regex: Regex,
    /// The `g` flag: every match counts, not only the first.
    pub global: bool,
}

/// Compiles a regex as Grafana's `stringToJsRegex` reads it, with the size guarded. Rust's
/// regex syntax stands in for JavaScript's (named groups `(?<name>…)` work; look-around and
/// back-references are errors); the `y` (sticky) flag anchors at the start.
pub fn compile_js_regex(source: &str) -> Result<JsRegex, VariableError> {
    if source.len() > MAX_REGEX_LEN {
        return Err(bad_regex(
            &source[..source.floor_char_boundary(64)],
            format!("longer than {MAX_REGEX_LEN} bytes"),
        ));
    }
    let (pattern, flags) = if let Some(body) = source.strip_prefix('/') {
        let slash = body
            .rfind('/')
            .ok_or_else(|| bad_regex(source, "not a valid regular expression"))?;
        let flags = &body[slash + 1..];
        if !valid_flags(flags) {
            return Err(bad_regex(source, "not a valid regular expression"));
        }
        (body[..slash].to_string(), flags)
    } else {
        (format!("^{source}$"), "")
    };
    let pattern = if flags.contains('y') {
        format!("^(?:{pattern})")
    } else {
        pattern
    };
    let regex = RegexBuilder::new(&pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(100)
        .build()
        .map_err(|e| bad_regex(source, e.to_string()))?;
    Ok(JsRegex {
        regex,
        global: flags.contains('g'),
    })
}

/// `g?i?m?y?s?`.
fn valid_flags(flags: &str) -> bool {
    let mut rest = flags;
    for f in ["g", "i", "m", "y", "s"] {
        rest = rest.strip_prefix(f).unwrap_or(rest);
    }
    rest.is_empty()
}

fn compile_plain(pattern: &str) -> Result<Regex, VariableError> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(bad_regex(
            &pattern[..pattern.floor_char_boundary(64)],
            format!("longer than {MAX_REGEX_LEN} bytes"),
        ));
    }
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(100)
        .build()
        .map_err(|e| bad_regex(pattern, e.to_string()))
}

/// Grafana's `metricNamesToVariableValues`: the regex filter (on each option's value; the
/// first capture group becomes text and value; named groups `text` and `value` set them; with
/// the `g` flag and several matches, one option per match), de-duplication by value (the
/// first kept), then [`sort_options`].
pub fn filter_options(
    items: Vec<VariableOption>,
    regex: &str,
    sort: u8,
) -> Result<Vec<VariableOption>, VariableError> {
    let re = if regex.is_empty() {
        None
    } else {
        Some(compile_js_regex(regex)?)
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(re) = &re else {
            out.push(item);
            continue;
        };
        let mut matches = Vec::new();
        for caps in re.regex.captures_iter(&item.value) {
            let empty = caps.get(0).is_none_or(|m| m.as_str().is_empty());
            matches.push(caps);
            if !re.global || empty {
                break;
            }
        }
        if matches.is_empty() {
            continue;
        }
        let group = |name: &str| {
            matches.iter().find_map(|c| {
                c.name(name)
                    .map(|m| m.as_str().to_string())
                    .filter(|s| !s.is_empty())
            })
        };
        let (value_group, text_group) = (group("value"), group("text"));
        let has_groups = re.regex.captures_len() > 1;
        let first =
            |c: &regex::Captures<'_>| c.get(1).map_or(String::new(), |m| m.as_str().to_string());
        if value_group.is_some() || text_group.is_some() {
            let value = value_group
                .clone()
                .or_else(|| text_group.clone())
                .unwrap_or_default();
            let text = text_group.or(value_group).unwrap_or_default();
            out.push(VariableOption { text, value });
        } else if has_groups && matches.len() > 1 {
            out.extend(matches.iter().map(|c| VariableOption::new(first(c))));
        } else if has_groups {
            out.push(VariableOption::new(
                matches.first().map(first).unwrap_or_default(),
            ));
        } else {
            out.push(item);
        }
    }
    let mut seen = HashSet::new();
    out.retain(|o| seen.insert(o.value.clone()));
    Ok(sort_options(out, sort))
}

/// Grafana's `sortVariableValues` (stable, on the text): 0 none, 1/2 alphabetical asc/desc,
/// 3/4 numerical asc/desc (by the first run of digits in the text, none = -1), 5/6
/// alphabetical case-insensitive asc/desc, 7/8 natural asc/desc (digits as numbers, case
/// ignored). Descending orders are the ascending ones reversed, as in Grafana.
pub fn sort_options(mut options: Vec<VariableOption>, sort: u8) -> Vec<VariableOption> {
    match sort {
        1 | 2 => options.sort_by(|a, b| a.text.encode_utf16().cmp(b.text.encode_utf16())),
        3 | 4 => {
            let mut keyed: Vec<(f64, VariableOption)> = options
                .into_iter()
                .map(|o| (numeric_key(&o.text), o))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            options = keyed.into_iter().map(|(_, o)| o).collect();
        }
        5 | 6 => {
            let mut keyed: Vec<(Vec<u16>, VariableOption)> = options
                .into_iter()
                .map(|o| (o.text.to_lowercase().encode_utf16().collect(), o))
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            options = keyed.into_iter().map(|(_, o)| o).collect();
        }
        7 | 8 => options.sort_by(|a, b| natural_cmp(&a.text, &b.text)),
        _ => return options,
    }
    if sort.is_multiple_of(2) {
        options.reverse();
    }
    options
}

fn numeric_key(text: &str) -> f64 {
    let start = text.bytes().position(|b| b.is_ascii_digit());
    let Some(start) = start else {
        return -1.0;
    };
    let len = text.as_bytes()[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    text[start..start + len].parse().unwrap_or(-1.0)
}

fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, chunk)) if *d == digit => chunk.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, sa), (db, sb)) in ca.iter().zip(&cb) {
        let ord = if *da && *db {
            let (ta, tb) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            sa.to_lowercase().cmp(&sb.to_lowercase())
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

// ---------------------------------------------------------------------------------------------
// Custom, interval and datasource options
// ---------------------------------------------------------------------------------------------

/// Grafana's custom variable options: comma separated (`\,` is a comma inside an option;
/// empty items between commas are skipped), each `value` or `text : value` (the last ` : `
/// with a non-empty value after it splits), trimmed.
pub fn parse_custom(query: &str) -> Vec<VariableOption> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                cur.push(',');
            }
            ',' => {
                if !cur.is_empty() {
                    items.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    items
        .iter()
        .map(|item| match split_text_value(item) {
            Some((text, value)) => VariableOption::with_text(text.trim(), value.trim()),
            None => VariableOption::new(item.trim()),
        })
        .collect()
}

/// `^(.+)\s:\s(.+)$` with a greedy text (JavaScript's `.` stops at line terminators).
fn split_text_value(item: &str) -> Option<(&str, &str)> {
    if item.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let colons: Vec<usize> = item.match_indices(':').map(|(i, _)| i).collect();
    colons.into_iter().rev().find_map(|i| {
        let before = item[..i].chars().next_back()?;
        let after = item[i + 1..].chars().next()?;
        if !before.is_whitespace() || !after.is_whitespace() {
            return None;
        }
        let text = &item[..i - before.len_utf8()];
        let value = &item[i + 1 + after.len_utf8()..];
        (!text.is_empty() && !value.is_empty()).then_some((text, value))
    })
}

/// Grafana's interval options: the words (or quoted strings) of the query, quotes removed,
/// trimmed (`1m,10m,1h` → `1m`, `10m`, `1h`).
pub fn parse_intervals(query: &str) -> Vec<VariableOption> {
    let b = query.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' {
            if let Some(close) = query[i + 1..].find(char::from(c)) {
                let inner = &query[i + 1..i + 1 + close];
                let cleaned: String = inner.chars().filter(|c| *c != '"' && *c != '\'').collect();
                out.push(VariableOption::new(cleaned.trim()));
                i += close + 2;
                continue;
            }
        } else if is_word(c) {
            let n = word_len(&b[i..]);
            out.push(VariableOption::new(&query[i..i + n]));
            i += n;
            continue;
        }
        i += 1;
    }
    out
}

/// Grafana's `calculateInterval(range, auto_count, auto_min)`: the range divided into
/// `auto_count` buckets (0 = 30), rounded with `roundInterval`, at least `auto_min` (empty =
/// 1 ms); written as a Prometheus duration.
pub fn auto_interval(
    range_ms: i64,
    auto_count: u32,
    auto_min: &str,
) -> Result<String, VariableError> {
    let count = if auto_count == 0 { 30 } else { auto_count };
    let low = if auto_min.trim().is_empty() {
        1
    } else {
        parse_duration(auto_min).map_err(|_| VariableError::BadInterval(auto_min.to_string()))?
    };
    let ms = round_interval(range_ms.max(0) as f64 / f64::from(count)).max(low);
    Ok(format_duration(ms))
}

// ---------------------------------------------------------------------------------------------
// Query variables
// ---------------------------------------------------------------------------------------------

/// A query variable's query, as the Prometheus data source's `metricFindQuery` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindQuery<'a> {
    /// `label_names()` or `label_names(selector)`.
    LabelNames(Option<&'a str>),
    /// `label_values(label)` or `label_values(selector, label)`.
    LabelValues {
        /// The series selector, if any.
        selector: Option<&'a str>,
        /// The label.
        label: &'a str,
    },
    /// `metrics(regex)`: metric names matching the (unanchored) regex.
    Metrics(&'a str),
    /// `query_result(expr)`: one option per sample of an instant query.
    QueryResult(&'a str),
    /// Any other text: a series selector, one option per series (`name{labels}`).
    Series(&'a str),
    /// Nothing to ask (an empty query, or `label_values()`, `metrics()`, `query_result()`).
    Empty,
}

/// Reads a query variable's query (after substitution).
pub fn parse_find_query(query: &str) -> Result<FindQuery<'_>, VariableError> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(FindQuery::Empty);
    }
    let n = word_len(q.as_bytes());
    let after = q[n..].trim_start();
    let call = (n > 0 && after.starts_with('(') && q.ends_with(')'))
        .then(|| (&q[..n], after[1..after.len() - 1].trim()));
    let Some((function, inner)) = call else {
        return Ok(FindQuery::Series(q));
    };
    let bad = |message: &str| VariableError::BadQuery {
        query: q.to_string(),
        message: message.to_string(),
    };
    Ok(match function {
        "label_names" if inner.is_empty() => FindQuery::LabelNames(None),
        "label_names" => FindQuery::LabelNames(Some(inner)),
        "label_values" | "metrics" | "query_result" if inner.is_empty() => FindQuery::Empty,
        "label_values" => {
            let (selector, label) = match inner.rfind(',') {
                Some(i) => (Some(inner[..i].trim()), inner[i + 1..].trim()),
                None => (None, inner),
            };
            if !lookout_promql::labels::is_valid_label_name(label) {
                return Err(bad(
                    "the last argument of label_values must be a label name",
                ));
            }
            if selector == Some("") {
                return Err(bad("empty series selector"));
            }
            FindQuery::LabelValues { selector, label }
        }
        "metrics" => FindQuery::Metrics(inner),
        "query_result" => FindQuery::QueryResult(inner),
        other => return Err(VariableError::UnknownFunction(other.to_string())),
    })
}

/// `name{k="v",…}` as the Prometheus data source writes a series (`getOriginalMetricName`).
fn series_text(labels: &Labels) -> String {
    let name = labels.name().unwrap_or_default();
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != lookout_promql::labels::METRIC_NAME)
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

/// Runs a parsed query against `source` over `range` and returns the raw options (before the
/// regex filter and the sort).
pub async fn run_find_query<S: QuerySource>(
    query: &FindQuery<'_>,
    source: &S,
    range: (i64, i64),
) -> Result<Vec<VariableOption>, VariableError> {
    let filter = |matchers: Vec<String>| SeriesFilter {
        matchers,
        start_ms: Some(range.0),
        end_ms: Some(range.1),
    };
    let values = match query {
        FindQuery::Empty => Vec::new(),
        FindQuery::LabelNames(selector) => {
            let matchers = selector.iter().map(|s| s.to_string()).collect();
            source.label_names(&filter(matchers)).await?
        }
        FindQuery::LabelValues {
            selector: None,
            label,
        } => source.label_values(label, &filter(Vec::new())).await?,
        FindQuery::LabelValues {
            selector: Some(selector),
            label,
        } => {
            let series = source.series(&filter(vec![selector.to_string()])).await?;
            let mut seen = HashSet::new();
            series
                .iter()
                .filter_map(|l| l.get(label))
                .filter(|v| !v.is_empty() && seen.insert(v.to_string()))
                .map(str::to_string)
                .collect()
        }
        FindQuery::Metrics(pattern) => {
            let re = compile_plain(pattern)?;
            let names = source
                .label_values(lookout_promql::labels::METRIC_NAME, &filter(Vec::new()))
                .await?;
            names.into_iter().filter(|n| re.is_match(n)).collect()
        }
        FindQuery::QueryResult(expr) => {
            let data = source
                .instant(&InstantQuery {
                    query: expr.to_string(),
                    time_ms: range.1,
                })
                .await?;
            match data {
                QueryData::Scalar(p) => vec![p.1],
                QueryData::String((_, s)) => vec![s],
                QueryData::Vector(samples) => samples
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} {}",
                            series_text(&s.metric),
                            s.value.1,
                            s.value.t_ms()
                        )
                    })
                    .collect(),
                QueryData::Matrix(_) => {
                    return Err(VariableError::UnhandledResult("matrix".to_string()));
                }
            }
        }
        FindQuery::Series(selector) => source
            .series(&filter(vec![selector.to_string()]))
            .await?
            .iter()
            .map(series_text)
            .collect(),
    };
    Ok(values.into_iter().map(VariableOption::new).collect())
}

// ---------------------------------------------------------------------------------------------
// Resolution and selection
// ---------------------------------------------------------------------------------------------

/// What resolving a variable's options may look at.
#[derive(Debug, Clone, Copy)]
pub struct ResolveContext<'a> {
    /// The dashboard's time range (epoch ms), already resolved.
    pub range: (i64, i64),
    /// The variables a query may reference (chained variables): their current values are
    /// substituted.
    pub variables: &'a [Variable],
    /// Lookout's data sources, for `datasource` variables (`page`, `server`, remote URLs).
    pub datasources: &'a [String],
}

/// The options of one variable (the "All" option is never among them; it is implied by
/// [`Variable::include_all`]).
///
/// - `query`: the query with earlier variables substituted (Prometheus format) and
///   `$__range`, `$__range_s`, `$__range_ms` from the range, run as [`parse_find_query`] reads
///   it, then [`filter_options`] with the (substituted, regex-formatted) regex and the sort;
/// - `custom`: [`parse_custom`] (after substitution); `constant`: its value; `textbox`: the
///   current text, else the default;
/// - `interval`: [`parse_intervals`], with `auto` first when enabled (value
///   `$__auto_interval_<name>`; see [`auto_interval`] for what it stands for);
/// - `datasource`: the given data sources (when the type is empty or `prometheus`), filtered by
///   the regex.
pub async fn resolve_options<S: QuerySource>(
    var: &Variable,
    source: &S,
    ctx: &ResolveContext<'_>,
) -> Result<Vec<VariableOption>, VariableError> {
    let vars = ctx.variables;
    match &var.kind {
        VariableKind::Query {
            query, regex, sort, ..
        } => {
            let range_ms = ctx.range.1.saturating_sub(ctx.range.0);
            let range_s = (range_ms as f64 / 1000.0).round() as i64;
            let builtins = move |name: &str| match name {
                "__range_ms" => Some(range_ms.to_string()),
                "__range_s" => Some(range_s.to_string()),
                "__range" => Some(format!("{range_s}s")),
                _ => None,
            };
            let query = substitute_inner(query, vars, VariableFormat::Prometheus, &builtins, 0);
            let parsed = parse_find_query(&query)?;
            let items = run_find_query(&parsed, source, ctx.range).await?;
            let regex = substitute_variables(regex, vars, VariableFormat::Regex);
            filter_options(items, &regex, *sort)
        }
        VariableKind::Custom { query } => Ok(parse_custom(&substitute_variables(
            query,
            vars,
            VariableFormat::Glob,
        ))),
        VariableKind::Constant { query } => Ok(vec![VariableOption::new(query.clone())]),
        VariableKind::Textbox { query } => Ok(vec![VariableOption::new(
            var.current
                .first()
                .filter(|c| !c.is_empty())
                .cloned()
                .unwrap_or_else(|| query.clone()),
        )]),
        VariableKind::Interval { query, auto, .. } => {
            let mut options = parse_intervals(query);
            if *auto {
                options.insert(
                    0,
                    VariableOption::with_text(
                        AUTO_TEXT,
                        format!("{AUTO_VALUE_PREFIX}{}", var.name),
                    ),
                );
            }
            Ok(options)
        }
        VariableKind::Datasource { query, regex } => {
            let kind = query.trim();
            if !(kind.is_empty() || kind.eq_ignore_ascii_case("prometheus")) {
                return Ok(Vec::new());
            }
            let regex = substitute_variables(regex, vars, VariableFormat::Regex);
            let re = if regex.is_empty() {
                None
            } else {
                Some(compile_js_regex(&regex)?)
            };
            Ok(ctx
                .datasources
                .iter()
                .filter(|d| re.as_ref().is_none_or(|r| r.regex.is_match(d)))
                .map(|d| VariableOption::new(d.clone()))
                .collect())
        }
    }
}

/// Grafana's `validateVariableSelectionState` after the options changed: a constant is its
/// value; a textbox keeps its text (else the default); otherwise the current values that are
/// still options are kept (in option order; one for a single-value variable), All stays All
/// when offered, and with nothing valid left the first option is chosen — All when
/// `include_all` (Grafana lists All first) — or nothing when there are no options.
/// Current values are matched by value (Grafana matches a single value by its text).
pub fn validate_selection(var: &mut Variable) {
    match &var.kind {
        VariableKind::Constant { query } => {
            var.current = vec![query.clone()];
            return;
        }
        VariableKind::Textbox { query } => {
            if var.current.first().is_none_or(|c| c.is_empty()) {
                var.current = vec![query.clone()];
            }
            var.current.truncate(1);
            return;
        }
        _ => {}
    }
    if var.include_all && var.current.iter().any(|c| c == ALL_VALUE) {
        var.current = vec![ALL_VALUE.to_string()];
        return;
    }
    let mut selected: Vec<String> = var
        .option_values()
        .into_iter()
        .filter(|o| var.current.contains(o))
        .collect();
    if !var.multi {
        selected.truncate(1);
    }
    var.current = if !selected.is_empty() {
        selected
    } else if var.include_all {
        vec![ALL_VALUE.to_string()]
    } else {
        var.option_values().into_iter().take(1).collect()
    };
}

/// The outcome of [`resolve_all`].
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The variables with new options and valid selections.
    pub variables: Vec<Variable>,
    /// Per variable (by name), why its options could not be resolved (it keeps its previous
    /// options).
    pub errors: Vec<(String, VariableError)>,
}

/// Resolves every variable in order — each query may use the ones before it — storing the
/// options, an interval's `auto` value, and a valid selection ([`validate_selection`]). A
/// query variable with `refresh: 0` (never) keeps the options it was saved with, if any, as
/// Grafana does. Errors stay per variable; the others still resolve.
pub async fn resolve_all<S: QuerySource>(
    vars: &[Variable],
    source: &S,
    range: (i64, i64),
    datasources: &[String],
) -> Resolution {
    let mut out = vars.to_vec();
    let mut errors = Vec::new();
    for i in 0..out.len() {
        let var = &out[i];
        let keep =
            matches!(var.kind, VariableKind::Query { refresh: 0, .. }) && !var.options.is_empty();
        let auto = match &var.kind {
            VariableKind::Interval {
                auto: true,
                auto_count,
                auto_min,
                ..
            } => Some(auto_interval(
                range.1.saturating_sub(range.0),
                *auto_count,
                auto_min,
            )),
            _ => None,
        };
        let result = if keep {
            None
        } else {
            let ctx = ResolveContext {
                range,
                variables: &out,
                datasources,
            };
            Some(resolve_options(&out[i], source, &ctx).await)
        };
        let name = out[i].name.clone();
        let var = &mut out[i];
        match result {
            Some(Ok(options)) => var.set_options(&options),
            Some(Err(e)) => errors.push((name.clone(), e)),
            None => {}
        }
        match auto {
            Some(Ok(a)) => var.auto_interval = Some(a),
            Some(Err(e)) => errors.push((name, e)),
            None => {}
        }
        validate_selection(var);
    }
    Resolution {
        variables: out,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;
    use VariableFormat as F;

    fn custom(name: &str, options: &[&str], current: &[&str]) -> Variable {
        Variable {
            name: name.into(),
            kind: VariableKind::Custom {
                query: options.join(","),
            },
            multi: current.len() > 1,
            options: options.iter().map(|s| s.to_string()).collect(),
            current: current.iter().map(|s| s.to_string()).collect(),
            ..Variable::default()
        }
    }

    fn multi(name: &str, options: &[&str], current: &[&str]) -> Variable {
        Variable {
            multi: true,
            ..custom(name, options, current)
        }
    }

    fn sub(text: &str, vars: &[Variable]) -> String {
        substitute_variables(text, vars, F::Glob)
    }

    #[test]
    fn every_reference_syntax() {
        let vars = [custom("job", &["api", "web"], &["api"])];
        for (text, want) in [
            ("$job", "api"),
            ("${job}", "api"),
            ("${job:raw}", "api"),
            ("[[job]]", "api"),
            ("[[job:csv]]", "api"),
            ("${job.text}", "api"),
            ("${job.a.b:raw}", "api"),
            ("${job:date:iso}", "api"),
            ("${job:nonsense}", "api"),
            ("x$job,y", "xapi,y"),
            ("$job-$job", "api-api"),
            ("é$jobü", "éapiü"),
            ("$$job", "$api"),
            ("[[[job]]]", "[api]"),
        ] {
            assert_eq!(sub(text, &vars), want, "{text}");
        }
    }

    #[test]
    fn word_boundaries_and_builtins() {
        let vars = [custom("job", &["api"], &["api"])];
        // `$job_suffix` is the variable `job_suffix` (unknown): left alone.
        assert_eq!(sub("$job_suffix", &vars), "$job_suffix");
        assert_eq!(sub("${job}_suffix", &vars), "api_suffix");
        assert_eq!(sub("[[job]]_suffix", &vars), "api_suffix");
        assert_eq!(sub("$job.suffix", &vars), "api.suffix");
        for s in [
            "$__interval",
            "${__interval}",
            "[[__interval]]",
            "$__rate_interval",
            "${__range_s:raw}",
            "$__interval_ms",
            "rate(x[$__rate_interval])",
        ] {
            assert_eq!(sub(s, &vars), s);
        }
        // A dashboard variable can never shadow a built-in.
        let shadow = [custom("__interval", &["oops"], &["oops"])];
        assert_eq!(sub("$__interval", &shadow), "$__interval");
    }

    #[test]
    fn malformed_references_stay_as_written() {
        let vars = [custom("job", &["api"], &["api"])];
        for s in [
            "$",
            "${",
            "${}",
            "${job",
            "${job:}",
            "${job.}",
            "${job.^x}",
            "${job.x^y}",
            "[[",
            "[[]]",
            "[[job",
            "[[job]",
            "[[job:]]",
            "[[job:date:iso]]",
            "[[job:a-b]]",
            "$ job",
            "${ job}",
            "${job }",
            "[[ job]]",
            "{job}",
            "$-job",
        ] {
            assert_eq!(sub(s, &vars), s, "{s}");
        }
        assert_eq!(sub("${job:x}y}", &vars), "apiy}");
        assert_eq!(sub("${job.a:b:c}", &vars), "api");
    }

    #[test]
    fn single_value_formats() {
        let v = [custom("v", &[r#"a.b|c\d'e"f g"#], &[r#"a.b|c\d'e"f g"#])];
        let fmt = |f: &str| sub(&format!("${{v:{f}}}"), &v);
        assert_eq!(fmt("raw"), r#"a.b|c\d'e"f g"#);
        assert_eq!(fmt("glob"), r#"a.b|c\d'e"f g"#);
        assert_eq!(fmt("regex"), r#"a\.b\|c\\d'e"f g"#);
        assert_eq!(fmt("pipe"), r#"a.b|c\d'e"f g"#);
        assert_eq!(fmt("csv"), r#"a.b|c\d'e"f g"#);
        assert_eq!(fmt("json"), r#""a.b|c\\d'e\"f g""#);
        assert_eq!(fmt("doublequote"), r#""a.b|c\d'e\"f g""#);
        assert_eq!(fmt("singlequote"), r#"'a.b|c\d\'e"f g'"#);
        assert_eq!(fmt("sqlstring"), r#"'a.b|c\d''e"f g'"#);
        assert_eq!(fmt("lucene"), r#"a.b\|c\\d'e\"f\ g"#);
        assert_eq!(fmt("percentencode"), "a.b%7Cc%5Cd%27e%22f%20g");
        assert_eq!(fmt("queryparam"), "var-v=a.b%7Cc%5Cd%27e%22f%20g");
        assert_eq!(fmt("text"), r#"a.b|c\d'e"f g"#);
        assert_eq!(fmt("distributed"), r#"a.b|c\d'e"f g"#);
        assert_eq!(fmt("html"), "a.b|c\\d&#39;e&quot;f g");
        // Lucene leaves numbers alone.
        let n = [custom("n", &["-1.5e3"], &["-1.5e3"])];
        assert_eq!(sub("${n:lucene}", &n), "-1.5e3");
        let s = [custom("s", &["a-b"], &["a-b"])];
        assert_eq!(sub("${s:lucene}", &s), r"a\-b");
    }

    #[test]
    fn multi_value_formats() {
        let v = [multi("v", &["a", "b.c", "d"], &["a", "b.c"])];
        let fmt = |f: &str| sub(&format!("${{v:{f}}}"), &v);
        assert_eq!(sub("$v", &v), "{a,b.c}");
        assert_eq!(fmt("glob"), "{a,b.c}");
        assert_eq!(fmt("raw"), "a,b.c");
        assert_eq!(fmt("csv"), "a,b.c");
        assert_eq!(sub("[[v:csv]]", &v), "a,b.c");
        assert_eq!(fmt("pipe"), "a|b.c");
        assert_eq!(fmt("regex"), r"(a|b\.c)");
        assert_eq!(fmt("json"), r#"["a","b.c"]"#);
        assert_eq!(fmt("doublequote"), r#""a","b.c""#);
        assert_eq!(fmt("singlequote"), "'a','b.c'");
        assert_eq!(fmt("sqlstring"), "'a','b.c'");
        assert_eq!(fmt("lucene"), r#"("a" OR "b.c")"#);
        assert_eq!(fmt("percentencode"), "%7Ba%2Cb.c%7D");
        assert_eq!(fmt("queryparam"), "var-v=a&var-v=b.c");
        assert_eq!(fmt("distributed"), "a,v=b.c");
        assert_eq!(fmt("text"), "a + b.c");
        assert_eq!(fmt("html"), "a, b.c");
        // One value of a multi-value variable is still a list.
        let one = [multi("v", &["a", "b"], &["a"])];
        assert_eq!(sub("$v", &one), "a");
        assert_eq!(sub("${v:json}", &one), r#"["a"]"#);
        assert_eq!(sub("${v:regex}", &one), "a");
        // None chosen.
        let none = [multi("v", &["a"], &[])];
        assert_eq!(sub("${v:lucene}", &none), "__empty__");
        assert_eq!(sub("${v:json}", &none), "[]");
        assert_eq!(sub("<$v>", &none), "<>");
        assert_eq!(substitute_variables("<$v>", &none, F::Prometheus), "<()>");
    }

    #[test]
    fn prometheus_default_format() {
        let prom = |t: &str, v: &[Variable]| substitute_variables(t, v, F::Prometheus);
        // Neither multi nor All: only `\` and `'` escaped, regex characters kept.
        let single = [custom("v", &[r"a.b|c\d'e"], &[r"a.b|c\d'e"])];
        assert_eq!(prom(r#"up{x="$v"}"#, &single), r#"up{x="a.b|c\\d\\'e"}"#);
        // Multi: regex metacharacters escaped for a PromQL string, joined as an alternation.
        let m = [multi("v", &["a.b|c", r"x\y", "z"], &["a.b|c", r"x\y"])];
        assert_eq!(prom(r#"up{x=~"$v"}"#, &m), r#"up{x=~"(a\\.b\\|c|x\\\\y)"}"#);
        let m1 = [multi("v", &["a.b|c", "z"], &["a.b|c"])];
        assert_eq!(prom("$v", &m1), r"a\\.b\\|c");
        // Include All, single value: escaped as a regex too.
        let mut inc = custom("v", &["a+b", "c"], &["a+b"]);
        inc.include_all = true;
        assert_eq!(prom("$v", &[inc.clone()]), r"a\\+b");
        // An explicit format wins over the default.
        assert_eq!(prom("${v:raw}", &m), r"a.b|c,x\y");
        assert_eq!(prom("${v:regex}", &m), r"(a\.b\|c|x\\y)");
        // Empty value.
        let e = [custom("v", &[""], &[""])];
        assert_eq!(prom(r#"up{x="$v"}"#, &e), r#"up{x=""}"#);
        // `$__interval` is left for interval.rs.
        assert_eq!(
            prom("rate(up{x=~\"$v\"}[$__rate_interval])", &m1),
            r#"rate(up{x=~"a\\.b\\|c"}[$__rate_interval])"#
        );
    }

    #[test]
    fn all_with_and_without_all_value() {
        let mut v = multi("job", &["a", "b.c", "d"], &[ALL_VALUE]);
        v.include_all = true;
        let prom = |t: &str, v: &[Variable]| substitute_variables(t, v, F::Prometheus);
        assert_eq!(prom("$job", &[v.clone()]), r"(a|b\\.c|d)");
        assert_eq!(sub("$job", &[v.clone()]), "{a,b.c,d}");
        assert_eq!(sub("${job:text}", &[v.clone()]), "All");
        assert_eq!(sub("${job:csv}", &[v.clone()]), "a,b.c,d");
        assert_eq!(sub("${job:queryparam}", &[v.clone()]), "var-job=%24__all");
        // A stored "$__all" option (as Grafana exports it) is not a value.
        v.options.insert(0, ALL_VALUE.to_string());
        assert_eq!(sub("${job:pipe}", &[v.clone()]), "a|b.c|d");
        // A custom all value: verbatim, not escaped, whatever the format...
        v.all_value = Some(".*".into());
        assert_eq!(prom(r#"up{job=~"$job"}"#, &[v.clone()]), r#"up{job=~".*"}"#);
        assert_eq!(sub("${job:regex}", &[v.clone()]), ".*");
        assert_eq!(sub("${job:json}", &[v.clone()]), ".*");
        // ...but text is "All" and percentencode encodes it.
        assert_eq!(sub("${job:text}", &[v.clone()]), "All");
        assert_eq!(sub("${job:percentencode}", &[v.clone()]), ".%2A");
        // An all value may reference other variables; a self-reference terminates.
        let env = custom("env", &["prod"], &["prod"]);
        v.all_value = Some("$env-.*".into());
        assert_eq!(sub("$job", &[v.clone(), env]), "prod-.*");
        v.all_value = Some("x$job".into());
        assert!(sub("$job", &[v.clone()]).starts_with("xxxx"));
        // An empty all value means "every option".
        v.all_value = Some(String::new());
        assert_eq!(sub("${job:pipe}", &[v]), "a|b.c|d");
    }

    #[test]
    fn texts_and_values() {
        let mut v = Variable {
            name: "srv".into(),
            multi: true,
            kind: VariableKind::Custom {
                query: "Alpha : a, Beta : b".into(),
            },
            ..Variable::default()
        };
        v.set_options(&parse_custom("Alpha : a, Beta : b, c"));
        assert_eq!(v.options, ["a", "b", "c"]);
        assert_eq!(v.option_texts, ["Alpha", "Beta", "c"]);
        v.current = vec!["a".into(), "b".into()];
        assert_eq!(sub("$srv", &[v.clone()]), "{a,b}");
        assert_eq!(sub("${srv:text}", &[v.clone()]), "Alpha + Beta");
        v.multi = false;
        v.current = vec!["b".into()];
        assert_eq!(sub("${srv:text}=${srv}", &[v.clone()]), "Beta=b");
        // Texts equal to values are not stored.
        v.set_options(&[VariableOption::new("x")]);
        assert!(v.option_texts.is_empty());
        let json = serde_json::to_string(&v).unwrap();
        assert!(
            !json.contains("optionTexts") && !json.contains("autoInterval"),
            "{json}"
        );
        // Older documents read with the new fields empty.
        let old: Variable =
            serde_json::from_str(r#"{"name":"x","type":"custom","options":["a"]}"#).unwrap();
        assert_eq!(old.option_list(), vec![VariableOption::new("a")]);
        // Constants and textboxes.
        let c = Variable {
            name: "c".into(),
            kind: VariableKind::Constant {
                query: "k8s".into(),
            },
            ..Variable::default()
        };
        assert_eq!(sub("$c ${c:text}", &[c]), "k8s k8s");
    }

    #[test]
    fn unknown_variables_are_collected_once() {
        let vars = [custom("job", &["a"], &["a"])];
        let text = "$job $nope ${nope} [[other:csv]] ${third.x} $__interval ${__range_s} \
                    $timeFilter $__auto_interval_res $__from $job_suffix \
                    label_replace(up, \"x\", \"$1\", \"job\", \"(.*)\")";
        assert_eq!(
            unknown_variables(text, &vars),
            ["nope", "other", "third", "job_suffix"]
        );
        assert!(unknown_variables("sum(rate(x[$__rate_interval]))", &vars).is_empty());
    }

    #[test]
    fn custom_options_with_escaped_commas() {
        let o = parse_custom(r"a, b\, c, d : e, , f,,g, x : y : z, k:v,  spaced  ");
        let pairs: Vec<(&str, &str)> = o
            .iter()
            .map(|o| (o.text.as_str(), o.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a", "a"),
                ("b, c", "b, c"),
                ("d", "e"),
                ("", ""),
                ("f", "f"),
                ("g", "g"),
                ("x : y", "z"),
                ("k:v", "k:v"),
                ("spaced", "spaced"),
            ]
        );
        assert!(parse_custom("").is_empty());
        assert_eq!(parse_custom(r"a\b"), [VariableOption::new(r"a\b")]);
        assert_eq!(parse_custom("t : "), [VariableOption::new("t :")]);
    }

    fn texts(o: &[VariableOption]) -> Vec<&str> {
        o.iter().map(|o| o.text.as_str()).collect()
    }

    #[test]
    fn sort_orders() {
        let opts: Vec<VariableOption> = ["b10", "a2", "B1", "c", "a2x"]
            .into_iter()
            .map(VariableOption::new)
            .collect();
        let sorted = |s| sort_options(opts.clone(), s);
        assert_eq!(texts(&sorted(0)), ["b10", "a2", "B1", "c", "a2x"]);
        assert_eq!(texts(&sorted(1)), ["B1", "a2", "a2x", "b10", "c"]);
        assert_eq!(texts(&sorted(2)), ["c", "b10", "a2x", "a2", "B1"]);
        assert_eq!(texts(&sorted(3)), ["c", "B1", "a2", "a2x", "b10"]);
        assert_eq!(texts(&sorted(4)), ["b10", "a2x", "a2", "B1", "c"]);
        assert_eq!(texts(&sorted(5)), ["a2", "a2x", "B1", "b10", "c"]);
        assert_eq!(texts(&sorted(6)), ["c", "b10", "B1", "a2x", "a2"]);
        let nat: Vec<VariableOption> = ["x10", "x9", "X1", "y"]
            .into_iter()
            .map(VariableOption::new)
            .collect();
        assert_eq!(
            texts(&sort_options(nat.clone(), 7)),
            ["X1", "x9", "x10", "y"]
        );
        assert_eq!(texts(&sort_options(nat, 8)), ["y", "x10", "x9", "X1"]);
        // Numbers beyond i64 do not panic.
        let big = vec![
            VariableOption::new("n99999999999999999999999"),
            VariableOption::new("n1"),
        ];
        assert_eq!(
            texts(&sort_options(big, 3)),
            ["n1", "n99999999999999999999999"]
        );
    }

    fn items(v: &[&str]) -> Vec<VariableOption> {
        v.iter().map(|s| VariableOption::new(*s)).collect()
    }

    #[test]
    fn regex_filters_captures_and_named_groups() {
        let src = items(&["api-1", "web-2", "db", "api-1", "Api-3"]);
        // Without slashes: anchored.
        assert_eq!(
            texts(&filter_options(src.clone(), "api.*", 0).unwrap()),
            ["api-1"]
        );
        assert_eq!(
            texts(&filter_options(src.clone(), "pi.*", 0).unwrap()),
            Vec::<&str>::new()
        );
        // With slashes: unanchored, flags, duplicates dropped.
        assert_eq!(
            texts(&filter_options(src.clone(), "/pi/", 0).unwrap()),
            ["api-1", "Api-3"]
        );
        assert_eq!(
            texts(&filter_options(src.clone(), "/^api/i", 0).unwrap()),
            ["api-1", "Api-3"]
        );
        // A capture group is text and value.
        let o = filter_options(src.clone(), r"/-(\d)$/", 4).unwrap();
        assert_eq!(texts(&o), ["3", "2", "1"]);
        // Named groups.
        let o = filter_options(src.clone(), r"/(?<text>[a-z]+)-(?<value>\d)/", 0).unwrap();
        assert_eq!(
            o,
            [
                VariableOption::with_text("api", "1"),
                VariableOption::with_text("web", "2"),
                VariableOption::with_text("pi", "3"),
            ]
        );
        let o = filter_options(src.clone(), r"/(?<value>[a-z]+)-/", 0).unwrap();
        assert_eq!(texts(&o), ["api", "web", "pi"]);
        // Global: one option per match.
        let o = filter_options(items(&["a=1,b=2"]), r"/(\w)=\d/g", 0).unwrap();
        assert_eq!(texts(&o), ["a", "b"]);
        // Query-result texts.
        let o = filter_options(
            items(&[r#"up{instance="x",job="a"} 1 1700000000000"#]),
            r#"/job="([^"]+)"/"#,
            0,
        )
        .unwrap();
        assert_eq!(texts(&o), ["a"]);
        // Errors, never panics.
        for bad in [
            "/(/", "(", "/abc", "/abc/x", "/a/gg", "/(?=x)/", r"/\1/", "/",
        ] {
            assert!(
                matches!(
                    filter_options(src.clone(), bad, 0),
                    Err(VariableError::BadRegex { .. })
                ),
                "{bad}"
            );
        }
        assert!(filter_options(src.clone(), "/x{1000}{1000}/", 0).is_err());
        let huge = "a".repeat(MAX_REGEX_LEN + 1);
        assert!(filter_options(src, &huge, 0).is_err());
    }

    #[test]
    fn selection_rules() {
        let mut v = multi("v", &["a", "b", "c"], &["c", "x", "a"]);
        validate_selection(&mut v);
        assert_eq!(v.current, ["a", "c"], "kept, in option order");
        v.current = vec!["x".into()];
        validate_selection(&mut v);
        assert_eq!(v.current, ["a"], "first option");
        v.include_all = true;
        v.current = vec!["x".into()];
        validate_selection(&mut v);
        assert_eq!(v.current, [ALL_VALUE]);
        validate_selection(&mut v);
        assert_eq!(v.current, [ALL_VALUE], "All stays All");
        v.include_all = false;
        validate_selection(&mut v);
        assert_eq!(v.current, ["a"], "All no longer offered");
        let mut s = custom("s", &["a", "b"], &["b", "a"]);
        s.multi = false;
        validate_selection(&mut s);
        assert_eq!(s.current, ["a"], "one value for a single-value variable");
        s.options.clear();
        validate_selection(&mut s);
        assert!(s.current.is_empty());
        let mut t = Variable {
            kind: VariableKind::Textbox {
                query: "default".into(),
            },
            ..Variable::default()
        };
        validate_selection(&mut t);
        assert_eq!(t.current, ["default"]);
        t.current = vec!["typed".into()];
        validate_selection(&mut t);
        assert_eq!(t.current, ["typed"]);
    }

    #[test]
    fn intervals_and_auto() {
        assert_eq!(
            texts(&parse_intervals("1m,10m, 1h ,'2 d', \"x'y\"")),
            ["1m", "10m", "1h", "2 d", "xy"]
        );
        assert_eq!(auto_interval(3_600_000, 30, "10s").unwrap(), "2m");
        assert_eq!(auto_interval(60_000, 30, "10s").unwrap(), "10s");
        assert_eq!(auto_interval(86_400_000, 0, "").unwrap(), "1h");
        assert!(matches!(
            auto_interval(1, 30, "soon"),
            Err(VariableError::BadInterval(_))
        ));
        let mut v = Variable {
            name: "res".into(),
            kind: VariableKind::Interval {
                query: "1m,5m".into(),
                auto: true,
                auto_count: 30,
                auto_min: "10s".into(),
            },
            current: vec![format!("{AUTO_VALUE_PREFIX}res")],
            ..Variable::default()
        };
        assert_eq!(
            sub("rate(x[$res])", &[v.clone()]),
            "rate(x[10s])",
            "auto_min before resolution"
        );
        v.auto_interval = Some("2m".into());
        assert_eq!(sub("rate(x[$res])", &[v.clone()]), "rate(x[2m])");
        assert_eq!(sub("${res:text}", &[v.clone()]), "auto");
        v.current = vec!["5m".into()];
        assert_eq!(sub("rate(x[$res])", &[v]), "rate(x[5m])");
    }

    #[test]
    fn find_queries() {
        use FindQuery as Q;
        assert_eq!(
            parse_find_query(" label_names() ").unwrap(),
            Q::LabelNames(None)
        );
        assert_eq!(
            parse_find_query("label_names(up)").unwrap(),
            Q::LabelNames(Some("up"))
        );
        assert_eq!(
            parse_find_query("label_values(job)").unwrap(),
            Q::LabelValues {
                selector: None,
                label: "job"
            }
        );
        assert_eq!(
            parse_find_query(r#"label_values(up{a="1",b="2"}, instance)"#).unwrap(),
            Q::LabelValues {
                selector: Some(r#"up{a="1",b="2"}"#),
                label: "instance"
            }
        );
        assert_eq!(
            parse_find_query("metrics(^up$)").unwrap(),
            Q::Metrics("^up$")
        );
        assert_eq!(
            parse_find_query("query_result(sum by (job) (up))").unwrap(),
            Q::QueryResult("sum by (job) (up)")
        );
        assert_eq!(
            parse_find_query(r#"up{job="a"}"#).unwrap(),
            Q::Series(r#"up{job="a"}"#)
        );
        for empty in ["", "  ", "label_values()", "metrics()", "query_result( )"] {
            assert_eq!(parse_find_query(empty).unwrap(), Q::Empty, "{empty}");
        }
        assert_eq!(
            parse_find_query("rate(up[5m])"),
            Err(VariableError::UnknownFunction("rate".into()))
        );
        assert!(matches!(
            parse_find_query("label_values(up, not-a-label)"),
            Err(VariableError::BadQuery { .. })
        ));
        assert!(matches!(
            parse_find_query("label_values(, job)"),
            Err(VariableError::BadQuery { .. })
        ));
    }

    #[test]
    fn cells_get_their_variables() {
        let vars = [
            multi("job", &["a", "b", "c"], &["a", "b"]),
            custom("step", &["1m"], &["1m"]),
        ];
        let cell = Cell {
            title: "Jobs $job".into(),
            targets: vec![Target {
                ref_id: "A".into(),
                expr: r#"sum by (job) (rate(up{job=~"$job"}[$__rate_interval]))"#.into(),
                legend_format: "{{job}} in [[job:csv]]".into(),
                interval: "$step".into(),
                ..Target::default()
            }],
            ..Cell::default()
        };
        let c = apply_to_cell(&cell, &vars);
        assert_eq!(c.title, "Jobs a + b");
        assert_eq!(
            c.targets[0].expr,
            r#"sum by (job) (rate(up{job=~"(a|b)"}[$__rate_interval]))"#
        );
        assert_eq!(c.targets[0].legend_format, "{{job}} in a,b");
        assert_eq!(c.targets[0].interval, "1m");
        assert_eq!(apply_to_cell(&cell, &[]), cell);
        let ds = Variable {
            name: "ds".into(),
            kind: VariableKind::Datasource {
                query: "prometheus".into(),
                regex: String::new(),
            },
            options: vec!["page".into(), "server".into()],
            current: vec!["server".into()],
            ..Variable::default()
        };
        assert_eq!(
            datasource_choice(std::slice::from_ref(&ds), "$ds"),
            Some("server")
        );
        assert_eq!(datasource_choice(&[ds], "nope"), None);
    }

    /// Substitution (and the other parsers of user text) over a few thousand generated
    /// strings: never a panic.
    #[test]
    fn arbitrary_text_never_panics() {
        const ALPHABET: &[&str] = &[
            "$",
            "{",
            "}",
            "[",
            "[[",
            "]]",
            "]",
            ":",
            ".",
            "^",
            "a",
            "v",
            "_",
            "1",
            "é",
            "\\",
            "|",
            ",",
            " ",
            "'",
            "\"",
            "/",
            "(",
            ")",
            "w",
            "${",
            "$v",
            "csv",
            "regex",
            "json",
            "__interval",
            "text",
            "😀",
            "\n",
            "*",
            "?",
            "+",
            "<",
            ">",
            "=",
            "~",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut all = multi("v", &["a.b", "c|d", r"e\f"], &[ALL_VALUE]);
        all.include_all = true;
        all.all_value = Some("$w.*".into());
        let vars = vec![
            all,
            custom("w", &["x'y"], &["x'y"]),
            multi("a", &["1", "2"], &["1", "2"]),
            Variable {
                name: "v_1".into(),
                kind: VariableKind::Textbox { query: "t".into() },
                current: vec![String::new()],
                ..Variable::default()
            },
        ];
        let formats = [
            F::Prometheus,
            F::Glob,
            F::Regex,
            F::Pipe,
            F::Csv,
            F::Json,
            F::Lucene,
            F::Raw,
            F::Text,
            F::QueryParam,
            F::DoubleQuote,
            F::SingleQuote,
            F::SqlString,
            F::PercentEncode,
            F::Distributed,
            F::Html,
        ];
        for i in 0..4_000 {
            let len = next() % 24;
            let text: String = (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect();
            let out = substitute_variables(&text, &vars, formats[i % formats.len()]);
            if !text.contains(['$', '[']) {
                assert_eq!(out, text);
            }
            let _ = unknown_variables(&text, &vars);
            let _ = parse_custom(&text);
            let _ = parse_intervals(&text);
            let _ = parse_find_query(&text);
            let _ = compile_js_regex(&text);
            let _ = filter_options(items(&["a", "b"]), &text, (i % 9) as u8);
            let _ = split_text_value(&text);
            let _ = js_numeric(&text);
        }
    }
}
