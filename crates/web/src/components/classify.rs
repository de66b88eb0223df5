//! Classify: drop, pick or click images; the backend switch; the prediction.

use base64::Engine as _;
use leptos::prelude::*;
use lookout_metrics::Runtime;

use crate::ctx::use_page;
use crate::gpu::{self, GpuState};
use crate::platform::read_file;
use crate::webcpu::{self, CpuState};

#[component]
pub fn Classify() -> impl IntoView {
    let page = use_page();
    let (state, shown, error, gpu_state, use_gpu, cpu_state) = (
        page.state,
        page.shown,
        page.error,
        page.gpu_state,
        page.use_gpu,
        page.cpu_state,
    );
    let limit = state.with_value(|s| s.service.classifier().limits().max_bytes);
    // WebGPU: found without loading anything; the module loads when WebGPU is chosen (by
    // default as soon as a hardware adapter is found, after the page is up on CPU; a
    // software fallback adapter is slower than the CPU plan, so only on request).
    // The browser's own description of the adapter (vendor, architecture), when it gives one.
    let adapter_info = StoredValue::new(None::<String>);
    let load_gpu = move || {
        if matches!(
            gpu_state.get_untracked(),
            GpuState::Loading | GpuState::Ready(_)
        ) {
            return;
        }
        gpu_state.set(GpuState::Loading);
        leptos::task::spawn_local(async move {
            match gpu::load().await {
                Ok(adapter) => {
                    state.with_value(|s| s.service.metrics().add_runtime(Runtime::BrowserWebgpu));
                    gpu_state.set(GpuState::Ready(adapter_info.get_value().unwrap_or(adapter)));
                }
                Err(e) => {
                    use_gpu.set(false);
                    gpu_state.set(GpuState::Failed(e));
                }
            }
        });
    };
    leptos::task::spawn_local(async move {
        match gpu::adapter().await {
            Some(adapter) if adapter.fallback => {
                adapter_info.set_value(Some(adapter.name.clone()));
                gpu_state.set(GpuState::Software(adapter.name));
            }
            Some(adapter) => {
                adapter_info.set_value(Some(adapter.name.clone()));
                gpu_state.set(GpuState::Available(adapter.name));
                use_gpu.set(true);
                load_gpu();
            }
            None => gpu_state.set(GpuState::Absent),
        }
    });
    // Relaxed SIMD: where the browser validates it, its module loads in the background after
    // the page is up; CPU predictions move to it once it is ready.
    leptos::task::spawn_local(async move {
        if webcpu::asked_off() {
            cpu_state.set(CpuState::Off);
        } else if !webcpu::relaxed_simd() {
            cpu_state.set(CpuState::Unsupported);
        } else {
            cpu_state.set(CpuState::Loading);
            match webcpu::load().await {
                Ok(kernel) => cpu_state.set(CpuState::Ready(kernel)),
                Err(e) => cpu_state.set(CpuState::Failed(e)),
            }
        }
    });
    let classify = move |source: String, bytes: Vec<u8>| {
        leptos::task::spawn_local(page.classify_one(source, bytes));
    };
    let classify_files = move |files: Option<web_sys::FileList>| {
        let Some(files) = files else { return };
        let list: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        leptos::task::spawn_local(async move {
            for f in list {
                let name = f.name();
                if f.size() > limit as f64 {
                    error.set(Some(format!(
                        "{name}: {:.1} MB is over the {} MiB limit; not read",
                        f.size() / 1e6,
                        limit >> 20
                    )));
                    continue;
                }
                match read_file(&f).await {
                    Ok(bytes) => page.classify_one(name, bytes).await,
                    Err(e) => error.set(Some(e)),
                }
            }
        });
    };
    let gallery: Vec<(String, String)> = lookout_model::samples::SAMPLES
        .iter()
        .map(|(name, bytes)| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            ((*name).to_string(), format!("data:image/jpeg;base64,{b64}"))
        })
        .collect();

    view! {
        <section class="classify">
                <h2>"Classify"</h2>
                <label
                    class="drop"
                    id="drop"
                    on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default()
                    on:drop=move |ev: web_sys::DragEvent| {
                        ev.prevent_default();
                        classify_files(ev.data_transfer().and_then(|d| d.files()));
                    }
                >
                    "Drop images here, or pick files"
                    <input
                        type="file"
                        id="file"
                        multiple=true
                        accept="image/*"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            classify_files(input.files());
                        }
                    />
                </label>
                <div class="gallery" id="gallery">
                    {gallery
                        .into_iter()
                        .map(|(name, url)| {
                            let n = name.clone();
                            let (title, data) = (name.clone(), name.clone());
                            view! {
                                <button
                                    class="sample"
                                    title=title
                                    data-name=data
                                    on:click=move |_| {
                                        if let Some((_, b)) = lookout_model::samples::SAMPLES
                                            .iter()
                                            .find(|(s, _)| *s == n)
                                        {
                                            classify(n.clone(), b.to_vec());
                                        }
                                    }
                                >
                                    <img src=url alt=name />
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                <p class="backends">
                    "Backend: "
                    <label>
                        <input type="radio" name="backend" id="use-webgpu"
                            prop:checked=move || use_gpu.get()
                            prop:disabled=move || matches!(gpu_state.get(), GpuState::Absent | GpuState::Checking)
                            on:change=move |_| {
                                use_gpu.set(true);
                                load_gpu();
                            } />
                        " WebGPU"
                    </label>
                    <label>
                        <input type="radio" name="backend" id="use-cpu"
                            prop:checked=move || !use_gpu.get()
                            on:change=move |_| use_gpu.set(false) />
                        " wasm CPU"
                    </label>
                    <span class="gpu-status" id="gpu-status">{move || gpu_state.get().describe()}</span>
                    <span class="cpu-status" id="cpu-status">{move || cpu_state.get().describe()}</span>
                </p>
                <p class="error" id="error">{move || error.get().unwrap_or_default()}</p>
                <div class="result" id="result">
                    {move || {
                        shown
                            .get()
                            .map(|r| {
                                view! {
                                    <p class="label">
                                        <span id="label">{r.label.clone()}</span>
                                        {format!(" {:.1} %", r.confidence * 100.0)}
                                    </p>
                                    <p class="meta">
                                        {format!("{} · {:.2} ms · ", r.source, r.ms)}
                                        <span id="backend">{r.backend.clone()}</span>
                                    </p>
                                    <ul class="bars">
                                        {r
                                            .probabilities
                                            .into_iter()
                                            .map(|(l, p)| {
                                                view! {
                                                    <li>
                                                        <span class="name">{l}</span>
                                                        <span class="bar">
                                                            <span style=format!(
                                                                "width: {:.1}%",
                                                                p * 100.0,
                                                            )></span>
                                                        </span>
                                                        <span class="p">{format!("{:.3}", p)}</span>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                            })
                    }}
                </div>
            </section>
    }
}
