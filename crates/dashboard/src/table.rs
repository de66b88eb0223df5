//! Instant results as a table, as Grafana's Prometheus `format: table` lays them out: a `Time`
//! column, one column per label name (sorted, `__name__` included), and the value — `Value`
//! for one query, `Value #A`, `Value #B`, … when several queries are merged, their rows joined
//! on equal label sets.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::shape::InstantFrame;

/// Errors of table operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// A column index past the last column.
    #[error("no column {index}: the table has {count} columns")]
    NoSuchColumn {
        /// The index asked for.
        index: usize,
        /// How many columns there are.
        count: usize,
    },
}

/// One table cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "value")]
pub enum TableCell {
    /// Nothing (a label the row lacks, a missing or non-finite value).
    Empty,
    /// Epoch milliseconds.
    Time(i64),
    /// A label value.
    Text(String),
    /// A finite value.
    Number(f64),
}

/// Rows under named columns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<TableCell>>,
}

/// The table of an instant frame: one row per label set (series of different queries with
/// equal labels share a row), in order of first appearance.
pub fn table_from_instant(frame: &InstantFrame) -> Table {
    let mut ref_ids: Vec<&str> = Vec::new();
    for s in &frame.series {
        if !ref_ids.contains(&s.ref_id.as_str()) {
            ref_ids.push(&s.ref_id);
        }
    }
    let label_names: BTreeSet<&str> = frame
        .series
        .iter()
        .flat_map(|s| s.labels.iter().map(|(k, _)| k.as_str()))
        .collect();
    let mut columns = vec!["Time".to_string()];
    columns.extend(label_names.iter().map(|n| n.to_string()));
    if ref_ids.len() <= 1 {
        columns.push("Value".to_string());
    } else {
        columns.extend(ref_ids.iter().map(|r| format!("Value #{r}")));
    }

    let first_value = 1 + label_names.len();
    let mut rows: Vec<Vec<TableCell>> = Vec::new();
    let mut row_of: HashMap<&[(String, String)], usize> = HashMap::new();
    for s in &frame.series {
        let row = *row_of.entry(&s.labels).or_insert_with(|| {
            let mut cells = Vec::with_capacity(columns.len());
            cells.push(TableCell::Time(s.time_ms));
            for name in &label_names {
                cells.push(
                    s.labels
                        .iter()
                        .find(|(k, _)| k == name)
                        .map_or(TableCell::Empty, |(_, v)| TableCell::Text(v.clone())),
                );
            }
            cells.resize(columns.len(), TableCell::Empty);
            rows.push(cells);
            rows.len() - 1
        });
        let col = first_value
            + ref_ids
                .iter()
                .position(|r| *r == s.ref_id)
                .unwrap_or_default();
        if let Some(cell) = rows.get_mut(row).and_then(|r| r.get_mut(col)) {
            *cell = s.value.map_or(TableCell::Empty, TableCell::Number);
        }
    }
    Table { columns, rows }
}

impl Table {
    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Sorts the rows by a column (stable): numbers and times numerically, text lexically —
    /// or numerically when both texts are numbers (`le`, status codes); empty cells last in
    /// either direction.
    pub fn sort_by(&mut self, column: usize, descending: bool) -> Result<(), TableError> {
        if column >= self.columns.len() {
            return Err(TableError::NoSuchColumn {
                index: column,
                count: self.columns.len(),
            });
        }
        self.rows.sort_by(|a, b| {
            let (a, b) = (a.get(column), b.get(column));
            let empty = |c: Option<&TableCell>| matches!(c, None | Some(TableCell::Empty));
            match (empty(a), empty(b)) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    let o = compare(a, b);
                    if descending { o.reverse() } else { o }
                }
            }
        });
        Ok(())
    }
}

fn numeric(c: Option<&TableCell>) -> Option<f64> {
    match c? {
        TableCell::Number(v) => Some(*v),
        TableCell::Time(t) => Some(*t as f64),
        TableCell::Text(s) => lookout_promql::store::parse_float(s)
            .ok()
            .filter(|v| !v.is_nan()),
        TableCell::Empty => None,
    }
}

