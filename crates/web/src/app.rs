//! The page: classify images in the browser on the one predict pipeline (`lookout-service`
//! over `lookout-model`, compact 4/8-bit weights; burn's flex CPU backend with wasm SIMD, or WebGPU
//! through the separately loaded `lookout-webgpu` module, see `gpu.rs`), record every
//! prediction in the page's own metrics, scrape them into the embedded PromQL store for a live
//! view, push them to a Pushgateway through the server's same-origin proxy, and run the seed's
//! traffic simulation in the page.

use std::cell::RefCell;
use std::rc::Rc;

use base64::Engine as _;
use leptos::prelude::*;
use lookout_metrics::fetch::FetchTransport;
use lookout_metrics::push::{PushConfig, Pusher};
use lookout_metrics::{Format, Runtime};
use lookout_model::{Backend, Classifier, LABELS};
use lookout_promql::{Engine, Scraper, Storage, Value};
use lookout_service::{PredictResponse, Service};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_time::Instant;

use crate::gpu::{self, GpuState};

/// What the page shows about the CPU backend.
const CPU_BACKEND: &str = "wasm CPU (lookout-cpu, SIMD128)";
/// Where the page pushes: the native server's same-origin proxy to its Pushgateway.
const PUSH_BASE: &str = "/pushgateway";

