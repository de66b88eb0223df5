//! The tools the pipeline and the benches need, and running them: Debian packages (apt),
//! Node and npm, the wasm32 target, the pinned cargo-installed wasm tools, `npm ci`; the
//! workspace's paths and `status` (run one command, print its time, fail on failure).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages the test suite needs: a software Vulkan device for the wgpu tests, the
/// real Prometheus, Pushgateway and promtool for the metrics and PromQL tests,
/// VictoriaMetrics for the notebook's remote source, and Chromium with its driver for the
/// browser tests.
pub(crate) const APT_PACKAGES: &[&str] = &[
    "mesa-vulkan-drivers",
    "libvulkan1",
    "prometheus",
    "prometheus-pushgateway",
    "victoria-metrics",
    "prometheus-alertmanager",
    "chromium",
    "chromium-driver",
];

/// The workspace root, from the manifest dir `cargo run` passes at run time (a binary built
/// in another checkout that shares the target dir must not act on that checkout).
pub(crate) fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // `cargo run` gave xtask its own package's variables; build scripts that watch them
    // (ring's does) would rerun, and rebuild ring, rustls and reqwest, each time a build
    // switches between `cargo xtask` and a plain `cargo build`.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&key.as_ref())
        {
            c.env_remove(key.as_ref());
        }
    }
    c
}

pub(crate) fn status(cmd: &mut Command) -> Result<()> {
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

/// Where cargo puts build output (`$CARGO_TARGET_DIR`, else `target/`).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"))
}

pub(crate) fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs missing Debian packages the tests need (root, or through sudo).
pub(crate) fn setup() -> Result<()> {
    apt_install(APT_PACKAGES)
}

/// Node and npm build the notebook's JavaScript (`web/notebook`, esbuild from npm): Debian's
/// when the machine has none.
pub(crate) fn ensure_node() -> Result<()> {
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
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
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
pub(crate) fn ensure_wasm32(root: &Path) -> Result<()> {
    let helper = root.join("../shared/toolchain/ensure-wasm32");
    if helper.exists() {
        return status(Command::new("bash").arg(helper));
    }
    status(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// wasm32 builds get their own target dir (one burn feature set per target dir).
pub(crate) fn wasm_target_dir(root: &Path) -> PathBuf {
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
pub(crate) fn tool_version(bin: &Path, flag: &str) -> Option<String> {
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
pub(crate) type Tool = (&'static str, &'static str, &'static str, bool);

/// The wasm tools, each at the version this repo pins (wasm-bindgen must equal Cargo.lock's).
pub(crate) const WASM_BINDGEN: Tool = ("wasm-bindgen", "0.2.130", "wasm-bindgen-cli", false);
pub(crate) const WORKER_BUILD: Tool = ("worker-build", "0.8.7", "worker-build", true);
pub(crate) const WASM_PACK: Tool = ("wasm-pack", "0.15.1", "wasm-pack", true);
pub(crate) const TRUNK: Tool = ("trunk", "0.21.14", "trunk", true);

/// Makes the given tools available: the prebuilt copies in ../shared where there are some,
/// else `cargo install` (slow, once per machine).
pub(crate) fn ensure_tools(root: &Path, wanted: &[Tool]) -> Result<()> {
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
            // Without LTO and with parallel code generation: Trunk's own release profile
            // (fat LTO, one codegen unit) is what made its install slow; a tool that spawns
            // cargo and copies files runs as fast either way. (Config beats a manifest's
            // profile, also for `cargo install`.)
            c.args([
                "--config",
                "profile.release.lto=false",
                "--config",
                "profile.release.codegen-units=16",
            ]);
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
pub(crate) fn ensure_edge_npm(edge: &Path) -> Result<()> {
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
