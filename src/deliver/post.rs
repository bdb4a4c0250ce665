//! Letters to residents without e-mail: queued as `to_post`, printed as accessible documents by a
//! person (`redress letters to-post --out DIR`) and recorded once posted (`letters posted ID`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::queue::record_on_case;
use crate::app::App;
use crate::case::CaseError;
use crate::case::letters::LetterFormat;
use crate::case::model::Event;
use crate::store::{CaseRow, OutboxRow};
use minijinja::HtmlEscape;

/// A letter to print, with the case it belongs to.
#[derive(Debug, Clone)]
pub struct ToPost {
    pub letter: OutboxRow,
    pub case: Option<CaseRow>,
}

/// Every letter waiting to be printed and posted, oldest first.
pub async fn waiting(app: &App) -> Result<Vec<ToPost>, CaseError> {
    let mut waiting = Vec::new();
    for letter in app.store.letters_to_post().await? {
        let case = match letter.case_id {
            Some(id) => Some(app.store.case_state(id).await?.case),
            None => None,
        };
        waiting.push(ToPost { letter, case });
    }
    Ok(waiting)
}

/// The letter as a printable HTML document: the address block for a window envelope, the
/// subject as a heading, the text as written; large print where the resident needs it.
pub fn printable(item: &ToPost, organisation: &str) -> String {
    let letter = &item.letter;
    let large = LetterFormat::for_needs(item.case.as_ref().and_then(|c| c.adjustments.as_deref()))
        .large_print;
    let name = item
        .case
        .as_ref()
        .and_then(|c| c.customer_name.as_deref())
        .unwrap_or("");
    let size = if large { "18pt" } else { "12pt" };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\nbody {{ font: {size}/1.5 Arial, Helvetica, sans-serif; color: #000; background: #fff; \
         max-width: 40em; margin: 2em auto; }}\n.from {{ text-align: right; }}\n\
         .address {{ white-space: pre-line; margin: 2em 0; }}\nh1 {{ font-size: 1.2em; }}\n\
         .text {{ white-space: pre-wrap; font: inherit; }}\n@page {{ margin: 2cm; }}\n</style>\n</head>\n\
         <body>\n<p class=\"from\">{organisation}</p>\n<p class=\"address\">{name}\n{address}</p>\n\
         <h1>{title}</h1>\n<div class=\"text\">{body}</div>\n</body>\n</html>\n",
        title = HtmlEscape(&letter.subject),
        organisation = HtmlEscape(organisation),
        name = HtmlEscape(name),
        address = HtmlEscape(&letter.to_address),
        body = HtmlEscape(&letter.body),
    )
}

/// Writes every waiting letter into `dir` as `ID-REFERENCE-KIND.html`; returns the files.
pub async fn print_all(app: &App, dir: &Path) -> Result<Vec<(ToPost, PathBuf)>, PrintError> {
    std::fs::create_dir_all(dir).map_err(|e| PrintError::Write(dir.to_path_buf(), e))?;
    let organisation = &app.rules.settings.organisation.name;
    let mut printed = Vec::new();
    for item in waiting(app).await? {
        let reference = item.case.as_ref().map_or("-", |c| c.reference.as_str());
        let path = dir.join(format!(
            "{}-{reference}-{}.html",
            item.letter.id, item.letter.kind
        ));
        std::fs::write(&path, printable(&item, organisation))
            .map_err(|e| PrintError::Write(path.clone(), e))?;
        printed.push((item, path));
    }
    Ok(printed)
}

/// Why the letters could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

/// Records that letter `id` was posted by `by`: it leaves the list, and the case's record says so.
pub async fn posted(
    app: &App,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<OutboxRow, CaseError> {
    let mut tx = app.store.begin().await?;
    let letter = tx
        .mark_letter_posted(id, now)
        .await?
        .ok_or(CaseError::NoSuchLetter(id))?;
    let event = Event::LetterPosted {
        letter: letter.kind.clone(),
        message_id: letter.message_id.clone(),
    };
    record_on_case(&mut tx, app, &letter, by, event, now).await?;
    tx.commit().await?;
    Ok(letter)
}
