//! Sharing and exporting the open dashboard: "Share dashboard" (and a panel menu's "Share
//! panel") shows a link that opens it in any browser with no server (the document, deflated,
//! in the fragment: `lookout_dashboard::share`), with a copy button; "Export" downloads it as
//! Grafana classic JSON (`lookout_grafana::export_pretty`) or Lookout JSON.

use leptos::prelude::*;
use lookout_dashboard::{Dashboard, DashboardError, share};

use crate::components::dashboard::use_dash;
use crate::platform::{copy_text, download, page_address};

/// The page's address with `fragment`.
pub fn share_url(fragment: Result<String, DashboardError>) -> Result<String, String> {
    fragment
        .map(|f| format!("{}#{f}", page_address()))
        .map_err(|e| format!("the dashboard could not be shared: {e}"))
}

/// The link sharing the whole dashboard.
pub fn dashboard_link(d: &Dashboard) -> Result<String, String> {
    share_url(share::encode(d))
}

/// The link sharing one panel.
pub fn panel_link(d: &Dashboard, id: u64) -> Result<String, String> {
    match share::encode_panel(d, id) {
        Some(f) => share_url(f),
        None => Err("that panel is gone".into()),
    }
}

fn file_stem(d: &Dashboard) -> String {
    if d.uid.is_empty() {
        lookout_dashboard::document::uid_from_title(&d.title)
    } else {
        d.uid.clone()
    }
}

/// Downloads `d` as Grafana classic JSON (`<uid>.json`).
pub fn export_grafana(d: &Dashboard) -> Result<(), String> {
    let json =
        lookout_grafana::export_pretty(d).map_err(|e| format!("the Grafana export failed: {e}"))?;
    download(&format!("{}.json", file_stem(d)), &json, "application/json")
}

/// Downloads `d` as Lookout JSON (`<uid>.lookout.json`).
pub fn export_lookout(d: &Dashboard) -> Result<(), String> {
    let json = d
        .to_json_pretty()
        .map_err(|e| format!("the export failed: {e}"))?;
    download(
        &format!("{}.lookout.json", file_stem(d)),
        &json,
        "application/json",
    )
}

/// What is being shared (context of the open dashboard).
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// "dashboard" or "panel".
    pub what: &'static str,
    pub link: Result<String, String>,
}

/// The share box: the link in a text field, a copy button.
#[component]
pub fn ShareBox() -> impl IntoView {
    let dash = use_dash();
    let copied = RwSignal::new(None::<String>);
    let field = NodeRef::<leptos::html::Input>::new();
    let copy = move |_| {
        let Some(Ok(link)) = dash.share.get_untracked().map(|s| s.link) else {
            return;
        };
        if let Some(f) = field.get_untracked() {
            f.select();
        }
        leptos::task::spawn_local(async move {
            let note = match copy_text(&link).await {
                Ok(()) => "Copied.".to_string(),
                Err(e) => format!("Not copied ({e}): the link is selected, press Ctrl+C."),
            };
            let _ = copied.try_set(Some(note));
        });
    };
    move || {
        dash.share.get().map(|s| {
            copied.set(None);
            let title = format!("Share {}", s.what);
            match s.link {
                Ok(link) => view! {
                    <div class="dash-share" id="dash-share-box" data-what=s.what>
                        <span class="share-title">{title}</span>
                        <input id="dash-share-url" readonly aria-label="Link" node_ref=field prop:value=link.clone()
                            on:focus=move |ev| { let i: web_sys::HtmlInputElement = event_target(&ev); i.select(); } />
                        <button id="dash-share-copy" on:click=copy>"Copy"</button>
                        <span class="note" id="dash-share-copied">{move || copied.get().unwrap_or_default()}</span>
                        <span class="note">{format!("{} characters; the dashboard travels in the link (never sent to a server).", link.len())}</span>
                        <button id="dash-share-close" class="icon" title="Close" on:click=move |_| dash.share.set(None)>"×"</button>
                    </div>
                }
                .into_any(),
                Err(e) => view! {
                    <div class="dash-share" id="dash-share-box">
                        <span class="error" role="alert">{e}</span>
                        <button id="dash-share-close" class="icon" title="Close" on:click=move |_| dash.share.set(None)>"×"</button>
                    </div>
                }
                .into_any(),
            }
        })
    }
}
