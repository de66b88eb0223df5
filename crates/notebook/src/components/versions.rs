//! The open dashboard's kept versions (the last 50, from IndexedDB): view one (its JSON,
//! read-only), diff it against the current dashboard (a line diff of both `to_json_pretty`
//! outputs), and restore it, which saves it as a new version.

use leptos::prelude::*;
use lookout_dashboard::Dashboard;

use crate::components::dashboard::{DashCtx, use_dash};
use crate::components::notebook::use_notebook;
use crate::dash_store::use_dash_store;
use crate::storage::{self, VersionRecord};
use lookout_dashboard::diff::{Line, diff_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Json(u64),
    Diff(u64),
}

/// Keeps `dash.versions` current while the versions panel is open: read again after every
/// save of the dashboard (a read that raced the write is retried; only the latest counts).
pub fn load_versions(dash: DashCtx) {
    let store = use_dash_store();
    let generation = StoredValue::new(0u64);
    let saved_version = Memo::new(move |_| {
        store
            .entries
            .with(|e| e.get(&dash.uid.get_value()).map(|e| e.version))
            .unwrap_or_default()
    });
    Effect::new(move |_| {
        let wanted = saved_version.get();
        if !dash.versions_open.get() {
            return;
        }
        if !store.has_storage() {
            dash.versions_error.set(Some(
                "Versions are kept in the browser's storage, which is unavailable here.".into(),
            ));
            return;
        }
        let uid = dash.uid.get_value();
        let n = generation.get_value() + 1;
        generation.set_value(n);
        leptos::task::spawn_local(async move {
            for _ in 0..20 {
                let answer = storage::versions(&uid).await;
                if generation.try_get_value() != Some(n) {
                    return;
                }
                match answer {
                    Ok(v) => {
                        let fresh = v.first().is_none_or(|f| f.version >= wanted);
                        let _ = dash.versions.try_set(v);
                        let _ = dash.versions_error.try_set(None);
                        if fresh {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = dash
                            .versions_error
                            .try_set(Some(format!("the versions could not be read: {e}")));
                        return;
                    }
                }
                sleep_ms(100).await;
            }
        });
    });
}

async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

fn when(ts: f64) -> String {
    String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts))
            .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED),
    )
}

#[component]
pub fn VersionsPanel() -> impl IntoView {
    let ctx = use_notebook();
    let dash = use_dash();
    let (versions, error) = (dash.versions, dash.versions_error);
    let shown = RwSignal::new(None::<Shown>);
    let restore = move |json: String| match Dashboard::from_json(&json) {
        Ok(mut d) => {
            d.uid = dash.uid.get_value();
            d.version = ctx.doc.with_untracked(|c| c.version);
            ctx.doc.set(d);
            ctx.refresh();
            shown.set(None);
        }
        Err(e) => error.set(Some(format!("this version could not be read: {e}"))),
    };
    let detail = move || {
        let s = shown.get()?;
        let id = match s {
            Shown::Json(id) | Shown::Diff(id) => id,
        };
        let v = versions.with(|l| l.iter().find(|v| v.id == id).cloned())?;
        Some(match s {
            Shown::Json(_) => view! {
                <pre class="version-json" id="version-json">{v.json}</pre>
            }
            .into_any(),
            Shown::Diff(_) => {
                let current = ctx.doc.with(|d| d.to_json_pretty()).unwrap_or_default();
                let lines = diff_lines(&v.json, &current)
                    .into_iter()
                    .map(|l| match l {
                        Line::Same(t) => {
                            view! { <span class="diff-same">{format!("  {t}\n")}</span> }
                        }
                        Line::Removed(t) => {
                            view! { <span class="diff-del">{format!("- {t}\n")}</span> }
                        }
                        Line::Added(t) => {
                            view! { <span class="diff-add">{format!("+ {t}\n")}</span> }
                        }
                    })
                    .collect_view();
                view! {
                    <p class="note">{format!("Version {} (−) against the current dashboard (+)", v.version)}</p>
                    <pre class="version-diff" id="version-diff">{lines}</pre>
                }
                .into_any()
            }
        })
    };
    view! {
        <aside class="dash-versions" id="dash-versions">
            <h3>"Versions"</h3>
            <p class="error">{move || error.get().unwrap_or_default()}</p>
            <ol class="version-list">
                <For each=move || versions.get() key=|v| v.id children=move |v: VersionRecord| {
                    let (id, json) = (v.id, v.json.clone());
                    let title = Dashboard::from_json(&v.json).map(|d| d.title).unwrap_or_default();
                    view! {
                        <li class="version-item" data-version=v.version.to_string()>
                            <span class="version-label">{format!("v{} · {} · ", v.version, when(v.ts))}</span>
                            <span class="version-title">{title}</span>
                            " "
                            <button class="version-view" on:click=move |_| shown.set(Some(Shown::Json(id)))>"JSON"</button>
                            <button class="version-diff-btn" on:click=move |_| shown.set(Some(Shown::Diff(id)))>"Diff"</button>
                            <button class="version-restore" on:click=move |_| restore(json.clone())>"Restore"</button>
                        </li>
                    }
                } />
            </ol>
            {detail}
        </aside>
    }
}
