//! The web app at the HTTP level, without a socket (axum's `oneshot`): who may reach what, CSRF,
//! escaping of what customers write, the residents' private links, and actions through the forms
//! landing on the case core. The browser test on the real mail stack is in `browser`.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use redress::accounts::{Role, hash_password};
use redress::clock::Clock;
use redress::web::{Web, router};
use tower::ServiceExt;

use crate::support::fakes::FakeWorld;
use crate::support::*;

pub const PASSWORD: &str = "a long enough password";

/// A landlord on fakes with the web app on, three accounts and one complaint from a customer
/// whose name, subject and body carry markup.
struct Site {
    world: FakeWorld,
    router: Router,
    reference: String,
}

/// What a request got back.
struct Got {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Got {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The Set-Cookie header, whole (with its attributes).
    fn set_cookie(&self) -> String {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("a Set-Cookie header")
            .to_string()
    }

    /// The session cookie to send back: name=value, without its attributes.
    fn cookie(&self) -> String {
        self.set_cookie()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The CSRF token in the page's forms.
    fn csrf(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        self.body[start..start + 64].to_string()
    }
}

const HOSTILE_NAME: &str = "Eve <script>alert('name')</script>";

async fn site() -> Site {
    let mut world = FakeWorld::new(
        "[web]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://complaints.example.test\"\ntrusted_proxies = [\"203.0.113.5\"]\n",
    )
    .await;
    let now = at("2026-11-23T10:00:00Z");
    for (email, role) in [
        ("handler@landlord.test", Role::Handler),
        ("manager@landlord.test", Role::Manager),
        ("admin@landlord.test", Role::Admin),
    ] {
        let hash = hash_password(PASSWORD).expect("hash");
        let name = email.split('@').next().unwrap_or_default();
        assert!(
            world
                .app
                .store
                .add_account(email, name, role, Some(&hash), now)
                .await
                .expect("account")
        );
    }
    let mail = format!(
        "From: \"{HOSTILE_NAME}\" <{customer}>\r\nTo: <{complaints}>\r\nSubject: Leak <img src=x onerror=alert(1)>\r\nMessage-ID: <web-{customer}>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nWater pours through the ceiling and nobody came. <script>alert('body')</script> I am unhappy and want to complain.\r\n",
        customer = world.customer,
        complaints = world.complaints,
    );
    world.mailbox.deliver(mail.as_bytes(), now);
    world.pass(now).await;
    let reference = world.app.store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone();
    let app = std::sync::Arc::new(world.app.acting_as("redress"));
    let router = router(Web::new(app, Clock::starting_at(now)));
    Site {
        world,
        router,
        reference,
    }
}

impl Site {
    async fn send(&self, request: Request<Body>) -> Got {
        self.send_from("192.0.2.10:40000", request).await
    }

