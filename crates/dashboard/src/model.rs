//! The notebook (and, later, dashboard) document: cells with queries and a panel each, in
//! camelCase JSON close to Grafana's dashboard JSON.
//!
//! Every struct reads with `#[serde(default)]`, so partial JSON loads and fields added later
//! do not break old documents; unknown fields are ignored. The model holds no credentials: a
//! remote data source is only its URL, and [`Notebook::validate`] refuses URLs with a user or
//! password in them. Credentials live with the data source adapter and never serialize.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::reduce::Reducer;
use crate::time::TimeRange;

/// The schema version this crate writes.
pub const CURRENT_SCHEMA: u32 = 1;
/// The largest JSON document [`Notebook::from_json`] reads (16 MiB).
pub const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;
/// Grafana's grid has 24 columns.
pub const GRID_COLUMNS: u32 = 24;

/// Errors of loading and validating a notebook.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The document exceeds [`MAX_JSON_BYTES`].
    #[error("the notebook is {size} bytes, more than the {max} bytes allowed")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON of the notebook's shape (serde_json's message gives line and column; nesting
    /// deeper than 128 levels is refused here too).
    #[error("invalid notebook JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a newer version.
    #[error("notebook schema version {found} is newer than the supported {supported}")]
    UnsupportedSchema {
        /// The document's version.
        found: u32,
        /// [`CURRENT_SCHEMA`].
        supported: u32,
    },
    /// Two cells share an id.
    #[error("duplicate cell id {0}")]
    DuplicateCellId(u64),
    /// Two targets of one cell share a ref id.
    #[error("cell {cell}: duplicate query ref id {ref_id:?}")]
    DuplicateRefId {
        /// The cell's id.
        cell: u64,
        /// The repeated ref id.
        ref_id: String,
    },
    /// A remote data source URL that is not `http(s)://host…`.
    #[error("cell {cell}: invalid remote data source URL {url:?} (expected http:// or https://)")]
    InvalidUrl {
        /// The cell's id.
        cell: u64,
        /// The URL.
        url: String,
    },
    /// A remote data source URL with `user:password@` in it.
    #[error(
        "cell {cell}: the remote data source URL contains credentials; configure them on the data source instead"
    )]
    CredentialsInUrl {
        /// The cell's id.
        cell: u64,
    },
}

/// A notebook: a titled, ordered list of cells sharing a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Notebook {
    /// The document's schema version ([`CURRENT_SCHEMA`] when written by this crate).
    pub schema_version: u32,
    /// Stable identifier.
    pub uid: String,
    /// Title.
    pub title: String,
    /// The shared time range.
    pub time: TimeRange,
    /// Auto refresh (`5s`, `1m`, …; `None` = off).
    pub refresh: Option<String>,
    /// The cells, in display order.
    pub cells: Vec<Cell>,
}

impl Default for Notebook {
    fn default() -> Self {
        Self {
            schema_version: CURRENT_SCHEMA,
            uid: String::new(),
            title: String::new(),
            time: TimeRange::default(),
            refresh: None,
            cells: Vec::new(),
        }
    }
}

