//! The function table: every float function of Prometheus 2.42, with its semantics
//! (extrapolation of `rate`/`increase`/`delta`, `holt_winters`, `histogram_quantile` on
//! classic buckets, label functions, date functions, …).

use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;
use regex::Regex;

use crate::aggregate::quantile;
use crate::engine::{QueryError, RangeArg, Val, check_unique, eval_err};
use crate::golang;
use crate::labels::{Labels, METRIC_NAME, is_valid_label_name};
use crate::value::{Sample, Series};

fn vector(v: Val, name: &str) -> Result<Vec<Sample>, QueryError> {
    match v {
        Val::Vector(v) => Ok(v),
        other => eval_err(format!("{name}: expected instant vector, got {other:?}")),
    }
}

fn range(v: Val, name: &str) -> Result<RangeArg, QueryError> {
    match v {
        Val::Range(r) => Ok(r),
        _ => eval_err(format!("{name}: expected range vector")),
    }
}

fn scalar(v: &Val, name: &str) -> Result<f64, QueryError> {
    match v {
        Val::Scalar(s) => Ok(*s),
        _ => eval_err(format!("{name}: expected scalar")),
    }
}

fn string(v: &Val, name: &str) -> Result<String, QueryError> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        _ => eval_err(format!("{name}: expected string")),
    }
}

pub(crate) fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

/// Applies `f` to every sample, dropping the metric name. Series that differed only by their
/// name now collide: Prometheus rejects the step ("vector cannot contain metrics with the same
/// labelset").
fn simple(v: Vec<Sample>, f: impl Fn(f64) -> f64) -> Result<Val, QueryError> {
    let named = v.iter().any(|s| s.labels.name().is_some());
    let out: Vec<Sample> = v
        .into_iter()
        .map(|s| Sample {
            labels: s.labels.without_name(),
            t: s.t,
            v: f(s.v),
        })
        .collect();
    if named {
        check_unique(&out)?;
    }
    Ok(Val::Vector(out))
}

/// Applies `f` to every series of a range vector (series with no output are dropped); the
/// metric name is dropped unless `keep_name`. Each output's input series is pushed to
/// `sources` (the engine checks the result matrix's label sets, as Prometheus does).
fn over_time(
    r: RangeArg,
    keep_name: bool,
    sources: &mut Vec<Labels>,
    f: impl Fn(&Series, &RangeArg) -> Option<f64>,
) -> Val {
    let mut out = Vec::with_capacity(r.series.len());
    for (i, s) in r.series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        if let Some(v) = f(s, &r) {
            sources.push(s.labels.clone());
            out.push(Sample {
                labels: if keep_name {
                    s.labels.clone()
                } else {
                    r.dropped
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| s.labels.without_name())
                },
                t: 0,
                v,
            });
        }
    }
    Val::Vector(out)
}

