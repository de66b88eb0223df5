//! The evaluator: Prometheus 2.42 float semantics over a [`Storage`].
//!
//! Every node is evaluated at one timestamp at a time (an instant query is one step, a range
//! query one evaluation per step); selector matches and subquery steps are memoised per
//! query, so a range query does not redo them. Limits (samples touched, series, steps, a
//! time budget) turn runaway queries into errors.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{
    self, AggregateExpr, AtModifier, BinaryExpr, Expr, LabelModifier, Offset, SubqueryExpr,
    VectorMatchCardinality, VectorSelector,
};
use web_time::{Duration, Instant};

use crate::functions;
use crate::labels::{Labels, METRIC_NAME};
use crate::store::{Storage, is_stale};
use crate::value::{Sample, Series, Value};

/// Per-query limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Samples read from the store (or produced by subqueries) in one query.
    pub max_samples: usize,
    /// Series one selector may match.
    pub max_series: usize,
    /// Steps of a range query (Prometheus: 11,000).
    pub max_steps: usize,
    /// Wall-time budget.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_samples: 50_000_000,
            max_series: 100_000,
            max_steps: 11_000,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// `position` is a byte offset into the query where it is known.
    #[error("parse error{}: {message}", position.map(|p| format!(" at char {}", p + 1)).unwrap_or_default())]
    Parse {
        message: String,
        position: Option<usize>,
    },
    #[error("{0}")]
    Eval(String),
    #[error("{0}")]
    Limit(String),
    #[error("query timed out in expression evaluation")]
    Timeout,
}

impl QueryError {
    /// The HTTP API's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::Parse { .. } => "bad_data",
            QueryError::Eval(_) => "execution",
            QueryError::Limit(_) => "execution",
            QueryError::Timeout => "timeout",
        }
    }
}

pub(crate) fn eval_err<T>(msg: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError::Eval(msg.into()))
}

/// A range-vector argument with what `rate` & co. need to extrapolate.
#[derive(Debug, Clone)]
pub struct RangeArg {
    pub series: Vec<Series>,
    /// Each series' labels without `__name__`, in the same order.
    pub dropped: Vec<Labels>,
    pub range_ms: i64,
    /// End of the window (evaluation time, or `@`, minus `offset`).
    pub end_ms: i64,
}

/// An evaluated node.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Scalar(f64),
    Str(String),
    Vector(Vec<Sample>),
    Range(RangeArg),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Range(_) => "range vector",
        }
    }
}

/// Functions of Prometheus 2.42 that promql-parser (which tracks 3.x) no longer knows.
fn register_2_42_functions() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use parser::value::ValueType;
        let _ = parser::register_extra_functions(vec![parser::Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        )]);
    });
}

/// Parses a query; errors carry the position where the parser or lexer knows it.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    register_2_42_functions();
    parser::parse(query).map_err(|message| {
        let position = error_position(query);
        QueryError::Parse { message, position }
    })
}

/// promql-parser reports grammar errors without a position; find one for the editor: where
/// the lexer stops, else where the longest parseable prefix ends (the next token is the
/// unexpected one), else the end when only closing brackets are missing.
fn error_position(query: &str) -> Option<usize> {
    if query.len() > 4096 {
        return None; // the search below is quadratic; editors send short queries
    }
    for closers in [")", "]", "}", "])", ")]", "))", ")))"] {
        if parser::parse(&format!("{query}{closers}")).is_ok() {
            return Some(query.len());
        }
    }
    if parser::lexer(query).is_err() {
        // The longest prefix that still lexes ends where the bad token starts.
        let longest = query
            .char_indices()
            .map(|(i, _)| i)
            .filter(|&i| i > 0 && parser::lexer(&query[..i]).is_ok())
            .max()
            .unwrap_or(0);
        return Some(longest);
    }
    let boundaries: Vec<usize> = query
        .char_indices()
        .filter(|&(i, c)| i > 0 && (c.is_whitespace() || "(){}[],".contains(c)))
        .map(|(i, _)| i)
        .collect();
    let longest = boundaries
        .iter()
        .rev()
        .find(|&&i| parser::parse(&query[..i]).is_ok())?;
    let rest = &query[*longest..];
    Some(*longest + (rest.len() - rest.trim_start().len()))
}

/// The engine: limits and Prometheus' defaults (5 m lookback, 1 m subquery step).
#[derive(Debug, Clone)]
pub struct Engine {
    pub limits: Limits,
    pub lookback_ms: i64,
    pub default_subquery_step_ms: i64,
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            lookback_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
        }
    }
}

impl Engine {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// `/api/v1/query`: the value of `query` at `t_ms`.
    pub fn instant_query(
        &self,
        storage: &Storage,
        query: &str,
        t_ms: i64,
    ) -> Result<Value, QueryError> {
        let expr = parse(query)?;
        self.instant(storage, &expr, t_ms)
    }

