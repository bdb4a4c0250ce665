//! The pages staff read: their cases, every case (filtered, searched, paged), one case whole,
//! the dashboard, the annual report, the outbox and the accounts; and a case's mails and
//! attachments as downloads.

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::{Web, WebError};
use crate::accounts::Role;
use crate::case::model::CaseKind;
use crate::store::{CaseDetail, CaseFilter, CaseRow, ListedCase};

/// Cases shown on a page of a list.
pub const PER_PAGE: i64 = 50;

/// A case as a list row.
#[derive(Debug, Serialize)]
struct Row {
    reference: String,
    kind: String,
    stage: String,
    status: String,
    name: String,
    subject: String,
    area: String,
    owner: String,
    received: String,
    next_due: String,
    days_left: Option<i64>,
    overdue: bool,
    flagged: bool,
}

fn list_row(web: &Web, listed: &ListedCase, now: DateTime<Utc>) -> Row {
    let rules = &web.app.rules;
    let case = &listed.case;
    let (next_due, days_left) = match listed.next_due {
        Some((kind, due)) => (
            format!("{} by {}", kind.describe(), rules.calendar_time(due)),
            Some(rules.calendar.working_days_left(now, due)),
        ),
        None => (String::new(), None),
    };
    Row {
        reference: case.reference.clone(),
        kind: case.kind.describe().to_string(),
        stage: case.stage.map_or(String::new(), |s| s.words().to_string()),
        status: case.status.to_string(),
        name: case.customer_name.clone().unwrap_or_default(),
        subject: case.subject.clone(),
        area: case
            .service_area
            .clone()
            .unwrap_or_else(|| "not yet assigned".into()),
        owner: case.owner.clone().unwrap_or_default(),
        received: rules.calendar_time(case.received_at),
        overdue: listed.next_due.is_some_and(|(_, due)| due < now),
        next_due,
        days_left,
        flagged: case.needs_attention || case.hazard.is_some(),
    }
}

/// The filters of the all-cases list, as the query string carries them.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    flagged: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: i64,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl ListQuery {
    fn filter(&self, web: &Web, now: DateTime<Utc>) -> CaseFilter {
        let week_end = web.app.rules.calendar.deadline_after(now, 5);
        CaseFilter {
            owner: given(&self.owner),
            stage: given(&self.stage),
            status: given(&self.status),
            service_area: given(&self.area),
            due_before: (self.due == "week").then_some(week_end),
            overdue_at: (self.due == "overdue").then_some(now),
            flagged: self.flagged == "yes",
            search: given(&self.q),
            by_deadline: !self.due.is_empty(),
        }
    }

    /// The query string of this list at another page.
    fn at_page(&self, page: i64) -> String {
        let pairs = [
            ("stage", &self.stage),
            ("status", &self.status),
            ("area", &self.area),
            ("owner", &self.owner),
            ("due", &self.due),
            ("flagged", &self.flagged),
            ("q", &self.q),
        ];
        let mut query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", super::url_encode(v)))
            .collect();
        query.push(format!("page={page}"));
        query.join("&")
    }
}

/// `GET /`: the signed-in handler's open cases, soonest deadline first.
pub async fn my_cases(State(web): State<Web>, staff: Staff) -> Result<Html<String>, WebError> {
    let now = web.clock.now();
    let filter = CaseFilter {
        owner: Some(staff.account.email.clone()),
        status: Some("open".into()),
        by_deadline: true,
        ..CaseFilter::default()
    };
    let page = web.app.store.case_page(&filter, 0, 500).await?;
    let rows: Vec<Row> = page.cases.iter().map(|c| list_row(&web, c, now)).collect();
    Ok(web.view.render(
        "cases.html",
        context! { staff => staff_context(&staff), title => "My cases", mine => true, rows, total => page.total },
    )?)
}

/// `GET /cases`: every case, filtered and searched, a page at a time.
pub async fn all_cases(
    State(web): State<Web>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    let now = web.clock.now();
    let page = query.page.max(0);
    let found = web
        .app
        .store
        .case_page(&query.filter(&web, now), page, PER_PAGE)
        .await?;
    let rows: Vec<Row> = found.cases.iter().map(|c| list_row(&web, c, now)).collect();
    let pages = (found.total + PER_PAGE - 1) / PER_PAGE;
    Ok(web.view.render(
        "cases.html",
        context! {
            staff => staff_context(&staff), title => "All cases", mine => false, rows,
            total => found.total, page => page + 1, pages,
            previous => (page > 0).then(|| query.at_page(page - 1)),
            next => (page + 1 < pages).then(|| query.at_page(page + 1)),
            areas => web.app.store.service_areas().await?,
            query,
        },
    )?)
}

