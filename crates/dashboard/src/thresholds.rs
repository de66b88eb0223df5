//! Threshold colours, as Grafana picks them (`packages/grafana-data/src/field/thresholds.ts`,
//! `getActiveThreshold` and `getActiveThresholdForValue`; `packages/grafana-data/src/field/
//! scale.ts`, `getScaleCalculator` and `getMinMaxAndDelta`).
//!
//! Steps are taken in ascending order, the base step (value `None`) first as −∞; the last step
//! whose value is ≤ the value wins. In percentage mode the value is first placed in the
//! field's min–max range: `percent = (v − min) / (max − min)`, compared with the steps as
//! `percent × 100`. Min and max come from the field config, else from the data, else 0–100.

use serde::{Deserialize, Serialize};

use crate::model::{FieldConfig, ThresholdStep, Thresholds, ThresholdsMode};

/// Grafana's colour when there are no steps.
pub const FALLBACK_COLOR: &str = "#808080";

/// The steps in evaluation order: base first, then by value (stable for equal values).
pub fn sorted_steps(thresholds: &Thresholds) -> Vec<&ThresholdStep> {
    let mut steps: Vec<&ThresholdStep> = thresholds.steps.iter().collect();
    steps.sort_by(|a, b| {
        let key = |s: &ThresholdStep| s.value.unwrap_or(f64::NEG_INFINITY);
        key(a).total_cmp(&key(b))
    });
    steps
}

/// The field's scale: `min`/`max` from the config where set, else the data's (non-null,
/// finite) extremes, else 0 and 100.
pub fn value_range<'a>(
    config: &FieldConfig,
    data: impl IntoIterator<Item = &'a Option<f64>>,
) -> (f64, f64) {
    let finite = data.into_iter().filter_map(|v| v.filter(|x| x.is_finite()));
    let (lo, hi) = finite.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), v| {
        (
            Some(lo.map_or(v, |l| l.min(v))),
            Some(hi.map_or(v, |h| h.max(v))),
        )
    });
    let (default_lo, default_hi) = match (lo, hi) {
        (Some(l), Some(h)) => (l, h),
        _ => (0.0, 100.0),
    };
    (
        config.min.filter(|m| m.is_finite()).unwrap_or(default_lo),
        config.max.filter(|m| m.is_finite()).unwrap_or(default_hi),
    )
}

/// Where `value` sits in `[min, max]`, 0–1 (beyond for values outside); 0 for −∞ and when
/// undefined (Grafana's scale calculator). A zero-width range gives ±∞ for values off it.
pub fn percent(value: f64, min: f64, max: f64) -> f64 {
    if value == f64::NEG_INFINITY {
        return 0.0;
    }
    let p = (value - min) / (max - min);
    if p.is_nan() { 0.0 } else { p }
}

/// The active step for `value` on the scale `[min, max]`; `None` only without steps.
pub fn active_step(
    thresholds: &Thresholds,
    value: f64,
    min: f64,
    max: f64,
) -> Option<&ThresholdStep> {
    let compared = match thresholds.mode {
        ThresholdsMode::Absolute => value,
        ThresholdsMode::Percentage => percent(value, min, max) * 100.0,
    };
    let steps = sorted_steps(thresholds);
    let mut active = *steps.first()?;
    for step in steps {
        let bound = step.value.unwrap_or(f64::NEG_INFINITY);
        if compared >= bound {
            active = step;
        } else {
            break;
        }
    }
    Some(active)
}

/// The colour for a value; a missing value (null, NaN) takes the base colour, as Grafana
/// colours it at −∞.
pub fn color_for(thresholds: &Thresholds, value: Option<f64>, min: f64, max: f64) -> &str {
    let v = value.filter(|x| !x.is_nan()).unwrap_or(f64::NEG_INFINITY);
    active_step(thresholds, v, min, max).map_or(FALLBACK_COLOR, |s| s.color.as_str())
}

/// One threshold band in value space, for drawing on a time series: lines at `from`, fills
/// between `from` and `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Lower edge (clipped to the scale's min).
    pub from: f64,
    /// Upper edge (the next step, or the scale's max).
    pub to: f64,
    /// The step's colour.
    pub color: String,
}

/// The steps as bands on the scale `[min, max]`, lowest first: percentages converted to
/// values, the base step starting at `min`, bands outside the scale left out.
pub fn steps_for_drawing(thresholds: &Thresholds, min: f64, max: f64) -> Vec<Band> {
    let to_value = |step: &ThresholdStep| match step.value {
        None => f64::NEG_INFINITY,
        Some(v) => match thresholds.mode {
            ThresholdsMode::Absolute => v,
            ThresholdsMode::Percentage => min + v / 100.0 * (max - min),
        },
    };
    let steps = sorted_steps(thresholds);
    let mut bands = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let from = to_value(step).max(min);
        let to = steps.get(i + 1).map_or(max, |next| to_value(next)).min(max);
        if from < to {
            bands.push(Band {
                from,
                to,
                color: step.color.clone(),
            });
        }
    }
    bands
}

