//! Sharing a dashboard, or one panel, as a URL that opens with no server: the dashboard's
//! JSON, deflated and base64url-encoded, in the URL's fragment (`#dashboard=1.…`). A
//! fragment never reaches a server, so what is shared stays between the two browsers.
//!
//! Decoding is bounded: at most [`MAX_FRAGMENT`] characters are read and at most
//! [`MAX_JSON_BYTES`] inflated (a deflate bomb stops there), then the document goes through
//! [`Dashboard::from_json`] like any other. The model holds no credentials, so none can be
//! shared.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::document::{Dashboard, DashboardError};
use crate::model::{GRID_COLUMNS, GridPos, MAX_JSON_BYTES};

/// The fragment's key for a dashboard.
pub const KEY: &str = "dashboard";
/// The encoding's version, the fragment value's prefix.
const VERSION: &str = "1.";
/// The longest fragment read (2 MiB: far more than browsers keep in a shared link).
pub const MAX_FRAGMENT: usize = 2 * 1024 * 1024;

/// Errors of reading a shared link.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// No `dashboard=` in the fragment.
    #[error("the link holds no dashboard")]
    Missing,
    /// Longer than [`MAX_FRAGMENT`].
    #[error("the link is {0} characters, more than the {MAX_FRAGMENT} read")]
    TooLong(usize),
    /// Another encoding version or not base64url.
    #[error("the link's dashboard is not readable: {0}")]
    Encoding(String),
    /// Not deflate, or more than [`MAX_JSON_BYTES`] once inflated.
    #[error("the link's dashboard does not inflate: {0}")]
    Inflate(String),
    /// The document itself.
    #[error("the link's dashboard: {0}")]
    Dashboard(#[from] DashboardError),
}

/// The fragment (without `#`) sharing `dashboard`.
pub fn encode(dashboard: &Dashboard) -> Result<String, DashboardError> {
    let json = serde_json::to_vec(dashboard).map_err(crate::model::ModelError::Json)?;
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
    Ok(format!(
        "{KEY}={VERSION}{}",
        URL_SAFE_NO_PAD.encode(deflated)
    ))
}

/// The fragment sharing one panel: a dashboard holding only that panel, full width, with the
/// dashboard's time range, refresh, data source and variables (so the panel's queries read
/// the same). `None` when there is no such panel.
pub fn encode_panel(
    dashboard: &Dashboard,
    panel_id: u64,
) -> Option<Result<String, DashboardError>> {
    let mut panel = dashboard.panel(panel_id)?.clone();
    let g = panel.panel.grid.unwrap_or_default();
    panel.panel.grid = Some(GridPos {
        x: 0,
        y: 0,
        w: GRID_COLUMNS,
        h: g.h.max(8),
    });
    let single = Dashboard {
        uid: String::new(),
        title: if panel.title.is_empty() {
            dashboard.title.clone()
        } else {
            format!("{} — {}", dashboard.title, panel.title)
        },
        description: String::new(),
        tags: Vec::new(),
        version: 0,
        rows: Vec::new(),
        panels: vec![panel],
        grafana: None,
        ..dashboard.clone()
    };
    Some(encode(&single))
}

/// Reads a shared dashboard from a URL fragment (`#a=b&dashboard=1.…`, with or without `#`).
pub fn decode(fragment: &str) -> Result<Dashboard, ShareError> {
    if fragment.len() > MAX_FRAGMENT {
        return Err(ShareError::TooLong(fragment.len()));
    }
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let value = fragment
        .split('&')
        .find_map(|kv| kv.strip_prefix(KEY).and_then(|r| r.strip_prefix('=')))
        .ok_or(ShareError::Missing)?;
    let data = value
        .strip_prefix(VERSION)
        .ok_or_else(|| ShareError::Encoding("unknown version".into()))?;
    let deflated = URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .map_err(|e| ShareError::Encoding(e.to_string()))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_JSON_BYTES)
        .map_err(|e| ShareError::Inflate(format!("{:?}", e.status)))?;
    let text = String::from_utf8(json).map_err(|e| ShareError::Inflate(e.to_string()))?;
    Ok(Dashboard::from_json(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    #[test]
    fn dashboards_and_panels_travel_in_the_fragment() {
        let seed = builtin::seed();
        let fragment = encode(&seed).unwrap();
        assert!(fragment.starts_with("dashboard=1."));
        assert!(
            fragment.len() < 2_000,
            "a shared seed dashboard is {} characters",
            fragment.len()
        );
        assert!(
            fragment[KEY.len() + 1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        );
        assert_eq!(decode(&format!("#x=1&{fragment}")).unwrap(), seed);

        let one = decode(&encode_panel(&seed, 5).unwrap().unwrap()).unwrap();
        assert_eq!(one.panels.len(), 1);
        assert_eq!(one.panels[0].title, "P90 Model Inference Time");
        assert_eq!(one.panels[0].panel.grid.unwrap().w, GRID_COLUMNS);
        assert_eq!(one.time, seed.time);
        assert!(encode_panel(&seed, 99).is_none());
    }

    #[test]
    fn bad_links_get_errors() {
        assert!(matches!(decode("#a=b"), Err(ShareError::Missing)));
        assert!(matches!(
            decode("dashboard=2.abc"),
            Err(ShareError::Encoding(_))
        ));
        assert!(matches!(
            decode("dashboard=1.!!!"),
            Err(ShareError::Encoding(_))
        ));
        assert!(matches!(
            decode("dashboard=1.AAAA"),
            Err(ShareError::Inflate(_))
        ));
        // A deflate bomb: 64 MiB of zeros in a few KiB stops at the limit.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; 64 << 20], 9);
        let link = format!("dashboard=1.{}", URL_SAFE_NO_PAD.encode(bomb));
        assert!(link.len() < MAX_FRAGMENT);
        assert!(matches!(decode(&link), Err(ShareError::Inflate(_))));
        let long = "x".repeat(MAX_FRAGMENT + 1);
        assert!(matches!(decode(&long), Err(ShareError::TooLong(_))));
        // Valid deflate, not a dashboard.
        let not = miniz_oxide::deflate::compress_to_vec(b"[1,2]", 6);
        let link = format!("dashboard=1.{}", URL_SAFE_NO_PAD.encode(not));
        assert!(matches!(decode(&link), Err(ShareError::Dashboard(_))));
    }
}
