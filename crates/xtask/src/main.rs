//! Project automation, so that README's two commands work on a fresh Debian machine:
//! `cargo xtask run` (the main job) and `cargo xtask test` (every check).
//!
//! Here only the commands and their usage; `tools` (packages, toolchains, running commands),
//! `build` (the binary, the page, the worker), `pipeline` (`cargo xtask test`'s steps),
//! `bench` and the `*_bench` modules (the benches). Daemons come from `lookout-testkit`.

use anyhow::{Result, bail};

mod alerts_bench;
mod bench;
mod build;
mod dashboard_bench;
mod memory_bench;
mod notebook_bench;
mod page_bench;
mod pipeline;
mod promql_bench;
mod static_page;
mod tools;

use tools::{WASM_BINDGEN, WASM_PACK, ensure_tools, ensure_wasm32, root};

const USAGE: &str = "usage: cargo xtask <command>\n\
     \n  run          build and start Lookout's main job\
     \n  test         every check, as named steps: setup (Debian packages), fmt, clippy, builds, every test\
     \n               --list: the steps; --only STEP[,STEP] / --skip STEP[,STEP]: a selection;\
     \n               other arguments go to its `cargo test` as given (e.g. -- --nocapture)\
     \n  setup        only install what the tests need\
     \n  bench-peers  Lookout vs ONNX Runtime CPU on the same weights (BENCHMARKS.md)\
     \n  load-test    wrk against `lookout serve` for N seconds (default 60; BENCHMARKS.md)\
     \n  page-bench   the page (wasm CPU, WebGPU) vs ONNX Runtime Web in headless Chromium\
     \n  notebook-bench query → panel drawn in the notebook: Lookout's engine vs Prometheus 2.42\
     \n  alerts-bench 1,000 alert rules every 10 s: lookout serve's CPU and memory vs Prometheus 2.42\
     \n  dashboard-bench Grafana import/export natively and in Chromium, dashboard saves on the server\
     \n  edge-build   build the edge worker with worker-build into crates/edge/build\
     \n  edge-bench   bundle size, CPU per request and N s of wrk against the worker in workerd\
     \n  promql-bench the PromQL engine vs Prometheus 2.42 on 1,000 series × H hours (default 6)\
     \n  memory-bench memory under load: lookout serve for S s (default 600), workerd over N requests (default 10,000), the page for M min (default 30)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args.first().map(String::as_str) {
        Some("setup") => tools::setup(),
        Some("test") => pipeline::run(&root, &args[1..]),
        Some("run") => build::run(&root, &args[1..]),
        Some("bench-peers") => bench::bench_peers(&root, &args[1..]),
        Some("load-test") => bench::load_test(&root, &args[1..]),
        Some("edge-build") => build::edge_build(&root).map(|_| ()),
        Some("page-bench") => page_bench::run(&root, &args[1..]),
        Some("notebook-bench") => notebook_bench::run(&root, &args[1..]),
        Some("alerts-bench") => alerts_bench::run(&root, &args[1..]),
        Some("dashboard-bench") => ensure_wasm32(&root)
            .and_then(|_| ensure_tools(&root, &[WASM_BINDGEN, WASM_PACK]))
            .and_then(|_| dashboard_bench::run(&root, &args[1..])),
        Some("memory-bench") => memory_bench::run(&root, &args[1..]),
        Some("edge-bench") => bench::edge_bench(&root, &args[1..]),
        Some("promql-bench") => ensure_wasm32(&root)
            .and_then(|_| ensure_tools(&root, &[WASM_BINDGEN, WASM_PACK]))
            .and_then(|_| {
                promql_bench::run(
                    &root,
                    &tools::target_dir(&root),
                    &tools::wasm_target_dir(&root),
                    args.get(1).and_then(|h| h.parse().ok()).unwrap_or(6),
                )
            }),
        _ => {
            eprintln!("{USAGE}");
            bail!("no command given")
        }
    }
}
