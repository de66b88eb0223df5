//! The page: classify images in the browser on the one predict pipeline (`lookout-service`
//! over `lookout-model`, compact 4/8-bit weights, the CPU plan's wasm SIMD kernels, or WebGPU
//! through the separately loaded `lookout-webgpu` module, see `gpu.rs`), record every
//! prediction in the page's own metrics, scrape them into the embedded PromQL store, push them
//! through the server's same-origin proxy, and write PromQL about them in the notebook (its
//! own wasm module, `crates/notebook`, loaded when first opened: `notebook_host.rs`).
//!
//! Components, one per file in `components/`; shared state in `ctx.rs` (leptos context);
//! the non-drawing state in `state.rs`; browser glue in `platform.rs`.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::classify::Classify;
use crate::components::live::LiveView;
use crate::components::notebook_host::NotebookHost;
use crate::ctx::PageCtx;
use crate::state::PageState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Classify,
    Notebook,
}

#[component]
fn App() -> impl IntoView {
    let state = match PageState::new() {
        Ok(s) => Rc::new(s),
        Err(e) => {
            return view! { <main><p class="error">{format!("The model could not load: {e}")}</p></main> }
                .into_any();
        }
    };
    let page = PageCtx::new(state);
    provide_context(page);
    let state = page.state;
    // Live view and pushes on a timer; a final push when the page is hidden.
    set_interval(
        move || {
            page.refresh(None);
            let s = state.get_value();
            leptos::task::spawn_local(async move {
                if let Some(status) = s.push().await {
                    page.refresh(Some(status));
                }
            });
        },
        std::time::Duration::from_secs(2),
    );
    if let Some(w) = web_sys::window() {
        let on_hide = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            state.with_value(|s| s.flush());
        });
        let _ = w.add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
        on_hide.forget();
    }

    // A shared dashboard link (`#dashboard=…`) opens the notebook, which shows the dashboard.
    let shared_link = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.url().ok())
        .is_some_and(|u| {
            u.split_once('#')
                .is_some_and(|(_, f)| f.contains("dashboard="))
        });
    let tab = RwSignal::new(if shared_link {
        Tab::Notebook
    } else {
        Tab::Classify
    });
    // The notebook mounts (and loads its editor and charts) the first time it is opened,
    // then stays mounted so its editors keep their state.
    let notebook_opened = Memo::new(move |before: Option<&bool>| {
        before.copied().unwrap_or(false) || tab.get() == Tab::Notebook
    });
    let tab_button = move |t: Tab, id: &'static str, text: &'static str| {
        view! {
            <button id=id class="tab" class:active=move || tab.get() == t on:click=move |_| tab.set(t)>
                {text}
            </button>
        }
    };
    view! {
        <header>
            <h1>"Lookout"</h1>
            <p class="sub">"A CIFAR-10 CNN in your browser, and how it behaves."</p>
            <nav class="tabs">
                {tab_button(Tab::Classify, "tab-classify", "Classify")}
                {tab_button(Tab::Notebook, "tab-notebook", "Notebook")}
            </nav>
        </header>
        <main class="classify-page" style:display=move || if tab.get() == Tab::Classify { "grid" } else { "none" }>
            <Classify />
            <LiveView />
        </main>
        <Show when=move || notebook_opened.get()>
            <div style:display=move || if tab.get() == Tab::Notebook { "block" } else { "none" }>
                <NotebookHost />
            </div>
        </Show>
    }
    .into_any()
}

pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
