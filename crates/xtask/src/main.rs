//! Project automation, so that README's two commands work on a fresh Debian machine:
//! `cargo xtask run` (the main job) and `cargo xtask test` (every check).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages the test suite needs: a software Vulkan device for the wgpu tests.
const APT_PACKAGES: &[&str] = &["mesa-vulkan-drivers", "libvulkan1"];

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
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\
                 \n  run          build and start Lookout's main job\
                 \n  test         install what the tests need, then fmt, clippy and every test\
                 \n  setup        only install what the tests need\
                 \n  bench-peers  Lookout vs ONNX Runtime CPU on the same weights (BENCHMARKS.md)"
            );
            bail!("no command given")
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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
    )
}

fn run(root: &Path, extra: &[String]) -> Result<()> {
    // Until the web page lands, the main job is the CLI classifying the shipped samples.
    let samples: Vec<PathBuf> = std::fs::read_dir(root.join("crates/model/samples"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut cmd = cargo();
    cmd.current_dir(root).args([
        "run",
        "--release",
        "--locked",
        "-p",
        "lookout-cli",
        "--",
        "predict",
    ]);
    if extra.is_empty() {
        cmd.args(&samples);
    } else {
        cmd.args(extra);
    }
    status(&mut cmd)
}

fn bench_peers(root: &Path, extra: &[String]) -> Result<()> {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
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
    status(cargo().current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "lookout-cli",
    ]))?;
    status(
        Command::new(venv.join("bin/python"))
            .arg(root.join("crates/xtask/peers/onnxruntime_bench.py"))
            .arg("--lookout")
            .arg(target.join("release/lookout"))
            .args(extra)
            .current_dir(root),
    )
}
