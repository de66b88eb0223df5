//! Property: a dashboard made in Lookout, exported to Grafana JSON and imported again, is the
//! same dashboard — up to the normalisations the crate documents, which the generator applies
//! to what it makes (see `normalise`).

#![cfg(not(target_arch = "wasm32"))]

use lookout_dashboard::document::Row;
use lookout_dashboard::reduce::Reducer;
use lookout_dashboard::{
    Cell, Dashboard, DataSourceRef, DrawStyle, GridPos, PanelKind, StatOptions, Target,
    TargetFormat, ThresholdStep, Thresholds, ThresholdsMode, ThresholdsStyle, TimeSeriesOptions,
    Variable, VariableKind,
};
use lookout_grafana::{export, import_value};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 _.:{}$-]{1,12}",
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("{{job}} é \"q\" &amp;".to_string()),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-4000i32..4000).prop_map(|v| f64::from(v) / 4.0),
        Just(0.1),
        Just(1e9)
    ]
}

fn thresholds() -> impl Strategy<Value = Thresholds> {
    (
        any::<bool>(),
        proptest::collection::vec((proptest::option::of(number()), "[a-z#0-9]{0,7}"), 0..4),
    )
        .prop_map(|(pct, steps)| Thresholds {
            mode: if pct {
                ThresholdsMode::Percentage
            } else {
                ThresholdsMode::Absolute
            },
            steps: steps
                .into_iter()
                .map(|(value, color)| ThresholdStep { value, color })
                .collect(),
        })
}

fn target() -> impl Strategy<Value = Target> {
    (
        prop_oneof![
            Just("up".to_string()),
            "[a-z_]{1,8}",
            Just("rate(x[$__rate_interval])".to_string())
        ],
        prop_oneof![Just("__auto".to_string()), Just(String::new()), text()],
        any::<(bool, bool, bool)>(),
        prop_oneof![
            Just(String::new()),
            Just("1m".to_string()),
            Just("15s".to_string())
        ],
        proptest::option::of(1u32..20_000),
        0u8..3,
    )
        .prop_map(
            |(expr, legend_format, (instant, range, hide), interval, mdp, f)| Target {
                ref_id: String::new(),
                expr,
                legend_format,
                instant,
                range,
                hide,
                interval,
                max_data_points: mdp,
                format: [
                    TargetFormat::TimeSeries,
                    TargetFormat::Table,
                    TargetFormat::Heatmap,
                ][usize::from(f)],
            },
        )
}

/// What Grafana keeps that Lookout does not model (never at a modelled place).
fn kept(kind: PanelKind) -> impl Strategy<Value = Option<Map<String, Value>>> {
    (0u8..4, text()).prop_map(move |(which, t)| {
        let mut m = Map::new();
        if kind == PanelKind::Unsupported {
            m.insert("type".into(), json!(["piechart", "text", "news"][usize::from(which % 3)]));
            m.insert("options".into(), json!({"content": t}));
            return Some(m);
        }
        match which {
            0 => return None,
            1 => {
                m.insert(
                    "fieldConfig".into(),
                    json!({"defaults": {"color": {"mode": "palette-classic"}},
                           "overrides": [{"matcher": {"id": "byName", "options": t}, "properties": []}]}),
                );
            }
            2 => {
                m.insert("transformations".into(), json!([{"id": "organize", "options": {}}]));
                m.insert("links".into(), json!([{"title": t, "url": "/d/x"}]));
            }
            _ => {
                m.insert("options".into(), json!({"legend": {"showLegend": true, "calcs": []}}));
                m.insert("pluginVersion".into(), json!("10.4.0"));
            }
        }
        Some(m)
    })
}

#[derive(Debug, Clone)]
struct PanelSpec {
    cell: Cell,
    w: u32,
    h: u32,
    x_hint: u32,
    ds_var: bool,
}

