//! Dashboards as plain files: `DIR/<uid>.json`, one pretty-printed Lookout dashboard per
//! file (stable key order, so git diffs stay small).
//!
//! - **Atomic writes** ([`write_atomic`]): a temporary file in the same folder, written and
//!   fsynced, renamed over the old one, then the folder fsynced. A `kill -9` (or a power
//!   cut) at any moment leaves the old file or the new one, never a broken one.
//! - **Files are the source of truth**: every read goes to the folder, so files edited by
//!   hand or by `git pull` are picked up. A parsed copy is cached per file by size, mtime and
//!   content hash.
//! - **Optimistic concurrency**: a save names the version it was based on; if the stored one
//!   is different, the save is refused with the stored dashboard ([`StoreError::Conflict`]),
//!   and the caller offers reload or overwrite. A file changed on disk behind the store's back
//!   (same `version` field, other content) counts as a new version, so a client holding the
//!   old one cannot silently overwrite the hand edit.
//! - **Nothing is lost**: a deleted dashboard moves to `DIR/.trash/`; a file that does not
//!   parse is never overwritten in place: a save over it first moves it aside to
//!   `<uid>.json.broken-<unix seconds>`.
//! - **Uids are file names**: only 1–40 of `A-Za-z0-9-_` ([`lookout_dashboard::document::valid_uid`]),
//!   so no uid can name a path outside the folder.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use lookout_dashboard::document::{Dashboard, DashboardError, valid_uid};
use lookout_dashboard::model::MAX_JSON_BYTES;
use serde::Serialize;

