//! Project automation, so that README's two commands work on a fresh Debian machine:
//! `cargo xtask run` (the main job) and `cargo xtask test` (every check).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod alerts_bench;
mod dashboard_bench;
mod notebook_bench;
mod page_bench;
mod promql_bench;

/// Debian packages the test suite needs: a software Vulkan device for the wgpu tests, the
/// real Prometheus, Pushgateway and promtool for the metrics and PromQL tests,
/// VictoriaMetrics for the notebook's remote source, and Chromium with its driver for the
/// browser tests.
const APT_PACKAGES: &[&str] = &[
    "mesa-vulkan-drivers",
    "libvulkan1",
    "prometheus",
    "prometheus-pushgateway",
    "victoria-metrics",
    "prometheus-alertmanager",
    "chromium",
    "chromium-driver",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("test") => {
            setup()?;
            test(&root, &args[1..])
        }
        Some("run") => run(&root, &args[1..]),
        Some("bench-peers") => bench_peers(&root, &args[1..]),
        Some("load-test") => load_test(&root, &args[1..]),
        Some("edge-build") => edge_build(&root).map(|_| ()),
        Some("page-bench") => page_bench::run(&root, &args[1..]),
        Some("notebook-bench") => notebook_bench::run(&root, &args[1..]),
        Some("alerts-bench") => alerts_bench::run(&root, &args[1..]),
        Some("dashboard-bench") => ensure_wasm32(&root)
            .and_then(|_| ensure_tools(&root, &[WASM_BINDGEN, WASM_PACK]))
            .and_then(|_| dashboard_bench::run(&root, &args[1..])),
        Some("edge-bench") => edge_bench(&root, &args[1..]),
        Some("promql-bench") => ensure_wasm32(&root)
            .and_then(|_| ensure_tools(&root, &[WASM_BINDGEN, WASM_PACK]))
            .and_then(|_| {
                promql_bench::run(
                    &root,
                    &target_dir(&root),
                    &wasm_target_dir(&root),
                    args.get(1).and_then(|h| h.parse().ok()).unwrap_or(6),
                )
            }),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\
                 \n  run          build and start Lookout's main job\
                 \n  test         install what the tests need, then fmt, clippy and every test\
                 \n  setup        only install what the tests need\
                 \n  bench-peers  Lookout vs ONNX Runtime CPU on the same weights (BENCHMARKS.md)\
                 \n  load-test    wrk against `lookout serve` for N seconds (default 60; BENCHMARKS.md)\
                 \n  page-bench   the page (wasm CPU, WebGPU) vs ONNX Runtime Web in headless Chromium\
                 \n  notebook-bench query → panel drawn in the notebook: Lookout's engine vs Prometheus 2.42\
                 \n  alerts-bench 1,000 alert rules every 10 s: lookout serve's CPU and memory vs Prometheus 2.42\
                 \n  dashboard-bench Grafana import/export natively and in Chromium, dashboard saves on the server\
                 \n  edge-build   build the edge worker with worker-build into crates/edge/build\
                 \n  edge-bench   bundle size, CPU per request and N s of wrk against the worker in workerd\
                 \n  promql-bench the PromQL engine vs Prometheus 2.42 on 1,000 series × H hours (default 6)"
            );
            bail!("no command given")
        }
    }
}

/// The workspace root, from the manifest dir `cargo run` passes at run time (a binary built
/// in another checkout that shares the target dir must not act on that checkout).
fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn status(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    let started = std::time::Instant::now();
    let st = cmd.status().with_context(|| format!("starting {shown}"))?;
    // Per-step timings, so a slow CI run says where its time went.
    let program = cmd.get_program().to_string_lossy().into_owned();
    let first: Vec<String> = cmd
        .get_args()
        .take(2)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    eprintln!(
        "xtask: took {:.1} s: {} {}",
        started.elapsed().as_secs_f64(),
        program.rsplit('/').next().unwrap_or(&program),
        first.join(" ")
    );
    if !st.success() {
        bail!("{shown} failed ({st})");
    }
    Ok(())
}

