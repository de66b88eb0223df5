//! A child process killed on drop, what it printed, and when it is ready.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ports::listening_ports;

/// Every line a daemon started with [`Daemon::spawn_captured`] printed, stdout and stderr
/// interleaved as they arrived (the oldest dropped past [`LOG_LINES`]).
pub type Log = Arc<Mutex<Vec<String>>>;

/// Lines a [`Log`] keeps.
pub const LOG_LINES: usize = 100_000;

/// Lines of a daemon's output quoted when it fails to start.
const TAIL_LINES: usize = 30;

/// A fresh temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "lookout-{tag}-{}-{:x}",
            std::process::id(),
            rand_u64()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

/// A child process, killed (SIGKILL) and reaped on drop or [`Daemon::stop`], then its
/// scratch folder (if any) removed.
pub struct Daemon {
    pub name: String,
    child: Child,
    port: Option<u16>,
    log: Option<Log>,
    /// Output streams still open (for a complete tail once the process exited).
    open: Arc<Mutex<usize>>,
    /// Held only to be removed after the process is gone.
    scratch: Option<TempDir>,
}

impl Daemon {
    /// Starts `cmd` as it is set up (its stdout and stderr as the caller chose; stdin null).
    pub fn spawn(name: &str, cmd: &mut Command) -> Self {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e} (cargo xtask setup installs it)"));
        Self {
            name: name.into(),
            child,
            port: None,
            log: None,
            open: Default::default(),
            scratch: None,
        }
    }

    /// Starts `cmd` with its stdout and stderr read into [`Daemon::log`] (so a failed start
    /// can quote them); stderr lines are also echoed as `[name] line` when `echo`.
    pub fn spawn_captured(name: &str, cmd: &mut Command, echo: bool) -> Self {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut d = Self::spawn(name, cmd);
        let log: Log = Default::default();
        let stdout = d
            .child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = d
            .child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for (stream, echo) in [(stdout, false), (stderr, echo)] {
            let Some(stream) = stream else { continue };
            *d.open.lock().expect("open") += 1;
            let (log, open, name) = (log.clone(), d.open.clone(), name.to_string());
            std::thread::spawn(move || {
                // Read to the end whatever happens: a daemon must never block or die on a
                // full or closed pipe.
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("[{name}] {line}");
                    }
                    if let Ok(mut l) = log.lock() {
                        if l.len() >= LOG_LINES {
                            l.drain(..LOG_LINES / 2);
                        }
                        l.push(line);
                    }
                }
                if let Ok(mut n) = open.lock() {
                    *n -= 1;
                }
            });
        }
        d.log = Some(log);
        d
    }

    /// Keeps `dir` until the process is gone, then removes it.
    pub fn with_scratch(mut self, dir: TempDir) -> Self {
        self.scratch = Some(dir);
        self
    }

    /// The daemon's process id (e.g. to read its CPU time from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port found by [`Daemon::wait_ready`]. Panics before that.
    pub fn port(&self) -> u16 {
        self.port
            .unwrap_or_else(|| panic!("{}: port asked before wait_ready", self.name))
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// What it printed (only for [`Daemon::spawn_captured`]).
    pub fn log(&self) -> Option<Log> {
        self.log.clone()
    }

    /// The TCP ports the process (or one it started) listens on now, ascending.
    pub fn listening_ports(&self) -> Vec<u16> {
        listening_ports(self.pid())
    }

    /// Waits until the process listens on a TCP port whose `http://127.0.0.1:PORT{path}`
    /// answers 2xx, and returns that port (also kept: [`Daemon::port`], [`Daemon::url`]).
    /// Several listeners: each is tried in ascending port order every round, and the first
    /// that answers is taken. Panics, naming the daemon and quoting the last lines it printed,
    /// when the process exits first or nothing answers within `timeout`.
    pub fn wait_ready(&mut self, path: &str, timeout: Duration) -> u16 {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before it was ready{}",
                    self.name,
                    self.tail_after_exit()
                );
            }
            let ports = self.listening_ports();
            for &port in &ports {
                if get(&format!("http://127.0.0.1:{port}{path}")).is_some() {
                    self.port = Some(port);
                    return port;
                }
            }
            if start.elapsed() > timeout {
                let what = if ports.is_empty() {
                    "it listens on no TCP port".to_string()
                } else {
                    format!("it listens on {ports:?} but {path} did not answer 2xx")
                };
                panic!(
                    "{} not ready after {timeout:?}: {what}{}",
                    self.name,
                    self.tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines it printed, for a panic message.
    fn tail(&self) -> String {
        let Some(log) = &self.log else {
            return " (its output was not captured)".into();
        };
        let lines = log.lock().map(|l| l.clone()).unwrap_or_default();
        if lines.is_empty() {
            return " (it printed nothing)".into();
        }
        let from = lines.len().saturating_sub(TAIL_LINES);
        format!(
            "\n--- last lines {} printed ---\n{}\n---",
            self.name,
            lines[from..].join("\n")
        )
    }

    /// [`Daemon::tail`] once its output streams are read to the end (at most 2 s).
    fn tail_after_exit(&self) -> String {
        let start = Instant::now();
        while self.open.lock().map(|n| *n > 0).unwrap_or(false)
            && start.elapsed() < Duration::from_secs(2)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.tail()
    }

    /// Kills and reaps it now.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        // `scratch` is dropped after this: the folder goes once the process is gone.
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET a URL; its body on a 2xx answer, `None` on anything else (for polling).
pub fn get(url: &str) -> Option<String> {
    let resp = reqwest::blocking::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.text().ok()
}

/// A 127.0.0.1 port that nothing listens on right now (bound to port 0 and released), for a
/// test that needs a refused connection (a channel or upstream that is down). Never give it
/// to a daemon to listen on: another process may take it meanwhile; daemons bind port 0
/// themselves (see the starters).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a port to close")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_that_exits_early_is_named_with_its_output() {
        let mut d = Daemon::spawn_captured(
            "short-lived",
            Command::new("sh").args(["-c", "echo starting; echo 'bad flag' >&2; exit 3"]),
            false,
        );
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            d.wait_ready("/", Duration::from_secs(20))
        }))
        .expect_err("must panic");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("short-lived exited"), "{msg}");
        assert!(
            msg.contains("bad flag") && msg.contains("starting"),
            "{msg}"
        );
    }

    #[test]
    fn a_daemon_that_never_listens_times_out_by_name() {
        let mut d = Daemon::spawn_captured("sleeper", Command::new("sleep").arg("30"), false);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            d.wait_ready("/", Duration::from_millis(300))
        }))
        .expect_err("must panic");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("sleeper not ready") && msg.contains("listens on no TCP port"),
            "{msg}"
        );
    }

    /// A real process that binds port 0 itself (Python's http.server; python3 is on every
    /// Debian machine this runs on) is found and answers.
    #[test]
    fn finds_the_port_a_child_bound_itself() {
        let mut d = Daemon::spawn_captured(
            "http.server",
            Command::new("python3").args(["-m", "http.server", "0", "--bind", "127.0.0.1"]),
            false,
        );
        let port = d.wait_ready("/", Duration::from_secs(30));
        assert_eq!(d.listening_ports(), vec![port]);
        assert!(get(&format!("{}/", d.url())).is_some());
        let pid = d.pid();
        d.stop();
        assert_eq!(listening_ports(pid), Vec::<u16>::new());
    }

    #[test]
    fn the_closed_port_refuses() {
        let port = closed_port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn scratch_goes_after_the_process() {
        let dir = TempDir::new("kit-scratch");
        let path = dir.0.clone();
        let d = Daemon::spawn("sleeper", Command::new("sleep").arg("30")).with_scratch(dir);
        assert!(path.exists());
        d.stop();
        assert!(!path.exists());
    }
}
