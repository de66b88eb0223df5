//! The grid: Grafana's old `rows[]` layout turned into grid positions, collapsed row panels
//! opened into Lookout's flat layout, and Lookout's layout folded back into Grafana's.
//!
//! - `rows[]` (schemaVersion < 16) follows `upgradeToGridLayout` in
//!   `public/app/features/dashboard/state/DashboardMigrator.ts`: a row's height in pixels
//!   (`"250px"` or a number; 250 when missing, at least 90) becomes
//!   `ceil(height / (GRID_CELL_HEIGHT 30 + GRID_CELL_VMARGIN 8))` grid rows; a panel's
//!   12-column `span` (4 when missing) becomes `w = span × 2`; panels fill the row left to right
//!   and wrap (`RowArea`); a panel's own `height` overrides the row's. Row panels are made when
//!   any row is collapsed, repeated or shows its title; a collapsed row carries its panels.
//!   Lookout's rows are one grid row high (Grafana's grid draws them so).
//! - A row panel with `panels` inside (collapsed) is opened as `DashboardModel.toggleRow`
//!   does: the panels move by the difference between the first one's `y` and the row's next
//!   grid row, and everything below moves down by their height. Lookout keeps the positions
//!   of the open layout and the row's `collapsed` flag. Unlike Grafana, which aligns the first
//!   panel *stored*, the topmost panel is aligned, so no panel lands above its row.
//! - Export does the inverse: a collapsed row carries the panels below it, at the positions
//!   they have when it is open, and what follows moves up by their height.

use lookout_dashboard::document::Row;
use lookout_dashboard::{Cell, GridPos};
use serde_json::{Map, Value, json};

use crate::error::ImportError;
use crate::json::{lenient_f64, str_of, truthy, type_name};

const GRID_CELL_HEIGHT: f64 = 30.0;
const GRID_CELL_VMARGIN: f64 = 8.0;
const COLUMNS: i64 = 24;
const DEFAULT_ROW_HEIGHT: f64 = 250.0;
const MIN_PANEL_HEIGHT: f64 = GRID_CELL_HEIGHT * 3.0;
/// Positions are kept below these (hostile input cannot overflow the grid arithmetic).
const MAX_Y: i64 = 10_000_000;
const MAX_H: i64 = 100_000;

/// A position in grid units (signed while rows are opened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Pos {
    pub(crate) fn grid(self) -> GridPos {
        let c = |v: i64| u32::try_from(v.clamp(0, i64::from(u32::MAX))).unwrap_or(0);
        GridPos {
            x: c(self.x),
            y: c(self.y),
            w: c(self.w),
            h: c(self.h),
        }
    }
}

/// A panel (or row) object of the document and where it was found.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub raw: Map<String, Value>,
    pub place: String,
}

/// A panel or row after the layout is flat.
#[derive(Debug, Clone)]
pub(crate) struct Flat {
    pub raw: Map<String, Value>,
    pub place: String,
    pub pos: Pos,
    /// `Some(collapsed)` for a row.
    pub row: Option<bool>,
}

/// `getGridHeight`: pixels → grid rows.
fn grid_height(px: f64) -> i64 {
    let px = if px.is_finite() {
        px
    } else {
        DEFAULT_ROW_HEIGHT
    };
    let px = px.max(MIN_PANEL_HEIGHT);
    ((px / (GRID_CELL_HEIGHT + GRID_CELL_VMARGIN)).ceil() as i64).clamp(1, MAX_H)
}

/// A height as the old layout wrote it: `"250px"`, `250`; `None` when falsy.
fn height_px(v: Option<&Value>) -> Option<f64> {
    if !truthy(v) {
        return None;
    }
    match v? {
        Value::String(s) => {
            let s = s.replace("px", "");
            // parseInt: leading digits.
            let digits: String = s
                .trim_start()
                .chars()
                .enumerate()
                .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
                .map(|(_, c)| c)
                .collect();
            Some(digits.parse::<f64>().unwrap_or(f64::NAN))
        }
        other => lenient_f64(other).or(Some(f64::NAN)),
    }
}

