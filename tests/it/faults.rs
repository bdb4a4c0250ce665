//! Faults on the real servers: an IMAP server that freezes under an IDLE (its connection
//! half-open, so TCP keepalive sees nothing) is noticed and left within two minutes, logged,
//! and mail that arrives meanwhile is taken once it answers again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redress::clock::Clock;

use crate::support::proxy::FreezingProxy;
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_imap_server_is_noticed_and_left_within_two_minutes() {
    let env = TestEnv::new();
    let proxy = FreezingProxy::start(env.stack.imap_port);
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replacen(
        &format!("port = {}\nsecurity", env.stack.imap_port),
        &format!("port = {}\nidle_timeout = \"10s\"\nsecurity", proxy.port),
        1,
    );
    std::fs::write(&env.config_path, config).expect("config");
    let app = Arc::new(env.app().await);
    let (shutdown, _) = tokio::sync::broadcast::channel(1);
    let daemon = tokio::spawn(redress::daemon::run(
        app,
        Arc::new(env.sender()),
        Clock::system(),
        shutdown.clone(),
    ));
    let mail = |n: u32| {
        complaint(
            &env.customer,
            &env.complaints,
            &format!("freeze-{n}-{}", env.customer),
            &format!("Heating {n}"),
            "No heating again; I want to complain.",
        )
    };
    env.append(&mail(1), None).await;
    env.wait_for_mails(&env.customer, "INBOX", 1).await;

    proxy.freeze();
    let frozen_at = Instant::now();
    let given_up = loop {
        if let Some(at) = proxy.given_up_at() {
            break at;
        }
        assert!(
            frozen_at.elapsed() < Duration::from_secs(150),
            "the dead connection was never noticed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let noticed = given_up - frozen_at;
    println!("a frozen IMAP server was noticed and left after {noticed:?}");
    assert!(
        noticed < Duration::from_secs(120),
        "noticed after {noticed:?}"
    );

    // The server answers again: mail that came meanwhile is taken.
    proxy.thaw();
    env.append(&mail(2), None).await;
    env.wait_for_mails(&env.customer, "INBOX", 2).await;
    let _ = shutdown.send(());
    let _ = daemon.await;
}
