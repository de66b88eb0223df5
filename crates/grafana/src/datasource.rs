//! Data source references: what a panel's or target's `datasource` names, and how Lookout
//! writes its own references back.
//!
//! Grafana has written them as `null` (the default data source), names (`"Prometheus"`,
//! `"default"`, `"-- Mixed --"`, `"-- Grafana --"`), template references (`"$datasource"`,
//! `"${DS_PROMETHEUS}"` — an `__inputs` entry that Grafana's import replaces by the data source
//! the user picks) and, since schema 33 (`migrateDatasourceNameToRef` in
//! `public/app/features/dashboard/state/DashboardMigrator.ts`), `{type, uid}` objects. Lookout
//! maps every Prometheus reference to [`DataSourceRef::Dashboard`], or to
//! [`DataSourceRef::Variable`] when it names a template variable; the original is kept and
//! written back.
//!
//! Lookout's own references are written as the dashboard's Prometheus input
//! (`${DS_PROMETHEUS}`, or the input the imported dashboard already had) with its `__inputs`
//! entry, so Grafana asks which Prometheus to use; never as a URL.

use std::collections::BTreeMap;

use lookout_dashboard::DataSourceRef;
use serde_json::{Map, Value, json};

/// A template variable as far as data source references care.
#[derive(Debug, Clone, Default)]
pub(crate) struct VarInfo {
    /// Grafana's `type`.
    pub kind: String,
    /// For `datasource` variables: the plugin id (`prometheus`).
    pub plugin: String,
}

/// What the conversion needs to know about the whole dashboard.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ctx {
    /// The schema version the written document declares (Grafana's migrations above it run in
    /// Grafana); decides between name strings (< 33) and `{type, uid}` objects.
    pub shape: u64,
    /// `__inputs` of type `datasource`: name → plugin id.
    pub inputs: BTreeMap<String, String>,
    /// Template variables by name.
    pub vars: BTreeMap<String, VarInfo>,
    /// The input Lookout's own references use.
    pub primary: String,
    /// Set when something written refers to the primary input.
    pub used_primary: bool,
}

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ds {
    /// A Prometheus data source (Lookout runs these queries).
    Prom(DataSourceRef),
    /// Grafana's mixed data source: every target names its own.
    Mixed,
    /// Another kind of data source (its type or name).
    Other(String),
}

/// The name inside `$name`, `${name}`, `${name:format}`, `${name.field}` or `[[name]]` when the
/// whole string is one variable reference (Grafana's variable regex: `\w+` names).
pub(crate) fn variable_ref(s: &str) -> Option<&str> {
    let word = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_');
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        let name = inner.split([':', '.']).next().unwrap_or_default();
        return word(name).then_some(name);
    }
    if let Some(inner) = s.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
        let name = inner.split(':').next().unwrap_or_default();
        return word(name).then_some(name);
    }
    if let Some(name) = s.strip_prefix('$') {
        return word(name).then_some(name);
    }
    None
}

impl Ctx {
    /// The first Prometheus input of `__inputs`, else `DS_PROMETHEUS` (or a variant no
    /// variable is named after).
    pub(crate) fn choose_primary(&mut self) {
        if let Some((name, _)) = self.inputs.iter().find(|(_, p)| p.as_str() == "prometheus") {
            self.primary = name.clone();
            return;
        }
        let mut name = "DS_PROMETHEUS".to_string();
        let mut n = 0u32;
        while self.vars.contains_key(&name) {
            n += 1;
            name = format!("DS_PROMETHEUS_{n}");
        }
        self.inputs.insert(name.clone(), "prometheus".to_string());
        self.primary = name;
    }

    /// Reads `__inputs` (entries of type `datasource`).
    pub(crate) fn read_inputs(&mut self, inputs: Option<&Value>) {
        for input in inputs.and_then(Value::as_array).into_iter().flatten() {
            let Some(o) = input.as_object() else { continue };
            if o.get("type").and_then(Value::as_str) != Some("datasource") {
                continue;
            }
            if let Some(name) = o.get("name").and_then(Value::as_str) {
                let plugin = o.get("pluginId").and_then(Value::as_str).unwrap_or("");
                self.inputs
                    .entry(name.to_string())
                    .or_insert_with(|| plugin.to_string());
            }
        }
    }

    fn by_name(&self, s: &str) -> Option<Ds> {
        if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && let Some(plugin) = self.inputs.get(inner)
        {
            return Some(if plugin == "prometheus" || plugin.is_empty() {
                Ds::Prom(DataSourceRef::Dashboard)
            } else {
                Ds::Other(plugin.clone())
            });
        }
        let name = variable_ref(s)?;
        Some(match self.vars.get(name) {
            Some(v)
                if v.kind == "datasource" && !v.plugin.is_empty() && v.plugin != "prometheus" =>
            {
                Ds::Other(v.plugin.clone())
            }
            Some(_) => Ds::Prom(DataSourceRef::Variable {
                name: name.to_string(),
            }),
            // A reference to nothing: Grafana would fail to find it; Lookout uses the
            // dashboard's data source.
            None => Ds::Prom(DataSourceRef::Dashboard),
        })
    }

