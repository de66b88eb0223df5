//! The dashboard document: a titled 24-column grid of panels (notebook [`Cell`]s with a
//! [`GridPos`]), collapsible rows, one time range and refresh, template variables, and what
//! an imported Grafana dashboard carried that Lookout does not model (kept, written back on
//! export).
//!
//! Lookout's own JSON is versioned: [`DASHBOARD_SCHEMA`] is written, and [`Dashboard::from_json`]
//! migrates older documents step by step first ([`migrate`]), so files written today open
//! later. Schema 1 is the notebook document (`cells`), so a notebook file opens as a
//! dashboard.
//!
//! Layout follows Grafana's grid (`public/app/features/dashboard/state/DashboardModel.ts`):
//! positions are absolute with every row expanded; a collapsed row hides the panels between it
//! and the next row, and what follows moves up by their height ([`Dashboard::layout`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{
    Cell, DataSourceRef, GRID_COLUMNS, GridPos, MAX_JSON_BYTES, ModelError, check_remote_url,
};
use crate::time::TimeRange;
use crate::variables::Variable;

/// The dashboard schema this crate writes.
pub const DASHBOARD_SCHEMA: u32 = 2;
/// Grafana's limit for a uid, kept so uids are safe file names and URL segments everywhere.
pub const MAX_UID_LEN: usize = 40;

/// Errors of reading and validating a dashboard.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// Too large, not JSON, or a notebook-level problem (ids, URLs).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The top level is not a JSON object.
    #[error("a dashboard is a JSON object")]
    NotAnObject,
    /// Written by a newer Lookout.
    #[error("dashboard schema version {found} is newer than the supported {supported}")]
    UnsupportedSchema {
        /// The document's version.
        found: u64,
        /// [`DASHBOARD_SCHEMA`].
        supported: u32,
    },
    /// A uid that is not 1–40 of `A-Z a-z 0-9 - _` (it names a file and a URL).
    #[error("invalid dashboard uid {0:?}: use 1 to 40 letters, digits, '-' or '_'")]
    InvalidUid(String),
    /// Two panels or rows share an id.
    #[error("duplicate panel id {0}")]
    DuplicatePanelId(u64),
    /// Two variables share a name.
    #[error("duplicate variable name {0:?}")]
    DuplicateVariable(String),
    /// A variable name that cannot be referenced (`$name` needs `\w+`).
    #[error("invalid variable name {0:?}: use letters, digits and '_'")]
    InvalidVariableName(String),
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Dashboard {
    /// [`DASHBOARD_SCHEMA`] when written by this crate.
    pub schema_version: u32,
    /// Stable identifier: 1–40 of `A-Za-z0-9-_` (a file name on the server, a URL segment).
    pub uid: String,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Tags, for search.
    pub tags: Vec<String>,
    /// Incremented by every save to a store; a save carrying an older version is refused
    /// (optimistic concurrency).
    pub version: u64,
    /// The time range of every panel (panels may override it: relative time, time shift).
    pub time: TimeRange,
    /// Auto refresh (`10s`, `1m`; `None` = off).
    pub refresh: Option<String>,
    /// Where panels with [`DataSourceRef::Dashboard`] query.
    pub datasource: DataSourceRef,
    /// Template variables, in the order of the variables bar.
    pub variables: Vec<Variable>,
    /// Rows: a row starts at its `y` and holds the panels down to the next row.
    pub rows: Vec<Row>,
    /// The panels, positions absolute with every row expanded.
    pub panels: Vec<Cell>,
    /// What an imported Grafana dashboard carried that Lookout does not model (annotations,
    /// links, `timepicker`, `graphTooltip`, `__inputs`, …), written back on export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana: Option<Map<String, Value>>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self {
            schema_version: DASHBOARD_SCHEMA,
            uid: String::new(),
            title: String::new(),
            description: String::new(),
            tags: Vec::new(),
            version: 0,
            time: TimeRange::default(),
            refresh: None,
            datasource: DataSourceRef::Page,
            variables: Vec::new(),
            rows: Vec::new(),
            panels: Vec::new(),
            grafana: None,
        }
    }
}

