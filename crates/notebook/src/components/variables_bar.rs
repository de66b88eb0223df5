//! The open dashboard's variables bar (Grafana's): one picker per template variable, in order
//! — a label (hidden when `hide` is 1), a dropdown (checkboxes with "All" for a multi-value
//! variable), or a text box — and the variable's error next to it. Constants and variables
//! with `hide` 2 are not shown.
//!
//! Options come from `variables::resolve_all` against the dashboard's data source
//! (`sources::effective`): every variable when the dashboard opens (or its variables are
//! edited), those refreshed on a time range change (`refresh: 2`) and the ones after them at
//! every refresh of the range, and the ones after a variable whose selection changed (chained
//! variables). What a resolution gives is written into the document only where it changed
//! (by name, so an edit meanwhile is not undone), and a later resolution wins over an
//! earlier one. A selection is kept in the document (saved like any edit); the panels run
//! again when the variables change (`cell_run.rs`).

use std::collections::BTreeMap;

use leptos::prelude::*;
use lookout_dashboard::DataSourceRef;
use lookout_dashboard::variables::{
    ALL_TEXT, ALL_VALUE, Variable, VariableKind, VariableOption, resolve_all, validate_selection,
};

use crate::components::notebook::{NotebookCtx, use_notebook};
use crate::page_feed::{FeedCtx, use_feed};
use crate::sources::{PageSource, datasource_names, effective};

/// Which variables a resolution writes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every variable (the dashboard opened, or its variables were edited).
    All,
    /// Those after the one at this index (its selection changed).
    After(usize),
    /// From the first one refreshed on a time range change (`refresh: 2`) on.
    TimeRange,
}

/// The variables' state (context of an open dashboard).
#[derive(Clone, Copy)]
pub struct VarsCtx {
    /// Why a variable's options could not be resolved, by name.
    pub errors: RwSignal<BTreeMap<String, String>>,
    /// A resolution is running.
    pub resolving: RwSignal<bool>,
    seq: StoredValue<u64>,
    ctx: NotebookCtx,
    feed: FeedCtx,
}

pub fn use_vars() -> VarsCtx {
    expect_context::<VarsCtx>()
}

impl VarsCtx {
    /// A context over the open dashboard (provided by the caller).
    pub fn new() -> Self {
        Self {
            errors: RwSignal::new(BTreeMap::new()),
            resolving: RwSignal::new(false),
            seq: StoredValue::new(0),
            ctx: use_notebook(),
            feed: use_feed(),
        }
    }

    /// Resolves the variables' options and writes back those in `scope`.
    pub fn resolve(self, scope: Scope) {
        let doc = self.ctx.doc;
        let Some((vars, source, names)) = doc.try_with_untracked(|d| {
            (
                d.variables.clone(),
                effective(&DataSourceRef::Dashboard, d),
                datasource_names(d),
            )
        }) else {
            return;
        };
        let from = match scope {
            Scope::All => Some(0),
            Scope::After(i) => Some(i + 1),
            Scope::TimeRange => vars
                .iter()
                .position(|v| matches!(v.kind, VariableKind::Query { refresh: 2, .. })),
        };
        let Some(from) = from.filter(|f| *f < vars.len()) else {
            if scope == Scope::All {
                self.errors.set(BTreeMap::new());
            }
            return;
        };
        let range = self.ctx.range.get_untracked();
        let store = self.feed.0.with_value(|f| f.store.clone());
        let n = self.seq.get_value() + 1;
        self.seq.set_value(n);
        self.resolving.set(true);
        leptos::task::spawn_local(async move {
            let src = PageSource::new(&source, &store);
            let res = resolve_all(&vars, &src, range, &names).await;
            if self.seq.try_get_value() != Some(n) {
                return;
            }
            self.resolving.set(false);
            let fresh: Vec<Variable> = res.variables.into_iter().skip(from).collect();
            let changed = doc.with_untracked(|d| {
                fresh.iter().any(|f| {
                    d.variables
                        .iter()
                        .find(|v| v.name == f.name && v.kind == f.kind)
                        .is_some_and(|v| {
                            v.options != f.options
                                || v.option_texts != f.option_texts
                                || v.current != f.current
                                || v.auto_interval != f.auto_interval
                        })
                })
            });
            if changed {
                doc.update(|d| {
                    for f in &fresh {
                        if let Some(v) = d
                            .variables
                            .iter_mut()
                            .find(|v| v.name == f.name && v.kind == f.kind)
                        {
                            v.options = f.options.clone();
                            v.option_texts = f.option_texts.clone();
                            v.current = f.current.clone();
                            v.auto_interval = f.auto_interval.clone();
                        }
                    }
                });
            }
            self.errors.update(|e| {
                for f in &fresh {
                    e.remove(&f.name);
                }
                for (name, err) in res.errors {
                    if fresh.iter().any(|f| f.name == name) {
                        e.insert(name, err.to_string());
                    }
                }
            });
        });
    }

