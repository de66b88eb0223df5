//! Small JSON helpers: paths into objects (get, set, remove with pruning), number-aware
//! equality, Grafana's lenient number reading (`validNumber`), and canonical numbers.

use serde_json::{Map, Value};

/// One step of a path: an object key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg {
    K(&'static str),
    I(usize),
}

/// A path from a JSON object to a leaf.
pub(crate) type Path = &'static [Seg];

pub(crate) fn get<'a>(obj: &'a Map<String, Value>, path: &[Seg]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let Seg::K(key) = first else { return None };
    let mut cur = obj.get(*key)?;
    for seg in rest {
        cur = match seg {
            Seg::K(k) => cur.as_object()?.get(*k)?,
            Seg::I(i) => cur.as_array()?.get(*i)?,
        };
    }
    Some(cur)
}

/// Whether nothing is at `path`: the leaf is missing and every container on the way is of the
/// right kind (a string where an object is needed is something, not nothing).
pub(crate) fn absent(obj: &Map<String, Value>, path: &[Seg]) -> bool {
    let Some((Seg::K(first), rest)) = path.split_first() else {
        return true;
    };
    let mut cur = match obj.get(*first) {
        None => return true,
        Some(v) => v,
    };
    for seg in rest {
        cur = match (seg, cur) {
            (Seg::K(k), Value::Object(m)) => match m.get(*k) {
                None => return true,
                Some(v) => v,
            },
            (Seg::I(i), Value::Array(a)) => match a.get(*i) {
                None => return true,
                Some(v) => v,
            },
            _ => return false,
        };
    }
    false
}

/// Sets the leaf at `path`, creating objects (and array slots, filled with empty objects) on
/// the way; a container of the wrong type on the way is replaced.
pub(crate) fn set(obj: &mut Map<String, Value>, path: &[Seg], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Seg::K(key) = first else { return };
    if rest.is_empty() {
        obj.insert((*key).to_string(), value);
        return;
    }
    let slot = obj.entry((*key).to_string()).or_insert(Value::Null);
    set_in(slot, rest, value);
}

fn set_in(slot: &mut Value, path: &[Seg], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *slot = value;
        return;
    };
    match first {
        Seg::K(k) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(m) = slot {
                let next = m.entry((*k).to_string()).or_insert(Value::Null);
                set_in(next, rest, value);
            }
        }
        Seg::I(i) => {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(a) = slot {
                while a.len() <= *i {
                    a.push(Value::Object(Map::new()));
                }
                if let Some(next) = a.get_mut(*i) {
                    set_in(next, rest, value);
                }
            }
        }
    }
}

/// Removes the leaf at `path`; containers that become empty by it are removed too (an array
/// element only when it is the last one).
pub(crate) fn remove(obj: &mut Map<String, Value>, path: &[Seg]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Seg::K(key) = first else { return };
    if rest.is_empty() {
        obj.remove(*key);
        return;
    }
    let emptied = match obj.get_mut(*key) {
        Some(v) => remove_in(v, rest),
        None => false,
    };
    if emptied {
        obj.remove(*key);
    }
}

/// Returns whether `slot` was non-empty and became empty.
fn remove_in(slot: &mut Value, path: &[Seg]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match (first, slot) {
        (Seg::K(k), Value::Object(m)) => {
            if !m.contains_key(*k) {
                return false;
            }
            if rest.is_empty() {
                m.remove(*k);
            } else {
                let emptied = m.get_mut(*k).is_some_and(|v| remove_in(v, rest));
                if emptied {
                    m.remove(*k);
                }
            }
            m.is_empty()
        }
        (Seg::I(i), Value::Array(a)) => {
            if *i >= a.len() {
                return false;
            }
            if rest.is_empty() {
                // Only a trailing element can go without shifting the others.
                if *i + 1 == a.len() {
                    a.pop();
                } else if let Some(v) = a.get_mut(*i) {
                    *v = Value::Null;
                }
            } else {
                let emptied = a.get_mut(*i).is_some_and(|v| remove_in(v, rest));
                if emptied && *i + 1 == a.len() {
                    a.pop();
                }
            }
            a.is_empty()
        }
        _ => false,
    }
}

