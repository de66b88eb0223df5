//! The alert list (the "Alerts" view): every rule — the server's when the page is served by
//! `lookout serve`, else those this tab evaluates — with its dashboard and panel (a click
//! opens the dashboard), state, since when, last evaluation and last error; a rule expands to
//! its history (the transitions, newest first, with their times and values). Everything from
//! rules and dashboards is rendered as text.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::alerting::{Evaluator, RuleRow, ago_text, time_text, use_alerts, values_text};
use crate::components::root::{View, use_shared};
use crate::dash_store::{Server, use_dash_store};

fn key_of(r: &RuleRow) -> String {
    format!("{}/{}", r.dashboard_uid, r.panel_id)
}

#[component]
pub fn AlertListView() -> impl IntoView {
    let alerts = use_alerts();
    let store = use_dash_store();
    let shared = use_shared();
    let served = Memo::new(move |_| store.server.with(Server::served));
    let rows = Memo::new(move |_| alerts.rows(served.get()));
    let expanded = RwSignal::new(BTreeSet::<String>::new());
    let note = move || {
        if served.get() {
            if alerts.server_enabled.get() || alerts.server.with(Option::is_none) {
                "Evaluated by the server (lookout serve), which sends the notifications."
                    .to_string()
            } else {
                "The server does not evaluate alerts (lookout serve --alerts off).".to_string()
            }
        } else {
            "Evaluated in this tab while a dashboard is open; notifications need lookout serve."
                .to_string()
        }
    };
    let open = move |uid: String| {
        shared.view.set(View::Dashboards);
        store.open_dashboard(Some(uid));
    };
    let row_view = move |r: RuleRow| {
        let key = key_of(&r);
        let k1 = key.clone();
        let k2 = key.clone();
        let is_open = Signal::derive(move || expanded.with(|e| e.contains(&k1)));
        let uid = r.dashboard_uid.clone();
        let since = r
            .since_ms
            .map(|t| format!("{} ({} ago)", time_text(t), ago_text(t)))
            .unwrap_or_default();
        let last = r.last_eval_ms.map(time_text).unwrap_or_default();
        let by = match r.by {
            Evaluator::Server => "server",
            Evaluator::Tab => "this tab",
        };
        let history = r.history.clone();
        let n = history.len();
        view! {
            <tr class="alert-row" data-key=key.clone() data-state=r.state.as_str() data-by=by>
                <td><button class="alert-open link" title="Open the dashboard"
                    on:click=move |_| open(uid.clone())>{r.name.clone()}</button></td>
                <td class="alert-dashboard">{r.dashboard_title.clone()}</td>
                <td class="alert-panel">{r.panel_title.clone()}</td>
                <td><span class="alert-state" data-state=r.state.as_str()
                    style=format!("--alert-color: {}", r.state.color())>{r.state.text()}</span></td>
                <td class="alert-since">{since}</td>
                <td class="alert-last-eval">{last}</td>
                <td class="alert-last-error">{r.last_error.clone().unwrap_or_default()}</td>
                <td><button class="alert-expand" aria-expanded=move || is_open.get().to_string()
                    on:click=move |_| expanded.update(|e| { if !e.remove(&k2) { e.insert(k2.clone()); } })>
                    {format!("History ({n})")}</button></td>
            </tr>
            <Show when=move || is_open.get()>
                <tr class="alert-history-row">
                    <td colspan="8">
                        <table class="alert-history">
                            <thead><tr><th>"time"</th><th>"change"</th><th>"values"</th></tr></thead>
                            <tbody>
                                {history.iter().rev().map(|t| {
                                    let change = match &t.instance {
                                        Some(i) => format!("{} → {} ({i})", t.from.text(), t.to.text()),
                                        None => format!("{} → {}", t.from.text(), t.to.text()),
                                    };
                                    view! {
                                        <tr class="alert-transition" data-to=t.to.as_str()>
                                            <td>{time_text(t.time_ms)}</td>
                                            <td>{change}</td>
                                            <td>{values_text(t)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </td>
                </tr>
            </Show>
        }
    };
    view! {
        <section class="alert-list" id="alert-list">
            <h2>"Alerts"</h2>
            <p class="note" id="alert-list-by">{note}</p>
            <p class="error" id="alert-list-error">{move || alerts.server_error.get().unwrap_or_default()}</p>
            <Show when=move || !rows.with(Vec::is_empty)
                fallback=|| view! { <p class="note" id="alert-list-empty">"No alert rules yet: add one to a panel (Edit → Alert)."</p> }>
                <table class="alert-table">
                    <thead><tr>
                        <th>"rule"</th><th>"dashboard"</th><th>"panel"</th><th>"state"</th>
                        <th>"since"</th><th>"last evaluation"</th><th>"last error"</th><th></th>
                    </tr></thead>
                    <tbody>
                        {move || rows.get().into_iter().map(row_view).collect_view()}
                    </tbody>
                </table>
            </Show>
        </section>
    }
}