fn panel() -> impl Strategy<Value = PanelSpec> {
    let kinds = [
        PanelKind::TimeSeries,
        PanelKind::Stat,
        PanelKind::Gauge,
        PanelKind::BarGauge,
        PanelKind::Table,
        PanelKind::Heatmap,
        PanelKind::Unsupported,
    ];
    (0usize..7).prop_flat_map(move |k| {
        let kind = kinds[k];
        (
            (text(), text(), proptest::collection::vec(target(), 0..4)),
            (
                prop_oneof![Just(String::new()), Just("bytes".to_string()), Just("s".to_string()), Just("percent".to_string())],
                proptest::option::of(0u32..=20),
                proptest::option::of(number()),
                proptest::option::of(number()),
                thresholds(),
                proptest::option::of(text()),
            ),
            (0u8..3, any::<bool>(), 0u8..=100, any::<u8>(), 0usize..6),
            (0usize..12, any::<bool>()),
            (
                proptest::option::of(prop_oneof![Just("1h".to_string()), Just("now-2h".to_string())]),
                proptest::option::of(Just("1d".to_string())),
                proptest::option::of(Just(json!({"name": "alert", "conditions": [{"evaluator": {"params": [1], "type": "gt"}}]}))),
                kept(kind),
            ),
            (1u32..=24, 1u32..10, 0u32..24, any::<bool>()),
        )
            .prop_map(move |((title, description, targets), field, ts, stat, extra, (w, h, x_hint, ds_var))| {
                let (unit, decimals, min, max, thresholds, no_value) = field;
                let mut c = Cell {
                    id: 0,
                    title,
                    description,
                    datasource: DataSourceRef::Dashboard,
                    targets,
                    ..Cell::default()
                };
                for (i, t) in c.targets.iter_mut().enumerate() {
                    t.ref_id = ((b'A' + i as u8) as char).to_string();
                }
                c.panel.kind = kind;
                c.panel.field.unit = unit;
                c.panel.field.decimals = decimals;
                c.panel.field.min = min;
                c.panel.field.max = max;
                c.panel.field.thresholds = thresholds;
                c.panel.field.no_value = no_value;
                c.panel.time_series = TimeSeriesOptions {
                    draw: [DrawStyle::Lines, DrawStyle::Points, DrawStyle::Bars][usize::from(ts.0)],
                    stacked: ts.1,
                    fill_opacity: ts.2,
                    line_width: ts.3,
                    thresholds_style: ThresholdsStyle::ALL[ts.4],
                };
                c.panel.stat = StatOptions {
                    reducer: Reducer::ALL[stat.0],
                    sparkline: stat.1,
                };
                c.panel.relative_time = extra.0;
                c.panel.time_shift = extra.1;
                c.alert = extra.2;
                c.grafana = extra.3;
                PanelSpec {
                    cell: c,
                    w,
                    h,
                    x_hint,
                    ds_var,
                }
            })
    })
}

fn variable() -> impl Strategy<Value = Variable> {
    (
        0u8..6,
        (text(), text(), "[a-z(),_ ]{0,20}", "[a-z/.*]{0,6}"),
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of("[.*a-z]{1,4}"),
            0u8..3,
        ),
        (
            proptest::collection::vec("[a-z0-9]{0,5}", 0..4),
            proptest::collection::vec("[a-z0-9]{1,5}", 0..4),
            any::<bool>(),
            any::<bool>(),
        ),
        (0u8..7, 1u8..3, any::<bool>(), 1u32..100),
    )
        .prop_map(
            |(
                k,
                (label, description, query, regex),
                (multi, include_all, all_value, hide),
                (current, options, texts, all),
                (sort, refresh, auto, auto_count),
            )| {
                let kind = match k {
                    0 => VariableKind::Query {
                        query,
                        regex,
                        sort,
                        refresh,
                    },
                    1 => VariableKind::Custom { query },
                    2 => VariableKind::Constant { query },
                    3 => VariableKind::Interval {
                        query,
                        auto,
                        auto_count,
                        auto_min: "10s".into(),
                    },
                    4 => VariableKind::Datasource {
                        query: "prometheus".into(),
                        regex,
                    },
                    _ => VariableKind::Textbox { query },
                };
                let mut v = Variable {
                    name: String::new(),
                    label,
                    description,
                    kind,
                    multi,
                    include_all,
                    all_value,
                    current: if all { vec!["$__all".into()] } else { current },
                    hide,
                    ..Variable::default()
                };
                let opts: Vec<lookout_dashboard::variables::VariableOption> = options
                    .iter()
                    .map(|o| {
                        let text = if texts { format!("t {o}") } else { o.clone() };
                        lookout_dashboard::variables::VariableOption::with_text(text, o.as_str())
                    })
                    .collect();
                v.set_options(&opts);
                v
            },
        )
}

