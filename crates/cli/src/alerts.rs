//! `lookout alerts export --prometheus DASHBOARD.json... -o rules.yml`: the dashboards' alert
//! rules as Prometheus alerting rules (`lookout_alerts::prometheus`), with a report of those
//! PromQL cannot express and why.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use lookout_alerts::prometheus::{PromOptions, export_dashboard, to_yaml};

#[derive(clap::Subcommand)]
pub enum AlertsCommand {
    /// Write the alert rules of dashboards (Lookout or Grafana JSON) as a Prometheus rules
    /// file; prints what could not be expressed.
    Export {
        /// The dashboards.
        #[arg(long = "prometheus", value_name = "DASHBOARD.json", required = true, num_args = 1..)]
        dashboards: Vec<PathBuf>,
        /// The rules file to write.
        #[arg(short, long)]
        out: PathBuf,
        /// The data's scrape interval in seconds (the smallest subquery step).
        #[arg(long, default_value_t = 15.0)]
        scrape_interval: f64,
    },
}

pub fn run(command: AlertsCommand) -> Result<()> {
    match command {
        AlertsCommand::Export {
            dashboards,
            out,
            scrape_interval,
        } => {
            let options = PromOptions {
                scrape_interval_ms: (scrape_interval.clamp(0.001, 86_400.0) * 1000.0) as i64,
            };
            let mut groups = Vec::new();
            let mut skipped = 0;
            for path in &dashboards {
                let imported = crate::dashboards::import_file(path)?;
                let e = export_dashboard(&imported.dashboard, &options);
                let rules: usize = e.groups.iter().map(|g| g.rules.len()).sum();
                eprintln!("{}: {rules} rule(s) exported", path.display());
                for n in &e.notes {
                    skipped += usize::from(n.skipped);
                    let what = if n.skipped { "not exported" } else { "note" };
                    eprintln!("  {what}: {}: {}", n.place, n.message);
                }
                groups.extend(e.groups);
            }
            // Group names must be unique in a file.
            let mut seen = std::collections::HashSet::new();
            for g in &groups {
                if !seen.insert(g.name.clone()) {
                    bail!("two dashboards give the rule group name {:?}", g.name);
                }
            }
            let rules: usize = groups.iter().map(|g| g.rules.len()).sum();
            lookout_store::write_atomic(&out, to_yaml(&groups).as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {rules} rule(s) in {} group(s) to {}; {skipped} not expressible",
                groups.len(),
                out.display()
            );
            Ok(())
        }
    }
}