/// What every staff page knows of who is signed in.
pub fn staff_context(staff: &Staff) -> minijinja::Value {
    context! {
        email => staff.account.email, name => staff.account.name, role => staff.account.role.as_str(),
        manager => staff.account.role >= Role::Manager, admin => staff.account.role >= Role::Admin,
        csrf => staff.csrf,
    }
}

/// A mail in or a letter out, as the case page shows it.
#[derive(Debug, Serialize)]
struct Item {
    id: i64,
    direction: String,
    when: String,
    from: String,
    subject: String,
    text: String,
    attachments: Vec<(i64, String, i64)>,
    status: String,
}

/// `GET /cases/{reference}`: everything on record, with the actions as forms.
pub async fn case_page(
    State(web): State<Web>,
    staff: Staff,
    Path(reference): Path<String>,
    Query(done): Query<Done>,
) -> Result<Html<String>, WebError> {
    draw_case(&web, &staff, &reference, PageNote::Done(done)).await
}

/// What the last action did, as the redirect after it says.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
    letter: Option<String>,
}

/// What the case page says above the record.
pub enum PageNote {
    Done(Done),
    /// An action refused: which, why, and the form's values to fill it again.
    Refused(String, String, minijinja::Value),
}

/// The case page, with `problem` (an action refused, and the form's values) when there is one.
pub async fn draw_case(
    web: &Web,
    staff: &Staff,
    reference: &str,
    note: PageNote,
) -> Result<Html<String>, WebError> {
    let detail = web
        .app
        .store
        .case_detail(&reference.trim().to_ascii_uppercase())
        .await?;
    let now = web.clock.now();
    let restricted = match &detail.case.customer_address {
        Some(address) => {
            let today = web.app.rules.calendar.local_date(now);
            web.app.store.restriction_for(address, today).await?
        }
        None => None,
    };
    let (action, error, values, done) = match note {
        PageNote::Refused(action, error, values) => {
            (Some(action), Some(error), values, Done::default())
        }
        PageNote::Done(done) => (None, None, minijinja::Value::UNDEFINED, done),
    };
    Ok(web.view.render(
        "case.html",
        context! {
            staff => staff_context(staff),
            case => case_context(web, &detail.case, restricted),
            deadlines => deadline_rows(web, &detail, now),
            items => items(web, &detail).await?,
            events => event_rows(web, &detail),
            failed_action => action, error, values,
            done => done.done.filter(|d| d.len() < 40), letter => done.letter.is_some(),
            kinds => [CaseKind::Complaint, CaseKind::ServiceRequest, CaseKind::Feedback, CaseKind::Compliment].map(|k| (k.as_str(), k.describe())),
            refusal_reasons => crate::case::actions::REFUSAL_REASONS,
            areas => web.app.rules.settings.routing.areas(),
        },
    )?)
}

fn case_context(web: &Web, case: &CaseRow, restricted: Option<String>) -> minijinja::Value {
    context! {
        reference => case.reference, kind => case.kind.describe(), kind_name => case.kind.as_str(),
        stage => case.stage.map(|s| s.words()), stage_name => case.stage.map(|s| s.as_str()),
        status => case.status.to_string(), open => case.status == crate::case::model::CaseStatus::Open,
        name => case.customer_name, address => case.customer_address, postal => case.postal_address,
        subject => case.subject, received => web.app.rules.calendar_time(case.received_at),
        area => case.service_area, owner => case.owner, themes => case.themes.join("; "),
        attention => case.needs_attention.then_some(case.attention_reason.clone().unwrap_or_default()),
        hazard => case.hazard.as_deref().map(|h| h.replace('_', " ")), representative => case.representative, authority => case.authority,
        adjustments => case.adjustments, restricted,
    }
}

#[derive(Debug, Serialize)]
struct DeadlineView {
    id: i64,
    what: &'static str,
    due: String,
    days_left: i64,
    rule: String,
    status: String,
    overdue: bool,
    action: bool,
}

