//! `lookout train`: trains the CIFAR-10 CNN on burn's flex CPU backend with autodiff.
//!
//! Adam, a linear warm-up into a cosine decay, standard augmentation (random crop from a
//! 4-pixel zero padding, horizontal flip), seeded shuffles and dropout, checkpoints after
//! every epoch that a later run resumes from exactly.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use lookout_model::cifar::CifarSet;
use lookout_model::eval::{EvalReport, evaluate};
use lookout_model::preprocess::{INPUT_LEN, INPUT_SIZE, MEAN, STD};
use lookout_model::{Backend, Classifier, Cnn, NUM_CLASSES, weights};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Hyper-parameters; stored in the checkpoint so a resume continues the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr_max: f64,
    pub lr_min: f64,
    pub warmup_epochs: f64,
    pub seed: u64,
    /// Use only the first `limit` training images (quick runs and tests).
    pub limit: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 24,
            batch_size: 64,
            lr_max: 1e-3,
            lr_min: 1e-5,
            warmup_epochs: 1.0,
            seed: 42,
            limit: None,
        }
    }
}

impl TrainConfig {
    /// Learning rate at optimiser step `step` of `total`: linear warm-up from a tenth of the
    /// peak, then cosine decay to `lr_min`.
    pub fn lr_at(&self, step: usize, steps_per_epoch: usize) -> f64 {
        let total = (self.epochs * steps_per_epoch).max(1) as f64;
        let warmup = (self.warmup_epochs * steps_per_epoch as f64).min(total);
        let s = step as f64;
        if s < warmup {
            self.lr_max * (0.1 + 0.9 * s / warmup)
        } else {
            let t = ((s - warmup) / (total - warmup).max(1.0)).min(1.0);
            self.lr_min
                + 0.5 * (self.lr_max - self.lr_min) * (1.0 + (std::f64::consts::PI * t).cos())
        }
    }
}

/// One finished epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub train_accuracy: f64,
    /// On the first 1,000 test images, or the whole test set after the final epoch.
    pub test_accuracy: f64,
    pub test_images: usize,
    pub seconds: f64,
    pub images_per_second: f64,
}

