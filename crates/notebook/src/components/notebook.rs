//! The PromQL notebook: a time range with refresh, and a list of cells (keyed by id), each
//! with its queries, options and panel. Its document is a [`Dashboard`] whose panels are the
//! cells in order (a notebook is a dashboard without a grid: "Add to dashboard…" copies a
//! cell over as it is). It is kept in the browser's storage as plain JSON (no credentials:
//! those stay in `sources.rs`' memory); a notebook saved before (schema 1) still opens.
//!
//! [`NotebookCtx`] is the context every cell, editor, panel and time picker reads: the
//! notebook provides one over its document, each open dashboard one over its own.

use leptos::prelude::*;
use lookout_dashboard::Dashboard;
use lookout_dashboard::model::{Cell, Panel, PanelKind, Target};
use lookout_dashboard::time::{TimeRange, parse_refresh};

use crate::components::add_to_dashboard::AddToDashboard;
use crate::components::cell::CellView;
use crate::components::root::use_shared;
use crate::components::time_picker::TimePicker;
use crate::platform::now_ms;

const STORAGE_KEY: &str = "lookout.notebook";
const HISTORY_KEY: &str = "lookout.history";
const HISTORY_MAX: usize = 50;

/// A document's shared state (leptos context): the notebook's, or an open dashboard's.
#[derive(Clone, Copy)]
pub struct NotebookCtx {
    pub doc: RwSignal<Dashboard>,
    /// The time range resolved at the last refresh (epoch ms).
    pub range: RwSignal<(i64, i64)>,
    /// Bumped on every refresh: cells run again.
    pub tick: RwSignal<u64>,
    /// The JS bundle: `None` while loading.
    pub ready: RwSignal<Option<Result<(), String>>>,
    pub history: RwSignal<Vec<String>>,
    /// A message about the notebook itself (storage, time range).
    pub status: RwSignal<Option<String>>,
}

impl NotebookCtx {
    /// A context over `doc`, sharing the page's editor/charts state and query history.
    pub fn new(doc: RwSignal<Dashboard>) -> Self {
        let shared = use_shared();
        Self {
            doc,
            range: RwSignal::new((0, 0)),
            tick: RwSignal::new(0),
            ready: shared.ready,
            history: shared.history,
            status: RwSignal::new(None),
        }
    }

