//! A handler's actions on a case, from the case page's forms: each checks the CSRF token and the
//! role, then calls the same case-core function as the CLI, signed with the account's name and
//! recorded as done by its address. A refused action shows the case again with the reason and
//! what was typed.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};

use super::auth::Staff;
use super::pages::{PageNote, draw_case};
use super::{Web, WebError};
use crate::accounts::{Role, hash_password};
use crate::app::App;
use crate::case::actions::{self, Response as CaseResponse};
use crate::case::by_hand::{self, Correction};
use crate::case::model::{CaseKind, HazardStep, Outcome, OutstandingAction, Stage, Triage};
use crate::case::{ActionReport, CaseError, hazard};

/// A submitted form's fields.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The field's value, trimmed ("" when absent).
    pub fn text(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    fn optional(&self, name: &str) -> Option<String> {
        let text = self.text(name);
        (!text.is_empty()).then(|| text.to_string())
    }

    fn ticked(&self, name: &str) -> bool {
        !self.text(name).is_empty()
    }

    fn number<T: std::str::FromStr>(&self, name: &str, label: &str) -> Result<T, WebError> {
        self.text(name)
            .parse()
            .map_err(|_| WebError::BadRequest(format!("{label}: enter a whole number")))
    }

    fn as_context(&self) -> minijinja::Value {
        minijinja::Value::from_iter(
            self.0
                .iter()
                .filter(|(k, _)| k != "csrf")
                .map(|(k, v)| (k.clone(), v.clone())),
        )
    }
}

