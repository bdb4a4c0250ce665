//! Under systemd: `Type=notify` messages on a real notify socket (READY, STATUS, watchdog pings,
//! RELOADING on SIGHUP, STOPPING on SIGTERM), and log lines carrying journald priorities when
//! standard error is the journal's stream.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Reads notify messages until one contains `wanted` (or fails after 15 s); returns all read.
fn read_until(socket: &UnixDatagram, wanted: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buffer) {
            let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
            let found = message.contains(wanted);
            seen.push(message);
            if found {
                return;
            }
        }
    }
    panic!("no `{wanted}` from the daemon; got {seen:?}");
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_tells_systemd_it_is_ready_alive_reloading_and_stopping() {
    let env = TestEnv::new();
    let socket_path = env.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let log_path = env.dir.path().join("journal.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let meta = std::fs::metadata(&log_path).expect("log metadata");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["--config", &env.config_path.display().to_string(), "run"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("REDRESS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the daemon");
    let mut seen = Vec::new();
    read_until(&socket, "READY=1", &mut seen);
    read_until(&socket, "WATCHDOG=1", &mut seen);
    assert!(
        seen.iter().any(|m| m.contains("STATUS=mailbox")),
        "{seen:?}"
    );
    signal(daemon.id(), "HUP");
    read_until(&socket, "RELOADING=1", &mut seen);
    read_until(&socket, "READY=1", &mut seen);
    signal(daemon.id(), "TERM");
    read_until(&socket, "STOPPING=1", &mut seen);
    let status = daemon.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    let journal = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        journal
            .lines()
            .any(|l| l.starts_with("<6>") && l.contains("redress started")),
        "{journal}"
    );
    assert!(
        journal.lines().all(|l| l.starts_with('<')),
        "every line carries a priority:\n{journal}"
    );
    assert!(
        !journal.contains('\u{1b}'),
        "no colour codes in the journal"
    );
}
