//! Letters to customers and handlers, rendered from templates operations can edit.
//!
//! Each template is a plain-text file in the templates folder (`config/templates/NAME.txt`): a
//! first line `Subject: ...`, a blank line, then the body, both in minijinja syntax. Templates are
//! loaded once at start; a missing template, a syntax error, an unknown variable, or a template
//! that leaves out an element the Code requires (the case reference, the Ombudsman's details, ...)
//! is an error that names the file, so `check-config` catches it before a customer would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// A template problem, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("template {path}: cannot read it: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("template {path}: the first line must be `Subject: ...` followed by a blank line")]
    Shape { path: PathBuf },
    #[error("template {name}: {message}")]
    Syntax { name: String, message: String },
    #[error("template {name}: it must include {element} (`{{{{ {variable} }}}}`) in its {part}")]
    MissingElement {
        name: String,
        element: &'static str,
        variable: &'static str,
        part: &'static str,
    },
}

/// A rendered letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub body: String,
}

/// An element a template must contain, checked by rendering it with a marker in that variable.
struct Required {
    variable: &'static str,
    element: &'static str,
    in_subject: bool,
}

const fn req(variable: &'static str, element: &'static str, in_subject: bool) -> Required {
    Required {
        variable,
        element,
        in_subject,
    }
}

/// The templates redress uses, and what each must contain.
const TEMPLATES: &[(&str, &[Required])] = &[
    (
        "receipt",
        &[
            req("reference", "the case reference", true),
            req("reference", "the case reference", false),
            req("respond_by", "the date the response is due", false),
            req(
                "ombudsman_contact",
                "the Housing Ombudsman's contact details",
                false,
            ),
        ],
    ),
    (
        "acknowledgement",
        &[
            req("reference", "the case reference", true),
            req(
                "understanding",
                "our understanding of the complaint (Code §6.2: acknowledged and defined)",
                false,
            ),
            req(
                "outcome_sought",
                "the outcome the customer seeks (Code §6.2: acknowledged and defined)",
                false,
            ),
            req("respond_by", "the date the response is due", false),
        ],
    ),
    (
        "compliment_thanks",
        &[req("reference", "the case reference", true)],
    ),
    ("feedback", &[req("reference", "the case reference", true)]),
    (
        "too_large",
        &[
            req("reference", "the case reference", true),
            req("limit", "the largest mail we take", false),
        ],
    ),
    (
        "service_request",
        &[
            req("reference", "the case reference", true),
            req(
                "ombudsman_contact",
                "the Housing Ombudsman's contact details",
                false,
            ),
        ],
    ),
    (
        "stage2_receipt",
        &[
            req("reference", "the case reference", true),
            req("respond_by", "the date the response is due", false),
            req(
                "ombudsman_contact",
                "the Housing Ombudsman's contact details",
                false,
            ),
        ],
    ),
    (
        "response",
        &[
            req("reference", "the case reference", true),
            req("stage_name", "the complaint stage", false),
            req(
                "complaint_definition",
                "the complaint definition (Code 6.9 b / 6.19 b)",
                false,
            ),
            req("outcome", "the outcome of the complaint", false),
            req("reasons", "the reasons for the decisions made", false),
            req("remedy", "the remedy offered to put things right", false),
            req(
                "ombudsman_contact",
                "how to escalate, including the Housing Ombudsman's details",
                false,
            ),
        ],
    ),
    (
        "late_update",
        &[
            req("reference", "the case reference", true),
            req("previous_due", "the date the response was due", false),
            req(
                "ombudsman_contact",
                "the Housing Ombudsman's contact details",
                false,
            ),
        ],
    ),
    (
        "action_done",
        &[
            req("reference", "the case reference", true),
            req("action", "the action that was done", false),
        ],
    ),
    (
        "quarantined",
        &[req("folder", "the folder the mail was moved to", false)],
    ),
    (
        "notice",
        &[
            req("reference", "the case reference", true),
            req("headline", "what happened", false),
            req("details", "the details", false),
        ],
    ),
    (
        "reminder",
        &[
            req("reference", "the case reference", true),
            req("customer_name", "the customer's name", false),
            req("what", "what is due", false),
            req("due", "the deadline", false),
        ],
    ),
    ("digest", &[req("date", "the day of the digest", true)]),
    (
        "alert",
        &[req("headline", "what is wrong (or recovered)", true)],
    ),
    (
        "refusal",
        &[
            req("reference", "the case reference", true),
            req(
                "reason",
                "a detailed explanation of why (procedure §4.4)",
                false,
            ),
            req(
                "ombudsman_contact",
                "the right to go to the Housing Ombudsman (procedure §4.5)",
                false,
            ),
        ],
    ),
    (
        "extension",
        &[
            req("reference", "the case reference", true),
            req("reason", "the reason for the extension (Code §6.4)", false),
            req("respond_by", "the new response date", false),
            req(
                "ombudsman_contact",
                "the Housing Ombudsman's contact details (Code §6.5)",
                false,
            ),
        ],
    ),
];

