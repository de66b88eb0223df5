//! Starters for the real daemons the tests and xtask run. Each binds 127.0.0.1 port 0 itself;
//! the kit reads the port it listens on from /proc ([`Daemon::wait_ready`]) and returns once
//! its ready endpoint answers: [`Daemon::port`] and [`Daemon::url`] say where it is.
//!
//! Verified against the Debian 12 packages and the pinned npm workerd: each accepts port 0
//! and opens exactly one TCP listener (Alertmanager once its cluster port is switched off).

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::daemon::{Daemon, TempDir};

/// A real Pushgateway (Debian `prometheus-pushgateway`), in memory and empty.
pub fn start_pushgateway() -> Daemon {
    pushgateway("127.0.0.1:0")
}

/// [`start_pushgateway`] on a given port: only to start a new, empty Pushgateway where a
/// stopped one of the same test listened (an outage), because the server or worker under
/// test was started with that URL. The port was free a moment ago but is not reserved: the
/// start panics if something else took it meanwhile.
pub fn start_pushgateway_at(port: u16) -> Daemon {
    let d = pushgateway(&format!("127.0.0.1:{port}"));
    assert_eq!(d.port(), port, "the Pushgateway came up on another port");
    d
}

fn pushgateway(addr: &str) -> Daemon {
    let mut d = Daemon::spawn_captured(
        "pushgateway",
        Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address={addr}"))
            // Debian's build persists to /var/lib/prometheus/pushgateway.data by default,
            // shared by every instance: keep each one in memory and empty.
            .arg("--persistence.file="),
        false,
    );
    d.wait_ready("/-/ready", Duration::from_secs(30));
    d
}

/// A real Prometheus (Debian `prometheus`) with the given scrape configs and 1 s scrape and
/// evaluation intervals, its config and data in `dir`.
pub fn start_prometheus(dir: impl AsRef<Path>, scrape_configs: &str) -> Daemon {
    start_prometheus_with(dir, scrape_configs, &[])
}

/// [`start_prometheus`] with more flags (e.g. `--web.cors.origin=.*`).
pub fn start_prometheus_with(
    dir: impl AsRef<Path>,
    scrape_configs: &str,
    flags: &[&str],
) -> Daemon {
    let dir = dir.as_ref();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{scrape_configs}"
        ),
    )
    .expect("prometheus config");
    start_prometheus_config(&cfg, &dir.join("data"), flags, Duration::from_secs(60))
}

/// A real Prometheus on a config file of the caller's and a TSDB folder (e.g. blocks
/// backfilled by promtool), ready within `timeout` (`/-/ready` answers once the TSDB is open).
pub fn start_prometheus_config(
    config: &Path,
    tsdb: &Path,
    flags: &[&str],
    timeout: Duration,
) -> Daemon {
    let mut d = Daemon::spawn_captured(
        "prometheus",
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .args(flags),
        false,
    );
    d.wait_ready("/-/ready", timeout);
    d
}

/// A real VictoriaMetrics (Debian `victoria-metrics`, single node) scraping with
/// Prometheus-style `scrape_configs` (1 s), its data in `dir`. Recent samples are visible at
/// once (`-search.latencyOffset=0s`; VictoriaMetrics hides the last 30 s by default).
pub fn start_victoria_metrics(dir: impl AsRef<Path>, scrape_configs: &str) -> Daemon {
    let dir = dir.as_ref();
    let cfg = dir.join("vm-scrape.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n{scrape_configs}"),
    )
    .expect("victoria-metrics scrape config");
    let mut d = Daemon::spawn_captured(
        "victoria-metrics",
        Command::new("victoria-metrics")
            .arg("-httpListenAddr=127.0.0.1:0")
            .arg(format!(
                "-storageDataPath={}",
                dir.join("vm-data").display()
            ))
            .arg(format!("-promscrape.config={}", cfg.display()))
            .arg("-search.latencyOffset=0s"),
        false,
    );
    d.wait_ready("/health", Duration::from_secs(60));
    d
}

