//! Builds: the `lookout` binary, the page (Trunk), the edge worker (worker-build) and their
//! gzipped sizes; `cargo xtask run` (build the page, serve it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::tools::{
    TRUNK, WASM_BINDGEN, WORKER_BUILD, cargo, cargo_bin, ensure_edge_npm, ensure_node,
    ensure_tools, ensure_wasm32, status, target_dir, wasm_target_dir,
};

/// Builds the `lookout` binary (with the workspace's one feature set) and returns its path.
pub(crate) fn build_lookout(root: &Path) -> Result<PathBuf> {
    status(
        cargo()
            .current_dir(root)
            .args(["build", "--release", "--locked", "--workspace"]),
    )?;
    Ok(target_dir(root).join("release/lookout"))
}

/// The page: `trunk build --release` (offline, the `wasm` profile) into dist/.
pub(crate) fn web_build(root: &Path) -> Result<()> {
    ensure_wasm32(root)?;
    ensure_node()?;
    ensure_tools(root, &[WASM_BINDGEN, TRUNK])?;
    let bin_dir = cargo_bin("trunk")
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    status(
        Command::new(cargo_bin("trunk"))
            .current_dir(root)
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", wasm_target_dir(root))
            .args(["build", "--release"]),
    )?;
    let code = |n: &str| n.ends_with(".wasm") || n.ends_with(".js");
    let first = crate::page_bench::sizes(&root.join("dist"), code)?;
    let gpu = crate::page_bench::sizes(&root.join("dist/webgpu"), code)?;
    let notebook = crate::page_bench::sizes(&root.join("dist/notebook"), |n| {
        n.ends_with(".wasm") || n.ends_with(".js") || n.ends_with(".css")
    })?;
    eprintln!(
        "xtask: page wasm + js before the first prediction: {first} bytes gzipped; \
         WebGPU module (loaded when used): {gpu} bytes gzipped; notebook module, \
         editor and charts (loaded when the notebook opens): {notebook} bytes gzipped"
    );
    Ok(())
}

/// `worker-build --profile wasm` into crates/edge/build (offline: wasm-bindgen, wasm-opt
/// and esbuild are given, never downloaded). Prints and returns the bundle's sizes.
pub(crate) fn edge_build(root: &Path) -> Result<Vec<(String, u64, u64)>> {
    let edge = root.join("crates/edge");
    ensure_wasm32(root)?;
    ensure_tools(root, &[WASM_BINDGEN, WORKER_BUILD])?;
    ensure_edge_npm(&edge)?;
    status(
        Command::new(cargo_bin("worker-build"))
            .current_dir(&edge)
            .env("CARGO_TARGET_DIR", wasm_target_dir(root))
            .env("WASM_BINDGEN_BIN", cargo_bin("wasm-bindgen"))
            .env(
                "WASM_OPT_BIN",
                edge.join("node_modules/binaryen/bin/wasm-opt"),
            )
            .env(
                "ESBUILD_BIN",
                edge.join("node_modules/@esbuild/linux-x64/bin/esbuild"),
            )
            .args(["--profile", "wasm"]),
    )?;
    let mut sizes = Vec::new();
    let build = edge.join("build");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&build)
        .with_context(|| format!("reading {}", build.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in files {
        let bytes = std::fs::read(&f)?;
        let gz = gzip_len(&bytes)?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("xtask: {name}: {} bytes, {gz} gzipped", bytes.len());
        sizes.push((name, bytes.len() as u64, gz));
    }
    Ok(sizes)
}

pub(crate) fn gzip_len(bytes: &[u8]) -> Result<u64> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running gzip")?;
    let mut stdin = child.stdin.take().context("gzip stdin")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("gzip writer panicked"))??;
    Ok(out.stdout.len() as u64)
}

pub(crate) fn run(root: &Path, extra: &[String]) -> Result<()> {
    // The page (built by Trunk into dist/) served by the model server on its embedded
    // weights: the page, POST /predict, GET /metrics, /healthz, and the /pushgateway proxy.
    // Extra arguments go to `lookout serve`, e.g. `--pushgateway http://127.0.0.1:9091`.
    web_build(root)?;
    // Built with the workspace's feature set (as the tests build it), so burn is not rebuilt.
    let lookout = build_lookout(root)?;
    let mut cmd = Command::new(lookout);
    cmd.current_dir(root).arg("serve");
    if !extra.iter().any(|a| a == "--addr") {
        cmd.args(["--addr", "127.0.0.1:8080"]);
    }
    cmd.arg("--static-dir").arg(root.join("dist"));
    cmd.args(extra);
    status(&mut cmd)
}