/// Kahan–Babuška compensated sum step, as Prometheus' `kahanSumInc`.
fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// `rate`, `increase`, `delta`: the sampled change extrapolated to the window's edges.
fn extrapolated_rate(
    p: &[(i64, f64)],
    range_ms: i64,
    end_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let range_start = end_ms - range_ms;
    let range_end = end_ms;
    let (first, last) = (p[0], p[p.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = 0.0;
        for &(_, v) in p {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut to_start = (first.0 - range_start) as f64 / 1e3;
    let to_end = (range_end - last.0) as f64 / 1e3;
    let sampled = (last.0 - first.0) as f64 / 1e3;
    let avg_step = sampled / (p.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg_step * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg_step / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg_step / 2.0
    };
    result *= interval / sampled;
    if is_rate {
        result /= range_ms as f64 / 1e3;
    }
    Some(result)
}

/// `irate` / `idelta`: the last two samples.
fn instant_value(p: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (prev, last) = (p[p.len() - 2], p[p.len() - 1]);
    let mut result = if is_rate && last.1 < prev.1 {
        last.1 // counter reset
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1e3;
    }
    Some(result)
}

/// Least-squares line through the points, `x` in seconds relative to `intercept_t`.
fn linear_regression(p: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = p[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in p.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

fn holt_winters(p: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let trend = |i: usize, s0: f64, s1: f64, b: f64| {
        if i == 0 {
            b
        } else {
            tf * (s1 - s0) + (1.0 - tf) * b
        }
    };
    let mut s0 = 0.0;
    let mut s1 = p[0].1;
    let mut b = p[1].1 - p[0].1;
    for (i, &(_, v)) in p.iter().enumerate().skip(1) {
        let x = sf * v;
        b = trend(i - 1, s0, s1, b);
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

/// Prometheus' `bucketQuantile` for classic buckets `(upper bound, cumulative count)`.
pub fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    golang::sort(buckets, |a, b| a.0 < b.0);
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds, then force monotonic counts.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let n = merged.len() - 1;
    // Go's bisection: with a NaN count the predicate is not monotonic.
    let b = golang::search(n, |i| merged[i].1 >= rank);
    if b == n {
        return merged[n - 1].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// Labels `absent()` gives its one sample: the selector's equality matchers.
fn absent_labels(arg: &Expr) -> Labels {
    // Prometheus unwraps parentheses around function arguments before it looks.
    let vs = match unwrap_parens(arg) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let mut labels = Labels::default();
    let mut has = std::collections::HashSet::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, MatchOp::Equal) && !has.contains(&m.name) {
            labels.set(&m.name, &m.value);
            has.insert(m.name.clone());
        } else {
            labels.remove(&m.name);
        }
    }
    labels
}

/// `absent` / `absent_over_time`: nothing when the argument has samples, else one sample of
/// value 1 with the selector's equality labels.
fn absent(present: bool, exprs: &[Box<Expr>], ts: i64) -> Val {
    if present {
        return Val::Vector(Vec::new());
    }
    let labels = exprs.first().map(|e| absent_labels(e)).unwrap_or_default();
    Val::Vector(vec![Sample {
        labels,
        t: ts,
        v: 1.0,
    }])
}

fn date_fn(args: Vec<Val>, ts: i64, f: fn(golang::Civil) -> f64) -> Result<Val, QueryError> {
    let input = match args.into_iter().next() {
        Some(Val::Vector(v)) => v,
        // Go: time.Unix(enh.Ts/1000, 0).
        _ => vec![Sample {
            labels: Labels::default(),
            t: ts,
            v: (ts / 1000) as f64,
        }],
    };
    // Go: time.Unix(int64(v), 0).UTC() -- NaN, ±Inf and out-of-range values convert to
    // math.MinInt64 and still have a (wrapped) date, never NaN.
    simple(input, |v| {
        f(golang::Civil::from_unix(golang::f64_to_i64(v)))
    })
}

fn label_replace(args: Vec<Val>) -> Result<Val, QueryError> {
    let name = "label_replace";
    let mut it = args.into_iter();
    let v = vector(it.next().unwrap_or(Val::Vector(vec![])), name)?;
    let rest: Vec<Val> = it.collect();
    if rest.len() != 4 {
        return eval_err("label_replace: expected 5 arguments");
    }
    let (dst, repl, src, re) = (
        string(&rest[0], name)?,
        string(&rest[1], name)?,
        string(&rest[2], name)?,
        string(&rest[3], name)?,
    );
    let regex = Regex::new(&format!("^(?:{re})$")).map_err(|_| {
        QueryError::Eval(format!(
            "invalid regular expression in label_replace(): {re}"
        ))
    })?;
    if !is_valid_label_name(&dst) {
        return eval_err(format!(
            "invalid destination label name in label_replace(): {dst}"
        ));
    }
    let mut out = Vec::with_capacity(v.len());
    for mut s in v {
        let src_val = s.labels.get(&src).unwrap_or("").to_string();
        if let Some(caps) = regex.captures(&src_val) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            s.labels.set(&dst, &res);
        }
        out.push(s);
    }
    check_unique(&out)?;
    Ok(Val::Vector(out))
}

fn label_join(args: Vec<Val>) -> Result<Val, QueryError> {
    let name = "label_join";
    let mut it = args.into_iter();
    let v = vector(it.next().unwrap_or(Val::Vector(vec![])), name)?;
    let rest: Vec<Val> = it.collect();
    if rest.len() < 2 {
        return eval_err("label_join: expected at least 3 arguments");
    }
    let dst = string(&rest[0], name)?;
    let sep = string(&rest[1], name)?;
    let mut srcs = Vec::new();
    for a in &rest[2..] {
        let src = string(a, name)?;
        if !is_valid_label_name(&src) {
            return eval_err(format!("invalid source label name in label_join(): {src}"));
        }
        srcs.push(src);
    }
    if !is_valid_label_name(&dst) {
        return eval_err(format!(
            "invalid destination label name in label_join(): {dst}"
        ));
    }
    let mut out = Vec::with_capacity(v.len());
    for mut s in v {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let joined = joined.join(&sep);
        s.labels.set(&dst, &joined);
        out.push(s);
    }
    check_unique(&out)?;
    Ok(Val::Vector(out))
}

/// `sort` / `sort_desc`: Go's `sort.Sort(sort.Reverse(vectorByReverseValueHeap(v)))` (resp.
/// `vectorByValueHeap`). Not stable, and NaN is "less" than anything, NaN included: the
/// order of ties and NaNs is whatever Go's pdqsort leaves, which `golang::sort` reproduces.
fn sort(v: Vec<Sample>, descending: bool) -> Val {
    let mut v = v;
    if descending {
        golang::sort(&mut v, |a, b| b.v.is_nan() || b.v < a.v);
    } else {
        golang::sort(&mut v, |a, b| b.v.is_nan() || b.v > a.v);
    }
    Val::Vector(v)
}

/// Go's `math.Frexp`.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (mut x, mut e) = (x, 0);
    if x.abs() < f64::MIN_POSITIVE {
        x *= (1u64 << 52) as f64;
        e = -52;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i32 - 1022;
    let bits = (bits & !(0x7ff << 52)) | (1022 << 52);
    (f64::from_bits(bits), e)
}

/// Go's `math.Log2`: exact for powers of two, else `Log(frac)/Ln2 + exp`.
fn go_log2(x: f64) -> f64 {
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return f64::from(exp - 1);
    }
    frac.ln() * std::f64::consts::LOG2_E + f64::from(exp)
}

/// Go's `math.Log10`: `Log2(x) * (Ln2/Ln10)`.
fn go_log10(x: f64) -> f64 {
    go_log2(x) * std::f64::consts::LOG10_2
}

/// Calls function `name` on evaluated `args` (`exprs` are the argument expressions, for
/// the functions that look at them: `absent`, `timestamp`).
///
/// Range-vector functions push each output sample's input series to `sources`.
pub(crate) fn call(
    name: &str,
    exprs: &[Box<Expr>],
    args: Vec<Val>,
    ts: i64,
    sources: &mut Vec<Labels>,
) -> Result<Val, QueryError> {
    let nargs = args.len();
    let mut it = args.into_iter();
    let mut next = || {
        it.next()
            .ok_or_else(|| QueryError::Eval(format!("{name}: missing argument")))
    };
    let math =
        |f: fn(f64) -> f64, a: Val| -> Result<Val, QueryError> { simple(vector(a, name)?, f) };
    match name {
        "abs" => math(f64::abs, next()?),
        "ceil" => math(f64::ceil, next()?),
        "floor" => math(f64::floor, next()?),
        "exp" => math(f64::exp, next()?),
        "sqrt" => math(f64::sqrt, next()?),
        "ln" => math(f64::ln, next()?),
        "log2" => math(go_log2, next()?),
        "log10" => math(go_log10, next()?),
        "sin" => math(f64::sin, next()?),
        "cos" => math(f64::cos, next()?),
        "tan" => math(f64::tan, next()?),
        "asin" => math(f64::asin, next()?),
        "acos" => math(f64::acos, next()?),
        "atan" => math(f64::atan, next()?),
        "sinh" => math(f64::sinh, next()?),
        "cosh" => math(f64::cosh, next()?),
        "tanh" => math(f64::tanh, next()?),
        "asinh" => math(f64::asinh, next()?),
        "acosh" => math(f64::acosh, next()?),
        "atanh" => math(f64::atanh, next()?),
        // Go: v * 180 / math.Pi and v * math.Pi / 180, in that order.
        "deg" => math(|v| v * 180.0 / std::f64::consts::PI, next()?),
        "rad" => math(|v| v * std::f64::consts::PI / 180.0, next()?),
        "sgn" => math(
            |v| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    v
                }
            },
            next()?,
        ),
        "round" => {
            let v = vector(next()?, name)?;
            let to = if nargs > 1 {
                scalar(&next()?, name)?
            } else {
                1.0
            };
            let inv = 1.0 / to;
            simple(v, move |x| (x * inv + 0.5).floor() / inv)
        }
        // Go's math.Max/math.Min, not Rust's f64::max/min: a NaN sample (or bound) gives NaN
        // (unless the other side is the matching infinity), and Max(+0, -0) = +0.
        "clamp" => {
            let v = vector(next()?, name)?;
            let (min, max) = (scalar(&next()?, name)?, scalar(&next()?, name)?);
            if max < min {
                return Ok(Val::Vector(Vec::new()));
            }
            simple(v, move |x| golang::max(min, golang::min(max, x)))
        }
        "clamp_max" => {
            let v = vector(next()?, name)?;
            let max = scalar(&next()?, name)?;
            simple(v, move |x| golang::min(max, x))
        }
        "clamp_min" => {
            let v = vector(next()?, name)?;
            let min = scalar(&next()?, name)?;
            simple(v, move |x| golang::max(min, x))
        }
        "time" => Ok(Val::Scalar(ts as f64 / 1e3)),
        "pi" => Ok(Val::Scalar(std::f64::consts::PI)),
        "vector" => Ok(Val::Vector(vec![Sample {
            labels: Labels::default(),
            t: ts,
            v: scalar(&next()?, name)?,
        }])),
        "scalar" => {
            let v = vector(next()?, name)?;
            Ok(Val::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }))
        }
        "timestamp" => {
            let v = vector(next()?, name)?;
            let own = exprs
                .first()
                .is_some_and(|e| matches!(unwrap_parens(e), Expr::VectorSelector(_)));
            let v = v
                .into_iter()
                .map(|s| Sample {
                    labels: s.labels,
                    t: ts,
                    v: if own { s.t } else { ts } as f64 / 1e3,
                })
                .collect();
            simple(v, |x| x)
        }
        "sort" => Ok(sort(vector(next()?, name)?, false)),
        "sort_desc" => Ok(sort(vector(next()?, name)?, true)),
        "label_replace" => label_replace(it_collect(next, nargs)?),
        "label_join" => label_join(it_collect(next, nargs)?),
        "absent" => {
            let present = !vector(next()?, name)?.is_empty();
            Ok(absent(present, exprs, ts))
        }
        "absent_over_time" => {
            let r = range(next()?, name)?;
            Ok(absent(
                r.series.iter().any(|s| !s.points.is_empty()),
                exprs,
                ts,
            ))
        }
        "histogram_quantile" => {
            let q = scalar(&next()?, name)?;
            let v = vector(next()?, name)?;
            // Buckets group by all labels but `le`, the metric name included; the result
            // drops both, so two histograms differing only by name collide (Prometheus:
            // "vector cannot contain metrics with the same labelset"). `le` is read with Go's
            // strconv.ParseFloat; unparseable ones are skipped.
            let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
            let mut index: std::collections::HashMap<Labels, usize> = Default::default();
            for s in v {
                let Some(ub) = s.labels.get("le").and_then(golang::parse_float) else {
                    continue;
                };
                let mut key = s.labels.clone();
                key.remove("le");
                match index.get(&key) {
                    Some(&i) => groups[i].1.push((ub, s.v)),
                    None => {
                        index.insert(key.clone(), groups.len());
                        groups.push((key, vec![(ub, s.v)]));
                    }
                }
            }
            let out: Vec<Sample> = groups
                .into_iter()
                .map(|(labels, mut b)| Sample {
                    labels: labels.without_name(),
                    t: ts,
                    v: bucket_quantile(q, &mut b),
                })
                .collect();
            check_unique(&out)?;
            Ok(Val::Vector(out))
        }
        "days_in_month" => date_fn(it_collect(next, nargs)?, ts, |t| {
            f64::from(t.days_in_month())
        }),
        "day_of_month" => date_fn(it_collect(next, nargs)?, ts, |t| f64::from(t.day)),
        "day_of_week" => date_fn(it_collect(next, nargs)?, ts, |t| f64::from(t.weekday)),
        "day_of_year" => date_fn(it_collect(next, nargs)?, ts, |t| f64::from(t.year_day)),
        "hour" => date_fn(it_collect(next, nargs)?, ts, |t| f64::from(t.hour)),
        "minute" => date_fn(it_collect(next, nargs)?, ts, |t| f64::from(t.minute)),
        "month" => date_fn(it_collect(next, nargs)?, ts, |t| f64::from(t.month)),
        "year" => date_fn(it_collect(next, nargs)?, ts, |t| t.year as f64),
        // Range-vector functions.
        "predict_linear" => {
            let r = range(next()?, name)?;
            let d = scalar(&next()?, name)?;
            Ok(over_time(r, false, sources, move |s, _| {
                (s.points.len() >= 2).then(|| {
                    let (slope, intercept) = linear_regression(&s.points, ts);
                    slope * d + intercept
                })
            }))
        }
        "holt_winters" => {
            let r = range(next()?, name)?;
            let sf = scalar(&next()?, name)?;
            let tf = scalar(&next()?, name)?;
            if sf <= 0.0 || sf >= 1.0 {
                return eval_err(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                    golang::fmt_f(sf)
                ));
            }
            if tf <= 0.0 || tf >= 1.0 {
                return eval_err(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                    golang::fmt_f(tf)
                ));
            }
            Ok(over_time(r, false, sources, move |s, _| {
                holt_winters(&s.points, sf, tf)
            }))
        }
        "quantile_over_time" => {
            let q = scalar(&next()?, name)?;
            let r = range(next()?, name)?;
            Ok(over_time(r, false, sources, move |s, _| {
                let mut vals: Vec<f64> = s.points.iter().map(|p| p.1).collect();
                Some(quantile(q, &mut vals))
            }))
        }
        other if kernel(other).is_some() => {
            let (keep_name, k) = kernel(other).ok_or_else(|| QueryError::Eval(other.into()))?;
            Ok(over_time(
                range(next()?, name)?,
                keep_name,
                sources,
                |s, r| k(&s.points, r.range_ms, r.end_ms),
            ))
        }
        other => eval_err(format!(
            "function {other:?} is not supported (native histograms and experimental functions are out of scope)"
        )),
    }
}