/// A real Alertmanager (Debian `prometheus-alertmanager`), one receiver that sends nothing,
/// its data and config in `dir`, no clustering (`--cluster.listen-address=`: otherwise it
/// also listens on 9094, fixed, for its peers).
pub fn start_alertmanager(dir: impl AsRef<Path>) -> Daemon {
    let dir = dir.as_ref();
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n",
    )
    .expect("alertmanager config");
    let mut d = Daemon::spawn_captured(
        "alertmanager",
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--cluster.listen-address="),
        false,
    );
    d.wait_ready("/-/ready", Duration::from_secs(60));
    d
}

/// The edge worker (`edge/build/`, made by `cargo xtask edge-build`) in a real workerd (npm,
/// `edge/node_modules/.bin/workerd`) with `edge/workerd.capnp`, its socket moved to port 0,
/// `PUSHGATEWAY_URL` set when given; ready when `/healthz` answers. workerd's stderr is
/// echoed.
pub fn start_workerd(edge: &Path, pushgateway: Option<&str>) -> Daemon {
    for f in [
        "build/index.js",
        "build/index_bg.wasm",
        "node_modules/.bin/workerd",
    ] {
        assert!(
            edge.join(f).exists(),
            "{} missing: run `cargo xtask edge-build` (cargo xtask test does)",
            edge.join(f).display()
        );
    }
    let mut d = Daemon::spawn_captured(
        "workerd",
        Command::new(edge.join("node_modules/.bin/workerd"))
            .arg("serve")
            .arg(edge.join("workerd.capnp"))
            .arg("--socket-addr=http=127.0.0.1:0")
            .env("PUSHGATEWAY_URL", pushgateway.unwrap_or("")),
        true,
    );
    d.wait_ready("/healthz", Duration::from_secs(60));
    d
}

/// `lookout serve` (the binary at `bin`) with `args`, plus `--addr 127.0.0.1:0` unless they
/// name an address (a restart where a page already open expects it) and `--data-dir` of a
/// scratch folder, removed after it stops, unless they name one (a server started here never
/// writes into the user's data folder, `lookout serve`'s default). Everything it prints is in
/// [`Daemon::log`], stderr also echoed as `[lookout serve] …`; ready when `/healthz` answers
/// (within 120 s: `--backfill` loads before it listens).
pub fn start_lookout<S: AsRef<OsStr>>(bin: &Path, args: impl IntoIterator<Item = S>) -> Daemon {
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let names = |flag: &str| {
        args.iter().any(|a| {
            a.to_str()
                .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
        })
    };
    let mut cmd = Command::new(bin);
    cmd.arg("serve").args(&args);
    if !names("--addr") {
        cmd.args(["--addr", "127.0.0.1:0"]);
    }
    let scratch = (!names("--data-dir")).then(|| TempDir::new("serve-data"));
    if let Some(dir) = &scratch {
        cmd.arg("--data-dir").arg(&dir.0);
    }
    let mut d = Daemon::spawn_captured("lookout serve", &mut cmd, true);
    if let Some(dir) = scratch {
        d = d.with_scratch(dir);
    }
    d.wait_ready("/healthz", Duration::from_secs(120));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Pushgateway that cannot bind exits, and the panic names it and quotes why (Debian's
    /// package, which `cargo xtask setup` installs).
    #[test]
    fn a_daemon_that_cannot_listen_says_why() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let err = std::panic::catch_unwind(|| start_pushgateway_at(port)).expect_err("taken");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("pushgateway exited"), "{msg}");
        assert!(msg.contains("address already in use"), "{msg}");
        // And on a port of its own it comes up.
        let pg = start_pushgateway();
        assert_ne!(pg.port(), port);
        assert!(crate::get(&format!("{}/-/ready", pg.url())).is_some());
    }
}
