//! Series names from a target's legend format, as Grafana's Prometheus data source names them
//! (the backend's `querydata/response.go`: `getName`, `metricNameFromLabels`; and the
//! frontend's `getFieldDisplayName` in `packages/grafana-data/src/field/fieldState.ts`, which
//! names series the backend left unnamed).
//!
//! - A template (`{{job}} on {{ instance }}`): each `{{name}}`, spaces allowed inside the
//!   braces, becomes the label's value, or nothing when the series lacks the label. A
//!   template that renders to nothing names the series as verbose does.
//! - Empty ("Verbose"): Prometheus' notation, `metric{a="b", c="d"}`; a series without any
//!   label is named by the query's expression.
//! - `__auto` ("Auto"): when every series of the panel has only one and the same label name,
//!   that label's value (a `sum by (le)` shows `0.1`, `0.5`, …); otherwise as verbose; a series
//!   without labels is named by the expression.
//!
//! Two series may end up with the same name; they stay separate series.

use lookout_promql::labels::{Labels, METRIC_NAME};

/// The `__auto` legend format.
pub const AUTO: &str = "__auto";

/// Replaces each `{{ name }}` in `format` by the label's value (empty when absent).
pub fn render_template(format: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(open) = rest.find("{{") {
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            break;
        };
        let inner = &after_open[..close];
        out.push_str(&rest[..open]);
        if inner.is_empty() {
            // `{{}}` is not a placeholder (Grafana's regex needs a character inside).
            out.push_str("{{}}");
        } else {
            out.push_str(labels.get(inner.trim()).unwrap_or(""));
        }
        rest = &after_open[close + 2..];
    }
    out.push_str(rest);
    out
}

/// Prometheus' notation of a label set: `name{a="b", c="d"}`, `{a="b"}` without a metric
/// name, `name` alone without other labels, `{}` for no labels at all.
pub fn prometheus_name(labels: &Labels) -> String {
    let mut out = labels.name().unwrap_or("").to_string();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != METRIC_NAME)
        .map(|(k, v)| format!("{k}=\"{}\"", lookout_promql::store::escape_label_value(v)))
        .collect();
    if !rest.is_empty() || out.is_empty() {
        out.push('{');
        out.push_str(&rest.join(", "));
        out.push('}');
    }
    out
}

/// The single label name shared by all the label sets, when each has exactly that one label
/// (Grafana's `getSingleLabelName`); label sets without labels are skipped.
pub fn single_label_name<'a>(label_sets: impl IntoIterator<Item = &'a Labels>) -> Option<String> {
    let mut single: Option<&str> = None;
    for labels in label_sets {
        for (k, _) in labels.iter() {
            match single {
                None => single = Some(k),
                Some(s) if s != k => return None,
                Some(_) => {}
            }
        }
    }
    single.map(str::to_string)
}

/// The display name of one series. `single_label` is [`single_label_name`] over every series
/// of the panel (used by `__auto` only); `expr` names series without labels.
pub fn series_name(
    format: &str,
    labels: &Labels,
    expr: &str,
    single_label: Option<&str>,
) -> String {
    let format_trimmed = format.trim();
    if format_trimmed == AUTO {
        if labels.is_empty() {
            return expr.to_string();
        }
        if let Some(v) = single_label.and_then(|l| labels.get(l)) {
            return v.to_string();
        }
        return prometheus_name(labels);
    }
    if format_trimmed.is_empty() {
        if labels.is_empty() {
            return expr.to_string();
        }
        return prometheus_name(labels);
    }
    let rendered = render_template(format, labels);
    if rendered.is_empty() {
        return series_name("", labels, expr, None);
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::from_pairs(&[("__name__", "up"), ("job", "api"), ("instance", "a:9090")])
    }

    #[test]
    fn templates() {
        let l = labels();
        assert_eq!(render_template("{{job}}", &l), "api");
        assert_eq!(
            render_template("{{ job }} @ {{instance}}", &l),
            "api @ a:9090"
        );
        assert_eq!(render_template("{{  job}}-{{missing}}-", &l), "api--");
        assert_eq!(render_template("{{__name__}}", &l), "up");
        assert_eq!(render_template("plain", &l), "plain");
        assert_eq!(render_template("{{}} {{job", &l), "{{}} {{job");
        assert_eq!(render_template("{{{job}}}", &l), "}");
        assert_eq!(render_template("é{{job}}ü", &l), "éapiü");
    }

    #[test]
    fn verbose_names() {
        assert_eq!(
            prometheus_name(&labels()),
            r#"up{instance="a:9090", job="api"}"#
        );
        assert_eq!(
            prometheus_name(&Labels::from_pairs(&[("__name__", "up")])),
            "up"
        );
        assert_eq!(
            prometheus_name(&Labels::from_pairs(&[("a", "x\"y")])),
            r#"{a="x\"y"}"#
        );
        assert_eq!(prometheus_name(&Labels::default()), "{}");
        assert_eq!(
            series_name("", &labels(), "up", None),
            r#"up{instance="a:9090", job="api"}"#
        );
        assert_eq!(series_name("", &Labels::default(), "1 + 1", None), "1 + 1");
        assert_eq!(
            series_name("{{missing}}", &labels(), "up", None),
            r#"up{instance="a:9090", job="api"}"#
        );
        assert_eq!(series_name("{{ job }}", &labels(), "up", None), "api");
    }

    #[test]
    fn auto_names() {
        let le = Labels::from_pairs(&[("le", "0.5")]);
        let other = Labels::from_pairs(&[("le", "+Inf")]);
        let single = single_label_name([&le, &other]);
        assert_eq!(single.as_deref(), Some("le"));
        assert_eq!(series_name(AUTO, &le, "q", single.as_deref()), "0.5");
        assert_eq!(single_label_name([&le, &labels()]), None);
        assert_eq!(
            series_name(AUTO, &labels(), "q", None),
            r#"up{instance="a:9090", job="api"}"#
        );
        assert_eq!(
            series_name(AUTO, &Labels::default(), "sum(x)", None),
            "sum(x)"
        );
        assert_eq!(single_label_name([&Labels::default()]), None);
    }
}