/// `RowArea`: the filled height of each column of one row of the old layout.
struct RowArea {
    area: [i64; COLUMNS as usize],
    y: i64,
    height: i64,
}

impl RowArea {
    fn col(&self, i: i64) -> i64 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.area.get(i))
            .copied()
            .unwrap_or(0)
    }

    fn add(&mut self, p: Pos) {
        for i in p.x..p.x.saturating_add(p.w) {
            let filled = p.y + p.h - self.y;
            if let Some(a) = usize::try_from(i).ok().and_then(|i| self.area.get_mut(i))
                && (*a == 0 || filled > *a)
            {
                *a = filled;
            }
        }
    }

    /// `getPanelPosition`: the free place from the right for a panel `w` wide, wrapping to a
    /// new line once.
    fn place(&mut self, w: i64, again: bool) -> Option<(i64, i64)> {
        let (mut start, mut end) = (None, None);
        for i in (0..COLUMNS).rev() {
            if self.height - self.col(i) > 0 {
                if end.is_none() {
                    end = Some(i);
                } else if i < COLUMNS - 1 && self.col(i) <= self.col(i + 1) {
                    start = Some(i);
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        match (start, end) {
            (Some(s), Some(e)) if e - s >= w - 1 => {
                let y = (s..COLUMNS).map(|i| self.col(i)).max().unwrap_or(0);
                Some((s, y))
            }
            _ if !again => {
                self.y = self.y.saturating_add(self.height);
                self.area = [0; COLUMNS as usize];
                self.place(w, true)
            }
            _ => None,
        }
    }
}

/// What the old layout turned into: top-level panels (row panels included) and what was lost.
pub(crate) struct Upgraded {
    pub panels: Vec<Node>,
    pub rows_created: usize,
    pub dropped: Vec<String>,
}

/// Keys of an old row that the grid conversion reads.
const ROW_KEYS: &[&str] = &[
    "title",
    "collapse",
    "showTitle",
    "repeat",
    "height",
    "panels",
];

/// `upgradeToGridLayout` over `rows[]`.
pub(crate) fn upgrade_rows(rows: &[Value]) -> Result<Upgraded, ImportError> {
    let mut rows_checked = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let o = r.as_object().ok_or_else(|| ImportError::WrongType {
            at: format!("rows[{i}]"),
            expected: "an object",
            found: type_name(r),
        })?;
        let panels: &[Value] = match o.get("panels") {
            None | Some(Value::Null) => &[],
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(ImportError::WrongType {
                    at: format!("rows[{i}].panels"),
                    expected: "an array",
                    found: type_name(other),
                });
            }
        };
        for (j, p) in panels.iter().enumerate() {
            if !p.is_object() {
                return Err(ImportError::WrongType {
                    at: format!("rows[{i}].panels[{j}]"),
                    expected: "an object",
                    found: type_name(p),
                });
            }
        }
        rows_checked.push((o, panels));
    }
    let max_id = rows_checked
        .iter()
        .flat_map(|(_, p)| p.iter())
        .filter_map(|p| p.get("id").and_then(Value::as_u64))
        .max()
        .unwrap_or(0);
    let mut next_row_id = max_id.saturating_add(1);
    let show_rows = rows_checked.iter().any(|(r, _)| {
        truthy(r.get("collapse")) || truthy(r.get("showTitle")) || truthy(r.get("repeat"))
    });
    let mut out = Upgraded {
        panels: Vec::new(),
        rows_created: 0,
        dropped: Vec::new(),
    };
    let mut other_keys: Vec<String> = Vec::new();
    let mut y = 0i64;
    for (i, (row, panels)) in rows_checked.into_iter().enumerate() {
        if truthy(row.get("repeatIteration")) {
            out.dropped.push(format!(
                "rows[{i}] (a repeated copy of a row; Grafana makes it again)"
            ));
            continue;
        }
        for k in row.keys() {
            if !ROW_KEYS.contains(&k.as_str()) && !other_keys.contains(k) {
                other_keys.push(k.clone());
            }
        }
        let row_h = grid_height(height_px(row.get("height")).unwrap_or(DEFAULT_ROW_HEIGHT));
        let collapsed = truthy(row.get("collapse"));
        let mut row_panel = None;
        if show_rows {
            let mut rp = Map::new();
            rp.insert("id".into(), Value::from(next_row_id));
            rp.insert("type".into(), Value::from("row"));
            rp.insert(
                "title".into(),
                row.get("title").cloned().unwrap_or(Value::from("")),
            );
            rp.insert("collapsed".into(), Value::Bool(collapsed));
            if let Some(r) = row.get("repeat").filter(|r| !r.is_null()) {
                rp.insert("repeat".into(), r.clone());
            }
            rp.insert(
                "gridPos".into(),
                json!({"x": 0, "y": y, "w": COLUMNS, "h": 1}),
            );
            rp.insert("panels".into(), Value::Array(Vec::new()));
            row_panel = Some(rp);
            out.rows_created += 1;
            next_row_id = next_row_id.saturating_add(1);
            y += 1;
        } else if str_of(row, "title").is_some_and(|t| !t.is_empty()) {
            out.dropped.push(format!(
                "rows[{i}].title (no row shows its title; Grafana drops it too)"
            ));
        }
        let mut area = RowArea {
            area: [0; COLUMNS as usize],
            y,
            height: row_h,
        };
        let mut children = Vec::new();
        for (j, p) in panels.iter().enumerate() {
            let Some(p) = p.as_object() else { continue };
            let mut p = p.clone();
            let span = p
                .get("span")
                .and_then(lenient_f64)
                .filter(|s| *s != 0.0)
                .unwrap_or(4.0);
            if let Some(min_span) = p.get("minSpan").and_then(lenient_f64) {
                // Scaled to 24 columns; Grafana's migration 17 makes it `maxPerRow`.
                p.insert(
                    "minSpan".into(),
                    crate::json::num((2.0 * min_span).min(24.0)),
                );
            }
            let w = (span.floor() as i64).saturating_mul(2).clamp(1, COLUMNS);
            let h = height_px(p.get("height")).map_or(row_h, grid_height);
            let (px, py) = area.place(w, false).unwrap_or((0, 0));
            y = area.y;
            let pos = Pos {
                x: px.min(COLUMNS - w),
                y: y + py,
                w,
                h,
            };
            area.add(pos);
            p.remove("span");
            p.insert(
                "gridPos".into(),
                json!({"x": pos.x, "y": pos.y, "w": pos.w, "h": pos.h}),
            );
            let node = Node {
                raw: p,
                place: format!("rows[{i}].panels[{j}]"),
            };
            if show_rows && collapsed {
                children.push(Value::Object(node.raw));
            } else {
                out.panels.push(node);
            }
        }
        if let Some(mut rp) = row_panel {
            if collapsed {
                rp.insert("panels".into(), Value::Array(children));
            }
            out.panels.push(Node {
                raw: rp,
                place: format!("rows[{i}]"),
            });
        }
        if !(show_rows && collapsed) {
            y += row_h;
        }
    }
    if !other_keys.is_empty() {
        out.dropped.push(format!(
            "old row keys {} (Grafana's grid migration drops them too)",
            other_keys.join(", ")
        ));
    }
    Ok(out)
}

