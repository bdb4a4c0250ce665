//! A TCP proxy in front of a real server that can freeze: it then keeps every connection open
//! but passes nothing either way, as a stopped server process behind a live kernel does (a
//! half-open connection keepalive cannot see). It notes when a client gives up on a frozen
//! connection. Runs on a thread of its own, like the other test servers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A freezable proxy to 127.0.0.1:`target`.
pub struct FreezingProxy {
    pub port: u16,
    frozen: Arc<AtomicBool>,
    given_up: Arc<Mutex<Option<Instant>>>,
}

impl FreezingProxy {
    pub fn start(target: u16) -> FreezingProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let frozen = Arc::new(AtomicBool::new(false));
        let given_up = Arc::new(Mutex::new(None));
        let (f, g) = (frozen.clone(), given_up.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    else {
                        continue;
                    };
                    tokio::spawn(relay(client, server, f.clone(), g.clone()));
                }
            });
        });
        FreezingProxy {
            port,
            frozen,
            given_up,
        }
    }

    /// From now on nothing passes either way on any connection.
    pub fn freeze(&self) {
        *self.given_up.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Traffic passes again (new connections work; frozen ones stay dead).
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    /// When a client closed a connection while frozen: it noticed the server was gone.
    pub fn given_up_at(&self) -> Option<Instant> {
        *self.given_up.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    frozen: Arc<AtomicBool>,
    given_up: Arc<Mutex<Option<Instant>>>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // A connection frozen once stays dead, as the stopped server's would.
    let dead = Arc::new(AtomicBool::new(false));
    let (f, d) = (frozen.clone(), dead.clone());
    let down = tokio::spawn(async move {
        let mut buffer = [0u8; 16384];
        while let Ok(n) = server_read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            if f.load(Ordering::SeqCst) || d.load(Ordering::SeqCst) {
                d.store(true, Ordering::SeqCst);
                continue;
            }
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = [0u8; 16384];
    loop {
        match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                if dead.load(Ordering::SeqCst) || frozen.load(Ordering::SeqCst) {
                    *given_up.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                }
                break;
            }
            Ok(n) => {
                if frozen.load(Ordering::SeqCst) || dead.load(Ordering::SeqCst) {
                    dead.store(true, Ordering::SeqCst);
                    continue;
                }
                if server_write.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    down.abort();
}
