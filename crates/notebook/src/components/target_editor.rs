//! One query of a cell in a CodeMirror editor (codemirror-promql: highlighting, lint,
//! completion of functions, metric names, labels and values from the cell's data source),
//! with its legend format, instant switch, min step and hide switch.

use leptos::prelude::*;
use lookout_dashboard::model::{DataSourceRef, Target};
use lookout_datasource::{QuerySource, SeriesFilter, quote};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::Closure;

use crate::components::notebook::use_notebook;
use crate::notebook_js::{self, Editor, object, strings};
use crate::page_feed::use_feed;
use crate::sources::PageSource;

/// A completion request's answer as a JS value (JSON through `JSON.parse`, no hand-built
/// objects).
fn to_js<T: serde::Serialize>(v: &T) -> JsValue {
    serde_json::to_string(v)
        .ok()
        .and_then(|s| js_sys::JSON::parse(&s).ok())
        .unwrap_or(JsValue::NULL)
}

/// The selector for completion: a metric name and the matchers typed so far.
fn selector(metric: Option<String>, matchers: &JsValue) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(m) = metric.filter(|m| !m.is_empty()) {
        parts.push(format!("__name__={}", quote(&m)));
    }
    if let Some(list) = matchers.dyn_ref::<js_sys::Array>() {
        for m in list.iter() {
            let get = |k: &str| {
                js_sys::Reflect::get(&m, &JsValue::from_str(k))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            if let (Some(name), Some(op), Some(value)) = (get("name"), get("type"), get("value"))
                && lookout_promql::labels::is_valid_label_name(&name)
                && matches!(op.as_str(), "=" | "!=" | "=~" | "!~")
            {
                parts.push(format!("{name}{op}{}", quote(&value)));
            }
        }
    }
    (!parts.is_empty()).then(|| format!("{{{}}}", parts.join(",")))
}

use wasm_bindgen::JsCast;

/// codemirror-promql's client, over the cell's data source (looked up at each request, so a
/// source switch applies at once).
fn completion_client(source: impl Fn() -> DataSourceRef + Copy + 'static) -> JsValue {
    let feed = use_feed();
    let store = feed.0.with_value(|f| f.store.clone());
    let src = move || PageSource::new(&source(), &store);
    let promise = |fut: std::pin::Pin<Box<dyn std::future::Future<Output = JsValue>>>| {
        wasm_bindgen_futures::future_to_promise(async move { Ok(fut.await) }).into()
    };
    let s1 = src.clone();
    let metric_names = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |_prefix: JsValue| {
        let s = s1();
        promise(Box::pin(async move {
            to_js(
                &s.label_values("__name__", &SeriesFilter::default())
                    .await
                    .unwrap_or_default(),
            )
        }))
    });
    let s2 = src.clone();
    let label_names = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |metric: JsValue| {
        let s = s2();
        let filter = SeriesFilter {
            matchers: selector(metric.as_string(), &JsValue::UNDEFINED)
                .into_iter()
                .collect(),
            ..SeriesFilter::default()
        };
        promise(Box::pin(async move {
            to_js(&s.label_names(&filter).await.unwrap_or_default())
        }))
    });
    let s3 = src.clone();
    let label_values = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> JsValue>::new(
        move |label: JsValue, metric: JsValue, matchers: JsValue| {
            let s = s3();
            let label = label.as_string().unwrap_or_default();
            let filter = SeriesFilter {
                matchers: selector(metric.as_string(), &matchers)
                    .into_iter()
                    .collect(),
                ..SeriesFilter::default()
            };
            promise(Box::pin(async move {
                to_js(&s.label_values(&label, &filter).await.unwrap_or_default())
            }))
        },
    );
    let s4 = src;
    let metadata = Closure::<dyn Fn() -> JsValue>::new(move || {
        let s = s4();
        promise(Box::pin(async move {
            to_js(&s.metadata(None).await.unwrap_or_default())
        }))
    });
    object(&[
        ("metricNames", metric_names.into_js_value()),
        ("labelNames", label_names.into_js_value()),
        ("labelValues", label_values.into_js_value()),
        ("metricMetadata", metadata.into_js_value()),
    ])
}

/// Byte offset → character offset (the editor counts characters).
fn char_offset(text: &str, byte: usize) -> u32 {
    let mut b = byte.min(text.len());
    while !text.is_char_boundary(b) {
        b -= 1;
    }
    text[..b].chars().count() as u32
}

