//! `lookout serve`: the native model server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use lookout_model::Backend;
use lookout_server::{ServerConfig, new_instance_id, serve, shutdown_signal};
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
    /// Pushgateway base URL to push to (and to proxy at /pushgateway).
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
}

pub fn run(args: ServeArgs) -> Result<()> {
    let backend: Backend = args.backend.into();
    let clf = crate::classifier(backend, args.weights.as_ref())?;
    let instance = args.instance.unwrap_or_else(new_instance_id);
    let service = Service::new(clf, native_runtime(backend), instance.clone());
    let config = ServerConfig {
        addr: args.addr,
        pushgateway: args.pushgateway.clone(),
        push_interval: Duration::from_secs_f64(args.push_interval.max(0.1)),
        job: args.job,
        static_dir: args.static_dir.filter(|d| d.is_dir()),
        cors_origin: args.cors_origin,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(
        config,
        service,
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
            if let Some(pg) = &args.pushgateway {
                let _ = writeln!(out, "pushing to {pg} every {}s", args.push_interval);
            }
            let _ = out.flush();
        },
        shutdown_signal(),
    ))?;
    Ok(())
}
