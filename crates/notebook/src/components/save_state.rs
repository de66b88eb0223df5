//! A dashboard's save indicator: saving / saved (here, or on the server too) / saved here with
//! the server sync pending / failed (kept in this tab's memory) / conflict.

use leptos::prelude::*;

use crate::dash_store::{SaveState, Server, use_dash_store};

#[component]
pub fn SaveStateView(uid: String) -> impl IntoView {
    let store = use_dash_store();
    let uid = StoredValue::new(uid);
    let state = Memo::new(move |_| {
        store
            .entries
            .with(|e| e.get(&uid.get_value()).map(|e| e.state.clone()))
            .unwrap_or(SaveState::Saved)
    });
    let version = move || {
        store
            .entries
            .with(|e| e.get(&uid.get_value()).map(|e| e.version))
            .unwrap_or_default()
            .to_string()
    };
    let text = move || {
        let local = store
            .server
            .with(|s| matches!(s, Server::Local | Server::Checking));
        match state.get() {
            SaveState::Saved if local => "Saved in this browser".to_string(),
            SaveState::Saved => "Saved".to_string(),
            SaveState::Saving => "Saving…".to_string(),
            SaveState::Pending(why) => format!("Saved in this browser · sync pending ({why})"),
            SaveState::SyncFailed(why) => {
                format!("Saved in this browser · not on the server: {why}")
            }
            SaveState::Failed(why) => format!("Not saved ({why}) · kept in this tab"),
            SaveState::Conflict => "Conflict: choose below".to_string(),
        }
    };
    view! {
        <span class="save-state" data-state=move || state.get().id() data-version=version title=text>{text}</span>
    }
}
