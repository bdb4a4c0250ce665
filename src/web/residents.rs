//! The resident's private read-only page, reached by the long random link in their letters:
//! their case's stage, the dates that apply, the letters sent to them and how to escalate,
//! including to the Housing Ombudsman. No staff notes, no staff addresses, no other case.

use axum::extract::{Path, State};
use axum::response::Html;
use minijinja::context;

use super::{Web, WebError};
use crate::case::deadlines::DeadlineKind;
use crate::case::model::CaseStatus;

/// `GET /r/{token}`.
pub async fn resident_page(
    State(web): State<Web>,
    Path(token): Path<String>,
) -> Result<Html<String>, WebError> {
    // A token is 64 hex characters; anything else is not looked up at all.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WebError::NotFound);
    }
    let reference = web
        .app
        .store
        .case_of_resident_link(&token)
        .await?
        .ok_or(WebError::NotFound)?;
    let detail = web.app.store.case_detail(&reference).await?;
    let rules = &web.app.rules;
    let now = web.clock.now();
    let case = &detail.case;
    // Only the dates the resident was told of: acknowledgement and response, open or met.
    let dates: Vec<minijinja::Value> = detail
        .deadlines
        .iter()
        .filter(|d| d.status == "open" || d.status == "met")
        .filter(|d| {
            matches!(
                d.kind,
                DeadlineKind::Stage1Acknowledgement
                    | DeadlineKind::Stage1Response
                    | DeadlineKind::Stage2Acknowledgement
                    | DeadlineKind::Stage2Response
            )
        })
        .map(|d| context! { what => d.kind.describe(), due => rules.letter_date(d.due_at), done => d.status == "met" })
        .collect();
    let letters: Vec<minijinja::Value> = detail
        .letters
        .iter()
        .filter(|l| Some(&l.to_address) == case.customer_address.as_ref() && l.status == "sent")
        .map(|l| context! { subject => l.subject, body => l.body })
        .collect();
    let org = &rules.settings.organisation;
    Ok(web.view.render(
        "resident.html",
        context! {
            organisation => org.name, complaints_address => org.complaints_address,
            ombudsman => org.ombudsman_contact,
            reference => case.reference, subject => case.subject,
            kind => case.kind.describe(), stage => case.stage.map(|s| s.words()),
            open => case.status == CaseStatus::Open, status => case.status.to_string(),
            received => rules.letter_date(case.received_at), dates, letters,
            today => rules.letter_date(now),
        },
    )?)
}
