//! The report as a landlord publishes it: Markdown, HTML (charts as inline SVG, opens offline)
//! and CSV (one row per case).

use super::dashboard::{Rate, percent};
use super::{AnnualReport, narrative};

/// One row per case, as CSV (RFC 4180 quoting).
pub fn csv(r: &AnnualReport) -> String {
    fn field(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }
    fn flag(value: Option<bool>) -> String {
        match value {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => String::new(),
        }
    }
    let mut out = String::from(
        "reference,kind,received_at,source,service_area,themes,stage1_acknowledged_on_time,stage1_responded_on_time,stage1_extended,stage1_outcome,stage2_requested,stage2_acknowledged_on_time,stage2_responded_on_time,stage2_extended,stage2_outcome,concluded_stage,refused,ombudsman_findings,stage1_acknowledge_due,stage1_acknowledged_at,stage1_extended_at,stage1_response_due,stage1_responded_at,stage2_requested_at,stage2_acknowledge_due,stage2_acknowledged_at,stage2_extended_at,stage2_response_due,stage2_responded_at\r\n",
    );
    for c in &r.cases {
        let row = [
            field(&c.reference),
            field(&c.kind),
            c.received_at.to_rfc3339(),
            field(&c.source),
            field(c.service_area.as_deref().unwrap_or("")),
            field(&c.themes.join("; ")),
            flag(c.stage1_acknowledged_on_time),
            flag(c.stage1_responded_on_time),
            flag(Some(c.stage1_extended)),
            field(c.stage1_outcome.as_deref().unwrap_or("")),
            flag(Some(c.stage2_requested)),
            flag(c.stage2_acknowledged_on_time),
            flag(c.stage2_responded_on_time),
            flag(Some(c.stage2_extended)),
            field(c.stage2_outcome.as_deref().unwrap_or("")),
            field(c.concluded_stage.as_deref().unwrap_or("")),
            flag(Some(c.refused)),
            field(&c.ombudsman_findings.join("; ")),
        ];
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339()).unwrap_or_default()
        };
        let (s1, s2) = (&c.stage1_dates, &c.stage2_dates);
        let dates = [
            time(s1.acknowledge_due),
            time(s1.acknowledged_at),
            time(s1.extended_at),
            time(s1.response_due),
            time(s1.responded_at),
            time(s2.requested_at),
            time(s2.acknowledge_due),
            time(s2.acknowledged_at),
            time(s2.extended_at),
            time(s2.response_due),
            time(s2.responded_at),
        ];
        out.push_str(&row.join(","));
        out.push(',');
        out.push_str(&dates.join(","));
        out.push_str("\r\n");
    }
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(title: &str, bars: &[(String, i64)]) -> String {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let row = 26;
    let height = 40 + row * bars.len().max(1);
    let mut svg = format!(
        "<figure><svg class=\"chart\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\"><text x=\"0\" y=\"18\" font-weight=\"bold\" font-size=\"14\">{t}</text>",
        t = escape_html(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 30 + i * row;
        let width = (*n as f64 / max as f64 * 360.0).round() as i64;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{ty}\" font-size=\"12\">{label}</text><rect x=\"220\" y=\"{y}\" width=\"{width}\" height=\"18\" fill=\"#2b6cb0\"><title>{label}: {n}</title></rect><text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{n}</text>",
            ty = y + 14,
            tx = 226 + width,
            label = escape_html(label)
        ));
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// The Markdown of `markdown()` as HTML: headings, paragraphs and tables.
fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if let Some(cells) = line.strip_prefix('|') {
            let cells: Vec<&str> = cells
                .trim_end_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-'))
            {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>");
                in_table = true;
            }
            out.push_str("<tr>");
            for cell in cells {
                out.push_str(&format!("<{tag}>{}</{tag}>", escape_html(cell)));
            }
            out.push_str("</tr>");
            continue;
        }
        if in_table {
            out.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&format!("<h2>{}</h2>\n", escape_html(h)));
        } else if let Some(h) = line.strip_prefix("# ") {
            out.push_str(&format!("<h1>{}</h1>\n", escape_html(h)));
        } else if !line.trim().is_empty() {
            out.push_str(&format!("<p>{}</p>\n", escape_html(line)));
        }
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out
}

