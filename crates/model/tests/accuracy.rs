//! The shipped model: its accuracy on a fixed slice of the real test set, its agreement with
//! itself across backends, and the shipped samples. No daemon: these run with the model
//! crate's own `cargo test` (the wgpu case where the `wgpu` feature is on, as in
//! `cargo test --workspace`, which `cargo xtask test` runs).
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use lookout_model::cifar::CifarSet;
use lookout_model::eval::evaluate;
use lookout_model::preprocess::{INPUT_LEN, normalize_planar};
use lookout_model::{Backend, Classifier, label_index};

/// This crate's folder, at run time (a binary built in another checkout that shares the
/// target dir reads this checkout's files).
fn crate_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
}

/// The first 500 images of the CIFAR-10 test batch, shipped in the repository.
fn test_slice() -> PathBuf {
    crate_dir().join("../../tests/data/cifar10-test-500.bin")
}

/// The sample JPEGs shipped with this crate.
fn samples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(crate_dir().join("samples"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Accuracy of the embedded weights on the first 500 test images, as measured when the
/// weights were trained (see BENCHMARKS.md). The full-test-set figure is ≥ 80 %.
const SLICE_ACCURACY_FLOOR: f64 = 0.80;

#[test]
fn embedded_weights_accuracy_on_the_shipped_test_slice() {
    let set = CifarSet::load_files(&[test_slice()]).expect("shipped slice");
    assert_eq!(set.len(), 500);
    let clf = Classifier::embedded(Backend::Cpu).expect("embedded weights");
    let report = evaluate(&clf, &set, 100, |_| {}).expect("eval");
    println!("slice accuracy {:.4}", report.accuracy);
    assert!(
        report.accuracy >= SLICE_ACCURACY_FLOOR,
        "accuracy {:.4} below {SLICE_ACCURACY_FLOOR}",
        report.accuracy
    );
}

/// The compact weights (what the page and the edge worker embed) lose at most one point
/// against the f16 ones on the shipped slice (full test set: BENCHMARKS.md), and agree with
/// them on almost every image.
#[test]
fn compact_weights_stay_within_a_point_of_f16() {
    let set = CifarSet::load_files(&[test_slice()]).expect("shipped slice");
    let f16 = Classifier::embedded(Backend::Cpu).expect("f16 weights");
    let compact = Classifier::embedded_compact(Backend::Cpu).expect("compact weights");
    let a = evaluate(&f16, &set, 100, |_| {}).expect("eval f16");
    let b = evaluate(&compact, &set, 100, |_| {}).expect("eval compact");
    println!(
        "slice accuracy f16 {:.4}, compact {:.4}",
        a.accuracy, b.accuracy
    );
    assert!(b.accuracy >= SLICE_ACCURACY_FLOOR);
    assert!(
        b.accuracy >= a.accuracy - 0.01,
        "compact {:.4} vs f16 {:.4}",
        b.accuracy,
        a.accuracy
    );
    let mut same = 0;
    for i in 0..set.len() {
        let x = normalize_planar(set.image(i));
        let pa = f16.predict_inputs(&x).expect("f16")[0].class_index;
        let pb = compact.predict_inputs(&x).expect("compact")[0].class_index;
        same += usize::from(pa == pb);
    }
    assert!(same * 100 >= set.len() * 98, "{same}/{} agree", set.len());
}

#[test]
fn samples_are_mostly_recognised() {
    let clf = Classifier::embedded(Backend::Cpu).expect("embedded weights");
    let files = samples();
    assert!(files.len() >= 20);
    let mut right = 0;
    for f in &files {
        let bytes = std::fs::read(f).expect("sample");
        let p = clf.predict_bytes(&bytes, None).expect("predict");
        let want = f
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.split('_').nth(1))
            .and_then(label_index)
            .expect("label in file name");
        right += usize::from(p.class_index == want);
        assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    assert!(
        right * 10 >= files.len() * 7,
        "{right}/{} samples right",
        files.len()
    );
}

/// The CPU backend (lookout-cpu's Winograd kernels) against burn's flex backend running the
/// burn model itself, on the same weights: the 500 real test images in batches of 100 and
/// the shipped samples one at a time, for the f16 and the compact weights. Every probability
/// within 1e-4 and the same label everywhere.
#[test]
fn cpu_kernels_agree_with_burn_flex() {
    let set = CifarSet::load_files(&[test_slice()]).expect("shipped slice");
    let mut inputs = Vec::with_capacity(set.len() * INPUT_LEN);
    for i in 0..set.len() {
        inputs.extend(normalize_planar(set.image(i)));
    }
    let compact = lookout_model::weights::EMBEDDED_COMPACT;
    for (name, fast, flex) in [
        (
            "f16",
            Classifier::embedded(Backend::Cpu),
            Classifier::embedded(Backend::Flex),
        ),
        (
            "compact",
            Classifier::from_lkq(compact, Backend::Cpu),
            Classifier::from_lkq(compact, Backend::Flex),
        ),
    ] {
        let (fast, flex) = (fast.expect("cpu"), flex.expect("flex"));
        assert!(fast.cpu_kernel().is_some() && flex.cpu_kernel().is_none());
        let mut worst = 0.0f32;
        let mut compare = |a: &[lookout_model::Prediction], b: &[lookout_model::Prediction]| {
            for (pa, pb) in a.iter().zip(b) {
                assert_eq!(pa.label, pb.label, "{name}");
                for (x, y) in pa.probabilities.iter().zip(&pb.probabilities) {
                    worst = worst.max((x - y).abs());
                }
            }
        };
        for chunk in inputs.chunks(100 * INPUT_LEN) {
            compare(
                &fast.predict_inputs(chunk).expect("cpu"),
                &flex.predict_inputs(chunk).expect("flex"),
            );
        }
        for f in samples() {
            let bytes = std::fs::read(&f).expect("sample");
            compare(
                &[fast.predict_bytes(&bytes, None).expect("cpu")],
                &[flex.predict_bytes(&bytes, None).expect("flex")],
            );
        }
        println!(
            "{name} weights ({}): max |p_cpu - p_flex| = {worst:e}",
            fast.cpu_kernel().unwrap_or("?")
        );
        assert!(
            worst <= 1e-4,
            "{name}: CPU kernels and burn flex differ by {worst}"
        );
    }
}

/// wgpu (here: Mesa's lavapipe software Vulkan device) and the CPU backend agree within 1e-3
/// on every probability of 16 real test images.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_agrees_with_cpu() {
    let set = CifarSet::load_files(&[test_slice()]).expect("shipped slice");
    let mut inputs = Vec::with_capacity(16 * INPUT_LEN);
    for i in 0..16 {
        inputs.extend(normalize_planar(set.image(i)));
    }
    let cpu = Classifier::embedded(Backend::Cpu).expect("cpu");
    let gpu = Classifier::embedded(Backend::Wgpu).unwrap_or_else(|e| {
        panic!("no wgpu adapter ({e}); install mesa-vulkan-drivers (cargo xtask setup)")
    });
    let a = cpu.predict_inputs(&inputs).expect("cpu predict");
    let b = gpu.predict_inputs(&inputs).expect("gpu predict");
    let mut worst = 0.0f32;
    for (pa, pb) in a.iter().zip(&b) {
        for (x, y) in pa.probabilities.iter().zip(&pb.probabilities) {
            worst = worst.max((x - y).abs());
        }
    }
    println!("max |p_cpu - p_wgpu| = {worst:e}");
    assert!(worst <= 1e-3, "backends differ by {worst}");
    // Single images too (batch 1 takes other kernels).
    let one = gpu.predict_inputs(&inputs[..INPUT_LEN]).expect("batch 1");
    assert_eq!(one[0].class_index, a[0].class_index);
}
