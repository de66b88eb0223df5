//! The five real Grafana exports of `testdata/grafana/` (provenance in its README.md): each
//! imports, concrete facts of each, round trips, and every Prometheus expression parses.

use std::collections::BTreeMap;

use lookout_dashboard::reduce::Reducer;
use lookout_dashboard::{
    Cell, Dashboard, DataSourceRef, DrawStyle, PanelKind, ThresholdStep, VariableKind,
};
use lookout_grafana::{Imported, Source, export, import, import_value};
use serde_json::{Value, json};

/// The real exports, found at run time (`cargo test` sets the variable): a test binary built
/// from another checkout that shares the target dir reads this checkout's files.
fn dir() -> String {
    format!(
        "{}/testdata/grafana",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
    )
}

const FILES: [&str; 5] = [
    "kube-prometheus-k8s-resources-cluster-schema39.json",
    "kube-prometheus-prometheus-schema14-rows.json",
    "tikv-raw-schema16.json",
    "tikv-pd-schema18-legacy-alerts.json",
    "rfmoz-node-exporter-full-schema26.json",
];

fn text(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", dir())).unwrap()
}

fn load(name: &str) -> (Value, Imported) {
    let s = text(name);
    let imported = import(&s).unwrap_or_else(|e| panic!("{name}: {e}"));
    (serde_json::from_str(&s).unwrap(), imported)
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

fn by_title<'a>(d: &'a Dashboard, title: &str) -> &'a Cell {
    d.panels
        .iter()
        .find(|c| c.title == title)
        .unwrap_or_else(|| panic!("no panel {title:?}"))
}

fn kept_type(c: &Cell) -> Option<&str> {
    c.grafana.as_ref()?.get("type")?.as_str()
}

