//! Real daemons for Lookout's cross-crate tests (`tests/`) and for xtask (the test pipeline's
//! browser push, the benches): Pushgateway, Prometheus, VictoriaMetrics, Alertmanager,
//! workerd and `lookout serve`, each killed on drop.
//!
//! **No port is chosen for a daemon.** Each binds 127.0.0.1 port 0 itself, and the kit finds
//! the port it actually listens on in Linux's /proc (`ports.rs`), then waits for its ready
//! endpoint (`Daemon::wait_ready`). Picking a free port, releasing it and handing it to a
//! daemon (the old way) races with every other process binding port 0 meanwhile — other
//! tests of the same run included. The two exceptions, named as such: a daemon restarted on
//! the port it had (`start_pushgateway_at`, `start_lookout` with `--addr`), because what is
//! under test was configured with its URL; and `closed_port`, a port nothing listens on.
//!
//! Linux only (/proc). No burn, no model: xtask builds it alone.

mod daemon;
mod daemons;
mod ports;

pub use daemon::{Daemon, LOG_LINES, Log, TempDir, closed_port, get, wait_for};
pub use daemons::{
    start_alertmanager, start_lookout, start_prometheus, start_prometheus_config,
    start_prometheus_with, start_pushgateway, start_pushgateway_at, start_victoria_metrics,
    start_workerd,
};
pub use ports::listening_ports;