/// What a checkpoint folder remembers besides tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    pub epochs_done: usize,
    pub history: Vec<EpochLog>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Data(#[from] lookout_model::cifar::CifarError),
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error(
        "checkpoint in {0} was made with other settings ({1}); use a new --checkpoints folder or the same settings"
    )]
    ConfigMismatch(PathBuf, String),
    #[error("{0}")]
    Model(#[from] lookout_model::ClassifierError),
    #[error("{0}")]
    Weights(#[from] weights::WeightsError),
    #[error("training set is empty")]
    Empty,
}

fn ckpt_err(path: &Path, msg: impl ToString) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

const STATE_FILE: &str = "state.json";
const MODEL_FILE: &str = "model.bpk";
const OPTIM_FILE: &str = "optimizer.bpk";

/// Augments image `i` of `set` into `out` (normalised CHW floats): a random crop from the
/// image padded by 4 zero pixels on each side, then a horizontal flip half the time.
pub fn augment_into(chw: &[u8], rng: &mut impl Rng, out: &mut Vec<f32>) {
    let dx = rng.random_range(-4i32..=4) as isize;
    let dy = rng.random_range(-4i32..=4) as isize;
    let flip = rng.random_bool(0.5);
    let n = INPUT_SIZE as isize;
    for c in 0..3 {
        let plane = &chw[c * INPUT_SIZE * INPUT_SIZE..(c + 1) * INPUT_SIZE * INPUT_SIZE];
        let zero = (0.0 - MEAN[c]) / STD[c];
        for y in 0..n {
            for x in 0..n {
                let sx = if flip { n - 1 - x } else { x } + dx;
                let sy = y + dy;
                let v = if (0..n).contains(&sx) && (0..n).contains(&sy) {
                    (f32::from(plane[(sy * n + sx) as usize]) / 255.0 - MEAN[c]) / STD[c]
                } else {
                    zero
                };
                out.push(v);
            }
        }
    }
}

/// Trains (or resumes from `dir`) and returns the state and the model; a checkpoint is left in
/// `dir` after every epoch. `sitting` caps the epochs run by this call (the schedule still
/// spans `config.epochs`), so a long run can be spread over several sittings.
pub fn train(
    config: &TrainConfig,
    train_set: &CifarSet,
    test_set: &CifarSet,
    dir: &Path,
    sitting: Option<usize>,
) -> Result<(TrainState, Cnn), TrainError> {
    let n_train = config.limit.unwrap_or(usize::MAX).min(train_set.len());
    if n_train == 0 {
        return Err(TrainError::Empty);
    }
    std::fs::create_dir_all(dir).map_err(|e| ckpt_err(dir, e))?;
    let device = Device::flex().autodiff();
    device.seed(config.seed);
    let mut model = Cnn::new(&device);
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut state = TrainState {
        config: config.clone(),
        epochs_done: 0,
        history: Vec::new(),
    };

    let state_path = dir.join(STATE_FILE);
    if state_path.exists() {
        let text = std::fs::read_to_string(&state_path).map_err(|e| ckpt_err(&state_path, e))?;
        let saved: TrainState =
            serde_json::from_str(&text).map_err(|e| ckpt_err(&state_path, e))?;
        if saved.config != *config {
            return Err(TrainError::ConfigMismatch(
                dir.to_path_buf(),
                format!("{:?}", saved.config),
            ));
        }
        weights::load_file(&mut model, &dir.join(MODEL_FILE))?;
        let optim_path = dir.join(OPTIM_FILE);
        optim = optim
            .load(&optim_path)
            .map_err(|e| ckpt_err(&optim_path, format!("{e:?}")))?;
        eprintln!(
            "resuming from {} after epoch {} of {}",
            dir.display(),
            saved.epochs_done,
            config.epochs
        );
        state = saved;
    }

    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let steps_per_epoch = n_train.div_ceil(config.batch_size);
    let tty = std::io::stderr().is_terminal();

    let last = match sitting {
        Some(n) => (state.epochs_done + n).min(config.epochs),
        None => config.epochs,
    };
    for epoch in state.epochs_done..last {
        let started = Instant::now();
        device.seed(config.seed.wrapping_add(1 + epoch as u64));
        let mut rng = StdRng::seed_from_u64(
            config.seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(epoch as u64 + 1)),
        );
        let mut order: Vec<usize> = (0..n_train).collect();
        order.shuffle(&mut rng);

        let bar = ProgressBar::new(n_train as u64);
        if tty {
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        } else {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_prefix(format!("{}/{}", epoch + 1, config.epochs));

        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut batch = Vec::with_capacity(config.batch_size * INPUT_LEN);
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            batch.clear();
            let mut labels = Vec::with_capacity(chunk.len());
            for &i in chunk {
                augment_into(train_set.image(i), &mut rng, &mut batch);
                labels.push(i64::from(train_set.label(i)));
            }
            let n = chunk.len();
            let x = Tensor::<4>::from_data(
                TensorData::new(batch.clone(), [n, 3, INPUT_SIZE, INPUT_SIZE]),
                &device,
            );
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [n]), &device);
            let logits = model.forward(x);
            let loss = loss_fn.forward(logits.clone(), y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = config.lr_at(epoch * steps_per_epoch + b, steps_per_epoch);
            model = optim.step(lr, model, grads);

            let loss_v = loss
                .into_data()
                .try_into_vec::<f32>()
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(f32::NAN);
            let logits_v = logits.into_data().try_into_vec::<f32>().unwrap_or_default();
            for (row, &label) in logits_v.chunks_exact(NUM_CLASSES).zip(&labels) {
                let pred = row
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i as i64);
                correct += usize::from(pred == Some(label));
            }
            loss_sum += f64::from(loss_v) * n as f64;
            seen += n;
            bar.set_position(seen as u64);
            let msg = format!(
                "loss {:.4} acc {:.2}% lr {:.2e}",
                loss_sum / seen as f64,
                100.0 * correct as f64 / seen as f64,
                lr
            );
            bar.set_message(msg.clone());
            if !tty && (b % 100 == 0 || seen == n_train) {
                let rate = seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
                let eta = (n_train - seen) as f64 / rate.max(1e-9);
                eprintln!(
                    "epoch {}/{} {seen}/{n_train} {msg} {rate:.0} img/s ETA {eta:.0}s",
                    epoch + 1,
                    config.epochs
                );
            }
        }
        bar.finish_and_clear();

        // A 1,000-image check each epoch keeps the per-epoch cost low; the last epoch of the
        // run is measured on the whole test set.
        let report = if epoch + 1 == config.epochs {
            evaluate_model(&model, test_set)?
        } else {
            evaluate_model(&model, &test_set.head(1000))?
        };
        let seconds = started.elapsed().as_secs_f64();
        let log = EpochLog {
            epoch: epoch + 1,
            loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            test_accuracy: report.accuracy,
            test_images: report.images,
            seconds,
            images_per_second: seen as f64 / seconds,
        };
        eprintln!(
            "epoch {}/{}: loss {:.4}, train acc {:.2}%, test acc {:.2}% ({} images), {:.0}s ({:.0} img/s)",
            log.epoch,
            config.epochs,
            log.loss,
            100.0 * log.train_accuracy,
            100.0 * log.test_accuracy,
            log.test_images,
            log.seconds,
            log.images_per_second
        );
        state.history.push(log);
        state.epochs_done = epoch + 1;
        save_checkpoint(dir, &model, &optim, &state)?;
    }
    Ok((state, model))
}

