//! Feeding the store from a metrics registry the way Prometheus scrapes a target: on an
//! interval, the registry's text exposition is read at one timestamp with the target's labels
//! (`job`, `instance`), and series that vanished since the last scrape get a staleness
//! marker. The page calls [`Scraper::scrape_if_due`] from a timer with
//! `Metrics::encode(Format::Text)`.

use std::collections::HashSet;

use crate::labels::Labels;
use crate::store::{IngestError, Storage, parse_sample_line, stale_nan};

#[derive(Debug, Clone)]
pub struct Scraper {
    interval_ms: i64,
    target: Vec<(String, String)>,
    last_series: HashSet<Labels>,
    last_scrape: Option<i64>,
}

impl Scraper {
    /// A scrape target: `interval_ms` between scrapes, `target` labels such as
    /// `[("job", "lookout"), ("instance", "page-1")]`.
    pub fn new(interval_ms: i64, target: &[(&str, &str)]) -> Self {
        Self {
            interval_ms: interval_ms.max(1),
            target: target
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            last_series: HashSet::new(),
            last_scrape: None,
        }
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    pub fn last_scrape(&self) -> Option<i64> {
        self.last_scrape
    }

    /// Whether a scrape is due at `now_ms`.
    pub fn due(&self, now_ms: i64) -> bool {
        self.last_scrape
            .is_none_or(|t| now_ms >= t + self.interval_ms)
    }

    /// Scrapes when due; returns the samples written (0 when not due).
    pub fn scrape_if_due(
        &mut self,
        storage: &mut Storage,
        exposition: impl FnOnce() -> String,
        now_ms: i64,
    ) -> Result<usize, IngestError> {
        if !self.due(now_ms) {
            return Ok(0);
        }
        self.scrape(storage, &exposition(), now_ms)
    }

    /// One scrape of `text` at `now_ms`: every sample with the target labels (labels already
    /// on a sample win, as with `honor_labels`), then staleness markers for the series the
    /// previous scrape had and this one has not.
    pub fn scrape(
        &mut self,
        storage: &mut Storage,
        text: &str,
        now_ms: i64,
    ) -> Result<usize, IngestError> {
        let mut seen = HashSet::new();
        let mut n = 0;
        for (no, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (mut labels, v) =
                parse_sample_line(line).map_err(|e| IngestError::Line(no + 1, e))?;
            for (k, val) in &self.target {
                if labels.get(k).is_none() {
                    labels.set(k, val);
                }
            }
            storage
                .append(&labels, now_ms, v)
                .map_err(|e| IngestError::Line(no + 1, e.to_string()))?;
            seen.insert(labels);
            n += 1;
        }
        for gone in self.last_series.difference(&seen) {
            // A series that vanished ends at once, not five minutes later.
            let _ = storage.append(gone, now_ms, stale_nan());
        }
        self.last_series = seen;
        self.last_scrape = Some(now_ms);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::value::Value;

    #[test]
    fn scrapes_on_interval_and_marks_vanished_series_stale() {
        let mut storage = Storage::new();
        let mut s = Scraper::new(15_000, &[("job", "lookout"), ("instance", "page-1")]);
        let text = "# TYPE up gauge\nup 1\ngone_soon{a=\"x\"} 5\n";
        assert_eq!(s.scrape_if_due(&mut storage, || text.into(), 0), Ok(2));
        assert_eq!(s.scrape_if_due(&mut storage, || text.into(), 10_000), Ok(0));
        assert_eq!(
            s.scrape_if_due(&mut storage, || "up 1\n".into(), 15_000),
            Ok(1)
        );
        let e = Engine::default();
        let at = |q: &str, t| match e.instant_query(&storage, q, t) {
            Ok(Value::Vector(v)) => v.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at("gone_soon", 10_000), 1);
        assert_eq!(at("gone_soon", 16_000), 0, "stale at the next scrape");
        assert_eq!(at("up{job=\"lookout\", instance=\"page-1\"}", 16_000), 1);
    }
}