impl Notebook {
    /// Reads a notebook: at most [`MAX_JSON_BYTES`], serde_json's recursion limit kept, then
    /// [`Notebook::validate`]d.
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        if json.len() > MAX_JSON_BYTES {
            return Err(ModelError::TooLarge {
                size: json.len(),
                max: MAX_JSON_BYTES,
            });
        }
        let notebook: Notebook = serde_json::from_str(json)?;
        notebook.validate()?;
        Ok(notebook)
    }

    /// Writes the notebook as indented JSON.
    pub fn to_json_pretty(&self) -> Result<String, ModelError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Checks what serde cannot: the schema version, unique cell ids, unique ref ids per cell,
    /// and remote URLs (`http(s)://`, without credentials).
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.schema_version > CURRENT_SCHEMA {
            return Err(ModelError::UnsupportedSchema {
                found: self.schema_version,
                supported: CURRENT_SCHEMA,
            });
        }
        let mut ids = HashSet::new();
        for cell in &self.cells {
            if !ids.insert(cell.id) {
                return Err(ModelError::DuplicateCellId(cell.id));
            }
            let mut refs = HashSet::new();
            for t in &cell.targets {
                if !refs.insert(t.ref_id.as_str()) {
                    return Err(ModelError::DuplicateRefId {
                        cell: cell.id,
                        ref_id: t.ref_id.clone(),
                    });
                }
            }
            if let DataSourceRef::Remote { url } = &cell.datasource {
                check_remote_url(cell.id, url)?;
            }
        }
        Ok(())
    }

    /// An id no cell uses yet (one more than the largest).
    pub fn next_cell_id(&self) -> u64 {
        self.cells
            .iter()
            .map(|c| c.id)
            .max()
            .map_or(1, |m| m.saturating_add(1))
    }

    /// The cell with this id.
    pub fn cell(&self, id: u64) -> Option<&Cell> {
        self.cells.iter().find(|c| c.id == id)
    }
}

pub(crate) fn check_remote_url(cell: u64, url: &str) -> Result<(), ModelError> {
    let invalid = || ModelError::InvalidUrl {
        cell,
        url: url.to_string(),
    };
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(invalid());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(ModelError::CredentialsInUrl { cell });
    }
    if authority.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    Ok(())
}

/// One cell: queries against a data source, shown by a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Cell {
    /// Unique within the notebook.
    pub id: u64,
    /// Title shown above the panel.
    pub title: String,
    /// Free text (Markdown in the page).
    pub description: String,
    /// Where the queries run.
    pub datasource: DataSourceRef,
    /// The queries (Grafana's targets).
    pub targets: Vec<Target>,
    /// How the results are shown.
    pub panel: Panel,
    /// A Grafana 7 legacy alert (`panel.alert`) imported with the panel, kept as Grafana wrote
    /// it (the alerts evaluate it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<serde_json::Value>,
    /// What an imported Grafana panel carried that Lookout does not model (its `type` when
    /// Lookout cannot draw it, `options`, `fieldConfig.overrides`, `transformations`, `links`,
    /// …): written back on export, never dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Default for Cell {
    fn default() -> Self {
        Self {
            id: 1,
            title: String::new(),
            description: String::new(),
            datasource: DataSourceRef::default(),
            targets: vec![Target::default()],
            panel: Panel::default(),
            alert: None,
            grafana: None,
        }
    }
}

impl Cell {
    /// The first ref id no target of this cell uses (Grafana's `getNextRefId`: `A`…`Z`, then
    /// `AA`, `AB`, …).
    pub fn next_ref_id(&self) -> String {
        next_ref_id(self.targets.iter().map(|t| t.ref_id.as_str()))
    }

    /// Appends a new target with the next free ref id and returns it.
    pub fn add_target(&mut self, expr: &str) -> &mut Target {
        let ref_id = self.next_ref_id();
        self.targets.push(Target {
            ref_id,
            expr: expr.to_string(),
            ..Target::default()
        });
        let last = self.targets.len() - 1;
        &mut self.targets[last]
    }
}

/// The first ref id (`A`, `B`, … `Z`, `AA`, `AB`, …) not among `used`.
pub fn next_ref_id<'a>(used: impl IntoIterator<Item = &'a str>) -> String {
    let used: HashSet<&str> = used.into_iter().collect();
    let mut n: u64 = 0;
    loop {
        let id = ref_id_for(n);
        if !used.contains(id.as_str()) {
            return id;
        }
        n += 1;
    }
}

/// Grafana's `getRefId`: 0 → `A`, 25 → `Z`, 26 → `AA`.
fn ref_id_for(n: u64) -> String {
    let letter = |i: u64| char::from(b'A' + (i % 26) as u8);
    if n < 26 {
        letter(n).to_string()
    } else {
        let mut s = ref_id_for(n / 26 - 1);
        s.push(letter(n));
        s
    }
}

