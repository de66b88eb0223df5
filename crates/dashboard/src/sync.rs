//! What a page does with a dashboard it deleted while the server could not be told
//! (a "tombstone": the uid and the server's version the page last had).
//!
//! Without one, the next merge with the server's list would bring the dashboard back (the
//! server's copy is newer than nothing). With one, the server's copy is deleted there too —
//! unless someone changed it on the server after the version this page knew, in which case
//! their change wins and comes back (deleting someone else's newer work is what "never lost"
//! rules out).

/// What to do with a tombstone once the server's list is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneAction {
    /// The server still has the version that was deleted here (or older): delete it there,
    /// then forget the tombstone.
    DeleteOnServer,
    /// The server's copy changed after the version deleted here: keep it (it comes back
    /// here), forget the tombstone, and say so.
    KeepServers,
    /// The server has no such dashboard: forget the tombstone.
    Forget,
}

/// `deleted_version`: the server's version the page had when it deleted the dashboard
/// (`None`: it had never seen it on the server); `server_version`: the server's now.
pub fn tombstone_action(
    deleted_version: Option<u64>,
    server_version: Option<u64>,
) -> TombstoneAction {
    match (deleted_version, server_version) {
        (_, None) => TombstoneAction::Forget,
        (Some(d), Some(s)) if s <= d => TombstoneAction::DeleteOnServer,
        _ => TombstoneAction::KeepServers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deleted_version_is_deleted_and_a_newer_one_kept() {
        use TombstoneAction::*;
        assert_eq!(tombstone_action(Some(3), Some(3)), DeleteOnServer);
        assert_eq!(tombstone_action(Some(3), Some(2)), DeleteOnServer);
        assert_eq!(tombstone_action(Some(3), Some(4)), KeepServers);
        // Created here, never synced, yet the server has one under that uid: not ours.
        assert_eq!(tombstone_action(None, Some(1)), KeepServers);
        assert_eq!(tombstone_action(Some(3), None), Forget);
        assert_eq!(tombstone_action(None, None), Forget);
    }
}
