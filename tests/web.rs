//! The page end to end in real headless Chromium (playwright-core from npm driving Debian's
//! Chromium, `--enable-unsafe-webgpu`) against `lookout serve` with a real Pushgateway: it
//! loads, classifies a gallery sample on wasm CPU at once (not waiting for the WebGPU module)
//! like the native pipeline does with the same weights, shows a readable message for a
//! non-image, a truncated JPEG and a decompression bomb and keeps working, classifies on
//! WebGPU once the module is up and back on CPU (on the relaxed-SIMD module the page loaded
//! meanwhile: Chromium validates relaxed SIMD), counts per runtime in the live view, and its
//! metrics (`browser-cpu`, `browser-webgpu`) reach the Pushgateway through the server's proxy. A screenshot is saved beside the test
//! binaries (`e2e-page.png`).

use std::process::Command;
use std::time::Duration;

use lookout_model::{Backend, Classifier};
use lookout_tests::{
    Receiver, TempDir, get, lookout_bin, parse_exposition, start_prometheus_with,
    start_pushgateway, start_server, start_victoria_metrics, tests_dir, wait_for,
};

fn native_label(sample: &str) -> &'static str {
    let (_, bytes) = lookout_model::samples::SAMPLES
        .iter()
        .find(|(n, _)| *n == sample)
        .expect("sample");
    Classifier::embedded_compact(Backend::Cpu)
        .expect("compact")
        .predict_bytes(bytes, None)
        .expect("native prediction")
        .label
}