/// Where a cell's queries run. Only a reference: no credentials are stored here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DataSourceRef {
    /// The page's own metrics, queried with the embedded engine.
    #[default]
    Page,
    /// The `lookout serve` server that served the page (its `/api/v1`).
    Server,
    /// Any Prometheus-compatible HTTP API.
    Remote {
        /// Base URL, e.g. `http://prometheus:9090`.
        url: String,
    },
    /// A dashboard panel: the dashboard's data source (in a notebook: the page).
    Dashboard,
    /// The data source a `datasource` template variable chose (`page`, `server` or a URL).
    Variable {
        /// The variable's name, without `$`.
        name: String,
    },
}

/// One query (Grafana's Prometheus target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Target {
    /// `A`, `B`, …: unique within the cell.
    pub ref_id: String,
    /// The PromQL expression (may use `$__interval`, `$__rate_interval`, `$__range`).
    pub expr: String,
    /// Series names: `{{label}}` templates, `__auto` or empty (see [`crate::legend`]).
    pub legend_format: String,
    /// Run an instant query.
    pub instant: bool,
    /// Run a range query.
    pub range: bool,
    /// Do not run or show this query.
    pub hide: bool,
    /// Min step (Grafana's "Min interval"), e.g. `15s`; empty = the scrape interval.
    pub interval: String,
    /// Resolution override; `None` = the panel's width.
    pub max_data_points: Option<u32>,
    /// How results are shaped.
    pub format: TargetFormat,
}

impl Default for Target {
    /// A range query named `A` with the `__auto` legend, as Grafana creates new queries.
    fn default() -> Self {
        Self {
            ref_id: "A".to_string(),
            expr: String::new(),
            legend_format: crate::legend::AUTO.to_string(),
            instant: false,
            range: true,
            hide: false,
            interval: String::new(),
            max_data_points: None,
            format: TargetFormat::TimeSeries,
        }
    }
}

/// Grafana's Prometheus `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetFormat {
    /// One series per label set (`time_series`).
    #[default]
    TimeSeries,
    /// Rows of label values and the value (`table`).
    Table,
    /// Classic histogram buckets de-accumulated (`heatmap`).
    Heatmap,
}

/// Grafana's panel types (`type` in dashboard JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// Lines, points or bars over time (`timeseries`).
    #[default]
    TimeSeries,
    /// One big reduced value (`stat`).
    Stat,
    /// A dial (`gauge`).
    Gauge,
    /// Bars of reduced values (`bargauge`).
    BarGauge,
    /// Rows (`table`).
    Table,
    /// Buckets over time (`heatmap`).
    Heatmap,
    /// A Grafana panel type Lookout does not draw (text, piechart, plugins…): shown as a
    /// placeholder, kept whole in [`Cell::grafana`] and written back on export.
    Unsupported,
}

/// A panel's options.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Panel {
    /// The visualization.
    pub kind: PanelKind,
    /// Field options: unit, decimals, min/max, thresholds.
    pub field: FieldConfig,
    /// Time series options.
    pub time_series: TimeSeriesOptions,
    /// Stat (and gauge) options.
    pub stat: StatOptions,
    /// Position on a dashboard's 24-column grid; `None` in a notebook.
    pub grid: Option<GridPos>,
    /// Relative time override (`1h`, `now-1h`): Grafana's "Relative time".
    pub relative_time: Option<String>,
    /// Time shift (`1d`): Grafana's "Time shift".
    pub time_shift: Option<String>,
}