#[derive(Debug, Clone)]
struct Section {
    title: String,
    collapsed: bool,
    repeat: Option<String>,
    gap: u32,
    panels: Vec<PanelSpec>,
}

fn section() -> impl Strategy<Value = Section> {
    (
        text(),
        any::<bool>(),
        proptest::option::of("[a-z]{1,5}"),
        0u32..3,
        proptest::collection::vec(panel(), 0..4),
    )
        .prop_map(|(title, collapsed, repeat, gap, panels)| Section {
            title,
            collapsed,
            repeat,
            gap,
            panels,
        })
}

/// Places panels left to right from `y`, wrapping; returns the first free grid row.
fn place(panels: Vec<PanelSpec>, mut y: u32, next_id: &mut u64, out: &mut Vec<Cell>) -> u32 {
    let (mut x, mut line) = (0u32, 0u32);
    for p in panels {
        if x + p.w > 24 {
            y += line;
            x = 0;
            line = 0;
        }
        let px = if x == 0 {
            x
        } else {
            x + (p.x_hint % 2).min(24 - x - p.w)
        };
        let mut c = p.cell;
        c.id = *next_id;
        *next_id += 1;
        c.panel.grid = Some(GridPos {
            x: px,
            y,
            w: p.w,
            h: p.h,
        });
        x = px + p.w;
        line = line.max(p.h);
        out.push(c);
    }
    y + line
}

/// The documented normalisations, applied to what the generator made.
fn normalise(d: &mut Dashboard) {
    for c in &mut d.panels {
        let kind = c.panel.kind;
        if kind != PanelKind::TimeSeries {
            c.panel.time_series = TimeSeriesOptions::default();
        }
        if !matches!(
            kind,
            PanelKind::Stat | PanelKind::Gauge | PanelKind::BarGauge
        ) {
            c.panel.stat.reducer = Reducer::LastNotNull;
        }
        if kind != PanelKind::Stat {
            c.panel.stat.sparkline = true;
        }
        if kind == PanelKind::Unsupported {
            c.panel.field = Default::default();
        }
    }
    d.panels.sort_by_key(|c| {
        let g = c.panel.grid.unwrap_or_default();
        (g.y, g.x, c.id)
    });
    d.rows.sort_by_key(|r| (r.y, r.id));
}

