//! The dashboards Lookout ships: the seed's five panels over Lookout's metrics (`instance`
//! where the seed had `pid`/`pod`), and model drift over the signals README.md documents.
//! Both read the dashboard's data source ([`DataSourceRef::Dashboard`]), the page's own
//! metrics unless the user picks another.

use crate::document::{Dashboard, Row};
use crate::model::{Cell, DataSourceRef, GridPos, PanelKind, Target, ThresholdStep, Thresholds};
use crate::reduce::Reducer;
use crate::time::TimeRange;

/// The seed dashboard's uid.
pub const SEED_UID: &str = "lookout-seed";
/// The drift dashboard's uid.
pub const DRIFT_UID: &str = "lookout-drift";

fn panel(id: u64, title: &str, kind: PanelKind, pos: (u32, u32, u32, u32)) -> Cell {
    let mut c = Cell {
        id,
        title: title.to_string(),
        datasource: DataSourceRef::Dashboard,
        targets: Vec::new(),
        ..Cell::default()
    };
    c.panel.kind = kind;
    c.panel.grid = Some(GridPos {
        x: pos.0,
        y: pos.1,
        w: pos.2,
        h: pos.3,
    });
    c
}

fn target(ref_id: &str, expr: &str, legend: &str) -> Target {
    Target {
        ref_id: ref_id.to_string(),
        expr: expr.to_string(),
        legend_format: legend.to_string(),
        ..Target::default()
    }
}

/// The seed's dashboard: its five panels, titles and queries; the last 30 minutes.
pub fn seed() -> Dashboard {
    let mut per_class = panel(
        1,
        "Current Predictions Per Second Per Class",
        PanelKind::TimeSeries,
        (0, 0, 12, 9),
    );
    per_class.targets.push(target(
        "A",
        "sum by (label) (rate(prediction_value_total[1m]))",
        "{{label}}",
    ));
    per_class.panel.field.unit = "reqps".to_string();

    let mut per_process = panel(
        2,
        "Predictions Per Server Process",
        PanelKind::TimeSeries,
        (12, 0, 12, 9),
    );
    per_process.targets.push(target(
        "A",
        "sum by (instance) (prediction_value_total)",
        "{{instance}}",
    ));

    let mut made = panel(3, "Predictions Made", PanelKind::Stat, (0, 9, 8, 8));
    made.targets.push(target(
        "A",
        "sum by (instance) (inference_time_count)",
        "{{instance}}",
    ));
    made.panel.field.thresholds = Thresholds {
        steps: vec![ThresholdStep {
            value: None,
            color: "green".to_string(),
        }],
        ..Thresholds::default()
    };

    let mut by_label = panel(4, "Predictions By Label", PanelKind::BarGauge, (8, 9, 8, 8));
    by_label.targets.push(target(
        "A",
        "sum by (label) (prediction_value_total)",
        "{{label}}",
    ));
    by_label.panel.field.thresholds = made.panel.field.thresholds.clone();

    let mut p90 = panel(
        5,
        "P90 Model Inference Time",
        PanelKind::TimeSeries,
        (16, 9, 8, 8),
    );
    p90.targets.push(target(
        "A",
        "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))",
        "{{job}}",
    ));
    p90.panel.field.unit = "s".to_string();

    Dashboard {
        uid: SEED_UID.to_string(),
        title: "Model server".to_string(),
        description: "The seed's dashboard: predictions per class, per process, in total, by label, and the P90 inference time.".to_string(),
        tags: vec!["lookout".to_string(), "model".to_string()],
        time: TimeRange::new("now-30m", "now"),
        refresh: Some("10s".to_string()),
        datasource: DataSourceRef::Page,
        panels: vec![per_class, per_process, made, by_label, p90],
        ..Dashboard::default()
    }
}

