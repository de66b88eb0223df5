//! The plan's wasm kernels in a real browser (headless Chromium) against the f64 oracle
//! (`oracle/mod.rs`): simd128, or with `--features relaxed-simd` relaxed SIMD's fused
//! multiply-add (which may round otherwise; the same tolerance). Run: `wasm-pack test
//! --headless --chrome --mode no-install -- --release --test browser [--features relaxed-simd]`.
#![cfg(target_arch = "wasm32")]

mod oracle;

use lookout_cpu::Kernel;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn wasm_kernels_match_the_reference() {
    assert_eq!(Kernel::detect(), Kernel::Wasm, "built without simd128");
    let name = if cfg!(feature = "relaxed-simd") {
        "wasm-relaxed-simd"
    } else {
        "wasm-simd128"
    };
    assert_eq!(Kernel::Wasm.name(), name);
    for (kernel, batch) in [(Kernel::Wasm, 1), (Kernel::Wasm, 3), (Kernel::Portable, 2)] {
        let worst = oracle::worst_error(kernel, batch);
        assert!(
            worst < 1e-4,
            "{kernel:?} batch {batch}: worst relative logit error {worst:e}"
        );
    }
}