/// How a resident's letters must look, from the reasonable adjustments on their case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LetterFormat {
    /// Large print in the HTML part and in printed letters.
    pub large_print: bool,
    /// No HTML part at all (screen readers or mail clients that want plain text).
    pub plain_text_only: bool,
}

impl LetterFormat {
    /// The format the adjustments ask for: "large print", "plain text" (in any case and wording
    /// around them, as handlers type them).
    pub fn for_needs(adjustments: Option<&str>) -> LetterFormat {
        let needs = adjustments.unwrap_or_default().to_lowercase();
        LetterFormat {
            large_print: needs.contains("large print"),
            plain_text_only: needs.contains("plain text"),
        }
    }
}

/// The HTML layout's file name in the templates folder.
pub const LAYOUT: &str = "letter.html";

/// A letter's plain text as HTML: a line underlined with `-` or `=` is a heading, lines starting
/// "- " a list, an indented line keeps its own line, addresses on the web are links; everything
/// is escaped.
pub fn text_to_html(text: &str) -> String {
    let mut html = String::new();
    for block in text
        .split("\n\n")
        .map(str::trim_end)
        .filter(|b| !b.trim().is_empty())
    {
        let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut rest = &lines[..];
        if lines.len() >= 2 && is_underline(lines[1]) {
            html.push_str(&format!("<h2>{}</h2>\n", inline(lines[0].trim())));
            rest = &lines[2..];
        }
        if rest.is_empty() {
            continue;
        }
        if rest.iter().all(|l| l.trim_start().starts_with("- ")) {
            html.push_str("<ul>\n");
            for line in rest {
                let item = line.trim_start().trim_start_matches("- ");
                html.push_str(&format!("<li>{}</li>\n", inline(item)));
            }
            html.push_str("</ul>\n");
        } else {
            html.push_str(&format!("<p>{}</p>\n", paragraph(rest)));
        }
    }
    html
}

/// A paragraph's lines: text wrapped for plain-text mail (a line that ran to the wrap width)
/// flows again; a short line (a signature, a name above an address), an indented line (an
/// address, a link, contact details) or one after a colon keeps a line of its own.
fn paragraph(lines: &[&str]) -> String {
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            let previous = lines[n - 1];
            let own_line = line.starts_with(char::is_whitespace)
                || previous.starts_with(char::is_whitespace)
                || previous.trim_end().ends_with(':')
                || previous.trim().chars().count() < WRAPPED;
            out.push_str(if own_line { "<br>\n" } else { " " });
        }
        out.push_str(&inline(line.trim()));
    }
    out
}

/// A line at least this long was wrapped by the template's author, not ended.
const WRAPPED: usize = 55;

fn is_underline(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 3 && (line.chars().all(|c| c == '-') || line.chars().all(|c| c == '='))
}