fn deadline_rows(web: &Web, detail: &CaseDetail, now: DateTime<Utc>) -> Vec<DeadlineView> {
    let rules = &web.app.rules;
    detail
        .deadlines
        .iter()
        .filter(|d| d.status != "superseded")
        .map(|d| DeadlineView {
            id: d.id,
            what: d.kind.describe(),
            due: rules.calendar_time(d.due_at),
            days_left: rules.calendar.working_days_left(now, d.due_at),
            rule: d.rule.clone(),
            overdue: d.status == "open" && d.due_at < now,
            status: d.status.clone(),
            action: d.kind == crate::case::deadlines::DeadlineKind::OutstandingAction,
        })
        .collect()
}

async fn items(web: &Web, detail: &CaseDetail) -> Result<Vec<Item>, WebError> {
    let mut items = Vec::new();
    for m in &detail.messages {
        let raw = web
            .app
            .store
            .raw_message_of_case(detail.case.id, m.id)
            .await?
            .unwrap_or_default();
        let parsed = crate::intake::mail::parse(&raw);
        items.push(Item {
            id: m.id,
            direction: m.direction.clone(),
            when: web.app.rules.calendar_time(m.received_at),
            from: m.from_address.clone().unwrap_or_default(),
            subject: m.subject.clone(),
            text: parsed.text_body,
            attachments: m
                .attachments
                .iter()
                .enumerate()
                .map(|(n, a)| {
                    let name = a.filename.clone().unwrap_or_else(|| a.content_type.clone());
                    (n as i64, name, a.size)
                })
                .collect(),
            status: String::new(),
        });
    }
    let recorded: std::collections::HashSet<&str> = detail
        .messages
        .iter()
        .map(|m| m.message_id.as_str())
        .collect();
    for l in detail
        .letters
        .iter()
        .filter(|l| !recorded.contains(l.message_id.as_str()))
    {
        items.push(Item {
            id: l.id,
            direction: "letter".into(),
            when: String::new(),
            from: format!("to {}", l.to_address),
            subject: l.subject.clone(),
            text: l.body.clone(),
            attachments: Vec::new(),
            status: l.status.clone(),
        });
    }
    Ok(items)
}

#[derive(Debug, Serialize)]
struct EventView {
    when: String,
    what: String,
    by: String,
    detail: String,
}

fn event_rows(web: &Web, detail: &CaseDetail) -> Vec<EventView> {
    detail
        .events
        .iter()
        .map(|e| EventView {
            when: web.app.rules.calendar_time(e.at),
            what: e.kind.replace('_', " "),
            by: match &e.recorded_by {
                Some(account) if account != &e.actor => format!("{} ({account})", e.actor),
                _ => e.actor.clone(),
            },
            detail: describe_detail(&e.detail),
        })
        .collect()
}

