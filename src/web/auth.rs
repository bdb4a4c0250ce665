//! Who is asking: sign-in with a password or a trusted proxy's header, sessions in an HttpOnly
//! SameSite=Strict cookie, a CSRF token on every form, roles, and sign-in attempts limited per
//! network address and per account.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Web, WebError};
use crate::accounts::{Role, decoy_hash, new_token, password_matches, token_digest};
use crate::store::AccountRow;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "redress_session";

/// A signed-in member of staff, and the CSRF token their forms carry.
#[derive(Debug, Clone)]
pub struct Staff {
    pub account: AccountRow,
    pub csrf: String,
}

impl Staff {
    /// Refused unless the account's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), WebError> {
        if self.account.role >= role {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Refused unless `token` is this session's CSRF token.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), WebError> {
        match token {
            Some(token) if constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(WebError::BadToken),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session token in the request's cookie.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
}

impl FromRequestParts<Web> for Staff {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Staff, WebError> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        let Some(token) = session_token(&parts.headers) else {
            return Err(WebError::SignIn { next });
        };
        match web
            .app
            .store
            .session(&token_digest(&token), web.clock.now())
            .await?
        {
            Some(session) => Ok(Staff {
                account: session.account,
                csrf: session.csrf,
            }),
            None => Err(WebError::SignIn { next }),
        }
    }
}

/// Failed sign-ins remembered per network address and per account: after
/// [`SignInLimiter::MAX_FAILURES`] in [`SignInLimiter::WINDOW`], further attempts are refused
/// until the window has passed.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl SignInLimiter {
    pub const MAX_FAILURES: usize = 5;
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn keys(address: IpAddr, account: &str) -> [String; 2] {
        [format!("ip:{address}"), format!("account:{account}")]
    }

    /// Whether another attempt from `address` at `account` may be tried now.
    pub fn allows(&self, address: IpAddr, account: &str) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::keys(address, account).iter().all(|key| {
            let recent = failures.entry(key.clone()).or_default();
            recent.retain(|at| at.elapsed() < Self::WINDOW);
            recent.len() < Self::MAX_FAILURES
        })
    }

    /// Remembers a failed attempt.
    pub fn failed(&self, address: IpAddr, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(address, account) {
            failures.entry(key).or_default().push(Instant::now());
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path on this site: never an address elsewhere (an open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `GET /signin`: the form; or, behind a trusted single sign-on proxy, signed in at once.
pub async fn sign_in_page(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(next): Query<Next>,
) -> Result<Response, WebError> {
    let next = safe_next(next.next.as_deref());
    if let Some(email) = proxy_identity(&web, peer.ip(), &headers) {
        return match web.app.store.account_for_sign_in(&email).await? {
            Some((account, _)) if !account.disabled => start_session(&web, &account, &next).await,
            _ => Ok(sign_in_form(
                &web,
                &next,
                Some("Your account is not set up in redress: ask an administrator."),
                StatusCode::FORBIDDEN,
            )),
        };
    }
    Ok(sign_in_form(&web, &next, None, StatusCode::OK))
}

/// The e-mail a trusted proxy vouches for, if the request came from one.
fn proxy_identity(web: &Web, peer: IpAddr, headers: &HeaderMap) -> Option<String> {
    let settings = web.app.rules.settings.web.as_ref()?;
    if !settings.trusted_proxies.contains(&peer) {
        return None;
    }
    headers
        .get(settings.identity_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v.contains('@'))
}

fn sign_in_form(web: &Web, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let page = web.view.render(
        "signin.html",
        minijinja::context! { next => next, error => error, organisation => web.app.rules.settings.organisation.name },
    );
    match page {
        Ok(html) => (status, html).into_response(),
        Err(error) => WebError::from(error).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// `POST /signin`.
pub async fn sign_in(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let email = form.email.trim().to_ascii_lowercase();
    let next = safe_next(form.next.as_deref());
    if !web.limiter.allows(peer.ip(), &email) {
        tracing::warn!(peer = %peer.ip(), "sign-in refused: too many failed attempts");
        return Ok(sign_in_form(
            &web,
            &next,
            Some("Too many failed attempts. Wait 15 minutes, then try again."),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let found = web.app.store.account_for_sign_in(&email).await?;
    let hash = found
        .as_ref()
        .and_then(|(_, hash)| hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || password_matches(&password, &hash))
        .await
        .unwrap_or(false);
    match found {
        Some((account, _)) if matches && !account.disabled => {
            start_session(&web, &account, &next).await
        }
        _ => {
            web.limiter.failed(peer.ip(), &email);
            tracing::info!(peer = %peer.ip(), "sign-in failed");
            Ok(sign_in_form(
                &web,
                &next,
                Some("That e-mail address and password do not match an account."),
                StatusCode::UNAUTHORIZED,
            ))
        }
    }
}

async fn start_session(web: &Web, account: &AccountRow, next: &str) -> Result<Response, WebError> {
    let token = new_token();
    let now = web.clock.now();
    let hours = web
        .app
        .rules
        .settings
        .web
        .as_ref()
        .map_or(10, |w| w.session_hours);
    let expires = now + chrono::Duration::hours(i64::from(hours));
    web.app
        .store
        .start_session(
            &token_digest(&token),
            account.id,
            &new_token(),
            now,
            expires,
        )
        .await?;
    tracing::info!(account = account.id, "signed in");
    let secure = web
        .app
        .rules
        .settings
        .web
        .as_ref()
        .is_some_and(|w| w.secure_cookies());
    let cookie = format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        i64::from(hours) * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

/// `POST /signout`.
pub async fn sign_out(
    State(web): State<Web>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    staff.check_csrf(form.csrf.as_deref())?;
    if let Some(token) = session_token(&headers) {
        web.app.store.end_session(&token_digest(&token)).await?;
    }
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("redress_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/cases/X")), "/cases/X");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_limiter_refuses_after_five_failures_for_an_account_from_any_address() {
        let limiter = SignInLimiter::default();
        for n in 0..5 {
            let address: IpAddr = format!("10.0.0.{n}").parse().expect("ip");
            assert!(limiter.allows(address, "jo@example.org"));
            limiter.failed(address, "jo@example.org");
        }
        let other: IpAddr = "10.0.0.99".parse().expect("ip");
        assert!(!limiter.allows(other, "jo@example.org"));
        assert!(limiter.allows(other, "sam@example.org"));
    }
}