    pub fn instant(&self, storage: &Storage, expr: &Expr, t_ms: i64) -> Result<Value, QueryError> {
        let ctx = Ctx::new(self, storage, t_ms, t_ms);
        ctx.batch_range_functions(expr, t_ms, t_ms, 1)?;
        let v = ctx.eval(expr, t_ms)?;
        Ok(match v {
            Val::Scalar(v) => Value::Scalar { t: t_ms, v },
            Val::Str(v) => Value::String { t: t_ms, v },
            Val::Vector(s) => {
                check_unique(&s)?;
                Value::Vector(
                    s.into_iter()
                        .map(|s| Sample {
                            labels: s.labels,
                            t: t_ms,
                            v: s.v,
                        })
                        .collect(),
                )
            }
            Val::Range(r) => Value::Matrix(r.series),
        })
    }

    /// `/api/v1/query_range`: one evaluation per step from `start` to `end` (inclusive).
    pub fn range_query(
        &self,
        storage: &Storage,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        let expr = parse(query)?;
        self.range(storage, &expr, start, end, step)
    }

    pub fn range(
        &self,
        storage: &Storage,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        if step <= 0 {
            return Err(QueryError::Eval(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return eval_err("end timestamp must not be before start time");
        }
        let steps = ((end - start) / step) as usize + 1;
        if steps > self.limits.max_steps {
            return Err(QueryError::Limit(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                self.limits.max_steps
            )));
        }
        let kind = expr_kind(expr);
        if kind == "range vector" || kind == "string" {
            return eval_err(format!(
                "invalid expression type \"{kind}\" for range query, must be Scalar or instant Vector"
            ));
        }
        let ctx = Ctx::new(self, storage, start, end);
        ctx.batch_range_functions(expr, start, end, step)?;
        let mut out = Collector::default();
        let mut t = start;
        while t <= end {
            match ctx.eval(expr, t)? {
                Val::Scalar(v) => out.push(Labels::default(), t, v)?,
                Val::Vector(samples) => {
                    for s in samples {
                        out.push(s.labels, t, s.v)?;
                    }
                }
                other => {
                    return eval_err(format!(
                        "invalid expression type \"{}\" for range query",
                        other.kind()
                    ));
                }
            }
            t += step;
        }
        let mut series = out.series;
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(series))
    }
}

/// Gathers (labels, t, v) into series, in first-seen order. Label sets shared between steps
/// (the same `Arc`) are found by address before falling back to hashing their content; the
/// registered label sets are kept alive, so an address is never reused.
#[derive(Default)]
struct Collector {
    by_ptr: HashMap<usize, usize>,
    by_content: HashMap<Labels, usize>,
    series: Vec<Series>,
    keep_alive: Vec<Labels>,
}

impl Collector {
    /// Adds a point; `Err` when the series already has one at `t` (a duplicate label set).
    fn push(&mut self, labels: Labels, t: i64, v: f64) -> Result<(), QueryError> {
        let ptr = labels.ptr();
        let idx = match self.by_ptr.get(&ptr) {
            Some(&i) => i,
            None => {
                let i = match self.by_content.get(&labels) {
                    Some(&i) => i,
                    None => {
                        self.by_content.insert(labels.clone(), self.series.len());
                        self.series.push(Series {
                            labels: labels.clone(),
                            points: Vec::new(),
                        });
                        self.series.len() - 1
                    }
                };
                // Fresh label sets every step (aggregation results) would only grow this.
                if self.by_ptr.len() < 4 * self.series.len() + 1024 {
                    self.by_ptr.insert(ptr, i);
                    self.keep_alive.push(labels);
                }
                i
            }
        };
        let points = &mut self.series[idx].points;
        if points.last().is_some_and(|p| p.0 == t) {
            return eval_err(SAME_LABELSET);
        }
        points.push((t, v));
        Ok(())
    }
}

/// Prometheus: "vector cannot contain metrics with the same labelset".
pub(crate) fn check_unique(samples: &[Sample]) -> Result<(), QueryError> {
    if samples.len() < 2 {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::with_capacity(samples.len());
    for s in samples {
        if !seen.insert(&s.labels) {
            return eval_err(SAME_LABELSET);
        }
    }
    Ok(())
}

/// The static type of an expression, as Prometheus names it.
pub fn expr_kind(expr: &Expr) -> &'static str {
    match expr {
        Expr::NumberLiteral(_) => "scalar",
        Expr::StringLiteral(_) => "string",
        Expr::VectorSelector(_) | Expr::Aggregate(_) => "instant vector",
        Expr::MatrixSelector(_) | Expr::Subquery(_) => "range vector",
        Expr::Paren(p) => expr_kind(&p.expr),
        Expr::Unary(u) => expr_kind(&u.expr),
        Expr::Binary(b) => {
            if expr_kind(&b.lhs) == "scalar" && expr_kind(&b.rhs) == "scalar" {
                "scalar"
            } else {
                "instant vector"
            }
        }
        Expr::Call(c) => match c.func.return_type {
            parser::value::ValueType::Scalar => "scalar",
            parser::value::ValueType::String => "string",
            parser::value::ValueType::Matrix => "range vector",
            _ => "instant vector",
        },
        Expr::Extension(_) => "instant vector",
    }
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

/// Inner results of subqueries, by (node, step time): range queries reuse them.
type SubqueryCache = HashMap<(usize, i64), Rc<Vec<Sample>>>;

/// Per node: each output label set and the input series it came from.
type Origins = HashMap<usize, HashMap<Labels, Labels>>;

const SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

pub(crate) struct Ctx<'a> {
    engine: &'a Engine,
    storage: &'a Storage,
    start: i64,
    end: i64,
    samples: Cell<usize>,
    deadline: Instant,
    checks: Cell<u32>,
    selections: RefCell<HashMap<usize, Rc<Vec<usize>>>>,
    subqueries: RefCell<SubqueryCache>,
    /// Range-vector function calls computed for every step of a range query at once.
    batched: RefCell<SubqueryCache>,
    /// Unary minus and range-vector function calls: Prometheus evaluates them over the whole
    /// query range at once and rejects the resulting *matrix* when two input series end up
    /// with one label set (names dropped), even if they never share a step.
    origins: RefCell<Origins>,
}

