//! Operations on the outbox: what is not yet sent, and putting a letter back in the queue or
//! cancelling it (each recorded on its case).

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::case::CaseError;
use crate::case::apply::apply;
use crate::case::model::Event;
use crate::case::plan::Plan;
use crate::store::OutboxRow;
use crate::store::outbox::UnsentLetter;

/// Letters not yet sent: waiting, being retried, given up, or to post.
pub async fn unsent(app: &App) -> Result<Vec<UnsentLetter>, CaseError> {
    Ok(app.store.unsent_letters().await?)
}

/// Puts letter `id` back in the queue, due now.
pub async fn retry(
    app: &App,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<OutboxRow, CaseError> {
    let mut tx = app.store.begin().await?;
    let letter = tx
        .retry_letter(id, now)
        .await?
        .ok_or(CaseError::NoSuchLetter(id))?;
    let event = Event::LetterRetried {
        letter: letter.kind.clone(),
        message_id: letter.message_id.clone(),
    };
    record_on_case(&mut tx, app, &letter, by, event, now).await?;
    tx.commit().await?;
    Ok(letter)
}

/// Cancels letter `id` with the reason.
pub async fn cancel(
    app: &App,
    id: i64,
    by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<OutboxRow, CaseError> {
    if reason.trim().is_empty() {
        return Err(CaseError::Empty(
            "--reason (why the letter is not to be sent)",
        ));
    }
    let mut tx = app.store.begin().await?;
    let letter = tx
        .cancel_letter(id, reason)
        .await?
        .ok_or(CaseError::NoSuchLetter(id))?;
    let event = Event::LetterCancelled {
        letter: letter.kind.clone(),
        message_id: letter.message_id.clone(),
        reason: reason.to_string(),
    };
    record_on_case(&mut tx, app, &letter, by, event, now).await?;
    tx.commit().await?;
    Ok(letter)
}

/// Records what happened to a letter on its case, if it has one, in the caller's transaction.
pub(crate) async fn record_on_case(
    tx: &mut crate::store::Tx,
    app: &App,
    letter: &OutboxRow,
    by: &str,
    event: Event,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    if let Some(case_id) = letter.case_id {
        let mut plan = Plan::on(case_id);
        plan.record(by, event);
        apply(tx, &app.rules, &plan, now).await?;
    }
    Ok(())
}
