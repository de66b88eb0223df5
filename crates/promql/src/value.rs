//! Query results, and their shape in Prometheus' HTTP API (`/api/v1/query`,
//! `/api/v1/query_range`): the same serde types read a remote Prometheus' answers and write
//! the embedded engine's, so the page treats both alike.

use serde::{Deserialize, Serialize};

use crate::labels::Labels;

/// One element of an instant vector. `t` is the sample's own timestamp where it matters
/// (`timestamp()`), else the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// A series of a range vector or a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }

    /// The HTTP API's `data` object for this result (vector samples stamped with `t`).
    pub fn to_api(&self, t: i64) -> QueryData {
        match self {
            Value::Scalar { v, .. } => QueryData::Scalar(ApiPoint::new(t, *v)),
            Value::String { v, .. } => QueryData::String((t as f64 / 1e3, v.clone())),
            Value::Vector(s) => QueryData::Vector(
                s.iter()
                    .map(|s| ApiSample {
                        metric: s.labels.clone(),
                        value: ApiPoint::new(t, s.v),
                    })
                    .collect(),
            ),
            Value::Matrix(m) => QueryData::Matrix(
                m.iter()
                    .map(|s| ApiSeries {
                        metric: s.labels.clone(),
                        values: s.points.iter().map(|&(t, v)| ApiPoint::new(t, v)).collect(),
                    })
                    .collect(),
            ),
        }
    }
}

/// Prometheus' float format in JSON strings: shortest round-trip decimal, `NaN`, `+Inf`,
/// `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// `[<unix seconds>, "<value>"]`; whole seconds are written without a fraction, as
/// Prometheus does (`[600,"1"]`, `[600.5,"1"]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiPoint(pub f64, pub String);

impl Serialize for ApiPoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            t.serialize_element(&(self.0 as i64))?;
        } else {
            t.serialize_element(&self.0)?;
        }
        t.serialize_element(&self.1)?;
        t.end()
    }
}

impl ApiPoint {
    pub fn new(t_ms: i64, v: f64) -> Self {
        Self(t_ms as f64 / 1e3, format_value(v))
    }

    pub fn t_ms(&self) -> i64 {
        (self.0 * 1e3).round() as i64
    }

    pub fn value(&self) -> f64 {
        crate::store::parse_float(&self.1).unwrap_or(f64::NAN)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSample {
    pub metric: Labels,
    pub value: ApiPoint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSeries {
    pub metric: Labels,
    pub values: Vec<ApiPoint>,
}

/// `data` of a successful query answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    Scalar(ApiPoint),
    String((f64, String)),
    Vector(Vec<ApiSample>),
    Matrix(Vec<ApiSeries>),
}

/// The whole answer: `{"status":"success","data":{...}}` or
/// `{"status":"error","errorType":"...","error":"..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<QueryData>,
    #[serde(default, rename = "errorType", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ApiResponse {
    pub fn success(data: QueryData) -> Self {
        Self {
            status: "success".into(),
            data: Some(data),
            error_type: None,
            error: None,
        }
    }

    pub fn error(error_type: &str, error: impl Into<String>) -> Self {
        Self {
            status: "error".into(),
            data: None,
            error_type: Some(error_type.into()),
            error: Some(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_shape_round_trips_like_prometheus() {
        let json = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000000.5,"1"]}]}}"#;
        let r: ApiResponse = serde_json::from_str(json).expect("parse");
        let Some(QueryData::Vector(v)) = &r.data else {
            panic!("not a vector: {r:?}")
        };
        assert_eq!(v[0].metric.get("job"), Some("a"));
        assert_eq!(v[0].value.t_ms(), 1_700_000_000_500);
        assert_eq!(serde_json::to_string(&r).expect("ser"), json);
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        let s: ApiResponse = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}"#,
        )
        .expect("scalar");
        assert!(matches!(s.data, Some(QueryData::Scalar(ref p)) if p.value().is_nan()));
        let whole = serde_json::to_string(&ApiPoint::new(600_000, 2.5)).expect("ser");
        assert_eq!(whole, "[600,\"2.5\"]");
    }
}
