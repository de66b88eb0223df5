//! The dashboard settings' "Variables": add, remove and edit template variables (name, type,
//! label, query, regex, a query variable's sort and refresh, multi-value, "All", hide). A
//! change that would make the dashboard invalid (an empty, ill-formed or duplicate name) is
//! refused with its reason, so a saved dashboard always reads back; every accepted change
//! resolves the variables again.

use leptos::prelude::*;
use lookout_dashboard::variables::{Variable, VariableKind};

use crate::components::notebook::use_notebook;
use crate::components::variables_bar::{Scope, use_vars};

const KINDS: &[&str] = &[
    "query",
    "custom",
    "textbox",
    "constant",
    "interval",
    "datasource",
];

fn query_of(k: &VariableKind) -> String {
    match k {
        VariableKind::Query { query, .. }
        | VariableKind::Custom { query }
        | VariableKind::Constant { query }
        | VariableKind::Interval { query, .. }
        | VariableKind::Datasource { query, .. }
        | VariableKind::Textbox { query } => query.clone(),
    }
}

fn regex_of(k: &VariableKind) -> Option<String> {
    match k {
        VariableKind::Query { regex, .. } | VariableKind::Datasource { regex, .. } => {
            Some(regex.clone())
        }
        _ => None,
    }
}

/// A kind of type `name`, keeping the query and regex.
fn kind_named(name: &str, query: String, regex: String) -> VariableKind {
    match name {
        "query" => VariableKind::Query {
            query,
            regex,
            sort: 0,
            refresh: 1,
        },
        "textbox" => VariableKind::Textbox { query },
        "constant" => VariableKind::Constant { query },
        "interval" => VariableKind::Interval {
            query,
            auto: false,
            auto_count: 30,
            auto_min: "10s".into(),
        },
        "datasource" => VariableKind::Datasource {
            query: "prometheus".into(),
            regex,
        },
        _ => VariableKind::Custom { query },
    }
}

fn set_query(k: &mut VariableKind, v: String) {
    match k {
        VariableKind::Query { query, .. }
        | VariableKind::Custom { query }
        | VariableKind::Constant { query }
        | VariableKind::Interval { query, .. }
        | VariableKind::Datasource { query, .. }
        | VariableKind::Textbox { query } => *query = v,
    }
}

/// Grafana's sort options, by their number (0–8).
const SORTS: [&str; 9] = [
    "disabled",
    "alphabetical (asc)",
    "alphabetical (desc)",
    "numerical (asc)",
    "numerical (desc)",
    "alphabetical, case-insensitive (asc)",
    "alphabetical, case-insensitive (desc)",
    "natural (asc)",
    "natural (desc)",
];

/// A query variable's sort and refresh.
fn query_options(k: &VariableKind) -> Option<(u8, u8)> {
    match k {
        VariableKind::Query { sort, refresh, .. } => Some((*sort, *refresh)),
        _ => None,
    }
}

fn set_query_options(k: &mut VariableKind, new_sort: Option<u8>, new_refresh: Option<u8>) {
    if let VariableKind::Query { sort, refresh, .. } = k {
        if let Some(s) = new_sort {
            *sort = s.min(8);
        }
        if let Some(r) = new_refresh {
            *refresh = r.min(2);
        }
    }
}

fn set_regex(k: &mut VariableKind, v: String) {
    if let VariableKind::Query { regex, .. } | VariableKind::Datasource { regex, .. } = k {
        *regex = v;
    }
}

/// A change of the variables list.
type Edit = Box<dyn FnOnce(&mut Vec<Variable>)>;