/// `POST /cases/{reference}/{action}`.
pub async fn act_on_case(
    State(web): State<Web>,
    staff: Staff,
    Path((reference, action)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = Fields(fields);
    staff.check_csrf(Some(fields.text("csrf")))?;
    let app = web.app.acting_as(&staff.account.email);
    let now = web.clock.now();
    match perform(&app, &staff, &reference, &action, &fields, now).await {
        Ok(report) => {
            tracing::info!(reference = %report.reference, action = report.action, "case action from the web app");
            if report.letter_queued {
                web.letters_queued.notify_one();
            }
            let letter = if report.letter_queued {
                "&letter=1"
            } else {
                ""
            };
            Ok(Redirect::to(&format!(
                "/cases/{}?done={}{letter}#top",
                report.reference,
                super::url_encode(report.action)
            ))
            .into_response())
        }
        Err(WebError::Case(error))
            if !matches!(error, CaseError::Store(_) | CaseError::NoSuchCase(_)) =>
        {
            refused(
                &web,
                &staff,
                &reference,
                &action,
                error.to_string(),
                &fields,
            )
            .await
        }
        Err(WebError::BadRequest(message)) => {
            refused(&web, &staff, &reference, &action, message, &fields).await
        }
        Err(other) => Err(other),
    }
}

async fn refused(
    web: &Web,
    staff: &Staff,
    reference: &str,
    action: &str,
    message: String,
    fields: &Fields,
) -> Result<Response, WebError> {
    let page = draw_case(
        web,
        staff,
        reference,
        PageNote::Refused(action.to_string(), message, fields.as_context()),
    )
    .await?;
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Runs the action named `action` with the form's fields.
async fn perform(
    app: &App,
    staff: &Staff,
    reference: &str,
    action: &str,
    f: &Fields,
    now: DateTime<Utc>,
) -> Result<ActionReport, WebError> {
    let by = staff.account.name.as_str();
    Ok(match action {
        "acknowledge" => {
            actions::acknowledge(
                app,
                reference,
                by,
                f.text("understanding"),
                f.text("outcome"),
                now,
            )
            .await?
        }
        "extend" => {
            let days = f.number("days", "Working days to add")?;
            actions::extend(app, reference, by, days, f.text("reason"), now).await?
        }
        "respond" => respond(app, staff, reference, f, now).await?,
        "escalate" => {
            actions::escalate(app, reference, by, f.text("reason"), f.ticked("force"), now).await?
        }
        "close" => actions::close(app, reference, by, f.text("reason"), now).await?,
        "refuse" => {
            let explanation = f.text("explanation");
            if explanation.is_empty() {
                return Err(WebError::BadRequest(
                    "Explain the refusal to the resident (Code 2.4): the explanation must not be empty".into(),
                ));
            }
            let reason = format!("{}. {explanation}", f.text("ground"));
            actions::refuse(app, reference, by, &reason, now).await?
        }
        "assign" => actions::assign(app, reference, by, f.text("address"), now).await?,
        "note" => actions::note(app, reference, by, f.text("text"), now).await?,
        "source" => actions::set_source(app, reference, by, f.text("source"), now).await?,
        "action-done" => {
            let id = f.number("deadline", "Action")?;
            actions::action_done(app, reference, by, id, now).await?
        }
        other => return needs_and_hazards(app, by, reference, other, f, now).await,
    })
}

/// Corrections, what everyone must know about the resident, and Awaab's Law's hazard records.
async fn needs_and_hazards(
    app: &App,
    by: &str,
    reference: &str,
    action: &str,
    f: &Fields,
    now: DateTime<Utc>,
) -> Result<ActionReport, WebError> {
    Ok(match action {
        "correct" => {
            let correction = correction(f)?;
            by_hand::correct(app, reference, by, &correction, f.text("reason"), now).await?
        }
        "adjust" => actions::adjust(app, reference, by, f.text("needs"), now).await?,
        "authority" => actions::authority(app, reference, by, f.text("authority"), now).await?,
        "happened" => {
            let date = NaiveDate::parse_from_str(f.text("date"), "%Y-%m-%d")
                .map_err(|_| WebError::BadRequest("When it happened: enter a date".into()))?;
            actions::matter_date(app, reference, by, date, now).await?
        }
        "triage" => {
            let triage = Triage::parse(f.text("triage")).ok_or_else(|| {
                WebError::BadRequest("Triage: choose emergency, significant or none".into())
            })?;
            hazard::triage(app, reference, by, triage, f.text("reason"), now).await?
        }
        "hazard" => {
            let step = HazardStep::parse(f.text("step"))
                .ok_or_else(|| WebError::BadRequest("Hazard: choose the step taken".into()))?;
            hazard::progress(app, reference, by, step, f.text("notes"), now).await?
        }
        "revoke-link" => {
            let case = app
                .store
                .case_by_reference(&reference.trim().to_ascii_uppercase())
                .await?
                .ok_or(WebError::NotFound)?;
            app.store.revoke_resident_link(case.id, now).await?;
            actions::note(
                app,
                reference,
                by,
                "The resident's private link was revoked; the next letter carries a new one.",
                now,
            )
            .await?
        }
        _ => return Err(WebError::NotFound),
    })
}

fn correction(f: &Fields) -> Result<Correction, WebError> {
    let kind = match f.text("kind") {
        "" => None,
        text => Some(CaseKind::parse(text).ok_or_else(|| {
            WebError::BadRequest(format!("Kind: `{text}` is not a kind of case"))
        })?),
    };
    let themes = f.optional("themes").map(|text| {
        // One a line: a theme's own name may hold a comma ("damp, mould and condensation").
        text.lines()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    });
    let stage = match f.text("stage") {
        "" => None,
        text => Some(
            Stage::parse(text)
                .ok_or_else(|| WebError::BadRequest(format!("Stage: `{text}` is not a stage")))?,
        ),
    };
    Ok(Correction {
        kind,
        service_area: f.optional("area"),
        themes,
        stage,
    })
}

/// The stage response: stage 2 is answered by a manager (who must not be the stage 1 responder, 6.13).
async fn respond(
    app: &App,
    staff: &Staff,
    reference: &str,
    f: &Fields,
    now: DateTime<Utc>,
) -> Result<ActionReport, WebError> {
    let case = app
        .store
        .case_by_reference(&reference.trim().to_ascii_uppercase())
        .await?
        .ok_or(WebError::NotFound)?;
    if case.stage == Some(Stage::Stage2) {
        staff.require(Role::Manager)?;
    }
    let outcome = match f.text("outcome") {
        "" => None,
        text => Some(Outcome::parse(text).ok_or_else(|| {
            WebError::BadRequest("Outcome: choose upheld, partly upheld or not upheld".into())
        })?),
    };
    let actions = f
        .text("actions")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(OutstandingAction::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebError::BadRequest(format!("Outstanding actions: {e}")))?;
    let response = CaseResponse {
        definition: f.optional("definition"),
        outcome,
        reasons: f.text("reasons").to_string(),
        remedy: f.text("remedy").to_string(),
        actions,
        no_outstanding_actions: f.ticked("no_outstanding_actions"),
    };
    Ok(actions::respond(app, reference, &staff.account.name, &response, now).await?)
}

/// `POST /outbox/{id}/{action}`: retry or cancel a letter (admins).
pub async fn outbox_action(
    State(web): State<Web>,
    staff: Staff,
    Path((id, action)): Path<(i64, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = Fields(fields);
    staff.check_csrf(Some(fields.text("csrf")))?;
    staff.require(Role::Admin)?;
    let app = web.app.acting_as(&staff.account.email);
    let by = staff.account.name.as_str();
    let now = web.clock.now();
    match action.as_str() {
        "retry" => crate::deliver::queue::retry(&app, id, by, now).await?,
        "cancel" => {
            let reason = fields.text("reason");
            if reason.is_empty() {
                return Err(WebError::BadRequest(
                    "Say why the letter is cancelled".into(),
                ));
            }
            crate::deliver::queue::cancel(&app, id, by, reason, now).await?
        }
        _ => return Err(WebError::NotFound),
    };
    Ok(Redirect::to("/outbox").into_response())
}

/// `POST /users`: add an account, change its role, disable or enable it (admins).
pub async fn user_action(
    State(web): State<Web>,
    staff: Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = Fields(fields);
    staff.check_csrf(Some(fields.text("csrf")))?;
    staff.require(Role::Admin)?;
    let store = &web.app.store;
    let email = fields.text("email");
    let role = || {
        Role::parse(fields.text("role"))
            .ok_or_else(|| WebError::BadRequest("Role: choose handler, manager or admin".into()))
    };
    let known = match fields.text("action") {
        "add" => {
            let hash = hash_password(fields.text("password"))
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            let name = fields.optional("name").unwrap_or_else(|| email.to_string());
            if !email.contains('@') {
                return Err(WebError::BadRequest("E-mail: enter an address".into()));
            }
            store
                .add_account(email, &name, role()?, Some(&hash), web.clock.now())
                .await?
        }
        "role" => store.set_role(email, role()?).await?,
        "disable" if email.eq_ignore_ascii_case(&staff.account.email) => {
            return Err(WebError::BadRequest(
                "You cannot disable your own account".into(),
            ));
        }
        "disable" => store.set_disabled(email, true).await?,
        "enable" => store.set_disabled(email, false).await?,
        _ => return Err(WebError::NotFound),
    };
    if !known {
        return Err(WebError::BadRequest(format!(
            "{email}: no such account, or it exists already"
        )));
    }
    tracing::info!(
        by = staff.account.id,
        action = fields.text("action"),
        "account changed"
    );
    Ok(Redirect::to("/users").into_response())
}

/// `GET /new`: the form for a complaint taken by phone, letter or in person.
pub async fn new_complaint_page(
    State(web): State<Web>,
    staff: Staff,
) -> Result<Response, WebError> {
    draw_new(
        &web,
        &staff,
        None,
        &Fields(Vec::new()),
        axum::http::StatusCode::OK,
    )
}

fn draw_new(
    web: &Web,
    staff: &Staff,
    error: Option<String>,
    fields: &Fields,
    status: axum::http::StatusCode,
) -> Result<Response, WebError> {
    let now = web
        .clock
        .now()
        .with_timezone(&web.app.rules.calendar.time_zone())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let page = web.view.render(
        "new.html",
        minijinja::context! {
            staff => super::pages::staff_context(staff), error, now,
            values => fields.as_context(), areas => web.app.rules.settings.routing.areas(),
        },
    )?;
    Ok((status, page).into_response())
}

/// `POST /new`: records the complaint through the case core and opens its page.
pub async fn new_complaint(
    State(web): State<Web>,
    staff: Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = Fields(fields);
    staff.check_csrf(Some(fields.text("csrf")))?;
    let app = web.app.acting_as(&staff.account.email);
    let opened = match taken_complaint(&web, &fields) {
        Ok(taken) => by_hand::open(&app, &staff.account.name, &taken, web.clock.now())
            .await
            .map_err(WebError::from),
        Err(error) => Err(error),
    };
    match opened {
        Ok(report) => {
            tracing::info!(reference = %report.reference, "complaint recorded from the web app");
            if report.letter_queued {
                web.letters_queued.notify_one();
            }
            Ok(
                Redirect::to(&format!("/cases/{}?done=opened#top", report.reference))
                    .into_response(),
            )
        }
        Err(WebError::Case(error)) if !matches!(error, CaseError::Store(_)) => draw_new(
            &web,
            &staff,
            Some(error.to_string()),
            &fields,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(WebError::BadRequest(message)) => draw_new(
            &web,
            &staff,
            Some(message),
            &fields,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(other) => Err(other),
    }
}

/// The form's complaint, with its time read in the landlord's time zone.
fn taken_complaint(web: &Web, f: &Fields) -> Result<by_hand::TakenComplaint, WebError> {
    use chrono::TimeZone;
    let channel = crate::case::model::Channel::parse(f.text("channel")).ok_or_else(|| {
        WebError::BadRequest("How it was made: choose phone, letter or in person".into())
    })?;
    let local = chrono::NaiveDateTime::parse_from_str(f.text("received"), "%Y-%m-%dT%H:%M")
        .map_err(|_| {
            WebError::BadRequest("When the resident made it: enter a date and time".into())
        })?;
    let received_at = web
        .app
        .rules
        .calendar
        .time_zone()
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| {
            WebError::BadRequest("When the resident made it: that time does not exist here".into())
        })?;
    if received_at > web.clock.now() {
        return Err(WebError::BadRequest(
            "When the resident made it: that is in the future".into(),
        ));
    }
    let happened_on =
        match f.optional("happened") {
            Some(text) => Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                WebError::BadRequest("When the matter happened: enter a date".into())
            })?),
            None => None,
        };
    let text = f.text("text").to_string();
    Ok(by_hand::TakenComplaint {
        channel,
        name: f.text("name").to_string(),
        email: f.optional("email"),
        postal_address: f.optional("postal_address"),
        subject: f
            .optional("subject")
            .unwrap_or_else(|| by_hand::title_from(&text)),
        text,
        received_at,
        service_area: f.optional("area"),
        happened_on,
    })
}
