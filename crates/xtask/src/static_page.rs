//! The page served from `dist/` while the model server is still building: `cargo xtask run`
//! starts this as soon as Trunk has written the page, so a first run on a fresh machine shows
//! the page (classification on wasm CPU, the notebook over the page's own metrics) long
//! before the native workspace is compiled; `lookout serve` takes the address over when it
//! is built. Read-only: GET and HEAD of files under `dist/`, nothing else; the server's own
//! routes answer 503 until it runs.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Result, anyhow};

/// What a request path maps to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A file under the served directory.
    File(PathBuf),
    /// One of `lookout serve`'s routes, not there yet.
    Server,
    /// Nothing here.
    NotFound,
}

/// The prefixes of `lookout serve`'s own routes (its router in `crates/server`): answered
/// 503 while it builds. A prefix matches itself and the paths below it.
const SERVER_ROUTES: [&str; 6] = [
    "/predict",
    "/metrics",
    "/healthz",
    "/api",
    "/prometheus",
    "/pushgateway",
];

/// Maps a request target (path and query) to a file under `dir`: "/" is index.html, a path
/// with `..`, a backslash or a NUL never leaves `dir`.
pub(crate) fn resolve(dir: &Path, target: &str) -> Resolved {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let below = |r: &str| {
        path.strip_prefix(r)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if SERVER_ROUTES.iter().any(|r| below(r)) {
        return Resolved::Server;
    }
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if rel.contains(['\\', '\0']) {
        return Resolved::NotFound;
    }
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Resolved::NotFound;
    }
    let file = dir.join(rel);
    if file.is_file() {
        Resolved::File(file)
    } else {
        Resolved::NotFound
    }
}

