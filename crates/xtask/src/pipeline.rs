//! `cargo xtask test`: every check, as a table of named steps run in order ([`STEPS`]).
//!
//! `cargo xtask test [--only STEP[,STEP]] [--skip STEP[,STEP]] [ARGS]` runs the steps
//! selected (all by default), stops at the first failure, and prints each step's status and
//! wall time at the end, also after a failure. `--list` prints the steps. Other arguments go
//! to the `cargo-test` step's `cargo test` as given (`-- --nocapture` reaches the test
//! binaries); everything from a `--` on is passed through, never read as an option.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

use crate::build::{edge_build, web_build};
use crate::tools::{
    WASM_BINDGEN, WASM_PACK, cargo, cargo_bin, ensure_tools, npm_ci, setup, status, target_dir,
    wasm_target_dir,
};

/// What a step gets: the workspace root and the arguments for `cargo test`.
struct Ctx<'a> {
    root: &'a Path,
    cargo_test_args: &'a [String],
}

/// One named step of the pipeline.
struct Step {
    name: &'static str,
    what: &'static str,
    run: fn(&Ctx) -> Result<()>,
}

/// Every check of `cargo xtask test`, in the order it runs them.
const STEPS: &[Step] = &[
    Step {
        name: "setup",
        what: "install the missing Debian packages the tests need (apt-get, as root or with sudo)",
        run: step_setup,
    },
    Step {
        name: "fmt",
        what: "cargo fmt --all --check",
        run: fmt,
    },
    Step {
        name: "clippy",
        what: "cargo clippy --release --workspace --all-targets --locked -- -D warnings",
        run: clippy,
    },
    Step {
        name: "edge-build",
        what: "the edge worker with worker-build into crates/edge/build (for tests/edge.rs)",
        run: step_edge_build,
    },
    Step {
        name: "web-build",
        what: "the page with Trunk into dist/ (for tests/web.rs)",
        run: step_web_build,
    },
    Step {
        name: "e2e-npm",
        what: "npm ci in tests/e2e (playwright-core for tests/web.rs)",
        run: e2e_npm,
    },
    Step {
        name: "notebook-js",
        what: "the notebook's JavaScript alone in Chromium (web/notebook/test: smoke, browser)",
        run: notebook_js,
    },
    Step {
        name: "wasm-clippy",
        what: "clippy on wasm32 of the worker, the page and the notebook (one burn feature set)",
        run: wasm_clippy,
    },
    Step {
        name: "wasm-clippy-apart",
        what: "clippy on wasm32 with tests of lookout-webgpu, lookout-webcpu, lookout-metrics, lookout-cpu, each alone",
        run: wasm_clippy_apart,
    },
    Step {
        name: "cargo-test",
        what: "cargo test --release --workspace --locked (plus the arguments given)",
        run: cargo_test,
    },
    Step {
        name: "promql-wasm-clippy",
        what: "clippy on wasm32 of lookout-promql with its tests",
        run: promql_wasm_clippy,
    },
    Step {
        name: "browser-promql",
        what: "the PromQL engine's tests in headless Chromium (wasm-pack)",
        run: browser_promql,
    },
    Step {
        name: "browser-cpu",
        what: "the CPU kernels' wasm builds (simd128; relaxed SIMD) against their f64 oracle in Chromium",
        run: browser_cpu,
    },
    Step {
        name: "browser-model",
        what: "the model pipeline on wasm CPU in Chromium against the native fixture",
        run: browser_model,
    },
    Step {
        name: "browser-webgpu",
        what: "the model on WebGPU (SwiftShader) in Chromium against the native fixture",
        run: browser_webgpu,
    },
    Step {
        name: "browser-webcpu",
        what: "the page's relaxed-SIMD CPU module in Chromium against the native fixture",
        run: browser_webcpu,
    },
    Step {
        name: "browser-metrics",
        what: "the metric vocabulary encoded in Chromium as natively",
        run: browser_metrics,
    },
    Step {
        name: "browser-push",
        what: "a push from Chromium through lookout serve (the cargo-test step's binary) to a real Pushgateway",
        run: browser_push,
    },
];

