//! Running a cell (a notebook cell or a dashboard panel) for its view: on every refresh of its
//! document, on "Run" and when its data source changes; a slower earlier run never overwrites
//! a later one; on a dashboard also when its template variables change. The dashboard's
//! variables are substituted first (`variables::apply_to_cell`), a `datasource` variable picks
//! the source (`sources::effective`); the planning (time range with the panel's relative time
//! / time shift, step, `$__interval` & co.) and shaping are `lookout_dashboard::run_cell`'s.

use leptos::prelude::*;
use lookout_dashboard::variables::apply_to_cell;
use lookout_dashboard::{Cell, CellData, DataSourceRef, run_cell};

use crate::components::notebook::use_notebook;
use crate::page_feed::{SCRAPE_INTERVAL_MS, use_feed};
use crate::platform::now_ms;
use crate::sources::{PageSource, effective};

/// A cell's run state, for its view.
#[derive(Clone, Copy)]
pub struct CellRun {
    pub cell: Memo<Option<Cell>>,
    pub data: RwSignal<Option<CellData>>,
    pub running: RwSignal<bool>,
    /// Runs the cell now.
    pub run: Callback<()>,
    /// Where the panel is drawn (its width sets the step).
    pub panel_ref: NodeRef<leptos::html::Div>,
    pub query_ms: RwSignal<Option<f64>>,
    pub drawn_ms: RwSignal<Option<f64>>,
    pub draws: RwSignal<u32>,
}

/// Runs `f` after the next frame is painted (two animation frames: the first runs before
/// the paint of the DOM changes made now).
fn after_paint(f: impl FnOnce() + 'static) {
    use wasm_bindgen::JsCast;
    let Some(w) = web_sys::window() else { return };
    let second = wasm_bindgen::closure::Closure::once_into_js(f);
    let w2 = w.clone();
    let first = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = w2.request_animation_frame(second.unchecked_ref());
    });
    let _ = w.request_animation_frame(first.unchecked_ref());
}

/// The cell `id` of the document in context, run as its view needs.
pub fn use_cell_run(id: u64) -> CellRun {
    let ctx = use_notebook();
    let feed = use_feed();
    let cell = Memo::new(move |_| ctx.doc.with(|d| d.panel(id).cloned()));
    let data = RwSignal::new(None::<CellData>);
    let running = RwSignal::new(false);
    let run_tick = RwSignal::new(0u64);
    let seq = StoredValue::new(0u64);
    let panel_ref = NodeRef::<leptos::html::Div>::new();
    // When the last run started, and how long the query and the drawing took: shown under
    // the panel, read by `cargo xtask notebook-bench`.
    let started = StoredValue::new(0f64);
    let query_ms = RwSignal::new(None::<f64>);
    let drawn_ms = RwSignal::new(None::<f64>);
    let draws = RwSignal::new(0u32);
    let run = Callback::new(move |_: ()| run_tick.update(|t| *t += 1));
    // A page opened just now (a shared link) has no sample of its own metrics before the
    // step-aligned end of the range yet: a first run over them that found nothing runs once
    // more after the next scrape.
    let retried = StoredValue::new(false);
    // A panel reading "the dashboard's data source" reads the document's; one reading a
    // `datasource` variable reads its choice.
    let datasource = Memo::new(move |_| {
        let own = cell.with(|c| c.as_ref().map(|c| c.datasource.clone()))?;
        Some(ctx.doc.with(|d| effective(&own, d)))
    });
    // The dashboard's variables (chosen values and options): a change runs the cell again.
    let variables = Memo::new(move |_| ctx.doc.with(|d| d.variables.clone()));
    // The panel's time options: a change runs it again (queries run on Shift+Enter / "Run").
    let time_options = Memo::new(move |_| {
        cell.with(|c| {
            c.as_ref()
                .map(|c| (c.panel.relative_time.clone(), c.panel.time_shift.clone()))
        })
    });
    Effect::new(move |_| {
        ctx.tick.track();
        run_tick.track();
        time_options.track();
        let source = datasource.get();
        let vars = variables.get();
        let Some(c) = cell.get_untracked() else {
            return;
        };
        let mut c = apply_to_cell(&c, &vars);
        if let Some(s) = source {
            c.datasource = s;
        }
        // A relative range ("now-5m") is resolved at each run, as a refresh would.
        let range = ctx
            .doc
            .with_untracked(|d| d.time.resolve(now_ms()).ok())
            .unwrap_or_else(|| ctx.range.get_untracked());
        let store = feed.0.with_value(|f| f.store.clone());
        let n = seq.get_value() + 1;
        seq.set_value(n);
        running.set(true);
        let width = panel_ref
            .get_untracked()
            .map(|e| e.client_width().max(0) as u32)
            .filter(|w| *w > 0);
        // The page's own metrics: scrape when due, so the panel shows the latest ones.
        feed.0.with_value(|f| f.scrape(now_ms()));
        let t0 = js_sys::Date::now();
        started.set_value(t0);
        leptos::task::spawn_local(async move {
            let src = PageSource::new(&c.datasource, &store);
            let scrape = src.scrape_interval_ms();
            let result = run_cell(&src, &c, range, now_ms(), width, Some(scrape)).await;
            if seq.try_get_value() != Some(n) {
                return;
            }
            if result.is_empty()
                && result.errors.is_empty()
                && c.datasource == DataSourceRef::Page
                && !retried.get_value()
            {
                retried.set_value(true);
                set_timeout(
                    move || {
                        let _ = run_tick.try_update(|t| *t += 1);
                    },
                    std::time::Duration::from_millis(SCRAPE_INTERVAL_MS as u64 + 500),
                );
            }
            query_ms.set(Some(js_sys::Date::now() - t0));
            drawn_ms.set(None);
            data.set(Some(result));
            running.set(false);
            // The panel is drawn once this frame is painted.
            after_paint(move || {
                if seq.get_value() == n {
                    drawn_ms.set(Some(js_sys::Date::now() - started.get_value()));
                    draws.update(|n| *n += 1);
                }
            });
        });
    });
    CellRun {
        cell,
        data,
        running,
        run,
        panel_ref,
        query_ms,
        drawn_ms,
        draws,
    }
}