/// A range-vector function of the window's samples alone: `(points, range_ms, end_ms)`.
pub(crate) type Kernel = fn(&[(i64, f64)], i64, i64) -> Option<f64>;

fn k_rate(p: &[(i64, f64)], r: i64, e: i64) -> Option<f64> {
    extrapolated_rate(p, r, e, true, true)
}
fn k_increase(p: &[(i64, f64)], r: i64, e: i64) -> Option<f64> {
    extrapolated_rate(p, r, e, true, false)
}
fn k_delta(p: &[(i64, f64)], r: i64, e: i64) -> Option<f64> {
    extrapolated_rate(p, r, e, false, false)
}
fn k_irate(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    instant_value(p, true)
}
fn k_idelta(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    instant_value(p, false)
}
fn k_deriv(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    (p.len() >= 2).then(|| linear_regression(p, p[0].0).0)
}
fn k_resets(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    Some(p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64)
}
fn k_changes(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    Some(
        p.windows(2)
            .filter(|w| w[1].1 != w[0].1 && !(w[1].1.is_nan() && w[0].1.is_nan()))
            .count() as f64,
    )
}
fn k_avg(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0, 0.0);
    for &(_, v) in p {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_inc(v / count - mean / count, mean, c);
    }
    Some(if mean.is_infinite() { mean } else { mean + c })
}
fn k_sum(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    let (mut sum, mut c) = (0.0, 0.0);
    for &(_, v) in p {
        (sum, c) = kahan_inc(v, sum, c);
    }
    Some(if sum.is_infinite() { sum } else { sum + c })
}
fn k_count(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    Some(p.len() as f64)
}
fn k_min(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    let mut m = p.first()?.1;
    for &(_, v) in p {
        if v < m || m.is_nan() {
            m = v;
        }
    }
    Some(m)
}
fn k_max(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    let mut m = p.first()?.1;
    for &(_, v) in p {
        if v > m || m.is_nan() {
            m = v;
        }
    }
    Some(m)
}
fn k_last(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    p.last().map(|x| x.1)
}
fn k_present(_: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    Some(1.0)
}
fn variance(p: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, v) in p {
        count += 1.0;
        let delta = v - (mean + cm);
        (mean, cm) = kahan_inc(delta / count, mean, cm);
        (aux, ca) = kahan_inc(delta * (v - (mean + cm)), aux, ca);
    }
    (aux + ca) / count
}
fn k_stdvar(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    Some(variance(p))
}
fn k_stddev(p: &[(i64, f64)], _: i64, _: i64) -> Option<f64> {
    Some(variance(p).sqrt())
}