/// A panel's `gridPos`, fitted into the grid (notes say what was adjusted); `None` without one.
fn read_pos(raw: &Map<String, Value>, place: &str, notes: &mut Vec<String>) -> Option<Pos> {
    let g = raw.get("gridPos")?.as_object()?;
    let field = |k: &str, default: f64| g.get(k).and_then(lenient_f64).unwrap_or(default);
    let (fx, fy, fw, fh) = (
        field("x", 0.0),
        field("y", 0.0),
        field("w", 6.0),
        field("h", 3.0),
    );
    let w = (fw.floor() as i64).clamp(1, COLUMNS);
    let pos = Pos {
        x: (fx.floor() as i64).clamp(0, COLUMNS - w),
        y: (fy.floor() as i64).clamp(0, MAX_Y),
        w,
        h: (fh.floor() as i64).clamp(1, MAX_H),
    };
    let exact = |v: f64, got: i64| v == got as f64;
    let integral = ["x", "y", "w", "h"]
        .iter()
        .all(|k| g.get(*k).is_some_and(Value::is_number));
    if !integral || !exact(fx, pos.x) || !exact(fy, pos.y) || !exact(fw, pos.w) || !exact(fh, pos.h)
    {
        notes.push(format!(
            "{place}: gridPos {} read as x {} y {} w {} h {}",
            Value::Object(g.clone()),
            pos.x,
            pos.y,
            pos.w,
            pos.h
        ));
    }
    Some(pos)
}

