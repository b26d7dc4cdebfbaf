//! The state file's schema and names: its tables, its identity
//! (`application_id`, `user_version`) and the files beside it.

use std::path::{Path, PathBuf};

/// The schema version written in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 6;
/// `PRAGMA application_id`: "crwl", so `file(1)` and we can tell our files.
pub const APPLICATION_ID: i64 = 0x6372_776c;

/// The table of URLs, named `{table}`.
pub(super) const URLS_TABLE: &str = "
CREATE TABLE {table} (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'seed' CHECK (origin IN ('seed', 'discovered', 'sitemap')),
    depth INTEGER NOT NULL DEFAULT 0,
    found_on INTEGER REFERENCES urls (id),
    seed_generation INTEGER NOT NULL DEFAULT 0,
    is_active INTEGER NOT NULL DEFAULT 1,
    due_at INTEGER,
    claimed_at INTEGER,
    fetched_at INTEGER,
    finished_at INTEGER,
    status INTEGER,
    error_kind TEXT,
    ok_at INTEGER,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    once_round INTEGER NOT NULL DEFAULT 0,
    root INTEGER,
    from_public INTEGER NOT NULL DEFAULT 0
);
";

/// The columns version 1 had, copied as they are by the upgrade.
pub(super) const COLUMNS_V1: &str =
    "id, url, host, origin, depth, found_on, seed_generation, is_active,
    due_at, claimed_at, fetched_at, finished_at, status, error_kind, ok_at, title, etag,
    last_modified, once_round";

/// The indexes of the URL table. Version 2 added `urls_pending` (a seed's
/// descendants due or in flight), `urls_host` (a host's URLs) and
/// `urls_open_rounds` (seeds whose round may be over), with the
/// columns `root` (the seed a discovered URL descends from) and
/// `from_public` (the page it was found on came from a public address: it
/// must not lead to a private one), and the origin `sitemap`.
pub(super) const INDEXES: &str = "
CREATE INDEX urls_due ON urls (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX urls_pending ON urls (root) WHERE due_at IS NOT NULL OR claimed_at IS NOT NULL;
CREATE INDEX urls_host ON urls (host);
CREATE INDEX urls_open_rounds ON urls (id) WHERE origin = 'seed' AND due_at IS NULL;
";

pub(super) const META_TABLE: &str =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

/// The whole schema of a new database.
pub(super) fn schema() -> String {
    format!(
        "{}{INDEXES}{META_TABLE}{HISTORY_TABLE}{OUTBOX_TABLE}{RENDERED_COLUMN}{REPORT_TABLES}",
        URLS_TABLE.replace("{table}", "urls")
    )
}

/// Each URL's title changes (version 3): when, from, to; the last
/// [`MAX_HISTORY`](crate::frontier::MAX_HISTORY) per URL are kept.
pub(super) const HISTORY_TABLE: &str = "
CREATE TABLE title_changes (
    url_id INTEGER NOT NULL REFERENCES urls (id),
    at INTEGER NOT NULL,
    from_title TEXT,
    to_title TEXT
);
CREATE INDEX title_changes_url ON title_changes (url_id, at);
";

/// Version 4: each URL's watch state (JSON, see [`crate::watch::Watch`])
/// and the outbox of notifications, queued with the outcome that made them
/// and deleted once delivered (or given up).
pub(super) const OUTBOX_TABLE: &str = "
ALTER TABLE urls ADD COLUMN watch TEXT;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    notice TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    leased INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (due_at);
";

/// Version 5: whether each URL's last record was rendered in Chromium.
pub(super) const RENDERED_COLUMN: &str =
    "ALTER TABLE urls ADD COLUMN rendered INTEGER NOT NULL DEFAULT 0;";

/// Version 6, for reports: what each URL's last fetch was like (JSON, see
/// [`crate::frontier::Details`]) and the link graph, each page's outgoing
/// links with their anchor texts (see [`crate::frontier::encode_outlinks`]).
pub(super) const REPORT_TABLES: &str = "
ALTER TABLE urls ADD COLUMN details TEXT;
CREATE TABLE outlinks (url_id INTEGER PRIMARY KEY, links TEXT NOT NULL);
";

/// The SQLite file header's first 16 bytes.
pub(super) const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The write-ahead log beside `path`.
pub fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}
