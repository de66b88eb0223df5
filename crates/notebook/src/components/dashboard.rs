//! One open dashboard: title, description, one time range and refresh for every panel, the
//! grid, and its save indicator. Every change is saved at once (after 150 ms of quiet, so a
//! burst of keystrokes is one version; at once when the page is left; noted synchronously
//! in localStorage meanwhile, so a tab closed within those 150 ms loses nothing) through the dashboards' store; saves never overlap, and
//! one refused because another tab saved a newer version offers "reload theirs / overwrite
//! with mine" (as does a 409 from the server). A copy replaced elsewhere (another tab, the
//! server) is reloaded when this view has no unsaved edits.
//!
//! Above the grid: the variables bar (`variables_bar.rs`); in the bar: the variables editor,
//! "Share" and "Export" (`share.rs`). A dashboard opened from a shared link is an unsaved copy
//! (nothing is written until "Save to my dashboards", which gives it a free uid).

use leptos::prelude::*;
use lookout_dashboard::{Cell, Dashboard};

use crate::alerting::{Evaluator, evaluate_in_tab, use_alerts};
use crate::components::dashboard_grid::DashboardGrid;
use crate::components::notebook::NotebookCtx;
use crate::components::panel_editor::PanelEditor;
use crate::components::save_state::SaveStateView;
use crate::components::share::{self, ShareBox, Shared};
use crate::components::time_picker::TimePicker;
use crate::components::variables_bar::{VariablesBar, VarsCtx};
use crate::components::variables_editor::VariablesEditor;
use crate::components::versions::{VersionsPanel, load_versions};
use crate::dash_store::{Conflict, Server, journal_clear, journal_write, use_dash_store};
use crate::page_feed::use_feed;
use crate::platform::clear_fragment;
use crate::storage::VersionRecord;

const SAVE_DELAY_MS: u64 = 150;

/// The open dashboard's own state (context).
#[derive(Clone, Copy)]
pub struct DashCtx {
    pub uid: StoredValue<String>,
    /// The panel in the editor.
    pub editing: RwSignal<Option<u64>>,
    pub versions_open: RwSignal<bool>,
    /// The kept versions (newest first) while the versions panel is open.
    pub versions: RwSignal<Vec<VersionRecord>>,
    pub versions_error: RwSignal<Option<String>>,
    /// The share box's link, while open.
    pub share: RwSignal<Option<Shared>>,
    /// Who evaluates this dashboard's alerts: the server (a saved dashboard on `lookout
    /// serve`) or this tab.
    pub alerts_by: Signal<Evaluator>,
}

pub fn use_dash() -> DashCtx {
    expect_context::<DashCtx>()
}