    /// Chooses `values` for the variable at `index` (kept valid), then resolves the ones after
    /// it.
    pub fn choose(self, index: usize, values: Vec<String>) {
        let doc = self.ctx.doc;
        let unchanged =
            doc.with_untracked(|d| d.variables.get(index).is_none_or(|v| v.current == values));
        if unchanged {
            return;
        }
        doc.update(|d| {
            if let Some(v) = d.variables.get_mut(index) {
                v.current = values;
                validate_selection(v);
            }
        });
        self.resolve(Scope::After(index));
    }
}

/// The options a picker lists: "All" first when offered.
fn listed(v: &Variable) -> Vec<VariableOption> {
    let mut out = Vec::new();
    if v.include_all {
        out.push(VariableOption::with_text(ALL_TEXT, ALL_VALUE));
    }
    out.extend(v.option_list());
    out
}

/// The selection after ticking or unticking `value` in a multi-value picker.
fn toggled(v: &Variable, value: &str) -> Vec<String> {
    if value == ALL_VALUE {
        return vec![ALL_VALUE.to_string()];
    }
    let mut current: Vec<String> = if v.is_all() {
        Vec::new()
    } else {
        v.current.clone()
    };
    match current.iter().position(|c| c == value) {
        Some(i) => {
            current.remove(i);
        }
        None => current.push(value.to_string()),
    }
    current
}

