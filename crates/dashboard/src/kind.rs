//! The panel a result suggests when the user has not chosen one.

use lookout_promql::value::QueryData;

use crate::model::PanelKind;

/// The default panel for a result: a matrix → time series; one value (a scalar, or a vector
/// of at most one sample) → stat; several samples → table (their labels are the point, and a
/// table shows them all; a bar gauge would hide them in names); a string → table.
pub fn default_kind(result: &QueryData) -> PanelKind {
    match result {
        QueryData::Matrix(_) => PanelKind::TimeSeries,
        QueryData::Scalar(_) => PanelKind::Stat,
        QueryData::Vector(v) if v.len() <= 1 => PanelKind::Stat,
        QueryData::Vector(_) | QueryData::String(_) => PanelKind::Table,
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