/// Grafana's dark theme hex for its base colour names (`green` → `#73BF69`); `None` for
/// other names and CSS colours, which pass through.
pub fn named_color_hex(name: &str) -> Option<&'static str> {
    Some(match name {
        "green" => "#73BF69",
        "red" => "#F2495C",
        "yellow" => "#FADE2A",
        "orange" => "#FF9830",
        "blue" => "#5794F2",
        "purple" => "#B877D9",
        "transparent" => "transparent",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(mode: ThresholdsMode, s: &[(Option<f64>, &str)]) -> Thresholds {
        Thresholds {
            mode,
            steps: s
                .iter()
                .map(|(v, c)| ThresholdStep {
                    value: *v,
                    color: c.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn absolute_steps() {
        let t = Thresholds::default();
        assert_eq!(color_for(&t, Some(10.0), 0.0, 100.0), "green");
        assert_eq!(color_for(&t, Some(80.0), 0.0, 100.0), "red");
        assert_eq!(color_for(&t, Some(79.999), 0.0, 100.0), "green");
        assert_eq!(color_for(&t, Some(-1e9), 0.0, 100.0), "green");
        assert_eq!(color_for(&t, None, 0.0, 100.0), "green");
        assert_eq!(color_for(&t, Some(f64::NAN), 0.0, 100.0), "green");
        assert_eq!(color_for(&t, Some(f64::INFINITY), 0.0, 100.0), "red");
        // Unsorted steps are evaluated in order of value.
        let t = steps(
            ThresholdsMode::Absolute,
            &[(Some(90.0), "red"), (None, "green"), (Some(50.0), "orange")],
        );
        assert_eq!(color_for(&t, Some(60.0), 0.0, 1.0), "orange");
        assert_eq!(color_for(&t, Some(95.0), 0.0, 1.0), "red");
        let empty = steps(ThresholdsMode::Absolute, &[]);
        assert_eq!(color_for(&empty, Some(1.0), 0.0, 1.0), FALLBACK_COLOR);
    }

    #[test]
    fn percentage_steps() {
        let t = steps(
            ThresholdsMode::Percentage,
            &[(None, "green"), (Some(50.0), "orange"), (Some(90.0), "red")],
        );
        // Scale 0–10: 4 is 40 %, 5 is 50 %, 9.5 is 95 %.
        assert_eq!(color_for(&t, Some(4.0), 0.0, 10.0), "green");
        assert_eq!(color_for(&t, Some(5.0), 0.0, 10.0), "orange");
        assert_eq!(color_for(&t, Some(9.5), 0.0, 10.0), "red");
        // Scale 100–200: 160 is 60 %.
        assert_eq!(color_for(&t, Some(160.0), 100.0, 200.0), "orange");
        // Zero-width scale: the value itself is 0 % (NaN → 0), above it +∞.
        assert_eq!(color_for(&t, Some(3.0), 3.0, 3.0), "green");
        assert_eq!(color_for(&t, Some(4.0), 3.0, 3.0), "red");
    }

    #[test]
    fn ranges_from_config_and_data() {
        let mut config = FieldConfig::default();
        let data = [None, Some(2.0), Some(f64::INFINITY), Some(8.0)];
        assert_eq!(value_range(&config, &data), (2.0, 8.0));
        config.min = Some(0.0);
        assert_eq!(value_range(&config, &data), (0.0, 8.0));
        config.max = Some(10.0);
        assert_eq!(value_range(&config, &[]), (0.0, 10.0));
        assert_eq!(value_range(&FieldConfig::default(), &[None]), (0.0, 100.0));
        assert_eq!(percent(5.0, 0.0, 10.0), 0.5);
        assert_eq!(percent(f64::NEG_INFINITY, 0.0, 10.0), 0.0);
    }

    #[test]
    fn bands_for_drawing() {
        let t = Thresholds::default();
        assert_eq!(
            steps_for_drawing(&t, 0.0, 100.0),
            vec![
                Band {
                    from: 0.0,
                    to: 80.0,
                    color: "green".into()
                },
                Band {
                    from: 80.0,
                    to: 100.0,
                    color: "red".into()
                },
            ]
        );
        // Step above the scale: only the base band.
        let bands = steps_for_drawing(&t, 0.0, 50.0);
        assert_eq!(bands.len(), 1);
        assert_eq!((bands[0].from, bands[0].to), (0.0, 50.0));
        let p = steps(
            ThresholdsMode::Percentage,
            &[(None, "green"), (Some(25.0), "red")],
        );
        let bands = steps_for_drawing(&p, 100.0, 200.0);
        assert_eq!(bands[1].from, 125.0);
        assert_eq!(bands[1].to, 200.0);
        assert_eq!(named_color_hex("green"), Some("#73BF69"));
        assert_eq!(named_color_hex("#123456"), None);
    }
}
