//! Accuracy of a classifier on a labelled CIFAR-10 set.

use crate::cifar::CifarSet;
use crate::classifier::{Classifier, ClassifierError};
use crate::labels::NUM_CLASSES;
use crate::preprocess::normalize_planar;

/// Overall and per-class accuracy plus the confusion matrix (`confusion[true][predicted]`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {
    pub images: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub per_class: [f64; NUM_CLASSES],
    pub confusion: [[usize; NUM_CLASSES]; NUM_CLASSES],
}

/// Runs `clf` over `set` in batches of `batch`; `progress` is told how many images are done.
pub fn evaluate(
    clf: &Classifier,
    set: &CifarSet,
    batch: usize,
    mut progress: impl FnMut(usize),
) -> Result<EvalReport, ClassifierError> {
    let mut confusion = [[0usize; NUM_CLASSES]; NUM_CLASSES];
    let batch = batch.max(1);
    let mut start = 0;
    while start < set.len() {
        let end = (start + batch).min(set.len());
        let mut inputs = Vec::with_capacity((end - start) * crate::preprocess::INPUT_LEN);
        for i in start..end {
            inputs.extend(normalize_planar(set.image(i)));
        }
        let preds = clf.predict_inputs(&inputs)?;
        for (i, p) in (start..end).zip(preds) {
            confusion[usize::from(set.label(i))][p.class_index] += 1;
        }
        start = end;
        progress(end);
    }
    Ok(EvalReport::from_confusion(confusion))
}

impl EvalReport {
    pub fn from_confusion(confusion: [[usize; NUM_CLASSES]; NUM_CLASSES]) -> Self {
        let images: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..NUM_CLASSES).map(|i| confusion[i][i]).sum();
        let mut per_class = [0.0; NUM_CLASSES];
        for (c, row) in confusion.iter().enumerate() {
            let n: usize = row.iter().sum();
            per_class[c] = if n == 0 {
                0.0
            } else {
                row[c] as f64 / n as f64
            };
        }
        Self {
            images,
            correct,
            accuracy: if images == 0 {
                0.0
            } else {
                correct as f64 / images as f64
            },
            per_class,
            confusion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_from_confusion() {
        let mut m = [[0usize; NUM_CLASSES]; NUM_CLASSES];
        m[0][0] = 3;
        m[0][1] = 1;
        m[1][1] = 4;
        let r = EvalReport::from_confusion(m);
        assert_eq!(r.images, 8);
        assert_eq!(r.correct, 7);
        assert!((r.accuracy - 0.875).abs() < 1e-12);
        assert!((r.per_class[0] - 0.75).abs() < 1e-12);
        assert_eq!(r.per_class[2], 0.0);
    }
}
