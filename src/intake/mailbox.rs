//! The complaints mailbox over IMAP: connect (TLS, STARTTLS, or plain on loopback), find what is
//! waiting, fetch it with its INTERNALDATE, move it to the processed folder once recorded, and
//! wait for more with IDLE (re-issued before the server's timeout) or by polling.
//!
//! Only UID commands are used, never sequence numbers, so a message that moves or is expunged by
//! another client never makes us act on the wrong mail.

use std::fmt::Debug;
use std::time::Duration;

use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::progress::{LastProgress, Progress, Stalled, while_moving};
use crate::config::Login;
use crate::config::{MailboxSettings, Security};
use crate::tls::{TlsError, client_config};

/// A mailbox failure.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot connect to IMAP server {host}:{port}: {error}")]
    Connect {
        host: String,
        port: u16,
        error: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("IMAP server name {0} is not valid for TLS")]
    ServerName(String),
    #[error(
        "IMAP login to {host}:{port} as {user} was refused ({message}): check mailbox.username and the password (mailbox.password or mailbox.password_file)"
    )]
    Login {
        host: String,
        port: u16,
        user: String,
        message: String,
    },
    #[error(
        "IMAP sign-in to {host}:{port} as {user} with an OAuth2 token was refused ({message}): the server refused the token; check the app's IMAP permission (IMAP.AccessAsApp), that it was granted access to this mailbox, and oauth2.scope"
    )]
    TokenRefused {
        host: String,
        port: u16,
        user: String,
        message: String,
    },
    #[error(transparent)]
    Token(#[from] crate::tokens::TokenError),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("IMAP connection: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Secret(#[from] crate::config::ConfigError),
    #[error("IMAP server closed the connection before greeting")]
    NoGreeting,
    #[error("IMAP server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("IMAP server stopped sending for {0:?} in the middle of a fetch")]
    Stalled(Duration),
}

impl From<Stalled> for MailboxError {
    fn from(stalled: Stalled) -> Self {
        MailboxError::Stalled(stalled.0)
    }
}

/// The byte stream under an IMAP session: TCP, or TLS over TCP.
pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapStream for T {}

type BoxedStream = Box<dyn ImapStream>;

/// One message fetched from the mailbox.
#[derive(Debug, Clone)]
pub struct FetchedMail {
    pub uid: u32,
    pub raw: Vec<u8>,
    pub internal_date: Option<DateTime<Utc>>,
}

/// A message waiting in the watched folder, with its size as the server counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub uid: u32,
    pub size: u64,
}

/// What ended a wait for new mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The server reported a change (new mail, expunge).
    Changed,
    /// The IDLE or poll interval ran out.
    TimedOut,
}

/// A logged-in IMAP session on the complaints mailbox.
pub struct MailboxClient {
    session: Session<BoxedStream>,
    link: Link,
}

/// What a session knows of its connection besides the session itself (kept aside while an IDLE
/// holds the session).
struct Link {
    /// When the connection last delivered a byte: fetches time out by this, not by size.
    progress: LastProgress,
    settings: MailboxSettings,
    has_idle: bool,
    has_move: bool,
    has_uidplus: bool,
}

impl Debug for MailboxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxClient")
            .field("host", &self.link.settings.host)
            .field("has_idle", &self.link.has_idle)
            .finish()
    }
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A fetch is given up when the server sends nothing for this long (however long it takes while
/// bytes keep coming: a large mail behind a slow link is taken, not started again every pass).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest one IDLE lasts before it is ended to check the server is alive: a server that
/// froze (its process stopped, the connection half-open, so keepalive sees nothing) is noticed
/// within this plus [`PROBE_TIMEOUT`], under two minutes.
pub const LIVENESS_CYCLE: Duration = Duration::from_secs(60);

/// How long the server has to answer the end of an IDLE (its "are you there").
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

async fn timed<T, E>(fut: impl Future<Output = Result<T, E>>) -> Result<T, MailboxError>
where
    MailboxError: From<E>,
{
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(result) => result.map_err(MailboxError::from),
        Err(_) => Err(MailboxError::Timeout(COMMAND_TIMEOUT)),
    }
}

/// Formats UIDs as an IMAP sequence set.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

async fn tls_wrap(settings: &MailboxSettings, tcp: TcpStream) -> Result<BoxedStream, MailboxError> {
    let config = client_config(settings.ca_file.as_deref())?;
    let name = rustls::pki_types::ServerName::try_from(settings.host.clone())
        .map_err(|_| MailboxError::ServerName(settings.host.clone()))?;
    let stream = timed(TlsConnector::from(config).connect(name, tcp)).await?;
    Ok(Box::new(stream))
}

/// The server's text in a response the IMAP library reports as `code: …, info: Some("…")`.
fn server_words(text: &str) -> String {
    let info = text
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(text, |(words, _)| words);
    info.trim().to_string()
}

