//! Project automation, so that README's two commands work on a fresh Debian machine:
//! `cargo xtask run` (the main job) and `cargo xtask test` (every check).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages the test suite needs: a software Vulkan device for the wgpu tests, and
/// the real Prometheus, Pushgateway and promtool for the metrics tests.
const APT_PACKAGES: &[&str] = &[
    "mesa-vulkan-drivers",
    "libvulkan1",
    "prometheus",
    "prometheus-pushgateway",
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
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\
                 \n  run          build and start Lookout's main job\
                 \n  test         install what the tests need, then fmt, clippy and every test\
                 \n  setup        only install what the tests need\
                 \n  bench-peers  Lookout vs ONNX Runtime CPU on the same weights (BENCHMARKS.md)\
                 \n  load-test    wrk against `lookout serve` for N seconds (default 60; BENCHMARKS.md)"
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
    let st = cmd.status().with_context(|| format!("starting {shown}"))?;
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

/// Installs missing Debian packages (root, or through sudo).
fn setup() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
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

/// Crates that must also build for the browser and the worker.
const WASM_CRATES: &[&str] = &["lookout-metrics"];

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
    status(
        cargo()
            .current_dir(root)
            .args(["test", "--release", "--workspace", "--locked"])
            .args(extra),
    )?;
    ensure_wasm32(root)?;
    let mut wasm = cargo();
    wasm.current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    for krate in WASM_CRATES {
        wasm.args(["-p", krate]);
    }
    status(&mut wasm)
}

fn run(root: &Path, extra: &[String]) -> Result<()> {
    // The model server on its embedded weights: POST /predict, GET /metrics, /healthz.
    // (The web page joins it here once it is built.) Extra arguments go to `lookout serve`,
    // e.g. `cargo xtask run --pushgateway http://127.0.0.1:9091`.
    let mut cmd = cargo();
    cmd.current_dir(root).args([
        "run",
        "--release",
        "--locked",
        "-p",
        "lookout-cli",
        "--",
        "serve",
    ]);
    if !extra.iter().any(|a| a == "--addr") {
        cmd.args(["--addr", "127.0.0.1:8080"]);
    }
    cmd.args(extra);
    status(&mut cmd)
}

fn bench_peers(root: &Path, extra: &[String]) -> Result<()> {
    let target = target_dir(root);
    let venv = target.join("peers-venv");
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
    let lookout = build_lookout(root)?;
    status(
        Command::new(venv.join("bin/python"))
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
    use base64::Engine;
    use std::io::{BufRead, BufReader};
    let seconds: u64 = extra.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    if !dpkg_installed("wrk") {
        bail!("wrk is not installed: apt-get install wrk");
    }
    let lookout = build_lookout(root)?;
    let target = target_dir(root);
    let sample = std::fs::read(root.join("crates/model/samples/0001_ship.jpg"))?;
    let body = format!(
        r#"{{"image": "{}", "format": "JPEG"}}"#,
        base64::engine::general_purpose::STANDARD.encode(sample)
    );
    let script = target.join("wrk-predict.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [[{body}]]\n\
             done = function(summary, latency, requests)\n  io.write(string.format(\"errors %d %d %d %d status %d\\n\", summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))\nend\n"
        ),
    )?;
    let mut server = Command::new(&lookout)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting lookout serve")?;
    let stdout = server.stdout.take().context("server stdout")?;
    let mut url = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("Lookout listening on ") {
            url = rest
                .split_whitespace()
                .next()
                .map(|u| format!("{}predict", u));
            break;
        }
    }
    let result = (|| -> Result<()> {
        let url = url.context("server did not print its URL")?;
        let out = Command::new("wrk")
            .args(["-t2", "-c8", &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&script)
            .arg(&url)
            .output()
            .context("running wrk")?;
        let text = String::from_utf8_lossy(&out.stdout);
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
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}
