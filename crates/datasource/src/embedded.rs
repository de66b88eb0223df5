//! The embedded source: Lookout's own PromQL engine over an in-memory store of series and
//! metric metadata (the page's own metrics, or `lookout serve`'s store).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, RwLock};

use lookout_promql::value::QueryData;
use lookout_promql::{Engine, Labels, Scraper, Storage};

use crate::metadata::MetadataStore;
use crate::{InstantQuery, MetadataMap, QuerySource, RangeQuery, SeriesFilter, SourceError, api};

/// Series and what the targets said about them.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedStore {
    pub storage: Storage,
    pub metadata: MetadataStore,
}

impl EmbeddedStore {
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            metadata: MetadataStore::new(),
        }
    }

    /// One scrape of a target's exposition: samples through `scraper` (target labels,
    /// staleness), metadata from its `# TYPE`/`# HELP` lines. Returns the samples written.
    pub fn scrape(
        &mut self,
        scraper: &mut Scraper,
        exposition: &str,
        now_ms: i64,
    ) -> Result<usize, lookout_promql::store::IngestError> {
        self.metadata.ingest_exposition(exposition);
        scraper.scrape(&mut self.storage, exposition, now_ms)
    }

    /// Loads an exposition whose samples carry their own timestamps (OpenMetrics: unix
    /// seconds, as `promtool tsdb create-blocks-from openmetrics` reads them), e.g. recorded
    /// metrics to look at. Each series' samples must be in time order. Returns the samples
    /// written; the first bad line is an error naming it.
    pub fn backfill_openmetrics(&mut self, text: &str) -> Result<usize, BackfillError> {
        self.metadata.ingest_exposition(text);
        let mut n = 0;
        for (no, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: String| BackfillError {
                line: no + 1,
                message,
            };
            let (labels, rest) = lookout_promql::store::split_series(line).map_err(bad)?;
            let mut fields = rest.split_whitespace();
            let value = fields
                .next()
                .ok_or_else(|| bad("no value".into()))
                .and_then(|v| lookout_promql::store::parse_float(v).map_err(bad))?;
            let secs: f64 = fields
                .next()
                .ok_or_else(|| bad("no timestamp (backfill needs one per sample)".into()))?
                .parse()
                .map_err(|_| bad("bad timestamp".into()))?;
            if !secs.is_finite() {
                return Err(bad("bad timestamp".into()));
            }
            self.storage
                .append(&labels, (secs * 1000.0).round() as i64, value)
                .map_err(|e| bad(e.to_string()))?;
            n += 1;
        }
        Ok(n)
    }
}

/// A line a backfill could not load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct BackfillError {
    pub line: usize,
    pub message: String,
}

/// Shared access to an [`EmbeddedStore`]: `Rc<RefCell<_>>` in the page (one thread),
/// `Arc<RwLock<_>>` in the server.
pub trait StoreAccess {
    fn read<R>(&self, f: impl FnOnce(&EmbeddedStore) -> R) -> Result<R, SourceError>;
}

impl StoreAccess for Rc<RefCell<EmbeddedStore>> {
    fn read<R>(&self, f: impl FnOnce(&EmbeddedStore) -> R) -> Result<R, SourceError> {
        let store = self
            .try_borrow()
            .map_err(|_| SourceError::BadRequest("the store is being written".into()))?;
        Ok(f(&store))
    }
}

impl StoreAccess for Arc<RwLock<EmbeddedStore>> {
    fn read<R>(&self, f: impl FnOnce(&EmbeddedStore) -> R) -> Result<R, SourceError> {
        let store = RwLock::read(self)
            .map_err(|_| SourceError::BadRequest("the store is unavailable".into()))?;
        Ok(f(&store))
    }
}

/// The embedded engine as a [`QuerySource`].
#[derive(Debug, Clone)]
pub struct Embedded<A> {
    pub access: A,
    pub engine: Engine,
    pub name: String,
}

impl<A: StoreAccess> Embedded<A> {
    pub fn new(access: A, engine: Engine, name: impl Into<String>) -> Self {
        Self {
            access,
            engine,
            name: name.into(),
        }
    }
}