/// Grafana's standard field options.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FieldConfig {
    /// Unit id (`short`, `s`, `bytes`, `percent`, …; see [`crate::units`]); empty = none.
    pub unit: String,
    /// Fixed decimals; `None` = automatic.
    pub decimals: Option<u32>,
    /// Scale minimum; `None` = from the data.
    pub min: Option<f64>,
    /// Scale maximum; `None` = from the data.
    pub max: Option<f64>,
    /// Colour steps.
    pub thresholds: Thresholds,
    /// Text shown when there is no value.
    pub no_value: Option<String>,
}

/// Threshold steps and how their values read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Thresholds {
    /// Absolute values or percentages of the min–max range.
    pub mode: ThresholdsMode,
    /// The steps; the base step has no value (−∞).
    pub steps: Vec<ThresholdStep>,
}

impl Default for Thresholds {
    /// Grafana's default: green from −∞, red from 80.
    fn default() -> Self {
        Self {
            mode: ThresholdsMode::Absolute,
            steps: vec![
                ThresholdStep {
                    value: None,
                    color: "green".to_string(),
                },
                ThresholdStep {
                    value: Some(80.0),
                    color: "red".to_string(),
                },
            ],
        }
    }
}

/// How threshold values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdsMode {
    /// Values as they are.
    #[default]
    Absolute,
    /// Percent (0–100) of the field's min–max range.
    Percentage,
}

/// One threshold step: from `value` up, use `color`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThresholdStep {
    /// Lower bound; `None` (JSON `null`) is the base step, −∞.
    pub value: Option<f64>,
    /// A Grafana colour name (`green`) or CSS colour (`#73BF69`).
    pub color: String,
}

/// Time series panel options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TimeSeriesOptions {
    /// Lines, points or bars.
    pub draw: DrawStyle,
    /// Stack series on each other.
    pub stacked: bool,
    /// Area fill under lines, 0–100.
    pub fill_opacity: u8,
    /// Line width in pixels.
    pub line_width: u8,
    /// Whether and how the thresholds are drawn (Grafana's `custom.thresholdsStyle.mode`).
    pub thresholds_style: ThresholdsStyle,
}

impl Default for TimeSeriesOptions {
    /// Grafana's defaults: lines, 1 px, no fill, not stacked, thresholds not drawn.
    fn default() -> Self {
        Self {
            draw: DrawStyle::Lines,
            stacked: false,
            fill_opacity: 0,
            line_width: 1,
            thresholds_style: ThresholdsStyle::Off,
        }
    }
}

/// How a time series panel draws its thresholds (Grafana's `GraphThresholdsStyleMode`; the
/// colour steps still colour stat, gauge and bar gauge panels whatever this says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum ThresholdsStyle {
    /// Not drawn (Grafana's default).
    #[default]
    #[serde(rename = "off")]
    Off,
    /// A solid line at each step.
    #[serde(rename = "line")]
    Line,
    /// A dashed line at each step.
    #[serde(rename = "dashed")]
    Dashed,
    /// Each step's region filled.
    #[serde(rename = "area")]
    Area,
    /// Lines and filled regions.
    #[serde(rename = "line+area")]
    LineAndArea,
    /// Dashed lines and filled regions.
    #[serde(rename = "dashed+area")]
    DashedAndArea,
}

/// Any other text (Grafana's `series`, a typo in a hand-edited file) reads as `Off`.
impl<'de> Deserialize<'de> for ThresholdsStyle {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(v.as_str()
            .and_then(ThresholdsStyle::from_id)
            .unwrap_or_default())
    }
}

impl ThresholdsStyle {
    pub const ALL: [ThresholdsStyle; 6] = [
        ThresholdsStyle::Off,
        ThresholdsStyle::Line,
        ThresholdsStyle::Dashed,
        ThresholdsStyle::Area,
        ThresholdsStyle::LineAndArea,
        ThresholdsStyle::DashedAndArea,
    ];