fn compare(a: Option<&TableCell>, b: Option<&TableCell>) -> Ordering {
    if let (Some(x), Some(y)) = (numeric(a), numeric(b)) {
        return x.total_cmp(&y);
    }
    let text = |c: Option<&TableCell>| match c {
        Some(TableCell::Text(s)) => s.clone(),
        Some(TableCell::Number(v)) => v.to_string(),
        Some(TableCell::Time(t)) => t.to_string(),
        _ => String::new(),
    };
    text(a).cmp(&text(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::InstantSeries;

    fn series(ref_id: &str, labels: &[(&str, &str)], value: Option<f64>) -> InstantSeries {
        InstantSeries {
            ref_id: ref_id.into(),
            name: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            time_ms: 1_000,
            value,
        }
    }

    fn text(s: &str) -> TableCell {
        TableCell::Text(s.into())
    }

    #[test]
    fn one_query() {
        let f = InstantFrame {
            series: vec![
                series("A", &[("__name__", "up"), ("job", "b")], Some(1.0)),
                series("A", &[("instance", "x"), ("job", "a")], None),
            ],
        };
        let t = table_from_instant(&f);
        assert_eq!(t.columns, ["Time", "__name__", "instance", "job", "Value"]);
        assert_eq!(
            t.rows[0],
            vec![
                TableCell::Time(1_000),
                text("up"),
                TableCell::Empty,
                text("b"),
                TableCell::Number(1.0)
            ]
        );
        assert_eq!(t.rows[1][1], TableCell::Empty);
        assert_eq!(t.rows[1][4], TableCell::Empty);
    }

    #[test]
    fn several_queries_join_on_labels() {
        let f = InstantFrame {
            series: vec![
                series("A", &[("job", "a")], Some(1.0)),
                series("A", &[("job", "b")], Some(2.0)),
                series("B", &[("job", "b")], Some(20.0)),
                series("B", &[("job", "c")], Some(30.0)),
            ],
        };
        let t = table_from_instant(&f);
        assert_eq!(t.columns, ["Time", "job", "Value #A", "Value #B"]);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(
            t.rows[1][2..],
            [TableCell::Number(2.0), TableCell::Number(20.0)]
        );
        assert_eq!(t.rows[2][2..], [TableCell::Empty, TableCell::Number(30.0)]);
        assert_eq!(
            table_from_instant(&InstantFrame::default()).columns,
            ["Time", "Value"]
        );
    }

    #[test]
    fn sorting() {
        let f = InstantFrame {
            series: vec![
                series("A", &[("le", "10")], Some(5.0)),
                series("A", &[("le", "+Inf")], None),
                series("A", &[("le", "9")], Some(-1.0)),
                series("A", &[("le", "0.5")], Some(30.0)),
            ],
        };
        let mut t = table_from_instant(&f);
        let value = t.column_index("Value").unwrap();
        t.sort_by(value, false).unwrap();
        let vals: Vec<&TableCell> = t.rows.iter().map(|r| &r[value]).collect();
        assert_eq!(
            vals,
            [
                &TableCell::Number(-1.0),
                &TableCell::Number(5.0),
                &TableCell::Number(30.0),
                &TableCell::Empty
            ]
        );
        t.sort_by(value, true).unwrap();
        assert_eq!(t.rows[0][value], TableCell::Number(30.0));
        assert_eq!(t.rows[3][value], TableCell::Empty);
        // Numeric label values compare as numbers: 0.5 < 9 < 10 < +Inf.
        let le = t.column_index("le").unwrap();
        t.sort_by(le, false).unwrap();
        let les: Vec<&TableCell> = t.rows.iter().map(|r| &r[le]).collect();
        assert_eq!(les, [&text("0.5"), &text("9"), &text("10"), &text("+Inf")]);
        assert!(t.sort_by(99, false).is_err());
    }

    #[test]
    fn text_sorts_lexically() {
        let mut t = Table {
            columns: vec!["job".into()],
            rows: vec![vec![text("web")], vec![text("api")], vec![text("10x")]],
        };
        t.sort_by(0, false).unwrap();
        assert_eq!(
            t.rows,
            vec![vec![text("10x")], vec![text("api")], vec![text("web")]]
        );
    }
}
