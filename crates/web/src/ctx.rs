//! The page's shared state for its components (leptos context): the predict state, the
//! last prediction, the live numbers and the WebGPU switch.

use std::rc::Rc;

use leptos::prelude::*;

use crate::gpu::GpuState;
use crate::state::{Live, PageState, Shown};
use crate::webcpu::CpuState;

#[derive(Clone, Copy)]
pub struct PageCtx {
    pub state: StoredValue<Rc<PageState>, LocalStorage>,
    pub shown: RwSignal<Option<Shown>>,
    pub error: RwSignal<Option<String>>,
    pub live: RwSignal<Live>,
    pub gpu_state: RwSignal<GpuState>,
    pub use_gpu: RwSignal<bool>,
    /// The relaxed-SIMD CPU module.
    pub cpu_state: RwSignal<CpuState>,
}

impl PageCtx {
    pub fn new(state: Rc<PageState>) -> Self {
        Self {
            state: StoredValue::new_local(state),
            shown: RwSignal::new(None),
            error: RwSignal::new(None),
            live: RwSignal::new(Live {
                push: "not pushed yet".into(),
                ..Live::default()
            }),
            gpu_state: RwSignal::new(GpuState::Checking),
            use_gpu: RwSignal::new(false),
            cpu_state: RwSignal::new(CpuState::Checking),
        }
    }

    /// Scrapes (when due) and refreshes the live view; `push` replaces the push status.
    pub fn refresh(&self, push: Option<String>) {
        let live = self.live;
        let push = push.unwrap_or_else(|| live.get_untracked().push);
        live.set(self.state.with_value(|s| s.live(push)));
    }

    /// The adapter predictions go to now: WebGPU when chosen and ready, else CPU.
    pub fn gpu_now(&self) -> Option<String> {
        match self.gpu_state.get_untracked() {
            GpuState::Ready(a) if self.use_gpu.get_untracked() => Some(a),
            _ => None,
        }
    }

    /// Whether CPU predictions go to the relaxed-SIMD module (loaded and ready).
    pub fn relaxed_now(&self) -> bool {
        matches!(self.cpu_state.get_untracked(), CpuState::Ready(_))
    }

    /// Classifies one image and shows the result (or the error).
    pub async fn classify_one(self, source: String, bytes: Vec<u8>) {
        let s = self.state.get_value();
        match s
            .predict(&source, &bytes, self.gpu_now(), self.relaxed_now())
            .await
        {
            Ok(r) => {
                self.error.set(None);
                self.shown.set(Some(r));
            }
            Err(e) => self.error.set(Some(format!("{source}: {e}"))),
        }
        self.refresh(None);
    }
}

pub fn use_page() -> PageCtx {
    expect_context::<PageCtx>()
}
