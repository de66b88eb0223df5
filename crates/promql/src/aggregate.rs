//! Aggregation operators (`sum avg min max count group stddev stdvar topk bottomk quantile
//! count_values`, `by` / `without`), as Prometheus 2.42 computes them.

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;

use crate::engine::{QueryError, Val, eval_err};
use crate::golang;
use crate::labels::{Labels, is_valid_label_name};
use crate::value::{Sample, format_value};

struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: f64,
    /// topk / bottomk: a binary heap as Go's `container/heap` keeps it; quantile: all values.
    heap: Vec<Sample>,
}

/// Prometheus' `quantile`: linear interpolation between the closest ranks.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as Go's vectorByValueHeap.Less has it.
    golang::sort(values, |a, b| a.is_nan() || a < b);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = golang::max(0.0, rank.floor());
    let upper = golang::min(n - 1.0, lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Go's `container/heap` with a `less` function (for identical tie-breaking).
fn heap_up(h: &mut [Sample], mut j: usize, less: &dyn Fn(&Sample, &Sample) -> bool) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn heap_down(h: &mut [Sample], i0: usize, n: usize, less: &dyn Fn(&Sample, &Sample) -> bool) {
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && less(&h[j2], &h[j1]) {
            j = j2;
        }
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
}

fn heap_pop(h: &mut Vec<Sample>, less: &dyn Fn(&Sample, &Sample) -> bool) {
    let n = h.len() - 1;
    h.swap(0, n);
    heap_down(h, 0, n, less);
    h.pop();
}

fn heap_push(h: &mut Vec<Sample>, s: Sample, less: &dyn Fn(&Sample, &Sample) -> bool) {
    h.push(s);
    let j = h.len() - 1;
    heap_up(h, j, less);
}

/// topk's heap order: smallest on top, NaN smallest of all.
fn by_value(a: &Sample, b: &Sample) -> bool {
    a.v.is_nan() || a.v < b.v
}

/// bottomk's: largest on top, NaN largest of all.
fn by_reverse_value(a: &Sample, b: &Sample) -> bool {
    a.v.is_nan() || a.v > b.v
}

pub(crate) fn aggregate(
    op: &str,
    param: Option<Val>,
    input: Vec<Sample>,
    modifier: &Option<LabelModifier>,
) -> Result<Vec<Sample>, QueryError> {
    let (mut grouping, without) = match modifier {
        Some(LabelModifier::Include(l)) => (l.labels.clone(), false),
        Some(LabelModifier::Exclude(l)) => (l.labels.clone(), true),
        None => (Vec::new(), false),
    };
    let scalar_param = |name: &str| -> Result<f64, QueryError> {
        match &param {
            Some(Val::Scalar(v)) => Ok(*v),
            _ => eval_err(format!("expected scalar parameter for {name}")),
        }
    };
    let mut k: usize = 0;
    if op == "topk" || op == "bottomk" {
        let f = scalar_param(op)?;
        // Go's convertibleToInt64: -2^63 <= f <= the largest float64 below 2^63.
        if !(-9_223_372_036_854_775_808.0..=9_223_372_036_854_774_784.0).contains(&f) {
            return eval_err(format!("Scalar value {} overflows int64", golang::fmt_v(f)));
        }
        let ki = golang::f64_to_i64(f);
        if ki < 1 {
            return Ok(Vec::new());
        }
        k = usize::try_from(ki).unwrap_or(usize::MAX);
    }
    let q = if op == "quantile" {
        scalar_param(op)?
    } else {
        0.0
    };
    let mut value_label = String::new();
    if op == "count_values" {
        value_label = match &param {
            Some(Val::Str(s)) => s.clone(),
            _ => return eval_err("expected string parameter for count_values"),
        };
        if !is_valid_label_name(&value_label) {
            return eval_err(format!("invalid label name {value_label:?}"));
        }
        if !without {
            grouping.push(value_label.clone());
        }
    }
    let less: &dyn Fn(&Sample, &Sample) -> bool = if op == "bottomk" {
        &by_reverse_value
    } else {
        &by_value
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for mut s in input {
        if op == "count_values" {
            s.labels.set(&value_label, &format_value(s.v));
        }
        let key = if without {
            s.labels.drop(&grouping).without_name()
        } else {
            s.labels.keep(&grouping)
        };
        let Some(&gi) = index.get(&key) else {
            let mut g = Group {
                labels: key.clone(),
                value: s.v,
                mean: s.v,
                count: 1.0,
                heap: Vec::new(),
            };
            match op {
                "stddev" | "stdvar" => g.value = 0.0,
                "topk" | "bottomk" | "quantile" => g.heap.push(s),
                "group" => g.value = 1.0,
                _ => {}
            }
            index.insert(key, groups.len());
            groups.push(g);
            continue;
        };
        let g = &mut groups[gi];
        match op {
            "sum" => g.value += s.v,
            "avg" => {
                g.count += 1.0;
                if g.mean.is_infinite() {
                    if s.v.is_infinite() && (g.mean > 0.0) == (s.v > 0.0) {
                        continue;
                    }
                    if !s.v.is_infinite() && !s.v.is_nan() {
                        continue;
                    }
                }
                g.mean += s.v / g.count - g.mean / g.count;
            }
            "max" => {
                if g.value < s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            "min" => {
                if g.value > s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            "count" | "count_values" => g.count += 1.0,
            "stddev" | "stdvar" => {
                g.count += 1.0;
                let delta = s.v - g.mean;
                g.mean += delta / g.count;
                g.value += delta * (s.v - g.mean);
            }
            "topk" | "bottomk" => {
                let top = &g.heap[0];
                let replace = if op == "topk" {
                    top.v < s.v || top.v.is_nan()
                } else {
                    top.v > s.v || top.v.is_nan()
                };
                if g.heap.len() < k || replace {
                    if g.heap.len() == k {
                        if k == 1 {
                            g.heap[0] = s;
                            continue;
                        }
                        heap_pop(&mut g.heap, less);
                    }
                    heap_push(&mut g.heap, s, less);
                }
            }
            "quantile" => g.heap.push(s),
            "group" => {}
            other => return eval_err(format!("unknown aggregation {other:?}")),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let v = match op {
            "avg" => g.mean,
            "count" | "count_values" => g.count,
            "stdvar" => g.value / g.count,
            "stddev" => (g.value / g.count).sqrt(),
            "topk" | "bottomk" => {
                // Go: sort.Sort(sort.Reverse(heap)): topk descending, bottomk ascending, NaN
                // last; ties where Go's (unstable) sort leaves them.
                golang::sort(&mut g.heap, |a, b| less(b, a));
                out.extend(g.heap);
                continue;
            }
            "quantile" => {
                let mut vals: Vec<f64> = g.heap.iter().map(|s| s.v).collect();
                quantile(q, &mut vals)
            }
            _ => g.value,
        };
        out.push(Sample {
            labels: g.labels,
            t: 0,
            v,
        });
    }
    Ok(out)
}
