//! Label sets: sorted by name, `__name__` included like any other label.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The metric-name label.
pub const METRIC_NAME: &str = "__name__";

type Pair = (Arc<str>, Arc<str>);

/// A label set, sorted by label name, without empty values (an empty value means "absent").
/// Cheap to clone (shared, copy-on-write): evaluation copies label sets at every step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Arc<Vec<Pair>>);

impl Labels {
    pub fn new(mut pairs: Vec<(String, String)>) -> Self {
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        Self(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::from(v)))
                .collect(),
        ))
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// Sets (or, with an empty value, removes) a label.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) if value.is_empty() => {
                Arc::make_mut(&mut self.0).remove(i);
            }
            Ok(i) => {
                if &*self.0[i].1 != value {
                    Arc::make_mut(&mut self.0)[i].1 = Arc::from(value);
                }
            }
            Err(_) if value.is_empty() => {}
            Err(i) => Arc::make_mut(&mut self.0).insert(i, (Arc::from(name), Arc::from(value))),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.set(name, "");
    }

    pub fn without_name(&self) -> Self {
        if self.name().is_none() {
            return self.clone();
        }
        Self(Arc::new(
            self.0
                .iter()
                .filter(|(k, _)| &**k != METRIC_NAME)
                .cloned()
                .collect(),
        ))
    }

    /// Identity of the shared storage (equal for clones of one label set).
    pub fn ptr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    pub fn name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Only the named labels (`on (...)`, `by (...)`).
    pub fn keep(&self, names: &[String]) -> Self {
        Self(Arc::new(
            self.0
                .iter()
                .filter(|(k, _)| names.iter().any(|n| **n == **k))
                .cloned()
                .collect(),
        ))
    }

    /// All but the named labels (`ignoring (...)`, `without (...)`).
    pub fn drop(&self, names: &[String]) -> Self {
        Self(Arc::new(
            self.0
                .iter()
                .filter(|(k, _)| !names.iter().any(|n| **n == **k))
                .cloned()
                .collect(),
        ))
    }
}

/// Prometheus' notation: `name{a="1", b="2"}`, `{a="1"}` without a name.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.name() {
            write!(f, "{n}")?;
        }
        let rest: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| &**k != METRIC_NAME)
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        if !rest.is_empty() || self.name().is_none() {
            write!(f, "{{{}}}", rest.join(", "))?;
        }
        Ok(())
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            m.serialize_entry(&**k, &**v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = std::collections::BTreeMap::<String, String>::deserialize(d)?;
        Ok(Self::new(m.into_iter().collect()))
    }
}

/// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
