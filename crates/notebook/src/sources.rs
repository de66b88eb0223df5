//! The notebook's data sources in the page: this page's own store (the embedded engine),
//! the server that served the page (`/api/v1`), and any Prometheus-compatible URL, all one
//! `QuerySource`. Remote credentials live in this module's memory for the session only:
//! never in the notebook, never in the browser's storage.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use lookout_dashboard::variables::{Variable, datasource_choice};
use lookout_dashboard::{Dashboard, DataSourceRef};
use lookout_datasource::{
    Credentials, Embedded, EmbeddedStore, InstantQuery, MetadataMap, QuerySource, RangeQuery,
    Remote, SeriesFilter, SourceError,
};
use lookout_promql::value::QueryData;
use lookout_promql::{Engine, Labels};

use crate::platform::{FetchHttp, origin};

thread_local! {
    /// Credentials per remote URL, for this page's life only.
    static CREDENTIALS: RefCell<BTreeMap<String, Credentials>> = const { RefCell::new(BTreeMap::new()) };
}

pub fn set_credentials(url: &str, c: Credentials) {
    CREDENTIALS.with(|m| {
        m.borrow_mut()
            .insert(url.trim_end_matches('/').to_string(), c);
    });
}

pub fn has_credentials(url: &str) -> bool {
    CREDENTIALS.with(|m| {
        m.borrow()
            .get(url.trim_end_matches('/'))
            .is_some_and(|c| *c != Credentials::None)
    })
}

fn credentials(url: &str) -> Credentials {
    CREDENTIALS.with(|m| {
        m.borrow()
            .get(url.trim_end_matches('/'))
            .cloned()
            .unwrap_or_default()
    })
}

/// What a data source reference reads in `d`: "the dashboard's" is the dashboard's own
/// reference, a `datasource` variable's is its choice (`page`, `server` or a URL); a variable
/// that chose nothing reads the page.
pub fn effective(r: &DataSourceRef, d: &Dashboard) -> DataSourceRef {
    let own = match r {
        DataSourceRef::Dashboard => &d.datasource,
        other => other,
    };
    match own {
        DataSourceRef::Variable { name } => choice(&d.variables, name),
        // A dashboard reading "the dashboard's" (as a notebook cell does) reads the page.
        DataSourceRef::Dashboard => DataSourceRef::Page,
        other => other.clone(),
    }
}

fn choice(vars: &[Variable], name: &str) -> DataSourceRef {
    match datasource_choice(vars, name) {
        Some("page") | None => DataSourceRef::Page,
        Some("server") => DataSourceRef::Server,
        // Only what a panel could name itself: http(s), no credentials in the URL.
        Some(url)
            if (url.starts_with("http://") || url.starts_with("https://"))
                && !url.contains('@') =>
        {
            DataSourceRef::Remote {
                url: url.to_string(),
            }
        }
        Some(_) => DataSourceRef::Page,
    }
}

/// The names a `datasource` variable offers: `page`, `server`, and every remote URL the
/// dashboard's panels use.
pub fn datasource_names(d: &Dashboard) -> Vec<String> {
    let mut names = vec!["page".to_string(), "server".to_string()];
    for r in std::iter::once(&d.datasource).chain(d.panels.iter().map(|p| &p.datasource)) {
        if let DataSourceRef::Remote { url } = r
            && !names.contains(url)
        {
            names.push(url.clone());
        }
    }
    names
}

/// One of the page's sources.
pub enum PageSource {
    Page(Embedded<Rc<RefCell<EmbeddedStore>>>),
    Remote(Remote<FetchHttp>),
}

impl PageSource {
    pub fn new(r: &DataSourceRef, store: &Rc<RefCell<EmbeddedStore>>) -> Self {
        match r {
            // In a notebook a cell has no dashboard or variables: they read the page.
            DataSourceRef::Page | DataSourceRef::Dashboard | DataSourceRef::Variable { .. } => {
                PageSource::Page(Embedded::new(store.clone(), Engine::default(), "this page"))
            }
            DataSourceRef::Server => {
                PageSource::Remote(Remote::new(&origin(), Credentials::None, FetchHttp))
            }
            DataSourceRef::Remote { url } => {
                PageSource::Remote(Remote::new(url, credentials(url), FetchHttp))
            }
        }
    }

    /// The scrape interval behind the source, for `$__rate_interval` (the page is scraped
    /// every 2 s, the server scrapes every 5 s; a remote's is Prometheus' default, 15 s).
    pub fn scrape_interval_ms(&self) -> i64 {
        match self {
            PageSource::Page(_) => crate::page_feed::SCRAPE_INTERVAL_MS,
            PageSource::Remote(r) if r.base() == origin() => 5_000,
            PageSource::Remote(_) => 15_000,
        }
    }
}

impl QuerySource for PageSource {
    fn describe(&self) -> String {
        match self {
            PageSource::Page(s) => s.describe(),
            PageSource::Remote(s) => s.describe(),
        }
    }

    async fn instant(&self, q: &InstantQuery) -> Result<QueryData, SourceError> {
        match self {
            PageSource::Page(s) => s.instant(q).await,
            PageSource::Remote(s) => s.instant(q).await,
        }
    }

    async fn range(&self, q: &RangeQuery) -> Result<QueryData, SourceError> {
        match self {
            PageSource::Page(s) => s.range(q).await,
            PageSource::Remote(s) => s.range(q).await,
        }
    }

    async fn label_names(&self, f: &SeriesFilter) -> Result<Vec<String>, SourceError> {
        match self {
            PageSource::Page(s) => s.label_names(f).await,
            PageSource::Remote(s) => s.label_names(f).await,
        }
    }

    async fn label_values(&self, n: &str, f: &SeriesFilter) -> Result<Vec<String>, SourceError> {
        match self {
            PageSource::Page(s) => s.label_values(n, f).await,
            PageSource::Remote(s) => s.label_values(n, f).await,
        }
    }

    async fn series(&self, f: &SeriesFilter) -> Result<Vec<Labels>, SourceError> {
        match self {
            PageSource::Page(s) => s.series(f).await,
            PageSource::Remote(s) => s.series(f).await,
        }
    }

    async fn metadata(&self, m: Option<&str>) -> Result<MetadataMap, SourceError> {
        match self {
            PageSource::Page(s) => s.metadata(m).await,
            PageSource::Remote(s) => s.metadata(m).await,
        }
    }
}
