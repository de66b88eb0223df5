//! `cargo xtask page-bench [RUNS]`: the page against ONNX Runtime Web and TensorFlow.js (both
//! on their wasm backends) in one headless Chromium run (BENCHMARKS.md). Builds the page
//! (Trunk, with the WebGPU module), exports the page's own compact weights (dequantised) to
//! ONNX and to TF.js' layout, serves all three with `lookout serve`, and lets
//! `crates/xtask/peers/web/bench.mjs` (playwright-core, Debian's Chromium) time:
//! navigation → first prediction (CPU page without WebGPU; WebGPU page), per-image latency
//! at batch 1 on wasm CPU and WebGPU through the page's own UI, and the peers' batch-1 runs
//! on the same samples (labels checked against the native fixture). Prints sizes and a
//! Markdown table.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::bench::peers_python;
use crate::build::{build_lookout, gzip_len, web_build};
use crate::tools::status;

/// The files of ONNX Runtime Web's wasm backend the peer page loads.
const ORT_FILES: [&str; 3] = [
    "ort.wasm.min.mjs",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm",
];

/// TensorFlow.js and its wasm backend, as the TF.js peer page loads them (npm package, file).
const TFJS_FILES: [(&str, &str); 5] = [
    ("@tensorflow/tfjs", "tf.min.js"),
    ("@tensorflow/tfjs-backend-wasm", "tf-backend-wasm.min.js"),
    ("@tensorflow/tfjs-backend-wasm", "tfjs-backend-wasm.wasm"),
    (
        "@tensorflow/tfjs-backend-wasm",
        "tfjs-backend-wasm-simd.wasm",
    ),
    (
        "@tensorflow/tfjs-backend-wasm",
        "tfjs-backend-wasm-threaded-simd.wasm",
    ),
];

