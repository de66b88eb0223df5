//! Dashboards kept by `lookout serve --data-dir` over real HTTP and a real file system: two
//! clients saving the same dashboard (the stale one gets 409 with the current dashboard), a
//! `kill -9` in the middle of a burst of saves (every file whole, none lost), files edited
//! or added on disk picked up, uids that try to leave the folder refused, bad bodies refused.

use std::path::Path;
use std::time::Duration;

use lookout_tests::{TempDir, send_oversize, start_server};

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn put(base: &str, uid: &str, body: &str) -> (u16, serde_json::Value) {
    let resp = client()
        .put(format!("{base}/api/dashboards/{uid}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("PUT");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or_default())
}

fn get_json(url: &str) -> (u16, serde_json::Value) {
    let resp = client().get(url).send().expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or_default())
}

fn dashboard(title: &str, version: u64) -> String {
    serde_json::json!({
        "title": title,
        "version": version,
        "panels": [{"id": 1, "title": "p", "targets": [{"refId": "A", "expr": "up"}],
                    "panel": {"grid": {"x": 0, "y": 0, "w": 12, "h": 8}}}],
    })
    .to_string()
}

fn data_dir(dir: &TempDir) -> String {
    dir.0.to_string_lossy().into_owned()
}

#[test]
fn two_clients_one_dashboard() {
    let dir = TempDir::new("dash-conflict");
    let (_server, base) = start_server(&["--data-dir", &data_dir(&dir)]);
    let (s, v) = put(&base, "shared", &dashboard("first", 0));
    assert_eq!((s, v["version"].as_u64()), (200, Some(1)), "{v}");
    // Both clients load version 1; A saves first, B's save is stale.
    let (s, a) = put(&base, "shared", &dashboard("A's edit", 1));
    assert_eq!((s, a["version"].as_u64()), (200, Some(2)), "{a}");
    let (s, b) = put(&base, "shared", &dashboard("B's edit", 1));
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["current"]["title"], "A's edit");
    assert_eq!(b["current"]["version"], 2);
    assert!(
        b["error"]
            .as_str()
            .unwrap_or("")
            .contains("changed meanwhile")
    );
    // B chooses "overwrite": a save based on the current version.
    let (s, b) = put(&base, "shared", &dashboard("B's edit", 2));
    assert_eq!((s, b["version"].as_u64()), (200, Some(3)), "{b}");
    let (s, d) = get_json(&format!("{base}/api/dashboards/shared"));
    assert_eq!((s, d["title"].as_str()), (200, Some("B's edit")));
    let file = std::fs::read_to_string(dir.0.join("dashboards/shared.json")).expect("file");
    assert!(file.contains("\"title\": \"B's edit\""), "{file}");
    assert!(file.contains("\"version\": 3"));
}

#[test]
fn kill_9_during_a_burst_of_saves_loses_nothing() {
    let dir = TempDir::new("dash-kill");
    let (server, base) = start_server(&["--data-dir", &data_dir(&dir)]);
    // A big dashboard, so a write takes long enough for the kill to land inside some.
    let body = |i: u64, version: u64| {
        serde_json::json!({"title": format!("save {i}"), "version": version,
                           "description": "x".repeat(400_000)})
        .to_string()
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, u64)>::new()));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let base = base.clone();
            let stop = stop.clone();
            let acked = acked.clone();
            std::thread::spawn(move || {
                let uid = format!("d{w}");
                let mut version = 0;
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(resp) = client()
                        .put(format!("{base}/api/dashboards/{uid}"))
                        .body(body(i, version))
                        .send()
                    else {
                        break;
                    };
                    if resp.status().as_u16() != 200 {
                        break;
                    }
                    let Ok(v) = resp.json::<serde_json::Value>() else {
                        break;
                    };
                    version = v["version"].as_u64().unwrap_or(0);
                    if let Ok(mut a) = acked.lock() {
                        a.push((uid.clone(), version));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Let the saves run until every dashboard has a few acknowledged versions, then kill -9
    // (SIGKILL) the server mid-burst.
    lookout_tests::wait_for(
        "3 acknowledged saves of each dashboard",
        Duration::from_secs(60),
        || {
            let acked = acked.lock().ok()?;
            (0..4)
                .all(|w| {
                    let uid = format!("d{w}");
                    acked.iter().filter(|(u, _)| *u == uid).count() >= 3
                })
                .then_some(())
        },
    );
    server.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let acked = acked.lock().expect("acked").clone();
    assert!(
        acked.len() > 8,
        "the burst saved only {} times",
        acked.len()
    );
    println!("{} saves acknowledged before the kill", acked.len());
    // Every file parses; each holds at least the last version the server acknowledged.
    let folder = dir.0.join("dashboards");
    for w in 0..4 {
        let uid = format!("d{w}");
        let last = acked
            .iter()
            .filter(|(u, _)| *u == uid)
            .map(|(_, v)| *v)
            .max();
        let Some(last) = last else { continue };
        let text = std::fs::read_to_string(folder.join(format!("{uid}.json"))).expect("file");
        let d: serde_json::Value = serde_json::from_str(&text).expect("a whole file");
        let v = d["version"].as_u64().expect("version");
        assert!(
            v >= last,
            "{uid}: file has version {v}, server acknowledged {last}"
        );
        assert_eq!(d["description"].as_str().map(str::len), Some(400_000));
    }
    // A server started on the folder again serves them all.
    let (_server, base) = start_server(&["--data-dir", &data_dir(&dir)]);
    let (s, list) = get_json(&format!("{base}/api/dashboards"));
    assert_eq!(s, 200);
    let entries = list["dashboards"].as_array().cloned().unwrap_or_default();
    assert!(entries.iter().all(|e| e.get("error").is_none()), "{list}");
    leftover_temp_files_are_ignored(&folder, &entries);
}

/// Temporary files a kill left behind are not dashboards.
fn leftover_temp_files_are_ignored(folder: &Path, entries: &[serde_json::Value]) {
    let uids: Vec<&str> = entries.iter().filter_map(|e| e["uid"].as_str()).collect();
    assert!(
        uids.iter().all(|u| u.starts_with('d') && u.len() == 2),
        "{uids:?}"
    );
    for e in std::fs::read_dir(folder).expect("folder").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".json") || name.contains(".tmp-") || name == ".trash",
            "{name}"
        );
    }
}