/// One line, escaped, with web addresses as links.
fn inline(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let escaped = minijinja::HtmlEscape(word).to_string();
            if word.starts_with("https://") || word.starts_with("http://") {
                let href = word.trim_end_matches(['.', ',', ';', ')']);
                let tail = &word[href.len()..];
                format!(
                    "<a href=\"{}\">{}</a>{}",
                    minijinja::HtmlEscape(href),
                    minijinja::HtmlEscape(href),
                    minijinja::HtmlEscape(tail)
                )
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The loaded templates.
#[derive(Debug)]
pub struct Letters {
    env: Environment<'static>,
}

impl Letters {
    /// Loads and checks every template in `dir`.
    pub fn load(dir: &Path) -> Result<Letters, LetterError> {
        let mut sources = BTreeMap::new();
        for (name, _) in TEMPLATES {
            let path = dir.join(format!("{name}.txt"));
            let text = std::fs::read_to_string(&path).map_err(|error| LetterError::Read {
                path: path.clone(),
                error,
            })?;
            sources.insert(name.to_string(), (path, text));
        }
        let mut letters = Self::from_sources(sources)?;
        let path = dir.join(LAYOUT);
        let layout = std::fs::read_to_string(&path).map_err(|error| LetterError::Read {
            path: path.clone(),
            error,
        })?;
        letters.add_layout(layout)?;
        Ok(letters)
    }

    /// Adds the HTML layout every letter's HTML part is drawn in, checked like the letters: it
    /// must show the letter itself (`body_html`) and the case reference.
    fn add_layout(&mut self, layout: String) -> Result<(), LetterError> {
        let syntax = |e: minijinja::Error| LetterError::Syntax {
            name: LAYOUT.into(),
            message: e.to_string(),
        };
        self.env
            .add_template_owned(LAYOUT, layout)
            .map_err(syntax)?;
        for (variable, element) in [
            ("body_html", "the letter itself"),
            ("reference", "the case reference"),
        ] {
            let mut sample = sample_context();
            sample.insert("subject".into(), Value::from("Sample subject"));
            sample.insert(
                "body_html".into(),
                Value::from_safe_string("<p>Sample</p>".into()),
            );
            sample.insert("large_print".into(), Value::from(false));
            sample.insert("logo_url".into(), Value::from(()));
            let marker = format!("@@{variable}@@");
            let value = if variable == "body_html" {
                Value::from_safe_string(marker.clone())
            } else {
                Value::from(marker.clone())
            };
            sample.insert(variable.into(), value);
            let html = self
                .env
                .get_template(LAYOUT)
                .and_then(|t| t.render(&sample))
                .map_err(syntax)?;
            if !html.contains(&marker) {
                return Err(LetterError::MissingElement {
                    name: LAYOUT.into(),
                    element,
                    variable,
                    part: "body",
                });
            }
        }
        Ok(())
    }

    /// Every letter kind there is a template for.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        TEMPLATES.iter().map(|(name, _)| *name)
    }

    /// Letter `name` drawn with sample data, `overrides` replacing any of it (a real case's
    /// reference, name and dates): what `redress letters preview` shows before an edit goes live.
    pub fn preview(
        &self,
        name: &str,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(Letter, serde_json::Map<String, serde_json::Value>), LetterError> {
        if !Self::kinds().any(|k| k == name) {
            return Err(LetterError::Syntax {
                name: name.to_string(),
                message: format!(
                    "no such letter; the kinds are {}",
                    Self::kinds().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let mut context: serde_json::Map<String, serde_json::Value> = sample_context()
            .into_iter()
            .map(|(k, v)| (k, serde_json::to_value(&v).unwrap_or_default()))
            .collect();
        context.extend(overrides.clone());
        let letter = self
            .render(name, &context)
            .map_err(|e| LetterError::Syntax {
                name: name.to_string(),
                message: e.to_string(),
            })?;
        Ok((letter, context))
    }

    /// The accessible HTML part of `letter`: the layout around its text turned into headings,
    /// paragraphs, lists and links; `context` is the letter's own, with `subject`,
    /// `organisation_name`, `logo_url` and `large_print` added by the caller.
    pub fn render_html(
        &self,
        letter: &Letter,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, minijinja::Error> {
        let mut ctx: BTreeMap<String, Value> = context
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
            .collect();
        ctx.insert("subject".into(), Value::from(letter.subject.clone()));
        ctx.insert(
            "body_html".into(),
            Value::from_safe_string(text_to_html(&letter.body)),
        );
        for optional in [
            "large_print",
            "logo_url",
            "reference",
            "organisation_name",
            "respond_by",
            "acknowledge_by",
            "case_link",
        ] {
            ctx.entry(optional.into()).or_insert(Value::from(()));
        }
        self.env.get_template(LAYOUT)?.render(&ctx)
    }

    fn from_sources(sources: BTreeMap<String, (PathBuf, String)>) -> Result<Letters, LetterError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        for (name, (path, text)) in sources {
            let text = text.replace("\r\n", "\n");
            let (first, body) = text
                .split_once("\n\n")
                .ok_or(LetterError::Shape { path: path.clone() })?;
            let subject = first
                .strip_prefix("Subject:")
                .ok_or(LetterError::Shape { path: path.clone() })?
                .trim()
                .to_string();
            let syntax = |e: minijinja::Error| LetterError::Syntax {
                name: name.clone(),
                message: e.to_string(),
            };
            env.add_template_owned(format!("{name}.subject"), subject)
                .map_err(syntax)?;
            env.add_template_owned(format!("{name}.body"), body.to_string())
                .map_err(syntax)?;
        }
        let letters = Letters { env };
        letters.check()?;
        Ok(letters)
    }

    /// Renders each template with markers to prove it contains every required element.
    fn check(&self) -> Result<(), LetterError> {
        for (name, required) in TEMPLATES {
            let mut sample = sample_context();
            for r in *required {
                let marker = format!("@@{}@@", r.variable);
                sample.insert(r.variable.to_string(), Value::from(marker.clone()));
                let letter = self
                    .render(name, &sample)
                    .map_err(|e| LetterError::Syntax {
                        name: name.to_string(),
                        message: e.to_string(),
                    })?;
                let part = if r.in_subject {
                    &letter.subject
                } else {
                    &letter.body
                };
                if !part.contains(&marker) {
                    return Err(LetterError::MissingElement {
                        name: name.to_string(),
                        element: r.element,
                        variable: r.variable,
                        part: if r.in_subject { "subject" } else { "body" },
                    });
                }
            }
        }
        Ok(())
    }

    /// Renders letter `name` with `context` (anything serialisable to a map).
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<Letter, minijinja::Error> {
        let ctx = Value::from_serialize(context);
        let subject = self
            .env
            .get_template(&format!("{name}.subject"))?
            .render(&ctx)?;
        let body = self
            .env
            .get_template(&format!("{name}.body"))?
            .render(&ctx)?;
        Ok(Letter {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            body,
        })
    }
}

/// Every variable a letter may use, with harmless sample values.
fn sample_context() -> BTreeMap<String, Value> {
    let mut ctx = BTreeMap::new();
    for (key, value) in [
        ("reference", "CMP-2026-000001"),
        (
            "case_link",
            "https://complaints.example.org/r/0123456789abcdef",
        ),
        (
            "case_url",
            "https://complaints.example.org/cases/CMP-2026-000001",
        ),
        ("customer_name", "Ms Sample"),
        ("organisation_name", "Sample Homes"),
        ("complaints_address", "complaints@example.org"),
        ("received_date", "Monday 23 November 2026"),
        ("acknowledge_by", "Monday 30 November 2026"),
        ("respond_by", "Monday 14 December 2026"),
        ("ombudsman_contact", "Housing Ombudsman Service"),
        ("original_subject", "Broken boiler"),
        ("stage_name", "stage 1"),
        ("service_area", "Repairs"),
        ("outcome", "upheld"),
        ("headline", "New complaint assigned to you"),
        ("what", "stage 1 response"),
        ("due", "Monday 14 December 2026 17:00"),
        ("rule", "Code §6.3"),
        ("date", "Monday 14 December 2026"),
        ("details", "Received Monday."),
        ("since", "Monday 23 November 2026 10:00"),
        ("last_error", "cannot reach imap.example.org:993"),
        ("at_risk", "2"),
        ("kind", "complaint"),
        ("stage", "stage1"),
        ("subject", "Broken boiler"),
        (
            "next_deadline",
            "stage 1 acknowledgement due Monday 30 November 2026",
        ),
        ("reasons", "We did not attend when we said we would."),
        ("remedy", "We will pay £50 compensation."),
        ("understanding", "The boiler has failed twice."),
        ("outcome_sought", "A new boiler."),
        ("handler_name", "A. Handler"),
        ("reason", "We are waiting for a surveyor's report."),
        ("previous_due", "Monday 14 December 2026"),
        ("action", "Replace the boiler (Repairs team)"),
        ("adjustments", "Large print"),
        ("folder", "Quarantine"),
        ("size", "63.2 MB"),
        ("limit", "50.0 MB"),
        ("attempts", "3"),
        ("received", "Monday 23 November 2026 10:00"),
        ("error", "database error"),
        ("authority", "Signed consent form"),
        (
            "complaint_definition",
            "The boiler has failed twice; the outcome sought is a new boiler.",
        ),
    ] {
        ctx.insert(key.to_string(), Value::from(value));
    }
    ctx.insert("automatic_acknowledgement".into(), Value::from(false));
    ctx.insert("final_stage".into(), Value::from(false));
    ctx.insert("representative".into(), Value::from(true));
    ctx.insert("overdue".into(), Value::from(false));
    ctx.insert("overdue_days".into(), Value::from(0));
    ctx.insert("days_left".into(), Value::from(2));
    ctx.insert("open_count".into(), Value::from(1));
    ctx.insert("overdue_count".into(), Value::from(0));
    ctx.insert("cases".into(), Value::from(Vec::<Value>::new()));
    ctx.insert("web".into(), Value::from("https://complaints.example.org"));
    ctx.insert("actions".into(), Value::from(Vec::<Value>::new()));
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Letters {
        Letters::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates"))
            .expect("shipped templates load")
    }

    fn sources_with_receipt(text: &str) -> BTreeMap<String, (PathBuf, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates");
        let mut sources: BTreeMap<String, (PathBuf, String)> = TEMPLATES
            .iter()
            .map(|(name, _)| {
                let path = dir.join(format!("{name}.txt"));
                let text = std::fs::read_to_string(&path).expect("shipped template");
                (name.to_string(), (path, text))
            })
            .collect();
        sources.insert(
            "receipt".to_string(),
            (PathBuf::from("receipt.txt"), text.to_string()),
        );
        sources
    }

    #[test]
    fn the_shipped_receipt_names_the_reference_dates_and_ombudsman() {
        let letters = shipped();
        let mut ctx = sample_context();
        ctx.insert("reference".into(), Value::from("CMP-2026-000042"));
        let letter = letters.render("receipt", &ctx).expect("renders");
        assert!(letter.subject.contains("CMP-2026-000042"));
        assert!(letter.body.contains("CMP-2026-000042"));
        assert!(letter.body.contains("Monday 14 December 2026"));
        assert!(letter.body.contains("Monday 30 November 2026"));
        assert!(letter.body.contains("Housing Ombudsman"));
    }

    #[test]
    fn a_template_without_the_ombudsman_is_refused() {
        let err = Letters::from_sources(sources_with_receipt(
            "Subject: Complaint {{ reference }}\n\nRef {{ reference }}, reply by {{ respond_by }}.\n",
        ))
        .expect_err("must name the Ombudsman");
        assert!(err.to_string().contains("Ombudsman"), "{err}");
        assert!(err.to_string().contains("receipt"), "{err}");
    }

    #[test]
    fn a_subject_without_the_reference_is_refused() {
        let err = Letters::from_sources(sources_with_receipt(
            "Subject: Thanks\n\n{{ reference }} {{ respond_by }} {{ ombudsman_contact }}\n",
        ))
        .expect_err("needs reference in subject");
        assert!(err.to_string().contains("subject"), "{err}");
    }

    #[test]
    fn an_unknown_variable_is_an_error() {
        let err = Letters::from_sources(sources_with_receipt(
            "Subject: {{ reference }}\n\n{{ reference }} {{ respond_by }} {{ ombudsman_contact }} {{ custmer_name }}\n",
        ))
        .expect_err("typo");
        assert!(err.to_string().contains("receipt"), "{err}");
    }

    #[test]
    fn a_file_without_a_subject_line_is_refused() {
        let err = Letters::from_sources(sources_with_receipt("Dear customer\n\nhello\n"))
            .expect_err("shape");
        assert!(err.to_string().contains("Subject:"), "{err}");
    }

    /// Letters to staff, not residents.
    const STAFF: [&str; 5] = ["notice", "reminder", "digest", "alert", "quarantined"];

    #[test]
    fn every_residents_letter_names_the_landlord_and_has_an_html_part_with_the_reference() {
        let letters = shipped();
        let mut org = serde_json::Map::new();
        org.insert("organisation_name".into(), "Riverside Homes".into());
        for kind in Letters::kinds() {
            let (letter, context) = letters.preview(kind, &org).expect("renders");
            let html = letters.render_html(&letter, &context).expect("html");
            assert!(
                html.starts_with("<!doctype html>") && html.contains("<html lang=\"en\">"),
                "{kind}"
            );
            assert!(
                html.contains("CMP-2026-000001"),
                "{kind}: the reference in the HTML part"
            );
            if !STAFF.contains(&kind) {
                assert!(
                    letter.body.contains("Riverside Homes"),
                    "{kind} names the landlord:\n{}",
                    letter.body
                );
                assert!(html.contains("Riverside Homes"), "{kind}");
            }
        }
    }

    #[test]
    fn no_letter_asks_why_a_review_is_wanted() {
        // Code 6.12: residents must not be required to explain why they want a stage 2 review.
        let letters = shipped();
        for kind in [
            "receipt",
            "response",
            "stage2_receipt",
            "acknowledgement",
            "late_update",
        ] {
            let (letter, _) = letters
                .preview(kind, &serde_json::Map::new())
                .expect("renders");
            let text = letter
                .body
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            for asking in [
                "telling us why",
                "tell us why",
                "why you remain dissatisfied",
                "explain why",
                "give your reasons",
            ] {
                assert!(
                    !text.contains(asking),
                    "{kind} asks for reasons (`{asking}`)"
                );
            }
        }
    }

    #[test]
    fn plain_text_becomes_headings_lists_and_links_escaped() {
        let html = text_to_html(
            "Dear <b>Jo</b>,\n\nWhat happens next\n-----------------\nWe will call.\n\n- one\n- two\n\nSee https://example.org/r/abc.\n",
        );
        assert!(
            html.contains("<p>Dear &lt;b&gt;Jo&lt;&#x2f;b&gt;,</p>")
                || html.contains("<p>Dear &lt;b&gt;Jo&lt;/b&gt;,</p>"),
            "{html}"
        );
        assert!(
            html.contains("<h2>What happens next</h2>\n<p>We will call.</p>"),
            "{html}"
        );
        assert!(
            html.contains("<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https:&#x2f;&#x2f;example.org&#x2f;r&#x2f;abc\">")
                || html.contains("<a href=\"https://example.org/r/abc\">"),
            "{html}"
        );
    }

    #[test]
    fn the_adjustments_decide_the_format() {
        assert_eq!(LetterFormat::for_needs(None), LetterFormat::default());
        let both = LetterFormat::for_needs(Some("Large Print please; plain text e-mails only"));
        assert!(both.large_print && both.plain_text_only);
        assert!(!LetterFormat::for_needs(Some("call before visiting")).large_print);
    }

    #[test]
    fn a_layout_that_leaves_out_the_letter_is_refused() {
        let mut letters = shipped();
        let error = letters
            .add_layout("<p>{{ reference }}</p>".into())
            .expect_err("refused");
        assert!(error.to_string().contains("body_html"), "{error}");
    }

    #[test]
    fn wrapped_text_flows_and_indented_lines_keep_their_own() {
        let html = text_to_html(
            "We will send you our full response by Monday 14 December 2026, and if we\nneed more time we will write to:\n  Housing Ombudsman\n  PO Box 1484\n\nExample Homes\ncomplaints@example.org\n",
        );
        assert_eq!(
            html,
            "<p>We will send you our full response by Monday 14 December 2026, and if we need more time we will write to:<br>\nHousing Ombudsman<br>\nPO Box 1484</p>\n<p>Example Homes<br>\ncomplaints@example.org</p>\n"
        );
    }
}