/// Runs an e2e script with node; the one JSON object it prints.
fn run_script(script: &std::path::Path, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON from {} ({e}): {stdout}\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The strings of a JSON array the e2e scripts print (none when it is not one).
fn strings_at(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The built page (with its notebook bundle) served by `lookout serve`, which proxies the
/// page's pushes to a real Pushgateway and scrapes it every second into its own store:
/// (Pushgateway, its port, the server, the server's URL).
fn serve_page_with_pushgateway() -> (lookout_tests::Daemon, u16, lookout_tests::Daemon, String) {
    let dist = tests_dir().join("../dist");
    assert!(
        dist.join("index.html").exists() && dist.join("notebook/notebook.js").exists(),
        "{} misses the page or its notebook bundle: `cargo xtask test` builds them (trunk build --release)",
        dist.display()
    );
    let pg = start_pushgateway();
    let pg_port = pg.port();
    let pg_url = pg.url();
    let (server, base) = start_server(&[
        "--static-dir",
        dist.to_str().expect("utf8"),
        "--pushgateway",
        &pg_url,
        "--scrape-interval",
        "1",
    ]);
    (pg, pg_port, server, base)
}

#[test]
fn page_classifies_pushes_and_survives_bad_files() {
    let e2e = tests_dir().join("e2e");
    assert!(
        e2e.join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/e2e (cargo xtask test does)"
    );
    let (_pg, pg_port, _server, base) = serve_page_with_pushgateway();
    let pg_url = format!("http://127.0.0.1:{pg_port}");
    let dir = TempDir::new("e2e");
    let bomb = dir.0.join("bomb.png");
    std::fs::write(
        &bomb,
        lookout_model::fixtures::png_header_only(40_000, 40_000),
    )
    .expect("bomb");
    let shot = lookout_bin().with_file_name("e2e-page.png");
    let v = run_script(
        &e2e.join("page.mjs"),
        &[
            format!("{base}/").as_ref(),
            shot.as_os_str(),
            bomb.as_os_str(),
        ],
    );
    println!("{v}");
    assert!(v.get("failure").is_none(), "{v}");
    assert_eq!(v["label"], native_label("0001_ship.jpg"), "{v}");
    assert_eq!(v["label_after"], native_label("0003_airplane.jpg"), "{v}");
    // The first prediction did not wait for the WebGPU module. A software fallback adapter
    // (SwiftShader, on a machine without a GPU) leaves the page on CPU until WebGPU is
    // chosen; a hardware adapter loads the module by itself ("ready on …"). Either way the
    // frog ran on WebGPU with the native label, and the airplane back on CPU.
    let found = v["gpu_found"].as_str().unwrap_or("");
    assert!(
        found.contains("software adapter") || found.contains("ready on"),
        "gpu_found: {found:?} in {v}"
    );
    for (key, words) in [
        ("backend", "wasm CPU"),
        ("backend_while_found", "wasm CPU"),
        ("gpu_status", "ready on"),
        ("gpu_backend", "WebGPU"),
        ("backend_after", "wasm CPU (lookout-cpu, relaxed SIMD)"),
        ("cpu_status", "relaxed SIMD ready (wasm-relaxed-simd)"),
    ] {
        let text = v[key].as_str().unwrap_or("");
        assert!(text.contains(words), "{key}: {text:?} in {v}");
    }
    assert_eq!(v["gpu_label"], native_label("0004_frog.jpg"), "{v}");
    let runtimes = v["runtimes"].as_str().unwrap_or("");
    assert!(
        runtimes.contains("browser-cpu: 2") && runtimes.contains("browser-webgpu: 1"),
        "the live view (PromQL over the page's store) counts per runtime: {v}"
    );
    for (key, words) in [
        ("error_text", "not a recognised image"),
        ("error_truncated", "broken.jpg"),
        ("error_bomb", "limit"),
    ] {
        let text = v[key].as_str().unwrap_or("");
        assert!(text.contains(words), "{key}: {text:?}");
    }
    assert_eq!(v["total"], "3", "three successful predictions: {v}");
    assert_eq!(v["console_errors"], serde_json::json!([]), "{v}");
    assert!(shot.exists(), "screenshot");

    // The page's own metrics, pushed through the server's proxy, are at the Pushgateway,
    // per runtime.
    wait_for("the page's push", Duration::from_secs(20), || {
        let text = get(&format!("{pg_url}/metrics"))?;
        let series = parse_exposition(&text);
        let total = |runtime: &str| -> f64 {
            series
                .iter()
                .filter(|(n, l, _)| {
                    n == "prediction_value_total"
                        && l.iter().any(|(k, v)| k == "runtime" && v == runtime)
                        && l.iter()
                            .any(|(k, v)| k == "instance" && v.starts_with("page-"))
                })
                .map(|(_, _, v)| v)
                .sum()
        };
        (total("browser-cpu") == 2.0 && total("browser-webgpu") == 1.0).then_some(())
    });
}

/// The page without its WebGPU and relaxed-SIMD modules, as `cargo xtask run` serves it
/// before building them (`tests/e2e/webgpu_later.mjs`): choosing WebGPU says the module is not
/// built yet, so does the relaxed-SIMD status, and the page goes on classifying on its own
/// SIMD128 kernels; `?cpu=simd128` keeps them without asking for the module.
#[test]
fn page_says_its_webgpu_module_is_not_built_yet() {
    let e2e = tests_dir().join("e2e");
    let dist = tests_dir().join("../dist");
    assert!(
        dist.join("webgpu").exists(),
        "{} misses the page's WebGPU module: `cargo xtask test` builds it",
        dist.display()
    );
    let dir = TempDir::new("webgpu-later");
    let copy = Command::new("cp")
        .arg("-a")
        .arg(dist.join("."))
        .arg(&dir.0)
        .status()
        .expect("cp");
    assert!(copy.success());
    std::fs::remove_dir_all(dir.0.join("webgpu")).expect("remove webgpu/");
    std::fs::remove_dir_all(dir.0.join("webcpu")).expect("remove webcpu/");
    let (_server, base) = start_server(&["--static-dir", dir.0.to_str().expect("utf8")]);
    let v = run_script(
        &e2e.join("webgpu_later.mjs"),
        &[format!("{base}/").as_ref()],
    );
    println!("{v}");
    assert!(v.get("failure").is_none(), "{v}");
    let status = v["gpu_status"].as_str().unwrap_or_default();
    assert!(
        status.contains("WebGPU failed, running on wasm CPU")
            && status.contains("the WebGPU module is not built yet"),
        "{v}"
    );
    assert_eq!(v["label"], native_label("0001_ship.jpg"), "{v}");
    for (key, words) in [
        ("backend", "wasm CPU (lookout-cpu, SIMD128)"),
        (
            "cpu_status",
            "relaxed SIMD failed, SIMD128 kernels: the relaxed-SIMD module is not built yet",
        ),
        ("cpu_status_off", "relaxed SIMD off (?cpu=simd128)"),
        ("backend_off", "wasm CPU (lookout-cpu, SIMD128)"),
    ] {
        let text = v[key].as_str().unwrap_or_default();
        assert!(text.contains(words), "{key}: {text:?} in {v}");
    }
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
}

/// The notebook end to end (`tests/e2e/notebook.mjs`): completions from the page's own
/// metrics, the seed's query drawn one series per label, every panel type, the time range,
/// the server's data source, a bad query's error kept in its cell, and markup in legends
/// shown as text with no script running. Screenshots beside the test binaries.
#[test]
fn notebook_queries_and_draws_the_pages_metrics() {
    let e2e = tests_dir().join("e2e");
    let (_pg, pg_port, _server, base) = serve_page_with_pushgateway();
    // Remote sources, called by the browser directly: a real Prometheus 2.42 (allowing the
    // page's origin) and a real VictoriaMetrics, both scraping the Pushgateway the page
    // pushes to.
    let dir = TempDir::new("notebook-remotes");
    let scrape = format!(
        "  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{pg_port}']\n"
    );
    let prom = start_prometheus_with(&dir, &scrape, &["--web.cors.origin=.*"]);
    let vm = start_victoria_metrics(&dir, &scrape);
    let shots = lookout_bin().with_file_name("e2e-notebook");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let v = run_script(
        &e2e.join("notebook.mjs"),
        &[
            format!("{base}/").as_ref(),
            shots.as_os_str(),
            prom.url().as_ref(),
            vm.url().as_ref(),
        ],
    );
    println!("{v}");
    assert!(v.get("failure").is_none(), "{v}");
    let list = |key: &str| strings_at(&v[key]);
    assert!(
        list("completions")
            .iter()
            .any(|c| c == "prediction_value_total"),
        "completions from the page's metrics: {v}"
    );
    // The labels of the samples the walk classified, as the native pipeline gives them.
    let labels: std::collections::BTreeSet<&str> = [
        "0001_ship.jpg",
        "0000_cat.jpg",
        "0003_airplane.jpg",
        "0002_ship.jpg",
    ]
    .iter()
    .map(|s| native_label(s))
    .collect();
    let legend = list("legend");
    for l in &labels {
        assert!(
            legend.iter().any(|x| x == l),
            "series {l} in the legend {legend:?}"
        );
    }
    assert!(v["canvas"].as_u64().unwrap_or(0) >= 1, "{v}");
    // The page's metrics carry every class from the start (zero until predicted).
    for key in ["stat", "gauge", "bargauge", "table"] {
        assert_eq!(
            list(key).len(),
            lookout_model::LABELS.len(),
            "{key}: one per class: {v}"
        );
    }
    assert!(
        list("table_head").iter().any(|h| h.starts_with("label")),
        "{v}"
    );
    assert_eq!(v["heatmap_problem"], "", "{v}");
    assert_eq!(v["time_from"], "now-5m", "{v}");
    let bad = v["bad_query_error"].as_str().unwrap_or("");
    assert!(bad.starts_with("A: ") && bad.contains("bad_data"), "{bad}");
    assert!(v["cell1_still_drawn"].as_u64().unwrap_or(0) >= 1, "{v}");
    let shown = list("markup_as_text");
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("<img src=x onerror=alert(1)>")),
        "markup shown as text: {shown:?}"
    );
    assert_eq!(v["img_elements"], 0, "{v}");
    assert_eq!(v["dialogs"], serde_json::json!([]), "no script ran: {v}");
    let server = list("server_legend");
    assert!(
        labels.iter().all(|l| server.iter().any(|x| x == l)),
        "the server's store (scraped from the Pushgateway) answers: {v}"
    );
    assert_eq!(v["server_errors"], serde_json::json!([]), "{v}");
    for remote in ["prometheus", "victoriametrics"] {
        let legend = strings_at(&v["remotes"][remote]["legend"]);
        assert!(
            labels.iter().all(|l| legend.iter().any(|x| x == l)),
            "{remote} (called by the browser) answers with the page's labels: {v}"
        );
        assert_eq!(
            v["remotes"][remote]["errors"],
            serde_json::json!([]),
            "{remote}: {v}"
        );
    }
    assert_eq!(v["page_errors"], serde_json::json!([]), "{v}");
}

