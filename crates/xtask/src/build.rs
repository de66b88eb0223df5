//! Builds: the `lookout` binary, the page (Trunk), the edge worker (worker-build) and their
//! gzipped sizes; `cargo xtask run` (build the page, serve it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::static_page::StaticPage;
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

/// The page: `trunk build --release` (offline, the `wasm` profile) into dist/, the WebGPU
/// module included.
pub(crate) fn web_build(root: &Path) -> Result<()> {
    trunk_build(root, false)?;
    report_sizes(root)
}

/// `trunk build --release`; with `webgpu_later` the post-build hooks leave the WebGPU and
/// relaxed-SIMD modules out (`LOOKOUT_MODULES=later`, see web/build-module.sh) for
/// [`later_modules_build`] to add.
fn trunk_build(root: &Path, webgpu_later: bool) -> Result<()> {
    ensure_wasm32(root)?;
    ensure_node()?;
    ensure_tools(root, &[WASM_BINDGEN, TRUNK])?;
    let mut trunk = Command::new(cargo_bin("trunk"));
    trunk
        .current_dir(root)
        .env("PATH", path_with_cargo_bin()?)
        .env("CARGO_TARGET_DIR", wasm_target_dir(root))
        .args(["build", "--release"]);
    if webgpu_later {
        trunk.env("LOOKOUT_MODULES", "later");
    } else {
        trunk.env_remove("LOOKOUT_MODULES");
    }
    status(&mut trunk)
}

/// $PATH with cargo's bin dir first (wasm-bindgen for Trunk's hooks).
fn path_with_cargo_bin() -> Result<std::ffi::OsString> {
    let bin_dir = cargo_bin("trunk")
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let rest: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|p| *p != bin_dir)
        .collect();
    Ok(std::env::join_paths(std::iter::once(bin_dir).chain(rest))?)
}

/// The modules the page loads later — WebGPU into dist/webgpu, relaxed-SIMD CPU into
/// dist/webcpu — as Trunk's hooks build them (the same commands and environment, so `trunk
/// build` later finds them built): each into a staging folder first, then moved in place,
/// so a page loading meanwhile never reads half a module.
fn later_modules_build(root: &Path) -> Result<()> {
    for (package, name) in [("lookout-webgpu", "webgpu"), ("lookout-webcpu", "webcpu")] {
        let dist = root.join("dist");
        let staging = dist.join(format!(".{name}-staging"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        status(
            Command::new("bash")
                .current_dir(root)
                .arg(root.join("web/build-module.sh"))
                .args([package, name])
                .env("PATH", path_with_cargo_bin()?)
                .env("CARGO_TARGET_DIR", wasm_target_dir(root))
                .env("TRUNK_STAGING_DIR", &staging)
                .env_remove("LOOKOUT_MODULES"),
        )?;
        let _ = std::fs::remove_dir_all(dist.join(name));
        std::fs::rename(staging.join(name), dist.join(name))
            .with_context(|| format!("moving the {name} module into dist/{name}"))?;
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(())
}

fn report_sizes(root: &Path) -> Result<()> {
    let code = |n: &str| n.ends_with(".wasm") || n.ends_with(".js");
    let first = crate::page_bench::sizes(&root.join("dist"), code)?;
    let gpu = crate::page_bench::sizes(&root.join("dist/webgpu"), code)?;
    let relaxed = crate::page_bench::sizes(&root.join("dist/webcpu"), code)?;
    let notebook = crate::page_bench::sizes(&root.join("dist/notebook"), |n| {
        n.ends_with(".wasm") || n.ends_with(".js") || n.ends_with(".css")
    })?;
    eprintln!(
        "xtask: page wasm + js before the first prediction: {first} bytes gzipped; \
         WebGPU module (loaded when used): {gpu} bytes gzipped; relaxed-SIMD CPU module \
         (loaded after the page is up, where the browser has relaxed SIMD): {relaxed} bytes \
         gzipped; notebook module, editor and charts (loaded when the notebook opens): \
         {notebook} bytes gzipped"
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

/// `cargo xtask run`: the page first, then the rest. On a fresh machine the page (Trunk:
/// the CPU module, the notebook) is served from dist/ as soon as it is written, while the
/// WebGPU module and the native workspace build; `lookout serve` then takes the address
/// over (the page, POST /predict, GET /metrics, /healthz, /api/v1, the /pushgateway
/// proxy). Where everything is built already, that takes seconds. Extra arguments go to
/// `lookout serve`, e.g. `--pushgateway http://127.0.0.1:9091`.
pub(crate) fn run(root: &Path, extra: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    trunk_build(root, true)?;
    let addr = serve_addr(extra);
    let page = StaticPage::start(&addr, root.join("dist"))?;
    eprintln!(
        "\nxtask: the page is up on http://{addr}/ ({:.0} s): it classifies on wasm CPU and \
         its notebook reads the page's own metrics. Building the WebGPU and relaxed-SIMD \
         modules, then the model server (POST /predict, /metrics, the notebook's \"This \
         server\"); it takes this address over when built.\n",
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = later_modules_build(root) {
        eprintln!(
            "xtask: the WebGPU or relaxed-SIMD module failed to build, the page stays on its \
             own CPU kernels: {e:#}"
        );
    } else {
        eprintln!(
            "\nxtask: WebGPU and relaxed-SIMD modules built ({:.0} s): a reload of the page \
             uses them\n",
            started.elapsed().as_secs_f64()
        );
    }
    // Built with the workspace's feature set (as the tests build it), so burn is not rebuilt.
    let lookout = match build_lookout(root) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "xtask: the model server failed to build: {e:#}\nxtask: still serving the \
                 page on http://{addr}/ (Ctrl-C stops)"
            );
            loop {
                std::thread::park();
            }
        }
    };
    page.stop();
    eprintln!(
        "\nxtask: model server built ({:.0} s): lookout serve on http://{addr}/\n",
        started.elapsed().as_secs_f64()
    );
    let mut cmd = Command::new(lookout);
    cmd.current_dir(root).arg("serve");
    if !extra
        .iter()
        .any(|a| a == "--addr" || a.starts_with("--addr="))
    {
        cmd.args(["--addr", &addr]);
    }
    cmd.arg("--static-dir").arg(root.join("dist"));
    cmd.args(extra);
    status(&mut cmd)
}

/// The address `lookout serve` will listen on: its `--addr` among `extra`, else
/// 127.0.0.1:8080.
fn serve_addr(extra: &[String]) -> String {
    let mut it = extra.iter();
    while let Some(a) = it.next() {
        if a == "--addr" {
            if let Some(v) = it.next() {
                return v.clone();
            }
        } else if let Some(v) = a.strip_prefix("--addr=") {
            return v.to_string();
        }
    }
    "127.0.0.1:8080".to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn serve_addr_follows_lookout_serves_flag() {
        let s =
            |a: &[&str]| super::serve_addr(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), "127.0.0.1:8080");
        assert_eq!(s(&["--pushgateway", "http://x:9091"]), "127.0.0.1:8080");
        assert_eq!(s(&["--addr", "0.0.0.0:9000"]), "0.0.0.0:9000");
        assert_eq!(s(&["--addr=127.0.0.1:81", "--x"]), "127.0.0.1:81");
    }
}
