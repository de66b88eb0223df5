//! The in-memory series store: series = label set (metric name included), samples =
//! (ms timestamp, f64) in time order, staleness markers as Prometheus writes them, and
//! retention limits so memory stays bounded.

use std::collections::HashMap;

use promql_parser::label::Matcher;

use crate::labels::{Labels, METRIC_NAME};

/// Prometheus' staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Bounds on what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Samples older than the newest sample minus this are dropped (ms).
    pub max_age_ms: i64,
    /// Most samples kept per series (oldest dropped first).
    pub max_samples_per_series: usize,
    /// Most series; appends that would create more are refused.
    pub max_series: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age_ms: 24 * 3600 * 1000,
            max_samples_per_series: 100_000,
            max_series: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredSeries {
    pub labels: Labels,
    /// `labels` without `__name__` (most functions drop it; computed once, not per step).
    pub labels_no_name: Labels,
    /// `(t_ms, value)`, strictly increasing in time.
    pub samples: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    #[error("out of order sample for {0} at {1} ms")]
    OutOfOrder(String, i64),
    #[error("sample at {0} ms is older than the retention window")]
    OutOfBounds(i64),
    #[error("series limit of {0} reached")]
    TooManySeries(usize),
    #[error("a series needs a metric name: {0}")]
    NoName(String),
}

#[derive(Debug, Clone)]
pub struct Storage {
    series: Vec<StoredSeries>,
    index: HashMap<Labels, usize>,
    retention: Retention,
    newest: i64,
}

impl Default for Storage {
    fn default() -> Self {
        Self::with_retention(Retention::default())
    }
}

impl Storage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_retention(retention: Retention) -> Self {
        Self {
            series: Vec::new(),
            index: HashMap::new(),
            retention,
            newest: i64::MIN,
        }
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    pub fn clear(&mut self) {
        self.series.clear();
        self.index.clear();
        self.newest = i64::MIN;
    }

    pub fn series(&self) -> &[StoredSeries] {
        &self.series
    }

    pub fn num_samples(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// Appends one sample; a sample at the same time as the last one replaces it.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        if labels.name().is_none() {
            return Err(AppendError::NoName(labels.to_string()));
        }
        if self.newest != i64::MIN && t < self.newest.saturating_sub(self.retention.max_age_ms) {
            return Err(AppendError::OutOfBounds(t));
        }
        let idx = match self.index.get(labels) {
            Some(i) => *i,
            None => {
                if self.series.len() >= self.retention.max_series {
                    return Err(AppendError::TooManySeries(self.retention.max_series));
                }
                self.series.push(StoredSeries {
                    labels: labels.clone(),
                    labels_no_name: labels.without_name(),
                    samples: Vec::new(),
                });
                self.index.insert(labels.clone(), self.series.len() - 1);
                self.series.len() - 1
            }
        };
        let s = &mut self.series[idx];
        match s.samples.last() {
            Some(&(last, _)) if t < last => {
                return Err(AppendError::OutOfOrder(labels.to_string(), t));
            }
            Some(&(last, _)) if t == last => {
                if let Some(l) = s.samples.last_mut() {
                    l.1 = v;
                }
            }
            _ => s.samples.push((t, v)),
        }
        if s.samples.len() > self.retention.max_samples_per_series {
            let extra = s.samples.len() - self.retention.max_samples_per_series;
            s.samples.drain(..extra);
        }
        if t > self.newest {
            self.newest = t;
            self.enforce_age();
        }
        Ok(())
    }

    /// Drops samples older than the retention window (cheap when nothing is old), and the
    /// series left with none: a store fed by targets that come and go (pages, workers)
    /// stays bounded by its retention, not by every series it ever saw.
    fn enforce_age(&mut self) {
        let min_t = self.newest.saturating_sub(self.retention.max_age_ms);
        let mut emptied = false;
        for s in &mut self.series {
            if s.samples.first().is_some_and(|&(t, _)| t < min_t) {
                let keep = s.samples.partition_point(|&(t, _)| t < min_t);
                s.samples.drain(..keep);
                emptied |= s.samples.is_empty();
            }
        }
        if emptied {
            self.series.retain(|s| !s.samples.is_empty());
            self.index = self
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.labels.clone(), i))
                .collect();
        }
    }

    /// Indices of the series matching every matcher of some alternative, in label order
    /// (as Prometheus' storage returns them: ties in `topk`, group order in aggregations).
    pub fn select(&self, alternatives: &[Vec<Matcher>]) -> Vec<usize> {
        let mut found: Vec<usize> = (0..self.series.len())
            .filter(|&i| {
                let l = &self.series[i].labels;
                alternatives
                    .iter()
                    .any(|ms| ms.iter().all(|m| matches(m, l)))
            })
            .collect();
        found.sort_by(|&a, &b| self.series[a].labels.cmp(&self.series[b].labels));
        found
    }

    pub fn get(&self, idx: usize) -> &StoredSeries {
        &self.series[idx]
    }
}