/// Dashboards end to end (`tests/e2e/dashboards.mjs`) against `lookout serve --data-dir`: a
/// first visit draws the seed's dashboard; create, add a panel, rename, reload; move and
/// resize by dragging, reload; collapse a row; markup in titles and descriptions stays text;
/// versions restore; a stale second tab gets the conflict prompt; saves reach the data dir,
/// and an edit made while the server is stopped reaches it once it is started again on the
/// same port. Import (a real Grafana export with rows and variables, a hostile one, a
/// truncated file beside a Lookout JSON), a custom variable narrowing a panel's series, the
/// variables editor, Grafana and Lookout JSON exports, and a shared link opened in a new page
/// and saved under a free uid. The script asks for the stop and the start on its stdout.
#[test]
fn dashboards_are_never_lost() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    let dist = tests_dir().join("../dist");
    assert!(
        dist.join("notebook/notebook.js").exists(),
        "cargo xtask test builds the page and its notebook bundle"
    );
    let data = TempDir::new("dashboards-data");
    let (dist_dir, data_dir) = (
        dist.to_str().expect("utf8").to_string(),
        data.0.to_str().expect("utf8").to_string(),
    );
    // The first start picks its port; a restart takes the same one (the page stays open on
    // that URL).
    let start = |addr: Option<&str>| {
        let mut args = vec!["--static-dir", &dist_dir, "--data-dir", &data_dir];
        args.extend(addr.map(|a| ["--addr", a]).into_iter().flatten());
        let (d, base) = start_server(&args);
        wait_for("lookout serve", Duration::from_secs(60), || {
            get(&format!("{base}/api/dashboards")).filter(|b| b.contains("dashboards"))
        });
        (d, base)
    };
    let file_title = |uid: &str| -> Option<String> {
        let text =
            std::fs::read_to_string(data.0.join("dashboards").join(format!("{uid}.json"))).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["title"].as_str().map(str::to_string)
    };
    let (first, base) = start(None);
    let addr = base.trim_start_matches("http://").to_string();
    let mut server = Some(first);
    let shots = lookout_bin().with_file_name("e2e-dashboards");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let mut child = Command::new("node")
        .arg(tests_dir().join("e2e/dashboards.mjs"))
        .arg(format!("{base}/"))
        .arg(&shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut to_script = child.stdin.take().expect("stdin");
    let mut title_before_stop = None;
    let mut title_before_disk_edit = None;
    let mut result = None;
    for line in BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
    {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) else {
            println!("script: {line}");
            continue;
        };
        match v["event"].as_str() {
            Some("stop") => {
                // What the page saved is on disk, then the server goes away.
                let uid = v["uid"].as_str().unwrap_or_default().to_string();
                title_before_stop = Some(wait_for(
                    "the dashboard's file",
                    Duration::from_secs(20),
                    || file_title(&uid),
                ));
                if let Some(s) = server.take() {
                    s.stop();
                }
                writeln!(to_script, "stopped").expect("to script");
            }
            Some("start") => {
                server = Some(start(Some(&addr)).0);
                writeln!(to_script, "started").expect("to script");
            }
            Some("edit-file") => {
                // The edit made while the server was away reached its disk first.
                let uid = v["uid"].as_str().unwrap_or_default();
                title_before_disk_edit = Some(wait_for(
                    "the edit made while away, on disk",
                    Duration::from_secs(20),
                    || file_title(uid).filter(|t| t == "Edited while away"),
                ));
                // As a person or `git pull` would: the file rewritten in place, a new title.
                let path = data.0.join("dashboards").join(format!("{uid}.json"));
                let mut d: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).expect("read file"))
                        .expect("a dashboard file");
                d["title"] = v["title"].clone();
                std::fs::write(&path, serde_json::to_string_pretty(&d).expect("json"))
                    .expect("write file");
                writeln!(to_script, "edited").expect("to script");
            }
            _ => result = Some(v),
        }
    }
    let _ = child.wait();
    let v = result.expect("the script's result");
    println!("{v}");
    assert!(v.get("failure").is_none(), "{v}");
    let strings = |key: &str| strings_at(&v[key]);
    assert_eq!(
        strings("seed_titles"),
        [
            "Current Predictions Per Second Per Class",
            "Predictions Per Server Process",
            "Predictions Made",
            "Predictions By Label",
            "P90 Model Inference Time"
        ],
        "{v}"
    );
    assert!(v["seed_canvases"].as_u64().unwrap_or(0) >= 3, "{v}");
    assert!(!strings("seed_stats").is_empty(), "{v}");
    let list = strings("list");
    assert!(
        list.iter().any(|u| u == "lookout-seed") && list.iter().any(|u| u == "lookout-drift"),
        "{v}"
    );
    assert_eq!(strings("search"), ["lookout-drift"], "{v}");
    assert!(
        v["server_text"]
            .as_str()
            .unwrap_or("")
            .contains("on the server"),
        "{v}"
    );
    assert_eq!(strings("after_reload_panels"), ["Total predictions"], "{v}");
    let moved = serde_json::json!({"x": 6, "y": 2, "w": 14, "h": 9});
    assert_eq!(v["moved"], moved, "{v}");
    assert_eq!(v["moved_after_reload"], moved, "{v}");
    assert_eq!(v["panels_before_collapse"], 2, "{v}");
    assert_eq!(
        strings("panels_after_collapse"),
        ["Total predictions"],
        "{v}"
    );
    assert!(
        strings("diff_added")
            .iter()
            .any(|l| l.contains("\"title\": \"V2 title\"")),
        "{v}"
    );
    let versions = v["versions"].as_array().cloned().unwrap_or_default();
    assert!(versions.len() >= 4, "{v}");
    assert_eq!(
        versions[0][1], "V1 title",
        "restored as the newest version: {v}"
    );
    assert_eq!(versions[1][1], "V2 title", "{v}");
    assert!(
        v["conflict_text"]
            .as_str()
            .unwrap_or("")
            .contains("another tab"),
        "{v}"
    );
    assert_eq!(v["conflict_state"], "conflict", "{v}");
    assert_eq!(
        v["tab1_title_after"], "Edited in tab 1",
        "not overwritten: {v}"
    );
    let xss = "<img src=x onerror=\"window.__pwned=1\">";
    assert_eq!(strings("xss_panel_titles"), [xss], "{v}");
    assert_eq!(v["xss_description"], xss, "{v}");
    assert!(strings("xss_list").iter().any(|t| t == xss), "{v}");
    assert_eq!(v["img_elements"], 0, "{v}");
    assert_eq!(v["pwned"], "undefined", "{v}");
    assert!(
        !strings("after_delete")
            .iter()
            .any(|u| u.starts_with("img-src-x")),
        "{v}"
    );
    assert_eq!(title_before_stop.as_deref(), Some("Edited in tab 1"), "{v}");
    assert!(
        v["pending_text"]
            .as_str()
            .unwrap_or("")
            .contains("sync pending"),
        "{v}"
    );
    assert_eq!(
        title_before_disk_edit.as_deref(),
        Some("Edited while away"),
        "{v}"
    );
    assert_eq!(file_title("e2e-board").as_deref(), Some("Edited on disk"));
    // Deleted while the server was away: deleted there once it was back (into its trash),
    // and not brought back by the merge after a reload.
    assert_eq!(v["away_delete_notice"], true, "{v}");
    assert!(
        !strings("after_away_delete").contains(&"lookout-drift".to_string())
            && strings("after_away_delete").contains(&"e2e-board".to_string()),
        "{v}"
    );
    assert_eq!(file_title("lookout-drift"), None, "{v}");
    // A hand edit of the file reached the open view without a reload, within the page's
    // 10 s merge interval (plus the store's pick-up), and is saved there.
    assert!(
        v["disk_edit_seen_ms"]
            .as_u64()
            .is_some_and(|ms| ms <= 25_000),
        "{v}"
    );
    assert_eq!(v["disk_edit_state"], "saved", "{v}");
    assert!(
        std::fs::read_dir(data.0.join("dashboards/.trash"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("lookout-drift")),
        "the deleted dashboard is in the server's trash"
    );
    // Import of a real Grafana export: opened, with its rows, variables bar and report.
    let report = v["import_report"].as_str().unwrap_or("");
    assert!(
        report.contains("Grafana dashboard") && report.contains("schemaVersion 16"),
        "{v}"
    );
    assert_eq!(v["tikv_title"], "Test-Cluster-TiKV-Raw", "{v}");
    assert_eq!(
        strings("tikv_rows"),
        ["Read - All", "Causal timestamp"],
        "row titles with $command substituted: {v}"
    );
    assert_eq!(strings("tikv_vars"), ["command", "instance"], "{v}");
    assert_eq!(v["tikv_var_text"], "All ▾", "{v}");
    assert!(
        strings("tikv_panels")
            .iter()
            .any(|t| t == "Command Duration"),
        "{v}"
    );
    // A hostile Grafana export: text everywhere, no script ran.
    assert_eq!(strings("hostile_panel_titles"), [xss], "{v}");
    assert_eq!(v["hostile_title"], xss, "{v}");
    assert_eq!(v["hostile_description"], xss, "{v}");
    assert!(
        strings("hostile_legend")
            .iter()
            .any(|l| l == &format!("{xss}Ship")),
        "{v}"
    );
    assert!(
        v["hostile_report"]
            .as_str()
            .unwrap_or("")
            .contains("<img src=x onerror="),
        "{v}"
    );
    assert_eq!(v["hostile_img"], 0, "{v}");
    assert_eq!(v["hostile_pwned"], "undefined", "{v}");
    // Two files at once: progress, the bad one named, the good one imported, nothing lost.
    assert_eq!(v["import_progress"], serde_json::json!([2, 2]), "{v}");
    let bad = v["import_error"].as_str().unwrap_or("");
    assert!(
        bad.starts_with("broken.json: ") && bad.contains("JSON") && !bad.contains('\n'),
        "{v}"
    );
    let refused = strings("import_refused");
    assert!(
        refused.len() == 2
            && refused[0].starts_with("deep.json: ")
            && refused[0].contains("recursion limit")
            && refused[1].starts_with("big.json: 16777217 bytes"),
        "{v}"
    );
    let listed = strings("list_after_import");
    for uid in [
        "e2e-board",
        "lookout-seed",
        "K0D2tEZZz",
        "hostile",
        "e2e-vars",
    ] {
        assert!(listed.iter().any(|u| u == uid), "{uid} in {v}");
    }
    // The custom variable narrows the panel's series; a new selection changes them.
    assert_eq!(strings("vars_legend_1"), ["Ship"], "{v}");
    assert_eq!(v["vars_title_1"], "Predictions of Ship", "{v}");
    let mut both = strings("vars_legend_2");
    both.sort();
    assert_eq!(both, ["Cat", "Ship"], "{v}");
    assert_eq!(strings("vars_legend_3"), ["Cat"], "{v}");
    assert_eq!(v["vars_title_3"], "Predictions of Cat", "{v}");
    assert!(
        v["var_error"]
            .as_str()
            .unwrap_or("")
            .contains("unknown function \"nope\""),
        "a variable's error is shown beside it: {v}"
    );
    assert_eq!(strings("editor_options"), ["a", "b", "c"], "{v}");
    // The editor's sort (alphabetical, descending) on a query variable over the page's labels.
    let mut want = lookout_model::LABELS
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>();
    want.sort();
    want.reverse();
    assert_eq!(strings("sorted_options"), want, "{v}");
    assert_eq!(v["sort_value"], "2", "{v}");
    assert!(
        v["editor_refused"]
            .as_str()
            .unwrap_or("")
            .contains("duplicate variable name"),
        "{v}"
    );
    // Exports that parse.
    assert_eq!(v["export_grafana"]["name"], "e2e-vars.json", "{v}");
    assert_eq!(v["export_grafana"]["panels"], 1, "{v}");
    assert!(
        v["export_grafana"]["exprs"][0]
            .as_str()
            .unwrap_or("")
            .contains("$label"),
        "{v}"
    );
    assert_eq!(
        v["export_grafana"]["variables"],
        serde_json::json!(["label", "bad"]),
        "{v}"
    );
    assert_eq!(v["export_lookout"]["uid"], "e2e-vars", "{v}");
    assert_eq!(v["export_lookout"]["panels"], 1, "{v}");
    // Shared links: a panel's and the dashboard's; opened in a new page, saved under a free uid.
    for key in ["panel_link", "share_link"] {
        let link = v[key].as_str().unwrap_or("");
        assert!(link.contains("/#dashboard=1."), "{key}: {v}");
    }
    assert_eq!(v["share_copied"], "Copied.", "{v}");
    assert!(
        v["clipboard"]
            .as_str()
            .unwrap_or("")
            .contains("#dashboard=1."),
        "{v}"
    );
    assert_eq!(v["shared_title"], "E2E variables", "{v}");
    assert_eq!(strings("shared_panels"), ["Predictions of Cat"], "{v}");
    assert_eq!(strings("shared_vars"), ["label", "bad"], "{v}");
    assert_eq!(v["shared_saved_uid"], "e2e-vars-2", "{v}");
    assert_eq!(v["shared_hash_after"], "", "{v}");
    assert_eq!(v["storage_error"], "", "{v}");
    assert_eq!(v["dialogs"], serde_json::json!([]), "{v}");
    assert_eq!(v["page_errors"], serde_json::json!([]), "{v}");
}