impl<'a> Ctx<'a> {
    fn new(engine: &'a Engine, storage: &'a Storage, start: i64, end: i64) -> Self {
        Self {
            engine,
            storage,
            start,
            end,
            samples: Cell::new(0),
            deadline: Instant::now() + engine.limits.timeout,
            checks: Cell::new(0),
            selections: RefCell::new(HashMap::new()),
            subqueries: RefCell::new(HashMap::new()),
            batched: RefCell::new(HashMap::new()),
            origins: RefCell::new(HashMap::new()),
        }
    }

    /// Records `(output labels, input series)` pairs of the matrix-valued node `node`; two
    /// different inputs with one output label set, at any steps, are Prometheus' "vector
    /// cannot contain metrics with the same labelset".
    fn check_matrix<'b>(
        &self,
        node: usize,
        pairs: impl Iterator<Item = (&'b Labels, &'b Labels)>,
    ) -> Result<(), QueryError> {
        let mut origins = self.origins.borrow_mut();
        let seen = origins.entry(node).or_default();
        for (out, src) in pairs {
            match seen.get(out) {
                Some(prev) if prev != src => return eval_err(SAME_LABELSET),
                Some(_) => {}
                None => {
                    seen.insert(out.clone(), src.clone());
                }
            }
        }
        Ok(())
    }

    fn touch(&self, n: usize) -> Result<(), QueryError> {
        let total = self.samples.get().saturating_add(n);
        self.samples.set(total);
        if total > self.engine.limits.max_samples {
            return Err(QueryError::Limit(
                "query processing would load too many samples into memory in query execution"
                    .into(),
            ));
        }
        let c = self.checks.get().wrapping_add(1);
        self.checks.set(c);
        if c.is_multiple_of(64) && Instant::now() > self.deadline {
            return Err(QueryError::Timeout);
        }
        Ok(())
    }

    /// Where a selector or subquery looks: `@` (with `start()`/`end()`) or `ts`, minus offset.
    fn ref_time(&self, at: &Option<AtModifier>, offset: &Option<Offset>, ts: i64) -> i64 {
        let base = match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            },
        };
        base - offset_ms(offset)
    }

    fn select(&self, vs: &VectorSelector) -> Result<Rc<Vec<usize>>, QueryError> {
        let key = vs as *const VectorSelector as usize;
        if let Some(hit) = self.selections.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let mut base: Vec<Matcher> = vs.matchers.matchers.clone();
        if let Some(name) = &vs.name {
            base.push(Matcher::new(MatchOp::Equal, METRIC_NAME, name));
        }
        let alternatives: Vec<Vec<Matcher>> = if vs.matchers.or_matchers.is_empty() {
            vec![base]
        } else {
            vs.matchers
                .or_matchers
                .iter()
                .map(|alt| {
                    let mut m = alt.clone();
                    if let Some(name) = &vs.name {
                        m.push(Matcher::new(MatchOp::Equal, METRIC_NAME, name));
                    }
                    m
                })
                .collect()
        };
        let found = self.storage.select(&alternatives);
        if found.len() > self.engine.limits.max_series {
            return Err(QueryError::Limit(format!(
                "a selector matched {} series, over the limit of {}",
                found.len(),
                self.engine.limits.max_series
            )));
        }
        let found = Rc::new(found);
        self.selections.borrow_mut().insert(key, found.clone());
        Ok(found)
    }

    /// Instant vector selector: each series' latest non-stale sample in
    /// `[ref - lookback, ref]`, stamped with its own time.
    fn vector_selector(&self, vs: &VectorSelector, ts: i64) -> Result<Vec<Sample>, QueryError> {
        let t = self.ref_time(&vs.at, &vs.offset, ts);
        let ids = self.select(vs)?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids.iter() {
            let s = self.storage.get(id);
            let idx = s.samples.partition_point(|&(st, _)| st <= t);
            if idx == 0 {
                continue;
            }
            let (st, v) = s.samples[idx - 1];
            if st < t - self.engine.lookback_ms || is_stale(v) {
                continue;
            }
            out.push(Sample {
                labels: s.labels.clone(),
                t: st,
                v,
            });
        }
        self.touch(out.len())?;
        Ok(out)
    }

    /// Range selector: each series' non-stale samples in `[ref - range, ref]`.
    fn matrix_selector(
        &self,
        vs: &VectorSelector,
        range_ms: i64,
        ts: i64,
    ) -> Result<RangeArg, QueryError> {
        let end = self.ref_time(&vs.at, &vs.offset, ts);
        let start = end - range_ms;
        let ids = self.select(vs)?;
        let mut series = Vec::new();
        let mut dropped = Vec::new();
        for &id in ids.iter() {
            let s = self.storage.get(id);
            let lo = s.samples.partition_point(|&(st, _)| st < start);
            let hi = s.samples.partition_point(|&(st, _)| st <= end);
            if lo >= hi {
                continue;
            }
            let points: Vec<(i64, f64)> = s.samples[lo..hi]
                .iter()
                .copied()
                .filter(|(_, v)| !is_stale(*v))
                .collect();
            self.touch(points.len())?;
            if !points.is_empty() {
                series.push(Series {
                    labels: s.labels.clone(),
                    points,
                });
                dropped.push(s.labels_no_name.clone());
            }
        }
        Ok(RangeArg {
            series,
            dropped,
            range_ms,
            end_ms: end,
        })
    }

    /// A subquery's resolution: its own, else the default (the evaluation interval).
    fn subquery_step(&self, sq: &SubqueryExpr) -> i64 {
        sq.step
            .map(|d| d.as_millis() as i64)
            .filter(|s| *s > 0)
            .unwrap_or(self.engine.default_subquery_step_ms)
    }

    fn subquery(&self, sq: &SubqueryExpr, ts: i64) -> Result<RangeArg, QueryError> {
        let range = sq.range.as_millis() as i64;
        let step = self.subquery_step(sq);
        let end = self.ref_time(&sq.at, &sq.offset, ts);
        let start = end - range;
        // First step-aligned time at or after `start` (Go's truncating division).
        let mut t = step * (start / step);
        if t < start {
            t += step;
        }
        let key = sq as *const SubqueryExpr as usize;
        let mut out = Collector::default();
        while t <= end {
            let cached = self.subqueries.borrow().get(&(key, t)).cloned();
            let samples = match cached {
                Some(s) => s,
                None => {
                    let s = match self.eval(&sq.expr, t)? {
                        Val::Vector(v) => v,
                        Val::Scalar(v) => vec![Sample {
                            labels: Labels::default(),
                            t,
                            v,
                        }],
                        other => {
                            return eval_err(format!(
                                "subquery is only allowed on instant vector, got {}",
                                other.kind()
                            ));
                        }
                    };
                    self.touch(s.len())?;
                    let s = Rc::new(s);
                    self.subqueries.borrow_mut().insert((key, t), s.clone());
                    s
                }
            };
            for s in samples.iter() {
                out.push(s.labels.clone(), t, s.v)?;
            }
            t += step;
        }
        let series = out.series;
        let dropped = series.iter().map(|s| s.labels.without_name()).collect();
        Ok(RangeArg {
            series,
            dropped,
            range_ms: range,
            end_ms: end,
        })
    }

    /// For a range query: every `f(selector[range])` call whose value depends on the window
    /// alone (`rate`, `*_over_time`, …; see `functions::kernel`) is computed for all steps in
    /// one pass per series, the window sliding forward, without copying samples. Calls inside
    /// subqueries are left to the per-step path.
    fn batch_range_functions(
        &self,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<(), QueryError> {
        match expr {
            Expr::Paren(p) => self.batch_range_functions(&p.expr, start, end, step),
            Expr::Unary(u) => self.batch_range_functions(&u.expr, start, end, step),
            Expr::Binary(b) => {
                self.batch_range_functions(&b.lhs, start, end, step)?;
                self.batch_range_functions(&b.rhs, start, end, step)
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.batch_range_functions(p, start, end, step)?;
                }
                self.batch_range_functions(&a.expr, start, end, step)
            }
            Expr::Subquery(sq) => {
                // The inner expression runs on its own step grid, aligned to absolute time,
                // covering every outer step's window.
                let range = sq.range.as_millis() as i64;
                let sstep = self.subquery_step(sq);
                let (a, b) = (
                    self.ref_time(&sq.at, &sq.offset, start),
                    self.ref_time(&sq.at, &sq.offset, end),
                );
                let (lo, hi) = (a.min(b) - range, a.max(b));
                let mut first = sstep * (lo / sstep);
                if first < lo {
                    first += sstep;
                }
                if first > hi {
                    return Ok(());
                }
                self.batch_range_functions(&sq.expr, first, hi - (hi - first) % sstep, sstep)
            }
            Expr::Call(c) => {
                if let (Some((keep_name, kernel)), [arg]) =
                    (functions::kernel(c.func.name), c.args.args.as_slice())
                    && let Expr::MatrixSelector(ms) = arg.as_ref()
                {
                    return self.batch_call(c, ms, keep_name, kernel, start, end, step);
                }
                for a in &c.args.args {
                    self.batch_range_functions(a, start, end, step)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_call(
        &self,
        c: &parser::Call,
        ms: &parser::MatrixSelector,
        keep_name: bool,
        kernel: functions::Kernel,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<(), QueryError> {
        let ids = self.select(&ms.vs)?;
        let steps = ((end - start) / step + 1) as usize;
        // Bound the memory held at once; larger queries take the per-step path.
        if steps.saturating_mul(ids.len()) > 4_000_000 {
            return Ok(());
        }
        let range = ms.range.as_millis() as i64;
        let mut outs: Vec<Vec<Sample>> = (0..steps).map(|_| Vec::new()).collect();
        let mut filtered = Vec::new();
        let node = c as *const parser::Call as usize;
        for &id in ids.iter() {
            let s = self.storage.get(id);
            let samples = &s.samples;
            let (mut lo, mut hi) = (0usize, 0usize);
            let mut produced = false;
            for (si, out) in outs.iter_mut().enumerate() {
                let t = start + si as i64 * step;
                let w_end = self.ref_time(&ms.vs.at, &ms.vs.offset, t);
                let w_start = w_end - range;
                while lo < samples.len() && samples[lo].0 < w_start {
                    lo += 1;
                }
                hi = hi.max(lo);
                while hi < samples.len() && samples[hi].0 <= w_end {
                    hi += 1;
                }
                let window = &samples[lo..hi];
                if window.is_empty() {
                    continue;
                }
                self.touch(window.len())?;
                let value = if window.iter().any(|p| is_stale(p.1)) {
                    filtered.clear();
                    filtered.extend(window.iter().copied().filter(|p| !is_stale(p.1)));
                    if filtered.is_empty() {
                        continue;
                    }
                    kernel(&filtered, range, w_end)
                } else {
                    kernel(window, range, w_end)
                };
                if let Some(v) = value {
                    produced = true;
                    out.push(Sample {
                        labels: if keep_name {
                            s.labels.clone()
                        } else {
                            s.labels_no_name.clone()
                        },
                        t,
                        v,
                    });
                }
            }
            if produced && !keep_name {
                self.check_matrix(node, std::iter::once((&s.labels_no_name, &s.labels)))?;
            }
        }
        let mut cache = self.batched.borrow_mut();
        for (si, out) in outs.into_iter().enumerate() {
            cache.insert((node, start + si as i64 * step), Rc::new(out));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, expr: &Expr, ts: i64) -> Result<Val, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.vector_selector(vs, ts)?)),
            Expr::MatrixSelector(ms) => Ok(Val::Range(self.matrix_selector(
                &ms.vs,
                ms.range.as_millis() as i64,
                ts,
            )?)),
            Expr::Subquery(sq) => Ok(Val::Range(self.subquery(sq, ts)?)),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(v) => {
                    let out: Vec<Sample> = v
                        .iter()
                        .map(|s| Sample {
                            labels: s.labels.without_name(),
                            t: s.t,
                            v: -s.v,
                        })
                        .collect();
                    // Prometheus negates the operand's whole matrix, then checks it.
                    let node = u as *const parser::UnaryExpr as usize;
                    self.check_matrix(
                        node,
                        out.iter()
                            .map(|s| &s.labels)
                            .zip(v.iter().map(|s| &s.labels)),
                    )?;
                    Ok(Val::Vector(out))
                }
                other => eval_err(format!("unary minus on {}", other.kind())),
            },
            Expr::Binary(b) => self.binary(b, ts),
            Expr::Aggregate(a) => self.aggregate(a, ts),
            Expr::Call(c) => {
                let key = (c as *const parser::Call as usize, ts);
                if let Some(hit) = self.batched.borrow_mut().remove(&key) {
                    return Ok(Val::Vector(
                        Rc::try_unwrap(hit).unwrap_or_else(|rc| (*rc).clone()),
                    ));
                }
                let mut args = Vec::with_capacity(c.args.args.len());
                for a in &c.args.args {
                    // timestamp() of a selector sees the samples' own times.
                    args.push(self.eval(a, ts)?);
                }
                let mut sources = Vec::new();
                let out = functions::call(c.func.name, &c.args.args, args, ts, &mut sources)?;
                // A range-vector argument: Prometheus' matrix path, checked as a whole
                // (absent_over_time is answered before that check; last_over_time keeps
                // names, so cannot collide).
                let name = c.func.name;
                if name != "absent_over_time"
                    && name != "last_over_time"
                    && c.args.args.iter().any(|a| {
                        matches!(
                            functions::unwrap_parens(a),
                            Expr::MatrixSelector(_) | Expr::Subquery(_)
                        )
                    })
                    && let Val::Vector(v) = &out
                {
                    let node = c as *const parser::Call as usize;
                    self.check_matrix(node, v.iter().map(|s| &s.labels).zip(sources.iter()))?;
                }
                Ok(out)
            }
            Expr::Extension(_) => eval_err("extension expressions are not supported"),
        }
    }

    fn binary(&self, b: &BinaryExpr, ts: i64) -> Result<Val, QueryError> {
        let op = b.op.to_string();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, ts)?;
        // `and`/`unless` with an empty left side: the right side cannot matter, but Prometheus
        // evaluates it anyway (errors still surface), so do the same.
        let rhs = self.eval(&b.rhs, ts)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => {
                let (v, keep) = scalar_op(&op, l, r)?;
                if is_comparison(&op) {
                    if !return_bool {
                        return eval_err("comparisons between scalars must use BOOL modifier");
                    }
                    return Ok(Val::Scalar(if keep { 1.0 } else { 0.0 }));
                }
                Ok(Val::Scalar(v))
            }
            (Val::Vector(v), Val::Scalar(s)) => {
                Ok(Val::Vector(vector_scalar(&op, v, s, false, return_bool)?))
            }
            (Val::Scalar(s), Val::Vector(v)) => {
                Ok(Val::Vector(vector_scalar(&op, v, s, true, return_bool)?))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let card = b
                    .modifier
                    .as_ref()
                    .map(|m| m.card.clone())
                    .unwrap_or(VectorMatchCardinality::OneToOne);
                let matching = b.modifier.as_ref().and_then(|m| m.matching.clone());
                match op.as_str() {
                    "and" | "or" | "unless" => Ok(Val::Vector(set_op(&op, l, r, &matching))),
                    _ => Ok(Val::Vector(vector_vector(
                        &op,
                        l,
                        r,
                        &card,
                        &matching,
                        return_bool,
                    )?)),
                }
            }
            (l, r) => eval_err(format!(
                "binary expression must contain only scalar and instant vector types, got {} {op} {}",
                l.kind(),
                r.kind()
            )),
        }
    }

    fn aggregate(&self, a: &AggregateExpr, ts: i64) -> Result<Val, QueryError> {
        let op = a.op.to_string();
        let param = match &a.param {
            Some(p) => Some(self.eval(p, ts)?),
            None => None,
        };
        let input = match self.eval(&a.expr, ts)? {
            Val::Vector(v) => v,
            other => {
                return eval_err(format!(
                    "expected type instant vector in aggregation expression, got {}",
                    other.kind()
                ));
            }
        };
        crate::aggregate::aggregate(&op, param, input, &a.modifier).map(Val::Vector)
    }
}