#[test]
fn files_on_disk_are_the_source_of_truth() {
    let dir = TempDir::new("dash-disk");
    let (_server, base) = start_server(&["--data-dir", &data_dir(&dir)]);
    let folder = dir.0.join("dashboards");
    let (s, _) = put(&base, "ops", &dashboard("Ops", 0));
    assert_eq!(s, 200);
    // Edited by hand (or by git): the server answers the new content, with a newer version,
    // so a client holding the old version cannot overwrite the edit.
    let path = folder.join("ops.json");
    let text = std::fs::read_to_string(&path).expect("file");
    std::fs::write(&path, text.replace("\"Ops\"", "\"Ops (edited in git)\"")).expect("edit");
    let (_, d) = get_json(&format!("{base}/api/dashboards/ops"));
    assert_eq!(d["title"], "Ops (edited in git)");
    assert!(d["version"].as_u64() > Some(1), "{d}");
    let (s, _) = put(&base, "ops", &dashboard("stale", 1));
    assert_eq!(s, 409);
    // A file added to the folder is listed; a notebook file (schema 1) opens as a dashboard;
    // a broken file is listed with its error and does not hide the others.
    std::fs::write(
        folder.join("from-git.json"),
        r#"{"schemaVersion":1,"title":"From git","cells":[{"id":1,"targets":[{"expr":"up"}]}]}"#,
    )
    .expect("write");
    std::fs::write(folder.join("broken.json"), "{\"title\":").expect("write");
    let (_, list) = get_json(&format!("{base}/api/dashboards"));
    let entries = list["dashboards"].as_array().cloned().unwrap_or_default();
    let titles: Vec<&str> = entries.iter().filter_map(|e| e["title"].as_str()).collect();
    assert!(
        titles.contains(&"From git") && titles.contains(&"Ops (edited in git)"),
        "{list}"
    );
    let broken = entries
        .iter()
        .find(|e| e["uid"] == "broken")
        .expect("listed");
    assert!(
        broken["error"]
            .as_str()
            .unwrap_or("")
            .contains("broken.json"),
        "{broken}"
    );
    let (s, d) = get_json(&format!("{base}/api/dashboards/from-git"));
    assert_eq!(s, 200);
    assert_eq!(d["panels"][0]["targets"][0]["expr"], "up");
    let (s, _) = get_json(&format!("{base}/api/dashboards/broken"));
    assert_eq!(s, 422);
    // Removed on disk: gone.
    std::fs::remove_file(folder.join("from-git.json")).expect("rm");
    let (s, _) = get_json(&format!("{base}/api/dashboards/from-git"));
    assert_eq!(s, 404);
}