/// Model drift: low-confidence share, class mix against the training prior (PSI, KL, the mix
/// itself) and the inputs' brightness and contrast, with README's thresholds.
pub fn drift() -> Dashboard {
    let mut low = panel(
        2,
        "Low-confidence share",
        PanelKind::TimeSeries,
        (0, 1, 12, 8),
    );
    low.targets.push(target(
        "A",
        "sum(rate(prediction_confidence_bucket{le=\"0.5\"}[15m])) / sum(rate(prediction_confidence_count[15m]))",
        "histogram, 15m",
    ));
    low.targets.push(target(
        "B",
        "max by (instance) (prediction_low_confidence_ratio)",
        "last 1,000: {{instance}}",
    ));
    low.panel.field.unit = "percentunit".to_string();
    low.panel.field.min = Some(0.0);
    low.panel.field.max = Some(1.0);
    low.panel.field.thresholds = Thresholds {
        steps: vec![
            ThresholdStep {
                value: None,
                color: "green".to_string(),
            },
            ThresholdStep {
                value: Some(0.5),
                color: "red".to_string(),
            },
        ],
        ..Thresholds::default()
    };

    let mut psi = panel(3, "Class mix PSI", PanelKind::Stat, (12, 1, 6, 8));
    psi.description = "Population stability index of the last 1,000 predictions' classes against the training prior: above 0.1 moderate, above 0.25 a significant shift.".to_string();
    psi.targets.push(target(
        "A",
        "max by (instance) (prediction_class_psi)",
        "{{instance}}",
    ));
    psi.panel.field.decimals = Some(3);
    psi.panel.field.thresholds = Thresholds {
        steps: vec![
            ThresholdStep {
                value: None,
                color: "green".to_string(),
            },
            ThresholdStep {
                value: Some(0.1),
                color: "orange".to_string(),
            },
            ThresholdStep {
                value: Some(0.25),
                color: "red".to_string(),
            },
        ],
        ..Thresholds::default()
    };
    psi.panel.stat.reducer = Reducer::LastNotNull;

    let mut kl = panel(4, "Class mix KL divergence", PanelKind::Stat, (18, 1, 6, 8));
    kl.targets.push(target(
        "A",
        "max by (instance) (prediction_class_kl)",
        "{{instance}}",
    ));
    kl.panel.field.decimals = Some(3);
    kl.panel.field.unit = "none".to_string();

    let mut mix = panel(
        6,
        "Class mix (last hour)",
        PanelKind::TimeSeries,
        (0, 10, 12, 8),
    );
    mix.targets.push(target(
        "A",
        "sum by (label) (rate(prediction_value_total[1h])) / ignoring(label) group_left sum(rate(prediction_value_total[1h]))",
        "{{label}}",
    ));
    mix.panel.field.unit = "percentunit".to_string();
    mix.panel.time_series.stacked = true;
    mix.panel.time_series.fill_opacity = 40;

    let mut brightness = panel(
        7,
        "Input brightness, now − a day ago",
        PanelKind::TimeSeries,
        (12, 10, 6, 8),
    );
    brightness.targets.push(target(
        "A",
        "sum(rate(input_brightness_sum[10m])) / sum(rate(input_brightness_count[10m])) - sum(rate(input_brightness_sum[10m] offset 1d)) / sum(rate(input_brightness_count[10m] offset 1d))",
        "Δ brightness",
    ));
    brightness.targets.push(target(
        "B",
        "sum(rate(input_brightness_sum[10m])) / sum(rate(input_brightness_count[10m]))",
        "brightness",
    ));

    let mut contrast = panel(
        8,
        "Input contrast (median)",
        PanelKind::TimeSeries,
        (18, 10, 6, 8),
    );
    contrast.targets.push(target(
        "A",
        "histogram_quantile(0.5, sum by (le) (rate(input_contrast_bucket[10m])))",
        "median contrast",
    ));

    Dashboard {
        uid: DRIFT_UID.to_string(),
        title: "Model drift".to_string(),
        description: "Is the model still seeing what it was trained on? Confidence, class mix against the training prior, and the inputs.".to_string(),
        tags: vec!["lookout".to_string(), "drift".to_string()],
        time: TimeRange::new("now-6h", "now"),
        refresh: Some("1m".to_string()),
        datasource: DataSourceRef::Page,
        rows: vec![
            Row {
                id: 1,
                title: "Predictions".to_string(),
                y: 0,
                ..Row::default()
            },
            Row {
                id: 5,
                title: "Class mix and inputs".to_string(),
                y: 9,
                ..Row::default()
            },
        ],
        panels: vec![low, psi, kl, mix, brightness, contrast],
        ..Dashboard::default()
    }
}

/// Every built-in dashboard, the seed's first.
pub fn all() -> Vec<Dashboard> {
    vec![seed(), drift()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::LayoutItem;

    #[test]
    fn builtins_are_valid_and_queries_parse() {
        for d in all() {
            d.validate().unwrap();
            let json = d.to_json_pretty().unwrap();
            assert_eq!(Dashboard::from_json(&json).unwrap(), d);
            for p in &d.panels {
                assert!(!p.targets.is_empty(), "{}", p.title);
                for t in &p.targets {
                    lookout_promql::parse(&t.expr)
                        .unwrap_or_else(|e| panic!("{}: {}: {e}", d.title, t.expr));
                }
            }
            // Nothing overlaps.
            let items = d.layout();
            let panels: Vec<GridPos> = items
                .iter()
                .filter_map(|i| match i {
                    LayoutItem::Panel { pos, .. } => Some(*pos),
                    LayoutItem::Row { .. } => None,
                })
                .collect();
            for (i, a) in panels.iter().enumerate() {
                for b in &panels[i + 1..] {
                    let apart = a.x + a.w <= b.x
                        || b.x + b.w <= a.x
                        || a.y + a.h <= b.y
                        || b.y + b.h <= a.y;
                    assert!(apart, "{}: {a:?} overlaps {b:?}", d.title);
                }
            }
        }
    }

    #[test]
    fn the_seed_keeps_its_five_queries() {
        let d = seed();
        let titles: Vec<&str> = d.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Current Predictions Per Second Per Class",
                "Predictions Per Server Process",
                "Predictions Made",
                "Predictions By Label",
                "P90 Model Inference Time"
            ]
        );
        assert_eq!(d.time, TimeRange::new("now-30m", "now"));
        assert_eq!(
            d.panels[4].targets[0].expr,
            "histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[5m])))"
        );
    }
}
