//! What the start would fail on, checked without starting (`crawler
//! check`), as the user that runs the check: so a unit's `ExecStartPre`
//! catches what its `ExecStart` would hit. The state file and its lock,
//! and the JSON Lines file, must be writable, or their folder must take new
//! files; the metrics address must be free to bind; a browser must be
//! found when `[render]` renders pages.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::Path;

use crate::config::render::find_browser;
use crate::config::{Config, ListenAddress};
use crate::frontier::Backend;

/// What the check found.
#[derive(Debug, Default)]
pub struct Preflight {
    /// What would make the start fail, one sentence each.
    pub problems: Vec<String>,
    /// What the check cannot know (an address held by a running daemon).
    pub notes: Vec<String>,
}

/// Checks what starting on `config` needs of this machine.
pub fn check(config: &Config) -> Preflight {
    let mut found = Preflight::default();
    // The lock beside the state file is checked once the state file passes.
    for file in Backend::of(config).files() {
        if !found.writable("state_file", &file) {
            if !config.is_state_file_explicit
                && let Some(problem) = found.problems.last_mut()
            {
                problem.push_str(
                    " (the service keeps its state there by default: set `state_file` to choose another place)",
                );
            }
            break;
        }
    }
    if let Some(jsonl) = &config.jsonl {
        found.writable("output.jsonl", jsonl);
    }
    if let Some(listen) = config.settings.metrics.listen {
        found.bindable(listen);
    }
    if config.render.is_on()
        && let Err(why) = find_browser(config.settings.render.browser.as_deref())
    {
        found.problems.push(why);
    }
    found
}

impl Preflight {
    /// Whether `path` can be written: opened for appending when it exists,
    /// else a file can be created in its folder (a problem is noted if not).
    fn writable(&mut self, key: &str, path: &Path) -> bool {
        if path.exists() {
            let opened = OpenOptions::new().append(true).open(path);
            if let Err(err) = &opened {
                self.problems
                    .push(format!("`{key}`: cannot write `{}`: {err}", path.display()));
            }
            return opened.is_ok();
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let probed = probe_folder(folder);
        if let Err(err) = &probed {
            self.problems.push(format!(
                "`{key}`: cannot create `{}`: folder `{}`: {err}",
                path.display(),
                folder.display()
            ));
        }
        probed.is_ok()
    }

    /// `listen` can be bound now; one held by another process may be this
    /// config's running daemon, which the check cannot tell.
    fn bindable(&mut self, listen: ListenAddress) {
        match TcpListener::bind(listen.socket()) {
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::AddrInUse => self.notes.push(format!(
                "`metrics.listen`: `{listen}` is in use now; if this config's daemon is running, it holds it, else the start would fail"
            )),
            Err(err) => self
                .problems
                .push(format!("`metrics.listen`: cannot listen on `{listen}`: {err}")),
        }
    }
}

/// Creates and removes a file in `folder`: whether new files can be made there.
fn probe_folder(folder: &Path) -> std::io::Result<()> {
    if !folder.is_dir() {
        return Err(std::io::Error::new(
            ErrorKind::NotFound,
            "no such folder; create it",
        ));
    }
    let probe = folder.join(format!(".crawler-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}