/// A row of the grid (Grafana's `row` panel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Row {
    /// Shares the panels' id space.
    pub id: u64,
    /// Title (may use variables).
    pub title: String,
    /// The grid row it starts at (a row is 24 wide and 1 high).
    pub y: u32,
    /// Its panels are hidden.
    pub collapsed: bool,
    /// Repeat the row for each value of this variable (kept for Grafana; Lookout draws one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<String>,
}

impl Default for Row {
    fn default() -> Self {
        Self {
            id: 0,
            title: "Row title".to_string(),
            y: 0,
            collapsed: false,
            repeat: None,
        }
    }
}

/// One thing drawn on the grid, with its position after collapsed rows are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutItem {
    /// The row with this id, at display row `y`.
    Row {
        /// The row's id.
        id: u64,
        /// Display position.
        y: u32,
    },
    /// The panel with this id at this display position.
    Panel {
        /// The panel's id.
        id: u64,
        /// Display position.
        pos: GridPos,
    },
}

/// Migrates a Lookout document (a JSON object) to [`DASHBOARD_SCHEMA`] in place, one step per
/// version. Schema 1 (or no version with `cells`) is the notebook: its cells become panels,
/// two per grid row, 12 × 8 each, unless they carry a position.
pub fn migrate(doc: &mut Value) -> Result<(), DashboardError> {
    let obj = doc.as_object_mut().ok_or(DashboardError::NotAnObject)?;
    let mut version = obj
        .get("schemaVersion")
        .and_then(Value::as_u64)
        .unwrap_or(if obj.contains_key("cells") { 1 } else { 2 });
    if version > u64::from(DASHBOARD_SCHEMA) {
        return Err(DashboardError::UnsupportedSchema {
            found: version,
            supported: DASHBOARD_SCHEMA,
        });
    }
    while version < u64::from(DASHBOARD_SCHEMA) {
        if version <= 1 {
            notebook_to_dashboard(obj);
        }
        version += 1;
    }
    obj.insert("schemaVersion".into(), Value::from(DASHBOARD_SCHEMA));
    Ok(())
}

/// Schema 1 → 2: `cells` → `panels` laid out two per grid row.
fn notebook_to_dashboard(obj: &mut Map<String, Value>) {
    let cells = match obj.remove("cells") {
        Some(Value::Array(cells)) => cells,
        _ => Vec::new(),
    };
    let mut panels = Vec::with_capacity(cells.len());
    for (i, mut cell) in cells.into_iter().enumerate() {
        if let Some(panel) = cell.get_mut("panel").and_then(Value::as_object_mut) {
            if panel.get("grid").is_none_or(Value::is_null) {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                panel.insert(
                    "grid".into(),
                    serde_json::json!({"x": (i % 2) * 12, "y": (i / 2).saturating_mul(8), "w": 12, "h": 8}),
                );
            }
        } else if let Some(cell) = cell.as_object_mut() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            cell.insert(
                "panel".into(),
                serde_json::json!({"grid": {"x": (i % 2) * 12, "y": (i / 2).saturating_mul(8), "w": 12, "h": 8}}),
            );
        }
        panels.push(cell);
    }
    obj.insert("panels".into(), Value::Array(panels));
}

/// Whether `uid` is 1–40 of `A-Za-z0-9-_`.
pub fn valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= MAX_UID_LEN
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A uid from a title: lower case, `-` for runs of other characters, at most 40; `dashboard`
/// when nothing is left.
pub fn uid_from_title(title: &str) -> String {
    let mut uid = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            uid.push(c.to_ascii_lowercase());
        } else if !uid.ends_with('-') && !uid.is_empty() {
            uid.push('-');
        }
        if uid.len() >= MAX_UID_LEN {
            break;
        }
    }
    let uid = uid.trim_end_matches('-').to_string();
    if uid.is_empty() {
        "dashboard".to_string()
    } else {
        uid
    }
}