#[component]
pub fn DashboardView(
    uid: String,
    /// A dashboard from a shared link: shown, never saved until the user saves it.
    #[prop(optional)]
    shared: Option<Dashboard>,
) -> impl IntoView {
    let store = use_dash_store();
    let unsaved = shared.is_some();
    let Some(initial) = shared.or_else(|| store.doc(&uid)) else {
        return view! {
            <p class="error">{format!("There is no dashboard “{uid}”.")}</p>
            <button on:click=move |_| store.open_dashboard(None)>"Back to the list"</button>
        }
        .into_any();
    };
    let doc = RwSignal::new(initial);
    let ctx = NotebookCtx::new(doc);
    provide_context(ctx);
    ctx.refresh();
    ctx.auto_refresh();
    let base = StoredValue::new(doc.get_untracked().version);
    let dirty = StoredValue::new(false);
    let saving = StoredValue::new(false);
    let again = StoredValue::new(false);
    let loading = StoredValue::new(false);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let uid_sv = StoredValue::new(uid.clone());

    // One save at a time, of the document as it is when it starts; edits made meanwhile are
    // saved right after.
    let save_now = move || {
        if let Some(Some(h)) = timer.try_get_value() {
            h.clear();
            timer.set_value(None);
        }
        if saving.get_value() {
            again.set_value(true);
            return;
        }
        saving.set_value(true);
        leptos::task::spawn_local(async move {
            loop {
                let Some(d) = doc.try_get_untracked() else {
                    return;
                };
                let Some(b) = base.try_get_value() else {
                    return;
                };
                dirty.set_value(false);
                again.set_value(false);
                let result = store.save(d, b, true).await;
                if base.try_get_value().is_none() {
                    return; // the view is gone
                }
                match result {
                    Ok(v) => {
                        base.set_value(v);
                        doc.update_untracked(|d| d.version = v);
                        if dirty.get_value() {
                            doc.with_untracked(|d| journal_write(d, v));
                        }
                    }
                    Err(()) => break,
                }
                if !again.get_value() {
                    if !dirty.get_value() {
                        journal_clear(&uid_sv.get_value());
                    }
                    break;
                }
            }
            let _ = saving.try_set_value(false);
        });
    };
    Effect::new(move |prev: Option<()>| {
        doc.track();
        if prev.is_none() || unsaved {
            return;
        }
        if loading.get_value() {
            loading.set_value(false);
            return;
        }
        dirty.set_value(true);
        store.set_saving(&uid_sv.get_value());
        doc.with_untracked(|d| journal_write(d, base.get_value()));
        if let Some(Some(h)) = timer.try_get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                if timer.try_get_value().is_some() {
                    save_now();
                }
            },
            std::time::Duration::from_millis(SAVE_DELAY_MS),
        )
        .ok();
        timer.set_value(handle);
    });
    // Leaving the page: what is not saved yet is saved now.
    let on_hide = window_event_listener_untyped("pagehide", move |_| {
        if dirty.get_value() {
            save_now();
        }
    });
    on_cleanup(move || {
        on_hide.remove();
        if dirty.try_get_value() == Some(true)
            && let (Some(d), Some(b)) = (doc.try_get_untracked(), base.try_get_value())
        {
            leptos::task::spawn_local(async move {
                let _ = store.save(d, b, true).await;
            });
        }
    });
    // Replaces the document without saving it (a reload).
    let replace = Callback::new(move |d: Dashboard| {
        base.set_value(d.version);
        loading.set_value(true);
        doc.set(d);
        ctx.refresh();
    });
    // Replaced elsewhere: reload when nothing here is unsaved.
    Effect::new(move |_| {
        let (changed, _) = store.replaced.get();
        let me = uid_sv.get_value();
        if unsaved || changed != me || dirty.get_value() || saving.get_value() {
            return;
        }
        if let Some(d) = store.doc(&me)
            && d.version != base.get_value()
        {
            replace.run(d);
        }
    });
    let dctx = DashCtx {
        uid: uid_sv,
        editing: RwSignal::new(None),
        versions_open: RwSignal::new(false),
        versions: RwSignal::new(Vec::new()),
        versions_error: RwSignal::new(None),
        share: RwSignal::new(None),
        alerts_by: Signal::derive(move || {
            if !unsaved && store.server.with(Server::served) {
                Evaluator::Server
            } else {
                Evaluator::Tab
            }
        }),
    };
    provide_context(dctx);
    // Without a server to evaluate them (local-only, or an unsaved copy), this tab evaluates
    // the dashboard's alerts while it is open.
    evaluate_in_tab(
        use_alerts(),
        use_feed(),
        store,
        uid.clone(),
        doc,
        move || unsaved || store.server.try_with_untracked(|s| *s == Server::Local) == Some(true),
    );
    if !unsaved {
        load_versions(dctx);
    }
    let vars = VarsCtx::new();
    provide_context(vars);
    let settings_open = RwSignal::new(false);
    let editing_description = RwSignal::new(false);
    let export_open = RwSignal::new(false);

    let conflict = Memo::new(move |_| {
        if unsaved {
            return None;
        }
        store
            .conflicts
            .with(|c| c.get(&uid_sv.get_value()).cloned())
    });
    let reload_theirs = move |_| {
        let me = uid_sv.get_value();
        match conflict.get_untracked() {
            Some(Conflict::Tab(theirs)) => {
                store.accept(&theirs);
                replace.run(*theirs);
            }
            Some(Conflict::Server(theirs)) => {
                leptos::task::spawn_local(async move {
                    store.take_server_copy(*theirs).await;
                    if let Some(d) = store.doc(&me) {
                        replace.run(d);
                    }
                });
            }
            None => {}
        }
    };
    let overwrite = move |_| {
        let me = uid_sv.get_value();
        match conflict.get_untracked() {
            Some(Conflict::Tab(theirs)) => {
                store.clear_conflict(&me);
                base.set_value(theirs.version);
                save_now();
            }
            Some(Conflict::Server(theirs)) => {
                store.clear_conflict(&me);
                store.set_server_version(&me, theirs.version);
                leptos::task::spawn_local(store.sync(me));
            }
            None => {}
        }
    };
    let add_panel = move |_| {
        let mut id = 0;
        doc.update(|d| {
            id = d.add_panel(Cell {
                id: d.next_id(),
                title: "New panel".into(),
                ..Cell::default()
            });
        });
        dctx.editing.set(Some(id));
    };
    let add_row = move |_| {
        doc.update(|d| {
            d.add_row("Row title");
        });
    };
    let share_dashboard = move |_| {
        let link = doc.with_untracked(share::dashboard_link);
        dctx.share.set(Some(Shared {
            what: "dashboard",
            link,
        }));
    };
    let export = move |grafana: bool| {
        export_open.set(false);
        let result = doc.with_untracked(|d| {
            if grafana {
                share::export_grafana(d)
            } else {
                share::export_lookout(d)
            }
        });
        ctx.status.set(result.err());
    };
    let saving_copy = RwSignal::new(false);
    let save_copy = move |_| {
        if saving_copy.get_untracked() {
            return;
        }
        saving_copy.set(true);
        let d = doc.get_untracked();
        leptos::task::spawn_local(async move {
            match store.add_dashboard(d, false).await {
                Ok(uid) => {
                    clear_fragment();
                    store.open_dashboard(Some(uid));
                }
                Err(e) => {
                    let _ = ctx.status.try_set(Some(e));
                    let _ = saving_copy.try_set(false);
                }
            }
        });
    };
    let uid_for_state = uid.clone();
    let state_view = if unsaved {
        view! { <span class="save-state" data-state="unsaved" title="Opened from a link: not saved">"Not saved (opened from a link)"</span> }.into_any()
    } else {
        view! { <SaveStateView uid=uid_for_state /> }.into_any()
    };
    view! {
        <div class="dashboard" id="dashboard" data-uid=uid.clone() data-unsaved=unsaved.to_string()>
            <Show when=move || unsaved>
                <div class="dash-shared-note" id="dash-shared-note">
                    "This dashboard was opened from a shared link and is not saved. "
                    <button id="dash-save-shared" disabled=move || saving_copy.get() on:click=save_copy>"Save to my dashboards"</button>
                </div>
            </Show>
            <div class="dash-bar">
                <button id="dash-back" class="icon" title="All dashboards" on:click=move |_| store.open_dashboard(None)>"← Dashboards"</button>
                <input id="dash-title" class="dash-title" aria-label="Dashboard title"
                    prop:value=move || doc.with(|d| d.title.clone())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if doc.with_untracked(|d| d.title != v) { doc.update(|d| d.title = v); }
                    } />
                {state_view}
                <TimePicker prefix="dash-" />
            </div>
            <div class="dash-bar">
                // The description is shown as text (below); its input appears while it is
                // empty or being edited (a click on the text).
                <Show when=move || editing_description.get() || doc.with(|d| d.description.is_empty())>
                    <input id="dash-description" class="dash-description-input" aria-label="Description" placeholder="Description"
                        prop:value=move || doc.with(|d| d.description.clone())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if doc.with_untracked(|d| d.description != v) { doc.update(|d| d.description = v); }
                        }
                        on:blur=move |_| editing_description.set(false) />
                </Show>
                <span class="dash-actions">
                    <button id="dash-add-panel" on:click=add_panel>"+ Add panel"</button>
                    <button id="dash-add-row" on:click=add_row>"+ Add row"</button>
                    <button id="dash-variables-toggle" aria-expanded=move || settings_open.get().to_string()
                        on:click=move |_| settings_open.update(|v| *v = !*v)>"Variables"</button>
                    <Show when=move || !unsaved>
                        <button id="dash-versions-toggle" on:click=move |_| dctx.versions_open.update(|v| *v = !*v)>"Versions"</button>
                    </Show>
                    <button id="dash-share" on:click=share_dashboard>"Share"</button>
                    <span class="dash-export">
                        <button id="dash-export" aria-expanded=move || export_open.get().to_string()
                            on:click=move |_| export_open.update(|v| *v = !*v)>"Export ▾"</button>
                        <Show when=move || export_open.get()>
                            <span class="dash-menu dash-export-menu">
                                <button id="dash-export-grafana" on:click=move |_| export(true)>"Grafana JSON"</button>
                                <button id="dash-export-lookout" on:click=move |_| export(false)>"Lookout JSON"</button>
                            </span>
                        </Show>
                    </span>
                </span>
            </div>
            <p class="dash-description" id="dash-description-text" title="Click to edit the description"
                on:click=move |_| editing_description.set(true)>
                {move || doc.with(|d| d.description.clone())}
            </p>
            <p class="error" id="dash-status">{move || ctx.status.get().unwrap_or_default()}</p>
            {move || conflict.get().map(|c| {
                let (where_, v) = match &c {
                    Conflict::Tab(t) => ("in another tab", t.version),
                    Conflict::Server(t) => ("on the server", t.version),
                };
                view! {
                    <div class="dash-conflict" id="dash-conflict" role="alert">
                        {format!("This dashboard was changed {where_} (version {v}) after this tab loaded it; your last change is not saved there.")}
                        " "
                        <button id="dash-reload-theirs" on:click=reload_theirs>"Reload theirs"</button>
                        " "
                        <button id="dash-overwrite" on:click=overwrite>"Overwrite with mine"</button>
                    </div>
                }
            })}
            <ShareBox />
            <Show when=move || settings_open.get()>
                <VariablesEditor />
            </Show>
            <Show when=move || dctx.versions_open.get()>
                <VersionsPanel />
            </Show>
            <p class="note alerts-by" id="dash-alerts-by">{move || {
                let any = doc.with(|d| d.panels.iter().any(|p| p.alert.is_some()));
                if !any {
                    String::new()
                } else if dctx.alerts_by.get() == Evaluator::Server {
                    "Alerts: evaluated by the server.".to_string()
                } else {
                    if store.server.with(Server::served) {
                    "Alerts: evaluated in this tab while it is open; the server sends its notifications.".to_string()
                } else {
                    "Alerts: evaluated in this tab while it is open; notifications need lookout serve.".to_string()
                }
                }
            }}</p>
            <VariablesBar />
            <DashboardGrid />
            {move || dctx.editing.get().map(|id| view! { <PanelEditor id=id /> })}
        </div>
    }
    .into_any()
}