    async fn send_from(&self, peer: &str, mut request: Request<Body>) -> Got {
        let peer: SocketAddr = peer.parse().expect("addr");
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Got {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Got {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Got {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", redress::web::url_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).expect("request"))
            .await
    }

    /// Signs in and returns the session cookie.
    async fn sign_in(&self, email: &str) -> String {
        let got = self
            .post(
                "/signin",
                None,
                &[("email", email), ("password", PASSWORD), ("next", "/")],
            )
            .await;
        assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
        let cookie = got.set_cookie();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.contains("Secure"),
            "{cookie}"
        );
        got.cookie()
    }

    /// The site's case, whole, as it stands.
    async fn detail(&self) -> redress::store::CaseDetail {
        self.world
            .app
            .store
            .case_detail(&self.reference)
            .await
            .expect("detail")
    }

    fn now(&self) -> DateTime<Utc> {
        at("2026-11-23T10:00:00Z")
    }
}

#[tokio::test]
async fn nothing_but_sign_in_residents_and_health_is_reachable_without_signing_in() {
    let site = site().await;
    let r = &site.reference;
    for path in [
        "/".to_string(),
        "/cases".into(),
        format!("/cases/{r}"),
        format!("/cases/{r}/messages/1/original.eml"),
        format!("/cases/{r}/messages/1/attachments/0"),
        "/dashboard".into(),
        "/report".into(),
        "/report.csv".into(),
        "/outbox".into(),
        "/users".into(),
    ] {
        let got = site.get(&path, None).await;
        assert_eq!(got.status, StatusCode::SEE_OTHER, "GET {path}");
        assert!(
            got.location().starts_with("/signin?next="),
            "GET {path} → {}",
            got.location()
        );
    }
    for path in [
        format!("/cases/{r}/note"),
        "/outbox/1/retry".into(),
        "/users".into(),
        "/signout".into(),
    ] {
        let got = site.post(&path, None, &[("text", "x")]).await;
        assert_eq!(got.status, StatusCode::SEE_OTHER, "POST {path}");
    }
    assert_eq!(site.get("/signin", None).await.status, StatusCode::OK);
    assert_eq!(site.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(
        site.get("/static/style.css", None).await.status,
        StatusCode::OK
    );
    let events = site
        .world
        .app
        .store
        .case_detail(r)
        .await
        .expect("detail")
        .events
        .len();
    let again = site
        .world
        .app
        .store
        .case_detail(r)
        .await
        .expect("detail")
        .events
        .len();
    assert_eq!(events, again);
}

#[tokio::test]
async fn each_role_reaches_only_its_pages() {
    let site = site().await;
    let handler = site.sign_in("handler@landlord.test").await;
    let manager = site.sign_in("manager@landlord.test").await;
    let admin = site.sign_in("admin@landlord.test").await;
    for path in ["/dashboard", "/report", "/report.csv", "/outbox", "/users"] {
        assert_eq!(
            site.get(path, Some(&handler)).await.status,
            StatusCode::FORBIDDEN,
            "handler {path}"
        );
    }
    for path in ["/dashboard", "/report", "/report.csv"] {
        assert_eq!(
            site.get(path, Some(&manager)).await.status,
            StatusCode::OK,
            "manager {path}"
        );
    }
    for path in ["/outbox", "/users"] {
        assert_eq!(
            site.get(path, Some(&manager)).await.status,
            StatusCode::FORBIDDEN,
            "manager {path}"
        );
        assert_eq!(
            site.get(path, Some(&admin)).await.status,
            StatusCode::OK,
            "admin {path}"
        );
    }
    let report = site
        .get("/report?from=2026-04-01&to=2027-03-31", Some(&manager))
        .await;
    assert!(report.body.contains("Download CSV"), "{}", report.body);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    let path = format!("/cases/{}/note", site.reference);
    let before = site.detail().await.events.len();
    let missing = site.post(&path, Some(&cookie), &[("text", "forged")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = site
        .post(
            &path,
            Some(&cookie),
            &[("text", "forged"), ("csrf", &"0".repeat(64))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let after = site.detail().await.events.len();
    assert_eq!(before, after, "no event was recorded");
    let page = site
        .get(&format!("/cases/{}", site.reference), Some(&cookie))
        .await;
    let done = site
        .post(
            &path,
            Some(&cookie),
            &[("text", "Called the resident"), ("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

#[tokio::test]
async fn what_a_customer_wrote_is_shown_as_text_never_run() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    for path in [
        format!("/cases/{}", site.reference),
        "/cases".to_string(),
        "/cases?q=leak".into(),
    ] {
        let page = site.get(&path, Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains("<script>alert"),
            "{path} carries a live script"
        );
        assert!(
            !page.body.contains("<img src=x"),
            "{path} carries a live image tag"
        );
        assert!(
            page.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path} shows the subject as text"
        );
    }
    let page = site
        .get(&format!("/cases/{}", site.reference), Some(&cookie))
        .await;
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&#x27;body&#x27;)&lt;&#x2f;script&gt;")
            || page.body.contains("&lt;script&gt;alert"),
        "the body is shown escaped"
    );
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("default-src 'self'"), "{csp}");
}

#[tokio::test]
async fn an_action_through_the_form_is_the_case_cores_recorded_as_the_account() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    let page = site
        .get(&format!("/cases/{}", site.reference), Some(&cookie))
        .await;
    let csrf = page.csrf();
    let path = format!("/cases/{}/acknowledge", site.reference);
    // Refused: no outcome sought. The page says why and keeps what was typed.
    let refused = site
        .post(
            &path,
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("understanding", "The ceiling leaks"),
                ("outcome", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("must not be empty"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(">The ceiling leaks</textarea>"),
        "the typed text is kept"
    );
    let done = site
        .post(
            &path,
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("understanding", "The ceiling leaks"),
                ("outcome", "A repair"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location().contains("done=acknowledged"),
        "{}",
        done.location()
    );
    let detail = site.detail().await;
    let event = detail
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "acknowledged")
        .expect("acknowledged event");
    assert_eq!(event.actor, "handler", "the account's name signs it");
    assert_eq!(event.recorded_by.as_deref(), Some("handler@landlord.test"));
    let letter = detail
        .letters
        .iter()
        .find(|l| l.kind == "acknowledgement")
        .expect("acknowledgement queued");
    assert!(
        letter.body.contains("https://complaints.example.test/r/"),
        "{}",
        letter.body
    );
    let shown = site.get(done.location(), Some(&cookie)).await;
    assert!(shown.body.contains("Done: acknowledged"), "{}", shown.body);
}

#[tokio::test]
async fn only_a_manager_answers_stage_2() {
    let site = site().await;
    let app = &site.world.app;
    let response = complete_response(redress::case::model::Outcome::Upheld);
    redress::case::actions::respond(app, &site.reference, "Stage One", &response, site.now())
        .await
        .expect("stage 1");
    redress::case::actions::escalate(
        app,
        &site.reference,
        "Stage One",
        "Still unhappy",
        false,
        site.now(),
    )
    .await
    .expect("escalated");
    let form = |csrf: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("outcome".into(), "upheld".into()),
            ("reasons".into(), "Reviewed".into()),
            ("remedy".into(), "£50".into()),
            ("no_outstanding_actions".into(), "yes".into()),
            ("definition".into(), "A leak".into()),
        ]
    };
    let path = format!("/cases/{}/respond", site.reference);
    for (account, expected) in [
        ("handler@landlord.test", StatusCode::FORBIDDEN),
        ("manager@landlord.test", StatusCode::SEE_OTHER),
    ] {
        let cookie = site.sign_in(account).await;
        let csrf = site
            .get(&format!("/cases/{}", site.reference), Some(&cookie))
            .await
            .csrf();
        let fields = form(&csrf);
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            site.post(&path, Some(&cookie), &borrowed).await.status,
            expected,
            "{account}"
        );
    }
}

#[tokio::test]
async fn a_residents_link_shows_only_their_case_without_staff_notes() {
    let mut site = site().await;
    redress::case::actions::note(
        &site.world.app,
        &site.reference,
        "Jo",
        "STAFF ONLY: difficult resident",
        site.now(),
    )
    .await
    .expect("note");
    // The receipt was queued with the link; send it so it shows as a letter sent.
    let now = site.now();
    site.world.pass(now).await;
    let app = &site.world.app;
    let detail = app
        .store
        .case_detail(&site.reference)
        .await
        .expect("detail");
    let receipt = detail
        .letters
        .iter()
        .find(|l| l.kind == "receipt")
        .expect("receipt");
    let start = receipt.body.find("/r/").expect("a link in the receipt") + 3;
    let token = &receipt.body[start..start + 64];
    let page = site.get(&format!("/r/{token}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&site.reference));
    assert!(page.body.contains("Housing Ombudsman"));
    assert!(!page.body.contains("STAFF ONLY"), "no staff notes");
    assert!(!page.body.contains("landlord.test"), "no staff addresses");
    assert_eq!(
        page.headers
            .get("referrer-policy")
            .and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    // Another case's reference in the path, a wrong token, or a revoked one: nothing.
    assert_eq!(
        site.get(&format!("/r/{}", "a".repeat(64)), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        site.get("/r/../cases", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.store
            .revoke_resident_link(detail.case.id, site.now())
            .await
            .expect("revoke")
    );
    assert_eq!(
        site.get(&format!("/r/{token}"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sign_in_is_limited_and_sign_out_ends_the_session() {
    let site = site().await;
    let attempt = |password: &'static str| {
        Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "email=handler%40landlord.test&password={}",
                redress::web::url_encode(password)
            )))
            .expect("request")
    };
    for _ in 0..5 {
        let got = site
            .send_from("198.51.100.7:5000", attempt("wrong password!!"))
            .await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    }
    let locked = site.send_from("198.51.100.7:5000", attempt(PASSWORD)).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let elsewhere = site.send_from("198.51.100.8:5000", attempt(PASSWORD)).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the account is held from every address"
    );
    let cookie = site.sign_in("manager@landlord.test").await;
    assert_eq!(site.get("/", Some(&cookie)).await.status, StatusCode::OK);
    let csrf = site.get("/", Some(&cookie)).await.csrf();
    assert_eq!(
        site.post("/signout", Some(&cookie), &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        site.get("/", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER,
        "the old cookie signs no one in"
    );
    // A disabled account cannot sign in, and its sessions end.
    let admin = site.sign_in("admin@landlord.test").await;
    assert!(
        site.world
            .app
            .store
            .set_disabled("admin@landlord.test", true)
            .await
            .expect("disable")
    );
    assert_eq!(
        site.get("/", Some(&admin)).await.status,
        StatusCode::SEE_OTHER
    );
    let refused = site
        .post(
            "/signin",
            None,
            &[("email", "admin@landlord.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn lists_filter_search_and_page() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    let found = site
        .get(&format!("/cases?q={}", site.reference), Some(&cookie))
        .await;
    assert!(found.body.contains(&format!("/cases/{}", site.reference)));
    let none = site.get("/cases?q=nothing-like-this", Some(&cookie)).await;
    assert!(none.body.contains("0 cases"), "{}", none.body);
    let overdue = site
        .get("/cases?due=overdue&status=open", Some(&cookie))
        .await;
    assert_eq!(overdue.status, StatusCode::OK);
    assert!(
        overdue.body.contains("0 cases"),
        "nothing is overdue on the day it came"
    );
}

#[tokio::test]
async fn corrections_through_the_form_are_on_record_with_who_and_why() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    let csrf = site
        .get(&format!("/cases/{}", site.reference), Some(&cookie))
        .await
        .csrf();
    let path = format!("/cases/{}/correct", site.reference);
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", ""),
        ("area", "Building safety"),
        ("themes", "damp, mould and condensation\nleaks\n"),
        ("stage", "stage2"),
        ("reason", "A review of last month's answer"),
    ];
    let done = site.post(&path, Some(&cookie), &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let detail = site.detail().await;
    assert_eq!(detail.case.service_area.as_deref(), Some("Building safety"));
    assert_eq!(
        detail.case.themes,
        ["damp, mould and condensation", "leaks"]
    );
    assert_eq!(detail.case.stage, Some(redress::case::model::Stage::Stage2));
    let corrected: Vec<&str> = detail
        .events
        .iter()
        .filter(|e| e.kind == "corrected")
        .map(|e| e.detail["what"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(corrected, ["service_area", "themes", "stage"]);
    assert!(detail.events.iter().filter(|e| e.kind == "corrected").all(
        |e| e.recorded_by.as_deref() == Some("handler@landlord.test")
            && e.detail["reason"] == "A review of last month's answer"
    ));
    assert!(
        detail.letters.iter().any(|l| l.kind == "stage2_receipt"),
        "the stage 2 receipt follows"
    );
}

#[tokio::test]
async fn a_trusted_proxys_identity_header_signs_in_an_existing_account_only() {
    let site = site().await;
    let from_proxy = |email: &str| {
        Request::get("/signin?next=/cases")
            .header("X-Forwarded-Email", email)
            .body(Body::empty())
            .expect("request")
    };
    let got = site
        .send_from("203.0.113.5:1000", from_proxy("manager@landlord.test"))
        .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    assert_eq!(got.location(), "/cases");
    let cookie = got.cookie();
    assert!(
        site.get("/dashboard", Some(&cookie))
            .await
            .status
            .is_success(),
        "signed in as the manager"
    );
    let unknown = site
        .send_from("203.0.113.5:1000", from_proxy("stranger@landlord.test"))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::FORBIDDEN,
        "no account, no entry"
    );
    let spoofed = site
        .send_from("198.51.100.9:1000", from_proxy("manager@landlord.test"))
        .await;
    assert_eq!(
        spoofed.status,
        StatusCode::OK,
        "from anywhere else the header is ignored: the sign-in form"
    );
    assert!(spoofed.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_original_mail_downloads_as_it_came_and_only_from_its_case() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    let detail = site.detail().await;
    let message = detail
        .messages
        .iter()
        .find(|m| m.direction == "in")
        .expect("the mail");
    let got = site
        .get(
            &format!(
                "/cases/{}/messages/{}/original.eml",
                site.reference, message.id
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.contains("Water pours through the ceiling"));
    let disposition = got
        .headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let missing = site
        .get(
            &format!(
                "/cases/{}/messages/{}/attachments/0",
                site.reference, message.id
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::NOT_FOUND,
        "the mail has no attachment"
    );
    let elsewhere = site
        .get(
            &format!(
                "/cases/CMP-1999-000001/messages/{}/original.eml",
                message.id
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "a message is reached only through its own case"
    );
}

#[tokio::test]
async fn a_complaint_taken_by_phone_is_recorded_from_the_browser() {
    let site = site().await;
    let cookie = site.sign_in("handler@landlord.test").await;
    let page = site.get("/new", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<label for=\"new-received\">"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    assert_eq!(
        site.post("/new", Some(&cookie), &[("name", "Sam")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let future = site
        .post(
            "/new",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("channel", "phone"),
                ("name", "Sam Caller"),
                ("email", "sam@example.net"),
                ("text", "The lift has been broken for a month."),
                ("received", "2027-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        future.body.contains("in the future")
            && future
                .body
                .contains("The lift has been broken for a month."),
        "refused, with what was typed kept"
    );
    let done = site
        .post(
            "/new",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("channel", "phone"),
                ("name", "Sam Caller"),
                ("email", "sam@example.net"),
                ("text", "The lift has been broken for a month."),
                ("received", "2026-11-23T09:30"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let reference = done
        .location()
        .trim_start_matches("/cases/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let detail = site
        .world
        .app
        .store
        .case_detail(&reference)
        .await
        .expect("the new case");
    assert_eq!(detail.case.kind.as_str(), "complaint");
    assert_eq!(detail.case.subject, "The lift has been broken for a month.");
    assert_eq!(
        detail.case.received_at,
        at("2026-11-23T09:30:00Z"),
        "the clock starts when the resident called (GMT in November)"
    );
    assert!(
        detail
            .letters
            .iter()
            .any(|l| l.kind == "receipt" && l.to_address == "sam@example.net")
    );
    assert!(
        detail
            .events
            .iter()
            .all(|e| e.recorded_by.as_deref() == Some("handler@landlord.test"))
    );
}
