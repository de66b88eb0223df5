//! What an import found, converted, kept and dropped.

use std::collections::BTreeMap;
use std::fmt;

/// Where the document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Grafana classic dashboard JSON with this `schemaVersion` (0 when it had none).
    Grafana {
        /// As written in the document.
        schema_version: u64,
    },
    /// Lookout's own dashboard (or notebook) JSON, read by `Dashboard::from_json`.
    Lookout,
}

impl Default for Source {
    fn default() -> Self {
        Source::Grafana { schema_version: 0 }
    }
}

/// A template variable as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableSummary {
    /// Its name.
    pub name: String,
    /// Grafana's `type` (`query`, `custom`, `adhoc`, …).
    pub kind: String,
    /// Kept as Grafana wrote it instead of becoming a Lookout variable (type Lookout does not
    /// model, or a name Lookout cannot reference).
    pub kept_raw: bool,
}

/// A Grafana 7 legacy alert kept on its panel (`Cell::alert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAlert {
    /// The panel's title.
    pub panel: String,
    /// The alert's `name`.
    pub name: String,
}

/// What one panel (or the dashboard) keeps for Grafana in its `grafana` map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// `dashboard` or `panel 12 "CPU"`.
    pub place: String,
    /// The Grafana panel type when Lookout cannot draw it (kept whole).
    pub unsupported_type: Option<String>,
    /// The kept keys: `seriesOverrides`, `fieldConfig.overrides`, `options.legend`,
    /// `targets[A].intervalFactor`, `transformations`, …
    pub keys: Vec<String>,
}

/// The import report. `Display` gives a compact multi-line summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Grafana (with its schema version) or Lookout.
    pub source: Source,
    /// The dashboard's title.
    pub title: String,
    /// Panels by Grafana type as found in the document (row panels included as `row`; the
    /// rows of an old `rows[]` layout are not panels and are counted in `rows_created`).
    pub panels_by_type: BTreeMap<String, usize>,
    /// Row panels made from an old `rows[]` layout (schemaVersion < 16).
    pub rows_created: usize,
    /// Prometheus queries imported as Lookout targets.
    pub queries: usize,
    /// Queries of other data sources, kept for Grafana and not run by Lookout.
    pub kept_queries: usize,
    /// The template variables, in order.
    pub variables: Vec<VariableSummary>,
    /// Legacy (Grafana 7) alerts kept on their panels.
    pub legacy_alerts: Vec<LegacyAlert>,
    /// What is kept for Grafana, per panel and for the dashboard.
    pub kept: Vec<Kept>,
    /// What was dropped: only what Grafana drops or regenerates itself (its database `id`,
    /// leftovers of repeated panels, keys of the old row layout).
    pub dropped: Vec<String>,
    /// Everything else worth knowing: assigned or renamed ref ids, a derived uid, migrations
    /// applied, values adjusted, data sources assumed.
    pub notes: Vec<String>,
}

impl Report {
    /// The number of panels in the document (row panels included).
    pub fn panel_count(&self) -> usize {
        self.panels_by_type.values().sum()
    }
}

fn join_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Source::Grafana { schema_version } => write!(
                f,
                "Grafana dashboard {:?} (schemaVersion {schema_version})",
                self.title
            )?,
            Source::Lookout => write!(f, "Lookout dashboard {:?}", self.title)?,
        }
        write!(f, ": {} panels", self.panel_count())?;
        if !self.panels_by_type.is_empty() {
            write!(f, " ({})", join_counts(&self.panels_by_type))?;
        }
        write!(f, ", {} queries", self.queries)?;
        if self.kept_queries > 0 {
            write!(f, " (+{} of other data sources, kept)", self.kept_queries)?;
        }
        if self.rows_created > 0 {
            write!(f, ", {} rows from the old row layout", self.rows_created)?;
        }
        writeln!(f)?;
        if !self.variables.is_empty() {
            let vars: Vec<String> = self
                .variables
                .iter()
                .map(|v| {
                    let kept = if v.kept_raw { ", kept" } else { "" };
                    format!("{} ({}{kept})", v.name, v.kind)
                })
                .collect();
            writeln!(f, "variables: {}", vars.join(", "))?;
        }
        if !self.legacy_alerts.is_empty() {
            let alerts: Vec<String> = self
                .legacy_alerts
                .iter()
                .map(|a| format!("{:?} on panel {:?}", a.name, a.panel))
                .collect();
            writeln!(f, "legacy alerts (kept): {}", alerts.join("; "))?;
        }
        let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
        let mut keys: BTreeMap<String, usize> = BTreeMap::new();
        let mut dashboard_keys: Vec<&str> = Vec::new();
        for k in &self.kept {
            if let Some(t) = &k.unsupported_type {
                *unsupported.entry(t.clone()).or_default() += 1;
                continue;
            }
            if k.place == "dashboard" {
                dashboard_keys.extend(k.keys.iter().map(String::as_str));
                continue;
            }
            for key in &k.keys {
                // `targets[A].step` counts as `targets.step`.
                let key = match key.split_once('[') {
                    Some((head, rest)) => {
                        let tail = rest.split_once(']').map_or("", |(_, t)| t);
                        format!("{head}{tail}")
                    }
                    None => key.clone(),
                };
                *keys.entry(key).or_default() += 1;
            }
        }
        if !dashboard_keys.is_empty() {
            writeln!(
                f,
                "kept for Grafana, dashboard: {}",
                dashboard_keys.join(", ")
            )?;
        }
        if !keys.is_empty() {
            let mut by_count: Vec<(&String, &usize)> = keys.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = by_count
                .iter()
                .take(12)
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            let more = by_count.len().saturating_sub(12);
            write!(f, "kept for Grafana, panels: {}", shown.join(", "))?;
            if more > 0 {
                write!(f, ", … ({more} more)")?;
            }
            writeln!(f)?;
        }
        if !unsupported.is_empty() {
            writeln!(
                f,
                "panels Lookout does not draw (kept whole): {}",
                join_counts(&unsupported)
            )?;
        }
        if !self.dropped.is_empty() {
            writeln!(f, "dropped: {}", self.dropped.join("; "))?;
        }
        for (i, note) in self.notes.iter().enumerate() {
            if i == 10 {
                writeln!(f, "note: … and {} more", self.notes.len() - 10)?;
                break;
            }
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}
