//! `lookout`: the command-line face of Lookout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use lookout_model::cifar::{self, CifarSet};
use lookout_model::eval::evaluate;
use lookout_model::{Backend, Classifier, LABELS};

mod alerts;
mod bench;
mod dashboards;
mod serve;
mod traffic;

#[derive(Parser)]
#[command(
    name = "lookout",
    version,
    about = "Run, measure and watch a CIFAR-10 CNN"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The CPU kernels (Winograd convolutions, SIMD microkernels).
    Cpu,
    /// burn's flex CPU backend (the reference the CPU kernels are tested against).
    Flex,
    Wgpu,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Flex => Backend::Flex,
            BackendArg::Wgpu => Backend::Wgpu,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Classify image files (JPEG, PNG, WebP, GIF, BMP; any size).
    Predict {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line instead of text (a refused file: `error` and the
        /// HTTP `status` the server would answer).
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
        /// Weights file (burnpack) instead of the embedded weights.
        #[arg(long)]
        weights: Option<PathBuf>,
    },
    /// Accuracy, per-class accuracy and confusion matrix on the CIFAR-10 test batch.
    Eval {
        /// Folder with test_batch.bin (default: $LOOKOUT_CIFAR10).
        #[arg(long)]
        data: Option<PathBuf>,
        /// A CIFAR-10 binary file to evaluate instead of DIR/test_batch.bin.
        #[arg(long, conflicts_with = "data")]
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Train on the CIFAR-10 training batches; resumes from --checkpoints when present.
    Train {
        /// Folder with data_batch_{1..5}.bin and test_batch.bin (default: $LOOKOUT_CIFAR10).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "checkpoints")]
        checkpoints: PathBuf,
        #[arg(long, default_value_t = 24)]
        epochs: usize,
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Train on the first N images only.
        #[arg(long)]
        limit: Option<usize>,
        /// Run at most N epochs in this sitting, then stop (resume later).
        #[arg(long)]
        sitting: Option<usize>,
        /// When training is complete, write half-precision weights here (the shipped form).
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Latency (batch 1) and throughput (batch 64) of the model.
    Bench(bench::BenchArgs),
    /// Serve the model: POST /predict, GET /metrics, pushes to a Pushgateway.
    Serve(Box<serve::ServeArgs>),
    /// Send images to a /predict URL at a given rate and report.
    Traffic(traffic::TrafficArgs),
    /// Dashboards as files: import Grafana or Lookout JSON, export Grafana JSON, check queries.
    #[command(subcommand)]
    Dashboards(dashboards::DashboardsCommand),
    /// Alert rules: export them as Prometheus alerting rules.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Convert a weights file (e.g. a training checkpoint's model.bpk) to the shipped
    /// half-precision form.
    ExportWeights {
        #[arg(long)]
        weights: PathBuf,
        out: PathBuf,
    },
    /// Write the weights as raw f32 with a JSON index (for the ONNX export script).
    ExportRaw {
        out: PathBuf,
        #[arg(long)]
        weights: Option<PathBuf>,
    },
    /// Run PromQL test files (Prometheus' test language) against the embedded engine: prints
    /// each failure and `N passed, N failed`; exit status 1 on any failure.
    PromqlTest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Quantise weights to 8 bits per output channel (`LKQ8`, what the edge worker embeds),
    /// or fc1 to 4 bits (`--four-bit-group`, what the page embeds). Check the result with `lookout eval --weights OUT`.
    ExportQ8 {
        out: PathBuf,
        /// Source weights (best: the f32 checkpoint's model.bpk); default the embedded f16.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// 4 bits for the large linear layer (fc1), one scale per this many input rows and
        /// output; 8 bits for the rest (what the page embeds: group 64).
        #[arg(long)]
        four_bit_group: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line; a cause its parent's message already ends with (an
/// error that prints its source too) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for c in e.chain() {
        let c = c.to_string();
        if out.ends_with(&c) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&c);
    }
    out
}

pub(crate) fn classifier(backend: Backend, weights: Option<&PathBuf>) -> Result<Classifier> {
    Ok(match weights {
        Some(path) => Classifier::from_file(path, backend)
            .with_context(|| format!("loading weights {}", path.display()))?,
        None => Classifier::embedded(backend)?,
    })
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Predict {
            files,
            json,
            backend,
            weights,
        } => predict(&files, json, backend.into(), weights.as_ref()),
        Command::Eval {
            data,
            file,
            backend,
            weights,
            json,
        } => {
            let set = match file {
                Some(f) => CifarSet::load_files(&[f])?,
                None => CifarSet::test(&cifar::data_dir(data.as_deref())?)?,
            };
            let clf = classifier(backend.into(), weights.as_ref())?;
            let bar = indicatif::ProgressBar::new(set.len() as u64);
            let report = evaluate(&clf, &set, 250, |done| bar.set_position(done as u64))?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string(&report)?);
                return Ok(());
            }
            println!(
                "accuracy: {:.2}% ({}/{})",
                100.0 * report.accuracy,
                report.correct,
                report.images
            );
            println!(
                "{:>11} {:>7}   confusion (rows: true, columns: predicted)",
                "class", "acc"
            );
            for (i, row) in report.confusion.iter().enumerate() {
                let cells: Vec<String> = row.iter().map(|v| format!("{v:>4}")).collect();
                println!(
                    "{:>11} {:>6.2}%  {}",
                    LABELS[i],
                    100.0 * report.per_class[i],
                    cells.join(" ")
                );
            }
            Ok(())
        }
        Command::Train {
            data,
            checkpoints,
            epochs,
            batch_size,
            lr,
            seed,
            limit,
            sitting,
            export,
        } => {
            let dir = cifar::data_dir(data.as_deref())?;
            let train_set = CifarSet::train(&dir)?;
            let test_set = CifarSet::test(&dir)?;
            let config = lookout_train::TrainConfig {
                epochs,
                batch_size,
                lr_max: lr,
                seed,
                limit,
                ..Default::default()
            };
            eprintln!(
                "training on {} images, testing on {}: {config:?}",
                limit.unwrap_or(train_set.len()).min(train_set.len()),
                test_set.len()
            );
            let (state, model) =
                lookout_train::train(&config, &train_set, &test_set, &checkpoints, sitting)?;
            if let Some(last) = state.history.last() {
                eprintln!(
                    "after epoch {}: test accuracy {:.2}%",
                    last.epoch,
                    100.0 * last.test_accuracy
                );
            }
            if let Some(path) = export {
                if state.epochs_done < config.epochs {
                    bail!(
                        "not exporting: {} of {} epochs done; run again to resume",
                        state.epochs_done,
                        config.epochs
                    );
                }
                lookout_model::weights::save_file(&model, &path, true)?;
                eprintln!("wrote half-precision weights to {}", path.display());
            }
            Ok(())
        }
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Traffic(args) => traffic::run(args),
        Command::Dashboards(command) => dashboards::run(command),
        Command::Alerts(command) => alerts::run(command),
        Command::ExportWeights { weights, out } => {
            let mut model = lookout_model::Cnn::new(&lookout_model::Device::flex());
            lookout_model::weights::load_file(&mut model, &weights)?;
            lookout_model::weights::save_file(&model, &out, true)?;
            eprintln!("wrote half-precision weights to {}", out.display());
            Ok(())
        }
        Command::ExportRaw { out, weights } => {
            lookout_model::weights::export_raw(&load_model(weights.as_ref())?, &out)?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::PromqlTest { files } => promql_test(&files),
        Command::ExportQ8 {
            out,
            weights,
            four_bit_group,
        } => {
            use lookout_model::quant::{Scheme, encode_with, snapshot};
            let tensors = snapshot(&load_model(weights.as_ref())?)?;
            let scheme = match four_bit_group {
                Some(group) => Scheme::Mixed4 { group },
                None => Scheme::Q8,
            };
            let bytes = encode_with(&tensors, scheme);
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
    }
}