/// Arithmetic drops the metric name; comparisons (without `bool`) and `atan2` keep it, as in
/// Prometheus 2.42.
fn drops_name(op: &str) -> bool {
    matches!(op, "+" | "-" | "*" | "/" | "%" | "^")
}

pub(crate) fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

/// `(value, keep)` of `l op r`: arithmetic keeps always; comparisons keep when true, with
/// the left value.
pub(crate) fn scalar_op(op: &str, l: f64, r: f64) -> Result<(f64, bool), QueryError> {
    Ok(match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "%" => (l % r, true),
        "^" => (l.powf(r), true),
        "atan2" => (l.atan2(r), true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        other => return eval_err(format!("operator {other:?} not allowed here")),
    })
}

fn vector_scalar(
    op: &str,
    v: Vec<Sample>,
    s: f64,
    scalar_left: bool,
    return_bool: bool,
) -> Result<Vec<Sample>, QueryError> {
    if matches!(op, "and" | "or" | "unless") {
        return eval_err(format!(
            "set operator {op:?} not allowed in binary scalar expression"
        ));
    }
    let comparison = is_comparison(op);
    let renames = (drops_name(op) || return_bool) && v.iter().any(|x| x.labels.name().is_some());
    let mut out = Vec::with_capacity(v.len());
    for x in v {
        let (l, r) = if scalar_left { (s, x.v) } else { (x.v, s) };
        let (mut value, keep) = scalar_op(op, l, r)?;
        if comparison && scalar_left {
            value = r; // the vector's value is kept, even on the right
        }
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let labels = if drops_name(op) || return_bool {
            x.labels.without_name()
        } else {
            x.labels
        };
        out.push(Sample {
            labels,
            t: x.t,
            v: value,
        });
    }
    if renames {
        check_unique(&out)?;
    }
    Ok(out)
}

