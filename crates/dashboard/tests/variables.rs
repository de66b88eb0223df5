//! Template variables over the real engine: options from `label_values`, `label_names`,
//! `metrics` and `query_result` answered by `lookout_datasource::Embedded`, chained variables
//! resolved in order, and substituted queries that select exactly the chosen series.

use std::cell::RefCell;
use std::rc::Rc;

use lookout_dashboard::model::{Cell, Target};
use lookout_dashboard::run::run_cell;
use lookout_dashboard::variables::{
    ALL_VALUE, AUTO_VALUE_PREFIX, ResolveContext, VariableError, VariableOption, resolve_all,
    resolve_options,
};
use lookout_dashboard::{Variable, VariableKind, apply_to_cell};
use lookout_datasource::{Embedded, EmbeddedStore, block_on_ready};
use lookout_promql::{Engine, Labels};

const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const RANGE: (i64, i64) = (NOW - HOUR, NOW);

type Source = Embedded<Rc<RefCell<EmbeddedStore>>>;

fn source() -> Source {
    let mut store = EmbeddedStore::default();
    let series: Vec<(Labels, f64)> = vec![
        (
            Labels::from_pairs(&[("__name__", "up"), ("job", "a"), ("instance", "x")]),
            1.0,
        ),
        (
            Labels::from_pairs(&[("__name__", "up"), ("job", "b"), ("instance", "y")]),
            2.0,
        ),
        (
            Labels::from_pairs(&[("__name__", "up"), ("job", "c"), ("instance", "z")]),
            4.0,
        ),
        (
            Labels::from_pairs(&[
                ("__name__", "node_cpu_seconds_total"),
                ("job", "a"),
                ("instance", "x"),
                ("mode", "idle"),
            ]),
            10.0,
        ),
        (
            Labels::from_pairs(&[("__name__", "svc_up"), ("name", "a.b|c")]),
            1.0,
        ),
        (
            Labels::from_pairs(&[("__name__", "svc_up"), ("name", "aXb")]),
            1.0,
        ),
        (
            Labels::from_pairs(&[("__name__", "svc_up"), ("name", r"back\slash")]),
            1.0,
        ),
    ];
    for (labels, v) in &series {
        for k in 0..=240 {
            store
                .storage
                .append(labels, NOW - HOUR + k * 15_000, *v)
                .expect("append");
        }
    }
    Embedded::new(Rc::new(RefCell::new(store)), Engine::default(), "test")
}

fn query_var(name: &str, query: &str, regex: &str, sort: u8) -> Variable {
    Variable {
        name: name.into(),
        kind: VariableKind::Query {
            query: query.into(),
            regex: regex.into(),
            sort,
            refresh: 1,
        },
        ..Variable::default()
    }
}

fn options(var: &Variable, vars: &[Variable], src: &Source) -> Result<Vec<String>, VariableError> {
    let ctx = ResolveContext {
        range: RANGE,
        variables: vars,
        datasources: &[],
    };
    block_on_ready(resolve_options(var, src, &ctx))
        .map(|o| o.into_iter().map(|o| o.value).collect())
}

