//! How pages are drawn: the embedded templates (auto-escaped, so a customer's `<script>` shows
//! as text), the style sheet, and the headers every response carries.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// The templates, compiled once.
pub struct View {
    env: Environment<'static>,
}

/// Every page template, by name, as built into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("signin.html", include_str!("templates/signin.html")),
    ("cases.html", include_str!("templates/cases.html")),
    ("case.html", include_str!("templates/case.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("outbox.html", include_str!("templates/outbox.html")),
    ("users.html", include_str!("templates/users.html")),
    ("new.html", include_str!("templates/new.html")),
    ("resident.html", include_str!("templates/resident.html")),
];

impl View {
    pub fn new() -> View {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and checked by the tests: a broken one is a
            // bug found before release, so it is logged and the page shows an error.
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, template = name, "page template does not compile");
            }
        }
        View { env }
    }

    /// The page `name` drawn with `context`.
    pub fn render(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<Html<String>, minijinja::Error> {
        Ok(Html(self.env.get_template(name)?.render(context)?))
    }

    /// A plain page for an error, with the message escaped.
    pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
        let title = status.canonical_reason().unwrap_or("Error");
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main id=\"main\"><h1>{title}</h1><p role=\"alert\">{}</p><p><a href=\"/\">Back to my cases</a></p></main></body></html>",
            escape(message)
        ))
    }
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

/// `text` safe inside HTML.
pub fn escape(text: &str) -> String {
    minijinja::HtmlEscape(text).to_string()
}

/// `GET /static/style.css`.
pub async fn style_sheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("static/style.css"),
    )
        .into_response()
}

/// Headers on every response: no framing, no scripts or styles from elsewhere, no referrer (a
/// resident's private link must not leak to another site), nothing cached that is personal.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
