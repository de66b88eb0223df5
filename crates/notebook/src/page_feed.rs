//! The page's own metrics, for the "This page" source: the page module publishes its
//! instance id and its metrics exposition (`window.lookoutPage`), and this module scrapes
//! it into its own store every 2 s and before each query, the way Prometheus scrapes a
//! target (target labels `job="lookout"`, `instance`, staleness for vanished series),
//! after loading the page store's recent history once. Two wasm modules share no memory;
//! text is their interface.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use lookout_datasource::EmbeddedStore;
use lookout_promql::{Retention, Scraper, Storage};
use wasm_bindgen::prelude::*;

/// The page scrapes its metrics every 2 s; so does this feed.
pub const SCRAPE_INTERVAL_MS: i64 = 2_000;

#[wasm_bindgen(inline_js = r#"
export function page_history(since) {
  const p = window.lookoutPage;
  if (!p || typeof p.history !== 'function') return '';
  return String(p.history(since));
}
export function page_metrics() {
  const p = window.lookoutPage;
  if (!p || typeof p.exposition !== 'function') return null;
  return [String(p.instance), String(p.exposition())];
}
"#)]
extern "C" {
    fn page_metrics() -> JsValue;
    fn page_history(since_ms: f64) -> String;
}

/// How much of the page's history the notebook starts from.
pub const HISTORY_MS: i64 = 30 * 60 * 1000;

/// How long "This page" keeps the page's samples: a tab open for days stays bounded.
pub const PAGE_RETENTION_MS: i64 = 6 * 3600 * 1000;

pub struct PageFeed {
    pub store: Rc<RefCell<EmbeddedStore>>,
    scraper: RefCell<Option<Scraper>>,
}

impl PageFeed {
    /// A feed that starts from the page's last [`HISTORY_MS`] of metrics, so rates and
    /// panels have data the moment the notebook opens.
    pub fn new(now_ms: i64) -> Self {
        let mut store = EmbeddedStore::new(Storage::with_retention(Retention {
            max_age_ms: PAGE_RETENTION_MS,
            ..Retention::default()
        }));
        let history = page_history((now_ms - HISTORY_MS) as f64);
        // A line that does not load ends the backfill there; live scrapes go on.
        let _ = store.backfill_openmetrics(&history);
        Self {
            store: Rc::new(RefCell::new(store)),
            scraper: RefCell::new(None),
        }
    }

    /// Scrapes the page's metrics when a scrape is due.
    pub fn scrape(&self, now_ms: i64) {
        if self
            .scraper
            .borrow()
            .as_ref()
            .is_some_and(|s| !s.due(now_ms))
        {
            return;
        }
        let got = page_metrics();
        let Some(pair) = got.dyn_ref::<js_sys::Array>() else {
            return;
        };
        let (Some(instance), Some(text)) = (pair.get(0).as_string(), pair.get(1).as_string())
        else {
            return;
        };
        let mut slot = self.scraper.borrow_mut();
        let scraper = slot.get_or_insert_with(|| {
            Scraper::new(
                SCRAPE_INTERVAL_MS,
                &[("job", "lookout"), ("instance", instance.as_str())],
            )
        });
        if let Ok(mut store) = self.store.try_borrow_mut() {
            let _ = store.scrape(scraper, &text, now_ms);
        }
    }
}

/// The feed, shared through context.
#[derive(Clone, Copy)]
pub struct FeedCtx(pub StoredValue<Rc<PageFeed>, LocalStorage>);

pub fn use_feed() -> FeedCtx {
    expect_context::<FeedCtx>()
}