/// The labels two sides are matched on.
fn signature(l: &Labels, matching: &Option<LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => l.keep(&on.labels),
        Some(LabelModifier::Exclude(ign)) => l.drop(&ign.labels).without_name(),
        None => l.without_name(),
    }
}

fn set_op(
    op: &str,
    l: Vec<Sample>,
    r: Vec<Sample>,
    matching: &Option<LabelModifier>,
) -> Vec<Sample> {
    let rsigs: std::collections::HashSet<Labels> =
        r.iter().map(|s| signature(&s.labels, matching)).collect();
    match op {
        "and" => l
            .into_iter()
            .filter(|s| rsigs.contains(&signature(&s.labels, matching)))
            .collect(),
        "unless" => l
            .into_iter()
            .filter(|s| !rsigs.contains(&signature(&s.labels, matching)))
            .collect(),
        _ => {
            let lsigs: std::collections::HashSet<Labels> =
                l.iter().map(|s| signature(&s.labels, matching)).collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|s| !lsigs.contains(&signature(&s.labels, matching))),
            );
            out
        }
    }
}

fn vector_vector(
    op: &str,
    l: Vec<Sample>,
    r: Vec<Sample>,
    card: &VectorMatchCardinality,
    matching: &Option<LabelModifier>,
    return_bool: bool,
) -> Result<Vec<Sample>, QueryError> {
    if l.is_empty() || r.is_empty() {
        return Ok(Vec::new()); // Prometheus short-circuits before looking for duplicates.
    }
    // group_right swaps the sides so the "many" side is always on the left.
    let (many, one, swapped, include) = match card {
        VectorMatchCardinality::OneToMany(inc) => (r, l, true, inc.labels.clone()),
        VectorMatchCardinality::ManyToOne(inc) => (l, r, false, inc.labels.clone()),
        _ => (l, r, false, Vec::new()),
    };
    let one_to_one = matches!(
        card,
        VectorMatchCardinality::OneToOne | VectorMatchCardinality::ManyToMany
    );
    let mut right: HashMap<Labels, &Sample> = HashMap::with_capacity(one.len());
    for s in &one {
        let sig = signature(&s.labels, matching);
        if let Some(prev) = right.insert(sig.clone(), s) {
            let side = if swapped { "left" } else { "right" };
            return eval_err(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                go_labels(&sig),
                go_labels(&s.labels),
                go_labels(&prev.labels)
            ));
        }
    }
    let mut matched_one_to_one = std::collections::HashSet::new();
    let mut out = Vec::new();
    // Many-to-one: the result label sets seen per match group.
    let mut seen_out: HashMap<Labels, std::collections::HashSet<Labels>> = HashMap::new();
    for ls in many {
        let sig = signature(&ls.labels, matching);
        let Some(rs) = right.get(&sig) else { continue };
        let (lv, rv) = if swapped { (rs.v, ls.v) } else { (ls.v, rs.v) };
        let (mut value, keep) = scalar_op(op, lv, rv)?;
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        if one_to_one && !matched_one_to_one.insert(sig.clone()) {
            return eval_err(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
            );
        }
        // Result labels.
        let mut labels = if drops_name(op) || return_bool {
            ls.labels.without_name()
        } else {
            ls.labels.clone()
        };
        if one_to_one {
            labels = match matching {
                Some(LabelModifier::Include(on)) => labels.keep(&on.labels),
                Some(LabelModifier::Exclude(ign)) => labels.drop(&ign.labels),
                None => labels,
            };
        }
        for name in &include {
            match rs.labels.get(name) {
                Some(v) => labels.set(name, v),
                None => labels.remove(name),
            }
        }
        if !one_to_one && !seen_out.entry(sig).or_default().insert(labels.clone()) {
            return eval_err(
                "multiple matches for labels: grouping labels must ensure unique matches",
            );
        }
        out.push(Sample {
            labels,
            t: ls.t,
            v: value,
        });
    }
    // Results of different match groups can still collide once names are dropped
    // (`on(__name__)`); Prometheus' per-step check catches that.
    if drops_name(op) || return_bool {
        check_unique(&out)?;
    }
    Ok(out)
}