    /// Refreshes at the document's auto refresh interval (while the owner lives).
    pub fn auto_refresh(self) {
        let refresh_every = Memo::new(move |_| {
            self.doc
                .with(|d| d.refresh.clone())
                .and_then(|r| parse_refresh(&r).ok().flatten())
        });
        let since = StoredValue::new(now_ms());
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if let Some(every) = refresh_every.try_get_untracked().flatten() {
                    let now = now_ms();
                    if now - since.try_get_value().unwrap_or(now) >= every {
                        since.set_value(now);
                        self.refresh();
                    }
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    }

    /// Resolves the time range at the current time and runs every cell.
    pub fn refresh(&self) {
        let time = self.doc.with_untracked(|d| d.time.clone());
        match time.resolve(now_ms()) {
            Ok(r) => {
                self.range.set(r);
                self.status.set(None);
                self.tick.update(|t| *t += 1);
            }
            Err(e) => self.status.set(Some(format!("time range: {e}"))),
        }
    }

    /// Changes one cell and keeps the notebook.
    pub fn update_cell(&self, id: u64, f: impl FnOnce(&mut Cell)) {
        self.doc.update(|d| {
            if let Some(c) = d.panel_mut(id) {
                f(c);
            }
        });
    }

    /// Remembers a query that ran (most recent first, no duplicates).
    pub fn remember(&self, query: &str) {
        let q = query.trim();
        if q.is_empty() {
            return;
        }
        self.history.update(|h| {
            h.retain(|x| x != q);
            h.insert(0, q.to_string());
            h.truncate(HISTORY_MAX);
        });
        let list = self.history.get_untracked();
        if let Ok(json) = serde_json::to_string(&list) {
            let _ = storage().map(|s| s.set_item(HISTORY_KEY, &json));
        }
    }
}

pub fn use_notebook() -> NotebookCtx {
    expect_context::<NotebookCtx>()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn seed_cell(id: u64, title: &str, expr: &str, legend: &str, unit: &str) -> Cell {
    let mut panel = Panel {
        kind: PanelKind::TimeSeries,
        ..Panel::default()
    };
    panel.field.unit = unit.into();
    Cell {
        id,
        title: title.into(),
        targets: vec![Target {
            expr: expr.into(),
            legend_format: legend.into(),
            ..Target::default()
        }],
        panel,
        ..Cell::default()
    }
}

/// A first visit's notebook: the seed's questions about the page's own predictions.
pub fn default_notebook() -> Dashboard {
    Dashboard {
        title: "Notebook".into(),
        uid: "notebook".into(),
        time: TimeRange::new("now-15m", "now"),
        panels: vec![
            seed_cell(
                1,
                "Current Predictions Per Second Per Class",
                "sum by (label) (rate(prediction_value_total[1m]))",
                "{{label}}",
                "reqps",
            ),
            seed_cell(
                2,
                "P90 Model Inference Time",
                "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))",
                "{{job}}",
                "s",
            ),
        ],
        ..Dashboard::default()
    }
}

fn load_notebook() -> (Dashboard, Option<String>) {
    let Some(text) = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) else {
        return (default_notebook(), None);
    };
    match Dashboard::from_json(&text) {
        Ok(n) => (n, None),
        Err(e) => (
            default_notebook(),
            Some(format!(
                "the saved notebook could not be read ({e}); it is left in storage untouched and a new one is shown"
            )),
        ),
    }
}

pub fn load_history() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(HISTORY_KEY).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

#[component]
pub fn NotebookView() -> impl IntoView {
    let (doc, load_error) = load_notebook();
    let broken_save = load_error.is_some();
    let ctx = NotebookCtx::new(RwSignal::new(doc));
    ctx.status.set(load_error);
    provide_context(ctx);
    ctx.refresh();
    // Keep the notebook (not over a saved one we could not read: that stays for the user).
    Effect::new(move |first: Option<()>| {
        let json = ctx.doc.with(|d| d.to_json_pretty());
        if first.is_none() && broken_save {
            return;
        }
        match json {
            Ok(json) => {
                if let Some(Err(e)) = storage().map(|s| s.set_item(STORAGE_KEY, &json)) {
                    ctx.status
                        .set(Some(format!("the notebook could not be saved: {e:?}")));
                }
            }
            Err(e) => ctx
                .status
                .set(Some(format!("the notebook could not be saved: {e}"))),
        }
    });
    ctx.auto_refresh();
    let add_cell = move |_| {
        ctx.doc.update(|d| {
            let id = d.next_id();
            d.add_panel(Cell {
                id,
                title: format!("Cell {id}"),
                ..Cell::default()
            });
        });
    };
    view! {
        <section class="notebook" id="notebook">
            <div class="notebook-bar">
                <input class="notebook-title" aria-label="Notebook title"
                    prop:value=move || ctx.doc.with(|d| d.title.clone())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        ctx.doc.update(|d| d.title = v);
                    } />
                <TimePicker />
            </div>
            <p class="error" id="notebook-status">{move || ctx.status.get().unwrap_or_default()}</p>
            {move || match ctx.ready.get() {
                None => view! { <p class="loading" id="notebook-loading">"Loading the editor and charts…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(())) => view! {
                    <div class="cells">
                        <For
                            each=move || ctx.doc.with(|d| d.panels.iter().map(|c| c.id).collect::<Vec<_>>())
                            key=|id| *id
                            children=move |id| view! {
                                <div class="cell-wrap">
                                    <CellView id=id />
                                    <AddToDashboard id=id />
                                </div>
                            }
                        />
                    </div>
                }.into_any(),
            }}
            <button id="add-cell" class="add-cell" on:click=add_cell>"+ Add cell"</button>
        </section>
    }
}