struct Item {
    raw: Map<String, Value>,
    place: String,
    pos: Option<Pos>,
    row: Option<bool>,
    children: Vec<Node>,
    seq: usize,
    owner: Option<usize>,
}

fn item(
    mut node: Node,
    seq: usize,
    owner: Option<usize>,
    notes: &mut Vec<String>,
) -> Result<Item, ImportError> {
    let is_row = str_of(&node.raw, "type") == Some("row");
    let mut children = Vec::new();
    if is_row {
        match node.raw.remove("panels") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for (i, c) in a.into_iter().enumerate() {
                    match c {
                        Value::Object(o) => children.push(Node {
                            raw: o,
                            place: format!("{}.panels[{i}]", node.place),
                        }),
                        other => {
                            return Err(ImportError::WrongType {
                                at: format!("{}.panels[{i}]", node.place),
                                expected: "an object",
                                found: type_name(&other),
                            });
                        }
                    }
                }
            }
            Some(other) => {
                return Err(ImportError::WrongType {
                    at: format!("{}.panels", node.place),
                    expected: "an array",
                    found: type_name(&other),
                });
            }
        }
    }
    let pos = read_pos(&node.raw, &node.place, notes);
    Ok(Item {
        row: is_row.then(|| truthy(node.raw.get("collapsed"))),
        raw: node.raw,
        place: node.place,
        pos,
        children,
        seq,
        owner,
    })
}

/// Places items without a position from `y` down, Grafana's default size (6 × 3; rows 24 × 1),
/// left to right. Returns the first free grid row below them.
fn pack(items: &mut [Item], mut y: i64) -> i64 {
    let (mut x, mut line) = (0i64, 0i64);
    for it in items.iter_mut() {
        let (w, h) = if it.row.is_some() {
            (COLUMNS, 1)
        } else {
            (6, 3)
        };
        if x + w > COLUMNS {
            y += line;
            x = 0;
            line = 0;
        }
        it.pos = Some(Pos { x, y, w, h });
        x += w;
        line = line.max(h);
    }
    y + line
}

fn sort_key(it: &Item) -> (i64, i64) {
    it.pos.map_or((i64::MAX, i64::MAX), |p| (p.y, p.x))
}