pub fn run(root: &Path, extra: &[String]) -> Result<()> {
    let runs: u32 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(200);
    web_build(root)?;
    let lookout = build_lookout(root)?;
    let web = root.join("crates/xtask/peers/web");
    crate::tools::npm_ci(&web)?;
    let dist = root.join("dist");
    let peer = dist.join("peer");
    std::fs::create_dir_all(peer.join("samples"))?;
    status(
        Command::new(peers_python(root)?)
            .arg(root.join("crates/xtask/peers/onnxruntime_bench.py"))
            .arg("--lookout")
            .arg(&lookout)
            .arg("--weights")
            .arg(root.join("crates/model/weights/cifar10-compact.lkq"))
            .arg("--save-onnx")
            .arg(peer.join("model.onnx"))
            .arg("--save-tfjs")
            .arg(peer.join("tfjs-weights"))
            .arg("--export-only")
            .current_dir(root),
    )?;
    std::fs::copy(web.join("ort.html"), peer.join("ort.html"))?;
    std::fs::copy(web.join("tfjs.html"), peer.join("tfjs.html"))?;
    std::fs::copy(web.join("peer.js"), peer.join("peer.js"))?;
    for (package, f) in TFJS_FILES {
        std::fs::copy(
            web.join("node_modules").join(package).join("dist").join(f),
            peer.join(f),
        )
        .with_context(|| format!("copying {f} from {package}"))?;
    }
    for f in ORT_FILES {
        std::fs::copy(
            web.join("node_modules/onnxruntime-web/dist").join(f),
            peer.join(f),
        )
        .with_context(|| format!("copying {f} from onnxruntime-web"))?;
    }
    for entry in std::fs::read_dir(root.join("crates/model/samples"))? {
        let p = entry?.path();
        if let Some(name) = p.file_name() {
            std::fs::copy(&p, peer.join("samples").join(name))?;
        }
    }

    let page = sizes(&dist, |n| {
        n.ends_with(".wasm") || n.ends_with(".js") || n.ends_with(".html") || n.ends_with(".css")
    })?;
    let gpu = sizes(&dist.join("webgpu"), |n| {
        n.ends_with(".wasm") || n.ends_with(".js")
    })?;
    let relaxed = sizes(&dist.join("webcpu"), |n| {
        n.ends_with(".wasm") || n.ends_with(".js")
    })?;
    let ort = sizes(&peer, |n| {
        ORT_FILES.contains(&n) || ["model.onnx", "ort.html", "peer.js"].contains(&n)
    })?;
    // What the TF.js page loads on a browser with wasm SIMD (not the other two wasm builds).
    let tfjs = sizes(&peer, |n| {
        [
            "tf.min.js",
            "tf-backend-wasm.min.js",
            "tfjs-backend-wasm-simd.wasm",
        ]
        .contains(&n)
            || n.starts_with("tfjs-weights")
            || n == "tfjs.html"
            || n == "peer.js"
    })?;

    let server =
        lookout_testkit::start_lookout(&lookout, ["--static-dir".as_ref(), dist.as_os_str()]);
    let url = format!("{}/", server.url());
    eprintln!("xtask: page-bench: {runs} runs per backend against {url}");
    let out = Command::new("node")
        .current_dir(&web)
        .arg("bench.mjs")
        .arg(&url)
        .arg(runs.to_string())
        .arg(root.join("crates/model/tests/fixtures/native-compact.json"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running node bench.mjs")?;
    server.stop();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        anyhow::bail!("bench.mjs failed ({}): {text}", out.status);
    }
    println!("{text}");
    let r: serde_json::Value = serde_json::from_str(&text).context("bench.mjs output")?;
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "| what | Lookout wasm CPU | Lookout WebGPU | ONNX Runtime Web (wasm) | TensorFlow.js (wasm) |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| per image, batch 1, median (p90) | {:.2} ms ({:.2}) | {:.2} ms ({:.2}) | {:.2} ms ({:.2}) | {:.2} ms ({:.2}) |",
        f("cpu_median_ms"),
        f("cpu_p90_ms"),
        f("webgpu_median_ms"),
        f("webgpu_p90_ms"),
        f("ort_median_ms"),
        f("ort_p90_ms"),
        f("tfjs_median_ms"),
        f("tfjs_p90_ms")
    );
    println!(
        "| navigation → first prediction | {:.0} ms | {:.0} ms | {:.0} ms (session ready) | {:.0} ms (model ready) |",
        f("cpu_first_prediction_ms"),
        f("webgpu_first_prediction_ms"),
        f("ort_ready_ms"),
        f("tfjs_ready_ms")
    );
    println!(
        "| bytes before the first prediction, gzipped | {:.2} MB | +{:.2} MB (module) | {:.2} MB | {:.2} MB |",
        mb(page),
        mb(gpu),
        mb(ort),
        mb(tfjs)
    );
    println!(
        "\nThe relaxed-SIMD CPU module, loaded after the page is up where the browser has \
         relaxed SIMD: {:.2} MB gzipped",
        mb(relaxed)
    );
    println!(
        "Lookout wasm CPU latency / ONNX Runtime Web: {:.2}, / TensorFlow.js: {:.2} (< 1 = Lookout faster)",
        f("cpu_vs_ort"),
        f("cpu_vs_tfjs")
    );
    println!(
        "Lookout wasm CPU on {} ({}): median {:.2} ms (p90 {:.2}); on the page's own SIMD128 \
         kernels (?cpu=simd128, {}): median {:.2} ms (p90 {:.2}), / ONNX Runtime Web {:.2}; \
         relaxed / SIMD128 {:.2}; means (finer than Chromium's 0.1 ms timer): {:.3} against \
         {:.3} ms = {:.3}, / ONNX Runtime Web's mean {:.3}",
        r["cpu_backend"].as_str().unwrap_or("?"),
        r["cpu_status"].as_str().unwrap_or("?"),
        f("cpu_median_ms"),
        f("cpu_p90_ms"),
        r["simd128_backend"].as_str().unwrap_or("?"),
        f("simd128_median_ms"),
        f("simd128_p90_ms"),
        f("simd128_vs_ort"),
        f("cpu_vs_simd128"),
        f("cpu_mean_ms"),
        f("simd128_mean_ms"),
        f("cpu_vs_simd128_mean"),
        f("cpu_vs_ort_mean")
    );
    for peer in ["ort", "tfjs"] {
        println!(
            "{peer} labels vs native: {}, max |Δp| {:.4}",
            r[format!("{peer}_label_agreement")].as_str().unwrap_or("?"),
            f(&format!("{peer}_max_probability_diff"))
        );
    }
    Ok(())
}

/// Sum of the gzipped sizes of the files in `dir` (not recursive) that `keep` accepts;
/// prints each.
pub(crate) fn sizes(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<u64> {
    let mut total = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if p.is_file() && keep(name) {
            let bytes = std::fs::read(&p)?;
            let gz = gzip_len(&bytes)?;
            eprintln!(
                "xtask: {}: {} bytes, {gz} gzipped",
                p.display(),
                bytes.len()
            );
            total += gz;
        }
    }
    Ok(total)
}
