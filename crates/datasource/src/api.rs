//! Prometheus' HTTP API (`/api/v1/…`) over an [`EmbeddedStore`]: request parameters parsed
//! as Prometheus 2.42 parses them (`time`/`start`/`end` as unix seconds or RFC 3339, `step`
//! as seconds or a duration, repeated `match[]`), answered with its JSON shapes, error types
//! and HTTP statuses. The server's routes and the page's embedded source both go through
//! the functions here, so the two answer alike.

use std::collections::BTreeSet;

use lookout_promql::value::{ApiResponse, QueryData};
use lookout_promql::{Engine, Labels, QueryError};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::Expr;
use serde_json::json;

use crate::embedded::EmbeddedStore;
use crate::{InstantQuery, RangeQuery, SeriesFilter, SourceError};

/// The most points a range query may return per series (Prometheus' limit).
pub const MAX_POINTS: i64 = 11_000;

/// An API endpoint below `/api/v1/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Query,
    QueryRange,
    Labels,
    LabelValues(String),
    Series,
    Metadata,
}

impl Endpoint {
    /// The endpoint for a path below `/api/v1/` (`query`, `label/job/values`, …).
    pub fn from_path(rest: &str) -> Option<Self> {
        match rest {
            "query" => Some(Self::Query),
            "query_range" => Some(Self::QueryRange),
            "labels" => Some(Self::Labels),
            "series" => Some(Self::Series),
            "metadata" => Some(Self::Metadata),
            other => {
                let name = other.strip_prefix("label/")?.strip_suffix("/values")?;
                (!name.is_empty() && !name.contains('/')).then(|| Self::LabelValues(name.into()))
            }
        }
    }
}

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAnswer {
    pub status: u16,
    pub body: String,
}

/// Request parameters from the query string and, for a POST, the form body (both
/// `application/x-www-form-urlencoded`), in order.
pub fn parse_params(query_string: &str, form_body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(query_string.as_bytes())
        .chain(form_urlencoded::parse(form_body))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn bad(msg: impl Into<String>) -> SourceError {
    SourceError::Query {
        error_type: "bad_data".into(),
        message: msg.into(),
        position: None,
    }
}

fn invalid_param(name: &str, e: impl std::fmt::Display) -> SourceError {
    bad(format!("invalid parameter {name:?}: {e}"))
}

/// Prometheus' `parseTime`: unix seconds (fractions to the millisecond) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
        && secs.abs() < 9.2e15
    {
        let whole = secs.trunc();
        let frac = ((secs - whole) * 1000.0).round();
        return Ok(whole as i64 * 1000 + frac as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|_| format!("cannot parse {s:?} to a valid timestamp"))
}

/// Prometheus' `parseDuration`: seconds (fractions allowed) or a duration such as `1m30s`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = secs * 1000.0;
        if ms.is_finite() && ms.abs() < 9.2e15 {
            return Ok(ms.round() as i64);
        }
        return Err(format!(
            "cannot parse {s:?} to a valid duration. It overflows int64"
        ));
    }
    lookout_promql::testlang::parse_duration(s)
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

fn time_param(params: &[(String, String)], name: &str, default: i64) -> Result<i64, SourceError> {
    match param(params, name) {
        None | Some("") => Ok(default),
        Some(v) => parse_time(v).map_err(|e| invalid_param(name, e)),
    }
}

fn query_error(e: QueryError) -> SourceError {
    let position = match &e {
        QueryError::Parse { position, .. } => *position,
        _ => None,
    };
    let message = match &e {
        QueryError::Parse { .. } => format!("invalid parameter \"query\": {e}"),
        _ => e.to_string(),
    };
    SourceError::Query {
        error_type: e.error_type().into(),
        message,
        position,
    }
}

/// The value of an instant query.
pub fn instant(
    engine: &Engine,
    store: &EmbeddedStore,
    q: &InstantQuery,
) -> Result<QueryData, SourceError> {
    engine
        .instant_query(&store.storage, &q.query, q.time_ms)
        .map(|v| v.to_api(q.time_ms))
        .map_err(query_error)
}