/// Opens every row that carries panels (see the module documentation) and returns panels and
/// rows with their positions in the open layout, top to bottom.
pub(crate) fn flatten(top: Vec<Node>, notes: &mut Vec<String>) -> Result<Vec<Flat>, ImportError> {
    let mut seq = 0usize;
    let mut list = Vec::with_capacity(top.len());
    for n in top {
        list.push(item(n, seq, None, notes)?);
        seq += 1;
    }
    let (mut list, mut unplaced): (Vec<Item>, Vec<Item>) =
        list.into_iter().partition(|i| i.pos.is_some());
    list.sort_by_key(sort_key);
    let mut i = 0;
    while i < list.len() {
        let Some(cur) = list.get_mut(i) else { break };
        if cur.children.is_empty() {
            i += 1;
            continue;
        }
        let row_y = cur.pos.map_or(0, |p| p.y);
        let owner = cur.seq;
        if cur.row == Some(false) {
            notes.push(format!(
                "{}: an open row that carried panels inside; they are placed under it",
                cur.place
            ));
        }
        let nodes = std::mem::take(&mut cur.children);
        let mut kids = Vec::with_capacity(nodes.len());
        for n in nodes {
            kids.push(item(n, seq, Some(owner), notes)?);
            seq += 1;
        }
        let (mut kids, mut loose): (Vec<Item>, Vec<Item>) =
            kids.into_iter().partition(|k| k.pos.is_some());
        kids.sort_by_key(sort_key);
        let y_diff = kids
            .first()
            .and_then(|k| k.pos)
            .map_or(0, |p| p.y - (row_y + 1));
        let mut y_max = row_y;
        for k in &mut kids {
            if let Some(p) = k.pos.as_mut() {
                p.y -= y_diff;
                y_max = y_max.max(p.y + p.h);
            }
        }
        if !loose.is_empty() {
            notes.push(format!(
                "{} panels of row {} had no gridPos: placed at its end (6 × 3)",
                loose.len(),
                owner
            ));
            y_max = y_max.max(pack(&mut loose, y_max.max(row_y + 1)));
        }
        kids.append(&mut loose);
        let push = (y_max - row_y - 1).max(0);
        let n = kids.len();
        let at = i + 1;
        list.splice(at..at, kids);
        for later in list.iter_mut().skip(at + n) {
            if let Some(p) = later.pos.as_mut() {
                p.y = p.y.saturating_add(push);
            }
        }
        i += 1;
    }
    if !unplaced.is_empty() {
        notes.push(format!(
            "{} panels had no gridPos: placed at the bottom (6 × 3, as Grafana sizes them)",
            unplaced.len()
        ));
        let bottom = list
            .iter()
            .filter_map(|i| i.pos)
            .map(|p| p.y + p.h)
            .max()
            .unwrap_or(0);
        pack(&mut unplaced, bottom);
        list.append(&mut unplaced);
    }
    list.sort_by_key(sort_key);
    // A panel on a row's own grid line (a hand edit): Lookout's rows own their line (and a
    // collapsed row would carry it, and Grafana would move it when opening the row), so it
    // goes just below; and below the next row too when that one follows at once.
    let row_lines: Vec<i64> = list
        .iter()
        .filter(|i| i.row.is_some())
        .filter_map(|i| i.pos.map(|p| p.y))
        .collect();
    let mut moved = false;
    for it in list.iter_mut().filter(|i| i.row.is_none()) {
        if let Some(p) = it.pos.as_mut()
            && row_lines.contains(&p.y)
        {
            while row_lines.contains(&p.y) {
                p.y += 1;
            }
            notes.push(format!(
                "{}: on a row's line; placed just below it",
                it.place
            ));
            moved = true;
        }
    }
    if moved {
        list.sort_by_key(sort_key);
    }
    // A collapsed row hides everything down to the next row in Lookout: if panels that are not
    // its own follow it (a hand-edited document), it is shown open instead.
    let mut current_row: Option<usize> = None;
    let mut open_rows = Vec::new();
    for (idx, it) in list.iter().enumerate() {
        if it.row.is_some() {
            current_row = (it.row == Some(true)).then_some(idx);
            continue;
        }
        if let Some(r) = current_row {
            let row_seq = list.get(r).map(|x| x.seq);
            if it.owner != row_seq {
                open_rows.push(r);
                current_row = None;
            }
        }
    }
    for r in open_rows {
        if let Some(row) = list.get_mut(r) {
            notes.push(format!(
                "{}: collapsed, but panels of its own follow it; shown open",
                row.place
            ));
            row.row = Some(false);
        }
    }
    Ok(list
        .into_iter()
        .map(|it| {
            let pos = it.pos.unwrap_or(Pos {
                x: 0,
                y: 0,
                w: 6,
                h: 3,
            });
            Flat {
                raw: it.raw,
                place: it.place,
                // Opening rows may push past the limit; what is written reads back the same.
                pos: Pos {
                    y: pos.y.clamp(0, MAX_Y),
                    ..pos
                },
                row: it.row,
            }
        })
        .collect())
}