    /// Grafana's id.
    pub fn id(self) -> &'static str {
        match self {
            ThresholdsStyle::Off => "off",
            ThresholdsStyle::Line => "line",
            ThresholdsStyle::Dashed => "dashed",
            ThresholdsStyle::Area => "area",
            ThresholdsStyle::LineAndArea => "line+area",
            ThresholdsStyle::DashedAndArea => "dashed+area",
        }
    }

    /// Reads Grafana's id (`series`, which colours the series themselves, reads as `off`).
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    /// Grafana's label in the panel editor.
    pub fn label(self) -> &'static str {
        match self {
            ThresholdsStyle::Off => "Off",
            ThresholdsStyle::Line => "As lines",
            ThresholdsStyle::Dashed => "As lines (dashed)",
            ThresholdsStyle::Area => "As filled regions",
            ThresholdsStyle::LineAndArea => "As filled regions and lines",
            ThresholdsStyle::DashedAndArea => "As filled regions and lines (dashed)",
        }
    }

    pub fn lines(self) -> bool {
        matches!(
            self,
            ThresholdsStyle::Line
                | ThresholdsStyle::Dashed
                | ThresholdsStyle::LineAndArea
                | ThresholdsStyle::DashedAndArea
        )
    }

    pub fn areas(self) -> bool {
        matches!(
            self,
            ThresholdsStyle::Area | ThresholdsStyle::LineAndArea | ThresholdsStyle::DashedAndArea
        )
    }
}

/// Grafana's `drawStyle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrawStyle {
    /// Connected lines (`line`).
    #[default]
    #[serde(rename = "line")]
    Lines,
    /// Points only.
    Points,
    /// Bars.
    Bars,
}

/// Stat panel options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StatOptions {
    /// How a series becomes one value.
    pub reducer: Reducer,
    /// Draw the series behind the value.
    pub sparkline: bool,
}

impl Default for StatOptions {
    /// Grafana's defaults: last non-null value, with a sparkline.
    fn default() -> Self {
        Self {
            reducer: Reducer::LastNotNull,
            sparkline: true,
        }
    }
}

/// A panel's place on a dashboard's 24-column grid (rows of 30 px in Grafana).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GridPos {
    /// Column of the left edge, 0–23.
    pub x: u32,
    /// Row of the top edge.
    pub y: u32,
    /// Width in columns, 1–24.
    pub w: u32,
    /// Height in rows, at least 1.
    pub h: u32,
}

impl Default for GridPos {
    /// Grafana's new-panel size: half the width, 8 rows.
    fn default() -> Self {
        Self {
            x: 0,
            y: 0,
            w: 12,
            h: 8,
        }
    }
}

