//! `lookout serve`: the native model server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use lookout_model::Backend;
use lookout_server::{ServerConfig, new_instance_id, query, serve, shutdown_signal};
use lookout_service::{Service, native_runtime};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: crate::BackendArg,
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Pushgateway base URL to push to (proxied at /pushgateway, scraped into the store).
    #[arg(long)]
    pushgateway: Option<String>,
    /// Seconds between pushes.
    #[arg(long, default_value_t = 5.0)]
    push_interval: f64,
    #[arg(long, default_value = "lookout")]
    job: String,
    /// Instance id for the grouping key (default: random).
    #[arg(long)]
    instance: Option<String>,
    /// Folder with the built web page to serve at /.
    #[arg(long)]
    static_dir: Option<PathBuf>,
    /// Let browser pages on this origin (`*`: any) call the API from another origin.
    #[arg(long)]
    cors_origin: Option<String>,
    /// Require `Authorization: Bearer TOKEN` on /predict, the proxies and the query API.
    /// Prefer --auth-token-file: a token on the command line shows in `ps`.
    #[arg(long, conflicts_with = "auth_token_file")]
    auth_token: Option<String>,
    /// Read the token from this file (first line).
    #[arg(long)]
    auth_token_file: Option<PathBuf>,
    /// A Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics) to proxy at
    /// /prometheus/api/v1/ for the page.
    #[arg(long)]
    prometheus: Option<String>,
    /// Seconds between scrapes of the server's own metrics (and the Pushgateway's) into its
    /// query store.
    #[arg(long, default_value_t = 5.0)]
    scrape_interval: f64,
    /// Seconds: the step of a subquery that names none (Prometheus' global
    /// `evaluation_interval`).
    #[arg(long, default_value_t = 60.0)]
    evaluation_interval: f64,
    /// How long the query store keeps samples, in hours.
    #[arg(long, default_value_t = 24.0)]
    retention_hours: f64,
    /// Load timestamped samples (OpenMetrics text, as promtool backfills) into the query
    /// store at start.
    #[arg(long)]
    backfill: Option<PathBuf>,
    /// Folder for dashboards (`DIR/dashboards/<uid>.json`, plain files that belong in git)
    /// and alerting (`DIR/alerts/`: the rules' state, and the notification channels with
    /// their secrets, owner-only); default: the per-user data folder
    /// (`$XDG_DATA_HOME/lookout`, `~/.local/share/lookout`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Evaluate the alerts the dashboards' panels carry (Grafana 7 legacy alerts) and send
    /// their notifications (`on`, with a data folder), or not (`off`: channels are still kept
    /// and listed, nothing is evaluated or sent).
    #[arg(long, value_enum, default_value = "on")]
    alerts: OnOff,
    /// Seconds between two looks of the alert scheduler for due rules (each rule runs at its
    /// own `frequency`).
    #[arg(long, default_value_t = 1.0)]
    alert_interval: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

fn token(args: &ServeArgs) -> Result<Option<String>> {
    if let Some(t) = &args.auth_token {
        return Ok(Some(t.clone()));
    }
    let Some(path) = &args.auth_token_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    let t = text.lines().next().unwrap_or("").trim().to_string();
    if t.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(Some(t))
}

pub fn run(args: ServeArgs) -> Result<()> {
    let backend: Backend = args.backend.into();
    let auth_token = token(&args)?;
    let clf = crate::classifier(backend, args.weights.as_ref())?;
    let instance = args.instance.clone().unwrap_or_else(new_instance_id);
    let service = Service::new(clf, native_runtime(backend), instance.clone());
    let retention = lookout_promql::Retention {
        max_age_ms: (args.retention_hours.clamp(0.01, 24.0 * 365.0) * 3_600_000.0) as i64,
        ..lookout_promql::Retention::default()
    };
    let store = query::new_store(retention);
    if let Some(path) = &args.backfill {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut s = store
            .write()
            .map_err(|_| anyhow::anyhow!("the store is unavailable"))?;
        let n = s
            .backfill_openmetrics(&text)
            .with_context(|| format!("backfilling {}", path.display()))?;
        eprintln!("backfilled {n} samples from {}", path.display());
    }
    if !args.addr.ip().is_loopback() && auth_token.is_none() {
        eprintln!(
            "warning: listening on {} without --auth-token: anyone who can reach this address \
             can predict, push through the proxy and read the metrics store",
            args.addr
        );
    }
    let data_dir = args
        .data_dir
        .clone()
        .or_else(lookout_store::default_data_dir);
    if data_dir.is_none() {
        eprintln!("warning: no --data-dir and no home folder: dashboards are not kept");
    }
    let config = ServerConfig {
        data_dir: data_dir.clone(),
        pushgateway: args.pushgateway.clone(),
        push_interval: Duration::from_secs_f64(args.push_interval.max(0.1)),
        job: args.job.clone(),
        static_dir: args.static_dir.clone().filter(|d| d.is_dir()),
        cors_origin: args.cors_origin.clone(),
        auth_token,
        prometheus: args.prometheus.clone(),
        scrape_interval: Duration::from_secs_f64(args.scrape_interval.max(0.1)),
        evaluation_interval: Duration::from_secs_f64(
            args.evaluation_interval.clamp(0.001, 86_400.0),
        ),
        alerts: args.alerts == OnOff::On,
        alert_interval: Duration::from_secs_f64(args.alert_interval.clamp(0.05, 3600.0)),
        ..ServerConfig::new(args.addr)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(
        config,
        service,
        store,
        |addr| {
            // Not `println!`: a server must not die because whoever started it stopped
            // reading its stdout (a panic on EPIPE).
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "Lookout listening on http://{addr}/ (instance {instance}, backend {})",
                backend.name()
            );
            if let Some(dir) = &data_dir {
                let _ = writeln!(out, "dashboards in {}", dir.join("dashboards").display());
            }
            if let Some(pg) = &args.pushgateway {
                let _ = writeln!(out, "pushing to {pg} every {}s", args.push_interval);
            }
            let _ = out.flush();
        },
        shutdown_signal(),
    ))?;
    Ok(())
}
