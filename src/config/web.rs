//! `[web]`: the staff web app and residents' pages, served by the daemon when `listen` is set.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use super::{ConfigError, invalid};

/// How the web app is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Where the daemon listens (behind a reverse proxy for TLS in production).
    pub listen: SocketAddr,
    /// The address people reach it at, for links in letters and notices (no trailing slash).
    pub public_url: String,
    /// Proxies trusted to set `identity_header` (single sign-on in front of redress).
    pub trusted_proxies: Vec<IpAddr>,
    /// The header carrying the signed-in person's e-mail, set by a trusted proxy.
    pub identity_header: String,
    /// How long a sign-in lasts.
    pub session_hours: u32,
    /// Addresses `/metrics` answers (Prometheus); loopback by default.
    pub metrics_from: Vec<IpAddr>,
}

impl WebSettings {
    /// Whether cookies must be marked `Secure` (the public address is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    listen: Option<String>,
    public_url: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    identity_header: Option<String>,
    session_hours: Option<u32>,
    metrics_from: Option<Vec<String>>,
}

/// The web settings, or `None` (no web app) when `[web]` or its `listen` is absent.
pub(super) fn build(raw: Option<RawWeb>) -> Result<Option<WebSettings>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let Some(listen) = raw.listen else {
        return Ok(None);
    };
    let listen: SocketAddr = listen.parse().map_err(|_| {
        invalid(
            "web.listen",
            format!("`{listen}` is not an address and port"),
            "write it as 127.0.0.1:8080",
        )
    })?;
    let public_url = raw
        .public_url
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_string();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        return Err(invalid(
            "web.public_url",
            format!("`{public_url}` is not an http(s) address"),
            "write the address people use, e.g. https://complaints.example.org",
        ));
    }
    let trusted_proxies = addresses(&raw.trusted_proxies, "web.trusted_proxies")?;
    let metrics_from = match &raw.metrics_from {
        Some(list) => addresses(list, "web.metrics_from")?,
        None => vec![
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        ],
    };
    let session_hours = raw.session_hours.unwrap_or(10);
    if !(1..=24 * 7).contains(&session_hours) {
        return Err(invalid(
            "web.session_hours",
            format!("{session_hours} is out of range"),
            "use between 1 and 168 hours",
        ));
    }
    Ok(Some(WebSettings {
        listen,
        public_url,
        trusted_proxies,
        identity_header: raw
            .identity_header
            .unwrap_or_else(|| "X-Forwarded-Email".into())
            .to_ascii_lowercase(),
        session_hours,
        metrics_from,
    }))
}

fn addresses(list: &[String], key: &str) -> Result<Vec<IpAddr>, ConfigError> {
    list.iter()
        .map(|text| {
            text.parse().map_err(|_| {
                invalid(
                    key,
                    format!("`{text}` is not an IP address"),
                    "list addresses such as [\"127.0.0.1\"]",
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn raw(text: &str) -> Option<RawWeb> {
        toml::from_str(text).ok()
    }

    #[test]
    fn absent_or_without_listen_is_off() {
        assert_eq!(build(None).expect("ok"), None);
        assert_eq!(
            build(raw("public_url = \"https://x.test\"")).expect("ok"),
            None
        );
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let error = build(raw("listen = \"localhost\""))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("web.listen"), "{error}");
        let error = build(raw("listen = \"127.0.0.1:8080\"\npublic_url = \"ftp://x\""))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("web.public_url"), "{error}");
        let error = build(raw(
            "listen = \"127.0.0.1:8080\"\ntrusted_proxies = [\"proxy\"]",
        ))
        .expect_err("refused")
        .to_string();
        assert!(error.contains("web.trusted_proxies"), "{error}");
    }

    #[test]
    fn the_example_config_turns_the_web_app_on() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/redress.example.toml");
        let settings = Settings::load(&path).expect("the example config loads");
        let web = settings.web.expect("[web] is on");
        assert_eq!(web.public_url, "https://complaints.example.org");
        assert!(web.secure_cookies());
        assert_eq!(web.identity_header, "x-forwarded-email");
    }
}