/// Builds the `lookout` binary (with the workspace's one feature set) and returns its path.
fn build_lookout(root: &Path) -> Result<PathBuf> {
    status(
        cargo()
            .current_dir(root)
            .args(["build", "--release", "--locked", "--workspace"]),
    )?;
    Ok(target_dir(root).join("release/lookout"))
}

/// Where cargo puts build output (`$CARGO_TARGET_DIR`, else `target/`).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"))
}

fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs missing Debian packages the tests need (root, or through sudo).
fn setup() -> Result<()> {
    apt_install(APT_PACKAGES)
}

/// Node and npm build the notebook's JavaScript (`web/notebook`, esbuild from npm): Debian's
/// when the machine has none.
fn ensure_node() -> Result<()> {
    let have = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"])
}

/// Installs the Debian packages of `packages` that are missing.
fn apt_install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| -> Command {
        let mut c = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    status(&mut apt(&["update", "-qq"]))?;
    let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    status(&mut install)
}

/// Makes the wasm32 target available: the bundled copy in ../shared where there is one,
/// else rustup.
fn ensure_wasm32(root: &Path) -> Result<()> {
    let helper = root.join("../shared/toolchain/ensure-wasm32");
    if helper.exists() {
        return status(Command::new("bash").arg(helper));
    }
    status(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    status(cargo().current_dir(root).args(["fmt", "--all", "--check"]))?;
    status(cargo().current_dir(root).args([
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The worker and the page only exist on wasm32: build them for tests/edge.rs and
    // tests/web.rs, and lint the worker there.
    edge_build(root)?;
    web_build(root)?;
    npm_ci(&root.join("tests/e2e"))?;
    // The notebook's JavaScript (editor, charts) on its own in Chromium: completion through
    // a client, lint, run keys, error marks, charts, zoom, markup as text.
    status(
        Command::new("node")
            .current_dir(root)
            .arg("web/notebook/test/smoke.mjs"),
    )?;
    status(
        Command::new("node")
            .current_dir(root)
            .arg("web/notebook/test/browser.mjs")
            .arg(target_dir(root).join("notebook-js.png")),
    )?;
    // The worker and the page's CPU module share one burn feature set: one check build.
    status(
        cargo()
            .current_dir(root)
            .env("CARGO_TARGET_DIR", wasm_target_dir(root))
            .args(["clippy", "--profile", "wasm", "--locked"])
            .args([
                "-p",
                "lookout-edge",
                "-p",
                "lookout-web",
                "-p",
                "lookout-notebook",
            ])
            .args(["--target", "wasm32-unknown-unknown", "--", "-D", "warnings"]),
    )?;
    // The WebGPU module (its own feature set) and the metrics' browser tests, linted apart
    // so that neither changes the other's features.
    for krate in ["lookout-webgpu", "lookout-metrics", "lookout-cpu"] {
        status(
            cargo()
                .current_dir(root)
                .env("CARGO_TARGET_DIR", wasm_target_dir(root))
                .args([
                    "clippy",
                    "--profile",
                    "wasm",
                    "--locked",
                    "--tests",
                    "-p",
                    krate,
                ])
                .args(["--target", "wasm32-unknown-unknown", "--", "-D", "warnings"]),
        )?;
    }
    status(
        cargo()
            .current_dir(root)
            .args(["test", "--release", "--workspace", "--locked"])
            .args(extra),
    )?;
    browser_tests(root)
}

/// Tests that run in headless Chromium (wasm-bindgen-test through wasm-pack, offline).
fn browser_tests(root: &Path) -> Result<()> {
    ensure_tools(root, &[WASM_BINDGEN, WASM_PACK])?;
    let promql = root.join("crates/promql");
    status(
        cargo()
            .current_dir(&promql)
            .env("CARGO_TARGET_DIR", wasm_target_dir(root))
            .args([
                "clippy",
                "--locked",
                "--tests",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .args(["--", "-D", "warnings"]),
    )?;
    wasm_pack_test(root, "crates/promql", &["--test", "browser"], &[])?;
    // The CPU kernels' wasm-simd128 build against their f64 oracle.
    wasm_pack_test(root, "crates/cpu", &["--release", "--test", "browser"], &[])?;
    // The model pipeline in the browser against the native fixture, on wasm CPU and on
    // WebGPU (the `wasm` profile: the same burn builds as the page, its WebGPU module and the
    // worker).
    for krate in ["crates/model", "crates/webgpu"] {
        wasm_pack_test(
            root,
            krate,
            &["--profile", "wasm", "--test", "browser"],
            &[],
        )?;
    }
    // The metric vocabulary: encoded in the browser as natively; a push from the browser
    // through a real `lookout serve` (cross-origin) to a real Pushgateway.
    wasm_pack_test(root, "crates/metrics", &["--test", "browser"], &[])?;
    let pushgateway = Pushgateway::start()?;
    let lookout = target_dir(root).join("release/lookout");
    // Its own data folder: a test never writes into the user's (`lookout serve`'s default).
    let data = target_dir(root).join("browser-push-data");
    let _ = std::fs::remove_dir_all(&data);
    let server = Server::start(
        Command::new(&lookout)
            .args(["serve", "--addr", "127.0.0.1:0", "--cors-origin", "*"])
            .arg("--pushgateway")
            .arg(&pushgateway.url)
            .arg("--data-dir")
            .arg(&data),
    )?;
    wasm_pack_test(
        root,
        "crates/metrics",
        &["--test", "browser_push"],
        &[("LOOKOUT_TEST_SERVER", server.url.as_str())],
    )
}

/// `wasm-pack test --headless --chrome` (offline, Debian's chromedriver) in `krate`.
fn wasm_pack_test(
    root: &Path,
    krate: &str,
    cargo_args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    let mut cmd = Command::new(cargo_bin("wasm-pack"));
    cmd.current_dir(root.join(krate))
        .env("CARGO_TARGET_DIR", wasm_target_dir(root))
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        // wasm-bindgen-test gives a test 20 s by default; the WebGPU test (20 samples on
        // SwiftShader, ~0.45 s each, plus device bring-up) took 19.6 s on a loaded machine.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
        .args(["test", "--headless", "--chrome", "--mode", "no-install"])
        .args(["--", "--locked"])
        .args(cargo_args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    status(&mut cmd)
}

/// A Debian `prometheus-pushgateway` on a free 127.0.0.1 port with its own empty state;
/// stopped on drop.
struct Pushgateway {
    child: std::process::Child,
    url: String,
}

impl Pushgateway {
    fn start() -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Debian's default persists to a file shared by every instance: stay in memory.
            .arg("--persistence.file=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting prometheus-pushgateway")?;
        let pg = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                bail!("the Pushgateway did not start on port {port}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(pg)
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// wasm32 builds get their own target dir (one burn feature set per target dir).
fn wasm_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let mut d = dir;
            d.push("-wasm");
            PathBuf::from(d)
        }
        None => root.join("target/wasm"),
    }
}

/// The version a tool prints, if it runs.
fn tool_version(bin: &Path, flag: &str) -> Option<String> {
    Command::new(bin)
        .arg(flag)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

pub(crate) fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin").join(name)
}

/// A tool: binary, version, crate, whether `cargo install --locked` works for it.
type Tool = (&'static str, &'static str, &'static str, bool);

/// The wasm tools, each at the version this repo pins (wasm-bindgen must equal Cargo.lock's).
const WASM_BINDGEN: Tool = ("wasm-bindgen", "0.2.130", "wasm-bindgen-cli", false);
const WORKER_BUILD: Tool = ("worker-build", "0.8.7", "worker-build", true);
const WASM_PACK: Tool = ("wasm-pack", "0.15.1", "wasm-pack", true);
const TRUNK: Tool = ("trunk", "0.21.14", "trunk", true);

/// Makes the given tools available: the prebuilt copies in ../shared where there are some,
/// else `cargo install` (slow, once per machine).
fn ensure_tools(root: &Path, wanted: &[Tool]) -> Result<()> {
    let helper = root.join("../shared/toolchain/install-tools");
    let have = |bin: &str, version: &str| {
        tool_version(&cargo_bin(bin), "--version").is_some_and(|v| v.contains(version))
    };
    if wanted.iter().any(|(b, v, _, _)| !have(b, v)) && helper.exists() {
        status(Command::new("bash").arg(helper))?;
    }
    for (bin, version, krate, locked) in wanted {
        if !have(bin, version) {
            let mut c = cargo();
            c.args(["install", krate, "--version", version]);
            if *locked {
                c.arg("--locked");
            }
            status(&mut c)?;
        }
    }
    Ok(())
}

/// The worker's pinned npm tools (workerd, binaryen's wasm-opt, esbuild) in crates/edge.
fn ensure_edge_npm(edge: &Path) -> Result<()> {
    let have = tool_version(&edge.join("node_modules/.bin/workerd"), "--version");
    let opt = edge.join("node_modules/binaryen/bin/wasm-opt").exists();
    if have.is_none() || !opt {
        npm_ci(edge)?;
    }
    Ok(())
}

/// `npm ci` in `dir` (the lockfile's exact packages, from the registry or npm's cache).
pub(crate) fn npm_ci(dir: &Path) -> Result<()> {
    status(
        Command::new("npm")
            .current_dir(dir)
            .args(["ci", "--no-audit", "--no-fund"]),
    )
}

/// The page: `trunk build --release` (offline, the `wasm` profile) into dist/.
fn web_build(root: &Path) -> Result<()> {
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
    let first = page_bench::sizes(&root.join("dist"), code)?;
    let gpu = page_bench::sizes(&root.join("dist/webgpu"), code)?;
    let notebook = page_bench::sizes(&root.join("dist/notebook"), |n| {
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
fn edge_build(root: &Path) -> Result<Vec<(String, u64, u64)>> {
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

fn gzip_len(bytes: &[u8]) -> Result<u64> {
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

fn run(root: &Path, extra: &[String]) -> Result<()> {
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

/// A Python venv with the peers' packages (onnx, onnxruntime from PyPI); its `python`.
fn peers_python(root: &Path) -> Result<PathBuf> {
    let venv = target_dir(root).join("peers-venv");
    if !venv.join("bin/python").exists() {
        status(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    status(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            "-r",
            &root
                .join("crates/xtask/peers/requirements.txt")
                .to_string_lossy(),
        ]),
    )?;
    Ok(venv.join("bin/python"))
}

fn bench_peers(root: &Path, extra: &[String]) -> Result<()> {
    let python = peers_python(root)?;
    let lookout = build_lookout(root)?;
    status(
        Command::new(python)
            .arg(root.join("crates/xtask/peers/onnxruntime_bench.py"))
            .arg("--lookout")
            .arg(&lookout)
            .args(extra)
            .current_dir(root),
    )
}

/// `wrk` (Debian) against a local `lookout serve` with the seed's request body; prints the
/// requests/s and latency percentiles, and fails on any error or non-2xx answer.
fn load_test(root: &Path, extra: &[String]) -> Result<()> {
    let seconds: u64 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let lookout = build_lookout(root)?;
    let mut server = Server::start(
        Command::new(&lookout)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(target_dir(root).join("load-test-data")),
    )?;
    let result = wrk(root, &format!("{}predict", server.url), seconds, 8).map(|_| ());
    server.stop();
    result
}

/// A `lookout serve` child and the URL it printed; stopped by [`Server::stop`] or on drop.
pub(crate) struct Server {
    child: std::process::Child,
    pub url: String,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start(cmd: &mut Command) -> Result<Self> {
        use std::io::{BufRead, BufReader};
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting lookout serve")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut url = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("Lookout listening on ") {
                url = rest.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        // Keep reading what the server prints after its URL: a closed pipe would make its
        // next line fail (EPIPE).
        std::thread::spawn(move || lines.for_each(drop));
        let mut server = Self {
            child,
            url: String::new(),
        };
        match url {
            Some(u) => {
                server.url = u;
                Ok(server)
            }
            None => {
                server.stop();
                bail!("lookout serve did not print its URL")
            }
        }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs wrk (2 threads, `connections`) for `seconds` against `url` with the seed's request
/// (the ship sample); prints its report and fails on any error or non-2xx answer.
fn wrk(root: &Path, url: &str, seconds: u64, connections: u32) -> Result<String> {
    use base64::Engine;
    if !dpkg_installed("wrk") {
        bail!("wrk is not installed: apt-get install wrk");
    }
    let sample = std::fs::read(root.join("crates/model/samples/0001_ship.jpg"))?;
    let body = format!(
        r#"{{"image": "{}", "format": "JPEG"}}"#,
        base64::engine::general_purpose::STANDARD.encode(sample)
    );
    let script = target_dir(root).join("wrk-predict.lua");
    std::fs::create_dir_all(target_dir(root))?;
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [[{body}]]\n\
             done = function(summary, latency, requests)\n  io.write(string.format(\"errors %d %d %d %d status %d\\n\", summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))\nend\n"
        ),
    )?;
    let out = Command::new("wrk")
        .arg(format!("-t{}", connections.clamp(1, 2)))
        .args([format!("-c{connections}"), format!("-d{seconds}s")])
        .args(["--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{text}");
    let errors_line = text
        .lines()
        .find(|l| l.starts_with("errors "))
        .unwrap_or("");
    let counts: Vec<u64> = errors_line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    if counts.iter().any(|&c| c > 0) || counts.len() != 5 {
        bail!("load test had errors: {errors_line:?}");
    }
    Ok(text)
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name and state).
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Ok((ticks(11) + ticks(12)) / hz)
}

/// The edge worker's figures for BENCHMARKS.md: bundle size (gzipped), workerd's CPU time
/// per request over a sequential run, and N seconds (default 60) of wrk.
fn edge_bench(root: &Path, extra: &[String]) -> Result<()> {
    let seconds: u64 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let sizes = edge_build(root)?;
    let gz: u64 = sizes
        .iter()
        .filter(|(n, _, _)| n.ends_with(".wasm") || n.ends_with(".js"))
        .map(|(_, _, g)| g)
        .sum();
    println!(
        "bundle (wasm + js): {gz} bytes gzipped = {:.2} MB (limit 3 MB)",
        gz as f64 / 1e6
    );
    let edge = root.join("crates/edge");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut workerd = Command::new(edge.join("node_modules/.bin/workerd"))
        .arg("serve")
        .arg(edge.join("workerd.capnp"))
        .arg(format!("--socket-addr=http=127.0.0.1:{port}"))
        .env("PUSHGATEWAY_URL", "")
        .spawn()
        .context("starting workerd")?;
    let result = (|| -> Result<()> {
        let base = format!("http://127.0.0.1:{port}");
        let url = format!("{base}/predict");
        let start = std::time::Instant::now();
        while Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &format!("{base}/healthz")])
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            if start.elapsed().as_secs() > 60 {
                bail!("workerd did not answer");
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        // Warm up (first request loads the weights), then measure CPU per request on one
        // connection so nothing else runs in the isolate.
        wrk(root, &url, 2, 1)?;
        let before = cpu_seconds(workerd.id())?;
        let report = wrk(root, &url, 10, 1)?;
        let after = cpu_seconds(workerd.id())?;
        let requests: f64 = report
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(f64::NAN);
        println!(
            "workerd CPU per request (1 connection, 10 s, {requests} requests): {:.2} ms",
            (after - before) * 1e3 / requests
        );
        wrk(root, &url, seconds, 8).map(|_| ())
    })();
    let _ = workerd.kill();
    let _ = workerd.wait();
    result
}
