//! Drift signals over a sliding window of recent predictions.

/// Number of recent predictions the drift gauges summarise.
pub const DRIFT_WINDOW: usize = 1000;
/// Confidence below which a prediction counts as low-confidence.
pub const LOW_CONFIDENCE: f64 = 0.5;
/// Additive smoothing of class shares, so an absent class gives a finite PSI/KL.
const EPS: f64 = 1e-4;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    pub low_confidence_ratio: f64,
    pub psi: f64,
    pub kl: f64,
}

/// Ring buffer of (class, low-confidence) with running counts: O(classes) per update.
#[derive(Debug)]
pub struct Window {
    entries: Vec<(Option<usize>, bool)>,
    next: usize,
    counts: Vec<usize>,
    low: usize,
}

impl Window {
    pub fn new(classes: usize) -> Self {
        Self {
            entries: Vec::with_capacity(DRIFT_WINDOW),
            next: 0,
            counts: vec![0; classes],
            low: 0,
        }
    }

    pub fn push(&mut self, class: Option<usize>, confidence: f64) -> Drift {
        let entry = (
            class.filter(|&c| c < self.counts.len()),
            confidence < LOW_CONFIDENCE,
        );
        if self.entries.len() < DRIFT_WINDOW {
            self.entries.push(entry);
        } else {
            let old = std::mem::replace(&mut self.entries[self.next], entry);
            if let Some(c) = old.0 {
                self.counts[c] -= 1;
            }
            self.low -= usize::from(old.1);
        }
        self.next = (self.next + 1) % DRIFT_WINDOW;
        if let Some(c) = entry.0 {
            self.counts[c] += 1;
        }
        self.low += usize::from(entry.1);
        self.drift()
    }

    /// PSI = Σ (p − q) ln(p / q), KL = Σ p ln(p / q), with p the window's class shares and
    /// q the training prior (CIFAR-10 is balanced: uniform).
    pub fn drift(&self) -> Drift {
        let n = self.entries.len().max(1) as f64;
        let k = self.counts.len().max(1) as f64;
        let q = 1.0 / k;
        let total: f64 = self.counts.iter().map(|&c| c as f64 + EPS).sum();
        let (mut psi, mut kl) = (0.0, 0.0);
        for &c in &self.counts {
            let p = (c as f64 + EPS) / total;
            psi += (p - q) * (p / q).ln();
            kl += p * (p / q).ln();
        }
        Drift {
            low_confidence_ratio: self.low as f64 / n,
            psi,
            kl,
        }
    }
}
