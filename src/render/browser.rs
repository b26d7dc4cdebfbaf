//! One Chromium process: started headless with its own temporary profile
//! and the DevTools protocol on a pipe (no port to find or to guard), in a
//! process group of its own, killed with the daemon.
//!
//! Three things keep a browser from outliving us: the group is killed
//! when the [`Browser`] is dropped (restart, shutdown); the kernel kills
//! the browser when the thread that started it dies (`PR_SET_PDEATHSIG`,
//! so a SIGKILLed daemon takes it along), and Chromium's own processes
//! exit when the browser's pipes to them close.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use super::cdp::Connection;
use super::tab::OpenTab;

/// Prefix of the temporary profile folders, followed by the daemon's pid.
const PROFILE_PREFIX: &str = "crawler-chromium-";
/// How long a browser may take to answer its first command.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The environment variable every browser process carries: the daemon's pid.
pub const BROWSER_OF_VAR: &str = "CRAWLER_BROWSER_OF";

/// Browsers started by this process, for unique profile names.
static STARTED: AtomicU32 = AtomicU32::new(0);

/// A running browser.
pub struct Browser {
    /// The DevTools connection.
    pub connection: Arc<Connection>,
    /// Its process id, also its process group.
    pid: i32,
    /// Pages rendered in it so far.
    pub renders: AtomicU64,
    /// Closed once the browser has exited and its profile is removed.
    exited: async_channel::Receiver<()>,
    /// Tabs between two renders.
    idle: std::sync::Mutex<Vec<OpenTab>>,
}

impl Browser {
    /// Starts `binary` headless.
    ///
    /// # Errors
    /// It cannot be started or does not answer: the message says why.
    pub async fn launch(binary: &Path) -> Result<Self, String> {
        remove_stale_profiles();
        let number = STARTED.fetch_add(1, Ordering::Relaxed);
        let profile =
            std::env::temp_dir().join(format!("{PROFILE_PREFIX}{}-{number}", std::process::id()));
        std::fs::create_dir_all(&profile).map_err(|err| {
            format!(
                "cannot create the browser's profile `{}`: {err}",
                profile.display()
            )
        })?;
        let (browser_reads, we_write) = pipe()?;
        let (we_read, browser_writes) = pipe()?;
        let command = command(binary, &profile);
        let (pid, log, exited) = spawn_kept(command, profile, browser_reads, browser_writes)?;
        let connection = Connection::start(File::from(we_write), File::from(we_read))
            .map_err(|err| format!("cannot start the DevTools threads: {err}"))?;
        let browser = Self {
            connection,
            pid,
            renders: AtomicU64::new(0),
            exited,
            idle: std::sync::Mutex::new(Vec::new()),
        };
        let version = async_std::future::timeout(
            START_TIMEOUT,
            browser
                .connection
                .call(None, "Browser.getVersion", json!({})),
        )
        .await;
        match version {
            Ok(Ok(version)) => {
                log::info!(
                    "render: started {} ({}, pid {pid})",
                    binary.display(),
                    version["product"].as_str().unwrap_or("unknown version")
                );
            }
            Ok(Err(err)) => return Err(format!("{err}{}", log_tail(&log))),
            Err(_) => {
                return Err(format!(
                    "`{}` did not answer within {}s{}",
                    binary.display(),
                    START_TIMEOUT.as_secs(),
                    log_tail(&log)
                ));
            }
        }
        let deny = json!({"behavior": "deny"});
        let _ = browser
            .connection
            .call(None, "Browser.setDownloadBehavior", deny)
            .await;
        Ok(browser)
    }

    /// A tab between two renders, if one waits.
    pub fn take_tab(&self) -> Option<OpenTab> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    /// Keeps `tab` for the next render, as long as fewer than `most` wait
    /// (a tab beyond is closed).
    pub fn keep_tab(&self, tab: OpenTab, most: usize) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < most {
            idle.push(tab);
        }
    }

    /// Kills the browser and waits (up to `grace`) until it has exited and
    /// its profile is removed.
    pub async fn close(self, grace: Duration) {
        let exited = self.exited.clone();
        drop(self);
        let _ = async_std::future::timeout(grace, exited.recv()).await;
    }

    /// Memory of the browser's processes (its process group), each page
    /// counted once: the sum of their proportional set sizes (PSS).
    pub fn memory(&self) -> u64 {
        group_memory(self.pid)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe {
            libc::kill(-self.pid, libc::SIGKILL);
        }
    }
}