/// Reads the server's greeting, the first thing it says.
async fn greeting<T>(client: &mut async_imap::Client<T>) -> Result<(), MailboxError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + Debug,
{
    timed(async {
        client
            .read_response()
            .await?
            .ok_or(MailboxError::NoGreeting)
    })
    .await?;
    Ok(())
}

/// The watched mailbox as intake uses it: one capability, so intake runs on IMAP
/// ([`MailboxClient`]) or, in tests of case logic, on an in-memory fake.
pub trait Mailbox: Send {
    /// Selects the watched folder and returns its UIDVALIDITY.
    fn select_watched(&mut self) -> impl Future<Output = Result<u32, MailboxError>> + Send;
    /// Every message waiting in the watched folder with its size, oldest first.
    fn waiting(&mut self) -> impl Future<Output = Result<Vec<Waiting>, MailboxError>> + Send;
    /// Fetches messages by UID with the server's receipt time, without marking them seen.
    fn fetch(
        &mut self,
        uids: &[u32],
    ) -> impl Future<Output = Result<Vec<FetchedMail>, MailboxError>> + Send;
    /// Fetches only the header of messages (`raw` is the header, up to its blank line).
    fn fetch_headers(
        &mut self,
        uids: &[u32],
    ) -> impl Future<Output = Result<Vec<FetchedMail>, MailboxError>> + Send;
    /// Moves recorded messages out of the watched folder to the processed folder.
    fn move_to_processed(
        &mut self,
        uids: &[u32],
    ) -> impl Future<Output = Result<(), MailboxError>> + Send;
    /// Moves messages that could not be recorded to the quarantine folder, for a person.
    fn quarantine(&mut self, uids: &[u32])
    -> impl Future<Output = Result<(), MailboxError>> + Send;
}

impl Mailbox for MailboxClient {
    /// Selects the watched folder and returns its UIDVALIDITY.
    async fn select_watched(&mut self) -> Result<u32, MailboxError> {
        let mailbox = timed(self.session.select(&self.link.settings.folder)).await?;
        Ok(mailbox.uid_validity.unwrap_or(0))
    }

    /// Every message waiting in the selected folder with its RFC822.SIZE, oldest first.
    async fn waiting(&mut self) -> Result<Vec<Waiting>, MailboxError> {
        let found = timed(self.session.uid_search("UNDELETED")).await?;
        let uids: Vec<u32> = found.into_iter().collect();
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let stream = timed(self.session.uid_fetch(uid_set(&uids), "(UID RFC822.SIZE)")).await?;
        let sized: Vec<_> = timed(stream.try_collect::<Vec<_>>()).await?;
        let mut waiting: Vec<Waiting> = sized
            .iter()
            .filter_map(|f| {
                Some(Waiting {
                    uid: f.uid?,
                    size: u64::from(f.size.unwrap_or(0)),
                })
            })
            .collect();
        waiting.sort_unstable_by_key(|w| w.uid);
        Ok(waiting)
    }

    /// Fetches messages by UID with their INTERNALDATE, without marking them seen.
    async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<FetchedMail>, MailboxError> {
        self.fetch_part(uids, "BODY.PEEK[]").await
    }

    async fn fetch_headers(&mut self, uids: &[u32]) -> Result<Vec<FetchedMail>, MailboxError> {
        self.fetch_part(uids, "BODY.PEEK[HEADER]").await
    }

    /// Moves recorded messages to the processed folder (MOVE, or COPY + delete + expunge).
    async fn move_to_processed(&mut self, uids: &[u32]) -> Result<(), MailboxError> {
        let target = self.link.settings.processed_folder.clone();
        self.move_uids(uids, &target).await
    }

    async fn quarantine(&mut self, uids: &[u32]) -> Result<(), MailboxError> {
        let target = self.link.settings.quarantine_folder.clone();
        self.move_uids(uids, &target).await
    }
}