/// The report as one self-contained HTML page with its charts as inline SVG (opens offline).
pub fn html(r: &AnnualReport) -> String {
    let mut body = format!(
        "<h1>{}</h1>\n",
        escape_html(&format!(
            "{}: complaint handling report, {}",
            r.organisation,
            r.period_in_words()
        ))
    );
    narrative_html(r, true, &mut body);
    let areas: Vec<(String, i64)> = r
        .stage1_by_area
        .iter()
        .map(|(a, n, _)| (a.clone(), *n))
        .collect();
    let charts = [
        (
            "Complaints received",
            bar_chart(
                "At which stage complaints concluded",
                &[
                    ("Stage 1".into(), r.concluded_stage1),
                    ("Stage 2".into(), r.concluded_stage2),
                ],
            ),
        ),
        (
            "Which service area did the complaint relate to?",
            bar_chart("Stage 1 complaints by service area", &areas),
        ),
        (
            "What are the complaints about?",
            bar_chart("What the complaints are about", &r.themes),
        ),
        (
            "Stage 1 complaints over three years",
            bar_chart("Stage 1 complaints over three years", &r.trend),
        ),
    ];
    body.push_str(&with_charts(
        &markdown_to_html(&figures_markdown(r)),
        &charts,
    ));
    narrative_html(r, false, &mut body);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}: complaint handling report, {}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#1a202c}}table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #a0aec0;padding:.3em .6em;text-align:left}}th{{background:#edf2f7}}figure{{margin:1em 0}}td:not(:first-child){{text-align:right}}@page{{size:A4;margin:18mm 16mm 20mm;@bottom-center{{content:\"Page \" counter(page) \" of \" counter(pages);font:9pt sans-serif}}}}@media print{{body{{margin:0;max-width:none}}figure,table,section.narrative h2{{break-inside:avoid}}h2{{break-after:avoid}}}}</style></head><body>\n{}</body></html>\n",
        minijinja::HtmlEscape(&r.organisation),
        r.period_in_words(),
        body
    )
}

fn rate(r: Rate) -> String {
    format!(
        "{}/{} ({}%)",
        r.on_time,
        r.total,
        percent(r.on_time, r.total)
    )
}

/// `html` with each chart placed at the end of the section it illustrates (after the section's
/// table), its heading named in `charts`; a chart whose section is missing goes at the end.
fn with_charts(html: &str, charts: &[(&str, String)]) -> String {
    let mut out = html.to_string();
    for (heading, chart) in charts {
        let marker = format!("<h2>{}</h2>", escape_html(heading));
        let at = out.find(&marker).map_or(out.len(), |start| {
            let after = start + marker.len();
            out[after..]
                .find("<h2>")
                .map_or(out.len(), |next| after + next)
        });
        out.insert_str(at, chart);
    }
    out
}

/// The landlord's sections that go before (or after) the figures, as HTML.
fn narrative_html(r: &AnnualReport, before_figures: bool, body: &mut String) {
    for section in r
        .narrative
        .iter()
        .filter(|s| s.before_figures == before_figures)
    {
        body.push_str(&narrative::to_html(section));
    }
}

/// The report as Markdown: the landlord's foreword, the figures in the order and shape of the
/// published report's tables, then the landlord's other sections.
pub fn markdown(r: &AnnualReport) -> String {
    let mut md = format!(
        "# {}: complaint handling report, {}\n\n",
        r.organisation,
        r.period_in_words()
    );
    let sections = |before: bool| {
        r.narrative
            .iter()
            .filter(move |s| s.before_figures == before)
            .map(narrative::to_markdown)
            .collect::<String>()
    };
    md.push_str(&sections(true));
    md.push_str(&figures_markdown(r));
    md.push_str(&sections(false));
    md
}

