//! Alerting for Lookout's panels, with Grafana 7's legacy alerting semantics. Pure: no clock,
//! no I/O — callers pass `now_ms`, a [`lookout_datasource::QuerySource`], and send the
//! requests this crate builds.
//!
//! - [`rule`]: a panel's `alert` JSON (as Grafana 7 exports it) as a typed [`AlertRule`],
//!   round-tripping unknown fields; Lookout's per-series option;
//! - [`eval`]: one evaluation: the conditions' queries, Grafana's reducers ([`reduce`]) and
//!   evaluators, `and`/`or` chaining and no data;
//! - [`state`]: the OK / Pending / Alerting / No Data / Error state machine with `for`,
//!   `noDataState`, `executionErrorState`, per-series instances, history, and when each
//!   channel is told (restarts included);
//! - [`notify`]: channels (Slack, webhook, Alertmanager) with secrets that never serialize,
//!   Grafana 7's `ShouldNotify`, the payloads, and delivery retries.
//!
//! A server's loop: for each rule [`state::due`] at `now`, [`eval::evaluate`], then
//! [`state::step_with`] with [`notify::channels_for`] the rule; persist the [`RuleState`];
//! turn each [`Notification`] into [`notify::requests_for`] and send them, feeding the
//! outcomes to [`notify::plan_deliveries`].

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod duration;
pub mod eval;
pub mod notify;
pub mod prometheus;
pub mod reduce;
pub mod rule;
pub mod state;

pub use eval::{
    ConditionResult, EvalMatch, EvalOptions, EvalResult, Instance, SeriesResult, evaluate,
    evaluate_with,
};
pub use notify::{
    Channel, ChannelError, ChannelKind, Delivery, DeliveryPlan, OutgoingRequest, PayloadContext,
    RetryPolicy, Secret, SendOutcome, channels_for, plan_deliveries, requests_for, should_notify,
};
pub use reduce::reduce;
pub use rule::{
    AlertRule, Condition, DurationText, Evaluator, EvaluatorKind, ExecutionErrorState, NoDataState,
    NotificationRef, Operator, ReducerKind, RuleError, dashboard_rules, rule_of, set_rule,
};
pub use state::{
    AlertState, InstanceState, Notification, RuleState, Track, Transition, due, step, step_with,
};

#[cfg(test)]
pub(crate) mod testutil {
    //! A query source answering canned data, recording what it was asked.

    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use lookout_datasource::{
        InstantQuery, MetadataMap, QuerySource, RangeQuery, SeriesFilter, SourceError,
    };
    use lookout_promql::Labels;
    use lookout_promql::value::{ApiPoint, ApiSeries, QueryData};

    #[derive(Default)]
    pub struct Fake {
        pub answers: BTreeMap<String, Result<QueryData, SourceError>>,
        pub asked: RefCell<Vec<RangeQuery>>,
    }

    impl Fake {
        pub fn with(mut self, query: &str, answer: Result<QueryData, SourceError>) -> Self {
            self.answers.insert(query.to_string(), answer);
            self
        }
    }

    /// One series: its labels and values.
    pub type SeriesSpec<'a> = (&'a [(&'a str, &'a str)], &'a [Option<f64>]);

    /// A matrix: each series its labels and values (`None` = NaN), one point a minute.
    pub fn matrix(series: &[SeriesSpec<'_>]) -> QueryData {
        QueryData::Matrix(
            series
                .iter()
                .map(|(labels, values)| ApiSeries {
                    metric: Labels::from_pairs(labels),
                    values: values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            ApiPoint(
                                1_700_000_000.0 + 60.0 * i as f64,
                                v.map_or("NaN".to_string(), |v| v.to_string()),
                            )
                        })
                        .collect(),
                })
                .collect(),
        )
    }

    impl QuerySource for Fake {
        fn describe(&self) -> String {
            "fake".into()
        }
        async fn instant(&self, _q: &InstantQuery) -> Result<QueryData, SourceError> {
            Err(SourceError::BadRequest("no instant queries".into()))
        }
        async fn range(&self, q: &RangeQuery) -> Result<QueryData, SourceError> {
            self.asked.borrow_mut().push(q.clone());
            self.answers
                .get(&q.query)
                .cloned()
                .unwrap_or(Ok(QueryData::Matrix(Vec::new())))
        }
        async fn label_names(&self, _f: &SeriesFilter) -> Result<Vec<String>, SourceError> {
            Ok(Vec::new())
        }
        async fn label_values(
            &self,
            _name: &str,
            _f: &SeriesFilter,
        ) -> Result<Vec<String>, SourceError> {
            Ok(Vec::new())
        }
        async fn series(&self, _f: &SeriesFilter) -> Result<Vec<Labels>, SourceError> {
            Ok(Vec::new())
        }
        async fn metadata(&self, _m: Option<&str>) -> Result<MetadataMap, SourceError> {
            Ok(MetadataMap::new())
        }
    }
}