/// The command line: headless, the pipe, a fresh profile, nothing that
/// phones home, all frames in one process (so one interception sees every
/// request), and no sandbox when running as root (Chromium refuses to start
/// otherwise).
fn command(binary: &Path, profile: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("--headless")
        .arg("--remote-debugging-pipe")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-crash-reporter",
            "--disable-breakpad",
            "--disable-dev-shm-usage",
            "--disable-site-isolation-trials",
            // A navigation in a tab stays in its process and frame host (no
            // new browsing instance or document host per page): a fifth
            // more renders per second on one site.
            "--disable-features=IsolateOrigins,site-per-process,Translate,MediaRouter,OptimizationHints,AcceptCHFrame,BackForwardCache,ProactivelySwapBrowsingInstance,RenderDocument",
            // Every tab renders as the one in front: timers and frames of
            // a tab in the background would be throttled.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            "--mute-audio",
            "--hide-scrollbars",
            "--password-store=basic",
            "--use-mock-keychain",
            "--deny-permission-prompts",
            "--block-new-web-contents",
        ]);
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        command.arg("--no-sandbox");
    }
    command
        .arg("about:blank")
        .env(BROWSER_OF_VAR, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// Whether the daemon runs as root (Chromium then runs without its sandbox).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A pipe as (read end, write end), both close-on-exec.
fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds: [RawFd; 2] = [0; 2];
    // SAFETY: pipe2 fills two valid fds on success.
    let done = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if done != 0 {
        return Err(format!(
            "cannot create a pipe for the browser: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Spawns `command` from a thread that lives as long as the browser (the
/// parent-death signal follows the thread that forked), reaps it, then
/// removes `profile`. The browser reads `reads` as its fd 3 and writes
/// `writes` as its fd 4. Returns its pid and its log file.
fn spawn_kept(
    mut command: Command,
    profile: PathBuf,
    reads: OwnedFd,
    writes: OwnedFd,
) -> Result<(i32, PathBuf, async_channel::Receiver<()>), String> {
    let log = profile.join("chromium.log");
    let stderr =
        File::create(&log).map_err(|err| format!("cannot create `{}`: {err}", log.display()))?;
    command.stderr(stderr);
    let read_fd = std::os::fd::AsRawFd::as_raw_fd(&reads);
    let write_fd = std::os::fd::AsRawFd::as_raw_fd(&writes);
    // SAFETY: only async-signal-safe calls (fcntl, dup2, setpgid, prctl, getppid) run between fork and exec.
    unsafe {
        command.pre_exec(move || {
            // Out of the way of 3 and 4 first, then onto them (dup2 clears close-on-exec).
            let high_read = libc::fcntl(read_fd, libc::F_DUPFD_CLOEXEC, 10);
            let high_write = libc::fcntl(write_fd, libc::F_DUPFD_CLOEXEC, 10);
            if high_read < 0
                || high_write < 0
                || libc::dup2(high_read, 3) < 0
                || libc::dup2(high_write, 4) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (sender, started) = std::sync::mpsc::channel();
    let (gone, exited) = async_channel::bounded::<()>(1);
    std::thread::Builder::new()
        .name("browser".to_owned())
        .spawn(move || {
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(err) => {
                    let _ = sender.send(Err(err));
                    return;
                }
            };
            // The child has its copies; ours must close so EOF reaches both sides.
            drop((reads, writes));
            let _ = sender.send(Ok(child.id()));
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            gone.close();
        })
        .map_err(|err| format!("cannot start the browser's thread: {err}"))?;
    match started.recv() {
        Ok(Ok(pid)) => Ok((i32::try_from(pid).unwrap_or(i32::MAX), log, exited)),
        Ok(Err(err)) => Err(format!("cannot start the browser: {err}")),
        Err(_) => Err("cannot start the browser: its thread ended".to_owned()),
    }
}

/// The last lines Chromium wrote, as a suffix for an error message.
fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if File::open(log)
        .and_then(|mut file| file.read_to_string(&mut text))
        .is_err()
    {
        return String::new();
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.contains("unexpected operator") && !line.trim().is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!("; it said: {}", tail.join(" | "))
    }
}

/// The memory of every process in group `group`, from `/proc`: their PSS
/// summed (RSS would count the binary and shared memory once per process).
fn group_memory(group: i32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    // SAFETY: sysconf cannot fail for _SC_PAGESIZE.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let mut total = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command (which may hold spaces) start after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // rest: state(0) ppid(1) pgrp(2) … rss(21), in pages.
        if fields.get(2).and_then(|pgrp| pgrp.parse::<i32>().ok()) == Some(group) {
            total += pss_of(pid).unwrap_or_else(|| {
                let rss: u64 = fields.get(21).and_then(|r| r.parse().ok()).unwrap_or(0);
                rss * page
            });
        }
    }
    total
}

/// A process's PSS in bytes, from `smaps_rollup`.
fn pss_of(pid: &str) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = rollup.lines().find(|line| line.starts_with("Pss:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Removes the profiles of daemons no longer running (one killed with SIGKILL).
fn remove_stale_profiles() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PROFILE_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