impl Dashboard {
    /// Reads a Lookout dashboard (or notebook) document: at most 16 MiB, migrated to the
    /// current schema, then [`Dashboard::validate`]d.
    pub fn from_json(json: &str) -> Result<Self, DashboardError> {
        if json.len() > MAX_JSON_BYTES {
            return Err(ModelError::TooLarge {
                size: json.len(),
                max: MAX_JSON_BYTES,
            }
            .into());
        }
        let mut value: Value = serde_json::from_str(json).map_err(ModelError::Json)?;
        Self::from_value(&mut value)
    }

    /// [`Dashboard::from_json`] over parsed JSON (migrated in place).
    pub fn from_value(value: &mut Value) -> Result<Self, DashboardError> {
        migrate(value)?;
        let dashboard: Dashboard =
            serde_json::from_value(value.take()).map_err(ModelError::Json)?;
        dashboard.validate()?;
        Ok(dashboard)
    }

    /// Pretty-printed JSON with a stable key order (struct fields in declaration order, kept
    /// Grafana maps sorted), so a dashboard under git diffs small. Ends with a newline.
    pub fn to_json_pretty(&self) -> Result<String, DashboardError> {
        let mut s = serde_json::to_string_pretty(self).map_err(ModelError::Json)?;
        s.push('\n');
        Ok(s)
    }

