//! Hostile and odd input: typed errors that name the place, or a tolerant import with a note;
//! never a panic. Markup is kept as text, byte for byte.

use lookout_dashboard::model::MAX_JSON_BYTES;
use lookout_dashboard::{Cell, Dashboard, PanelKind, Target};
use lookout_grafana::{ImportError, Source, export, export_pretty, import, import_value};
use serde_json::{Value, json};

fn err(doc: &str) -> ImportError {
    match import(doc) {
        Ok(i) => panic!("{doc:.200} imported: {:?}", i.report),
        Err(e) => e,
    }
}

fn ok(doc: Value) -> lookout_grafana::Imported {
    import_value(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"))
}

#[test]
fn invalid_truncated_and_too_large() {
    for bad in [
        "",
        "{",
        "[1,",
        "{\"panels\": [",
        "nul",
        "{\"a\" 1}",
        "\u{feff}{}",
    ] {
        assert!(matches!(err(bad), ImportError::Json(_)), "{bad:?}");
    }
    for (doc, found) in [
        ("[]", "an array"),
        ("\"x\"", "a string"),
        ("5", "a number"),
        ("null", "null"),
    ] {
        match err(doc) {
            ImportError::NotAnObject { found: f } => assert_eq!(f, found),
            other => panic!("{other}"),
        }
    }
    let big = format!("{{\"title\":\"{}\"}}", "x".repeat(17 * 1024 * 1024));
    assert!(big.len() > MAX_JSON_BYTES);
    assert!(matches!(
        err(&big),
        ImportError::TooLarge { size, max } if size == big.len() && max == MAX_JSON_BYTES
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    assert!(matches!(err(&deep), ImportError::Json(_)));
    let deep_panels = format!(
        "{{\"schemaVersion\": 30, \"panels\": [{{\"options\": {}{}}}]}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    assert!(matches!(err(&deep_panels), ImportError::Json(_)));
    // A value built in memory deeper than the parser allows.
    let mut v = json!(1);
    for _ in 0..1000 {
        v = json!({"a": v});
    }
    let doc = json!({"schemaVersion": 30, "panels": [{"type": "text", "options": v}]});
    assert!(matches!(
        import_value(&doc),
        Err(ImportError::TooDeep { max: 128 })
    ));
}

#[test]
fn wrong_types_name_the_place() {
    let cases = [
        (
            json!({"schemaVersion": 30, "panels": {}}),
            "panels: expected an array, found an object",
        ),
        (
            json!({"schemaVersion": 30, "panels": [5]}),
            "panels[0]: expected an object, found a number",
        ),
        (
            json!({"schemaVersion": 30, "panels": [{"type": "graph"}, {"type": "stat", "targets": "up"}]}),
            "panels[1].targets: expected an array, found a string",
        ),
        (
            json!({"schemaVersion": 30, "panels": [{"type": "stat", "targets": [null]}]}),
            "panels[0].targets[0]: expected an object, found null",
        ),
        (
            json!({"schemaVersion": 30, "panels": [{"type": "row", "collapsed": true, "panels": [{}, "x"]}]}),
            "panels[0].panels[1]: expected an object, found a string",
        ),
        (
            json!({"schemaVersion": 30, "templating": {"list": [{"name": "a"}, 3]}}),
            "templating.list[1]: expected an object, found a number",
        ),
        (
            json!({"schemaVersion": 30, "templating": {"list": "x"}}),
            "templating.list: expected an array, found a string",
        ),
        (
            json!({"schemaVersion": 30, "templating": []}),
            "templating: expected an object, found an array",
        ),
        (
            json!({"schemaVersion": 14, "rows": {}}),
            "rows: expected an array, found an object",
        ),
        (
            json!({"schemaVersion": 14, "rows": [{"panels": [1]}]}),
            "rows[0].panels[0]: expected an object, found a number",
        ),
    ];
    for (doc, want) in cases {
        match import_value(&doc) {
            Err(e @ ImportError::WrongType { .. }) => assert_eq!(e.to_string(), want),
            other => panic!("{doc}: {other:?}"),
        }
    }
}

#[test]
fn tolerant_where_grafana_is() {
    // Wrong leaf types everywhere: the import goes on, keeps the odd values for Grafana.
    let doc = json!({
        "schemaVersion": 36,
        "title": 42,
        "uid": "not a uid!",
        "tags": ["a", 1, null],
        "time": "yesterday",
        "refresh": 5,
        "panels": [
            {"type": "timeseries", "title": ["x"], "id": "7", "gridPos": {"x": -5, "y": 1e12, "w": 100, "h": -1},
             "fieldConfig": 3, "options": "o", "targets": null, "timeFrom": 1},
            {"type": "graph", "id": 7, "gridPos": {"x": "a", "y": null}, "yaxes": "no", "thresholds": {},
             "fill": "lots", "linewidth": -3, "targets": [{"expr": 1, "refId": 2, "instant": "yes"}]},
            {"type": "singlestat", "id": 8, "thresholds": "1,x,3", "colors": "red", "valueName": 3,
             "gauge": {"show": true, "minValue": "a"}},
            {"type": "stat", "id": 9, "targets": []},
            {"type": "row", "id": 10, "collapsed": true, "gridPos": {"y": 4}, "panels": [{"id": 11, "type": "gauge"}]}
        ],
        "templating": {"list": [{"name": 5, "type": "query"}, {"type": "custom", "name": "ok", "current": 3, "options": 4}]}
    });
    let imp = ok(doc.clone());
    let d = &imp.dashboard;
    assert_eq!(d.title, "");
    assert_eq!(d.uid, "dashboard");
    assert_eq!(d.tags, ["a"]);
    assert_eq!(d.refresh, None);
    assert_eq!(d.panels.len(), 5);
    let first = d
        .panels
        .iter()
        .find(|c| {
            c.grafana
                .as_ref()
                .is_some_and(|k| k.get("options") == Some(&json!("o")))
        })
        .unwrap();
    assert_eq!(first.panel.kind, PanelKind::TimeSeries);
    let g = first.panel.grid.unwrap();
    assert_eq!((g.x, g.w, g.h), (0, 24, 1));
    assert!(g.y < 10_000_100, "{}", g.y);
    assert!(first.targets.is_empty());
    // Two panels claimed id 7: the second gets a fresh one.
    let mut ids: Vec<u64> = d
        .panels
        .iter()
        .map(|c| c.id)
        .chain(d.rows.iter().map(|r| r.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    assert!(imp.report.notes.iter().any(|n| n.contains("new panel ids")));
    assert!(imp.report.notes.iter().any(|n| n.contains("gridPos")));
    assert_eq!(
        imp.report.variables.iter().filter(|v| v.kept_raw).count(),
        1
    );
    assert_eq!(d.variables.len(), 1);
    // The odd values go back to Grafana as they came.
    let out = export(d).unwrap();
    assert_eq!(out["title"], 42);
    assert_eq!(out["time"], "yesterday");
    assert_eq!(out["refresh"], 5);
    assert_eq!(out["tags"], json!(["a", 1, null]));
    let back = import_value(&out).unwrap();
    assert_eq!(back.dashboard, imp.dashboard);
    assert_eq!(export(&back.dashboard).unwrap(), out);
}

#[test]
fn panels_without_queries_or_positions() {
    let doc = json!({"schemaVersion": 39, "panels": [
        {"type": "text", "id": 1, "options": {"content": "<b>hi</b>"}},
        {"type": "timeseries", "id": 2, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}},
        {"type": "stat", "id": 3, "targets": null, "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}}
    ]});
    let imp = ok(doc);
    let d = &imp.dashboard;
    assert!(d.panels.iter().all(|c| c.targets.is_empty()));
    let text = d.panel(1).unwrap();
    assert_eq!(text.panel.kind, PanelKind::Unsupported);
    // Without gridPos: below the others, Grafana's default size.
    assert_eq!(
        text.panel.grid.unwrap(),
        lookout_dashboard::GridPos {
            x: 0,
            y: 8,
            w: 6,
            h: 3
        }
    );
    let out = export(d).unwrap();
    assert_eq!(out["panels"][2]["type"], "text");
    assert_eq!(out["panels"][2]["options"]["content"], "<b>hi</b>");
    assert!(out["panels"][0].get("datasource").is_none());
    assert!(out.get("__inputs").is_none());
}

#[test]
fn other_data_sources_are_kept_not_run() {
    let doc = json!({"schemaVersion": 39, "panels": [
        {"type": "timeseries", "id": 1, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
         "datasource": {"type": "datasource", "uid": "-- Mixed --"},
         "targets": [
            {"refId": "A", "expr": "up", "datasource": {"type": "prometheus", "uid": "p"}},
            {"refId": "B", "rawSql": "SELECT 1", "datasource": {"type": "mysql", "uid": "m"}},
            {"refId": "C", "expr": "{job=\"x\"}", "datasource": {"type": "loki", "uid": "l"}}
         ]},
        {"type": "logs", "id": 2, "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
         "datasource": {"type": "loki", "uid": "l"}, "targets": [{"refId": "A", "expr": "{a=\"b\"}"}]}
    ]});
    let imp = ok(doc);
    assert_eq!((imp.report.queries, imp.report.kept_queries), (1, 3));
    let d = &imp.dashboard;
    assert_eq!(d.panel(1).unwrap().targets.len(), 1);
    assert!(d.panel(2).unwrap().targets.is_empty());
    let out = export(d).unwrap();
    let refs: Vec<&Value> = out["panels"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["refId"])
        .collect();
    assert_eq!(refs, ["A", "B", "C"]);
    assert_eq!(out["panels"][0]["targets"][1]["rawSql"], "SELECT 1");
    assert_eq!(
        out["panels"][1]["datasource"],
        json!({"type": "loki", "uid": "l"})
    );
    assert_eq!(import_value(&out).unwrap().dashboard, imp.dashboard);
}

#[test]
fn markup_is_kept_as_text() {
    let evil = "<img src=x onerror=alert(1)> & \"quotes\" {{job}} </script>\u{202e}";
    let mut d = Dashboard {
        uid: "m".into(),
        title: evil.into(),
        description: evil.into(),
        ..Dashboard::default()
    };
    let mut c = Cell {
        id: 1,
        title: evil.into(),
        description: evil.into(),
        datasource: lookout_dashboard::DataSourceRef::Dashboard,
        targets: vec![Target {
            expr: "up".into(),
            legend_format: evil.into(),
            ..Target::default()
        }],
        ..Cell::default()
    };
    c.panel.grid = Some(lookout_dashboard::GridPos::default());
    d.panels.push(c);
    d.add_row(evil);
    let text = export_pretty(&d).unwrap();
    let back = import(&text).unwrap().dashboard;
    assert_eq!(back, d);
    assert_eq!(back.panels[0].targets[0].legend_format, evil);
    assert_eq!(back.rows[0].title, evil);
}

#[test]
fn api_wrapper_and_lookout_documents() {
    let inner = json!({"schemaVersion": 39, "title": "T", "uid": "t1", "panels": []});
    let imp = ok(json!({"dashboard": inner, "meta": {"slug": "t", "canSave": true}}));
    assert_eq!(imp.dashboard.uid, "t1");
    assert!(imp.report.dropped.iter().any(|d| d.starts_with("meta")));
    // Lookout's own JSON goes through Dashboard::from_json.
    let mut d = Dashboard {
        uid: "own".into(),
        title: "Own".into(),
        ..Dashboard::default()
    };
    let mut c = Cell::default();
    c.targets[0].expr = "up".into();
    d.add_panel(c);
    d.add_row("r");
    let text = d.to_json_pretty().unwrap();
    let imp = import(&text).unwrap();
    assert_eq!(imp.report.source, Source::Lookout);
    assert_eq!(imp.dashboard, d);
    assert_eq!(imp.report.queries, 1);
    let nb =
        r#"{"schemaVersion": 1, "title": "nb", "cells": [{"id": 1, "targets": [{"expr": "up"}]}]}"#;
    assert_eq!(import(nb).unwrap().report.source, Source::Lookout);
    assert!(matches!(
        import(r#"{"cells": [{"id": 1}, {"id": 1}]}"#),
        Err(ImportError::Lookout(_))
    ));
}

/// Cheap deterministic randomness for the mutation test.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutated real exports (truncated anywhere, bytes flipped, JSON values swapped for others):
/// no panic; whatever imports also exports, and import → export → import gives it back.
#[test]
fn mutated_real_exports_never_panic() {
    let dir = format!(
        "{}/testdata/grafana",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
    );
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut imported = 0;
    let mut refused = 0;
    let replacements = [
        json!(null),
        json!(-1),
        json!(1e300),
        json!("x"),
        json!([]),
        json!({}),
        json!(true),
        json!([{"type": "row", "collapsed": true, "panels": [{}]}]),
    ];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut check = |doc: Result<lookout_grafana::Imported, ImportError>| match doc {
            Ok(imp) => {
                imported += 1;
                let out = export(&imp.dashboard).unwrap();
                let back = import_value(&out).unwrap();
                // The round trip holds here too.
                assert!(
                    back.dashboard == imp.dashboard,
                    "{}: round trip differs",
                    path.display()
                );
                assert_eq!(export(&back.dashboard).unwrap(), out);
                let _ = imp.report.to_string();
            }
            Err(e) => {
                refused += 1;
                let _ = e.to_string();
            }
        };
        for _ in 0..40 {
            let cut = rng.below(bytes.len());
            check(import(&String::from_utf8_lossy(&bytes[..cut])));
            let mut flipped = bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(flipped.len());
                flipped[i] = (rng.next() & 0xff) as u8;
            }
            check(import(&String::from_utf8_lossy(&flipped)));
        }
        // Structural mutations: replace random values of the parsed document.
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        for _ in 0..60 {
            let mut d = doc.clone();
            for _ in 0..1 + rng.below(4) {
                let r = replacements[rng.below(replacements.len())].clone();
                mutate(&mut d, &mut rng, r);
            }
            check(import_value(&d));
        }
    }
    assert!(imported > 100, "{imported} imported, {refused} refused");
    assert!(refused > 100, "{imported} imported, {refused} refused");
}

/// Replaces one value somewhere in `v` (a random walk down from the top).
fn mutate(v: &mut Value, rng: &mut XorShift, with: Value) {
    let stop = rng.below(4) == 0;
    match v {
        Value::Array(a) if !a.is_empty() && !stop => {
            let i = rng.below(a.len());
            mutate(&mut a[i], rng, with);
        }
        Value::Object(m) if !m.is_empty() && !stop => {
            let i = rng.below(m.len());
            if let Some(n) = m.values_mut().nth(i) {
                mutate(n, rng, with);
            }
        }
        _ => *v = with,
    }
}

/// A Grafana 10/11 export with a library panel (no `type`), `__elements`, an expression query
/// and a query variable whose `query` is an object.
#[test]
fn modern_export_with_library_panel() {
    let doc = json!({
        "__elements": {"lib1": {"name": "Shared", "uid": "lib1", "kind": 1, "model": {"type": "stat"}}},
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "schemaVersion": 41, "uid": "m41", "title": "M", "fiscalYearStartMonth": 0, "weekStart": "",
        "panels": [
            {"id": 1, "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0}, "libraryPanel": {"uid": "lib1", "name": "Shared"}},
            {"id": 2, "type": "timeseries", "gridPos": {"h": 8, "w": 12, "x": 12, "y": 0},
             "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "fieldConfig": {"defaults": {"custom": {"drawStyle": "line", "fillOpacity": 10, "lineWidth": 1,
                "stacking": {"group": "A", "mode": "none"}}, "unit": "s"}, "overrides": []},
             "targets": [
                {"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "editorMode": "code",
                 "expr": "up", "legendFormat": "__auto", "range": true, "refId": "A"},
                {"datasource": {"type": "__expr__", "uid": "__expr__"}, "expression": "$A * 2", "refId": "B", "type": "math"}
             ]}
        ],
        "templating": {"list": [{"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            "definition": "label_values(up,job)", "query": {"qryType": 1, "query": "label_values(up,job)",
            "refId": "PrometheusVariableQueryEditor-VariableQuery"}, "refresh": 1, "current": {}, "options": []}]}
    });
    let imp = ok(doc.clone());
    let d = &imp.dashboard;
    assert_eq!(d.panel(1).unwrap().panel.kind, PanelKind::Unsupported);
    let ts = d.panel(2).unwrap();
    assert_eq!(
        (
            ts.panel.field.unit.as_str(),
            ts.panel.time_series.fill_opacity
        ),
        ("s", 10)
    );
    assert_eq!((ts.targets.len(), imp.report.kept_queries), (1, 1));
    assert!(matches!(&d.variables[0].kind,
        lookout_dashboard::VariableKind::Query { query, .. } if query == "label_values(up,job)"));
    let out = export(d).unwrap();
    assert!(out["panels"][0].get("type").is_none());
    assert_eq!(
        out["panels"][0]["libraryPanel"],
        doc["panels"][0]["libraryPanel"]
    );
    assert_eq!(out["__elements"], doc["__elements"]);
    assert_eq!(out["__inputs"], doc["__inputs"]);
    assert_eq!(
        out["panels"][1]["targets"][1],
        doc["panels"][1]["targets"][1]
    );
    assert_eq!(
        out["panels"][1]["fieldConfig"],
        doc["panels"][1]["fieldConfig"]
    );
    assert_eq!(
        out["templating"]["list"][0]["query"],
        doc["templating"]["list"][0]["query"]
    );
    assert_eq!(import_value(&out).unwrap().dashboard, imp.dashboard);
}

/// Found by `fuzz.rs` (`mutated_export_values_never_panic`): an old `rows[]` layout whose
/// panel `span` is huge overflowed the span → width product (a panic in debug builds, a
/// wrapped width in release). It is a full-width panel now.
#[test]
fn a_huge_span_is_a_full_width_panel() {
    for span in [
        json!(1e300),
        json!(-1e300),
        json!("9999999999999999999"),
        json!(f64::MAX),
    ] {
        let doc = json!({
            "schemaVersion": 14, "title": "old rows",
            "rows": [{"height": "250px", "panels": [
                {"id": 1, "type": "graph", "title": "p", "span": span,
                 "targets": [{"refId": "A", "expr": "up"}]}
            ]}]
        });
        let imp = ok(doc);
        let grid = imp.dashboard.panels[0].panel.grid.expect("placed");
        assert!(grid.w >= 1 && grid.w <= 24, "{span}: {grid:?}");
    }
}

/// Found by `fuzz.rs` (`mutated_export_bytes_never_panic`): a panel on the grid line of a
/// collapsed row was carried by the row on export and came back one line lower: the round
/// trip moved it. It is placed below the row on import now, and the round trip holds.
#[test]
fn a_panel_on_a_collapsed_rows_line_round_trips() {
    let doc = json!({
        "schemaVersion": 16, "title": "rows",
        "panels": [
            {"id": 2, "type": "graph", "title": "on the line", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
             "targets": [{"refId": "A", "expr": "up"}]},
            {"id": 23, "type": "row", "title": "r", "collapsed": true, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
             "panels": [{"id": 40, "type": "graph", "title": "inside", "gridPos": {"x": 0, "y": 1, "w": 12, "h": 8},
                         "targets": [{"refId": "A", "expr": "up"}]}]}
        ]
    });
    let imp = ok(doc);
    let out = export(&imp.dashboard).unwrap();
    let back = import_value(&out).unwrap();
    assert_eq!(back.dashboard, imp.dashboard);
    assert!(
        imp.report.to_string().contains("on a row's line"),
        "{}",
        imp.report
    );
}
