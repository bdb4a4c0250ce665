//! OAuth2 access tokens for the mailbox and the SMTP server (Microsoft 365, Google Workspace):
//! the client-credentials grant (oauth2 crate), or a configured command that prints a token.
//! Tokens are cached in memory, refreshed five minutes before they expire, and dropped when a
//! server refuses one so the next try fetches a fresh one; a failing token endpoint is retried
//! with backoff. Every error says which step failed, in one line, with no secret in it.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};

use crate::config::{OAuth2Settings, TokenSourceSettings};

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error(
        "OAuth2 token endpoint {url} unreachable: {detail}; check oauth2.token_url or oauth2.tenant and the network"
    )]
    Unreachable { url: String, detail: String },
    #[error(
        "OAuth2 token endpoint refused the client: {code}{detail}; check oauth2.client_id and the secret in oauth2.client_secret_file (it may have expired)"
    )]
    ClientRefused { code: String, detail: String },
    #[error(
        "OAuth2 token endpoint refused the scope: {detail}; check oauth2.scope (Microsoft 365: https://outlook.office365.com/.default)"
    )]
    ScopeRefused { detail: String },
    #[error("OAuth2 token endpoint answered something unreadable: {0}")]
    Unreadable(String),
    #[error("oauth2.token_command failed: {0}")]
    Command(String),
    #[error("oauth2: {0}")]
    Secret(String),
}

/// A token and when it stops working.
#[derive(Clone)]
struct Cached {
    token: String,
    /// When to fetch a new one: five minutes before it expires, or halfway for a short one.
    refresh_at: DateTime<Utc>,
}

impl Cached {
    fn new(token: String, lifetime: chrono::Duration) -> Cached {
        let early = EARLY.min(lifetime / 2);
        Cached {
            token,
            refresh_at: Utc::now() + lifetime - early,
        }
    }
}

/// Where the mailbox's and the SMTP server's tokens come from, with the current one cached.
pub struct TokenSource {
    settings: OAuth2Settings,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").finish_non_exhaustive()
    }
}

/// Refresh this long before a token expires.
const EARLY: chrono::Duration = chrono::Duration::minutes(5);

impl TokenSource {
    pub fn new(settings: OAuth2Settings) -> TokenSource {
        TokenSource {
            settings,
            cached: Mutex::new(None),
        }
    }

    /// A token good for at least five more minutes: the cached one, or a fresh one.
    pub async fn token(&self) -> Result<String, TokenError> {
        let now = Utc::now();
        if let Some(cached) = self.lock().clone()
            && cached.refresh_at > now
        {
            return Ok(cached.token);
        }
        let fresh = self.fetch_with_retries().await?;
        let token = fresh.token.clone();
        *self.lock() = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token (a server refused it): the next call fetches a new one.
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn fetch_with_retries(&self) -> Result<Cached, TokenError> {
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.fetch().await {
                Err(TokenError::Unreachable { .. }) if attempt < 3 => {
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn fetch(&self) -> Result<Cached, TokenError> {
        match &self.settings.source {
            TokenSourceSettings::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                let secret = client_secret
                    .expose()
                    .map_err(|e| TokenError::Secret(e.to_string()))?;
                client_credentials(token_url, client_id, &secret, scope).await
            }
            TokenSourceSettings::Command(command) => from_command(command).await,
        }
    }
}

async fn client_credentials(
    token_url: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> Result<Cached, TokenError> {
    let url = TokenUrl::new(token_url.to_string())
        .map_err(|e| TokenError::Unreadable(format!("oauth2.token_url: {e}")))?;
    let client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_client_secret(ClientSecret::new(secret.to_string()))
        .set_token_uri(url);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| TokenError::Unreadable(e.to_string()))?;
    let answer = client
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.to_string()))
        .request_async(&http)
        .await;
    match answer {
        Ok(token) => {
            let lifetime = token.expires_in().unwrap_or(Duration::from_secs(3600));
            Ok(Cached::new(
                token.access_token().secret().clone(),
                chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(1)),
            ))
        }
        Err(RequestTokenError::ServerResponse(response)) => {
            let code = response.error().to_string();
            let detail = response
                .error_description()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            if code == "invalid_scope" {
                Err(TokenError::ScopeRefused {
                    detail: format!("{code}{detail}"),
                })
            } else {
                Err(TokenError::ClientRefused { code, detail })
            }
        }
        Err(RequestTokenError::Request(error)) => Err(TokenError::Unreachable {
            url: token_url.to_string(),
            detail: error.to_string(),
        }),
        Err(other) => Err(TokenError::Unreadable(other.to_string())),
    }
}

/// Runs the configured command: its output is a token, or JSON with `access_token` (and
/// optionally `expires_in` seconds); without a lifetime the token is used for five minutes.
async fn from_command(command: &str) -> Result<Cached, TokenError> {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .output(),
    )
    .await
    .map_err(|_| TokenError::Command("no answer in 30 s".into()))?
    .map_err(|e| TokenError::Command(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(TokenError::Command(format!(
            "exited with {}: {}",
            output.status,
            stderr.lines().next().unwrap_or("")
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let (token, lifetime) = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) if json.get("access_token").is_some() => (
            json["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            json["expires_in"].as_i64().unwrap_or(300),
        ),
        _ => (text.lines().next().unwrap_or_default().to_string(), 300),
    };
    if token.is_empty() {
        return Err(TokenError::Command("printed no token".into()));
    }
    Ok(Cached::new(token, chrono::Duration::seconds(lifetime)))
}

/// The SASL XOAUTH2 initial response for `user` with `token` (as Microsoft and Google take it).
pub fn xoauth2(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OAuth2Settings, TokenSourceSettings};

    fn command(text: &str) -> TokenSource {
        TokenSource::new(OAuth2Settings {
            source: TokenSourceSettings::Command(text.into()),
        })
    }

    #[tokio::test]
    async fn a_token_command_prints_a_token_or_json_and_is_cached() {
        let json = command("echo '{\"access_token\": \"abc\", \"expires_in\": 3600}'");
        assert_eq!(json.token().await.expect("token"), "abc");
        let plain = command("echo plain-token");
        assert_eq!(plain.token().await.expect("token"), "plain-token");
        let failing = command("echo 'no such broker' >&2; exit 3");
        let error = failing.token().await.expect_err("fails").to_string();
        assert!(
            error.contains("token_command failed") && error.contains("no such broker"),
            "{error}"
        );
    }

    #[test]
    fn the_xoauth2_message_is_as_microsoft_and_google_take_it() {
        assert_eq!(
            xoauth2("a@b.org", "T"),
            "user=a@b.org\u{1}auth=Bearer T\u{1}\u{1}"
        );
    }
}