/// Alerts in the page (`tests/e2e/alerts.mjs`) against `lookout serve --data-dir --backfill`
/// with a webhook channel whose receiver is this test's own HTTP endpoint: an alert added to
/// a panel through the editor ("Test rule" first), saved, evaluated by the server: Pending
/// then Alerting on the panel's header and in the alert list, one alerting message; the
/// threshold raised: OK, one resolved message. A shared (unsaved) copy of a dashboard over
/// the page's own metrics is evaluated in the tab. Markup in a rule's name stays text.
#[test]
fn alerts_show_in_the_page() {
    let dist = tests_dir().join("../dist");
    assert!(
        dist.join("notebook/notebook.js").exists(),
        "cargo xtask test builds the page and its notebook bundle"
    );
    let hook = Receiver::start();
    let hook_port = hook.port;
    // Samples that make a rule over the server's data fire at once: 10 every 5 s.
    let dir = TempDir::new("web-alerts");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut fill = String::from("# TYPE lookout_alert_probe gauge\n");
    for t in (now - 300..now).step_by(5) {
        fill.push_str(&format!("lookout_alert_probe{{job=\"probe\"}} 10 {t}\n"));
    }
    fill.push_str("# EOF\n");
    let fill_path = dir.0.join("probe.om");
    std::fs::write(&fill_path, fill).expect("backfill");
    let data = dir.0.join("data");
    let (_server, base) = start_server(&[
        "--static-dir",
        dist.to_str().expect("utf8"),
        "--data-dir",
        data.to_str().expect("utf8"),
        "--backfill",
        fill_path.to_str().expect("utf8"),
    ]);
    let client = reqwest::blocking::Client::new();
    let put = |path: &str, body: serde_json::Value| {
        let r = client
            .put(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("PUT");
        assert!(r.status().is_success(), "PUT {path}: {}", r.status());
    };
    put(
        "/api/channels/hook",
        serde_json::json!({"name": "Hook", "type": "webhook",
            "secureSettings": {"url": format!("http://127.0.0.1:{hook_port}/hooks/T0SECRET")}}),
    );
    put(
        "/api/dashboards/e2e-alerts",
        serde_json::json!({
            "uid": "e2e-alerts", "title": "E2E alerts", "version": 0,
            "time": {"from": "now-10m", "to": "now"},
            "panels": [{
                "id": 1, "title": "Probe", "datasource": {"type": "server"},
                "targets": [{"refId": "A", "expr": "lookout_alert_probe"}],
                "panel": {"kind": "timeseries", "grid": {"x": 0, "y": 0, "w": 24, "h": 8}}
            }]
        }),
    );
    // A dashboard over the page's own metrics, opened from a link (an unsaved copy): the tab
    // evaluates its rule.
    let local = lookout_dashboard::Dashboard::from_json(
        &serde_json::json!({
            "uid": "e2e-local", "title": "Local alerts", "version": 1,
            "time": {"from": "now-5m", "to": "now"},
            "panels": [{
                "id": 1, "title": "Page predictions", "datasource": {"type": "page"},
                "targets": [{"refId": "A", "expr": "sum(prediction_value_total)"}],
                "panel": {"kind": "timeseries", "grid": {"x": 0, "y": 0, "w": 24, "h": 8}},
                "alert": {
                    "name": "Page predicted", "frequency": "1s", "for": "0s",
                    "notifications": [{"uid": "hook"}],
                    "conditions": [{
                        "type": "query", "query": {"params": ["A", "5m", "now"]},
                        "reducer": {"type": "last"},
                        "evaluator": {"type": "gt", "params": [0]}
                    }]
                }
            }]
        })
        .to_string(),
    )
    .expect("local dashboard");
    let link = format!(
        "{base}/#{}",
        lookout_dashboard::share::encode(&local).expect("link")
    );
    let shots = lookout_bin().with_file_name("e2e-alerts");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let v = run_script(
        &tests_dir().join("e2e/alerts.mjs"),
        &[
            format!("{base}/").as_ref(),
            shots.as_os_str(),
            link.as_ref(),
        ],
    );
    println!("{v}");
    assert!(v.get("failure").is_none(), "{v}");
    let xss = "<img src=x onerror=\"window.__pwned=1\">";
    let rule_name = format!("{xss} probe");
    let strings = |key: &str| strings_at(&v[key]);
    // The editor: the channel from the server's list, an invalid input's error, the test.
    assert_eq!(strings("channels"), ["hook"], "{v}");
    assert!(
        v["invalid_error"]
            .as_str()
            .unwrap_or("")
            .contains("invalid duration"),
        "{v}"
    );
    assert_eq!(v["test_state"], "alerting", "{v}");
    assert!(
        v["test_evals"]
            .as_str()
            .unwrap_or("")
            .contains("true = true"),
        "{v}"
    );
    assert!(
        strings("test_series")
            .iter()
            .any(|s| s.starts_with("lookout_alert_probe")),
        "{v}"
    );
    // Stored in the panel, saved to the server, evaluated there.
    assert!(
        v["alerts_by"]
            .as_str()
            .unwrap_or("")
            .contains("evaluated by the server"),
        "{v}"
    );
    let seen = strings("header_states");
    let pending = seen.iter().position(|s| s == "pending");
    let alerting = seen.iter().position(|s| s == "alerting");
    assert!(
        matches!((pending, alerting), (Some(p), Some(a)) if p < a),
        "Pending then Alerting on the header: {seen:?} in {v}"
    );
    assert_eq!(v["threshold_drawn"], "5", "{v}");
    assert_eq!(v["list_state"], "alerting", "{v}");
    assert_eq!(v["list_name"], rule_name, "{v}");
    assert!(
        strings("list_history")
            .iter()
            .any(|t| t.contains("Pending → Alerting")),
        "{v}"
    );
    assert_eq!(v["resolved_state"], "ok", "{v}");
    // The tab's own evaluation of the shared copy.
    assert!(
        v["local_by"]
            .as_str()
            .unwrap_or("")
            .contains("evaluated in this tab"),
        "{v}"
    );
    assert_eq!(v["local_state"], "alerting", "{v}");
    assert_eq!(v["local_list_by"], "this tab", "{v}");
    for key in ["img_elements", "img_elements_list"] {
        assert_eq!(v[key], 0, "{key}: {v}");
    }
    for key in ["pwned", "pwned_list"] {
        assert_eq!(v[key], "undefined", "{key}: {v}");
    }
    assert_eq!(v["dialogs"], serde_json::json!([]), "{v}");
    assert_eq!(v["page_errors"], serde_json::json!([]), "{v}");
    // Exactly one alerting message, then one resolved message.
    let about = |state: &str| -> usize {
        hook.bodies()
            .iter()
            .filter(|b| b["ruleName"] == rule_name.as_str() && b["state"] == state)
            .count()
    };
    wait_for("the resolved message", Duration::from_secs(20), || {
        (about("ok") >= 1).then_some(())
    });
    // Deliberately a fixed window: no second message may arrive during it.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(about("alerting"), 1, "{:?}", hook.bodies());
    assert_eq!(about("ok"), 1, "{:?}", hook.bodies());
    // The shared copy's rule, evaluated in the tab: the tab asked the server, which sent it
    // (the page never saw the hook's URL).
    let tab_sent: Vec<serde_json::Value> = hook
        .bodies()
        .into_iter()
        .filter(|b| b["ruleName"] == "Page predicted")
        .collect();
    assert_eq!(tab_sent.len(), 1, "{tab_sent:?}");
    assert_eq!(tab_sent[0]["state"], "alerting", "{tab_sent:?}");
    assert!(
        tab_sent[0]["ruleUrl"]
            .as_str()
            .is_some_and(|u| u.contains("dashboard=e2e-local")),
        "{tab_sent:?}"
    );
}

/// The issue's own scenario: the seed's alert on "P90 Model Inference Time", the page's
/// traffic through a real Pushgateway into the server's store, Pending then Alerting on the
/// panel and in the list, exactly one firing message to the receiver, traffic stopped, one
/// resolved message (see `e2e/alerts_seed.mjs`).
#[test]
fn seed_alert_fires_under_traffic_and_resolves() {
    let hook = Receiver::start();
    let (_pg, _, _server, base) = serve_page_with_pushgateway();
    let r = reqwest::blocking::Client::new()
        .put(format!("{base}/api/channels/hook"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"name": "Hook", "type": "webhook",
                "secureSettings": {"url": format!("http://127.0.0.1:{}/hooks/T0SECRET", hook.port)}})
            .to_string(),
        )
        .send()
        .expect("PUT channel");
    assert!(r.status().is_success(), "{}", r.status());
    let shots = lookout_bin().with_file_name("e2e-alerts-seed");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let v = run_script(
        &tests_dir().join("e2e/alerts_seed.mjs"),
        &[format!("{base}/").as_ref(), shots.as_os_str()],
    );
    println!("{v}");
    assert!(v.get("failure").is_none(), "{v}");
    assert_eq!(v["panel_title"], "P90 Model Inference Time", "{v}");
    assert!(
        v["query_before"]
            .as_str()
            .is_some_and(|q| q.contains("rate(inference_time_bucket[5m])")),
        "the seed's query: {v}"
    );
    assert_eq!(v["editor_error"], "", "{v}");
    // Thresholds are drawn where a panel asks for it (Grafana's default: not at all).
    assert_eq!(
        v["thresholds_drawn"],
        serde_json::json!({"panel-1": "", "panel-2": "", "panel-5": "80"}),
        "{v}"
    );
    assert!(
        v["alerts_by"]
            .as_str()
            .unwrap_or("")
            .contains("evaluated by the server"),
        "{v}"
    );
    let seen = strings_at(&v["header_states"]);
    let at = |state: &str| seen.iter().position(|s| s == state);
    assert!(
        matches!((at("pending"), at("alerting")), (Some(p), Some(a)) if p < a),
        "Pending then Alerting: {seen:?} in {v}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("ok"), "{v}");
    assert_eq!(v["list_state"], "alerting", "{v}");
    assert_eq!(v["list_name"], "P90 inference time above 0.2 ms", "{v}");
    assert!(
        strings_at(&v["list_history"])
            .iter()
            .any(|t| t.contains("Pending → Alerting")),
        "{v}"
    );
    assert_eq!(v["page_errors"], serde_json::json!([]), "{v}");
    // Exactly one firing message (with the page's P90 series), then one resolved message.
    let about = |state: &str| -> Vec<serde_json::Value> {
        hook.bodies()
            .into_iter()
            .filter(|b| b["ruleName"] == "P90 inference time above 0.2 ms" && b["state"] == state)
            .collect()
    };
    wait_for("the resolved message", Duration::from_secs(20), || {
        (!about("ok").is_empty()).then_some(())
    });
    // Deliberately a fixed window: no second message may arrive during it.
    std::thread::sleep(Duration::from_secs(2));
    let firing = about("alerting");
    assert_eq!(firing.len(), 1, "{:?}", hook.bodies());
    assert_eq!(about("ok").len(), 1, "{:?}", hook.bodies());
    let matches = firing[0]["evalMatches"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        matches
            .iter()
            .any(|m| m["value"].as_f64().is_some_and(|x| x > 0.0002)),
        "the P90 that fired: {firing:?}"
    );
    assert!(
        hook.bodies()
            .iter()
            .all(|b| b["state"] != "pending" && b["state"] != "no_data"),
        "nothing while Pending, no No Data: {:?}",
        hook.bodies()
    );
}
