//! `[oauth2]`: how redress gets tokens for a mailbox that takes no password (Microsoft 365,
//! Google Workspace): the client-credentials grant, or a command that prints a token.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Base, ConfigError, Secret, invalid, missing};

/// Where tokens come from.
#[derive(Debug, Clone)]
pub struct OAuth2Settings {
    pub source: TokenSourceSettings,
}

/// The two ways to a token.
#[derive(Debug, Clone)]
pub enum TokenSourceSettings {
    /// The client-credentials grant: how an unattended service signs in to Exchange Online.
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: Secret,
        scope: String,
    },
    /// A command printing a token (or JSON with `access_token` and `expires_in`): Google
    /// service accounts with domain-wide delegation, or a site's own token broker.
    Command(String),
}

/// Microsoft 365's scope for IMAP and SMTP with application permissions.
pub const MICROSOFT_SCOPE: &str = "https://outlook.office365.com/.default";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth2 {
    token_url: Option<String>,
    tenant: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    scope: Option<String>,
    token_command: Option<String>,
}

pub(super) fn build(
    raw: Option<RawOAuth2>,
    base: &Base<'_>,
) -> Result<Option<OAuth2Settings>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    if let Some(command) = raw.token_command {
        if raw.client_id.is_some() || raw.token_url.is_some() || raw.tenant.is_some() {
            return Err(invalid(
                "oauth2.token_command",
                "set beside the client-credentials keys".to_string(),
                "use either token_command or client_id with token_url (or tenant), not both",
            ));
        }
        return Ok(Some(OAuth2Settings {
            source: TokenSourceSettings::Command(command),
        }));
    }
    let token_url = match (raw.token_url, raw.tenant) {
        (Some(url), None) => url,
        (None, Some(tenant)) => {
            format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
        }
        (Some(_), Some(_)) => {
            return Err(invalid(
                "oauth2.tenant",
                "set beside token_url".to_string(),
                "give token_url, or tenant for Microsoft 365, not both",
            ));
        }
        (None, None) => {
            return Err(missing(
                "oauth2.token_url",
                "set token_url, or tenant = \"<directory id>\" for Microsoft 365, or token_command",
            ));
        }
    };
    if !(token_url.starts_with("https://")
        || token_url.starts_with("http://127.0.0.1")
        || token_url.starts_with("http://localhost"))
    {
        return Err(invalid(
            "oauth2.token_url",
            format!("`{token_url}` is not https"),
            "the token endpoint must be https (plain http only on loopback)",
        ));
    }
    let client_id = raw.client_id.ok_or_else(|| {
        missing(
            "oauth2.client_id",
            "the application (client) id of the app registration",
        )
    })?;
    let secret_file = raw.client_secret_file.ok_or_else(|| {
        missing(
            "oauth2.client_secret_file",
            "a file holding the client secret, e.g. /run/credentials/redress.service/oauth2",
        )
    })?;
    Ok(Some(OAuth2Settings {
        source: TokenSourceSettings::ClientCredentials {
            token_url,
            client_id,
            client_secret: Secret::from_file(
                base.resolve(secret_file),
                "oauth2.client_secret_file",
            ),
            scope: raw.scope.unwrap_or_else(|| MICROSOFT_SCOPE.into()),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn built(text: &str) -> Result<Option<OAuth2Settings>, ConfigError> {
        build(toml::from_str(text).ok(), &Base(Path::new("/etc/redress")))
    }

    #[test]
    fn a_tenant_makes_microsofts_token_url_and_scope() {
        let settings =
            built("tenant = \"contoso\"\nclient_id = \"app\"\nclient_secret_file = \"secret\"")
                .expect("ok")
                .expect("on");
        match settings.source {
            TokenSourceSettings::ClientCredentials {
                token_url, scope, ..
            } => {
                assert_eq!(
                    token_url,
                    "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
                );
                assert_eq!(scope, MICROSOFT_SCOPE);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mistakes_name_their_key() {
        for (text, key) in [
            (
                "client_id = \"app\"\nclient_secret_file = \"s\"",
                "oauth2.token_url",
            ),
            (
                "tenant = \"t\"\nclient_secret_file = \"s\"",
                "oauth2.client_id",
            ),
            (
                "tenant = \"t\"\nclient_id = \"app\"",
                "oauth2.client_secret_file",
            ),
            (
                "token_url = \"http://login.example.org/token\"\nclient_id = \"a\"\nclient_secret_file = \"s\"",
                "oauth2.token_url",
            ),
            (
                "token_command = \"get-token\"\nclient_id = \"a\"",
                "oauth2.token_command",
            ),
        ] {
            let error = built(text).expect_err("refused").to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
    }
}