/// The content type of a served file, by extension (`application/wasm` matters: browsers
/// compile a module while it streams only with it).
pub(crate) fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The page's files served on `addr` from a thread, until [`StaticPage::stop`].
pub(crate) struct StaticPage {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl StaticPage {
    pub(crate) fn start(addr: &str, dir: PathBuf) -> Result<StaticPage> {
        let server =
            Arc::new(tiny_http::Server::http(addr).map_err(|e| anyhow!("binding {addr}: {e}"))?);
        let s = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            for request in s.incoming_requests() {
                let _ = answer(&dir, request);
            }
        });
        Ok(StaticPage {
            server,
            thread: Some(thread),
        })
    }

    /// The address it listens on (port 0 resolved).
    pub(crate) fn addr(&self) -> String {
        self.server
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// Stops serving and returns once the address is free: tiny_http's accept thread lets
    /// the listener go a moment after the server is dropped.
    pub(crate) fn stop(mut self) {
        let addr = self.addr();
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        drop(self);
        for _ in 0..250 {
            if std::net::TcpListener::bind(&addr).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

fn answer(dir: &Path, request: tiny_http::Request) -> std::io::Result<()> {
    use tiny_http::{Header, Method, Response};
    let header = |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
    let resolved = resolve(dir, request.url());
    // The server's routes first, whatever the method: the page's pushes then read "503,
    // will retry" rather than a refusal.
    if resolved == Resolved::Server {
        return request.respond(
            Response::from_string(
                "the model server is still building (`cargo xtask run` starts it when \
                 `cargo build --release --workspace` is done); the page works on its own \
                 meanwhile\n",
            )
            .with_status_code(503),
        );
    }
    if !matches!(request.method(), Method::Get | Method::Head) {
        let r = Response::from_string("read-only: the model server is still building\n")
            .with_status_code(405);
        return request.respond(match header("Allow", "GET, HEAD") {
            Some(h) => r.with_header(h),
            None => r,
        });
    }
    let Resolved::File(file) = resolved else {
        return request.respond(Response::from_string("not found\n").with_status_code(404));
    };
    let mut r = Response::from_data(std::fs::read(&file)?);
    // The files change when the page is rebuilt and when the model server takes over: a
    // reload must not keep old ones. (tiny_http sends no body to a HEAD.)
    for h in [
        header("Content-Type", content_type(&file)),
        header("Cache-Control", "no-cache"),
    ]
    .into_iter()
    .flatten()
    {
        r = r.with_header(h);
    }
    request.respond(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist() -> lookout_testkit::TempDir {
        let d = lookout_testkit::TempDir::new("static-page");
        let p: &Path = d.as_ref();
        std::fs::write(p.join("index.html"), "<!doctype html><p>page</p>").unwrap();
        std::fs::create_dir_all(p.join("webgpu")).unwrap();
        std::fs::write(p.join("webgpu/m.wasm"), [0u8, 97, 115, 109]).unwrap();
        d
    }

    #[test]
    fn paths_map_to_files_under_the_directory_only() {
        let d = dist();
        let dir: &Path = d.as_ref();
        assert_eq!(resolve(dir, "/"), Resolved::File(dir.join("index.html")));
        assert_eq!(
            resolve(dir, "/?tab=notebook#x"),
            Resolved::File(dir.join("index.html"))
        );
        assert_eq!(
            resolve(dir, "/webgpu/m.wasm"),
            Resolved::File(dir.join("webgpu/m.wasm"))
        );
        for bad in [
            "/../Cargo.toml",
            "/webgpu/../../etc/passwd",
            "/./index.html",
            "//etc/passwd",
            "/webgpu/..\\..\\x",
            "/missing.js",
            "/webgpu",
            "/metrics.txt",
            "/predictions",
        ] {
            assert_eq!(resolve(dir, bad), Resolved::NotFound, "{bad}");
        }
        for route in [
            "/predict",
            "/metrics",
            "/healthz",
            "/api/v1/query?query=up",
            "/pushgateway/metrics/job/x",
            "/api/dashboards",
            "/prometheus/api/v1/query",
        ] {
            assert_eq!(resolve(dir, route), Resolved::Server, "{route}");
        }
        assert_eq!(content_type(Path::new("a/b.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("x.js")),
            "text/javascript; charset=utf-8"
        );
    }

    /// Over real HTTP: files with their types, HEAD, refusals, and the address freed on stop.
    #[test]
    fn serves_the_page_read_only_and_frees_the_address() {
        let d = dist();
        let page = StaticPage::start("127.0.0.1:0", d.as_ref().to_path_buf()).unwrap();
        let base = format!("http://{}", page.addr());
        let http = reqwest::blocking::Client::new();
        let r = http.get(format!("{base}/")).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(r.text().unwrap(), "<!doctype html><p>page</p>");
        let r = http.get(format!("{base}/webgpu/m.wasm")).send().unwrap();
        assert_eq!(r.headers()["content-type"], "application/wasm");
        assert_eq!(r.bytes().unwrap().as_ref(), &[0u8, 97, 115, 109]);
        let r = http.head(format!("{base}/")).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-length"], "26");
        let status = |r: reqwest::blocking::RequestBuilder| r.send().unwrap().status();
        let r = http
            .post(format!("{base}/index.html"))
            .body("x")
            .send()
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET, HEAD");
        assert_eq!(status(http.delete(format!("{base}/"))), 405);
        // The server's routes, any method: 503, the server comes later.
        assert_eq!(status(http.post(format!("{base}/predict")).body("{}")), 503);
        let push = http.put(format!("{base}/pushgateway/metrics/job/x"));
        assert_eq!(status(push.body("x 1\n")), 503);
        let r = http.get(format!("{base}/metrics")).send().unwrap();
        assert_eq!(r.status(), 503);
        assert!(r.text().unwrap().contains("still building"));
        let r = http.get(format!("{base}/../Cargo.toml")).send().unwrap();
        assert_eq!(r.status(), 404);
        let addr = page.addr();
        page.stop();
        // `lookout serve` binds the same address right after.
        std::net::TcpListener::bind(&addr).unwrap();
    }
}
