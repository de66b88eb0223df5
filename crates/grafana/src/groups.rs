//! The mechanism that lets export write back exactly what import read.
//!
//! Everything Lookout models is a *group*: a few JSON leaves (paths) that one model value is
//! read from and written to (a panel's unit at `fieldConfig.defaults.unit`, or at
//! `yaxes[0].format` in a graph; a graph's draw style at `lines`, `bars`, `points`, `fill`, …).
//!
//! - **Import** reads the model from the whole object, then removes a group's leaves from what
//!   is kept for Grafana only when writing the model value back produces exactly those leaves
//!   (the group is *canonical*); otherwise the leaves stay, as Grafana wrote them.
//! - **Export** starts from what was kept, writes every group whose leaves are all absent, then
//!   rewrites every group whose kept leaves no longer read as the model's value (it was edited
//!   in Lookout).
//!
//! So an imported, unedited panel is written back leaf for leaf (a graph's `"min": "0"`, a
//! variable's `"current": {"selected": true, …}` stay as they were), an edited one carries the
//! edit, and a panel made in Lookout is written canonically and reads back to itself.

use serde_json::{Map, Value};

use crate::json::{self, Path};

/// One group: its leaves, how to compare two models on it, and how to write it.
pub(crate) trait Group<M, C> {
    /// The leaves.
    fn paths(&self) -> &'static [Path];
    /// Whether `a` and `b` agree on this group.
    fn same(&self, a: &M, b: &M) -> bool;
    /// Writes the model's value (removing leaves whose value is "absent").
    fn write(&self, obj: &mut Map<String, Value>, model: &M, ctx: &mut C);
}

/// Removes from `kept` the leaves of every canonical group (see the module documentation), and
/// empty containers on the way to any group's leaves.
/// `original` is the object the model was read from.
pub(crate) fn strip<M, C, G: Group<M, C>>(
    groups: &[G],
    original: &Map<String, Value>,
    kept: &mut Map<String, Value>,
    model: &M,
    ctx: &mut C,
) {
    for g in groups {
        let mut probe = kept.clone();
        for p in g.paths() {
            json::remove(&mut probe, p);
        }
        g.write(&mut probe, model, ctx);
        let canonical = g
            .paths()
            .iter()
            .all(|p| json::opt_eq(json::get(&probe, p), json::get(original, p)));
        for p in g.paths() {
            if canonical {
                json::remove(kept, p);
            }
            json::prune_empty(kept, p);
        }
    }
}

/// Writes `model` into `out` (what was kept): absent groups first, then every group whose
/// leaves read (with `read`) as something else than the model. A leaf whose container is of
/// another kind (`"time": "yesterday"`) is not absent: it stays while it reads as the model.
pub(crate) fn restore<M, C, G: Group<M, C>>(
    groups: &[G],
    out: &mut Map<String, Value>,
    model: &M,
    ctx: &mut C,
    read: impl Fn(&Map<String, Value>, &mut C) -> M,
) {
    for g in groups {
        if g.paths().iter().all(|p| json::absent(out, p)) {
            g.write(out, model, ctx);
        }
    }
    for g in groups {
        let current = read(out, ctx);
        if !g.same(&current, model) {
            g.write(out, model, ctx);
        }
    }
}