/// Every panel of the document, rows' panels included.
fn all_panels(doc: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a [Value], out: &mut Vec<&'a Value>) {
        for p in list {
            out.push(p);
            if let Some(kids) = p.get("panels").and_then(Value::as_array) {
                walk(kids, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(p) = doc.get("panels").and_then(Value::as_array) {
        walk(p, &mut out);
    }
    for r in doc
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = r.get("panels").and_then(Value::as_array) {
            walk(p, &mut out);
        }
    }
    out
}

#[test]
fn panel_counts_are_the_readme_ones() {
    let want = [
        counts(&[("stat", 6), ("timeseries", 12), ("table", 4)]),
        counts(&[("graph", 9), ("table", 1)]),
        counts(&[("row", 2), ("graph", 9)]),
        counts(&[
            ("graph", 91),
            ("row", 13),
            ("singlestat", 10),
            ("table", 6),
            ("bargauge", 6),
            ("gauge", 2),
        ]),
        counts(&[("graph", 101), ("row", 16), ("gauge", 6), ("singlestat", 5)]),
    ];
    for (name, want) in FILES.iter().zip(want) {
        let (doc, imp) = load(name);
        assert_eq!(imp.report.panels_by_type, want, "{name}");
        let schema = doc["schemaVersion"].as_u64().unwrap();
        assert_eq!(
            imp.report.source,
            Source::Grafana {
                schema_version: schema
            }
        );
        let rows = want.get("row").copied().unwrap_or(0) + imp.report.rows_created;
        assert_eq!(imp.dashboard.rows.len(), rows, "{name}");
        assert_eq!(
            imp.dashboard.panels.len() + imp.dashboard.rows.len(),
            want.values().sum::<usize>() + imp.report.rows_created,
            "{name}"
        );
        // Every query of these dashboards is a Prometheus query.
        let queries: usize = all_panels(&doc)
            .iter()
            .map(|p| {
                p.get("targets")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            })
            .sum();
        assert_eq!(imp.report.queries, queries, "{name}");
        assert_eq!(imp.report.kept_queries, 0);
        assert!(imp.report.to_string().lines().count() >= 2);
    }
}

#[test]
fn round_trips() {
    for name in FILES {
        let (_, first) = load(name);
        let out = export(&first.dashboard).unwrap();
        let again = import_value(&out).unwrap();
        assert!(
            again.dashboard == first.dashboard,
            "{name}: import → export → import differs"
        );
        let out2 = export(&again.dashboard).unwrap();
        assert_eq!(out2, out, "{name}: export → import → export differs");
        // The pretty text reads back too.
        let pretty = lookout_grafana::export_pretty(&first.dashboard).unwrap();
        assert!(pretty.ends_with("}\n"));
        assert_eq!(import(&pretty).unwrap().dashboard, first.dashboard);
    }
}

/// An unedited import is written back value for value, but for what Lookout regenerates:
/// explicit defaults it adds to queries, positions of panels in collapsed rows (moved where
/// Grafana moves them when the row opens), the database id, the old row layout.
#[test]
fn unedited_imports_are_written_back_as_they_were() {
    for name in FILES {
        let (doc, imp) = load(name);
        let out = export(&imp.dashboard).unwrap();
        let schema = doc["schemaVersion"].as_u64().unwrap();
        assert_eq!(out["schemaVersion"], json!(schema.max(16)), "{name}");
        let ids: BTreeMap<u64, &Value> = all_panels(&doc)
            .into_iter()
            .filter_map(|p| Some((p.get("id")?.as_u64()?, p)))
            .collect();
        let mut compared = 0;
        for p in all_panels(&out) {
            let Some(orig) = p
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|i| ids.get(&i))
            else {
                continue;
            };
            for (k, v) in orig.as_object().unwrap() {
                if ["targets", "gridPos", "panels", "span"].contains(&k.as_str()) {
                    continue;
                }
                assert_eq!(p.get(k), Some(v), "{name}: panel {} key {k}", orig["id"]);
            }
            compared += 1;
        }
        assert!(compared > 9, "{name}");
        for k in [
            "annotations",
            "links",
            "timepicker",
            "__inputs",
            "__requires",
            "version",
        ] {
            assert_eq!(out.get(k), doc.get(k), "{name}: {k}");
        }
    }
}

/// The names of the variables a document uses, `$__…` built-ins included, replaced so the
/// expression is plain PromQL: durations where a duration goes, `x` elsewhere.
fn substitute(expr: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let (name, end) = if c == '$' && chars.get(i + 1) == Some(&'{') {
            let close = (i..chars.len())
                .find(|j| chars[*j] == '}')
                .unwrap_or(chars.len() - 1);
            (chars[i + 2..close].iter().collect::<String>(), close + 1)
        } else if c == '$' {
            let end = (i + 1..chars.len())
                .find(|j| !(chars[*j].is_alphanumeric() || chars[*j] == '_'))
                .unwrap_or(chars.len());
            (chars[i + 1..end].iter().collect(), end)
        } else if c == '[' && chars.get(i + 1) == Some(&'[') {
            let close = (i..chars.len() - 1)
                .find(|j| chars[*j] == ']' && chars[*j + 1] == ']')
                .unwrap_or(chars.len() - 2);
            (chars[i + 2..close].iter().collect(), close + 2)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        let prev = out.trim_end().chars().last();
        let duration = prev == Some('[')
            || prev == Some(':')
            || name.contains("interval")
            || name.starts_with("__range")
            || name == "__rate_interval";
        out.push_str(if duration { "5m" } else { "x" });
        if name.is_empty() {
            out.push('$');
        }
        i = end;
    }
    out
}

#[test]
fn every_expression_parses() {
    let mut failures = Vec::new();
    let mut total = 0;
    let mut with_vars = 0;
    for name in FILES {
        let (_, imp) = load(name);
        for c in &imp.dashboard.panels {
            for t in &c.targets {
                total += 1;
                let expr = if t.expr.contains('$') || t.expr.contains("[[") {
                    with_vars += 1;
                    substitute(&t.expr)
                } else {
                    t.expr.clone()
                };
                if let Err(e) = lookout_promql::parse(&expr) {
                    failures.push(format!("{name} {:?} {}: {expr:?}: {e}", c.title, t.ref_id));
                }
            }
        }
    }
    assert_eq!(total, 44 + 14 + 16 + 167 + 236);
    assert!(with_vars > 400, "{with_vars}");
    assert!(
        failures.is_empty(),
        "{} of {total} do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn schema39_kube_prometheus() {
    let (doc, imp) = load(FILES[0]);
    let d = &imp.dashboard;
    assert_eq!(d.uid, "efa86fd1d0c121a26444b636a3f509a8");
    assert_eq!(d.refresh.as_deref(), Some("10s"));
    // No target has a refId: Grafana's letters are assigned.
    let cpu = by_title(d, "CPU Quota");
    let refs: Vec<&str> = cpu.targets.iter().map(|t| t.ref_id.as_str()).collect();
    assert_eq!(refs, ["A", "B", "C", "D", "E", "F", "G"]);
    assert!(d.panels.iter().all(|c| {
        c.targets
            .iter()
            .enumerate()
            .all(|(i, t)| t.ref_id == ((b'A' + i as u8) as char).to_string())
    }));
    // `-- Mixed --` panels whose queries all use `${datasource}` run on that variable.
    let var = DataSourceRef::Variable {
        name: "datasource".into(),
    };
    assert!(d.panels.iter().all(|c| c.datasource == var));
    assert_eq!(cpu.panel.kind, PanelKind::Table);
    let kept = cpu.grafana.as_ref().unwrap();
    assert!(
        kept["transformations"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        kept["fieldConfig"]["overrides"]
            .as_array()
            .is_some_and(|o| !o.is_empty())
    );
    // Instant table queries.
    assert!(cpu.targets.iter().all(|t| t.instant && !t.range));
    assert!(
        cpu.targets
            .iter()
            .all(|t| t.format == lookout_dashboard::TargetFormat::Table)
    );
    let stat = by_title(d, "CPU Utilisation");
    assert_eq!(stat.panel.kind, PanelKind::Stat);
    assert_eq!(stat.panel.field.unit, "percentunit");
    assert_eq!(stat.panel.stat.reducer, Reducer::LastNotNull);
    // `$__rate_interval` verbatim, as often as in the document.
    let n = |s: &str| s.matches("$__rate_interval").count();
    let in_doc: usize = all_panels(&doc)
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| n(t["expr"].as_str().unwrap()))
        .sum();
    let in_lookout: usize = d
        .panels
        .iter()
        .flat_map(|c| &c.targets)
        .map(|t| n(&t.expr))
        .sum();
    assert_eq!((in_doc, in_lookout), (26, 26));
    assert!(
        matches!(d.variables[1].kind, VariableKind::Query { ref query, .. }
        if query == "label_values(up{job=\"kube-state-metrics\"}, cluster)")
    );
    // Written back with `{type, uid}` references, as schema 39 has them.
    let out = export(d).unwrap();
    assert_eq!(
        out["panels"][0]["datasource"],
        json!({"type": "datasource", "uid": "-- Mixed --"})
    );
    assert_eq!(
        out["panels"][0]["targets"][0]["datasource"],
        json!({"type": "prometheus", "uid": "${datasource}"})
    );
    assert_eq!(out["panels"][0]["targets"][0]["refId"], "A");
    assert!(out.get("__inputs").is_none());
}

#[test]
fn schema14_rows_become_the_grid() {
    let (_, imp) = load(FILES[1]);
    let d = &imp.dashboard;
    assert_eq!(imp.report.rows_created, 5);
    let rows: Vec<(&str, u32, bool)> = d
        .rows
        .iter()
        .map(|r| (r.title.as_str(), r.y, r.collapsed))
        .collect();
    // 250px rows → 7 grid rows each (ceil(250 / 38)), plus the row itself.
    assert_eq!(
        rows,
        [
            ("Prometheus Stats", 0, false),
            ("Discovery", 8, false),
            ("Retrieval", 16, false),
            ("Storage", 24, false),
            ("Query", 32, false)
        ]
    );
    let pos: Vec<(u32, u32, u32, u32)> = d
        .panels
        .iter()
        .map(|c| {
            let g = c.panel.grid.unwrap();
            (g.x, g.y, g.w, g.h)
        })
        .collect();
    assert_eq!(
        pos,
        [
            (0, 1, 24, 7),
            (0, 9, 12, 7),
            (12, 9, 12, 7),
            (0, 17, 8, 7),
            (8, 17, 8, 7),
            (16, 17, 8, 7),
            (0, 25, 12, 7),
            (12, 25, 12, 7),
            (0, 33, 12, 7),
            (12, 33, 12, 7)
        ]
    );
    for (i, a) in pos.iter().enumerate() {
        assert!(a.0 + a.2 <= 24);
        for b in pos.iter().skip(i + 1) {
            let overlap = a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3;
            assert!(!overlap, "{a:?} overlaps {b:?}");
        }
    }
    // Every panel sits in the row it was in.
    let titles: Vec<(&str, Option<u64>)> = d
        .panels
        .iter()
        .map(|c| (c.title.as_str(), d.row_of(c.id)))
        .collect();
    assert_eq!(titles[0], ("Prometheus Stats", Some(d.rows[0].id)));
    assert_eq!(titles[9].1, Some(d.rows[4].id));
    let table = &d.panels[0];
    assert_eq!(table.panel.kind, PanelKind::Table);
    // A `table` with `styles` below schema 24 is the old table; it stays `table` for Grafana's
    // own migration (the document is written as schema 16).
    assert_eq!(kept_type(table), Some("table"));
    assert!(table.grafana.as_ref().unwrap().contains_key("styles"));
    let graph = by_title(d, "Scrape failures");
    assert_eq!(graph.panel.kind, PanelKind::TimeSeries);
    assert_eq!(graph.targets.len(), 4);
    assert!(
        graph.datasource
            == DataSourceRef::Variable {
                name: "datasource".into()
            }
    );
    assert_eq!(d.uid, "prometheus");
    assert!(imp.report.dropped.iter().any(|s| s.contains("titleSize")));
    let out = export(d).unwrap();
    assert!(out.get("rows").is_none());
    assert_eq!(out["schemaVersion"], 16);
    assert_eq!(out["uid"], "");
}

#[test]
fn schema16_tikv_raw() {
    let (doc, imp) = load(FILES[2]);
    let d = &imp.dashboard;
    assert_eq!(doc["refresh"], json!(false));
    assert_eq!(d.refresh, None);
    assert!(d.rows.iter().all(|r| r.collapsed));
    // Both rows were stored at y 0; opened, the second comes after the first one's panels.
    let first = &d.rows[0];
    let second = &d.rows[1];
    assert_eq!(first.y, 0);
    assert!(second.y > first.y);
    let inside = |row: &lookout_dashboard::document::Row| {
        d.panels
            .iter()
            .filter(|c| d.row_of(c.id) == Some(row.id))
            .count()
    };
    assert_eq!((inside(first), inside(second)), (2, 7));
    assert!(
        d.panels
            .iter()
            .all(|c| c.datasource == DataSourceRef::Dashboard)
    );
    // Every collapsed row's panels: the layout hides them.
    assert_eq!(d.layout().len(), 2);
    let out = export(d).unwrap();
    assert_eq!(out["refresh"], json!(false));
    assert_eq!(out["panels"].as_array().unwrap().len(), 2);
    // Written where the document had it (Grafana's toggleRow pushes by the panels' height
    // from the grid row below the row).
    assert_eq!(out["panels"][1]["gridPos"]["y"], 0);
    assert_eq!(out["panels"][1]["panels"].as_array().unwrap().len(), 7);
    assert_eq!(
        out["panels"][0]["panels"][0]["datasource"],
        "${DS_TEST-CLUSTER}"
    );
    assert_eq!(out["__inputs"], doc["__inputs"]);
}

#[test]
fn schema18_tikv_pd_legacy_alerts() {
    let (doc, imp) = load(FILES[3]);
    let d = &imp.dashboard;
    let alerts: Vec<(&str, &str)> = imp
        .report
        .legacy_alerts
        .iter()
        .map(|a| (a.panel.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(
        alerts,
        [
            ("Region health", "region health alert"),
            ("etcd disk wal fsync rate", "etcd disk fsync")
        ]
    );
    let originals: Vec<&Value> = all_panels(&doc)
        .into_iter()
        .filter_map(|p| p.get("alert"))
        .collect();
    let health = by_title(d, "Region health");
    let alert = health.alert.as_ref().unwrap();
    assert_eq!(alert, originals[0]);
    let cond = &alert["conditions"][0];
    assert_eq!(cond["reducer"]["type"], "max");
    assert_eq!(cond["evaluator"], json!({"params": [100], "type": "gt"}));
    assert_eq!(cond["query"]["params"][0], "B");
    assert_eq!(alert["noDataState"], "keep_state");
    let b = health.targets.iter().find(|t| t.ref_id == "B").unwrap();
    assert!(b.hide);
    let fsync = by_title(d, "etcd disk wal fsync rate");
    let alert = fsync.alert.as_ref().unwrap();
    assert_eq!(alert, originals[1]);
    let cond = &alert["conditions"][0];
    assert_eq!(cond["reducer"]["type"], "avg");
    assert_eq!(cond["evaluator"], json!({"params": [0.1], "type": "lt"}));
    assert_eq!(cond["query"]["datasourceId"], 1);
    assert!(
        cond["query"]["model"]["expr"]
            .as_str()
            .unwrap()
            .starts_with("delta(")
    );
    assert_eq!(alert["noDataState"], "ok");
    // Graph thresholds made from the alert are field thresholds (Grafana's migration).
    assert!(
        health
            .panel
            .field
            .thresholds
            .steps
            .contains(&ThresholdStep {
                value: Some(100.0),
                color: "red".into()
            })
    );
    // Written back on the panel, untouched.
    let out = export(d).unwrap();
    let written: Vec<&Value> = all_panels(&out)
        .into_iter()
        .filter_map(|p| p.get("alert"))
        .collect();
    assert_eq!(written, originals);
    // Singlestats: stat, or gauge with `gauge.show`.
    let singles: Vec<&Cell> = d
        .panels
        .iter()
        .filter(|c| kept_type(c) == Some("singlestat"))
        .collect();
    assert_eq!(singles.len(), 10);
    assert_eq!(
        singles
            .iter()
            .filter(|c| c.panel.kind == PanelKind::Gauge)
            .count(),
        1
    );
    let gauge = singles
        .iter()
        .find(|c| c.panel.kind == PanelKind::Gauge)
        .unwrap();
    let steps: Vec<Option<f64>> = gauge
        .panel
        .field
        .thresholds
        .steps
        .iter()
        .map(|s| s.value)
        .collect();
    assert_eq!(steps, [None, Some(0.01), Some(0.5)]);
    assert!(
        singles
            .iter()
            .filter(|c| c.panel.stat.reducer == Reducer::Mean)
            .count()
            == 3
    );
    // Query variables.
    assert_eq!(d.variables.len(), 4);
    assert!(d.variables.iter().all(|v| matches!(&v.kind,
        VariableKind::Query { query, refresh: 1 | 2, .. } if query.starts_with("label_values("))));
    assert!(imp.report.dropped.iter().any(|s| s.starts_with("id 25")));
}

#[test]
fn schema26_node_exporter_full() {
    let (_, imp) = load(FILES[4]);
    let d = &imp.dashboard;
    assert_eq!(d.time.from, "now-24h");
    assert_eq!(d.refresh.as_deref(), Some("1m"));
    let cpu = by_title(d, "CPU Basic");
    assert_eq!(kept_type(cpu), Some("graph"));
    assert_eq!(cpu.panel.kind, PanelKind::TimeSeries);
    // yaxes[0]: format short, min "0", max "100" (strings); fill 4, stacked lines.
    assert_eq!(cpu.panel.field.unit, "short");
    assert_eq!(
        (cpu.panel.field.min, cpu.panel.field.max),
        (Some(0.0), Some(100.0))
    );
    let ts = cpu.panel.time_series;
    assert_eq!(
        (ts.draw, ts.fill_opacity, ts.line_width, ts.stacked),
        (DrawStyle::Lines, 40, 1, true)
    );
    let rootfs = by_title(d, "RootFS Total");
    assert_eq!(rootfs.panel.kind, PanelKind::Stat);
    assert_eq!(rootfs.panel.field.unit, "bytes");
    assert_eq!(rootfs.panel.field.decimals, Some(0));
    assert_eq!(rootfs.panel.stat.reducer, Reducer::LastNotNull);
    assert!(!rootfs.panel.stat.sparkline);
    let steps: Vec<(Option<f64>, &str)> = rootfs
        .panel
        .field
        .thresholds
        .steps
        .iter()
        .map(|s| (s.value, s.color.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, "rgba(50, 172, 45, 0.97)"),
            (Some(70.0), "rgba(237, 129, 40, 0.89)"),
            (Some(90.0), "rgba(245, 54, 54, 0.9)")
        ]
    );
    let busy = by_title(d, "CPU Busy");
    assert_eq!(busy.panel.kind, PanelKind::Gauge);
    assert_eq!(
        (busy.panel.field.min, busy.panel.field.max),
        (Some(0.0), Some(100.0))
    );
    let rate: usize = d
        .panels
        .iter()
        .flat_map(|c| &c.targets)
        .map(|t| t.expr.matches("$__rate_interval").count())
        .sum();
    assert_eq!(rate, 104);
    let disk = d
        .variables
        .iter()
        .find(|v| v.name == "diskdevices")
        .unwrap();
    assert_eq!(
        disk.kind,
        VariableKind::Custom {
            query: "[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+".into()
        }
    );
    assert_eq!(disk.hide, 2);
    // `${DS_PROMETHEUS}` is the import's input (Grafana replaces it when importing).
    assert!(
        d.panels
            .iter()
            .all(|c| c.datasource == DataSourceRef::Dashboard)
    );
    // Rows: 16, 14 of them collapsed with their panels inside.
    assert_eq!(d.rows.len(), 16);
    assert_eq!(d.rows.iter().filter(|r| r.collapsed).count(), 14);
    let hidden = d.panels.iter().filter(|c| {
        d.row_of(c.id)
            .and_then(|r| d.rows.iter().find(|x| x.id == r))
            .is_some_and(|r| r.collapsed)
    });
    assert_eq!(hidden.count(), 128 - 16 - 15);
}

/// An edit made in Lookout reaches the legacy panel's own fields.
#[test]
fn edits_reach_legacy_panels() {
    let (_, imp) = load(FILES[4]);
    let mut d = imp.dashboard.clone();
    let id = by_title(&d, "CPU Basic").id;
    let c = d.panel_mut(id).unwrap();
    c.panel.field.unit = "percent".into();
    c.panel.field.max = Some(50.0);
    c.panel.time_series.draw = DrawStyle::Bars;
    let id2 = by_title(&d, "RootFS Total").id;
    let s = d.panel_mut(id2).unwrap();
    s.panel.kind = PanelKind::Gauge;
    s.panel.stat.reducer = Reducer::Max;
    let out = export(&d).unwrap();
    let panels = all_panels(&out);
    let graph = panels.iter().find(|p| p["id"] == json!(id)).unwrap();
    assert_eq!(graph["type"], "graph");
    assert_eq!(graph["yaxes"][0]["format"], "percent");
    assert_eq!(graph["yaxes"][0]["max"], 50);
    assert_eq!(graph["yaxes"][0]["min"], "0");
    assert_eq!(graph["yaxes"][1]["format"], "short");
    assert_eq!(
        (graph["bars"].clone(), graph["lines"].clone()),
        (json!(true), json!(false))
    );
    let single = panels.iter().find(|p| p["id"] == json!(id2)).unwrap();
    assert_eq!(single["type"], "singlestat");
    assert_eq!(single["gauge"]["show"], true);
    assert_eq!(single["valueName"], "max");
    let back = import_value(&out).unwrap().dashboard;
    let c = back.panel(id).unwrap();
    assert_eq!(
        (c.panel.field.unit.as_str(), c.panel.field.max),
        ("percent", Some(50.0))
    );
    assert_eq!(c.panel.time_series.fill_opacity, 100);
    assert_eq!(back.panel(id2).unwrap().panel.kind, PanelKind::Gauge);
    assert_eq!(back.panel(id2).unwrap().panel.stat.reducer, Reducer::Max);
}
