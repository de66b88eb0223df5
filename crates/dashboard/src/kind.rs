//! The panel a result suggests when the user has not chosen one.

use lookout_promql::value::QueryData;

use crate::model::PanelKind;

/// The default panel for a result: a matrix → time series; one value (a scalar, or a vector
/// of at most one sample) → stat; several samples → table (their labels are the point, and a
/// table shows them all; a bar gauge would hide them in names); a string → table.
pub fn default_kind(result: &QueryData) -> PanelKind {
    match result {
        QueryData::Matrix(_) => kind_for(true, 0),
        QueryData::Scalar(_) => kind_for(false, 1),
        QueryData::Vector(v) => kind_for(false, v.len()),
        QueryData::String(_) => PanelKind::Table,
    }
}

/// The one rule: values over time → time series; at most one value → stat; several values
/// → table.
pub(crate) fn kind_for(over_time: bool, values: usize) -> PanelKind {
    match (over_time, values) {
        (true, _) => PanelKind::TimeSeries,
        (false, 0 | 1) => PanelKind::Stat,
        (false, _) => PanelKind::Table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_promql::Labels;
    use lookout_promql::value::{ApiPoint, ApiSample};

    fn sample(job: &str) -> ApiSample {
        ApiSample {
            metric: Labels::from_pairs(&[("job", job)]),
            value: ApiPoint::new(0, 1.0),
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(
            default_kind(&QueryData::Matrix(vec![])),
            PanelKind::TimeSeries
        );
        assert_eq!(
            default_kind(&QueryData::Scalar(ApiPoint::new(0, 1.0))),
            PanelKind::Stat
        );
        assert_eq!(
            default_kind(&QueryData::Vector(vec![sample("a")])),
            PanelKind::Stat
        );
        assert_eq!(default_kind(&QueryData::Vector(vec![])), PanelKind::Stat);
        assert_eq!(
            default_kind(&QueryData::Vector(vec![sample("a"), sample("b")])),
            PanelKind::Table
        );
        assert_eq!(
            default_kind(&QueryData::String((0.0, "x".into()))),
            PanelKind::Table
        );
    }
}