impl Storage {
    /// Every sample from `since_ms` on, as OpenMetrics text with timestamps (the form
    /// `promtool tsdb create-blocks-from openmetrics` and `lookout serve --backfill` read):
    /// how one store hands its history to another (the page to its notebook module).
    /// Staleness markers are left out.
    pub fn dump_openmetrics(&self, since_ms: i64) -> String {
        let mut out = String::new();
        for s in &self.series {
            let name = s.labels.name().unwrap_or("");
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|(k, _)| *k != METRIC_NAME)
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
                .collect();
            let labels = labels.join(",");
            let first = s.samples.partition_point(|&(t, _)| t < since_ms);
            for &(t, v) in &s.samples[first..] {
                if is_stale(v) {
                    continue;
                }
                let sign = if t < 0 { "-" } else { "" };
                let abs = t.unsigned_abs();
                out.push_str(&format!(
                    "{name}{{{labels}}} {} {sign}{}.{:03}\n",
                    crate::value::format_value(v),
                    abs / 1000,
                    abs % 1000
                ));
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// A label value as the exposition formats write it (`\\`, `\"`, `\n` escaped).
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod dump_tests {
    use super::*;

    #[test]
    fn a_dump_reads_back_as_the_same_samples() {
        let mut s = Storage::new();
        let odd = Labels::from_pairs(&[("__name__", "x"), ("v", "a \"q\" \\ b\nc")]);
        let plain = Labels::from_pairs(&[("__name__", "up")]);
        for t in [1_000, 2_500, 4_000] {
            s.append(&odd, t, t as f64 / 3.0).expect("append");
        }
        s.append(&plain, 4_000, f64::INFINITY).expect("append");
        s.append(&plain, 5_000, stale_nan()).expect("append");
        let text = s.dump_openmetrics(2_000);
        let mut back = Storage::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (labels, rest) = split_series(line).expect("series");
            let mut f = rest.split_whitespace();
            let v = parse_float(f.next().expect("value")).expect("float");
            let t: f64 = f.next().expect("timestamp").parse().expect("secs");
            back.append(&labels, (t * 1000.0).round() as i64, v)
                .expect("append");
        }
        let idx = back.select(&[vec![Matcher::new(
            promql_parser::label::MatchOp::Equal,
            "__name__",
            "x",
        )]]);
        let got = &back.get(idx[0]);
        assert_eq!(got.labels, odd);
        assert_eq!(
            got.samples,
            vec![(2_500, 2_500.0 / 3.0), (4_000, 4_000.0 / 3.0)]
        );
        assert_eq!(
            back.num_samples(),
            3,
            "the stale marker is left out: {text}"
        );
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn series_that_age_out_are_forgotten_and_their_slots_reused() {
        let mut s = Storage::with_retention(Retention {
            max_age_ms: 10_000,
            max_samples_per_series: 100,
            max_series: 3,
        });
        let l = |i: usize| Labels::from_pairs(&[("__name__", "x"), ("instance", &i.to_string())]);
        // A page every 20 s, each with its own instance: never more than the retention holds.
        for i in 0..50 {
            s.append(&l(i), i as i64 * 20_000, 1.0)
                .expect("append within the series limit");
        }
        assert_eq!(s.series().len(), 1);
        assert_eq!(s.series()[0].labels, l(49));
        // The index still finds the survivor and appends go to it.
        s.append(&l(49), 49 * 20_000 + 1, 2.0).expect("append");
        assert_eq!(s.series()[0].samples.len(), 2);
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    #[error("line {0}: {1}")]
    Line(usize, String),
}

/// Whether a label set satisfies one matcher (a missing label matches as "").
pub fn matches(m: &Matcher, labels: &Labels) -> bool {
    m.is_match(labels.get(&m.name).unwrap_or(""))
}

/// `name{a="b",c="d"} value [timestamp]` → labels and value (the timestamp is ignored: the
/// scrape time is used, as Prometheus does for exposition without timestamps).
pub fn parse_sample_line(line: &str) -> Result<(Labels, f64), String> {
    let (series, rest) = split_series(line)?;
    let value = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| format!("no value in {line:?}"))?;
    Ok((series, parse_float(value)?))
}

/// Splits `name{labels}` from what follows; the label block may hold spaces in values.
pub fn split_series(line: &str) -> Result<(Labels, &str), String> {
    let line = line.trim_start();
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    let mut pairs = Vec::new();
    if !name.is_empty() {
        pairs.push((METRIC_NAME.to_string(), name.to_string()));
    }
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_label_block(after)?;
        pairs.extend(parsed);
        rest = tail;
    }
    Ok((Labels::new(pairs), rest))
}

type Pairs = Vec<(String, String)>;

/// Parses `a="x", b="y"}` (the opening brace already consumed); returns the pairs and the
/// text after the closing brace.
fn parse_label_block(s: &str) -> Result<(Pairs, &str), String> {
    let mut pairs = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b',') {
            i += 1;
        }
        if i >= bytes.len() {
            return Err("unterminated label set".into());
        }
        if bytes[i] == b'}' {
            return Ok((pairs, &s[i + 1..]));
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b' ' {
            i += 1;
        }
        let name = s[start..i].to_string();
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            return Err(format!("expected = after label {name:?}"));
        }
        i += 1;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() || (bytes[i] != b'"' && bytes[i] != b'\'') {
            return Err(format!("expected quoted value for label {name:?}"));
        }
        let quote = char::from(bytes[i]);
        i += 1;
        let mut value = String::new();
        let mut chars = s[i..].char_indices();
        let mut closed = None;
        while let Some((off, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => break,
                },
                c if c == quote => {
                    closed = Some(off);
                    break;
                }
                c => value.push(c),
            }
        }
        let off = closed.ok_or_else(|| format!("unterminated value for label {name:?}"))?;
        i += off + 1;
        pairs.push((name, value));
    }
}

