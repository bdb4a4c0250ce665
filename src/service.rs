//! Running under systemd (`Type=notify`): READY when the daemon has started its tasks, a STATUS
//! line kept current ("mailbox read 0 min ago; 3 letter(s) waiting"), RELOADING and STOPPING,
//! and watchdog pings while the daemon's own loop is turning. Outside systemd every call is a
//! no-op (no `NOTIFY_SOCKET`).

use sd_notify::NotifyState;

fn tell(states: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::debug!(%error, "cannot notify systemd");
    }
}

/// The daemon has started: systemd may consider the service up.
pub fn ready(status: &str) {
    tell(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// What the daemon is doing, for `systemctl status`.
pub fn status(status: &str) {
    tell(&[NotifyState::Status(status)]);
}

/// The configuration is being reloaded (SIGHUP).
pub fn reloading() {
    tell(&[
        NotifyState::Reloading,
        NotifyState::Status("reloading the configuration"),
    ]);
}

/// The daemon is finishing what is in hand before it exits.
pub fn stopping() {
    tell(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing what is in hand"),
    ]);
}

/// A watchdog ping, when the unit asks for them (`WatchdogSec`); sent from a loop that also
/// reads the database, so a daemon stuck anywhere there is restarted.
pub fn alive() {
    if sd_notify::watchdog_enabled().is_some() {
        tell(&[NotifyState::Watchdog]);
    }
}