/// The range-vector functions whose value depends on the window alone, and whether they keep
/// the metric name. Both evaluation paths (per step, and batched over a range query's steps)
/// call these.
pub(crate) fn kernel(name: &str) -> Option<(bool, Kernel)> {
    Some(match name {
        "rate" => (false, k_rate),
        "increase" => (false, k_increase),
        "delta" => (false, k_delta),
        "irate" => (false, k_irate),
        "idelta" => (false, k_idelta),
        "deriv" => (false, k_deriv),
        "resets" => (false, k_resets),
        "changes" => (false, k_changes),
        "avg_over_time" => (false, k_avg),
        "sum_over_time" => (false, k_sum),
        "count_over_time" => (false, k_count),
        "min_over_time" => (false, k_min),
        "max_over_time" => (false, k_max),
        "last_over_time" => (true, k_last),
        "present_over_time" => (false, k_present),
        "stddev_over_time" => (false, k_stddev),
        "stdvar_over_time" => (false, k_stdvar),
        _ => return None,
    })
}

/// All remaining arguments (for functions with a variable count).
fn it_collect(
    mut next: impl FnMut() -> Result<Val, QueryError>,
    n: usize,
) -> Result<Vec<Val>, QueryError> {
    (0..n).map(|_| next()).collect()
}