struct State {
    service: Service,
    storage: RefCell<Storage>,
    scraper: RefCell<Scraper>,
    engine: Engine,
    /// `None` while a push is in flight.
    pusher: RefCell<Option<Pusher>>,
    pushed_predictions: RefCell<Option<u64>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Shown {
    source: String,
    label: String,
    confidence: f32,
    probabilities: Vec<(String, f32)>,
    ms: f64,
    backend: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Live {
    total: u64,
    per_label: Vec<(String, f64)>,
    per_runtime: Vec<(String, f64)>,
    p50_ms: Option<f64>,
    push: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Traffic {
    running: bool,
    done: u32,
    total: u32,
    errors: u32,
}

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

fn instance_id() -> String {
    let mut b = [0u8; 4];
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(&mut b);
    }
    format!("page-{:08x}", u32::from_le_bytes(b))
}

async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

impl State {
    fn new() -> Result<Self, String> {
        let classifier = Classifier::embedded(Backend::Cpu).map_err(|e| e.to_string())?;
        let instance = instance_id();
        let service = Service::new(classifier, Runtime::BrowserCpu, instance.clone());
        Ok(Self {
            service,
            storage: RefCell::new(Storage::new()),
            scraper: RefCell::new(Scraper::new(
                2_000,
                &[("job", "lookout"), ("instance", &instance)],
            )),
            engine: Engine::default(),
            pusher: RefCell::new(Some(Pusher::new(PushConfig {
                url: PUSH_BASE.into(),
                job: "lookout".into(),
                extra_grouping: Vec::new(),
            }))),
            pushed_predictions: RefCell::new(None),
        })
    }

    /// One image on wasm CPU, or on WebGPU when `gpu` names the ready adapter: decoding,
    /// softmax and metrics are the same code either way (`lookout-service`).
    async fn predict(
        &self,
        source: &str,
        bytes: &[u8],
        gpu: Option<String>,
    ) -> Result<Shown, String> {
        let (r, backend): (PredictResponse, String) = match gpu {
            None => (
                self.service
                    .predict_image(bytes, None)
                    .map_err(|e| e.to_string())?,
                CPU_BACKEND.to_string(),
            ),
            Some(adapter) => {
                let prepared = self
                    .service
                    .prepare_image(bytes, None)
                    .map_err(|e| e.to_string())?;
                let start = Instant::now();
                let logits = gpu::logits(prepared.input()).await?;
                let seconds = start.elapsed().as_secs_f64();
                let r = self
                    .service
                    .complete(&prepared, &logits, seconds, Runtime::BrowserWebgpu)
                    .map_err(|e| e.to_string())?;
                (r, format!("WebGPU ({adapter})"))
            }
        };
        let probabilities = LABELS
            .iter()
            .map(|l| {
                let p = r
                    .probabilities
                    .get(*l)
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                ((*l).to_string(), p as f32)
            })
            .collect();
        Ok(Shown {
            source: source.to_string(),
            label: r.class.to_string(),
            confidence: r.confidence,
            probabilities,
            ms: r.inference_ms,
            backend,
        })
    }

    /// Scrapes the page's metrics into the store (when due) and asks it for the live view.
    fn live(&self, push: String) -> Live {
        let now = now_ms();
        let metrics = self.service.metrics();
        let _ = self.scraper.borrow_mut().scrape_if_due(
            &mut self.storage.borrow_mut(),
            || metrics.encode(Format::Text),
            now,
        );
        let storage = self.storage.borrow();
        let by = |label: &str| -> Vec<(String, f64)> {
            let q = format!("sort_desc(sum by ({label}) (prediction_value_total) > 0)");
            match self.engine.instant_query(&storage, &q, now) {
                Ok(Value::Vector(v)) => v
                    .into_iter()
                    .map(|s| (s.labels.get(label).unwrap_or("").to_string(), s.v))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let per_label = by("label");
        let per_runtime = by("runtime");
        let p50_ms = match self.engine.instant_query(
            &storage,
            "histogram_quantile(0.5, sum by (le) (rate(inference_time_bucket[1m])))",
            now,
        ) {
            Ok(Value::Vector(v)) => v.first().map(|s| s.v * 1e3).filter(|v| v.is_finite()),
            _ => None,
        };
        Live {
            total: metrics.predictions_total(),
            per_label,
            per_runtime,
            p50_ms,
            push,
        }
    }

    /// The last state when the page is hidden: a beacon outlives the page (a POST, which the
    /// Pushgateway applies like the PUT for our families: every one is in the body).
    fn flush(&self) {
        let total = self.service.metrics().predictions_total();
        if *self.pushed_predictions.borrow() == Some(total) {
            return;
        }
        let Some(request) = self
            .pusher
            .borrow()
            .as_ref()
            .map(|p| p.request(self.service.metrics()))
        else {
            return; // a push is in flight and carries the state
        };
        if let Some(w) = web_sys::window() {
            let _ = w
                .navigator()
                .send_beacon_with_opt_str(&request.url, Some(&request.body));
        }
    }

    /// Pushes when there is something new (or a failed push to retry); returns the status.
    async fn push(self: Rc<Self>) -> Option<String> {
        let total = self.service.metrics().predictions_total();
        if *self.pushed_predictions.borrow() == Some(total) {
            return None;
        }
        let mut pusher = self.pusher.borrow_mut().take()?;
        let result = pusher.push(self.service.metrics(), &FetchTransport).await;
        let status = match &result {
            Ok(()) => {
                *self.pushed_predictions.borrow_mut() = Some(total);
                format!(
                    "pushed {total} predictions via {PUSH_BASE} ({} pushes)",
                    pusher.status().pushes_ok
                )
            }
            Err(lookout_metrics::push::PushError::Status(503)) => {
                "no Pushgateway behind this server (503): metrics stay in the page".into()
            }
            Err(e) => format!("push failed, will retry: {e}"),
        };
        *self.pusher.borrow_mut() = Some(pusher);
        Some(status)
    }
}

async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("cannot read {}: {e:?}", file.name()))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

#[component]
fn App() -> impl IntoView {
    let state = match State::new() {
        Ok(s) => StoredValue::new_local(Rc::new(s)),
        Err(e) => {
            return view! { <main><p class="error">{format!("The model could not load: {e}")}</p></main> }
                .into_any();
        }
    };
    let limit = state.with_value(|s| s.service.classifier().limits().max_bytes);
    let shown = RwSignal::new(None::<Shown>);
    let error = RwSignal::new(None::<String>);
    let live = RwSignal::new(Live {
        push: "not pushed yet".into(),
        ..Live::default()
    });
    let traffic = RwSignal::new(Traffic::default());
    let rate = RwSignal::new(10u32);
    let count = RwSignal::new(100u32);
    let stop = RwSignal::new(false);

    let refresh = move |push: Option<String>| {
        let push = push.unwrap_or_else(|| live.get_untracked().push);
        live.set(state.with_value(|s| s.live(push)));
    };
    // WebGPU: found without loading anything; the module loads when WebGPU is chosen (by
    // default as soon as a hardware adapter is found, after the page is up on CPU; a
    // software fallback adapter is slower than the CPU plan, so only on request).
    let gpu_state = RwSignal::new(GpuState::Checking);
    let use_gpu = RwSignal::new(false);
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
    // The adapter predictions go to now: WebGPU when chosen and ready, else CPU.
    let gpu_now = move || match gpu_state.get_untracked() {
        GpuState::Ready(a) if use_gpu.get_untracked() => Some(a),
        _ => None,
    };

    let classify_one = move |source: String, bytes: Vec<u8>| async move {
        let s = state.get_value();
        let result = s.predict(&source, &bytes, gpu_now()).await;
        match result {
            Ok(r) => {
                error.set(None);
                shown.set(Some(r));
            }
            Err(e) => error.set(Some(format!("{source}: {e}"))),
        }
        refresh(None);
    };
    let classify = move |source: String, bytes: Vec<u8>| {
        leptos::task::spawn_local(classify_one(source, bytes));
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
                    Ok(bytes) => classify_one(name, bytes).await,
                    Err(e) => error.set(Some(e)),
                }
            }
        });
    };

    // Live view and pushes on a timer; a final push when the page is hidden.
    set_interval(
        move || {
            refresh(None);
            let s = state.get_value();
            leptos::task::spawn_local(async move {
                if let Some(status) = s.push().await {
                    refresh(Some(status));
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
                let ok = s.predict(name, bytes, gpu_now()).await;
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

    let gallery: Vec<(String, String)> = lookout_model::samples::SAMPLES
        .iter()
        .map(|(name, bytes)| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            ((*name).to_string(), format!("data:image/jpeg;base64,{b64}"))
        })
        .collect();

    view! {
        <header>
            <h1>"Lookout"</h1>
            <p class="sub">"A CIFAR-10 CNN in your browser, and how it behaves."</p>
        </header>
        <main>
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
        </main>
    }
    .into_any()
}

pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