/// Errors of the store. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uid that is not a safe file name.
    #[error("invalid dashboard uid {0:?}: use 1 to 40 letters, digits, '-' or '_'")]
    InvalidUid(String),
    /// No such dashboard.
    #[error("no dashboard {0:?}")]
    NotFound(String),
    /// The save was based on another version than the stored one.
    #[error("dashboard {uid:?} was changed meanwhile: stored version {}, the save was based on {based_on}", current.version)]
    Conflict {
        /// The uid.
        uid: String,
        /// The version the save was based on.
        based_on: u64,
        /// The stored dashboard (with its effective version).
        current: Box<Dashboard>,
    },
    /// A file in the folder that is not a valid dashboard.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        source: DashboardError,
    },
    /// A file over [`MAX_JSON_BYTES`].
    #[error("{path}: {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// The file system said no.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl StoreError {
    fn io(path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One line of [`DashboardStore::list`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The uid (the file's name).
    pub uid: String,
    /// Title (empty for a broken file).
    pub title: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Effective version.
    pub version: u64,
    /// Why the file could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the store knows of one file.
#[derive(Debug, Clone)]
struct Known {
    size: u64,
    mtime: Option<SystemTime>,
    hash: u64,
    /// The version served (file version, or more after edits behind the store's back).
    version: u64,
    dashboard: Dashboard,
}

/// A folder of dashboards.
#[derive(Debug)]
pub struct DashboardStore {
    dir: PathBuf,
    known: Mutex<HashMap<String, Known>>,
}

impl DashboardStore {
    /// Opens (creating it if needed) the folder.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(Self {
            dir,
            known: Mutex::new(HashMap::new()),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a uid (after checking it).
    pub fn path_of(&self, uid: &str) -> Result<PathBuf, StoreError> {
        if !valid_uid(uid) {
            return Err(StoreError::InvalidUid(uid.to_string()));
        }
        Ok(self.dir.join(format!("{uid}.json")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        // A panic while holding the lock leaves plain data behind: go on with it.
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every dashboard in the folder, sorted by title then uid. Broken files are listed with
    /// their error; other files (not `<uid>.json`) are ignored.
    pub fn list(&self) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        let rd = fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let mut known = self.lock();
        let mut seen = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| StoreError::io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(uid) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if !valid_uid(uid) {
                continue;
            }
            seen.push(uid.to_string());
            match read_known(&self.dir, uid, &mut known) {
                Ok(k) => out.push(Entry {
                    uid: uid.to_string(),
                    title: k.dashboard.title.clone(),
                    tags: k.dashboard.tags.clone(),
                    version: k.version,
                    error: None,
                }),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => out.push(Entry {
                    uid: uid.to_string(),
                    title: String::new(),
                    tags: Vec::new(),
                    version: 0,
                    error: Some(e.to_string()),
                }),
            }
        }
        known.retain(|uid, _| seen.contains(uid));
        out.sort_by(|a, b| (&a.title, &a.uid).cmp(&(&b.title, &b.uid)));
        Ok(out)
    }

    /// The dashboard stored under `uid`, its `version` the effective one.
    pub fn get(&self, uid: &str) -> Result<Dashboard, StoreError> {
        self.path_of(uid)?;
        let mut known = self.lock();
        read_known(&self.dir, uid, &mut known).map(|k| k.dashboard.clone())
    }

    /// Saves `dashboard` under `uid` if the stored version is `dashboard.version` (or there is
    /// none). Returns the new version (the stored one + 1; 1 for a new dashboard, or one
    /// more than the version a new dashboard was based on).
    pub fn put(&self, uid: &str, mut dashboard: Dashboard) -> Result<u64, StoreError> {
        let path = self.path_of(uid)?;
        dashboard.uid = uid.to_string();
        dashboard.validate().map_err(|source| StoreError::Invalid {
            path: path.clone(),
            source,
        })?;
        let based_on = dashboard.version;
        let mut known = self.lock();
        let current = match read_known(&self.dir, uid, &mut known) {
            Ok(k) => Some(k.version),
            Err(StoreError::NotFound(_)) => None,
            Err(StoreError::Invalid { .. } | StoreError::TooLarge { .. }) => {
                // Never overwrite what we cannot read: keep it beside.
                let aside = self.dir.join(format!("{uid}.json.broken-{}", unix_now()));
                fs::rename(&path, &aside).map_err(|e| StoreError::io(&path, e))?;
                None
            }
            Err(e) => return Err(e),
        };
        let version = match current {
            Some(v) if v != based_on => {
                let current = known
                    .get(uid)
                    .map(|k| Box::new(k.dashboard.clone()))
                    .unwrap_or_default();
                return Err(StoreError::Conflict {
                    uid: uid.to_string(),
                    based_on,
                    current,
                });
            }
            Some(v) => v.saturating_add(1),
            None => based_on.saturating_add(1),
        };
        dashboard.version = version;
        let json = dashboard
            .to_json_pretty()
            .map_err(|source| StoreError::Invalid {
                path: path.clone(),
                source,
            })?;
        write_atomic(&path, json.as_bytes()).map_err(|e| StoreError::io(&path, e))?;
        let meta = fs::metadata(&path).map_err(|e| StoreError::io(&path, e))?;
        known.insert(
            uid.to_string(),
            Known {
                size: meta.len(),
                mtime: meta.modified().ok(),
                hash: fnv1a(json.as_bytes()),
                version,
                dashboard,
            },
        );
        Ok(version)
    }

    /// Moves the dashboard's file to `DIR/.trash/<uid>-<unix seconds>.json`.
    pub fn delete(&self, uid: &str) -> Result<(), StoreError> {
        let path = self.path_of(uid)?;
        let mut known = self.lock();
        if !path.exists() {
            return Err(StoreError::NotFound(uid.to_string()));
        }
        let trash = self.dir.join(".trash");
        fs::create_dir_all(&trash).map_err(|e| StoreError::io(&trash, e))?;
        let mut target = trash.join(format!("{uid}-{}.json", unix_now()));
        let mut n = 1;
        while target.exists() {
            target = trash.join(format!("{uid}-{}-{n}.json", unix_now()));
            n += 1;
        }
        fs::rename(&path, &target).map_err(|e| StoreError::io(&path, e))?;
        sync_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        known.remove(uid);
        Ok(())
    }
}

/// Reads `DIR/<uid>.json` through the cache: parsed again only when its size, mtime or
/// content changed. A content change the store did not write raises the effective version.
fn read_known<'a>(
    dir: &Path,
    uid: &str,
    known: &'a mut HashMap<String, Known>,
) -> Result<&'a Known, StoreError> {
    let path = dir.join(format!("{uid}.json"));
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            known.remove(uid);
            return Err(StoreError::NotFound(uid.to_string()));
        }
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    if meta.len() > MAX_JSON_BYTES as u64 {
        return Err(StoreError::TooLarge {
            path,
            size: meta.len(),
            max: MAX_JSON_BYTES,
        });
    }
    let mtime = meta.modified().ok();
    let unchanged = known
        .get(uid)
        .is_some_and(|k| k.size == meta.len() && k.mtime == mtime && mtime.is_some());
    if !unchanged {
        let bytes = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let hash = fnv1a(&bytes);
        let previous = known.get(uid).map(|k| (k.hash, k.version));
        if previous.is_some_and(|(h, _)| h == hash) {
            if let Some(k) = known.get_mut(uid) {
                k.size = meta.len();
                k.mtime = mtime;
            }
        } else {
            let text = String::from_utf8_lossy(&bytes);
            let mut dashboard =
                Dashboard::from_json(&text).map_err(|source| StoreError::Invalid {
                    path: path.clone(),
                    source,
                })?;
            dashboard.uid = uid.to_string();
            let file_version = dashboard.version;
            // Edited behind our back: a version the client cannot hold yet.
            let version = match previous {
                Some((_, v)) if file_version <= v => v.saturating_add(1),
                _ => file_version,
            };
            dashboard.version = version;
            known.insert(
                uid.to_string(),
                Known {
                    size: meta.len(),
                    mtime,
                    hash,
                    version,
                    dashboard,
                },
            );
        }
    }
    known
        .get(uid)
        .ok_or_else(|| StoreError::NotFound(uid.to_string()))
}

/// Writes `bytes` to `path` atomically: `.<name>.tmp-<pid>-<n>` in the same folder, fsync,
/// rename over `path`, fsync of the folder. Readers see the old or the new content, never a
/// mix, whatever happens in between.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, false)
}