impl MailboxClient {
    /// Fetches `part` of each message, one message at a time off the wire (each is copied out
    /// and the server's response dropped before the next), timing out only when it stalls.
    async fn fetch_part(
        &mut self,
        uids: &[u32],
        part: &str,
    ) -> Result<Vec<FetchedMail>, MailboxError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("(UID INTERNALDATE {part})");
        let session = &mut self.session;
        let mails = while_moving(&self.link.progress, STALL_TIMEOUT, async {
            let mut stream = session.uid_fetch(uid_set(uids), &query).await?;
            let mut mails = Vec::with_capacity(uids.len());
            while let Some(fetch) = stream.try_next().await? {
                let raw = fetch.body().or_else(|| fetch.header());
                if let (Some(uid), Some(raw)) = (fetch.uid, raw) {
                    mails.push(FetchedMail {
                        uid,
                        raw: raw.to_vec(),
                        internal_date: fetch.internal_date().map(|d| d.with_timezone(&Utc)),
                    });
                }
            }
            Ok::<_, MailboxError>(mails)
        })
        .await??;
        let mut mails = mails;
        mails.sort_by_key(|m| m.uid);
        Ok(mails)
    }

    /// Removes from `folder` the mails with these Message-IDs (purged cases' copies in the
    /// processed folder); returns how many were removed.
    pub async fn expunge_message_ids(
        &mut self,
        folder: &str,
        message_ids: &[String],
    ) -> Result<usize, MailboxError> {
        timed(self.session.select(folder)).await?;
        let mut uids = Vec::new();
        for id in message_ids {
            // Quotes and backslashes cannot be searched for safely; such ids are left alone.
            if id.contains(['"', '\\', '\r', '\n']) {
                continue;
            }
            let query = format!("HEADER Message-ID \"<{id}>\"");
            uids.extend(timed(self.session.uid_search(&query)).await?);
        }
        if uids.is_empty() {
            return Ok(0);
        }
        uids.sort_unstable();
        let set = uid_set(&uids);
        let stored = timed(self.session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")).await?;
        let _: Vec<_> = timed(stored.try_collect::<Vec<_>>()).await?;
        let expunged = timed(self.session.expunge()).await?;
        let _: Vec<_> = timed(expunged.try_collect::<Vec<_>>()).await?;
        Ok(uids.len())
    }

    /// Moves messages to `target` (MOVE, or COPY + delete + expunge).
    async fn move_uids(&mut self, uids: &[u32], target: &str) -> Result<(), MailboxError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        if self.link.has_move {
            timed(self.session.uid_mv(&set, target)).await?;
            return Ok(());
        }
        timed(self.session.uid_copy(&set, target)).await?;
        let stored = timed(self.session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")).await?;
        let _: Vec<_> = timed(stored.try_collect::<Vec<_>>()).await?;
        if self.link.has_uidplus {
            let expunged = timed(self.session.uid_expunge(&set)).await?;
            let _: Vec<_> = timed(expunged.try_collect::<Vec<_>>()).await?;
        }
        // Without UIDPLUS the \Deleted messages stay until another client expunges; they are
        // excluded by `waiting_uids` (UNDELETED) and never handled twice.
        Ok(())
    }
}

/// Whether the server said new mail arrived while we were busy with other commands (a fetch,
/// a move). It says so once, as an untagged EXISTS or RECENT the IMAP library sets aside; an IDLE
/// begun after it would wait for the next mail, leaving this one until the liveness cycle ends.
/// The set-aside responses are drained either way, so the library's bounded queue never fills.
fn news_while_busy(session: &Session<BoxedStream>) -> bool {
    use async_imap::types::UnsolicitedResponse;
    let mut news = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        news |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    news
}

/// SASL XOAUTH2's one message: the user and the bearer token.
struct XOAuth2(String);

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        // A second challenge is the server's error detail: answer empty to end the exchange.
        std::mem::take(&mut self.0)
    }
}

/// Signs in with the password, or with an OAuth2 token (SASL XOAUTH2); a refused token is
/// dropped from the cache so the next attempt fetches a fresh one.
async fn sign_in(
    client: async_imap::Client<BoxedStream>,
    settings: &MailboxSettings,
) -> Result<Session<BoxedStream>, MailboxError> {
    let user = &settings.username;
    let attempt = match &settings.login {
        Login::Password(password) => {
            tokio::time::timeout(COMMAND_TIMEOUT, client.login(user, password.expose()?)).await
        }
        Login::OAuth2(tokens) => {
            let token = tokens.token().await?;
            let answer = XOAuth2(crate::tokens::xoauth2(user, &token));
            tokio::time::timeout(COMMAND_TIMEOUT, client.authenticate("XOAUTH2", answer)).await
        }
    };
    match attempt {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((e, _))) => {
            // The server's own words, without the library's debug formatting.
            let message = match e {
                async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
                    server_words(&text)
                }
                other => other.to_string(),
            };
            let (host, port, user) = (settings.host.clone(), settings.port, user.clone());
            Err(match &settings.login {
                Login::Password(_) => MailboxError::Login {
                    host,
                    port,
                    user,
                    message,
                },
                Login::OAuth2(tokens) => {
                    tokens.invalidate();
                    MailboxError::TokenRefused {
                        host,
                        port,
                        user,
                        message,
                    }
                }
            })
        }
        Err(_) => Err(MailboxError::Timeout(COMMAND_TIMEOUT)),
    }
}