#[component]
pub fn TargetEditor(
    cell_id: u64,
    ref_id: String,
    /// The engine's error for this target (message, byte position in the query).
    error: Signal<Option<(String, Option<usize>)>>,
    /// Runs the cell.
    run: Callback<()>,
) -> impl IntoView {
    let ctx = use_notebook();
    let holder = NodeRef::<leptos::html::Div>::new();
    let editor = StoredValue::new_local(None::<Editor>);
    let target = {
        let ref_id = ref_id.clone();
        Memo::new(move |_| {
            ctx.doc.with(|d| {
                d.panel(cell_id)
                    .and_then(|c| c.targets.iter().find(|t| t.ref_id == ref_id).cloned())
                    .unwrap_or_default()
            })
        })
    };
    let update = {
        let ref_id = ref_id.clone();
        move |f: Box<dyn FnOnce(&mut Target)>| {
            let ref_id = ref_id.clone();
            ctx.update_cell(cell_id, move |c| {
                if let Some(t) = c.targets.iter_mut().find(|t| t.ref_id == ref_id) {
                    f(t);
                }
            });
        }
    };
    let source = move || {
        ctx.doc
            .with_untracked(|d| d.panel(cell_id).map(|c| c.datasource.clone()))
            .unwrap_or_default()
    };
    let mount_update = update.clone();
    Effect::new(move |_| {
        let Some(el) = holder.get() else { return };
        if editor.with_value(|e| e.is_some()) {
            return;
        }
        let u = mount_update.clone();
        let on_change = Closure::<dyn Fn(String)>::new(move |doc: String| {
            u(Box::new(move |t| t.expr = doc));
        });
        let on_run = Closure::<dyn Fn(String)>::new(move |doc: String| {
            ctx.remember(&doc);
            run.run(());
        });
        let history = ctx.history.get_untracked();
        let opts = object(&[
            ("doc", JsValue::from_str(&target.get_untracked().expr)),
            (
                "placeholder",
                JsValue::from_str(
                    "PromQL, e.g. sum by (label) (rate(prediction_value_total[1m])) — Shift+Enter runs",
                ),
            ),
            ("onChange", on_change.into_js_value()),
            ("onRun", on_run.into_js_value()),
            ("history", strings(history.iter().map(String::as_str))),
            ("client", completion_client(source)),
        ]);
        let el: &web_sys::HtmlElement = &el;
        match notebook_js::create_editor(el, &opts) {
            Ok(e) => editor.set_value(Some(e)),
            Err(e) => ctx.status.set(Some(format!("the editor failed: {e:?}"))),
        }
    });
    // The engine's error, marked where it is.
    Effect::new(move |_| {
        let err = error.get();
        editor.with_value(|e| {
            let Some(e) = e else { return };
            match &err {
                Some((msg, pos)) => {
                    let doc = e.get_doc();
                    let from = pos.map_or(0, |p| char_offset(&doc, p));
                    e.set_error(from, from + 1, msg);
                }
                None => e.clear_error(),
            }
        });
    });
    Effect::new(move |_| {
        let h = ctx.history.get();
        editor.with_value(|e| {
            if let Some(e) = e {
                e.set_history(&strings(h.iter().map(String::as_str)));
            }
        });
    });
    on_cleanup(move || {
        editor.update_value(|e| {
            if let Some(e) = e.take() {
                e.destroy();
            }
        });
    });
    let (u1, u2, u3, u4, u5) = (
        update.clone(),
        update.clone(),
        update.clone(),
        update.clone(),
        update,
    );
    let remove_ref = ref_id.clone();
    view! {
        <div class="target" data-ref=ref_id.clone()>
            <div class="target-head">
                <span class="ref-id">{ref_id.clone()}</span>
                <div class="editor" node_ref=holder></div>
                <button class="icon" title="Remove this query" on:click=move |_| {
                    let r = remove_ref.clone();
                    ctx.update_cell(cell_id, move |c| {
                        if c.targets.len() > 1 {
                            c.targets.retain(|t| t.ref_id != r);
                        }
                    });
                }>"×"</button>
            </div>
            <div class="target-options">
                <label>"Legend "
                    <input class="legend" placeholder="{{label}} or __auto"
                        prop:value=move || target.with(|t| t.legend_format.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); u1(Box::new(move |t| t.legend_format = v)); run.run(()); } />
                </label>
                <label>"Min step "
                    <input class="min-step" placeholder="15s"
                        prop:value=move || target.with(|t| t.interval.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); u2(Box::new(move |t| t.interval = v)); run.run(()); } />
                </label>
                <label>
                    <input type="checkbox" class="instant"
                        prop:checked=move || target.with(|t| t.instant && !t.range)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            u3(Box::new(move |t| { t.instant = on; t.range = !on; }));
                            run.run(());
                        } />
                    " Instant"
                </label>
                <label>
                    <input type="checkbox" class="hide"
                        prop:checked=move || target.with(|t| t.hide)
                        on:change=move |ev| { let on = event_target_checked(&ev); u4(Box::new(move |t| t.hide = on)); run.run(()); } />
                    " Hide"
                </label>
                <label>"Max points "
                    <input type="number" class="max-points" min="1" max="11000"
                        prop:value=move || target.with(|t| t.max_data_points.map(|n| n.to_string()).unwrap_or_default())
                        on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); u5(Box::new(move |t| t.max_data_points = v)); run.run(()); } />
                </label>
            </div>
        </div>
    }
}