    /// Checks what serde cannot: the uid (when set), unique panel and row ids, unique ref ids
    /// per panel, remote URLs without credentials, unique well-formed variable names.
    pub fn validate(&self) -> Result<(), DashboardError> {
        if !self.uid.is_empty() && !valid_uid(&self.uid) {
            return Err(DashboardError::InvalidUid(self.uid.clone()));
        }
        let mut ids = HashSet::new();
        for id in self
            .panels
            .iter()
            .map(|p| p.id)
            .chain(self.rows.iter().map(|r| r.id))
        {
            if !ids.insert(id) {
                return Err(DashboardError::DuplicatePanelId(id));
            }
        }
        for panel in &self.panels {
            let mut refs = HashSet::new();
            for t in &panel.targets {
                if !refs.insert(t.ref_id.as_str()) {
                    return Err(ModelError::DuplicateRefId {
                        cell: panel.id,
                        ref_id: t.ref_id.clone(),
                    }
                    .into());
                }
            }
            if let DataSourceRef::Remote { url } = &panel.datasource {
                check_remote_url(panel.id, url)?;
            }
        }
        if let DataSourceRef::Remote { url } = &self.datasource {
            check_remote_url(0, url)?;
        }
        let mut names = HashSet::new();
        for v in &self.variables {
            if v.name.is_empty() || !v.name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(DashboardError::InvalidVariableName(v.name.clone()));
            }
            if !names.insert(v.name.as_str()) {
                return Err(DashboardError::DuplicateVariable(v.name.clone()));
            }
        }
        Ok(())
    }

    /// An id no panel or row uses yet.
    pub fn next_id(&self) -> u64 {
        self.panels
            .iter()
            .map(|p| p.id)
            .chain(self.rows.iter().map(|r| r.id))
            .max()
            .map_or(1, |m| m.saturating_add(1))
    }

    /// The panel with this id.
    pub fn panel(&self, id: u64) -> Option<&Cell> {
        self.panels.iter().find(|p| p.id == id)
    }

    /// The panel with this id, mutable.
    pub fn panel_mut(&mut self, id: u64) -> Option<&mut Cell> {
        self.panels.iter_mut().find(|p| p.id == id)
    }

    /// A panel's grid position (Grafana's default when it has none).
    pub fn pos(&self, id: u64) -> Option<GridPos> {
        self.panel(id).map(|p| p.panel.grid.unwrap_or_default())
    }

    /// The bottom of the grid: the first row below every panel and row.
    pub fn bottom(&self) -> u32 {
        let panels = self.panels.iter().map(|p| {
            let g = p.panel.grid.unwrap_or_default();
            g.y.saturating_add(g.h)
        });
        let rows = self.rows.iter().map(|r| r.y.saturating_add(1));
        panels.chain(rows).max().unwrap_or(0)
    }

    /// Adds a panel (a notebook cell or a new one) below everything, with a fresh id when its
    /// own is taken; keeps its size. Returns the id.
    pub fn add_panel(&mut self, mut cell: Cell) -> u64 {
        if self.panel(cell.id).is_some() || self.rows.iter().any(|r| r.id == cell.id) {
            cell.id = self.next_id();
        }
        let g = cell.panel.grid.unwrap_or_default().normalized();
        let y = self.bottom();
        cell.panel.grid = Some(GridPos { x: 0, y, ..g });
        let id = cell.id;
        self.panels.push(cell);
        id
    }

    /// Adds a row below everything; returns its id.
    pub fn add_row(&mut self, title: &str) -> u64 {
        let id = self.next_id();
        let y = self.bottom();
        self.rows.push(Row {
            id,
            title: title.to_string(),
            y,
            ..Row::default()
        });
        id
    }

    /// Copies a panel (new id, placed to its right when it fits, else below it, pushing what
    /// is in the way down). Returns the copy's id.
    pub fn duplicate_panel(&mut self, id: u64) -> Option<u64> {
        let mut copy = self.panel(id)?.clone();
        let g = copy.panel.grid.unwrap_or_default().normalized();
        copy.id = self.next_id();
        let new_id = copy.id;
        let pos = if g.x + 2 * g.w <= GRID_COLUMNS {
            GridPos { x: g.x + g.w, ..g }
        } else {
            GridPos {
                y: g.y.saturating_add(g.h),
                ..g
            }
        };
        copy.panel.grid = Some(pos);
        self.panels.push(copy);
        self.resolve_overlaps(new_id);
        Some(new_id)
    }

    /// Removes a panel; `false` when there is none.
    pub fn remove_panel(&mut self, id: u64) -> bool {
        let before = self.panels.len();
        self.panels.retain(|p| p.id != id);
        self.panels.len() != before
    }

    /// Removes a row; its panels stay (they join the row above), as Grafana's "Row only".
    pub fn remove_row(&mut self, id: u64) -> bool {
        let before = self.rows.len();
        self.rows.retain(|r| r.id != id);
        self.rows.len() != before
    }

    /// Moves and/or resizes a panel (fitted into the grid), then pushes overlapped panels
    /// down, as Grafana's grid does. `false` when there is no such panel.
    pub fn set_pos(&mut self, id: u64, pos: GridPos) -> bool {
        let Some(panel) = self.panel_mut(id) else {
            return false;
        };
        panel.panel.grid = Some(pos.normalized());
        self.resolve_overlaps(id);
        true
    }

    /// Pushes every panel that overlaps `fixed` (and, in turn, what those overlap) down.
    fn resolve_overlaps(&mut self, fixed: u64) {
        let mut moved = vec![fixed];
        let mut guard = 0usize;
        while let Some(anchor) = moved.pop() {
            guard += 1;
            if guard > 100_000 {
                break;
            }
            let Some(a) = self.pos(anchor) else { continue };
            for p in &mut self.panels {
                if p.id == anchor {
                    continue;
                }
                let g = p.panel.grid.unwrap_or_default();
                if overlaps(a, g) {
                    p.panel.grid = Some(GridPos {
                        y: a.y.saturating_add(a.h),
                        ..g
                    });
                    moved.push(p.id);
                }
            }
        }
    }

    /// The row a panel belongs to: the last row at or above its top edge.
    pub fn row_of(&self, id: u64) -> Option<u64> {
        let y = self.pos(id)?.y;
        self.rows
            .iter()
            .filter(|r| r.y <= y)
            .max_by_key(|r| r.y)
            .map(|r| r.id)
    }

    /// Collapses or expands a row; `false` when there is none.
    pub fn toggle_row(&mut self, id: u64) -> bool {
        match self.rows.iter_mut().find(|r| r.id == id) {
            Some(r) => {
                r.collapsed = !r.collapsed;
                true
            }
            None => false,
        }
    }

    /// The spans collapsed rows hide (`[start, end)` in absolute grid rows) and, for each, from
    /// which absolute row on everything moves up and by how much.
    fn collapsed_spans(&self) -> Vec<(u32, u32, u32)> {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| (r.y, r.id));
        let mut spans = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if !r.collapsed {
                continue;
            }
            let end = rows.get(i + 1).map_or(u32::MAX, |n| n.y);
            let start = r.y.saturating_add(1);
            let content_end = self
                .panels
                .iter()
                .map(|p| p.panel.grid.unwrap_or_default())
                .filter(|g| g.y >= start && g.y < end)
                .map(|g| g.y.saturating_add(g.h))
                .max()
                .unwrap_or(start);
            let amount = content_end.min(end).saturating_sub(start);
            spans.push((start, end, amount));
        }
        spans
    }

    /// Where an absolute grid row is drawn once collapsed rows are applied.
    pub fn display_y(&self, y: u32) -> u32 {
        let up: u32 = self
            .collapsed_spans()
            .iter()
            .filter(|(_, end, _)| y >= *end)
            .map(|(_, _, a)| *a)
            .sum();
        y.saturating_sub(up)
    }

    /// The absolute grid row drawn at display row `y` (the inverse of [`Dashboard::display_y`]
    /// for rows that are drawn): below a collapsed row, what it hides is added back.
    pub fn absolute_y(&self, display: u32) -> u32 {
        let mut shift: u32 = 0;
        for (_, end, amount) in self.collapsed_spans() {
            // The row at `end` is drawn at `end - shift - amount`: at or below it, this span's
            // hidden rows lie above.
            if end == u32::MAX || display.saturating_add(shift).saturating_add(amount) < end {
                break;
            }
            shift = shift.saturating_add(amount);
        }
        display.saturating_add(shift)
    }

    /// Moves and/or resizes a panel to a position given in display rows (what the user sees
    /// and drags, collapsed rows applied), then pushes overlapped panels down.
    pub fn set_display_pos(&mut self, id: u64, pos: GridPos) -> bool {
        let y = self.absolute_y(pos.y);
        self.set_pos(id, GridPos { y, ..pos })
    }

    /// What is drawn and where: rows and the panels of expanded rows, with everything below a
    /// collapsed row moved up by the height of what it hides. Sorted top to bottom, left to
    /// right.
    pub fn layout(&self) -> Vec<LayoutItem> {
        let spans = self.collapsed_spans();
        let hidden = |y: u32| spans.iter().any(|(s, e, _)| y >= *s && y < *e);
        let mut items: Vec<LayoutItem> = self
            .rows
            .iter()
            .map(|r| LayoutItem::Row {
                id: r.id,
                y: self.display_y(r.y),
            })
            .collect();
        for p in &self.panels {
            let g = p.panel.grid.unwrap_or_default();
            if hidden(g.y) {
                continue;
            }
            items.push(LayoutItem::Panel {
                id: p.id,
                pos: GridPos {
                    y: self.display_y(g.y),
                    ..g
                },
            });
        }
        items.sort_by_key(|i| match i {
            LayoutItem::Row { id, y } => (*y, 0, 0, *id),
            LayoutItem::Panel { id, pos } => (pos.y, 1, pos.x, *id),
        });
        items
    }
}

