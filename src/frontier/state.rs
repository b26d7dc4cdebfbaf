//! Last-seen titles per URL, kept across restarts.
//!
//! The file is small JSON, rewritten atomically (temp file, fsync, rename, fsync
//! of the folder), so a crash leaves either the old or the new version, never a
//! torn one. It lets a restarted daemon tell a real title change from a restart,
//! and spread its first crawl over each seed's remaining interval.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How often a changed state is written at most (and always at shutdown).
pub const SAVE_INTERVAL: Duration = Duration::from_secs(10);
/// The file format version written in the file.
const FORMAT_VERSION: u32 = 1;

/// What is remembered about one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedState {
    /// The last title seen (null when the page had none).
    pub title: Option<String>,
    /// When that fetch started, in seconds since the Unix epoch.
    pub fetched_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    seeds: HashMap<String, SeedState>,
}

/// A title that differs from the one seen last time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleChange {
    /// The title seen before.
    pub previous: Option<String>,
}

/// Last-seen titles, loaded from and saved to the state file.
#[derive(Debug)]
pub struct TitleState {
    path: PathBuf,
    seeds: HashMap<String, SeedState>,
    is_dirty: bool,
    last_save: Instant,
}

impl TitleState {
    /// Loads `path`; a missing file is an empty state, an unreadable one is logged and ignored.
    pub fn load(path: &Path) -> Self {
        let seeds = match fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<StateFile>(&bytes) {
                Ok(file) => file.seeds,
                Err(err) => {
                    log::warn!(
                        "state file `{}` is not valid ({err}); starting without last-seen titles",
                        path.display()
                    );
                    HashMap::new()
                }
            },
            Err(err) if err.kind() == io::ErrorKind::NotFound => HashMap::new(),
            Err(err) => {
                log::warn!(
                    "cannot read state file `{}` ({err}); starting without last-seen titles",
                    path.display()
                );
                HashMap::new()
            }
        };
        Self {
            path: path.to_owned(),
            seeds,
            is_dirty: false,
            last_save: Instant::now(),
        }
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When `url` was last fetched, if known.
    pub fn last_fetched(&self, url: &str) -> Option<SystemTime> {
        let state = self.seeds.get(url)?;
        UNIX_EPOCH.checked_add(Duration::from_secs(state.fetched_at))
    }

    /// Records a successful fetch; returns the change when the title differs from last time.
    pub fn observe(
        &mut self,
        url: &str,
        title: Option<&str>,
        fetched_at: SystemTime,
    ) -> Option<TitleChange> {
        let fetched_at = fetched_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.is_dirty = true;
        let new = SeedState {
            title: title.map(str::to_owned),
            fetched_at,
        };
        let previous = self.seeds.insert(url.to_owned(), new)?;
        (previous.title.as_deref() != title).then_some(TitleChange {
            previous: previous.title,
        })
    }

    /// Saves when something changed and [`SAVE_INTERVAL`] has passed since the last save.
    pub fn save_if_due(&mut self) {
        if self.is_dirty && self.last_save.elapsed() >= SAVE_INTERVAL {
            self.save_logged();
        }
    }

    /// Saves now if anything changed, logging a failure.
    pub fn save_logged(&mut self) {
        if !self.is_dirty {
            return;
        }
        match self.save() {
            Ok(()) => {}
            Err(err) => log::error!(
                "cannot write state file `{}`: {err}; last-seen titles will be lost on restart",
                self.path.display()
            ),
        }
    }

    /// Writes the state atomically: temp file, fsync, rename, fsync of the folder.
    ///
    /// # Errors
    /// Any I/O error; the previous file is then left untouched.
    pub fn save(&mut self) -> io::Result<()> {
        let file = StateFile {
            version: FORMAT_VERSION,
            seeds: std::mem::take(&mut self.seeds),
        };
        let written = write_atomically(&self.path, &file);
        self.seeds = file.seeds;
        written?;
        self.is_dirty = false;
        self.last_save = Instant::now();
        Ok(())
    }
}

fn write_atomically(path: &Path, state: &StateFile) -> io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map_or_else(
        || "state".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temp = folder.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        serde_json::to_writer(&mut file, state)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        // Make the rename itself durable; not every filesystem allows this.
        if let Ok(dir) = File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_title_is_reported_with_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = TitleState::load(&dir.path().join("state.json"));
        let now = SystemTime::now();
        assert_eq!(
            state.observe("http://a/", Some("One"), now),
            None,
            "first sight is no change"
        );
        assert_eq!(state.observe("http://a/", Some("One"), now), None);
        let change = state.observe("http://a/", Some("Two"), now).unwrap();
        assert_eq!(change.previous.as_deref(), Some("One"));
        let gone = state.observe("http://a/", None, now).unwrap();
        assert_eq!(gone.previous.as_deref(), Some("Two"));
    }

    #[test]
    fn state_survives_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = TitleState::load(&path);
        state.observe("http://a/", Some("Kept"), SystemTime::now());
        state.save().unwrap();
        let mut reloaded = TitleState::load(&path);
        assert!(reloaded.last_fetched("http://a/").is_some());
        assert_eq!(
            reloaded.observe("http://a/", Some("Kept"), SystemTime::now()),
            None
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn a_corrupt_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{not json").unwrap();
        let mut state = TitleState::load(&path);
        assert_eq!(
            state.observe("http://a/", Some("x"), SystemTime::now()),
            None
        );
    }
}
