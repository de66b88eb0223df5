//! The dashboard's own fields: `title`, `uid`, `description`, `tags`, `time`, `refresh`.
//!
//! A missing or invalid `uid` (Lookout's rule, Grafana's too: 1–40 of `A-Za-z0-9-_`) is
//! derived from the title; `refresh: false` (Grafana before 8 wrote it for "off") and `""` are
//! no refresh.

use lookout_dashboard::Dashboard;
use lookout_dashboard::document::{uid_from_title, valid_uid};
use lookout_dashboard::time::TimeRange;
use serde_json::{Map, Value};

use crate::groups::Group;
use crate::json::{Path, Seg::K, str_of};

/// Reads the fields this module covers (the rest of the dashboard stays default).
pub(crate) fn read(obj: &Map<String, Value>) -> Dashboard {
    let title = str_of(obj, "title").unwrap_or_default().to_string();
    let uid = str_of(obj, "uid")
        .filter(|u| valid_uid(u))
        .map_or_else(|| uid_from_title(&title), str::to_string);
    let time = obj.get("time").and_then(Value::as_object);
    let default = TimeRange::default();
    let t = |k: &str, d: &str| {
        time.and_then(|t| str_of(t, k))
            .filter(|s| !s.is_empty())
            .unwrap_or(d)
            .to_string()
    };
    Dashboard {
        uid,
        description: str_of(obj, "description").unwrap_or_default().to_string(),
        tags: obj
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        time: TimeRange {
            from: t("from", &default.from),
            to: t("to", &default.to),
        },
        refresh: str_of(obj, "refresh")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        title,
        ..Dashboard::default()
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DG {
    Title,
    Uid,
    Description,
    Tags,
    Time,
    Refresh,
}

pub(crate) const ALL: [DG; 6] = [
    DG::Title,
    DG::Uid,
    DG::Description,
    DG::Tags,
    DG::Time,
    DG::Refresh,
];

const TIME_FROM: Path = &[K("time"), K("from")];
const TIME_TO: Path = &[K("time"), K("to")];

impl Group<Dashboard, ()> for DG {
    fn paths(&self) -> &'static [Path] {
        match self {
            DG::Title => &[&[K("title")]],
            DG::Uid => &[&[K("uid")]],
            DG::Description => &[&[K("description")]],
            DG::Tags => &[&[K("tags")]],
            DG::Time => &[TIME_FROM, TIME_TO],
            DG::Refresh => &[&[K("refresh")]],
        }
    }

    fn same(&self, a: &Dashboard, b: &Dashboard) -> bool {
        match self {
            DG::Title => a.title == b.title,
            DG::Uid => a.uid == b.uid,
            DG::Description => a.description == b.description,
            DG::Tags => a.tags == b.tags,
            DG::Time => a.time == b.time,
            DG::Refresh => a.refresh == b.refresh,
        }
    }

    fn write(&self, o: &mut Map<String, Value>, d: &Dashboard, _: &mut ()) {
        match self {
            DG::Title => {
                o.insert("title".into(), Value::from(d.title.as_str()));
            }
            DG::Uid => {
                o.insert("uid".into(), Value::from(d.uid.as_str()));
            }
            DG::Description => {
                if d.description.is_empty() {
                    o.remove("description");
                } else {
                    o.insert("description".into(), Value::from(d.description.as_str()));
                }
            }
            DG::Tags => {
                o.insert("tags".into(), Value::from(d.tags.clone()));
            }
            DG::Time => {
                crate::json::set(o, TIME_FROM, Value::from(d.time.from.as_str()));
                crate::json::set(o, TIME_TO, Value::from(d.time.to.as_str()));
            }
            DG::Refresh => {
                o.insert(
                    "refresh".into(),
                    Value::from(d.refresh.as_deref().unwrap_or("")),
                );
            }
        }
    }
}
