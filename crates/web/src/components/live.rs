//! The live view (counts, latency, push status from the page's metrics store) and the
//! seed's traffic simulation in the page.

use leptos::prelude::*;

use crate::ctx::use_page;
use crate::platform::sleep_ms;

#[derive(Clone, Debug, Default, PartialEq)]
struct Traffic {
    running: bool,
    done: u32,
    total: u32,
    errors: u32,
}

#[component]
pub fn LiveView() -> impl IntoView {
    let page = use_page();
    let (state, shown, live) = (page.state, page.shown, page.live);
    let traffic = RwSignal::new(Traffic::default());
    let rate = RwSignal::new(10u32);
    let count = RwSignal::new(100u32);
    let stop = RwSignal::new(false);
    let gpu_now = move || page.gpu_now();
    let refresh = move |push: Option<String>| page.refresh(push);
    let run_traffic = move |_| {
        if traffic.get_untracked().running {
            return;
        }
        stop.set(false);
        let (n, per_s) = (count.get_untracked().max(1), rate.get_untracked().max(1));
        traffic.set(Traffic {
            running: true,
            done: 0,
            total: n,
            errors: 0,
        });
        leptos::task::spawn_local(async move {
            let samples = lookout_model::samples::SAMPLES;
            for i in 0..n {
                if stop.get_untracked() {
                    break;
                }
                let (name, bytes) = samples[(i as usize * 7 + 3) % samples.len()];
                let s = state.get_value();
                let ok = s.predict(name, bytes, gpu_now(), page.relaxed_now()).await;
                traffic.update(|t| {
                    t.done += 1;
                    t.errors += u32::from(ok.is_err());
                });
                if let Ok(r) = ok {
                    shown.set(Some(r));
                }
                sleep_ms((1000 / per_s) as i32).await;
            }
            traffic.update(|t| t.running = false);
            refresh(None);
        });
    };

    view! {
        <section class="live">
                <h2>"Now"</h2>
                <p>
                    <span id="total">{move || live.get().total}</span>
                    " predictions · p50 latency "
                    <span id="p50">
                        {move || {
                            live.get().p50_ms.map(|v| format!("{v:.2} ms")).unwrap_or("–".into())
                        }}
                    </span>
                </p>
                <p class="runtimes" id="runtimes">
                    {move || {
                        live.get()
                            .per_runtime
                            .into_iter()
                            .map(|(r, v)| format!("{r}: {v}"))
                            .collect::<Vec<_>>()
                            .join(" · ")
                    }}
                </p>
                <ul class="counts">
                    {move || {
                        live.get()
                            .per_label
                            .into_iter()
                            .map(|(l, v)| view! { <li>{format!("{l}: {v}")}</li> })
                            .collect_view()
                    }}
                </ul>
                <p class="push" id="push">{move || live.get().push}</p>
                <h2>"Traffic"</h2>
                <p>
                    <input type="number" min="1" max="500" prop:value=move || rate.get()
                        on:input=move |ev| rate.set(event_target_value(&ev).parse().unwrap_or(10)) />
                    " per second, "
                    <input type="number" min="1" max="100000" prop:value=move || count.get()
                        on:input=move |ev| count.set(event_target_value(&ev).parse().unwrap_or(100)) />
                    " predictions "
                    <button id="traffic" on:click=run_traffic>"Run"</button>
                    <button id="stop" on:click=move |_| stop.set(true)>"Stop"</button>
                </p>
                <progress id="progress" max=move || traffic.get().total value=move || traffic.get().done></progress>
                <span>{move || {
                    let t = traffic.get();
                    if t.total == 0 { String::new() } else {
                        format!("{} / {}{}{}", t.done, t.total,
                            if t.errors > 0 { format!(", {} errors", t.errors) } else { String::new() },
                            if t.running { " …" } else { "" })
                    }
                }}</span>
            </section>
    }
}