/// Prometheus' float syntax: decimals, exponents, `NaN`, `Inf`, `+Inf`, `-Inf`.
pub fn parse_float(s: &str) -> Result<f64, String> {
    match s.to_ascii_lowercase().as_str() {
        "nan" => Ok(f64::NAN),
        "inf" | "+inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => {
            if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                return i64::from_str_radix(hex, 16)
                    .map(|v| v as f64)
                    .map_err(|_| format!("bad number {s:?}"));
            }
            s.parse::<f64>().map_err(|_| format!("bad number {s:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::label::MatchOp;

    #[test]
    fn append_select_and_retention() {
        let mut s = Storage::with_retention(Retention {
            max_age_ms: 10_000,
            max_samples_per_series: 5,
            max_series: 2,
        });
        let a = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let b = Labels::from_pairs(&[("__name__", "up"), ("job", "b")]);
        for t in 0..8 {
            s.append(&a, t * 1000, t as f64).expect("append");
        }
        assert_eq!(s.get(0).samples.len(), 5, "per-series cap");
        s.append(&b, 20_000, 1.0).expect("b");
        assert_eq!(s.series().len(), 1, "a aged out and was forgotten");
        assert_eq!(s.get(0).labels, b);
        assert!(
            matches!(s.append(&a, 0, 1.0), Err(AppendError::OutOfBounds(0))),
            "older than retention"
        );
        assert!(
            matches!(s.append(&b, 19_000, 1.0), Err(AppendError::OutOfOrder(..))),
            "out of order"
        );
        let c = Labels::from_pairs(&[("__name__", "up"), ("job", "c")]);
        s.append(&c, 25_000, 1.0).expect("c takes a's place");
        let d = Labels::from_pairs(&[("__name__", "up"), ("job", "d")]);
        assert!(matches!(
            s.append(&d, 26_000, 1.0),
            Err(AppendError::TooManySeries(2))
        ));
        let m = Matcher::new(MatchOp::Equal, "job", "c");
        assert_eq!(s.select(&[vec![m]]), vec![1]);
    }

    #[test]
    fn parses_exposition_lines() {
        let (l, v) = parse_sample_line("x_total{label=\"Cat\",runtime=\"edge\"} 3").expect("ok");
        assert_eq!(
            (l.name(), l.get("runtime"), v),
            (Some("x_total"), Some("edge"), 3.0)
        );
        let (l, v) = parse_sample_line("up 1 1700000000").expect("timestamp ignored");
        assert_eq!((l.name(), v), (Some("up"), 1.0));
        let (l, v) = parse_sample_line("weird{v=\"a \\\"q\\\" }\"} +Inf").expect("escapes");
        assert_eq!((l.get("v"), v), (Some("a \"q\" }"), f64::INFINITY));
        assert!(parse_sample_line("x{a=\"1\" 2").is_err());
        assert!(parse_sample_line("x 1e").is_err());
        assert!(parse_sample_line("x{a=1} 2").is_err());
    }
}