#[test]
fn bad_uids_and_bodies_are_refused() {
    let dir = TempDir::new("dash-bad");
    let (_server, base) = start_server(&["--data-dir", &data_dir(&dir)]);
    for uid in [
        "..%2F..%2Fetc",
        "a.b",
        "a%00b",
        &"x".repeat(41),
        "%C3%A9",
        ".trash",
    ] {
        let (s, v) = put(&base, uid, &dashboard("x", 0));
        assert_eq!(s, 400, "{uid}: {v}");
        let (s, _) = get_json(&format!("{base}/api/dashboards/{uid}"));
        assert_eq!(s, 400, "{uid}");
    }
    // `%2e%2e` is `..` to the URL parser (the client resolves it before sending): the
    // request never names a dashboard.
    let (s, _) = put(&base, "%2e%2e", &dashboard("x", 0));
    assert_eq!(s, 404);
    let (s, v) = put(&base, "ok", "{\"title\": ");
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("invalid dashboard")
    );
    let (s, _) = put(&base, "ok", r#"{"schemaVersion": 99}"#);
    assert_eq!(s, 400);
    // Refused from the declared length, before 17 MiB are read.
    let (head, body) = send_oversize(&base, "PUT", "/api/dashboards/ok", 17 << 20);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(body.contains("at most"), "{body}");
    let deep = format!(
        "{{\"title\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (s, _) = put(&base, "ok", &deep);
    assert_eq!(s, 400);
    // Nothing was written.
    let names: Vec<String> = std::fs::read_dir(dir.0.join("dashboards"))
        .expect("folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

fn lookout(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(lookout_tests::lookout_bin())
        .args(args)
        .output()
        .expect("run lookout");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `lookout dashboards import | export | check` on the real Grafana exports kept beside the
/// importer (schema 14 to 39, legacy alerts), then the files served by `lookout serve`.
#[test]
fn the_cli_imports_exports_and_checks_real_grafana_exports() {
    let exports = lookout_tests::tests_dir().join("../crates/grafana/testdata/grafana");
    let mut files: Vec<String> = std::fs::read_dir(&exports)
        .expect("testdata")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    let dir = TempDir::new("dash-cli");
    let out = dir.0.join("data/dashboards");
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec!["dashboards", "import"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", &out_s]);
    let (ok, _, report) = lookout(&args);
    assert!(ok, "{report}");
    assert!(report.contains("imported 5 of 5"), "{report}");
    assert!(
        report.contains("legacy alerts (kept): \"region health alert\""),
        "{report}"
    );
    assert!(report.contains("schemaVersion 14"), "{report}");
    let written: Vec<std::path::PathBuf> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(written.len(), 5, "{written:?}");
    // Every file written is a Lookout dashboard that checks clean, and exports to Grafana
    // JSON that imports back to the same dashboard.
    let written_s: Vec<String> = written
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut check = vec!["dashboards", "check"];
    check.extend(written_s.iter().map(String::as_str));
    let (ok, stdout, stderr) = lookout(&check);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout.matches(": ok (").count(), 5, "{stdout}");
    for file in &written_s {
        let grafana = dir.0.join("export.json");
        let g = grafana.to_string_lossy().into_owned();
        let (ok, _, err) = lookout(&["dashboards", "export", "--grafana", file, "-o", &g]);
        assert!(ok, "{err}");
        let back = dir.0.join("back");
        let b = back.to_string_lossy().into_owned();
        let _ = std::fs::remove_dir_all(&back);
        let (ok, _, err) = lookout(&["dashboards", "import", &g, "-o", &b]);
        assert!(ok, "{err}");
        let original: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
        let name = std::path::Path::new(file).file_name().expect("name");
        let again: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(back.join(name)).expect("same uid back"))
                .expect("json");
        assert_eq!(
            original, again,
            "{file}: import → export → import changed it"
        );
    }
    // The folder is what `lookout serve --data-dir` serves.
    let data = dir.0.join("data").to_string_lossy().into_owned();
    let (_server, base) = start_server(&["--data-dir", &data]);
    let (s, list) = get_json(&format!("{base}/api/dashboards"));
    assert_eq!(s, 200);
    let titles: Vec<&str> = list["dashboards"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["title"].as_str()).collect())
        .unwrap_or_default();
    assert!(titles.contains(&"Node Exporter Full"), "{list}");
}

/// Bad input: one line naming the file, the others still imported, exit status 1.
#[test]
fn the_cli_refuses_bad_files_with_one_line_each() {
    let dir = TempDir::new("dash-cli-bad");
    let write = |name: &str, text: &str| {
        let p = dir.0.join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    };
    let truncated = write("truncated.json", "{\"title\": \"x\", \"panels\": [");
    let deep = write(
        "deep.json",
        &format!(
            "{{\"panels\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    let not_object = write("array.json", "[1, 2]");
    let no_targets = write(
        "no-targets.json",
        r#"{"schemaVersion": 39, "title": "No targets", "panels": [{"type": "timeseries", "title": "t", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}]}"#,
    );
    let big = dir.0.join("big.json");
    {
        let f = std::fs::File::create(&big).expect("big");
        f.set_len(50 << 20).expect("50 MB");
    }
    let big = big.to_string_lossy().into_owned();
    let out = dir.0.join("out").to_string_lossy().into_owned();
    let (ok, _, stderr) = lookout(&[
        "dashboards",
        "import",
        &truncated,
        &deep,
        &not_object,
        &big,
        &no_targets,
        "-o",
        &out,
    ]);
    assert!(!ok);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    // One line per bad file, naming it, plus the summary line.
    for name in ["truncated.json", "deep.json", "array.json", "big.json"] {
        assert_eq!(
            errors.iter().filter(|l| l.contains(name)).count(),
            1,
            "{name}: {stderr}"
        );
    }
    assert!(stderr.contains("imported 1 of 5"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(dir.0.join("out/no-targets.json").exists());
}