/// The figures as Markdown tables, without the title.
fn figures_markdown(r: &AnnualReport) -> String {
    let mut md = String::from("## Complaints received\n\n");
    md.push_str(&format!(
        "| | Stage 1 | Stage 2 |\n|---|---|---|\n| Received in the period | {} | {} |\n| Of those, acknowledged within time | {} | {} |\n| Responses issued in the period | {} | {} |\n| Of those, within the Code's timescales | {} | {} |\n| Of those, extended | {} | {} |\n| Answered within the extension | {} | {} |\n| Upheld | {} | {} |\n| Partly upheld | {} | {} |\n| Not upheld | {} | {} |\n\n\
         Bases: the received and acknowledged rows count complaints received (stage 1) and reviews requested (stage 2) in the period. The rows from \"Responses issued\" down count the stage responses issued in the period, whenever the complaint came, as the Regulator of Social Housing's CH02 and this report's outcomes do; an answer within an extension the Code allows counts as within the timescales. A closed year's figures therefore stay the same when the report is run again.\n\n",
        r.stage1.received, r.stage2.received,
        rate(r.stage1.acknowledged_in_time), rate(r.stage2.acknowledged_in_time),
        r.stage1.responses_issued, r.stage2.responses_issued,
        rate(r.stage1.responded_in_time), rate(r.stage2.responded_in_time),
        rate(r.stage1.extended), rate(r.stage2.extended),
        r.stage1.answered_within_extension, r.stage2.answered_within_extension,
        r.stage1.upheld, r.stage2.upheld, r.stage1.partly_upheld, r.stage2.partly_upheld, r.stage1.not_upheld, r.stage2.not_upheld,
    ));
    md.push_str(&format!(
        "Resolutions provided: {} (concluded at stage 1: {}, at stage 2: {}). Stage 2 reviews needing no further action: {}.\n\n",
        r.resolutions, r.concluded_stage1, r.concluded_stage2, r.stage2_no_further_action
    ));
    md.push_str(&format!("## Which service area did the complaint relate to?\n\nOut of {} stage 1 complaints:\n\n| Service area | Count | Percent |\n|---|---|---|\n", r.stage1.received));
    for (area, n, p) in &r.stage1_by_area {
        md.push_str(&format!("| {area} | {n} | {p}% |\n"));
    }
    md.push_str("\n## Why did complaints escalate?\n\n| Reason | Reviews |\n|---|---|\n");
    for (reason, n) in &r.escalation_reasons {
        md.push_str(&format!("| {} | {n} |\n", reason.replace('|', "/")));
    }
    md.push_str(
        "\n## Why were complaints refused?\n\n| Ground (Code 2.2) | Refusals |\n|---|---|\n",
    );
    for (ground, n) in &r.refusal_reasons {
        md.push_str(&format!("| {ground} | {n} |\n"));
    }
    md.push_str("\n## What are the complaints about?\n\n| Theme | Count |\n|---|---|\n");
    for (theme, n) in &r.themes {
        md.push_str(&format!("| {theme} | {n} |\n"));
    }
    md.push_str(&format!(
        "\n## Other figures\n\n| | Count |\n|---|---|\n| Refused complaints | {} |\n| Compliments | {} |\n| Feedback | {} |\n| Service requests | {} |\n| Referred to the Housing Ombudsman | {} |\n",
        r.refused, r.compliments, r.feedback, r.service_requests, r.ombudsman_referrals
    ));
    md.push_str(&format!(
        "\n## Who complained\n\n| Source | Count |\n|---|---|\n| Customers | {} |\n| Neighbours and the wider community | {} |\n",
        r.from_customers, r.from_community
    ));
    md.push_str(
        "\n## Tenant satisfaction measures\n\n| Measure | Stage 1 | Stage 2 |\n|---|---|---|\n",
    );
    // CH01 needs the number of homes; without it the row is left out (a warning says so).
    if let (Some(s1), Some(s2)) = (r.ch01_stage1_per_1000_homes, r.ch01_stage2_per_1000_homes) {
        md.push_str(&format!(
            "| CH01 complaints per 1,000 homes | {s1:.2} | {s2:.2} |\n"
        ));
    }
    md.push_str(&format!(
        "| CH02 responses issued within the Code's timescales | {}% | {}% |\n",
        r.ch02_stage1_percent, r.ch02_stage2_percent
    ));
    md.push_str(
        "\n## Stage 1 complaints over three years\n\n| Period | Stage 1 complaints |\n|---|---|\n",
    );
    for (period, n) in &r.trend {
        md.push_str(&format!("| {period} | {n} |\n"));
    }
    md.push_str(&format!(
        "\n## Housing Ombudsman determinations\n\nCases determined in the period: {}. Cases still with the Ombudsman at its end: {}.\n\n| Finding | About | Count |\n|---|---|---|\n",
        r.ombudsman_determined, r.ombudsman_open
    ));
    for (finding, area, n) in &r.ombudsman_findings {
        md.push_str(&format!(
            "| {} | {} | {n} |\n",
            finding.replace('_', " "),
            area.replace('_', " ")
        ));
    }
    md
}