/// Checks a range query's shape as Prometheus does before evaluating it.
pub fn check_range(q: &RangeQuery) -> Result<(), SourceError> {
    if q.end_ms < q.start_ms {
        return Err(bad(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    if q.step_ms <= 0 {
        return Err(bad(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (q.end_ms - q.start_ms) / q.step_ms > MAX_POINTS {
        return Err(bad(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    Ok(())
}

/// The values of a range query.
pub fn range(
    engine: &Engine,
    store: &EmbeddedStore,
    q: &RangeQuery,
) -> Result<QueryData, SourceError> {
    check_range(q)?;
    engine
        .range_query(&store.storage, &q.query, q.start_ms, q.end_ms, q.step_ms)
        .map(|v| v.to_api(q.end_ms))
        .map_err(query_error)
}

/// The matcher alternatives of a series selector (`match[]`): each alternative is a
/// conjunction; `or` in a selector gives several.
pub fn selector_alternatives(selector: &str) -> Result<Vec<Vec<Matcher>>, SourceError> {
    let expr = lookout_promql::parse(selector).map_err(|e| invalid_param("match[]", e))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(invalid_param(
            "match[]",
            format!("{selector:?} is not a series selector"),
        ));
    };
    let name = vs
        .name
        .as_ref()
        .map(|n| Matcher::new(MatchOp::Equal, lookout_promql::labels::METRIC_NAME, n));
    let alts: Vec<Vec<Matcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![vs.matchers.matchers.clone()]
    } else {
        vs.matchers.or_matchers.clone()
    };
    Ok(alts
        .into_iter()
        .map(|mut alt| {
            alt.extend(name.clone());
            alt
        })
        .collect())
}

/// The store's series that match the filter and have a sample in its time range.
fn matching<'a>(
    store: &'a EmbeddedStore,
    filter: &SeriesFilter,
) -> Result<Vec<&'a Labels>, SourceError> {
    let mut alternatives = Vec::new();
    for m in &filter.matchers {
        alternatives.extend(selector_alternatives(m)?);
    }
    let start = filter.start_ms.unwrap_or(i64::MIN);
    let end = filter.end_ms.unwrap_or(i64::MAX);
    if end < start {
        return Err(bad(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let ids: Vec<usize> = if alternatives.is_empty() {
        (0..store.storage.series().len()).collect()
    } else {
        store.storage.select(&alternatives)
    };
    Ok(ids
        .into_iter()
        .map(|i| store.storage.get(i))
        .filter(|s| {
            let first = s.samples.partition_point(|&(t, _)| t < start);
            s.samples[first..]
                .iter()
                .take_while(|&&(t, _)| t <= end)
                .any(|&(_, v)| !lookout_promql::store::is_stale(v))
        })
        .map(|s| &s.labels)
        .collect())
}

/// Label names of the matching series, sorted.
pub fn label_names(
    store: &EmbeddedStore,
    filter: &SeriesFilter,
) -> Result<Vec<String>, SourceError> {
    let names: BTreeSet<&str> = matching(store, filter)?
        .into_iter()
        .flat_map(|l| l.iter().map(|(k, _)| k))
        .collect();
    Ok(names.into_iter().map(str::to_string).collect())
}

/// Values of one label over the matching series, sorted.
pub fn label_values(
    store: &EmbeddedStore,
    name: &str,
    filter: &SeriesFilter,
) -> Result<Vec<String>, SourceError> {
    if !lookout_promql::labels::is_valid_label_name(name) {
        return Err(bad(format!("invalid label name: {name:?}")));
    }
    let values: BTreeSet<&str> = matching(store, filter)?
        .into_iter()
        .filter_map(|l| l.get(name))
        .collect();
    Ok(values.into_iter().map(str::to_string).collect())
}

/// Label sets of the matching series (at least one `match[]`), sorted.
pub fn series(store: &EmbeddedStore, filter: &SeriesFilter) -> Result<Vec<Labels>, SourceError> {
    if filter.matchers.is_empty() {
        return Err(bad("no match[] parameter provided"));
    }
    let mut out: Vec<Labels> = matching(store, filter)?.into_iter().cloned().collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn filter_from(params: &[(String, String)]) -> Result<SeriesFilter, SourceError> {
    let matchers = params
        .iter()
        .filter(|(k, _)| k == "match[]")
        .map(|(_, v)| v.clone())
        .collect();
    let start = match param(params, "start") {
        None | Some("") => None,
        Some(v) => Some(parse_time(v).map_err(|e| invalid_param("start", e))?),
    };
    let end = match param(params, "end") {
        None | Some("") => None,
        Some(v) => Some(parse_time(v).map_err(|e| invalid_param("end", e))?),
    };
    Ok(SeriesFilter {
        matchers,
        start_ms: start,
        end_ms: end,
    })
}

/// The HTTP status Prometheus gives an error type.
pub fn status_of(error_type: &str) -> u16 {
    match error_type {
        "bad_data" => 400,
        "execution" => 422,
        "canceled" => 499,
        "timeout" => 503,
        _ => 500,
    }
}

fn success(data: serde_json::Value) -> ApiAnswer {
    ApiAnswer {
        status: 200,
        body: json!({"status": "success", "data": data}).to_string(),
    }
}

/// The error answer for a source error.
pub fn error_answer(e: &SourceError) -> ApiAnswer {
    let (error_type, message) = match e {
        SourceError::Query {
            error_type,
            message,
            ..
        } => (error_type.clone(), message.clone()),
        SourceError::BadRequest(m) => ("bad_data".to_string(), m.clone()),
        SourceError::Timeout { .. } => ("timeout".to_string(), e.to_string()),
        other => ("internal".to_string(), other.to_string()),
    };
    let body = ApiResponse::error(&error_type, message);
    ApiAnswer {
        status: status_of(&error_type),
        body: serde_json::to_string(&body).unwrap_or_default(),
    }
}

/// Answers one API request over the store, as Prometheus would (`now_ms`: the default
/// evaluation time).
pub fn handle(
    engine: &Engine,
    store: &EmbeddedStore,
    endpoint: &Endpoint,
    params: &[(String, String)],
    now_ms: i64,
) -> ApiAnswer {
    match answer(engine, store, endpoint, params, now_ms) {
        Ok(a) => a,
        Err(e) => error_answer(&e),
    }
}

fn answer(
    engine: &Engine,
    store: &EmbeddedStore,
    endpoint: &Endpoint,
    params: &[(String, String)],
    now_ms: i64,
) -> Result<ApiAnswer, SourceError> {
    let to_value = |d: &QueryData| serde_json::to_value(d).unwrap_or_default();
    match endpoint {
        Endpoint::Query => {
            let query = required(params, "query")?;
            let time_ms = time_param(params, "time", now_ms)?;
            let data = instant(engine, store, &InstantQuery { query, time_ms })?;
            Ok(success(to_value(&data)))
        }
        Endpoint::QueryRange => {
            let query = required(params, "query")?;
            let start_ms =
                parse_time(&required(params, "start")?).map_err(|e| invalid_param("start", e))?;
            let end_ms =
                parse_time(&required(params, "end")?).map_err(|e| invalid_param("end", e))?;
            let step_ms =
                parse_duration(&required(params, "step")?).map_err(|e| invalid_param("step", e))?;
            let q = RangeQuery {
                query,
                start_ms,
                end_ms,
                step_ms,
            };
            let data = range(engine, store, &q)?;
            Ok(success(to_value(&data)))
        }
        Endpoint::Labels => Ok(success(json!(label_names(store, &filter_from(params)?)?))),
        Endpoint::LabelValues(name) => Ok(success(json!(label_values(
            store,
            name,
            &filter_from(params)?
        )?))),
        Endpoint::Series => {
            let found = series(store, &filter_from(params)?)?;
            Ok(success(serde_json::to_value(found).unwrap_or_default()))
        }
        Endpoint::Metadata => {
            let limit = match param(params, "limit") {
                None | Some("") => None,
                Some(v) => match v.parse::<i64>() {
                    Ok(n) if n < 0 => None,
                    Ok(n) => Some(n as usize),
                    Err(_) => return Err(bad("limit must be a number")),
                },
            };
            let metric = param(params, "metric").filter(|m| !m.is_empty());
            Ok(success(json!(store.metadata.query(metric, limit))))
        }
    }
}

fn required(params: &[(String, String)], name: &str) -> Result<String, SourceError> {
    match param(params, name) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(bad(format!("invalid parameter {name:?}: missing"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> EmbeddedStore {
        let mut s = EmbeddedStore::default();
        for (i, (job, inst)) in [("a", "1"), ("a", "2"), ("b", "1")].iter().enumerate() {
            let l = Labels::from_pairs(&[("__name__", "up"), ("job", job), ("instance", inst)]);
            for t in 0..10 {
                s.storage
                    .append(&l, t * 15_000, (i + t as usize) as f64)
                    .expect("append");
            }
        }
        let l = Labels::from_pairs(&[("__name__", "other"), ("zone", "x")]);
        s.storage.append(&l, 100_000, 1.0).expect("append");
        s.metadata
            .ingest_exposition("# TYPE up gauge\n# HELP up Whether up.\n");
        s
    }

    fn call(endpoint: Endpoint, qs: &str) -> (u16, serde_json::Value) {
        let a = handle(
            &Engine::default(),
            &store(),
            &endpoint,
            &parse_params(qs, b""),
            135_000,
        );
        (a.status, serde_json::from_str(&a.body).expect("json"))
    }

    #[test]
    fn times_and_durations_parse_as_prometheus_does() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.1234"), Ok(1_700_000_000_123));
        assert_eq!(parse_time("-1.5"), Ok(-1_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000_500)
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert!(parse_duration("1x").is_err());
    }

    #[test]
    fn endpoints_from_paths() {
        assert_eq!(Endpoint::from_path("query"), Some(Endpoint::Query));
        assert_eq!(
            Endpoint::from_path("label/job/values"),
            Some(Endpoint::LabelValues("job".into()))
        );
        assert_eq!(Endpoint::from_path("label//values"), None);
        assert_eq!(Endpoint::from_path("label/a/b/values"), None);
        assert_eq!(Endpoint::from_path("admin/tsdb/delete_series"), None);
    }

    #[test]
    fn answers_like_prometheus() {
        let (s, v) = call(Endpoint::Query, "query=sum(up)&time=135");
        assert_eq!(s, 200);
        assert_eq!(v["data"]["resultType"], "vector");
        assert_eq!(v["data"]["result"][0]["value"][1], "30"); // 9 + 10 + 11
        let (s, v) = call(
            Endpoint::QueryRange,
            "query=up%7Bjob%3D%22b%22%7D&start=0&end=30&step=15s",
        );
        assert_eq!(s, 200);
        assert_eq!(
            v["data"]["result"][0]["values"].as_array().map(Vec::len),
            Some(3)
        );
        let (s, v) = call(Endpoint::Labels, "");
        assert_eq!(
            (s, v["data"].clone()),
            (200, json!(["__name__", "instance", "job", "zone"]))
        );
        let (_, v) = call(Endpoint::Labels, "match[]=up");
        assert_eq!(v["data"], json!(["__name__", "instance", "job"]));
        let (_, v) = call(Endpoint::LabelValues("job".into()), "");
        assert_eq!(v["data"], json!(["a", "b"]));
        let (_, v) = call(Endpoint::LabelValues("__name__".into()), "");
        assert_eq!(v["data"], json!(["other", "up"]));
        // Time range: `other` has its only sample at 100 s.
        let (_, v) = call(Endpoint::LabelValues("__name__".into()), "start=0&end=50");
        assert_eq!(v["data"], json!(["up"]));
        let (_, v) = call(
            Endpoint::Series,
            "match[]=up%7Bjob%3D%22a%22%7D&match[]=other",
        );
        assert_eq!(v["data"].as_array().map(Vec::len), Some(3));
        assert_eq!(v["data"][0]["__name__"], "other");
        let (_, v) = call(Endpoint::Metadata, "");
        assert_eq!(v["data"]["up"][0]["type"], "gauge");
    }

    #[test]
    fn errors_carry_prometheus_types_and_statuses() {
        let cases = [
            (Endpoint::Query, "query=sum(", 400, "bad_data"),
            (Endpoint::Query, "", 400, "bad_data"),
            (Endpoint::Query, "query=up&time=abc", 400, "bad_data"),
            (
                Endpoint::QueryRange,
                "query=up&start=10&end=0&step=1",
                400,
                "bad_data",
            ),
            (
                Endpoint::QueryRange,
                "query=up&start=0&end=10&step=0",
                400,
                "bad_data",
            ),
            (
                Endpoint::QueryRange,
                "query=up&start=0&end=100000&step=1",
                400,
                "bad_data",
            ),
            (Endpoint::Series, "", 400, "bad_data"),
            (Endpoint::Series, "match[]=sum(up)", 400, "bad_data"),
            (Endpoint::LabelValues("1bad".into()), "", 400, "bad_data"),
            (Endpoint::Metadata, "limit=x", 400, "bad_data"),
            (
                Endpoint::Query,
                "query=up%20%2B%20on(instance)%20group_left%20up",
                422,
                "execution",
            ),
        ];
        for (e, qs, status, error_type) in cases {
            let (s, v) = call(e.clone(), qs);
            assert_eq!(
                (s, v["errorType"].as_str()),
                (status, Some(error_type)),
                "{e:?} {qs}"
            );
            assert_eq!(v["status"], "error");
        }
        let (_, v) = call(Endpoint::Query, "query=sum(");
        assert!(
            v["error"]
                .as_str()
                .is_some_and(|m| m.starts_with("invalid parameter \"query\"")),
            "{v}"
        );
    }
}