/// Go's `labels.Labels.String()`: `{__name__="up", job="a"}`.
fn go_labels(l: &Labels) -> String {
    let pairs: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Labels;

    fn storage(series: usize, points: i64) -> Storage {
        let mut s = Storage::new();
        for i in 0..series {
            let l = Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]);
            for t in 0..points {
                s.append(&l, t * 15_000, t as f64).expect("append");
            }
        }
        s
    }

    #[test]
    fn limits_are_errors_not_hangs() {
        let s = storage(50, 240);
        let tight = |f: fn(&mut Limits)| {
            let mut l = Limits::default();
            f(&mut l);
            Engine::new(l)
        };
        let e = tight(|l| l.max_samples = 1_000);
        assert!(matches!(
            e.instant_query(&s, "sum(rate(m[1h]))", 3_600_000),
            Err(QueryError::Limit(_))
        ));
        let e = tight(|l| l.max_series = 10);
        assert!(matches!(
            e.instant_query(&s, "m", 0),
            Err(QueryError::Limit(_))
        ));
        let e = tight(|l| l.max_steps = 100);
        assert!(matches!(
            e.range_query(&s, "m", 0, 3_600_000, 15_000),
            Err(QueryError::Limit(_))
        ));
        let e = tight(|l| l.timeout = Duration::ZERO);
        assert!(matches!(
            e.range_query(
                &s,
                "max_over_time(rate(m[5m])[30m:15s])",
                0,
                3_600_000,
                15_000
            ),
            Err(QueryError::Timeout)
        ));
        assert!(Engine::default().range_query(&s, "m", 0, 1000, 0).is_err());
        assert!(
            Engine::default()
                .range_query(&s, "m[5m]", 0, 1000, 10)
                .is_err()
        );
    }

    /// Series `name{x="1"}` with `(seconds, value)` samples.
    fn load(s: &mut Storage, name: &str, points: &[(i64, f64)]) {
        let l = Labels::from_pairs(&[("__name__", name), ("x", "1")]);
        for &(t, v) in points {
            s.append(&l, t * 1000, v).expect("append");
        }
    }

    fn is_same_labelset_error<T: std::fmt::Debug>(r: Result<T, QueryError>) -> bool {
        matches!(r, Err(QueryError::Eval(ref m)) if m == SAME_LABELSET)
    }

    #[test]
    fn matrix_nodes_reject_name_collisions_across_steps() {
        // p has samples only up to 2m, q only from 2m30s: no step sees both.
        let mut s = Storage::new();
        load(
            &mut s,
            "p",
            &[(0, 0.0), (30, 1.0), (60, 2.0), (90, 3.0), (120, 4.0)],
        );
        load(&mut s, "q", &[(150, 5.0), (180, 6.0), (210, 7.0)]);
        let e = Engine::default();
        // Instant: one step, one series with a rate.
        let v = e.instant_query(&s, r#"rate({__name__=~"p|q"}[1m])"#, 180_000);
        assert!(
            matches!(v, Ok(Value::Vector(ref v)) if v.len() == 1),
            "{v:?}"
        );
        // Range: Prometheus checks the matrix of the call as a whole (verified against 2.42).
        let q = r#"rate({__name__=~"p|q"}[1m])"#;
        assert!(is_same_labelset_error(
            e.range_query(&s, q, 120_000, 180_000, 60_000)
        ));
        let q = r#"sum(rate({__name__=~"p|q"}[1m]))"#;
        assert!(is_same_labelset_error(
            e.range_query(&s, q, 120_000, 180_000, 60_000)
        ));

        // Unary minus negates its operand's whole matrix, then checks it.
        let mut s = Storage::new();
        load(&mut s, "u", &[(0, 1.0), (60, 2.0)]);
        load(&mut s, "v", &[(420, 3.0), (480, 4.0)]);
        let q = r#"-{__name__=~"u|v"}"#;
        assert!(
            matches!(e.instant_query(&s, q, 420_000), Ok(Value::Vector(ref v)) if v.len() == 1)
        );
        assert!(is_same_labelset_error(
            e.range_query(&s, q, 360_000, 420_000, 60_000)
        ));
        // A per-step function merges the two into one series instead.
        let q = r#"abs({__name__=~"u|v"})"#;
        let m = e.range_query(&s, q, 360_000, 420_000, 60_000);
        assert!(matches!(m, Ok(Value::Matrix(ref m)) if m.len() == 1 && m[0].points.len() == 2));
    }

    #[test]
    fn go_float_details() {
        let mut s = Storage::new();
        load(&mut s, "z", &[(0, 3.0)]);
        load(&mut s, "y", &[(0, 1.0)]);
        let e = Engine::default();
        let one = |q: &str| match e.instant_query(&s, q, 0) {
            Ok(Value::Vector(v)) if v.len() == 1 => crate::value::format_value(v[0].v),
            other => panic!("{q}: {other:?}"),
        };
        // math.Max(+0, -0) = +0, math.Min(-0, +0) = -0 (as Prometheus' JSON shows them).
        assert_eq!(one("clamp(-0 * z, 0, 1)"), "0");
        assert_eq!(one("-0 * z"), "-0");
        assert_eq!(one("clamp_min(-0 * z, 0)"), "0");
        assert_eq!(one("clamp_max(0 * z, -0)"), "-0");
        // math.Log2 (Log(frac)/Ln2 + exp), not libm's log2: 2.42 answers -1.736965594166206.
        assert_eq!(one("log2(z / 10)"), "-1.736965594166206");
        // Error messages as Go formats them.
        let err = |q: &str| match e.instant_query(&s, q, 0) {
            Err(QueryError::Eval(m)) => m,
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(err("topk(1e19, z)"), "Scalar value 1e+19 overflows int64");
        assert_eq!(
            err("holt_winters(z[1m], Inf, 0.5)"),
            "invalid smoothing factor. Expected: 0 < sf < 1, got: +Inf"
        );
        assert_eq!(
            err(r#"vector(1) + {__name__=~"y|z"}"#),
            r#"found duplicate series for the match group {x="1"} on the right hand-side of the operation: [{__name__="z", x="1"}, {__name__="y", x="1"}];many-to-many matching not allowed: matching labels must be unique on one side"#
        );
    }

    #[test]
    fn parse_errors_point_at_the_problem() {
        let pos = |q: &str| match parse(q) {
            Err(QueryError::Parse { position, .. }) => position,
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(pos("sum(rate(m[5m])"), Some(15), "missing closer: the end");
        assert_eq!(
            pos("m bar"),
            Some(2),
            "unexpected token after a full expression"
        );
        assert_eq!(pos("m{a=\"1\"} $"), Some(9), "lexer stops at $");
        assert!(parse("sum by (a) (rate(m[5m]))").is_ok());
    }
}
