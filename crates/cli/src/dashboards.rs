//! `lookout dashboards import | export | check`: dashboards as files.
//!
//! - `import FILE... -o DIR`: Grafana (schemaVersion 14 and up, legacy alerts kept) or
//!   Lookout JSON in, one Lookout JSON file per dashboard (`DIR/<uid>.json`, written
//!   atomically, the format `lookout serve --data-dir DIR/..` keeps) out; per file the import
//!   report (panels by type, queries, variables, legacy alerts, what is kept raw);
//! - `export --grafana IN.json -o OUT.json`: Grafana classic JSON;
//! - `check FILE...`: every query parses, every variable it names exists.
//!
//! A bad file (invalid or truncated JSON, too large, too deep, unreadable) gets one line
//! naming the file and the place, and the others go on; the exit status is 1 if any failed.
//! Reading is bounded: a file over 16 MiB is refused from its size, before it is read.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use lookout_dashboard::document::{uid_from_title, valid_uid};
use lookout_dashboard::model::MAX_JSON_BYTES;

#[derive(clap::Subcommand)]
pub enum DashboardsCommand {
    /// Import Grafana or Lookout dashboard JSON files: one Lookout JSON file per dashboard
    /// into DIR, and a report per file.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The folder to write `<uid>.json` files into (created if needed).
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Write a dashboard (Lookout or Grafana JSON) as Grafana classic JSON.
    Export {
        /// The dashboard to export.
        #[arg(long = "grafana", value_name = "IN.json")]
        input: PathBuf,
        /// Where to write the Grafana JSON.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Check dashboards: every query parses, every variable exists.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Reads a dashboard file with its size checked first.
fn read_bounded(path: &Path) -> Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("{}", path.display()))?
        .len();
    if size > MAX_JSON_BYTES as u64 {
        bail!(
            "{}: {size} bytes, more than the {MAX_JSON_BYTES} bytes a dashboard may have",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8 text", path.display()))
}

pub(crate) fn import_file(path: &Path) -> Result<lookout_grafana::Imported> {
    let text = read_bounded(path)?;
    lookout_grafana::import(&text).with_context(|| format!("{}", path.display()))
}

pub fn run(command: DashboardsCommand) -> Result<()> {
    match command {
        DashboardsCommand::Import { files, out } => import(&files, &out),
        DashboardsCommand::Export { input, out } => {
            let imported = import_file(&input)?;
            let json = lookout_grafana::export_pretty(&imported.dashboard)
                .with_context(|| format!("exporting {}", input.display()))?;
            lookout_store::write_atomic(&out, json.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "{} → {} (Grafana classic JSON)",
                input.display(),
                out.display()
            );
            Ok(())
        }
        DashboardsCommand::Check { files } => check(&files),
    }
}

fn import(files: &[PathBuf], out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bar = (files.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut written: HashSet<String> = HashSet::new();
    let mut failed = 0usize;
    for path in files {
        if let Some(bar) = &bar {
            bar.set_message(path.display().to_string());
        }
        let result = import_file(path).and_then(|mut imported| {
            let d = &mut imported.dashboard;
            if !valid_uid(&d.uid) {
                d.uid = uid_from_title(&d.title);
            }
            // Two files of one run with the same uid: the second gets a suffix.
            let base = d.uid.clone();
            let mut n = 2;
            while written.contains(&d.uid) {
                let suffix = format!("-{n}");
                let keep = 40usize.saturating_sub(suffix.len()).min(base.len());
                d.uid = format!("{}{suffix}", &base[..keep]);
                n += 1;
            }
            let target = out.join(format!("{}.json", d.uid));
            let json = d
                .to_json_pretty()
                .with_context(|| format!("{}", path.display()))?;
            lookout_store::write_atomic(&target, json.as_bytes())
                .with_context(|| format!("writing {}", target.display()))?;
            written.insert(d.uid.clone());
            Ok((target, imported.report))
        });
        let line = match result {
            Ok((target, report)) => {
                format!("{} → {}\n{report}", path.display(), target.display())
            }
            Err(e) => {
                failed += 1;
                format!("error: {}", crate::one_line(&e))
            }
        };
        match &bar {
            Some(bar) => {
                bar.suspend(|| eprintln!("{line}"));
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    eprintln!(
        "imported {} of {} file(s) into {}",
        files.len() - failed,
        files.len(),
        out.display()
    );
    if failed > 0 {
        bail!("{failed} file(s) could not be imported");
    }
    Ok(())
}

fn check(files: &[PathBuf]) -> Result<()> {
    let mut bad = 0usize;
    for path in files {
        match import_file(path) {
            Ok(imported) => {
                let problems = lookout_dashboard::check::check(&imported.dashboard);
                let queries: usize = imported
                    .dashboard
                    .panels
                    .iter()
                    .map(|p| p.targets.len())
                    .sum();
                if problems.is_empty() {
                    println!("{}: ok ({queries} queries)", path.display());
                } else {
                    bad += 1;
                    for p in problems {
                        println!("{}: {p}", path.display());
                    }
                }
            }
            Err(e) => {
                bad += 1;
                println!("{}", crate::one_line(&e));
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} file(s) have problems", files.len());
    }
    Ok(())
}