#[component]
pub fn VariablesEditor() -> impl IntoView {
    let ctx = use_notebook();
    let vars = use_vars();
    let error = RwSignal::new(None::<String>);
    // Applies `f` to the variables when the dashboard stays valid.
    let edit = move |f: Edit| {
        let mut d = ctx.doc.get_untracked();
        f(&mut d.variables);
        if let Err(e) = d.validate() {
            error.set(Some(format!("Not changed: {e}")));
            return;
        }
        error.set(None);
        ctx.doc.update(|doc| doc.variables = d.variables);
        vars.resolve(Scope::All);
    };
    let count = Memo::new(move |_| ctx.doc.with(|d| d.variables.len()));
    let add = move |_| {
        edit(Box::new(|list| {
            let mut n = list.len() + 1;
            while list.iter().any(|v| v.name == format!("var{n}")) {
                n += 1;
            }
            list.push(Variable {
                name: format!("var{n}"),
                ..Variable::default()
            });
        }));
    };
    view! {
        <div class="dash-var-editor" id="dash-var-editor">
            <h3>"Variables"</h3>
            <p class="error" id="dash-var-editor-error" role="alert">{move || error.get().unwrap_or_default()}</p>
            <table class="var-table">
                <thead><tr>
                    <th>"Name"</th><th>"Type"</th><th>"Label"</th><th>"Query / values"</th><th>"Regex"</th>
                    <th>"Sort"</th><th>"Refresh"</th><th>"Multi"</th><th>"All"</th><th>"Hide"</th><th></th>
                </tr></thead>
                <tbody>
                    <For each=move || 0..count.get() key=|i| *i children=move |i| {
                        let var = Memo::new(move |_| ctx.doc.with(|d| d.variables.get(i).cloned()));
                        let get = move |f: fn(&Variable) -> String| move || var.with(|v| v.as_ref().map(f).unwrap_or_default());
                        let change = move |f: Box<dyn FnOnce(&mut Variable)>| edit(Box::new(move |list| {
                            if let Some(v) = list.get_mut(i) { f(v); }
                        }));
                        view! {
                            <tr class="var-row" data-index=i.to_string()>
                                <td><input class="var-name" size="12" aria-label="Name" prop:value=get(|v| v.name.clone())
                                    on:change=move |ev| { let n = event_target_value(&ev); change(Box::new(move |v| v.name = n.trim().to_string())); } /></td>
                                <td><select class="var-kind" aria-label="Type" prop:value=get(|v| v.kind.type_name().to_string())
                                    on:change=move |ev| {
                                        let k = event_target_value(&ev);
                                        change(Box::new(move |v| {
                                            let (q, r) = (query_of(&v.kind), regex_of(&v.kind).unwrap_or_default());
                                            v.kind = kind_named(&k, q, r);
                                        }));
                                    }>
                                    {KINDS.iter().map(|k| view! { <option value=*k>{*k}</option> }).collect_view()}
                                </select></td>
                                <td><input class="var-label-input" size="10" aria-label="Label" prop:value=get(|v| v.label.clone())
                                    on:change=move |ev| { let l = event_target_value(&ev); change(Box::new(move |v| v.label = l)); } /></td>
                                <td><input class="var-query" size="36" aria-label="Query" placeholder="label_values(metric, label) or a, b, c"
                                    prop:value=get(|v| query_of(&v.kind))
                                    on:change=move |ev| { let q = event_target_value(&ev); change(Box::new(move |v| set_query(&mut v.kind, q))); } /></td>
                                <td><input class="var-regex" size="12" aria-label="Regex" placeholder="/.*/"
                                    disabled=move || var.with(|v| v.as_ref().is_none_or(|v| regex_of(&v.kind).is_none()))
                                    prop:value=get(|v| regex_of(&v.kind).unwrap_or_default())
                                    on:change=move |ev| { let r = event_target_value(&ev); change(Box::new(move |v| set_regex(&mut v.kind, r))); } /></td>
                                <td><select class="var-sort" aria-label="Sort"
                                    disabled=move || var.with(|v| v.as_ref().is_none_or(|v| query_options(&v.kind).is_none()))
                                    prop:value=move || var.with(|v| v.as_ref().and_then(|v| query_options(&v.kind)).map_or(0, |(s, _)| s).to_string())
                                    on:change=move |ev| { let n = event_target_value(&ev).parse().unwrap_or(0); change(Box::new(move |v| set_query_options(&mut v.kind, Some(n), None))); }>
                                    {SORTS.iter().enumerate().map(|(i, t)| view! { <option value=i.to_string()>{*t}</option> }).collect_view()}
                                </select></td>
                                <td><select class="var-refresh" aria-label="Refresh"
                                    disabled=move || var.with(|v| v.as_ref().is_none_or(|v| query_options(&v.kind).is_none()))
                                    prop:value=move || var.with(|v| v.as_ref().and_then(|v| query_options(&v.kind)).map_or(1, |(_, r)| r).to_string())
                                    on:change=move |ev| { let n = event_target_value(&ev).parse().unwrap_or(1); change(Box::new(move |v| set_query_options(&mut v.kind, None, Some(n)))); }>
                                    <option value="0">"never"</option>
                                    <option value="1">"on dashboard load"</option>
                                    <option value="2">"on time range change"</option>
                                </select></td>
                                <td><input type="checkbox" class="var-multi-input" aria-label="Multi-value"
                                    prop:checked=move || var.with(|v| v.as_ref().is_some_and(|v| v.multi))
                                    on:change=move |ev| { let c = event_target_checked(&ev); change(Box::new(move |v| v.multi = c)); } /></td>
                                <td><input type="checkbox" class="var-all-input" aria-label="Include All"
                                    prop:checked=move || var.with(|v| v.as_ref().is_some_and(|v| v.include_all))
                                    on:change=move |ev| { let c = event_target_checked(&ev); change(Box::new(move |v| v.include_all = c)); } /></td>
                                <td><select class="var-hide" aria-label="Hide" prop:value=get(|v| v.hide.to_string())
                                    on:change=move |ev| { let h = event_target_value(&ev).parse().unwrap_or(0); change(Box::new(move |v| v.hide = h)); }>
                                    <option value="0">"no"</option>
                                    <option value="1">"label"</option>
                                    <option value="2">"variable"</option>
                                </select></td>
                                <td><button class="var-remove danger" title="Remove the variable"
                                    on:click=move |_| edit(Box::new(move |list| { if i < list.len() { list.remove(i); } }))>"×"</button></td>
                            </tr>
                        }
                    } />
                </tbody>
            </table>
            <button id="dash-var-add" on:click=add>"+ Add variable"</button>
        </div>
    }
}
