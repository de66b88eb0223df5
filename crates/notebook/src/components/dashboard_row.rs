//! A row of the dashboard's grid: its title with a collapse toggle (a collapsed row hides its
//! panels and pulls up what follows: `Dashboard::layout`), and removal of the row only (its
//! panels join the row above, as Grafana's "Row only").

use leptos::prelude::*;

use crate::components::notebook::use_notebook;

#[component]
pub fn RowHeader(id: u64, y: Signal<u32>) -> impl IntoView {
    let ctx = use_notebook();
    let row = Memo::new(move |_| {
        ctx.doc
            .with(|d| d.rows.iter().find(|r| r.id == id).cloned())
    });
    let collapsed = move || row.with(|r| r.as_ref().is_some_and(|r| r.collapsed));
    let title = move || row.with(|r| r.as_ref().map(|r| r.title.clone()).unwrap_or_default());
    // Shown with the dashboard's variables substituted (as text); edited as written.
    let shown_title = move || {
        let t = title();
        ctx.doc.with(|d| {
            if d.variables.is_empty() {
                t
            } else {
                lookout_dashboard::variables::substitute_variables(
                    &t,
                    &d.variables,
                    lookout_dashboard::variables::VariableFormat::Text,
                )
            }
        })
    };
    let hidden = move || {
        ctx.doc.with(|d| {
            let shown = d.layout();
            d.panels
                .iter()
                .filter(|p| d.row_of(p.id) == Some(id))
                .filter(|p| {
                    !shown
                        .iter()
                        .any(|i| matches!(i, lookout_dashboard::LayoutItem::Panel { id, .. } if *id == p.id))
                })
                .count()
        })
    };
    let editing = RwSignal::new(false);
    view! {
        <div class="dash-row" id=format!("row-{id}") data-row=id.to_string()
            data-collapsed=move || collapsed().to_string()
            style=move || format!("grid-column: 1 / -1; grid-row: {} / span 1;", y.get() + 1)>
            <button class="row-toggle" aria-expanded=move || (!collapsed()).to_string()
                on:click=move |_| ctx.doc.update(|d| { d.toggle_row(id); })>
                {move || if collapsed() { "▸ " } else { "▾ " }}
            </button>
            {move || if editing.get() {
                view! {
                    <input class="row-title-input" aria-label="Row title" prop:value=title
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            ctx.doc.update(|d| if let Some(r) = d.rows.iter_mut().find(|r| r.id == id) { r.title = v; });
                            editing.set(false);
                        } />
                }.into_any()
            } else {
                view! { <span class="row-title" on:dblclick=move |_| editing.set(true)>{shown_title}</span> }.into_any()
            }}
            <Show when=collapsed>
                <span class="row-hidden">{move || format!("({} panels)", hidden())}</span>
            </Show>
            <button class="icon row-rename" title="Rename the row" on:click=move |_| editing.update(|e| *e = !*e)>"✎"</button>
            <button class="icon row-remove" title="Remove the row (its panels stay)"
                on:click=move |_| ctx.doc.update(|d| { d.remove_row(id); })>"×"</button>
        </div>
    }
}
