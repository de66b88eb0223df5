//! The dashboard's grid: 24 columns, rows of 30 px with 8 px gaps (Grafana's), a CSS grid
//! with every row and panel at its `Dashboard::layout()` position (collapsed rows applied),
//! keyed by id so a moved panel keeps its chart. Moving (drag the panel header) and resizing
//! (the handle bottom-right) follow the pointer snapped to grid cells; on release the new
//! position goes to `Dashboard::set_pos`, which pushes overlapped panels down.

use leptos::ev;
use leptos::prelude::*;
use lookout_dashboard::model::{GRID_COLUMNS, GridPos};
use lookout_dashboard::{Dashboard, LayoutItem};

use crate::components::dashboard_panel::DashboardPanel;
use crate::components::dashboard_row::RowHeader;
use crate::components::notebook::use_notebook;

/// Grafana's grid: row height and gap, in CSS px.
pub const ROW_PX: f64 = 30.0;
pub const GAP_PX: f64 = 8.0;

/// What a drag does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DragMode {
    Move,
    Resize,
}

/// A drag in progress: the panel, its display position when it started, where the pointer
/// started and is now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drag {
    pub id: u64,
    pub mode: DragMode,
    pub orig: GridPos,
    pub start: (f64, f64),
    pub now: (f64, f64),
}

/// The grid's drag state (context): panels start drags; the grid follows and ends them.
#[derive(Clone, Copy)]
pub struct GridCtx {
    pub drag: RwSignal<Option<Drag>>,
}

pub fn use_grid() -> GridCtx {
    expect_context::<GridCtx>()
}

/// The snapped position of a drag over a grid `width` px wide.
fn dragged(d: &Drag, width: f64) -> GridPos {
    let col = ((width + GAP_PX) / f64::from(GRID_COLUMNS)).max(1.0);
    let row = ROW_PX + GAP_PX;
    let dx = ((d.now.0 - d.start.0) / col).round() as i64;
    let dy = ((d.now.1 - d.start.1) / row).round() as i64;
    let o = d.orig;
    let cols = i64::from(GRID_COLUMNS);
    match d.mode {
        DragMode::Move => GridPos {
            x: (i64::from(o.x) + dx).clamp(0, cols - i64::from(o.w)) as u32,
            y: (i64::from(o.y) + dy).max(0) as u32,
            ..o
        },
        DragMode::Resize => GridPos {
            w: (i64::from(o.w) + dx).clamp(1, cols - i64::from(o.x)) as u32,
            h: (i64::from(o.h) + dy).max(1) as u32,
            ..o
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Row(u64),
    Panel(u64),
}

#[component]
pub fn DashboardGrid() -> impl IntoView {
    let ctx = use_notebook();
    let grid = GridCtx {
        drag: RwSignal::new(None),
    };
    provide_context(grid);
    let holder = NodeRef::<leptos::html::Div>::new();
    let layout = Memo::new(move |_| ctx.doc.with(Dashboard::layout));
    let width = move || {
        holder
            .get_untracked()
            .map_or(1200.0, |e| f64::from(e.client_width()))
    };
    // Where each thing is drawn: its layout position, or the drag's preview.
    let position = move |id: u64| -> Option<GridPos> {
        if let Some(d) = grid.drag.get().filter(|d| d.id == id) {
            return Some(dragged(&d, width()));
        }
        layout.with(|l| {
            l.iter().find_map(|i| match i {
                LayoutItem::Panel { id: p, pos } if *p == id => Some(*pos),
                _ => None,
            })
        })
    };
    let moves = window_event_listener(ev::pointermove, move |e| {
        if grid.drag.get_untracked().is_some() {
            e.prevent_default();
            grid.drag.update(|d| {
                if let Some(d) = d {
                    d.now = (f64::from(e.client_x()), f64::from(e.client_y()));
                }
            });
        }
    });
    let ends = window_event_listener(ev::pointerup, move |e| {
        let Some(mut d) = grid.drag.get_untracked() else {
            return;
        };
        d.now = (f64::from(e.client_x()), f64::from(e.client_y()));
        grid.drag.set(None);
        let new = dragged(&d, width());
        if new != d.orig {
            // A drag is in display rows (collapsed rows applied): the model maps it back.
            ctx.doc.update(|doc| {
                doc.set_display_pos(d.id, new);
            });
        }
    });
    on_cleanup(move || {
        moves.remove();
        ends.remove();
    });
    let keys = move || {
        layout.with(|l| {
            l.iter()
                .map(|i| match i {
                    LayoutItem::Row { id, .. } => Key::Row(*id),
                    LayoutItem::Panel { id, .. } => Key::Panel(*id),
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="dash-grid" id="dash-grid" node_ref=holder
            class:dragging=move || grid.drag.with(Option::is_some)
            style=format!("grid-auto-rows: {ROW_PX}px; gap: {GAP_PX}px;")>
            <For each=keys key=|k| *k children=move |k| match k {
                Key::Row(id) => {
                    let y = Signal::derive(move || layout.with(|l| l.iter().find_map(|i| match i {
                        LayoutItem::Row { id: r, y } if *r == id => Some(*y),
                        _ => None,
                    })).unwrap_or(0));
                    view! { <RowHeader id=id y=y /> }.into_any()
                }
                Key::Panel(id) => {
                    let pos = Signal::derive(move || position(id).unwrap_or_default());
                    view! { <DashboardPanel id=id pos=pos /> }.into_any()
                }
            } />
            {move || grid.drag.get().map(|d| {
                let p = dragged(&d, width());
                view! {
                    <div class="dash-drop" style=format!("grid-column: {} / span {}; grid-row: {} / span {};", p.x + 1, p.w, p.y + 1, p.h)></div>
                }
            })}
        </div>
    }
}
