//! A letter shown as it would go out, without sending or changing anything: the templates on
//! disk drawn with sample data, or with a real case's reference, name and dates.

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::case::CaseError;
use crate::case::deadlines::DeadlineKind;
use crate::case::letters::LetterFormat;

/// Letter `kind` as plain text (subject line, blank line, body) or as its HTML part.
pub async fn preview(
    app: &App,
    kind: &str,
    reference: Option<&str>,
    html: bool,
) -> Result<String, CaseError> {
    let rules = &app.rules;
    let org = &rules.settings.organisation;
    let mut values = Map::new();
    values.insert("organisation_name".into(), json!(org.name));
    values.insert("complaints_address".into(), json!(org.complaints_address));
    values.insert("ombudsman_contact".into(), json!(org.ombudsman_contact));
    let mut format = LetterFormat::default();
    if let Some(reference) = reference {
        let detail = app
            .store
            .case_detail(&reference.trim().to_ascii_uppercase())
            .await?;
        let case = &detail.case;
        format = LetterFormat::for_needs(case.adjustments.as_deref());
        values.insert("reference".into(), json!(case.reference));
        values.insert(
            "customer_name".into(),
            json!(case.customer_name.as_deref().unwrap_or("customer")),
        );
        values.insert("original_subject".into(), json!(case.subject));
        values.insert(
            "received_date".into(),
            json!(rules.letter_date(case.received_at)),
        );
        for d in detail.deadlines.iter().filter(|d| d.status == "open") {
            let key = match d.kind {
                DeadlineKind::Stage1Acknowledgement | DeadlineKind::Stage2Acknowledgement => {
                    "acknowledge_by"
                }
                DeadlineKind::Stage1Response | DeadlineKind::Stage2Response => "respond_by",
                _ => continue,
            };
            values.insert(key.into(), json!(rules.letter_date(d.due_at)));
        }
    }
    let (letter, mut context) =
        rules
            .letters
            .preview(kind, &values)
            .map_err(|e| CaseError::Letter {
                name: "preview",
                message: e.to_string(),
            })?;
    if !html {
        return Ok(format!("Subject: {}\n\n{}", letter.subject, letter.body));
    }
    if format.plain_text_only {
        return Ok(
            "(this resident asked for plain text only: their letters have no HTML part)\n".into(),
        );
    }
    context.insert("logo_url".into(), json!(org.logo_url));
    context.insert("large_print".into(), Value::Bool(format.large_print));
    rules
        .letters
        .render_html(&letter, &context)
        .map_err(|e| CaseError::Letter {
            name: "preview",
            message: e.to_string(),
        })
}
