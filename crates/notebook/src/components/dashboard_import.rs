//! "Import" on the dashboard list: a file picker and a drop zone taking Grafana classic JSON
//! or Lookout JSON, several files at once (with progress). Each file is read (refused first
//! when over 16 MiB, from its size alone), imported by `lookout_grafana::import`, and saved as
//! a new dashboard (a uid already used gets a free one, unless "replace" is ticked); the
//! import report (or the file's one-line error) is shown as text, and a single imported
//! dashboard opens. A bad file never touches the others nor any saved dashboard.

use leptos::prelude::*;
use lookout_dashboard::model::MAX_JSON_BYTES;
use wasm_bindgen_futures::JsFuture;

use crate::dash_store::{DashStore, ImportLine, use_dash_store};
use crate::platform::error_text;

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// One file: its saved uid and the report, or why it was refused (one line).
async fn import_one(
    store: DashStore,
    file: &web_sys::File,
    replace: bool,
) -> Result<(String, String), String> {
    let size = file.size();
    if size > MAX_JSON_BYTES as f64 {
        return Err(format!(
            "{size} bytes, more than the {} MiB a dashboard may have",
            MAX_JSON_BYTES >> 20
        ));
    }
    let text = JsFuture::from(file.text())
        .await
        .map_err(|e| format!("could not be read: {}", error_text(&e)))?
        .as_string()
        .ok_or("could not be read as text")?;
    let imported = lookout_grafana::import(&text).map_err(|e| e.to_string())?;
    let wanted = imported.dashboard.uid.clone();
    let uid = store.add_dashboard(imported.dashboard, replace).await?;
    let mut report = imported.report.to_string();
    if !wanted.is_empty() && wanted != uid {
        report.push_str(&format!(
            "\nSaved as “{uid}”: a dashboard already has the uid “{wanted}”."
        ));
    }
    Ok((uid, report))
}

async fn import_files(
    store: DashStore,
    files: Vec<web_sys::File>,
    replace: bool,
    progress: RwSignal<Option<(usize, usize)>>,
) {
    let total = files.len();
    if total == 0 {
        return;
    }
    progress.set((total > 1).then_some((0, total)));
    store.imports.set(Vec::new());
    let mut lines = Vec::new();
    let mut opened = None;
    for (i, file) in files.iter().enumerate() {
        let name = file.name();
        let line = match import_one(store, file, replace).await {
            Ok((uid, report)) => {
                opened = Some(uid.clone());
                ImportLine {
                    file: name,
                    uid: Some(uid),
                    text: report,
                }
            }
            Err(e) => ImportLine {
                text: format!("{name}: {}", e.replace(['\n', '\r'], " ")),
                file: name,
                uid: None,
            },
        };
        lines.push(line);
        store.imports.set(lines.clone());
        if total > 1 {
            let _ = progress.try_set(Some((i + 1, total)));
        }
    }
    if total == 1
        && let Some(uid) = opened
    {
        store.open_dashboard(Some(uid));
    }
}

#[component]
pub fn DashboardImport() -> impl IntoView {
    let store = use_dash_store();
    let replace = RwSignal::new(false);
    let progress = RwSignal::new(None::<(usize, usize)>);
    let over = RwSignal::new(false);
    let run = move |files: Vec<web_sys::File>| {
        leptos::task::spawn_local(import_files(
            store,
            files,
            replace.get_untracked(),
            progress,
        ));
    };
    view! {
        <div class="dash-import" id="dash-import" class:over=move || over.get()
            on:dragover=move |ev: web_sys::DragEvent| { ev.prevent_default(); over.set(true); }
            on:dragleave=move |_| over.set(false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                over.set(false);
                run(files_of(ev.data_transfer().and_then(|d| d.files())));
            }>
            <label class="dash-import-pick">
                <span class="button">"Import…"</span>
                <input type="file" id="dash-import-file" accept=".json,application/json" multiple
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        let files = files_of(input.files());
                        input.set_value("");
                        run(files);
                    } />
            </label>
            <span class="note">"or drop Grafana or Lookout JSON files here"</span>
            <label class="dash-import-replace">
                <input type="checkbox" id="dash-import-replace" prop:checked=move || replace.get()
                    on:change=move |ev| replace.set(event_target_checked(&ev)) />
                " replace a dashboard with the same uid"
            </label>
            {move || progress.get().map(|(done, total)| view! {
                <span class="dash-import-progress">
                    <progress id="dash-import-progress" max=total.to_string() value=done.to_string()></progress>
                    {format!(" {done} of {total} files")}
                </span>
            })}
        </div>
    }
}

/// The last import's lines (kept above the list or the opened dashboard until dismissed).
#[component]
pub fn ImportResults() -> impl IntoView {
    let store = use_dash_store();
    view! {
        <Show when=move || store.imports.with(|l| !l.is_empty())>
            <div class="dash-import-results" id="dash-import-results">
                <ul>
                    {move || store.imports.get().into_iter().map(|l| {
                        let ok = l.uid.is_some();
                        view! {
                            <li class=if ok { "import-ok" } else { "import-error error" } data-file=l.file.clone()
                                data-uid=l.uid.clone().unwrap_or_default()>
                                {ok.then(|| view! { <strong class="import-file">{format!("{}: imported", l.file)}</strong> })}
                                <span class="import-text">{l.text}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <button id="dash-import-dismiss" on:click=move |_| store.imports.set(Vec::new())>"Dismiss"</button>
            </div>
        </Show>
    }
}