impl<A: StoreAccess> QuerySource for Embedded<A> {
    fn describe(&self) -> String {
        self.name.clone()
    }

    async fn instant(&self, q: &InstantQuery) -> Result<QueryData, SourceError> {
        self.access.read(|s| api::instant(&self.engine, s, q))?
    }

    async fn range(&self, q: &RangeQuery) -> Result<QueryData, SourceError> {
        self.access.read(|s| api::range(&self.engine, s, q))?
    }

    async fn label_names(&self, filter: &SeriesFilter) -> Result<Vec<String>, SourceError> {
        self.access.read(|s| api::label_names(s, filter))?
    }

    async fn label_values(
        &self,
        name: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, SourceError> {
        self.access.read(|s| api::label_values(s, name, filter))?
    }

    async fn series(&self, filter: &SeriesFilter) -> Result<Vec<Labels>, SourceError> {
        self.access.read(|s| api::series(s, filter))?
    }

    async fn metadata(&self, metric: Option<&str>) -> Result<MetadataMap, SourceError> {
        self.access.read(|s| s.metadata.query(metric, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on_ready as block_on;

    #[test]
    fn backfills_timestamped_samples_and_names_bad_lines() {
        let mut s = EmbeddedStore::default();
        let text = "# TYPE temp gauge\ntemp{room=\"a\"} 1 100\ntemp{room=\"a\"} 2 100.5\n# EOF\n";
        assert_eq!(s.backfill_openmetrics(text), Ok(2));
        assert_eq!(
            s.storage.series()[0].samples,
            vec![(100_000, 1.0), (100_500, 2.0)]
        );
        assert_eq!(
            s.metadata.query(Some("temp"), None)["temp"][0].kind,
            "gauge"
        );
        let e = s
            .backfill_openmetrics("temp{room=\"b\"} 1\n")
            .expect_err("no timestamp");
        assert_eq!(e.line, 1);
        let e = s
            .backfill_openmetrics("# x\ntemp{room=\"a\"} 3 50\n")
            .expect_err("out of order");
        assert_eq!(e.line, 2);
        assert!(s.backfill_openmetrics("temp{room=\"c} 1 1\n").is_err());
    }

    #[test]
    fn answers_through_the_interface_from_a_scrape() {
        let store = Rc::new(RefCell::new(EmbeddedStore::default()));
        let mut scraper = Scraper::new(1_000, &[("job", "lookout"), ("instance", "page-1")]);
        let text = "# HELP prediction_value Predictions.\n# TYPE prediction_value counter\n\
                    prediction_value_total{label=\"Cat\"} 3\nprediction_value_total{label=\"Dog\"} 4\n";
        for t in 0..5 {
            let n = store
                .borrow_mut()
                .scrape(&mut scraper, text, t * 1_000)
                .expect("scrape");
            assert_eq!(n, 2);
        }
        let src = Embedded::new(store.clone(), Engine::default(), "this page");
        let v = block_on(src.instant(&InstantQuery {
            query: "sum(prediction_value_total)".into(),
            time_ms: 4_000,
        }))
        .expect("query");
        let QueryData::Vector(v) = v else {
            panic!("{v:?}")
        };
        assert_eq!(v[0].value.value(), 7.0);
        let names =
            block_on(src.label_values("__name__", &SeriesFilter::default())).expect("names");
        assert_eq!(names, vec!["prediction_value_total"]);
        let labels = block_on(src.label_names(&SeriesFilter::metric("prediction_value_total")))
            .expect("labels");
        assert_eq!(labels, vec!["__name__", "instance", "job", "label"]);
        let meta = block_on(src.metadata(None)).expect("metadata");
        assert_eq!(meta["prediction_value"][0].kind, "counter");
        let err = block_on(src.instant(&InstantQuery {
            query: "sum(rate(x[5m])".into(),
            time_ms: 0,
        }))
        .expect_err("parse error");
        assert!(err.position().is_some(), "{err:?}");
        // A query while the store is being written fails cleanly, never panics.
        let guard = store.borrow_mut();
        assert!(block_on(src.label_names(&SeriesFilter::default())).is_err());
        drop(guard);
    }
}
