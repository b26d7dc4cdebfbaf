//! Turning process signals into [`Control`] events on one channel.

use async_channel::Receiver;
use futures_lite::StreamExt;
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_async_std::Signals;

/// What the daemon is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop gracefully (SIGTERM, SIGINT); a second one means at once.
    Shutdown(&'static str),
    /// Re-read the configuration (SIGHUP).
    Reload,
    /// Reopen the output file (SIGUSR1).
    Reopen,
}

/// A running signal listener; dropping it leaves the handlers installed but idle.
pub struct Listener {
    handle: signal_hook_async_std::Handle,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Installs handlers for SIGTERM, SIGINT, SIGHUP and SIGUSR1 and forwards them.
///
/// # Errors
/// The handlers could not be installed.
pub fn listen() -> std::io::Result<(Listener, Receiver<Control>)> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?;
    let handle = signals.handle();
    let (sender, receiver) = async_channel::unbounded();
    async_std::task::spawn(async move {
        while let Some(signal) = signals.next().await {
            let control = match signal {
                SIGTERM => Control::Shutdown("SIGTERM"),
                SIGINT => Control::Shutdown("SIGINT"),
                SIGHUP => Control::Reload,
                _ => Control::Reopen,
            };
            if sender.send(control).await.is_err() {
                break;
            }
        }
    });
    Ok((Listener { handle }, receiver))
}