/// One entry of Grafana's top-level `panels` on export.
pub(crate) enum Entry<'a> {
    /// A panel at this grid row.
    Panel(&'a Cell, u32),
    /// A row at this grid row, with the panels it carries when collapsed.
    Row(&'a Row, u32, Vec<(&'a Cell, u32)>),
}

/// Lookout's open layout folded into Grafana's (see the module documentation).
pub(crate) fn fold<'a>(rows: &'a [Row], panels: &'a [Cell]) -> Vec<Entry<'a>> {
    let mut rows: Vec<&Row> = rows.iter().collect();
    rows.sort_by_key(|r| (r.y, r.id));
    let mut panels: Vec<(&Cell, GridPos)> = panels
        .iter()
        .map(|c| (c, c.panel.grid.unwrap_or_default()))
        .collect();
    panels.sort_by_key(|(c, g)| (g.y, g.x, c.id));
    let owner = |y: u32| rows.iter().rposition(|r| r.y <= y);
    let mut out = Vec::new();
    for (c, g) in &panels {
        if owner(g.y).is_none() {
            out.push(Entry::Panel(c, g.y));
        }
    }
    let mut shift: u32 = 0;
    for (k, row) in rows.iter().enumerate() {
        let disp = row.y.saturating_sub(shift);
        let owned: Vec<(&Cell, GridPos)> = panels
            .iter()
            .filter(|(_, g)| owner(g.y) == Some(k))
            .copied()
            .collect();
        if row.collapsed && !owned.is_empty() {
            let kids: Vec<(&Cell, u32)> = owned
                .iter()
                .map(|(c, g)| (*c, g.y.saturating_sub(shift)))
                .collect();
            // What Grafana's toggleRow will do with them when the row opens.
            let first = kids.first().map_or(0, |(_, y)| i64::from(*y));
            let y_diff = first - (i64::from(disp) + 1);
            let y_max = owned
                .iter()
                .zip(&kids)
                .map(|((_, g), (_, y))| i64::from(*y) - y_diff + i64::from(g.h))
                .fold(i64::from(disp), i64::max);
            let push = (y_max - i64::from(disp) - 1).max(0);
            shift = shift.saturating_add(u32::try_from(push).unwrap_or(u32::MAX));
            out.push(Entry::Row(row, disp, kids));
        } else {
            out.push(Entry::Row(row, disp, Vec::new()));
            for (c, g) in owned {
                out.push(Entry::Panel(c, g.y.saturating_sub(shift)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_heights() {
        assert_eq!(grid_height(250.0), 7);
        assert_eq!(grid_height(50.0), 3);
        assert_eq!(grid_height(400.0), 11);
        assert_eq!(height_px(Some(&json!("250px"))), Some(250.0));
        assert_eq!(height_px(Some(&json!(300))), Some(300.0));
        assert_eq!(height_px(Some(&json!(""))), None);
    }

    #[test]
    fn old_rows_fill_left_to_right_and_wrap() {
        let rows = json!([
            {"title": "A", "showTitle": true, "height": "250px", "titleSize": "h6",
             "panels": [{"id": 1, "span": 6}, {"id": 2, "span": 6}, {"id": 3, "span": 4}]},
            {"title": "B", "collapse": true, "panels": [{"id": 4, "span": 12, "height": 400}]},
            {"title": "C", "panels": [{"id": 5}]}
        ]);
        let up = upgrade_rows(rows.as_array().unwrap()).unwrap();
        assert_eq!(up.rows_created, 3);
        let pos = |n: &Node| n.raw["gridPos"].clone();
        let ids: Vec<Value> = up.panels.iter().map(|n| n.raw["id"].clone()).collect();
        assert_eq!(
            ids,
            [
                json!(1),
                json!(2),
                json!(3),
                json!(6),
                json!(7),
                json!(5),
                json!(8)
            ]
        );
        assert_eq!(pos(&up.panels[0]), json!({"x": 0, "y": 1, "w": 12, "h": 7}));
        assert_eq!(
            pos(&up.panels[1]),
            json!({"x": 12, "y": 1, "w": 12, "h": 7})
        );
        // The third wraps under the first two.
        assert_eq!(pos(&up.panels[2]), json!({"x": 0, "y": 8, "w": 8, "h": 7}));
        assert_eq!(pos(&up.panels[3]), json!({"x": 0, "y": 0, "w": 24, "h": 1}));
        // The collapsed row carries its panel and takes one grid row.
        let b = &up.panels[4];
        assert_eq!(pos(b), json!({"x": 0, "y": 15, "w": 24, "h": 1}));
        assert_eq!(
            b.raw["panels"][0]["gridPos"],
            json!({"x": 0, "y": 16, "w": 24, "h": 11})
        );
        assert_eq!(pos(&up.panels[5]), json!({"x": 0, "y": 17, "w": 8, "h": 7}));
        assert!(up.dropped.iter().any(|d| d.contains("titleSize")));
        let mut notes = Vec::new();
        let flat = flatten(up.panels, &mut notes).unwrap();
        let got: Vec<(i64, i64, Option<bool>)> =
            flat.iter().map(|f| (f.pos.y, f.pos.h, f.row)).collect();
        assert_eq!(
            got,
            [
                (0, 1, Some(false)),
                (1, 7, None),
                (1, 7, None),
                (8, 7, None),
                (15, 1, Some(true)),
                (16, 11, None),
                (27, 1, Some(false)),
                (28, 7, None)
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn a_panel_on_a_rows_line_goes_below_it() {
        let node = |v: Value| Node {
            raw: v.as_object().cloned().unwrap_or_default(),
            place: "panels".into(),
        };
        let mut notes = Vec::new();
        let flat = flatten(
            vec![
                node(json!({"id": 2, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}})),
                node(json!({"id": 23, "type": "row", "collapsed": false,
                            "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}})),
                node(json!({"id": 24, "type": "row", "collapsed": false,
                            "gridPos": {"x": 0, "y": 1, "w": 24, "h": 1}})),
            ],
            &mut notes,
        )
        .expect("flatten");
        let ys: Vec<(Option<bool>, i64)> = flat.iter().map(|f| (f.row, f.pos.y)).collect();
        assert_eq!(ys, [(Some(false), 0), (Some(false), 1), (None, 2)]);
        assert!(
            notes.iter().any(|n| n.contains("on a row's line")),
            "{notes:?}"
        );
    }

    #[test]
    fn collapsed_rows_open_like_toggle_row() {
        let top = vec![
            json!({"type": "row", "id": 1, "collapsed": true, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
                   "panels": [{"id": 3, "gridPos": {"x": 12, "y": 40, "w": 12, "h": 5}},
                              {"id": 2, "gridPos": {"x": 0, "y": 38, "w": 12, "h": 4}}]}),
            json!({"type": "row", "id": 4, "collapsed": false, "gridPos": {"x": 0, "y": 1, "w": 24, "h": 1}, "panels": []}),
            json!({"id": 5, "gridPos": {"x": 0, "y": 2, "w": 24, "h": 3}}),
        ];
        let nodes = top
            .into_iter()
            .enumerate()
            .map(|(i, v)| Node {
                raw: v.as_object().cloned().unwrap(),
                place: format!("panels[{i}]"),
            })
            .collect();
        let mut notes = Vec::new();
        let flat = flatten(nodes, &mut notes).unwrap();
        let got: Vec<(Value, i64)> = flat
            .iter()
            .map(|f| (f.raw["id"].clone(), f.pos.y))
            .collect();
        // yDiff 37: panel 2 → 1, panel 3 → 3 (bottom 8); below moves down by 7.
        assert_eq!(
            got,
            [
                (json!(1), 0),
                (json!(2), 1),
                (json!(3), 3),
                (json!(4), 8),
                (json!(5), 9)
            ]
        );
    }
}