/// Test-set accuracy of a training-time model (dropout off, no autodiff).
pub fn evaluate_model(model: &Cnn, test_set: &CifarSet) -> Result<EvalReport, TrainError> {
    let clf = Classifier::from_model(model.valid(), Device::flex(), Backend::Cpu)?;
    Ok(evaluate(&clf, test_set, 500, |_| {})?)
}

fn save_checkpoint(
    dir: &Path,
    model: &Cnn,
    optim: &ModuleOptimizer,
    state: &TrainState,
) -> Result<(), TrainError> {
    // Write everything under temporary names, then rename: a run killed mid-save leaves the
    // previous checkpoint intact.
    let tmp_model = dir.join("model.bpk.tmp");
    let tmp_optim = dir.join("optimizer.bpk.tmp");
    let tmp_state = dir.join("state.json.tmp");
    weights::save_file(model, &tmp_model, false)?;
    optim
        .save(&tmp_optim)
        .map_err(|e| ckpt_err(&tmp_optim, format!("{e:?}")))?;
    let json = serde_json::to_string_pretty(state).map_err(|e| ckpt_err(&tmp_state, e))?;
    std::fs::write(&tmp_state, json).map_err(|e| ckpt_err(&tmp_state, e))?;
    for (from, to) in [
        (tmp_model, MODEL_FILE),
        (tmp_optim, OPTIM_FILE),
        (tmp_state, STATE_FILE),
    ] {
        std::fs::rename(&from, dir.join(to)).map_err(|e| ckpt_err(&from, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_schedule_warms_up_then_decays() {
        let c = TrainConfig {
            epochs: 10,
            ..TrainConfig::default()
        };
        let spe = 100;
        assert!((c.lr_at(0, spe) - 1e-4).abs() < 1e-12);
        assert!((c.lr_at(100, spe) - 1e-3).abs() < 1e-9);
        assert!(c.lr_at(500, spe) < c.lr_at(200, spe));
        assert!((c.lr_at(1000, spe) - 1e-5).abs() < 1e-9);
    }

    #[test]
    fn augmentation_keeps_shape_and_flip_mirrors() {
        let mut img = vec![0u8; INPUT_LEN];
        img[0] = 255; // top-left red
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..20 {
            let mut out = Vec::new();
            augment_into(&img, &mut rng, &mut out);
            assert_eq!(out.len(), INPUT_LEN);
            let bright = (1.0 - MEAN[0]) / STD[0];
            // The one bright pixel lands at most 4 pixels from a corner of row 0..=4, or is
            // cropped away; never anywhere else.
            for (i, v) in out[..1024].iter().enumerate() {
                if (*v - bright).abs() < 1e-6 {
                    let (x, y) = (i % 32, i / 32);
                    assert!(y <= 4 && (x <= 4 || x >= 27), "bright pixel at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn a_tiny_run_learns_and_resumes_exactly() {
        // 64 synthetic images of two classes (bright vs dark); two epochs, then resume a
        // second run that stopped after one epoch and compare the histories.
        let mut bytes = Vec::new();
        for i in 0..64u8 {
            let label = i % 2;
            bytes.push(label);
            bytes.extend(std::iter::repeat_n(
                if label == 0 { 30 } else { 220 },
                INPUT_LEN,
            ));
        }
        let set = CifarSet::from_bytes(&bytes, "synthetic").expect("set");
        let base = std::env::temp_dir().join(format!("lookout-train-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let cfg = TrainConfig {
            epochs: 2,
            batch_size: 16,
            lr_max: 1e-3,
            ..TrainConfig::default()
        };
        let (full, _) = train(&cfg, &set, &set, &base.join("a"), None).expect("train");
        assert_eq!(full.history.len(), 2);
        assert!(full.history[1].test_accuracy >= 0.99, "{:?}", full.history);

        // Same run in two sittings: one epoch, stop, resume.
        let dir_b = base.join("b");
        let (s1, _) = train(&cfg, &set, &set, &dir_b, Some(1)).expect("first sitting");
        assert_eq!(s1.epochs_done, 1);
        let (s2, _) = train(&cfg, &set, &set, &dir_b, None).expect("resume");
        assert_eq!(s2.epochs_done, 2);
        assert!(
            (s2.history[1].loss - full.history[1].loss).abs() < 1e-5,
            "{:?} vs {:?}",
            s2.history,
            full.history
        );
        let first = cfg.clone();
        let mismatch = TrainConfig { seed: 7, ..first };
        assert!(matches!(
            train(&mismatch, &set, &set, &dir_b, None),
            Err(TrainError::ConfigMismatch(..))
        ));
        let _ = std::fs::remove_dir_all(&base);
    }
}