/// What `cargo xtask test` was asked.
#[derive(Debug, Default, PartialEq)]
struct Options {
    list: bool,
    only: Option<Vec<String>>,
    skip: Vec<String>,
    cargo_test: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f == "--only" || f == "--skip" => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        match flag {
            "--" => {
                o.cargo_test.push(a.clone());
                o.cargo_test.extend(it.by_ref().cloned());
            }
            "--list" => o.list = true,
            "--only" | "--skip" => {
                let value = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| anyhow!("{flag} needs STEP[,STEP]: {}", names()))?,
                };
                let steps: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                for s in &steps {
                    if !STEPS.iter().any(|st| st.name == s) {
                        bail!(
                            "unknown step {s:?} in {flag}; the steps are: {} (cargo xtask test --list)",
                            names()
                        );
                    }
                }
                if flag == "--only" {
                    o.only.get_or_insert_with(Vec::new).extend(steps);
                } else {
                    o.skip.extend(steps);
                }
            }
            _ => o.cargo_test.push(a.clone()),
        }
    }
    Ok(o)
}

fn names() -> String {
    STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// How a step ended.
enum Outcome {
    Ok(Duration),
    Failed(Duration),
    Skipped,
    NotRun,
}

/// `cargo xtask test …`.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if o.list {
        println!("cargo xtask test runs these steps in this order (--only / --skip STEP[,STEP]):");
        for s in STEPS {
            println!("  {:<20} {}", s.name, s.what);
        }
        return Ok(());
    }
    let chosen = |s: &Step| {
        o.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|n| n == s.name))
            && !o.skip.iter().any(|n| n == s.name)
    };
    if !STEPS.iter().any(chosen) {
        bail!(
            "no step left to run (--only {:?}, --skip {:?})",
            o.only,
            o.skip
        );
    }
    let ctx = Ctx {
        root,
        cargo_test_args: &o.cargo_test,
    };
    let started = Instant::now();
    let mut outcomes = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    for step in STEPS {
        if !chosen(step) {
            outcomes.push(Outcome::Skipped);
            continue;
        }
        if failure.is_some() {
            outcomes.push(Outcome::NotRun);
            continue;
        }
        eprintln!("xtask: step {}: {}", step.name, step.what);
        let t = Instant::now();
        // A daemon that does not start panics (lookout-testkit): a failed step, not a lost
        // table.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (step.run)(&ctx)))
            .unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(anyhow!("panicked: {msg}"))
            });
        match result {
            Ok(()) => outcomes.push(Outcome::Ok(t.elapsed())),
            Err(e) => {
                outcomes.push(Outcome::Failed(t.elapsed()));
                failure = Some(e.context(format!("step {} failed", step.name)));
            }
        }
    }
    eprintln!("{}", table(&outcomes, started.elapsed()));
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Each step's status and wall time, and the total.
fn table(outcomes: &[Outcome], total: Duration) -> String {
    let mut out = format!(
        "xtask: steps\n  {:<20} {:<8} {:>9}\n",
        "step", "status", "time"
    );
    for (s, o) in STEPS.iter().zip(outcomes) {
        let (status, time) = match o {
            Outcome::Ok(d) => ("ok", format!("{:.1} s", d.as_secs_f64())),
            Outcome::Failed(d) => ("FAILED", format!("{:.1} s", d.as_secs_f64())),
            Outcome::Skipped => ("skipped", String::new()),
            Outcome::NotRun => ("not run", String::new()),
        };
        out.push_str(&format!("  {:<20} {status:<8} {time:>9}\n", s.name));
    }
    out.push_str(&format!(
        "  {:<20} {:<8} {:>9}",
        "total",
        "",
        format!("{:.1} s", total.as_secs_f64())
    ));
    out
}