    /// What `datasource` (a panel's or a target's) points at. `None`/`null` is the default
    /// data source (schema 36 makes it explicit), read as the dashboard's.
    pub(crate) fn classify(&self, v: Option<&Value>) -> Ds {
        match v {
            None | Some(Value::Null) => Ds::Prom(DataSourceRef::Dashboard),
            Some(Value::String(s)) => match s.as_str() {
                "" | "default" => Ds::Prom(DataSourceRef::Dashboard),
                "-- Mixed --" => Ds::Mixed,
                "-- Grafana --" | "-- Dashboard --" | "grafana" => Ds::Other(s.clone()),
                _ => self
                    .by_name(s)
                    .unwrap_or(Ds::Prom(DataSourceRef::Dashboard)),
            },
            Some(Value::Object(o)) => {
                let uid = o.get("uid").and_then(Value::as_str);
                let kind = o.get("type").and_then(Value::as_str);
                if uid == Some("-- Mixed --") {
                    return Ds::Mixed;
                }
                match kind {
                    None | Some("prometheus") => match uid {
                        Some(u) => self
                            .by_name(u)
                            .unwrap_or(Ds::Prom(DataSourceRef::Dashboard)),
                        None => Ds::Prom(DataSourceRef::Dashboard),
                    },
                    Some(other) => Ds::Other(format!(
                        "{other}{}",
                        uid.map_or(String::new(), |u| format!(" {u}"))
                    )),
                }
            }
            Some(other) => Ds::Other(crate::json::type_name(other).to_string()),
        }
    }

    /// How Lookout writes a reference: the variable, or the primary input (strings below
    /// schema 33, `{type, uid}` objects from 33 on).
    pub(crate) fn write_ref(&mut self, r: &DataSourceRef) -> Value {
        let uid = match r {
            DataSourceRef::Variable { name } => format!("${{{name}}}"),
            _ => {
                self.used_primary = true;
                format!("${{{}}}", self.primary)
            }
        };
        if self.shape >= 33 {
            json!({"type": "prometheus", "uid": uid})
        } else {
            Value::String(uid)
        }
    }
}

/// The `__inputs` entry Lookout writes for its Prometheus input.
pub(crate) fn input_entry(name: &str) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(name));
    m.insert("label".into(), Value::from("Prometheus"));
    m.insert("description".into(), Value::from(""));
    m.insert("type".into(), Value::from("datasource"));
    m.insert("pluginId".into(), Value::from("prometheus"));
    m.insert("pluginName".into(), Value::from("Prometheus"));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        let mut c = Ctx::default();
        c.read_inputs(Some(&json!([
            {"name": "DS_TEST-CLUSTER", "type": "datasource", "pluginId": "prometheus"},
            {"name": "DS_LOKI", "type": "datasource", "pluginId": "loki"}
        ])));
        c.vars.insert(
            "datasource".into(),
            VarInfo {
                kind: "datasource".into(),
                plugin: "prometheus".into(),
            },
        );
        c.choose_primary();
        c
    }

    #[test]
    fn references() {
        let c = ctx();
        assert_eq!(c.primary, "DS_TEST-CLUSTER");
        let var = Ds::Prom(DataSourceRef::Variable {
            name: "datasource".into(),
        });
        let dash = Ds::Prom(DataSourceRef::Dashboard);
        for (v, want) in [
            (json!(null), dash.clone()),
            (json!("default"), dash.clone()),
            (json!("Prometheus"), dash.clone()),
            (json!("${DS_TEST-CLUSTER}"), dash.clone()),
            (json!("$datasource"), var.clone()),
            (json!("${datasource}"), var.clone()),
            (json!("[[datasource]]"), var.clone()),
            (
                json!({"type": "prometheus", "uid": "${datasource}"}),
                var.clone(),
            ),
            (json!({"type": "prometheus", "uid": "abc"}), dash.clone()),
            (json!({"uid": "${DS_TEST-CLUSTER}"}), dash.clone()),
            (json!("-- Mixed --"), Ds::Mixed),
            (
                json!({"type": "datasource", "uid": "-- Mixed --"}),
                Ds::Mixed,
            ),
        ] {
            assert_eq!(c.classify(Some(&v)), want, "{v}");
        }
        assert!(matches!(
            c.classify(Some(&json!("${DS_LOKI}"))),
            Ds::Other(_)
        ));
        assert!(matches!(
            c.classify(Some(&json!("-- Grafana --"))),
            Ds::Other(_)
        ));
        assert!(matches!(
            c.classify(Some(&json!({"type": "loki", "uid": "x"}))),
            Ds::Other(_)
        ));
        assert_eq!(variable_ref("${a:csv}"), Some("a"));
        assert_eq!(variable_ref("$a-b"), None);
        assert_eq!(variable_ref("x$a"), None);
    }

    #[test]
    fn writing() {
        let mut c = ctx();
        c.shape = 26;
        assert_eq!(
            c.write_ref(&DataSourceRef::Page),
            json!("${DS_TEST-CLUSTER}")
        );
        assert!(c.used_primary);
        c.shape = 39;
        assert_eq!(
            c.write_ref(&DataSourceRef::Variable { name: "ds".into() }),
            json!({"type": "prometheus", "uid": "${ds}"})
        );
        let mut c = Ctx::default();
        c.vars.insert("DS_PROMETHEUS".into(), VarInfo::default());
        c.choose_primary();
        assert_eq!(c.primary, "DS_PROMETHEUS_1");
    }
}
