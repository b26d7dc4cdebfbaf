//! Everything that asks the daemon to act, as [`Control`] events on one channel:
//! signals, and edits of the config file (and `seeds_file`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_channel::{Receiver, Sender};
use futures_lite::StreamExt;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_async_std::Signals;

/// Quiet time after the last file event before a reload (editors write in steps).
pub const WATCH_DEBOUNCE: Duration = Duration::from_secs(1);

/// What the daemon is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop gracefully (SIGTERM, SIGINT); a second one means at once.
    Shutdown(&'static str),
    /// Re-read the configuration: a watched file changed.
    Reload,
    /// SIGHUP: re-read the configuration and reopen the output file.
    Hangup,
    /// Reopen the output file (SIGUSR1, for log rotation).
    Reopen,
}

/// The channel all control events travel on.
pub fn channel() -> (Sender<Control>, Receiver<Control>) {
    async_channel::unbounded()
}

/// A running signal listener; dropping it stops forwarding.
pub struct SignalListener {
    handle: signal_hook_async_std::Handle,
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Forwards SIGTERM, SIGINT, SIGHUP and SIGUSR1 to `controls`.
///
/// # Errors
/// The handlers could not be installed.
pub fn listen(controls: Sender<Control>) -> std::io::Result<SignalListener> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?;
    let handle = signals.handle();
    async_std::task::spawn(async move {
        while let Some(signal) = signals.next().await {
            let control = match signal {
                SIGTERM => Control::Shutdown("SIGTERM"),
                SIGINT => Control::Shutdown("SIGINT"),
                SIGHUP => Control::Hangup,
                _ => Control::Reopen,
            };
            if controls.send(control).await.is_err() {
                break;
            }
        }
    });
    Ok(SignalListener { handle })
}

/// What a watched file looked like; a different stamp means it changed.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    // `metadata` follows symlinks, so a swapped link target counts as a change.
    let meta = fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

/// Watches files by watching their folders, so saves by rename (what editors
/// do) and symlink swaps are seen; sends [`Control::Reload`] once changes settle.
pub struct FileWatcher {
    watcher: Mutex<RecommendedWatcher>,
    files: Arc<Mutex<Vec<(PathBuf, Stamp)>>>,
}

impl FileWatcher {
    /// Starts watching `files`.
    ///
    /// # Errors
    /// The OS watcher could not be created or a folder could not be watched.
    pub fn start(files: &[PathBuf], controls: Sender<Control>) -> notify::Result<Self> {
        let (events, changes) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(event);
        })?;
        let watched = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&watched);
        std::thread::spawn(move || debounce(&changes, &shared, &controls));
        let this = Self {
            watcher: Mutex::new(watcher),
            files: watched,
        };
        this.set_files(files)?;
        Ok(this)
    }

    /// Replaces the watched files (after a reload changed `seeds_file`).
    ///
    /// # Errors
    /// A folder could not be watched.
    pub fn set_files(&self, files: &[PathBuf]) -> notify::Result<()> {
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = Vec::with_capacity(files.len());
        for file in files {
            let folder = match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                _ => PathBuf::from("."),
            };
            watcher.watch(&folder, RecursiveMode::NonRecursive)?;
            entries.push((file.clone(), stamp(file)));
        }
        *self.files.lock().unwrap_or_else(PoisonError::into_inner) = entries;
        Ok(())
    }
}

/// Whether an event touches a watched file by name, or a `..name` entry
/// (the symlink swap Kubernetes uses for mounted config).
fn concerns(event: &notify::Result<notify::Event>, files: &Mutex<Vec<(PathBuf, Stamp)>>) -> bool {
    let Ok(event) = event else {
        return true;
    };
    let files = files.lock().unwrap_or_else(PoisonError::into_inner);
    event.paths.iter().any(|path| {
        let Some(name) = path.file_name() else {
            return false;
        };
        name.to_string_lossy().starts_with("..")
            || files.iter().any(|(file, _)| file.file_name() == Some(name))
    })
}

/// Waits for file events, lets them settle, and sends a reload when a watched file changed.
fn debounce(
    changes: &mpsc::Receiver<notify::Result<notify::Event>>,
    files: &Mutex<Vec<(PathBuf, Stamp)>>,
    controls: &Sender<Control>,
) {
    while let Ok(event) = changes.recv() {
        if !concerns(&event, files) {
            continue;
        }
        // Settle: a reload waits until the watched files have been quiet for
        // WATCH_DEBOUNCE. Writes to other files in the folder (the JSONL
        // output, the state file) neither count nor delay it.
        let mut settle_at = Instant::now() + WATCH_DEBOUNCE;
        loop {
            let left = settle_at.saturating_duration_since(Instant::now());
            match changes.recv_timeout(left) {
                Ok(event) if concerns(&event, files) => settle_at = Instant::now() + WATCH_DEBOUNCE,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let mut changed = false;
        for (path, last) in files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter_mut()
        {
            let now = stamp(path);
            if now != *last {
                *last = now;
                changed = true;
            }
        }
        if changed && controls.send_blocking(Control::Reload).is_err() {
            return;
        }
    }
}
