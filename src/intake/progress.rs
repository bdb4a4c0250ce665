//! Timing out a transfer by its progress, not its size: a 40 MB mail behind a slow link may take
//! minutes and is fine while bytes keep coming; a connection that stops delivering is given up
//! after a stall, however much or little was asked for.
//!
//! [`Progress`] wraps the byte stream under an IMAP session and notes when it last read a byte;
//! [`while_moving`] runs a command until it ends or the stream has been silent too long.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// When a stream last delivered bytes; shared between the stream and whoever waits on it.
#[derive(Debug, Clone)]
pub struct LastProgress {
    origin: Instant,
    millis: Arc<AtomicU64>,
}

impl Default for LastProgress {
    fn default() -> Self {
        LastProgress {
            origin: Instant::now(),
            millis: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl LastProgress {
    /// Notes progress now.
    pub fn touch(&self) {
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.millis.store(now, Ordering::Relaxed);
    }

    /// How long since the last progress.
    pub fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.millis.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

/// A byte stream that notes every read that delivered bytes.
#[derive(Debug)]
pub struct Progress<S> {
    inner: S,
    progress: LastProgress,
}

impl<S> Progress<S> {
    pub fn new(inner: S, progress: LastProgress) -> Progress<S> {
        Progress { inner, progress }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Progress<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.progress.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Progress<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The transfer stopped: nothing was read for the whole stall time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalled(pub Duration);

/// Runs `work` until it ends, or until `progress` has seen no byte for `stall`.
pub async fn while_moving<T>(
    progress: &LastProgress,
    stall: Duration,
    work: impl Future<Output = T>,
) -> Result<T, Stalled> {
    progress.touch();
    let check = (stall / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return Ok(done),
            () = tokio::time::sleep(check) => {
                if progress.silent_for() >= stall {
                    return Err(Stalled(stall));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A transfer slower in total than the stall time, but never silent that long, finishes.
    #[tokio::test]
    async fn a_slow_transfer_that_keeps_moving_is_not_cut_off() {
        let (mut server, client) = tokio::io::duplex(64);
        let progress = LastProgress::default();
        let mut reader = Progress::new(client, progress.clone());
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for _ in 0..20 {
                server.write_all(b"x").await.expect("write");
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
        let read = while_moving(&progress, Duration::from_millis(200), async {
            let mut got = vec![0u8; 20];
            reader.read_exact(&mut got).await.map(|_| got.len())
        })
        .await;
        assert_eq!(read.expect("not stalled").expect("read"), 20);
        writer.await.expect("writer");
    }

    /// A transfer that stops is given up after the stall time, not after some total.
    #[tokio::test]
    async fn a_transfer_that_stops_is_given_up() {
        let (mut server, client) = tokio::io::duplex(64);
        let progress = LastProgress::default();
        let mut reader = Progress::new(client, progress.clone());
        use tokio::io::AsyncWriteExt;
        server.write_all(b"abc").await.expect("write");
        let read = while_moving(&progress, Duration::from_millis(200), async {
            let mut got = vec![0u8; 10];
            reader.read_exact(&mut got).await
        })
        .await;
        assert_eq!(read.err(), Some(Stalled(Duration::from_millis(200))));
        drop(server);
    }
}
