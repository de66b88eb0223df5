//! What export writes for a dashboard made in Lookout.

use lookout_dashboard::reduce::Reducer;
use lookout_dashboard::{
    Cell, Dashboard, DataSourceRef, GridPos, PanelKind, Target, Variable, VariableKind,
};
use lookout_grafana::{export, import_value};
use serde_json::json;

fn cell(id: u64, kind: PanelKind, y: u32, ds: DataSourceRef) -> Cell {
    let mut c = Cell {
        id,
        title: format!("p{id}"),
        datasource: ds,
        targets: vec![Target {
            ref_id: "A".into(),
            expr: "rate(inference_total[$__rate_interval])".into(),
            ..Target::default()
        }],
        ..Cell::default()
    };
    c.panel.kind = kind;
    c.panel.grid = Some(GridPos {
        x: 0,
        y,
        w: 12,
        h: 8,
    });
    c
}

#[test]
fn a_lookout_dashboard_in_grafana_shape() {
    let mut d = Dashboard {
        uid: "model".into(),
        title: "Model".into(),
        refresh: Some("30s".into()),
        ..Dashboard::default()
    };
    d.variables.push(Variable {
        name: "job".into(),
        kind: VariableKind::Query {
            query: "label_values(up, job)".into(),
            regex: String::new(),
            sort: 1,
            refresh: 2,
        },
        include_all: true,
        current: vec!["$__all".into()],
        ..Variable::default()
    });
    let mut ts = cell(
        1,
        PanelKind::TimeSeries,
        0,
        DataSourceRef::Remote {
            url: "https://prometheus.example:9090".into(),
        },
    );
    ts.panel.field.unit = "reqps".into();
    ts.panel.time_series.fill_opacity = 20;
    let mut stat = cell(2, PanelKind::Stat, 1 + 8, DataSourceRef::Page);
    stat.panel.stat.reducer = Reducer::Mean;
    d.panels = vec![ts, stat];
    d.rows.push(lookout_dashboard::document::Row {
        id: 3,
        title: "Details".into(),
        y: 8,
        collapsed: true,
        repeat: None,
    });
    let out = export(&d).unwrap();
    assert_eq!(out["schemaVersion"], 26);
    assert_eq!(out["uid"], "model");
    assert_eq!(out["refresh"], "30s");
    assert_eq!(out["time"], json!({"from": "now-1h", "to": "now"}));
    assert_eq!(out["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(out["__inputs"][0]["pluginId"], "prometheus");
    let p0 = &out["panels"][0];
    assert_eq!(p0["type"], "timeseries");
    assert_eq!(p0["datasource"], "${DS_PROMETHEUS}");
    assert_eq!(p0["fieldConfig"]["defaults"]["unit"], "reqps");
    assert_eq!(p0["fieldConfig"]["defaults"]["custom"]["fillOpacity"], 20);
    assert_eq!(p0["gridPos"], json!({"x": 0, "y": 0, "w": 12, "h": 8}));
    assert_eq!(
        p0["targets"][0],
        json!({"refId": "A", "expr": "rate(inference_total[$__rate_interval])", "legendFormat": "__auto",
               "instant": false, "range": true, "format": "time_series"})
    );
    // The collapsed row carries its panel, at the position it has when the row is open.
    let row = &out["panels"][1];
    assert_eq!(row["type"], "row");
    assert_eq!(row["collapsed"], true);
    assert_eq!(row["gridPos"], json!({"x": 0, "y": 8, "w": 24, "h": 1}));
    assert_eq!(row["panels"][0]["type"], "stat");
    assert_eq!(row["panels"][0]["gridPos"]["y"], 9);
    assert_eq!(
        row["panels"][0]["options"]["reduceOptions"]["calcs"],
        json!(["mean"])
    );
    let var = &out["templating"]["list"][0];
    assert_eq!(var["type"], "query");
    assert_eq!(var["datasource"], "${DS_PROMETHEUS}");
    assert_eq!(var["current"], json!({"text": "All", "value": "$__all"}));
    // No URL of a data source is written.
    let text = serde_json::to_string(&out).unwrap();
    assert!(!text.contains("prometheus.example"));
    // Read back: Page and Remote became the dashboard's data source (documented).
    let back = import_value(&out).unwrap().dashboard;
    assert!(
        back.panels
            .iter()
            .all(|c| c.datasource == DataSourceRef::Dashboard)
    );
    assert_eq!(back.rows, d.rows);
    assert_eq!(back.panels[1].panel.stat.reducer, Reducer::Mean);
}

#[test]
fn schema_33_and_later_write_references_as_objects() {
    let doc = json!({"schemaVersion": 39, "uid": "u", "panels": [], "templating": {"list": [
        {"name": "ds", "type": "datasource", "query": "prometheus"}]}});
    let mut d = import_value(&doc).unwrap().dashboard;
    d.panels
        .push(cell(1, PanelKind::Gauge, 0, DataSourceRef::Dashboard));
    d.panels.push(cell(
        2,
        PanelKind::BarGauge,
        8,
        DataSourceRef::Variable { name: "ds".into() },
    ));
    let out = export(&d).unwrap();
    assert_eq!(out["schemaVersion"], 39);
    assert_eq!(
        out["panels"][0]["datasource"],
        json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"})
    );
    assert_eq!(
        out["panels"][1]["datasource"],
        json!({"type": "prometheus", "uid": "${ds}"})
    );
    assert_eq!(out["panels"][1]["type"], "bargauge");
    assert_eq!(import_value(&out).unwrap().dashboard, d);
}

/// `custom.thresholdsStyle` (time series) and the graph's `line`/`fill` flags say whether and
/// how thresholds are drawn; Grafana draws none unless asked.
#[test]
fn thresholds_style_reads_and_writes() {
    use lookout_dashboard::ThresholdsStyle;
    let ts = |style: Option<&str>| {
        let mut custom = json!({"drawStyle": "line"});
        if let Some(s) = style {
            custom["thresholdsStyle"] = json!({"mode": s});
        }
        json!({"schemaVersion": 36, "title": "t", "panels": [{
            "id": 1, "type": "timeseries", "title": "p",
            "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
            "targets": [{"refId": "A", "expr": "up"}],
            "fieldConfig": {"defaults": {"custom": custom}}
        }]})
    };
    for (given, want) in [
        (None, ThresholdsStyle::Off),
        (Some("off"), ThresholdsStyle::Off),
        (Some("line"), ThresholdsStyle::Line),
        (Some("dashed"), ThresholdsStyle::Dashed),
        (Some("area"), ThresholdsStyle::Area),
        (Some("line+area"), ThresholdsStyle::LineAndArea),
        (Some("dashed+area"), ThresholdsStyle::DashedAndArea),
        (Some("series"), ThresholdsStyle::Off),
    ] {
        let d = import_value(&ts(given)).expect("import").dashboard;
        assert_eq!(
            d.panels[0].panel.time_series.thresholds_style, want,
            "{given:?}"
        );
    }
    // Changed in Lookout: written back; turned off: the key goes.
    let mut d = import_value(&ts(Some("line"))).expect("import").dashboard;
    d.panels[0].panel.time_series.thresholds_style = ThresholdsStyle::DashedAndArea;
    let out = export(&d).expect("export");
    assert_eq!(
        out["panels"][0]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"],
        "dashed+area",
        "{out}"
    );
    d.panels[0].panel.time_series.thresholds_style = ThresholdsStyle::Off;
    let out = export(&d).expect("export");
    assert!(
        out["panels"][0]["fieldConfig"]["defaults"]["custom"]
            .get("thresholdsStyle")
            .is_none(),
        "{out}"
    );
    // A Grafana 7 graph: its thresholds' flags.
    let graph = |flags: serde_json::Value| {
        let mut t = json!({"op": "gt", "value": 80, "colorMode": "critical", "yaxis": "left"});
        for (k, v) in flags.as_object().into_iter().flatten() {
            t[k] = v.clone();
        }
        json!({"schemaVersion": 22, "title": "g", "panels": [{
            "id": 1, "type": "graph", "title": "p",
            "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
            "targets": [{"refId": "A", "expr": "up"}],
            "thresholds": [t]
        }]})
    };
    for (flags, want) in [
        (
            json!({"fill": true, "line": true}),
            ThresholdsStyle::LineAndArea,
        ),
        (json!({"fill": true, "line": false}), ThresholdsStyle::Area),
        (json!({"fill": false, "line": true}), ThresholdsStyle::Line),
        (json!({"fill": false, "line": false}), ThresholdsStyle::Off),
    ] {
        let d = import_value(&graph(flags.clone()))
            .expect("import")
            .dashboard;
        assert_eq!(
            d.panels[0].panel.time_series.thresholds_style, want,
            "{flags}"
        );
    }
    let mut d = import_value(&graph(json!({"fill": true, "line": true})))
        .expect("import")
        .dashboard;
    d.panels[0].panel.time_series.thresholds_style = ThresholdsStyle::Line;
    let out = export(&d).expect("export");
    let t = &out["panels"][0]["thresholds"][0];
    assert_eq!(
        (&t["line"], &t["fill"]),
        (&json!(true), &json!(false)),
        "{out}"
    );
    let again = import_value(&out).expect("re-import").dashboard;
    assert_eq!(
        again.panels[0].panel.time_series.thresholds_style,
        ThresholdsStyle::Line
    );
}