/// [`write_atomic`] for a file that holds secrets: on unix the file is created with mode
/// 0600 (owner only) before anything is written to it, so no moment exists in which others
/// could read it.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, true)
}

fn create_file(path: &Path, private: bool) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = create_file(&tmp, private)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// FNV-1a, 64 bits: tells a changed file from an unchanged one (not a security hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Where `lookout serve` keeps dashboards without `--data-dir`: `$XDG_DATA_HOME/lookout`, or
/// `~/.local/share/lookout` (`%APPDATA%\lookout` on Windows); `None` without a home.
pub fn default_data_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        return non_empty("APPDATA").map(|p| p.join("lookout"));
    }
    non_empty("XDG_DATA_HOME")
        .map(|p| p.join("lookout"))
        .or_else(|| non_empty("HOME").map(|h| h.join(".local/share/lookout")))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);
    impl Tmp {
        fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "lookout-store-{name}-{}-{}",
                std::process::id(),
                unix_now()
            ));
            let _ = fs::remove_dir_all(&p);
            Tmp(p)
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dash(title: &str) -> Dashboard {
        Dashboard {
            title: title.into(),
            ..Dashboard::default()
        }
    }

    #[test]
    fn save_read_list_delete() {
        let tmp = Tmp::new("crud");
        let store = DashboardStore::open(&tmp.0).unwrap();
        assert_eq!(store.put("b", dash("Beta")).unwrap(), 1);
        assert_eq!(store.put("a", dash("Alpha")).unwrap(), 1);
        let got = store.get("a").unwrap();
        assert_eq!(
            (got.title.as_str(), got.uid.as_str(), got.version),
            ("Alpha", "a", 1)
        );
        let list = store.list().unwrap();
        let titles: Vec<&str> = list.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["Alpha", "Beta"]);
        // Pretty, stable, newline-terminated: the file is what git sees.
        let text = fs::read_to_string(tmp.0.join("a.json")).unwrap();
        assert!(text.starts_with("{\n  \"schemaVersion\": 2,"));
        assert_eq!(text, got.to_json_pretty().unwrap());
        store.delete("a").unwrap();
        assert!(matches!(store.get("a"), Err(StoreError::NotFound(_))));
        assert!(matches!(store.delete("a"), Err(StoreError::NotFound(_))));
        let trash: Vec<_> = fs::read_dir(tmp.0.join(".trash")).unwrap().collect();
        assert_eq!(trash.len(), 1, "deleted dashboards are kept in .trash");
        // No temporary files left behind.
        let names: Vec<String> = fs::read_dir(&tmp.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    }

    #[test]
    fn stale_saves_conflict() {
        let tmp = Tmp::new("conflict");
        let store = DashboardStore::open(&tmp.0).unwrap();
        let v1 = store.put("d", dash("one")).unwrap();
        let mut mine = store.get("d").unwrap();
        let mut theirs = store.get("d").unwrap();
        theirs.title = "theirs".into();
        assert_eq!(store.put("d", theirs).unwrap(), v1 + 1);
        mine.title = "mine".into();
        match store.put("d", mine.clone()) {
            Err(StoreError::Conflict {
                current, based_on, ..
            }) => {
                assert_eq!(based_on, v1);
                assert_eq!(current.title, "theirs");
                assert_eq!(current.version, v1 + 1);
                // Overwrite = save again based on the current version.
                mine.version = current.version;
                assert_eq!(store.put("d", mine).unwrap(), v1 + 2);
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(store.get("d").unwrap().title, "mine");
    }

    #[test]
    fn hand_edits_are_picked_up_and_protected() {
        let tmp = Tmp::new("edits");
        let store = DashboardStore::open(&tmp.0).unwrap();
        store.put("d", dash("one")).unwrap();
        let held = store.get("d").unwrap();
        // Edited by hand (same version field, other title), as a `git pull` would.
        let path = tmp.0.join("d.json");
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("\"one\"", "\"by hand\"");
        fs::write(&path, text).unwrap();
        let now = store.get("d").unwrap();
        assert_eq!(now.title, "by hand");
        assert!(now.version > held.version);
        assert!(matches!(
            store.put("d", held),
            Err(StoreError::Conflict { .. })
        ));
        // A new file dropped into the folder appears; a broken one is listed with its error
        // and moved aside (not overwritten) by the next save.
        fs::write(tmp.0.join("new.json"), r#"{"title":"New"}"#).unwrap();
        fs::write(tmp.0.join("broken.json"), "{\"title\": ").unwrap();
        fs::write(tmp.0.join("notes.txt"), "x").unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 3);
        let broken = list.iter().find(|e| e.uid == "broken").unwrap();
        assert!(broken.error.as_deref().unwrap().contains("broken.json"));
        assert_eq!(store.get("new").unwrap().title, "New");
        store.put("broken", dash("fixed")).unwrap();
        let aside: Vec<String> = fs::read_dir(&tmp.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("broken.json.broken-"))
            .collect();
        assert_eq!(aside.len(), 1);
        // A file removed by hand is gone.
        fs::remove_file(tmp.0.join("new.json")).unwrap();
        assert!(matches!(store.get("new"), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn uids_cannot_leave_the_folder() {
        let tmp = Tmp::new("uids");
        let store = DashboardStore::open(&tmp.0).unwrap();
        for uid in [
            "../x", "..", "a/b", "a\\b", "", ".trash", "x.json", "%2e%2e",
        ] {
            assert!(
                matches!(store.put(uid, dash("x")), Err(StoreError::InvalidUid(_))),
                "{uid}"
            );
            assert!(matches!(store.get(uid), Err(StoreError::InvalidUid(_))));
            assert!(matches!(store.delete(uid), Err(StoreError::InvalidUid(_))));
        }
        assert_eq!(fs::read_dir(&tmp.0).unwrap().count(), 0);
    }

    #[test]
    fn concurrent_saves_serialise() {
        let tmp = Tmp::new("threads");
        let store = std::sync::Arc::new(DashboardStore::open(&tmp.0).unwrap());
        store.put("d", dash("0")).unwrap();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut ok = 0;
                    for _ in 0..20 {
                        let mut d = store.get("d").unwrap();
                        d.title = format!("{i}");
                        match store.put("d", d) {
                            Ok(_) => ok += 1,
                            Err(StoreError::Conflict { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                    ok
                })
            })
            .collect();
        let saved: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        // Every successful save was based on the version before it: versions count them.
        assert_eq!(store.get("d").unwrap().version, 1 + saved);
    }

    #[test]
    fn private_files_are_owner_only() {
        let tmp = Tmp::new("private");
        fs::create_dir_all(&tmp.0).unwrap();
        let path = tmp.0.join("channels.json");
        write_atomic_private(&path, b"{\"secret\": 1}").unwrap();
        write_atomic_private(&path, b"{\"secret\": 2}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"secret\": 2}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // Only the file itself is left (no temporary files).
        assert_eq!(fs::read_dir(&tmp.0).unwrap().count(), 1);
    }
}