#[test]
fn label_values_both_forms() {
    let src = source();
    let v = query_var("job", "label_values(job)", "", 0);
    assert_eq!(options(&v, &[], &src).unwrap(), ["a", "b", "c"]);
    let v = query_var("job", r#"label_values(up{instance=~"x|y"}, job)"#, "", 2);
    assert_eq!(options(&v, &[], &src).unwrap(), ["b", "a"]);
    let v = query_var("mode", "label_values(node_cpu_seconds_total, mode)", "", 0);
    assert_eq!(options(&v, &[], &src).unwrap(), ["idle"]);
    let v = query_var("inst", "label_values(up, instance)", "/[xz]/", 0);
    assert_eq!(options(&v, &[], &src).unwrap(), ["x", "z"]);
}

#[test]
fn label_names_and_metrics() {
    let src = source();
    let names = options(&query_var("l", "label_names()", "", 0), &[], &src).unwrap();
    for n in ["__name__", "instance", "job", "mode", "name"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    let names = options(
        &query_var("l", "label_names(node_cpu_seconds_total)", "", 0),
        &[],
        &src,
    )
    .unwrap();
    assert_eq!(names, ["__name__", "instance", "job", "mode"]);
    let metrics = options(&query_var("m", "metrics(up$)", "", 0), &[], &src).unwrap();
    assert_eq!(metrics, ["svc_up", "up"]);
    let metrics = options(&query_var("m", "metrics(^node_)", "", 0), &[], &src).unwrap();
    assert_eq!(metrics, ["node_cpu_seconds_total"]);
}

#[test]
fn query_result_options_in_grafana_text_form() {
    let src = source();
    let all = options(&query_var("q", "query_result(up)", "", 0), &[], &src).unwrap();
    assert_eq!(
        all,
        [
            format!(r#"up{{instance="x",job="a"}} 1 {NOW}"#),
            format!(r#"up{{instance="y",job="b"}} 2 {NOW}"#),
            format!(r#"up{{instance="z",job="c"}} 4 {NOW}"#),
        ]
    );
    // The usual pattern: a regex capture picks the value out of the text.
    let v = query_var("q", "query_result(topk(2, up))", r#"/job="([^"]+)"/"#, 1);
    assert_eq!(options(&v, &[], &src).unwrap(), ["b", "c"]);
    let v = query_var("q", "query_result(sum(up))", "", 0);
    assert_eq!(options(&v, &[], &src).unwrap(), [format!("{{}} 7 {NOW}")]);
    let v = query_var("q", "query_result(scalar(sum(up)))", "", 0);
    assert_eq!(options(&v, &[], &src).unwrap(), ["7"]);
    // A range vector is not an option list.
    let v = query_var("q", "query_result(up[5m])", "", 0);
    assert!(matches!(
        options(&v, &[], &src),
        Err(VariableError::UnhandledResult(_))
    ));
}

#[test]
fn chained_variables_resolve_in_order() {
    let src = source();
    let mut job = query_var("job", "label_values(up, job)", "", 1);
    job.multi = true;
    job.include_all = true;
    job.current = vec!["a".into(), "b".into(), "gone".into()];
    let instance = query_var(
        "instance",
        r#"label_values(up{job=~"$job"}, instance)"#,
        "",
        1,
    );
    let total = query_var(
        "total",
        r#"query_result(sum(up{job=~"$job"}) * $__range_s / 3600)"#,
        r"/\} (\d+)/",
        0,
    );
    let r = block_on_ready(resolve_all(&[job, instance, total], &src, RANGE, &[]));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let [job, instance, total] = &r.variables[..] else {
        panic!("{:?}", r.variables)
    };
    assert_eq!(job.options, ["a", "b", "c"]);
    assert_eq!(job.current, ["a", "b"], "the vanished value is dropped");
    assert_eq!(instance.options, ["x", "y"]);
    assert_eq!(instance.current, ["x"], "first option");
    assert_eq!(total.current, ["3"]);

    // All: every job, so every instance.
    let mut vars = r.variables.clone();
    vars[0].current = vec![ALL_VALUE.into()];
    let r = block_on_ready(resolve_all(&vars, &src, RANGE, &[]));
    assert_eq!(r.variables[1].options, ["x", "y", "z"]);
    assert_eq!(r.variables[2].current, ["7"]);
}

fn instant_cell(expr: &str) -> Cell {
    Cell {
        targets: vec![Target {
            ref_id: "A".into(),
            expr: expr.into(),
            legend_format: "{{job}}{{name}}".into(),
            instant: true,
            range: false,
            ..Target::default()
        }],
        ..Cell::default()
    }
}

/// Runs the cell with the variables substituted; the series' names and values.
fn run(expr: &str, vars: &[Variable], src: &Source) -> Vec<(String, f64)> {
    let cell = apply_to_cell(&instant_cell(expr), vars);
    let data = block_on_ready(run_cell(src, &cell, RANGE, NOW, None, None));
    assert!(
        data.errors.is_empty(),
        "{:?} for {:?}",
        data.errors,
        data.queries
    );
    let mut out: Vec<(String, f64)> = data
        .instant
        .map(|f| {
            f.series
                .into_iter()
                .map(|s| (s.name, s.value.unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn pairs(p: &[(&str, f64)]) -> Vec<(String, f64)> {
    p.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

#[test]
fn substituted_multi_value_query_selects_the_chosen_series() {
    let src = source();
    let mut job = query_var("job", "label_values(up, job)", "", 1);
    job.multi = true;
    job.include_all = true;
    job.current = vec!["a".into(), "b".into()];
    let r = block_on_ready(resolve_all(&[job], &src, RANGE, &[]));
    let mut vars = r.variables;
    let expr = r#"sum by (job) (up{job=~"$job"})"#;
    assert_eq!(
        run(expr, &vars, &src),
        pairs(&[("a", 1.0), ("b", 2.0)]),
        "a and b, not c"
    );
    // All without allValue: every option as an alternation.
    vars[0].current = vec![ALL_VALUE.into()];
    assert_eq!(
        run(expr, &vars, &src),
        pairs(&[("a", 1.0), ("b", 2.0), ("c", 4.0)])
    );
    // All with a custom all value.
    vars[0].all_value = Some(".+".into());
    assert_eq!(
        run(expr, &vars, &src),
        pairs(&[("a", 1.0), ("b", 2.0), ("c", 4.0)])
    );
    // A single-value variable in an equality matcher.
    let one = Variable {
        name: "one".into(),
        kind: VariableKind::Custom {
            query: "a,b,c".into(),
        },
        options: vec!["a".into(), "b".into(), "c".into()],
        current: vec!["c".into()],
        ..Variable::default()
    };
    assert_eq!(
        run(r#"sum by (job) (up{job="$one"})"#, &[one], &src),
        pairs(&[("c", 4.0)])
    );
}

#[test]
fn regex_metacharacters_and_backslashes_in_values_stay_literal() {
    let src = source();
    let mut svc = query_var("svc", "label_values(svc_up, name)", "", 0);
    svc.multi = true;
    let r = block_on_ready(resolve_all(&[svc], &src, RANGE, &[]));
    let mut vars = r.variables;
    assert_eq!(vars[0].options, ["a.b|c", "aXb", r"back\slash"]);
    let expr = r#"sum by (name) (svc_up{name=~"$svc"})"#;
    vars[0].current = vec!["a.b|c".into()];
    assert_eq!(run(expr, &vars, &src), pairs(&[("a.b|c", 1.0)]), "not aXb");
    vars[0].current = vec![r"back\slash".into(), "a.b|c".into()];
    assert_eq!(
        run(expr, &vars, &src),
        pairs(&[("a.b|c", 1.0), (r"back\slash", 1.0)])
    );
    // A single-value variable (no multi, no All) in an equality matcher.
    let one = Variable {
        name: "one".into(),
        options: vec![r"back\slash".into()],
        current: vec![r"back\slash".into()],
        ..Variable::default()
    };
    assert_eq!(
        run(r#"sum by (name) (svc_up{name="$one"})"#, &[one], &src),
        pairs(&[(r"back\slash", 1.0)])
    );
}

#[test]
fn errors_stay_per_variable_and_other_kinds_resolve() {
    let src = source();
    let vars = vec![
        query_var("bad_regex", "label_values(job)", "/(/", 0),
        query_var("bad_fn", "rate(up[5m])", "", 0),
        query_var("bad_query", "query_result(sum(up)", "", 0),
        query_var("ok", "label_values(job)", "", 0),
        Variable {
            name: "ds".into(),
            kind: VariableKind::Datasource {
                query: "prometheus".into(),
                regex: "/^(page|server)$/".into(),
            },
            ..Variable::default()
        },
        Variable {
            name: "res".into(),
            kind: VariableKind::Interval {
                query: "1m,5m".into(),
                auto: true,
                auto_count: 30,
                auto_min: "10s".into(),
            },
            ..Variable::default()
        },
        Variable {
            name: "env".into(),
            include_all: true,
            kind: VariableKind::Custom {
                query: "Production : prod, Staging : stage".into(),
            },
            ..Variable::default()
        },
        Variable {
            name: "c".into(),
            kind: VariableKind::Constant { query: "k".into() },
            ..Variable::default()
        },
    ];
    let sources = [
        "page".to_string(),
        "server".into(),
        "http://prom:9090".into(),
    ];
    let r = block_on_ready(resolve_all(&vars, &src, RANGE, &sources));
    let names: Vec<&str> = r.errors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["bad_regex", "bad_fn", "bad_query"],
        "{:?}",
        r.errors
    );
    assert!(matches!(r.errors[0].1, VariableError::BadRegex { .. }));
    assert!(matches!(r.errors[1].1, VariableError::UnknownFunction(_)));
    assert!(matches!(r.errors[2].1, VariableError::Query(_)));
    let v = &r.variables;
    assert_eq!(v[3].current, ["a"]);
    assert_eq!(v[4].options, ["page", "server"]);
    assert_eq!(v[4].current, ["page"]);
    assert_eq!(
        v[5].options,
        [format!("{AUTO_VALUE_PREFIX}res"), "1m".into(), "5m".into()]
    );
    assert_eq!(v[5].auto_interval.as_deref(), Some("2m"));
    assert_eq!(v[5].current, [format!("{AUTO_VALUE_PREFIX}res")]);
    assert_eq!(
        v[6].option_list(),
        [
            VariableOption::with_text("Production", "prod"),
            VariableOption::with_text("Staging", "stage"),
        ]
    );
    assert_eq!(v[6].current, [ALL_VALUE]);
    assert_eq!(v[7].current, ["k"]);
    let cell = apply_to_cell(
        &instant_cell(r#"rate(up{env=~"$env"}[$res]) # $c ${env:text}"#),
        v,
    );
    assert_eq!(
        cell.targets[0].expr,
        r#"rate(up{env=~"(prod|stage)"}[2m]) # k All"#
    );
}