/// What a picker's button shows: the chosen texts, `+`-joined as in Grafana.
fn chosen_text(v: &Variable) -> String {
    if v.current.is_empty() {
        return "None".to_string();
    }
    v.current
        .iter()
        .map(|c| v.text_of(c))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Whether a variable has a picker in the bar.
fn shown(v: &Variable) -> bool {
    v.hide < 2 && !matches!(v.kind, VariableKind::Constant { .. })
}

#[component]
pub fn VariablesBar() -> impl IntoView {
    let ctx = use_notebook();
    let vars = use_vars();
    // Resolved when the dashboard opens, and again when the range is refreshed.
    Effect::new(move |prev: Option<()>| {
        ctx.range.track();
        vars.resolve(if prev.is_none() {
            Scope::All
        } else {
            Scope::TimeRange
        });
    });
    let pickers = Memo::new(move |_| {
        ctx.doc.with(|d| {
            d.variables
                .iter()
                .enumerate()
                .filter(|(_, v)| shown(v))
                .map(|(i, v)| (i, v.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    // Errors of hidden variables are shown too (never swallowed).
    let hidden_errors = move || {
        let hidden: Vec<String> = ctx.doc.with(|d| {
            d.variables
                .iter()
                .filter(|v| !shown(v))
                .map(|v| v.name.clone())
                .collect()
        });
        vars.errors.with(|e| {
            hidden
                .iter()
                .filter_map(|n| e.get(n).map(|m| format!("${n}: {m}")))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="dash-variables" id="dash-variables"
            class:empty=move || pickers.with(Vec::is_empty) && hidden_errors().is_empty()>
            <For each=move || pickers.get() key=|p| p.clone()
                children=move |(i, name)| view! { <VariablePicker index=i name=name /> } />
            {move || hidden_errors().into_iter().map(|e| view! { <span class="var-error error" role="alert">{e}</span> }).collect_view()}
        </div>
    }
}

#[component]
fn VariablePicker(index: usize, name: String) -> impl IntoView {
    let ctx = use_notebook();
    let vars = use_vars();
    let var = Memo::new(move |_| ctx.doc.with(|d| d.variables.get(index).cloned()));
    let name = StoredValue::new(name);
    let open = RwSignal::new(false);
    // An open multi-value list closes on a click elsewhere.
    let holder = NodeRef::<leptos::html::Span>::new();
    let outside = window_event_listener(leptos::ev::pointerdown, move |e| {
        if !open.get_untracked() {
            return;
        }
        use wasm_bindgen::JsCast;
        let inside = match (holder.get_untracked(), e.target()) {
            (Some(h), Some(t)) => t
                .dyn_ref::<web_sys::Node>()
                .is_some_and(|n| h.contains(Some(n))),
            _ => false,
        };
        if !inside {
            open.set(false);
        }
    });
    on_cleanup(move || outside.remove());
    let label = move || {
        var.with(|v| {
            v.as_ref()
                .map(|v| {
                    if v.label.is_empty() {
                        v.name.clone()
                    } else {
                        v.label.clone()
                    }
                })
                .unwrap_or_default()
        })
    };
    let show_label = move || var.with(|v| v.as_ref().is_some_and(|v| v.hide == 0));
    let error = move || vars.errors.with(|e| e.get(&name.get_value()).cloned());
    let kind = Memo::new(move |_| {
        var.with(|v| {
            v.as_ref().map(|v| match v.kind {
                VariableKind::Textbox { .. } => 0u8,
                _ if v.multi => 2,
                _ => 1,
            })
        })
    });
    let options = Memo::new(move |_| var.with(|v| v.as_ref().map(listed).unwrap_or_default()));
    let current =
        Memo::new(move |_| var.with(|v| v.as_ref().map(|v| v.current.clone()).unwrap_or_default()));
    let control = move || {
        match kind.get() {
        Some(0) => view! {
            <input class="var-input" aria-label=label
                prop:value=move || current.with(|c| c.first().cloned().unwrap_or_default())
                on:change=move |ev| vars.choose(index, vec![event_target_value(&ev)]) />
        }
        .into_any(),
        Some(1) => view! {
            <select class="var-select" aria-label=label
                prop:value=move || current.with(|c| c.first().cloned().unwrap_or_default())
                on:change=move |ev| vars.choose(index, vec![event_target_value(&ev)])>
                {move || {
                    let chosen = current.get();
                    options.get().into_iter().map(|o| {
                        let selected = chosen.first() == Some(&o.value);
                        view! { <option value=o.value.clone() selected=selected>{o.text}</option> }
                    }).collect_view()
                }}
            </select>
        }
        .into_any(),
        Some(_) => view! {
            <span class="var-multi" node_ref=holder>
                <button class="var-toggle" aria-label=label aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)>
                    {move || var.with(|v| v.as_ref().map(chosen_text).unwrap_or_default())}
                    " ▾"
                </button>
                <Show when=move || open.get()>
                    <span class="var-menu" role="listbox">
                        {move || {
                            let chosen = current.get();
                            options.get().into_iter().map(|o| {
                                let checked = chosen.contains(&o.value);
                                let value = StoredValue::new(o.value.clone());
                                view! {
                                    <label class="var-option" data-value=o.value.clone()>
                                        <input type="checkbox" prop:checked=checked
                                            on:change=move |_| {
                                                let next = var.with_untracked(|v| v.as_ref().map(|v| toggled(v, &value.get_value())));
                                                if let Some(next) = next { vars.choose(index, next); }
                                            } />
                                        {o.text}
                                    </label>
                                }
                            }).collect_view()
                        }}
                    </span>
                </Show>
            </span>
        }
        .into_any(),
        None => ().into_any(),
    }
    };
    view! {
        <span class="dash-var" data-var=name.get_value()>
            <Show when=show_label>
                <span class="var-label">{label}</span>
            </Show>
            {control}
            {move || error().map(|e| view! { <span class="var-error error" role="alert">{e}</span> })}
        </span>
    }
}
