//! The landlord's own words around the figures. The Code (section 8) has the annual complaints
//! report published with the self-assessment and the governing body's response, and a landlord
//! writes a foreword, an introduction, what it learned and a conclusion. Each is a Markdown file
//! in `report.narrative_dir`, placed where the landlord's published report puts it: the
//! foreword and introduction before the figures, the rest after them.

use std::path::Path;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// The narrative files, their headings and whether they come before the figures.
pub const SECTIONS: &[(&str, &str, bool)] = &[
    ("foreword.md", "Foreword", true),
    ("introduction.md", "Introduction", true),
    (
        "self-assessment.md",
        "Self-assessment against the Complaint Handling Code",
        false,
    ),
    ("learning.md", "Learning and improvements", false),
    ("governing-body.md", "The governing body's response", false),
    ("conclusion.md", "Conclusion", false),
];

/// One section the landlord wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub markdown: String,
    pub before_figures: bool,
}

/// Reads the sections present in `dir`, in order; a missing file is left out with a warning.
pub fn read(dir: &Path) -> Result<Vec<Section>, std::io::Error> {
    let mut sections = Vec::new();
    for (file, heading, before_figures) in SECTIONS {
        let path = dir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(markdown) => sections.push(Section {
                heading: (*heading).to_string(),
                markdown: markdown.trim().to_string(),
                before_figures: *before_figures,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %path.display(), "\"{heading}\" is left out of the report: there is no such file");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(sections)
}

/// A section's Markdown as HTML under its own `<h2>`: its headings one level down at least,
/// raw HTML shown as text (the page must not run what a file holds).
pub fn to_html(section: &Section) -> String {
    let demote = |level: HeadingLevel| match level {
        HeadingLevel::H1 | HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    };
    let events =
        Parser::new_ext(&section.markdown, Options::ENABLE_TABLES).map(|event| match event {
            Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => Event::Start(Tag::Heading {
                level: demote(level),
                id,
                classes,
                attrs,
            }),
            Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demote(level))),
            other => other,
        });
    let mut html = format!(
        "<section class=\"narrative\"><h2>{}</h2>\n",
        minijinja::HtmlEscape(&section.heading)
    );
    pulldown_cmark::html::push_html(&mut html, events);
    html.push_str("</section>\n");
    html
}

/// A section as Markdown under its own `##` heading, its own headings one level down.
pub fn to_markdown(section: &Section) -> String {
    let body: Vec<String> = section
        .markdown
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if rest.starts_with(['#', ' ']) => format!("##{line}"),
            _ => line.to_string(),
        })
        .collect();
    format!("## {}\n\n{}\n\n", section.heading, body.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_present_are_read_in_order_and_rendered_safely() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("governing-body.md"),
            "The Board has **reviewed** this report.",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("foreword.md"),
            "# From our Chair\n\nWe listened.\n\n- Repairs\n- Communication\n\n<script>alert(1)</script>",
        )
        .expect("write");
        let sections = read(dir.path()).expect("read");
        let headings: Vec<&str> = sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, ["Foreword", "The governing body's response"]);
        assert!(sections[0].before_figures && !sections[1].before_figures);
        let html = to_html(&sections[0]);
        assert!(html.contains("<h2>Foreword</h2>"), "{html}");
        assert!(html.contains("<h3>From our Chair</h3>"), "{html}");
        assert!(html.contains("<li>Repairs</li>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(to_html(&sections[1]).contains("<strong>reviewed</strong>"));
        assert!(to_markdown(&sections[0]).contains("### From our Chair"));
    }
}