/// An event's fields as "name: value" pairs a person can read.
fn describe_detail(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{}: {s}", k.replace('_', " ")),
                other => format!("{}: {other}", k.replace('_', " ")),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// `GET /cases/{reference}/messages/{id}/original.eml`: a mail exactly as it came.
pub async fn raw_message(
    State(web): State<Web>,
    _staff: Staff,
    Path((reference, id)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let case = case_id(&web, &reference).await?;
    let raw = web
        .app
        .store
        .raw_message_of_case(case, id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(download(
        raw,
        "message/rfc822",
        &format!("{reference}-{id}.eml"),
    ))
}

/// `GET /cases/{reference}/messages/{id}/attachments/{n}`.
pub async fn attachment(
    State(web): State<Web>,
    _staff: Staff,
    Path((reference, id, n)): Path<(String, i64, i64)>,
) -> Result<Response, WebError> {
    let case = case_id(&web, &reference).await?;
    let (name, _, bytes) = web
        .app
        .store
        .attachment_of_case(case, id, n)
        .await?
        .ok_or(WebError::NotFound)?;
    let name = name.unwrap_or_else(|| format!("attachment-{n}"));
    // Always a download, never shown inline: an attachment is whatever a stranger sent.
    Ok(download(bytes, "application/octet-stream", &name))
}

async fn case_id(web: &Web, reference: &str) -> Result<i64, WebError> {
    web.app
        .store
        .case_by_reference(&reference.trim().to_ascii_uppercase())
        .await?
        .map(|c| c.id)
        .ok_or(WebError::NotFound)
}

fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /dashboard`: what `redress status` shows (managers).
pub async fn dashboard(State(web): State<Web>, staff: Staff) -> Result<Html<String>, WebError> {
    staff.require(Role::Manager)?;
    let d = crate::report::dashboard::build(&web.app, web.clock.now()).await?;
    let time = |t: DateTime<Utc>| web.app.rules.calendar_time(t);
    let due = |items: &[crate::report::dashboard::DueItem]| -> Vec<minijinja::Value> {
        items
            .iter()
            .map(|i| context! { reference => i.reference, what => i.what, owner => i.owner, due => time(i.due_at), days => i.working_days })
            .collect()
    };
    let rate = |r: crate::report::dashboard::Rate| context! { on_time => r.on_time, total => r.total, percent => r.percent() };
    Ok(web.view.render(
        "dashboard.html",
        context! {
            staff => staff_context(&staff), at => time(d.at), year_from => d.year_from.to_string(),
            open => d.open, overdue => due(&d.overdue), due_this_week => due(&d.due_this_week),
            s1_ack => rate(d.stage1_acknowledged), s1_resp => rate(d.stage1_responded),
            s2_ack => rate(d.stage2_acknowledged), s2_resp => rate(d.stage2_responded),
            letters_waiting => d.letters_waiting, letters_failed => d.letters_failed,
            oldest_waiting => d.oldest_waiting_since.map(time),
        },
    )?)
}

#[derive(Debug, Deserialize)]
pub struct Period {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Period {
    /// The period asked for, or this reporting year to date.
    fn dates(&self, web: &Web) -> (NaiveDate, NaiveDate) {
        let today = web.app.rules.calendar.local_date(web.clock.now());
        let from = self
            .from
            .unwrap_or_else(|| crate::report::dashboard::reporting_year_start(today));
        (from, self.to.unwrap_or(today))
    }
}

/// `GET /report`: the annual report as the landlord publishes it (managers).
pub async fn report(
    State(web): State<Web>,
    staff: Staff,
    Query(period): Query<Period>,
) -> Result<Html<String>, WebError> {
    staff.require(Role::Manager)?;
    let (from, to) = period.dates(&web);
    let report = crate::report::figures::build(&web.app, from, to, web.clock.now()).await?;
    let page = crate::report::render::html(&report);
    let bar = format!(
        "<body><nav class=\"report-nav\"><a href=\"/\">My cases</a> · <a href=\"/dashboard\">Dashboard</a> · <a href=\"/report.csv?from={from}&amp;to={to}\">Download CSV</a> · <form method=\"get\" action=\"/report\" style=\"display:inline\"><label>From <input type=\"date\" name=\"from\" value=\"{from}\"></label> <label>to <input type=\"date\" name=\"to\" value=\"{to}\"></label> <button>Show</button></form></nav>"
    );
    Ok(Html(page.replacen("<body>", &bar, 1)))
}

/// `GET /report.csv`.
pub async fn report_csv(
    State(web): State<Web>,
    staff: Staff,
    Query(period): Query<Period>,
) -> Result<Response, WebError> {
    staff.require(Role::Manager)?;
    let (from, to) = period.dates(&web);
    let mut csv = Vec::new();
    crate::report::write_csv(&web.app, from, to, web.clock.now(), &mut csv).await?;
    Ok(download(
        csv,
        "text/csv; charset=utf-8",
        &format!("complaints-{from}-{to}.csv"),
    ))
}

/// `GET /outbox`: letters not yet sent, with their last error (admins).
pub async fn outbox(State(web): State<Web>, staff: Staff) -> Result<Html<String>, WebError> {
    staff.require(Role::Admin)?;
    let letters = crate::deliver::queue::unsent(&web.app).await?;
    let time = |t: DateTime<Utc>| web.app.rules.calendar_time(t);
    let rows: Vec<minijinja::Value> = letters
        .iter()
        .map(|l| context! { id => l.id, reference => l.reference, kind => l.kind, status => l.status, attempts => l.attempts, next => l.next_attempt_at.map(time), error => l.last_error })
        .collect();
    Ok(web.view.render(
        "outbox.html",
        context! { staff => staff_context(&staff), letters => rows },
    )?)
}

/// `GET /users`: the accounts (admins).
pub async fn users(State(web): State<Web>, staff: Staff) -> Result<Html<String>, WebError> {
    staff.require(Role::Admin)?;
    let accounts: Vec<minijinja::Value> = web
        .app
        .store
        .accounts()
        .await?
        .iter()
        .map(|a| context! { email => a.email, name => a.name, role => a.role.as_str(), disabled => a.disabled })
        .collect();
    Ok(web.view.render(
        "users.html",
        context! { staff => staff_context(&staff), accounts },
    )?)
}