/// Removes empty objects and arrays on the way to `path` (and the containers they leave
/// empty): an empty container where Lookout writes a modelled value says nothing more than its
/// absence.
pub(crate) fn prune_empty(obj: &mut Map<String, Value>, path: &[Seg]) {
    for len in (1..path.len()).rev() {
        let Some(prefix) = path.get(..len) else {
            continue;
        };
        let empty = match get(obj, prefix) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty && !matches!(prefix.last(), Some(Seg::I(_))) {
            remove(obj, prefix);
        }
    }
}

/// JSON equality where numbers compare by value (`80` equals `80.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return x == y;
            }
            x.as_f64() == y.as_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

pub(crate) fn opt_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => json_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// A number as Grafana writes it: integral values without a fraction; NaN and infinities
/// (which JSON cannot carry) as `null`.
pub(crate) fn num(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else if f.is_finite() {
        Value::from(f)
    } else {
        Value::Null
    }
}

/// Grafana's `validNumber` (`public/app/plugins/panel/timeseries/migrations.ts`): a number, or
/// a string that is one (`"0"`, `" 1e3 "`). Unlike JavaScript's `Number("")`, an empty or blank
/// string is no number (the graph panel drew it as "auto").
pub(crate) fn lenient_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else {
                t.parse::<f64>().ok().filter(|f| f.is_finite())
            }
        }
        _ => None,
    }
}

/// JavaScript truthiness of a JSON value.
pub(crate) fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
    }
}

/// A string field, or `None` when absent or not a string.
pub(crate) fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// What a JSON value is, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The depth of the deepest container, computed without recursion (so a value built in memory
/// deeper than serde_json's parser allows is refused before anything recurses into it).
pub(crate) fn depth_exceeds(v: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(m) => Box::new(m.values()),
            _ => continue,
        };
        if d > max {
            return true;
        }
        for c in children {
            stack.push((c, d + 1));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const YF: Path = &[Seg::K("yaxes"), Seg::I(0), Seg::K("format")];
    const DU: Path = &[Seg::K("fieldConfig"), Seg::K("defaults"), Seg::K("unit")];

    #[test]
    fn set_get_remove_prune() {
        let mut m = Map::new();
        set(&mut m, DU, json!("bytes"));
        set(&mut m, YF, json!("s"));
        assert_eq!(get(&m, DU), Some(&json!("bytes")));
        assert_eq!(get(&m, YF), Some(&json!("s")));
        remove(&mut m, DU);
        remove(&mut m, YF);
        assert!(m.is_empty(), "{m:?}");
        // Containers that held something else stay.
        let mut m = json!({"fieldConfig": {"defaults": {"unit": "s", "min": 0}, "overrides": []}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        remove(&mut m, DU);
        assert_eq!(
            Value::Object(m),
            json!({"fieldConfig": {"defaults": {"min": 0}, "overrides": []}})
        );
        // A wrong-typed container is replaced by set and left alone by remove.
        let mut m = json!({"fieldConfig": 3})
            .as_object()
            .cloned()
            .unwrap_or_default();
        remove(&mut m, DU);
        assert_eq!(m.get("fieldConfig"), Some(&json!(3)));
        set(&mut m, DU, json!("s"));
        assert_eq!(get(&m, DU), Some(&json!("s")));
    }

    #[test]
    fn numbers() {
        assert!(json_eq(&json!(80), &json!(80.0)));
        assert!(!json_eq(&json!(80), &json!("80")));
        assert_eq!(num(80.0), json!(80));
        assert_eq!(num(0.5), json!(0.5));
        assert_eq!(num(f64::NAN), Value::Null);
        assert_eq!(lenient_f64(&json!("0")), Some(0.0));
        assert_eq!(lenient_f64(&json!("")), None);
        assert_eq!(lenient_f64(&json!("x")), None);
        assert!(truthy(Some(&json!("a"))) && !truthy(Some(&json!(0))));
    }

    #[test]
    fn depth() {
        let mut v = json!(1);
        for _ in 0..200 {
            v = json!([v]);
        }
        assert!(depth_exceeds(&v, 128));
        assert!(!depth_exceeds(&json!({"a": [1, {"b": 2}]}), 128));
    }
}