/// Wraps a series as a one-element [`RangeArg`] (tests).
#[cfg(test)]
pub(crate) fn one_series(points: Vec<(i64, f64)>, range_ms: i64, end_ms: i64) -> RangeArg {
    RangeArg {
        series: vec![Series {
            labels: Labels::default(),
            points,
        }],
        dropped: vec![Labels::default()],
        range_ms,
        end_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_quantile_matches_prometheus_examples() {
        let mut b = vec![(0.1, 10.0), (0.5, 50.0), (f64::INFINITY, 100.0)];
        assert!((bucket_quantile(0.5, &mut b) - 0.5).abs() < 1e-12);
        let mut b = vec![(0.1, 10.0), (0.5, 50.0), (f64::INFINITY, 100.0)];
        assert_eq!(bucket_quantile(0.99, &mut b), 0.5, "in the +Inf bucket");
        let mut b = vec![(1.0, 0.0), (2.0, 0.0)];
        assert!(bucket_quantile(0.5, &mut b).is_nan(), "no +Inf bucket");
    }

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // 0, 10, …, 50 at 0 s, 60 s, …, 300 s; rate over [0, 300 s] = 50/300.
        let points: Vec<(i64, f64)> = (0..6).map(|i| (i * 60_000, i as f64 * 10.0)).collect();
        let r = one_series(points, 300_000, 300_000);
        let v =
            extrapolated_rate(&r.series[0].points, r.range_ms, r.end_ms, true, true).expect("rate");
        assert!((v - 50.0 / 300.0).abs() < 1e-12, "{v}");
    }
}
