//! A small OAuth2 server of the tests' own, on loopback: a client-credentials token endpoint
//! (`POST /token`) and the introspection endpoint the test Dovecot's `oauth2` passdb asks
//! (`POST /introspect`). Tests register clients, set token lifetimes and revoke clients.
//! It runs on a thread of its own for the whole test run, as the mail stack does.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Form;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::post;
use base64::Engine;

struct Client {
    secret: String,
    user: String,
    lifetime: Duration,
    revoked: bool,
    issued: usize,
}

#[derive(Default)]
struct Registry {
    clients: HashMap<String, Client>,
    tokens: HashMap<String, (String, Instant)>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    registry().lock().unwrap_or_else(|e| e.into_inner())
}

/// The port the server listens on (fixed when the mail stack starts: Dovecot is told it).
pub fn port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = Router::new()
                    .route("/token", post(token))
                    .route("/introspect", post(introspect));
                let _ = axum::serve(listener, app).await;
            });
        });
        port
    })
}

/// The token endpoint's address.
pub fn token_url() -> String {
    format!("http://127.0.0.1:{}/token", port())
}

/// Registers a client that gets tokens for `user`, each good for `lifetime`.
pub fn register(client_id: &str, secret: &str, user: &str, lifetime: Duration) {
    lock().clients.insert(
        client_id.to_string(),
        Client {
            secret: secret.to_string(),
            user: user.to_string(),
            lifetime,
            revoked: false,
            issued: 0,
        },
    );
}

/// Revokes a client: no new tokens, and its tokens stop working.
pub fn revoke(client_id: &str) {
    if let Some(client) = lock().clients.get_mut(client_id) {
        client.revoked = true;
    }
}

/// How many tokens the client has been given.
pub fn issued(client_id: &str) -> usize {
    lock().clients.get(client_id).map_or(0, |c| c.issued)
}

/// The client's id and secret: HTTP Basic (as the oauth2 crate sends them) or form fields.
fn credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> (String, String) {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let decode = |s: &str| urlencoding_decode(s);
    match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((id, secret)) => (decode(id), decode(secret)),
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    }
}

fn urlencoding_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn token(headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> impl IntoResponse {
    let (id, secret) = credentials(&headers, &form);
    let mut registry = lock();
    let refused = |error: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": error, "error_description": description})),
        )
    };
    let Some(client) = registry.clients.get_mut(&id) else {
        return refused("invalid_client", "unknown client");
    };
    if client.secret != secret || client.revoked {
        return refused("invalid_client", "client secret wrong or revoked");
    }
    if form.get("scope").map(String::as_str) != Some("https://outlook.office365.com/.default") {
        return refused("invalid_scope", "scope not allowed");
    }
    client.issued += 1;
    let lifetime = client.lifetime;
    let token = format!("tok-{id}-{}-{}", client.issued, rand::random::<u64>());
    registry
        .tokens
        .insert(token.clone(), (id, Instant::now() + lifetime));
    (
        StatusCode::OK,
        Json(
            serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime.as_secs()}),
        ),
    )
}

async fn introspect(Form(form): Form<HashMap<String, String>>) -> Json<serde_json::Value> {
    let token = form.get("token").cloned().unwrap_or_default();
    let registry = lock();
    let active = registry.tokens.get(&token).and_then(|(id, until)| {
        let client = registry.clients.get(id)?;
        (Instant::now() < *until && !client.revoked).then(|| client.user.clone())
    });
    Json(match active {
        Some(user) => serde_json::json!({"active": true, "username": user}),
        None => serde_json::json!({"active": false}),
    })
}