impl GridPos {
    /// The position fitted into the grid: width 1–24, the panel moved left so it fits,
    /// height at least 1.
    pub fn normalized(self) -> Self {
        let w = self.w.clamp(1, GRID_COLUMNS);
        Self {
            x: self.x.min(GRID_COLUMNS - w),
            y: self.y,
            w,
            h: self.h.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ThresholdsStyle;

    #[test]
    fn thresholds_style_reads_leniently() {
        for (text, want) in [
            ("\"off\"", ThresholdsStyle::Off),
            ("\"line\"", ThresholdsStyle::Line),
            ("\"dashed\"", ThresholdsStyle::Dashed),
            ("\"area\"", ThresholdsStyle::Area),
            ("\"line+area\"", ThresholdsStyle::LineAndArea),
            ("\"dashed+area\"", ThresholdsStyle::DashedAndArea),
            ("\"series\"", ThresholdsStyle::Off),
            ("42", ThresholdsStyle::Off),
        ] {
            let got: ThresholdsStyle = serde_json::from_str(text).expect(text);
            assert_eq!(got, want, "{text}");
        }
        for style in ThresholdsStyle::ALL {
            let text = serde_json::to_string(&style).expect("serialise");
            assert_eq!(text, format!("\"{}\"", style.id()));
            assert_eq!(ThresholdsStyle::from_id(style.id()), Some(style));
        }
        // A panel saved before the option existed draws none.
        let ts: super::TimeSeriesOptions =
            serde_json::from_str(r#"{"draw": "line", "fillOpacity": 10}"#).expect("old panel");
        assert_eq!(ts.thresholds_style, ThresholdsStyle::Off);
        assert_eq!(ts.fill_opacity, 10);
    }

    use super::*;

    fn sample() -> Notebook {
        let mut cell = Cell {
            id: 7,
            title: "Latency".into(),
            description: "p99 of *inference*".into(),
            datasource: DataSourceRef::Remote {
                url: "https://prom.example:9090/prefix".into(),
            },
            ..Cell::default()
        };
        cell.targets[0].expr = "rate(inference_time_sum[$__rate_interval])".into();
        cell.add_target("up").legend_format = "{{ job }}".into();
        cell.panel.kind = PanelKind::Stat;
        cell.panel.field.unit = "s".into();
        cell.panel.field.decimals = Some(2);
        cell.panel.field.min = Some(0.0);
        cell.panel.field.thresholds.mode = ThresholdsMode::Percentage;
        cell.panel.grid = Some(GridPos {
            x: 12,
            y: 0,
            w: 12,
            h: 6,
        });
        cell.panel.time_shift = Some("1d".into());
        cell.panel.stat.reducer = Reducer::Delta;
        Notebook {
            uid: "nb1".into(),
            title: "Model".into(),
            refresh: Some("30s".into()),
            cells: vec![
                cell,
                Cell {
                    id: 8,
                    ..Cell::default()
                },
            ],
            ..Notebook::default()
        }
    }

    #[test]
    fn round_trip() {
        let nb = sample();
        let json = nb.to_json_pretty().unwrap();
        assert!(json.contains("\"schemaVersion\": 1"));
        assert!(json.contains("\"legendFormat\": \"{{ job }}\""));
        assert!(json.contains("\"type\": \"remote\""));
        assert!(json.contains("\"kind\": \"stat\""));
        assert!(json.contains("\"reducer\": \"delta\""));
        assert!(json.contains("\"value\": null"));
        let back = Notebook::from_json(&json).unwrap();
        assert_eq!(back, nb);
        assert_eq!(back.cells[0].targets[1].ref_id, "B");
    }

    #[test]
    fn partial_json_loads_with_defaults() {
        let nb =
            Notebook::from_json(r#"{"title":"t","cells":[{"id":3,"targets":[{"expr":"up"}]}]}"#)
                .unwrap();
        assert_eq!(nb.schema_version, CURRENT_SCHEMA);
        assert_eq!(nb.time, TimeRange::new("now-1h", "now"));
        let cell = &nb.cells[0];
        assert_eq!(cell.datasource, DataSourceRef::Page);
        assert_eq!(cell.targets[0].ref_id, "A");
        assert!(cell.targets[0].range);
        assert_eq!(cell.panel.field.thresholds.steps.len(), 2);
        assert_eq!(cell.panel.field.thresholds.steps[1].value, Some(80.0));
        assert_eq!(cell.panel.stat.reducer, Reducer::LastNotNull);
        assert_eq!(Notebook::from_json("{}").unwrap(), Notebook::default());
        // Grafana's reducer aliases read too.
        let nb =
            Notebook::from_json(r#"{"cells":[{"panel":{"stat":{"reducer":"current"}}}]}"#).unwrap();
        assert_eq!(nb.cells[0].panel.stat.reducer, Reducer::LastNotNull);
    }

    #[test]
    fn credentials_neither_load_nor_serialize() {
        let json = r#"{"cells":[{"id":1,"datasource":{"type":"remote","url":"http://p:9090","password":"hunter2","token":"t"}}]}"#;
        let nb = Notebook::from_json(json).unwrap();
        let out = nb.to_json_pretty().unwrap();
        assert!(!out.contains("hunter2"));
        assert!(!out.contains("token"));
        let err = Notebook::from_json(
            r#"{"cells":[{"id":1,"datasource":{"type":"remote","url":"https://u:hunter2@p:9090/"}}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, ModelError::CredentialsInUrl { cell: 1 }));
        assert!(!err.to_string().contains("hunter2"));
        assert!(matches!(
            Notebook::from_json(
                r#"{"cells":[{"datasource":{"type":"remote","url":"file:///etc"}}]}"#
            ),
            Err(ModelError::InvalidUrl { .. })
        ));
        // An @ after the authority is not a credential.
        assert!(
            Notebook::from_json(
                r#"{"cells":[{"datasource":{"type":"remote","url":"http://p/a@b"}}]}"#
            )
            .is_ok()
        );
    }

    #[test]
    fn invalid_documents() {
        assert!(matches!(
            Notebook::from_json(r#"{"schemaVersion":2}"#),
            Err(ModelError::UnsupportedSchema { found: 2, .. })
        ));
        assert!(matches!(
            Notebook::from_json(r#"{"cells":[{"id":1},{"id":1}]}"#),
            Err(ModelError::DuplicateCellId(1))
        ));
        assert!(matches!(
            Notebook::from_json(r#"{"cells":[{"targets":[{"refId":"A"},{"refId":"A"}]}]}"#),
            Err(ModelError::DuplicateRefId { .. })
        ));
        assert!(matches!(
            Notebook::from_json(r#"{"cells":[{"panel":{"kind":"piechart"}}]}"#),
            Err(ModelError::Json(_))
        ));
        assert!(matches!(
            Notebook::from_json("[1,"),
            Err(ModelError::Json(_))
        ));
        let deep = format!(
            "{{\"unknown\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        // Deep nesting neither overflows the stack nor loads: ignored fields are skipped
        // without recursion, and known fields stop at the first wrong type (or at serde_json's
        // recursion limit of 128).
        assert!(Notebook::from_json(&deep).is_ok());
        let deep_cells = format!(
            "{{\"cells\":[{{\"panel\":{}{}}}]}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(
            Notebook::from_json(&deep_cells),
            Err(ModelError::Json(_))
        ));
        let deep_map = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert!(matches!(
            Notebook::from_json(&deep_map),
            Err(ModelError::Json(_))
        ));
        let big = format!("{{\"title\":\"{}\"}}", "x".repeat(MAX_JSON_BYTES));
        assert!(matches!(
            Notebook::from_json(&big),
            Err(ModelError::TooLarge { .. })
        ));
    }

    #[test]
    fn ref_ids() {
        assert_eq!(next_ref_id([]), "A");
        assert_eq!(next_ref_id(["A", "C"]), "B");
        let all: Vec<String> = (0..26).map(ref_id_for).collect();
        assert_eq!(next_ref_id(all.iter().map(String::as_str)), "AA");
        assert_eq!(ref_id_for(27), "AB");
        assert_eq!(ref_id_for(26 * 27), "AAA");
        let mut cell = Cell::default();
        cell.add_target("b");
        cell.add_target("c");
        let ids: Vec<&str> = cell.targets.iter().map(|t| t.ref_id.as_str()).collect();
        assert_eq!(ids, ["A", "B", "C"]);
    }

    #[test]
    fn cell_ids_and_grid() {
        let nb = sample();
        assert_eq!(nb.next_cell_id(), 9);
        assert_eq!(Notebook::default().next_cell_id(), 1);
        assert_eq!(nb.cell(8).map(|c| c.id), Some(8));
        let g = GridPos {
            x: 20,
            y: 3,
            w: 30,
            h: 0,
        }
        .normalized();
        assert_eq!((g.x, g.y, g.w, g.h), (0, 3, 24, 1));
        let g = GridPos {
            x: 20,
            y: 0,
            w: 8,
            h: 4,
        }
        .normalized();
        assert_eq!((g.x, g.w), (16, 8));
    }
}