fn overlaps(a: GridPos, b: GridPos) -> bool {
    a.x < b.x.saturating_add(b.w)
        && b.x < a.x.saturating_add(a.w)
        && a.y < b.y.saturating_add(b.h)
        && b.y < a.y.saturating_add(a.h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;

    fn cell(id: u64, x: u32, y: u32, w: u32, h: u32) -> Cell {
        let mut c = Cell {
            id,
            title: format!("p{id}"),
            ..Cell::default()
        };
        c.panel.grid = Some(GridPos { x, y, w, h });
        c
    }

    #[test]
    fn notebook_documents_open_as_dashboards() {
        let nb = r#"{"schemaVersion":1,"uid":"nb","title":"T","cells":[
            {"id":1,"targets":[{"expr":"up"}]},{"id":2},{"id":3,"panel":{"kind":"stat"}}]}"#;
        let d = Dashboard::from_json(nb).unwrap();
        assert_eq!(d.schema_version, DASHBOARD_SCHEMA);
        assert_eq!(d.panels.len(), 3);
        let pos: Vec<(u32, u32)> = d
            .panels
            .iter()
            .map(|p| {
                let g = p.panel.grid.unwrap();
                (g.x, g.y)
            })
            .collect();
        assert_eq!(pos, [(0, 0), (12, 0), (0, 8)]);
        assert_eq!(d.panels[0].targets[0].expr, "up");
        assert_eq!(d.panels[2].panel.kind, crate::PanelKind::Stat);
        // A document from a newer Lookout is refused, not misread.
        assert!(matches!(
            Dashboard::from_json(r#"{"schemaVersion":3}"#),
            Err(DashboardError::UnsupportedSchema { found: 3, .. })
        ));
        assert!(matches!(
            Dashboard::from_json("[]"),
            Err(DashboardError::NotAnObject)
        ));
    }

    #[test]
    fn round_trip_is_stable() {
        let mut d = Dashboard {
            uid: "abc_1-2".into(),
            title: "Model".into(),
            tags: vec!["ml".into()],
            ..Dashboard::default()
        };
        d.add_row("Latency");
        let mut c = cell(0, 0, 0, 8, 4);
        c.targets = vec![Target {
            expr: "up".into(),
            ..Target::default()
        }];
        d.add_panel(c);
        let json = d.to_json_pretty().unwrap();
        let back = Dashboard::from_json(&json).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.to_json_pretty().unwrap(), json);
        assert!(json.ends_with("}\n"));
    }

    #[test]
    fn uids_are_checked() {
        for bad in [
            "../x",
            "a/b",
            "",
            "x".repeat(41).as_str(),
            "é",
            "a b",
            "a.b",
        ] {
            let d = Dashboard {
                uid: bad.into(),
                ..Dashboard::default()
            };
            assert_eq!(d.validate().is_err(), !bad.is_empty(), "{bad:?}");
            assert!(!valid_uid(bad));
        }
        assert_eq!(uid_from_title("Model / Latency (p90)"), "model-latency-p90");
        assert_eq!(uid_from_title("***"), "dashboard");
        assert!(valid_uid(&uid_from_title(&"Ab ".repeat(40))));
    }

    #[test]
    fn ids_and_variables_are_checked() {
        let mut d = Dashboard::default();
        d.panels.push(cell(1, 0, 0, 12, 8));
        d.rows.push(Row {
            id: 1,
            ..Row::default()
        });
        assert!(matches!(
            d.validate(),
            Err(DashboardError::DuplicatePanelId(1))
        ));
        d.rows.clear();
        d.variables.push(Variable {
            name: "job".into(),
            ..Variable::default()
        });
        d.variables.push(Variable {
            name: "job".into(),
            ..Variable::default()
        });
        assert!(matches!(
            d.validate(),
            Err(DashboardError::DuplicateVariable(_))
        ));
        d.variables[1].name = "a-b".into();
        assert!(matches!(
            d.validate(),
            Err(DashboardError::InvalidVariableName(_))
        ));
    }

    #[test]
    fn grid_editing_pushes_overlaps_down() {
        let mut d = Dashboard::default();
        let a = d.add_panel(cell(1, 0, 0, 12, 8));
        let b = d.add_panel(cell(2, 0, 0, 12, 8));
        assert_eq!(d.pos(b).unwrap().y, 8);
        // Moving A onto B pushes B below A.
        assert!(d.set_pos(
            a,
            GridPos {
                x: 0,
                y: 4,
                w: 24,
                h: 8
            }
        ));
        assert_eq!(d.pos(b).unwrap().y, 12);
        // Duplicating a half-width panel puts the copy to its right; a full-width one below.
        let c = d.duplicate_panel(b).unwrap();
        assert_eq!((d.pos(c).unwrap().x, d.pos(c).unwrap().y), (12, 12));
        let e = d.duplicate_panel(a).unwrap();
        assert_eq!(d.pos(e).unwrap().y, 12);
        assert!(d.pos(b).unwrap().y >= 20);
        assert!(d.remove_panel(e));
        assert!(!d.remove_panel(e));
        // Positions are fitted into 24 columns.
        d.set_pos(
            a,
            GridPos {
                x: 30,
                y: 0,
                w: 40,
                h: 0,
            },
        );
        assert_eq!(
            d.pos(a).unwrap(),
            GridPos {
                x: 0,
                y: 0,
                w: 24,
                h: 1
            }
        );
    }

    #[test]
    fn collapsed_rows_hide_their_panels_and_pull_up_the_rest() {
        let mut d = Dashboard::default();
        d.rows.push(Row {
            id: 10,
            y: 0,
            ..Row::default()
        });
        d.panels.push(cell(1, 0, 1, 12, 8));
        d.panels.push(cell(2, 12, 1, 12, 6));
        d.rows.push(Row {
            id: 11,
            y: 9,
            ..Row::default()
        });
        d.panels.push(cell(3, 0, 10, 24, 5));
        assert_eq!(d.row_of(2), Some(10));
        assert_eq!(d.row_of(3), Some(11));
        assert_eq!(d.layout().len(), 5);
        assert!(d.toggle_row(10));
        let layout = d.layout();
        assert_eq!(
            layout,
            vec![
                LayoutItem::Row { id: 10, y: 0 },
                LayoutItem::Row { id: 11, y: 1 },
                LayoutItem::Panel {
                    id: 3,
                    pos: GridPos {
                        x: 0,
                        y: 2,
                        w: 24,
                        h: 5
                    }
                },
            ]
        );
        // Positions given in display rows (what a drag sees) land where they are drawn.
        assert_eq!(d.display_y(10), 2);
        assert_eq!(d.absolute_y(2), 10);
        assert_eq!(d.absolute_y(1), 9);
        assert_eq!(d.absolute_y(0), 0);
        assert!(d.set_display_pos(
            3,
            GridPos {
                x: 0,
                y: 4,
                w: 24,
                h: 5
            }
        ));
        assert_eq!(d.pos(3).unwrap().y, 12);
        assert!(d.layout().contains(&LayoutItem::Panel {
            id: 3,
            pos: GridPos {
                x: 0,
                y: 4,
                w: 24,
                h: 5
            }
        }));
        // Every drawn panel's display position maps back to its absolute one.
        for item in d.layout() {
            if let LayoutItem::Panel { id, pos } = item {
                assert_eq!(d.absolute_y(pos.y), d.pos(id).unwrap().y);
            }
        }
        // Two collapsed rows: each hides its span, display rows map back through both.
        let mut two = d.clone();
        two.rows.push(Row {
            id: 12,
            y: 17,
            collapsed: true,
            ..Row::default()
        });
        two.panels.push(cell(4, 0, 18, 12, 4));
        two.rows.push(Row {
            id: 13,
            y: 22,
            ..Row::default()
        });
        two.panels.push(cell(5, 0, 23, 12, 4));
        let drawn: Vec<(u64, u32)> = two
            .layout()
            .iter()
            .filter_map(|i| match i {
                LayoutItem::Panel { id, pos } => Some((*id, pos.y)),
                LayoutItem::Row { .. } => None,
            })
            .collect();
        assert_eq!(drawn, [(3, 4), (5, 11)]);
        for (id, y) in drawn {
            assert_eq!(two.absolute_y(y), two.pos(id).unwrap().y);
        }
        // The last row collapsed hides everything below it.
        d.toggle_row(10);
        d.toggle_row(11);
        assert!(
            !d.layout()
                .iter()
                .any(|i| matches!(i, LayoutItem::Panel { id: 3, .. }))
        );
    }
}