fn step_setup(_: &Ctx) -> Result<()> {
    setup()
}

fn fmt(c: &Ctx) -> Result<()> {
    status(
        cargo()
            .current_dir(c.root)
            .args(["fmt", "--all", "--check"]),
    )
}

fn clippy(c: &Ctx) -> Result<()> {
    status(cargo().current_dir(c.root).args([
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

// The worker and the page only exist on wasm32: build them for tests/edge.rs and
// tests/web.rs (the worker is linted there by wasm-clippy).
fn step_edge_build(c: &Ctx) -> Result<()> {
    edge_build(c.root).map(drop)
}

fn step_web_build(c: &Ctx) -> Result<()> {
    web_build(c.root)
}

fn e2e_npm(c: &Ctx) -> Result<()> {
    npm_ci(&c.root.join("tests/e2e"))
}

/// The notebook's JavaScript (editor, charts) on its own in Chromium: completion through a
/// client, lint, run keys, error marks, charts, zoom, markup as text.
fn notebook_js(c: &Ctx) -> Result<()> {
    status(
        Command::new("node")
            .current_dir(c.root)
            .arg("web/notebook/test/smoke.mjs"),
    )?;
    status(
        Command::new("node")
            .current_dir(c.root)
            .arg("web/notebook/test/browser.mjs")
            .arg(target_dir(c.root).join("notebook-js.png")),
    )
}

/// The worker and the page's CPU module share one burn feature set: one check build.
fn wasm_clippy(c: &Ctx) -> Result<()> {
    status(
        cargo()
            .current_dir(c.root)
            .env("CARGO_TARGET_DIR", wasm_target_dir(c.root))
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
    )
}

/// The WebGPU module (its own feature set) and the metrics' browser tests, linted apart so
/// that neither changes the other's features.
fn wasm_clippy_apart(c: &Ctx) -> Result<()> {
    // lookout-cpu twice: as the page builds it, and with the worker's relaxed SIMD.
    for (krate, features) in [
        ("lookout-webgpu", ""),
        ("lookout-webcpu", ""),
        ("lookout-metrics", ""),
        ("lookout-cpu", ""),
        ("lookout-cpu", "relaxed-simd"),
    ] {
        status(
            cargo()
                .current_dir(c.root)
                .env("CARGO_TARGET_DIR", wasm_target_dir(c.root))
                .args([
                    "clippy",
                    "--profile",
                    "wasm",
                    "--locked",
                    "--tests",
                    "-p",
                    krate,
                    "--features",
                    features,
                ])
                .args(["--target", "wasm32-unknown-unknown", "--", "-D", "warnings"]),
        )?;
    }
    Ok(())
}

fn cargo_test(c: &Ctx) -> Result<()> {
    status(
        cargo()
            .current_dir(c.root)
            .args(["test", "--release", "--workspace", "--locked"])
            .args(c.cargo_test_args),
    )
}

// Tests that run in headless Chromium (wasm-bindgen-test through wasm-pack, offline).

fn promql_wasm_clippy(c: &Ctx) -> Result<()> {
    ensure_tools(c.root, &[WASM_BINDGEN, WASM_PACK])?;
    status(
        cargo()
            .current_dir(c.root.join("crates/promql"))
            .env("CARGO_TARGET_DIR", wasm_target_dir(c.root))
            .args([
                "clippy",
                "--locked",
                "--tests",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .args(["--", "-D", "warnings"]),
    )
}

fn browser_promql(c: &Ctx) -> Result<()> {
    wasm_pack_test(c.root, "crates/promql", &["--test", "browser"], &[])
}

/// Twice: the simd128 build (the page) and the relaxed-SIMD one (the worker), whose fused
/// multiply-add may round otherwise.
fn browser_cpu(c: &Ctx) -> Result<()> {
    let args = ["--release", "--test", "browser"];
    wasm_pack_test(c.root, "crates/cpu", &args, &[])?;
    let relaxed = [
        "--release",
        "--test",
        "browser",
        "--features",
        "relaxed-simd",
    ];
    wasm_pack_test(c.root, "crates/cpu", &relaxed, &[])
}

// The model pipeline in the browser against the native fixture, on wasm CPU and on WebGPU
// (the `wasm` profile: the same burn builds as the page, its WebGPU module and the worker).

fn browser_model(c: &Ctx) -> Result<()> {
    let args = ["--profile", "wasm", "--test", "browser"];
    wasm_pack_test(c.root, "crates/model", &args, &[])
}

fn browser_webgpu(c: &Ctx) -> Result<()> {
    let args = ["--profile", "wasm", "--test", "browser"];
    wasm_pack_test(c.root, "crates/webgpu", &args, &[])
}

fn browser_webcpu(c: &Ctx) -> Result<()> {
    let args = ["--profile", "wasm", "--test", "browser"];
    wasm_pack_test(c.root, "crates/webcpu", &args, &[])
}

/// The metric vocabulary: encoded in the browser as natively.
fn browser_metrics(c: &Ctx) -> Result<()> {
    wasm_pack_test(c.root, "crates/metrics", &["--test", "browser"], &[])
}

/// A push from the browser through a real `lookout serve` (cross-origin) to a real
/// Pushgateway, both on ports they picked (lookout-testkit).
fn browser_push(c: &Ctx) -> Result<()> {
    let pushgateway = lookout_testkit::start_pushgateway();
    let lookout = target_dir(c.root).join("release/lookout");
    // Its own data folder: a test never writes into the user's (`lookout serve`'s default).
    let data = target_dir(c.root).join("browser-push-data");
    let _ = std::fs::remove_dir_all(&data);
    let pg_url = pushgateway.url();
    let server = lookout_testkit::start_lookout(
        &lookout,
        [
            OsStr::new("--cors-origin"),
            OsStr::new("*"),
            OsStr::new("--pushgateway"),
            OsStr::new(&pg_url),
            OsStr::new("--data-dir"),
            data.as_os_str(),
        ],
    );
    let url = format!("{}/", server.url());
    wasm_pack_test(
        c.root,
        "crates/metrics",
        &["--test", "browser_push"],
        &[("LOOKOUT_TEST_SERVER", url.as_str())],
    )
}

/// `wasm-pack test --headless --chrome` (offline, Debian's chromedriver) in `krate`.
fn wasm_pack_test(
    root: &Path,
    krate: &str,
    cargo_args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    // Installed once (cheap to check again): each browser step may run alone.
    ensure_tools(root, &[WASM_BINDGEN, WASM_PACK])?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_pass_through() {
        let o = parse(&args(&[
            "--only",
            "fmt,clippy",
            "--skip=clippy",
            "--test",
            "server",
            "--",
            "--only",
            "x",
        ]))
        .expect("parse");
        assert_eq!(o.only, Some(args(&["fmt", "clippy"])));
        assert_eq!(o.skip, args(&["clippy"]));
        assert_eq!(
            o.cargo_test,
            args(&["--test", "server", "--", "--only", "x"])
        );
        assert!(!o.list);
        assert_eq!(parse(&[]).expect("parse"), Options::default());
        assert!(parse(&args(&["--list"])).expect("parse").list);
    }

    #[test]
    fn unknown_steps_are_named_with_the_list() {
        let e = parse(&args(&["--skip", "fmt,lint"]))
            .expect_err("unknown")
            .to_string();
        assert!(
            e.contains("\"lint\"") && e.contains("fmt, clippy, edge-build"),
            "{e}"
        );
        assert!(parse(&args(&["--only"])).is_err());
    }

    #[test]
    fn step_names_are_unique() {
        let mut n: Vec<_> = STEPS.iter().map(|s| s.name).collect();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), STEPS.len());
    }
}