impl MailboxClient {
    /// Connects and logs in.
    pub async fn connect(settings: &MailboxSettings) -> Result<MailboxClient, MailboxError> {
        let tcp = timed(TcpStream::connect((settings.host.as_str(), settings.port)))
            .await
            .map_err(|e| match e {
                MailboxError::Io(error) => MailboxError::Connect {
                    host: settings.host.clone(),
                    port: settings.port,
                    error,
                },
                other => other,
            })?;
        tcp.set_nodelay(true)?;
        // A peer that vanished (host down, link cut) is noticed by the kernel within ~2 minutes.
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(60))
            .with_interval(Duration::from_secs(15))
            .with_retries(4);
        socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive)?;
        let stream: BoxedStream = match settings.security {
            Security::Tls => tls_wrap(settings, tcp).await?,
            Security::None => Box::new(tcp),
            Security::StartTls => {
                let mut client = async_imap::Client::new(tcp);
                greeting(&mut client).await?;
                timed(client.run_command_and_check_ok("STARTTLS", None)).await?;
                tls_wrap(settings, client.into_inner()).await?
            }
        };
        let progress = LastProgress::default();
        let stream: BoxedStream = Box::new(Progress::new(stream, progress.clone()));
        let mut client = async_imap::Client::new(stream);
        if settings.security != Security::StartTls {
            greeting(&mut client).await?;
        }
        let mut session = sign_in(client, settings).await?;
        let caps = timed(session.capabilities()).await?;
        let has_idle = caps.has_str("IDLE");
        let has_move = caps.has_str("MOVE");
        let has_uidplus = caps.has_str("UIDPLUS");
        Ok(MailboxClient {
            session,
            link: Link {
                progress,
                settings: settings.clone(),
                has_idle,
                has_move,
                has_uidplus,
            },
        })
    }

    /// True when the server offers IDLE.
    pub fn has_idle(&self) -> bool {
        self.link.has_idle
    }

    /// Creates `folder` unless it exists.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<(), MailboxError> {
        if !self.folder_exists(folder).await? {
            timed(self.session.create(folder)).await?;
        }
        Ok(())
    }

    /// Whether a folder exists (nothing is changed).
    pub async fn folder_exists(&mut self, folder: &str) -> Result<bool, MailboxError> {
        // LIST does not quote its pattern itself: quote it, so that names with spaces work.
        let pattern = format!("\"{}\"", folder.replace('\\', "\\\\").replace('"', "\\\""));
        let list = timed(self.session.list(Some(""), Some(&pattern))).await?;
        let names: Vec<_> = timed(list.try_collect::<Vec<_>>()).await?;
        Ok(!names.is_empty())
    }

    /// Waits for the server to report new mail (IDLE), or for `poll_interval` without IDLE.
    /// IDLE is re-issued after `idle_timeout`, before servers drop it.
    pub async fn wait_for_change(self) -> Result<(MailboxClient, WaitOutcome), MailboxError> {
        let MailboxClient { session, link } = self;
        if news_while_busy(&session) {
            let client = MailboxClient { session, link };
            return Ok((client, WaitOutcome::Changed));
        }
        if !link.has_idle {
            tokio::time::sleep(link.settings.poll_interval).await;
            return Ok((MailboxClient { session, link }, WaitOutcome::TimedOut));
        }
        let mut handle = session.idle();
        timed(handle.init()).await?;
        let outcome = {
            let cycle = link.settings.idle_timeout.min(LIVENESS_CYCLE);
            let (wait, _stop) = handle.wait_with_timeout(cycle);
            wait.await?
        };
        // The server must answer DONE in time, or it is treated as gone and reconnected to.
        let session = match tokio::time::timeout(PROBE_TIMEOUT, handle.done()).await {
            Ok(done) => done?,
            Err(_) => {
                tracing::warn!(server = %format!("{}:{}", link.settings.host, link.settings.port), "the mailbox server did not answer within {PROBE_TIMEOUT:?}: the connection is dead; reconnecting");
                return Err(MailboxError::Timeout(PROBE_TIMEOUT));
            }
        };
        let outcome = match outcome {
            IdleResponse::NewData(_) => WaitOutcome::Changed,
            IdleResponse::Timeout | IdleResponse::ManualInterrupt => WaitOutcome::TimedOut,
        };
        Ok((MailboxClient { session, link }, outcome))
    }

    /// Appends a message with a given INTERNALDATE (for replaying a dated backlog and for tests).
    pub async fn append(
        &mut self,
        folder: &str,
        raw: &[u8],
        internal_date: Option<DateTime<Utc>>,
    ) -> Result<(), MailboxError> {
        let date = internal_date.map(|d| format!("\"{}\"", d.format("%d-%b-%Y %H:%M:%S +0000")));
        timed(self.session.append(folder, None, date.as_deref(), raw)).await?;
        Ok(())
    }

    /// Logs out politely.
    pub async fn logout(mut self) -> Result<(), MailboxError> {
        timed(self.session.logout()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 9, 10, 3]), "1:3,5,9:10");
        assert_eq!(uid_set(&[7]), "7");
    }
}