fn dashboard() -> impl Strategy<Value = Dashboard> {
    (
        (
            "[a-zA-Z0-9_-]{1,40}",
            text(),
            text(),
            proptest::collection::vec(text(), 0..3),
        ),
        (
            prop_oneof![
                Just(("now-1h", "now")),
                Just(("now-7d", "now-1d")),
                Just(("1700000000000", "1700003600000"))
            ],
            proptest::option::of(prop_oneof![Just("10s".to_string()), Just("1m".to_string())]),
            any::<bool>(),
        ),
        proptest::collection::vec(variable(), 0..5),
        proptest::collection::vec(panel(), 0..3),
        proptest::collection::vec(section(), 0..4),
    )
        .prop_map(
            |((uid, title, description, tags), (time, refresh, kept), mut vars, pre, sections)| {
                for (i, v) in vars.iter_mut().enumerate() {
                    v.name = format!("v{i}");
                    // Grafana's migrations at the schema written (26) would change these.
                    match &mut v.kind {
                        VariableKind::Constant { .. } => v.hide = 2,
                        VariableKind::Query { refresh, .. } if *refresh == 0 => *refresh = 1,
                        _ => {}
                    }
                }
                let ds_var = vars
                    .iter()
                    .find(|v| matches!(v.kind, VariableKind::Datasource { .. }))
                    .map(|v| v.name.clone());
                let mut d = Dashboard {
                    uid,
                    title,
                    description,
                    tags,
                    time: lookout_dashboard::time::TimeRange::new(time.0, time.1),
                    refresh,
                    variables: vars,
                    grafana: kept.then(|| {
                        json!({"annotations": {"list": []}, "graphTooltip": 1, "timezone": "utc",
                           "links": [{"title": "x", "type": "link", "url": "https://example.com"}]})
                        .as_object()
                        .cloned()
                        .unwrap_or_default()
                    }),
                    ..Dashboard::default()
                };
                let mut next_id = 1u64;
                let mut panels = Vec::new();
                // A panel refers to a datasource variable only when there is one.
                let with_ds = |specs: Vec<PanelSpec>| -> Vec<PanelSpec> {
                    specs
                        .into_iter()
                        .map(|mut p| {
                            if let (true, Some(name)) = (p.ds_var, &ds_var) {
                                p.cell.datasource = DataSourceRef::Variable { name: name.clone() };
                            }
                            p
                        })
                        .collect()
                };
                let mut y = place(with_ds(pre), 0, &mut next_id, &mut panels);
                for s in sections {
                    y += s.gap;
                    d.rows.push(Row {
                        id: next_id,
                        title: s.title,
                        y,
                        collapsed: s.collapsed,
                        repeat: s.repeat,
                    });
                    next_id += 1;
                    y = place(with_ds(s.panels), y + 1, &mut next_id, &mut panels);
                }
                d.panels = panels;
                normalise(&mut d);
                d
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_gives_the_dashboard_back(d in dashboard()) {
        d.validate().unwrap();
        let out = export(&d).unwrap();
        let back = import_value(&out).unwrap();
        prop_assert_eq!(&back.dashboard, &d);
        prop_assert_eq!(export(&back.dashboard).unwrap(), out);
    }
}

/// Kind changes in Lookout (a graph made a stat, a stat made a time series) write the type
/// of the new kind and read back as it.
#[test]
fn a_changed_kind_is_written_as_the_new_type() {
    let doc = json!({"schemaVersion": 26, "panels": [
        {"type": "graph", "id": 1, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}, "yaxes": [{"format": "s"}, {}],
         "targets": [{"expr": "up", "refId": "A"}]},
        {"type": "singlestat", "id": 2, "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}, "format": "bytes",
         "targets": [{"expr": "up", "refId": "A"}]}
    ]});
    let mut d = import_value(&doc).unwrap().dashboard;
    d.panel_mut(1).unwrap().panel.kind = PanelKind::Stat;
    d.panel_mut(2).unwrap().panel.kind = PanelKind::TimeSeries;
    let out = export(&d).unwrap();
    assert_eq!(out["panels"][0]["type"], "stat");
    assert_eq!(out["panels"][0]["fieldConfig"]["defaults"]["unit"], "s");
    assert_eq!(out["panels"][1]["type"], "timeseries");
    assert_eq!(out["panels"][1]["fieldConfig"]["defaults"]["unit"], "bytes");
    let back = import_value(&out).unwrap().dashboard;
    assert_eq!(back.panel(1).unwrap().panel.kind, PanelKind::Stat);
    assert_eq!(back.panel(1).unwrap().panel.field.unit, "s");
    assert_eq!(back.panel(2).unwrap().panel.kind, PanelKind::TimeSeries);
    assert_eq!(export(&back).unwrap(), out);
}