/// `lookout promql-test`: every file's evals; failures as `file:line`, query, expected, got.
fn promql_test(files: &[PathBuf]) -> Result<()> {
    let engine = lookout_promql::Engine::default();
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let (p, n, messages) = lookout_promql::testlang::outcome(
            &f.display().to_string(),
            lookout_promql::testlang::run(&text, &engine),
        );
        passed += p;
        failed += n;
        for m in messages {
            println!("{m}");
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} PromQL test(s) failed");
    }
    Ok(())
}

/// The network with weights from `path`, or the embedded ones.
fn load_model(path: Option<&PathBuf>) -> Result<lookout_model::Cnn> {
    let device = lookout_model::Device::flex();
    let mut model = lookout_model::Cnn::new(&device);
    match path {
        Some(p) => lookout_model::weights::load_file(&mut model, p)?,
        None => lookout_model::weights::load_static(&mut model, lookout_model::weights::EMBEDDED)?,
    }
    Ok(model)
}

fn predict(
    files: &[PathBuf],
    json: bool,
    backend: Backend,
    weights: Option<&PathBuf>,
) -> Result<()> {
    // Read every file first so that a missing one fails before the model loads.
    let mut inputs = Vec::with_capacity(files.len());
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("{}", f.display()))?;
        inputs.push(bytes);
    }
    let clf = classifier(backend, weights)?;
    let mut failed = 0;
    for (f, bytes) in files.iter().zip(&inputs) {
        match clf.predict_bytes(bytes, None) {
            Ok(p) => {
                if json {
                    let mut v = serde_json::to_value(&p)?;
                    v["file"] = serde_json::Value::String(f.display().to_string());
                    v["backend"] = serde_json::Value::String(backend.name().into());
                    println!("{v}");
                } else {
                    let top: Vec<String> = p
                        .top(3)
                        .iter()
                        .map(|(l, v)| format!("{l} {:.1}%", 100.0 * v))
                        .collect();
                    println!(
                        "{}: {} ({}; {:.2} ms)",
                        f.display(),
                        p.label,
                        top.join(", "),
                        p.inference_seconds * 1e3
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e}", f.display());
                if json {
                    // The refusal as the server and the worker word it, with the status
                    // they would answer: one line per file, like the predictions.
                    let e = lookout_service::ServiceError::from(e);
                    let line = serde_json::json!({
                        "file": f.display().to_string(),
                        "error": e.to_string(),
                        "status": e.status(),
                    });
                    println!("{line}");
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files could not be classified", files.len());
    }
    Ok(())
}
