// The dashboards' browser storage: IndexedDB database "lookout" (plain IndexedDB, no library),
// wrapped in async functions for the Rust side (crates/notebook/src/storage.rs), and a
// BroadcastChannel("lookout-dashboards") that tells other tabs what was saved.
//
// Stores:
//   dashboards  keyPath "uid": { uid, title, tags, version, json, pending, serverVersion, updated }
//               json = the dashboard (Lookout JSON, a string); version = its local version
//               (every local save increments it); pending = not yet on the server;
//               serverVersion = the server's version it was last synced with (null = never).
//   versions    autoIncrement "id", index "uid": { id, uid, version, ts, json }, the last
//               KEEP_VERSIONS of each dashboard.
//
// Every function resolves with plain JSON strings (or null) and rejects with a readable
// message string: quota exceeded, IndexedDB unavailable (private mode), blocked.

const DB_NAME = 'lookout';
const DB_VERSION = 1;
const KEEP_VERSIONS = 50;
const CHANNEL = 'lookout-dashboards';

let opening = null;

function message(e) {
  if (typeof e === 'string') return e;
  if (!e) return 'IndexedDB failed (no reason given)';
  const name = e.name || '';
  if (name === 'QuotaExceededError') {
    return 'the browser\'s storage for this site is full (quota exceeded)';
  }
  if (name === 'InvalidStateError' || name === 'SecurityError') {
    return `IndexedDB is not usable here (private mode or storage blocked): ${e.message || name}`;
  }
  return `${name ? `${name}: ` : ''}${e.message || String(e)}`;
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException('the transaction was aborted', 'AbortError'));
  });
}

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      if (typeof indexedDB === 'undefined' || !indexedDB) {
        reject(new Error('IndexedDB is not available in this browser (private mode?)'));
        return;
      }
      let r;
      try {
        r = indexedDB.open(DB_NAME, DB_VERSION);
      } catch (e) {
        reject(e);
        return;
      }
      r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains('dashboards')) {
          db.createObjectStore('dashboards', { keyPath: 'uid' });
        }
        if (!db.objectStoreNames.contains('versions')) {
          const v = db.createObjectStore('versions', { keyPath: 'id', autoIncrement: true });
          v.createIndex('uid', 'uid');
        }
      };
      r.onsuccess = () => {
        const db = r.result;
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      r.onerror = () => reject(r.error);
      r.onblocked = () => reject(new Error('IndexedDB is blocked by another tab; close it and reload'));
    });
    opening.catch(() => {
      opening = null;
    });
  }
  return opening;
}

async function guarded(f) {
  try {
    return await f();
  } catch (e) {
    throw message(e);
  }
}

function summary(rec) {
  const { json, ...rest } = rec;
  return rest;
}

/** Opens (creating) the database. */
export function storeOpen() {
  return guarded(async () => {
    await open();
    return true;
  });
}

/** Every dashboard's record without its JSON, as a JSON array. */
export function storeList() {
  return guarded(async () => {
    const db = await open();
    const tx = db.transaction('dashboards', 'readonly');
    const all = await request(tx.objectStore('dashboards').getAll());
    return JSON.stringify(all.map(summary));
  });
}

/** One dashboard's record (with `json`), or null. */
export function storeGet(uid) {
  return guarded(async () => {
    const db = await open();
    const tx = db.transaction('dashboards', 'readonly');
    const rec = await request(tx.objectStore('dashboards').get(uid));
    return rec ? JSON.stringify(rec) : null;
  });
}

/**
 * Saves a record (JSON) unless the stored one is newer than `base` (the version the caller's
 * copy is based on; null = no check). In one transaction: the check, the record, a new entry
 * in `versions` and the pruning of old versions. Resolves with `{"ok":true}` or
 * `{"conflict": <the stored record>}`.
 */
export function storeSave(recordJson, base) {
  return guarded(async () => {
    const rec = JSON.parse(recordJson);
    const db = await open();
    const tx = db.transaction(['dashboards', 'versions'], 'readwrite');
    const done = finished(tx);
    const dashboards = tx.objectStore('dashboards');
    const versions = tx.objectStore('versions');
    const stored = await request(dashboards.get(rec.uid));
    if (stored && base !== null && base !== undefined && stored.version > base) {
      tx.abort();
      await done.catch(() => {});
      return JSON.stringify({ conflict: stored });
    }
    if (stored && rec.serverVersion === undefined) rec.serverVersion = stored.serverVersion ?? null;
    rec.updated = Date.now();
    dashboards.put(rec);
    versions.add({ uid: rec.uid, version: rec.version, ts: rec.updated, json: rec.json });
    const keys = await request(versions.index('uid').getAllKeys(rec.uid));
    keys.sort((a, b) => a - b);
    for (const k of keys.slice(0, Math.max(0, keys.length - KEEP_VERSIONS))) versions.delete(k);
    await done;
    return JSON.stringify({ ok: true });
  });
}

/** Sets `pending` and/or `serverVersion` of a stored record (no new version). */
export function storeMark(uid, pending, serverVersion) {
  return guarded(async () => {
    const db = await open();
    const tx = db.transaction('dashboards', 'readwrite');
    const done = finished(tx);
    const store = tx.objectStore('dashboards');
    const rec = await request(store.get(uid));
    if (rec) {
      if (pending !== null && pending !== undefined) rec.pending = pending;
      if (serverVersion !== null && serverVersion !== undefined) rec.serverVersion = serverVersion;
      store.put(rec);
    }
    await done;
    return true;
  });
}

/** Deletes a dashboard and its versions. */
export function storeDelete(uid) {
  return guarded(async () => {
    const db = await open();
    const tx = db.transaction(['dashboards', 'versions'], 'readwrite');
    const done = finished(tx);
    tx.objectStore('dashboards').delete(uid);
    const versions = tx.objectStore('versions');
    const keys = await request(versions.index('uid').getAllKeys(uid));
    for (const k of keys) versions.delete(k);
    await done;
    return true;
  });
}

/** A dashboard's kept versions, newest first, as a JSON array of { id, uid, version, ts, json }. */
export function storeVersions(uid) {
  return guarded(async () => {
    const db = await open();
    const tx = db.transaction('versions', 'readonly');
    const all = await request(tx.objectStore('versions').index('uid').getAll(uid));
    all.sort((a, b) => b.id - a.id);
    return JSON.stringify(all);
  });
}

let channel = null;
function getChannel() {
  if (!channel && typeof BroadcastChannel === 'function') channel = new BroadcastChannel(CHANNEL);
  return channel;
}

/** Tells other tabs (a JSON message). False when this browser has no BroadcastChannel. */
export function channelPost(msgJson) {
  const c = getChannel();
  if (!c) return false;
  c.postMessage(msgJson);
  return true;
}

/** Calls `cb(msgJson)` for every message another tab posts. */
export function channelListen(cb) {
  const c = getChannel();
  if (!c) return false;
  c.addEventListener('message', (e) => cb(String(e.data)));
  return true;
}
