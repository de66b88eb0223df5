//! Metric metadata (`# TYPE`, `# HELP`, `# UNIT`) read from scraped expositions, answered
//! as Prometheus' `/api/v1/metadata` does: by metric family name, one entry per distinct
//! (type, help, unit), `untyped` reported as `unknown`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::MetadataMap;

/// One metadata entry of a metric family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricMetadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// What the store's targets said about their metric families. Bounded: at most
/// `MAX_FAMILIES` families and `MAX_ENTRIES_PER_FAMILY` distinct entries each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataStore {
    families: BTreeMap<String, BTreeSet<MetricMetadata>>,
}

const MAX_FAMILIES: usize = 20_000;
const MAX_ENTRIES_PER_FAMILY: usize = 16;
const MAX_HELP_BYTES: usize = 4_096;

#[derive(Default)]
struct Partial {
    kind: Option<String>,
    help: Option<String>,
    unit: Option<String>,
}

impl MetadataStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the `# HELP` / `# TYPE` / `# UNIT` lines of a text (0.0.4) or OpenMetrics
    /// exposition. Families with a TYPE or HELP line are recorded; sample lines are ignored.
    pub fn ingest_exposition(&mut self, text: &str) {
        let mut partial: BTreeMap<&str, Partial> = BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix('#') else {
                continue;
            };
            let rest = rest.trim_start();
            let (keyword, rest) = split_word(rest);
            let (name, value) = split_word(rest);
            if name.is_empty() {
                continue;
            }
            let entry = partial.entry(name).or_default();
            match keyword {
                "TYPE" => entry.kind = Some(normalise_type(value.trim())),
                "HELP" => entry.help = Some(unescape_help(value)),
                "UNIT" => entry.unit = Some(value.trim().to_string()),
                _ => {}
            }
        }
        for (name, p) in partial {
            if p.kind.is_none() && p.help.is_none() {
                continue;
            }
            let mut help = p.help.unwrap_or_default();
            if help.len() > MAX_HELP_BYTES {
                let mut cut = MAX_HELP_BYTES;
                while !help.is_char_boundary(cut) {
                    cut -= 1;
                }
                help.truncate(cut);
            }
            let meta = MetricMetadata {
                kind: p.kind.unwrap_or_else(|| "unknown".into()),
                help,
                unit: p.unit.unwrap_or_default(),
            };
            if !self.families.contains_key(name) && self.families.len() >= MAX_FAMILIES {
                continue;
            }
            let set = self.families.entry(name.to_string()).or_default();
            if set.len() < MAX_ENTRIES_PER_FAMILY || set.contains(&meta) {
                set.insert(meta);
            }
        }
    }

    /// Every family (or one), as `/api/v1/metadata` answers; `limit` caps the number of
    /// metrics (Prometheus' `limit` parameter).
    pub fn query(&self, metric: Option<&str>, limit: Option<usize>) -> MetadataMap {
        let pick = |(name, set): (&String, &BTreeSet<MetricMetadata>)| {
            (name.clone(), set.iter().cloned().collect::<Vec<_>>())
        };
        let all = self.families.iter().map(pick);
        match metric {
            Some(m) => all.filter(|(n, _)| n == m).collect(),
            None => all.take(limit.unwrap_or(usize::MAX)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.families.len()
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// Prometheus reports the text format's `untyped` as `unknown`.
fn normalise_type(t: &str) -> String {
    match t {
        "untyped" | "" => "unknown".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// HELP escapes: `\\`, `\n` (text format) and `\"` (OpenMetrics).
fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(c) => out.push(c),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_types_help_and_units_of_both_formats() {
        let mut m = MetadataStore::new();
        m.ingest_exposition(
            "# HELP inference_time Model time per image.\n# TYPE inference_time histogram\n\
             inference_time_bucket{le=\"0.1\"} 1\n# TYPE up untyped\nup 1\n\
             # HELP odd A \\\\ backslash and a\\nnewline\n# TYPE odd gauge\n",
        );
        m.ingest_exposition(
            "# TYPE prediction_value counter\n# HELP prediction_value Predictions per class.\n\
             # UNIT prediction_value predictions\n# EOF\n",
        );
        let all = m.query(None, None);
        assert_eq!(
            all["inference_time"],
            vec![MetricMetadata {
                kind: "histogram".into(),
                help: "Model time per image.".into(),
                unit: String::new(),
            }]
        );
        assert_eq!(all["up"][0].kind, "unknown");
        assert_eq!(all["odd"][0].help, "A \\ backslash and a\nnewline");
        assert_eq!(all["prediction_value"][0].unit, "predictions");
        assert_eq!(m.query(Some("up"), None).len(), 1);
        assert_eq!(m.query(None, Some(2)).len(), 2);
        assert!(m.query(Some("nope"), None).is_empty());
        // The same entry twice stays one; a different help is a second entry.
        m.ingest_exposition("# TYPE up untyped\n");
        m.ingest_exposition("# TYPE up gauge\n# HELP up other\n");
        assert_eq!(m.query(Some("up"), None)["up"].len(), 2);
    }

    #[test]
    fn stays_bounded_and_ignores_garbage() {
        let mut m = MetadataStore::new();
        m.ingest_exposition("#\n# TYPE\n#TYPE x\n# HELP\nnot a comment\n");
        assert_eq!(m.len(), 1, "only `x` has a name: {m:?}");
        for i in 0..40 {
            m.ingest_exposition(&format!("# TYPE y gauge\n# HELP y v{i}\n"));
        }
        assert_eq!(m.query(Some("y"), None)["y"].len(), MAX_ENTRIES_PER_FAMILY);
        let long = "é".repeat(5_000);
        m.ingest_exposition(&format!("# HELP z {long}\n"));
        assert!(m.query(Some("z"), None)["z"][0].help.len() <= MAX_HELP_BYTES);
    }
}
