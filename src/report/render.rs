//! The report as a landlord publishes it: Markdown and HTML (charts as inline SVG, opens
//! offline). The per-case rows (CSV, JSON) are written by [`super::rows`].

use super::dashboard::{Rate, percent};
use super::{AnnualReport, narrative};

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The start of a chart: an inline SVG 640 wide and `height` high, named `title` for screen
/// readers and headed by it. [`CHART_END`] closes it.
fn chart_open(title: &str, height: usize) -> String {
    format!(
        "<figure><svg class=\"chart\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\"><text x=\"0\" y=\"18\" font-weight=\"bold\" font-size=\"14\">{t}</text>",
        t = escape_html(title)
    )
}

/// The end of a chart begun by [`chart_open`].
const CHART_END: &str = "</svg></figure>\n";

/// A horizontal bar chart as inline SVG.
fn bar_chart(title: &str, bars: &[(String, i64)]) -> String {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let row = 26;
    let height = 40 + row * bars.len().max(1);
    let mut svg = chart_open(title, height);
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
    svg.push_str(CHART_END);
    svg
}

/// Colours of the slices and lines, in order (dark enough to read white text beside).
const PALETTE: [&str; 6] = [
    "#2b6cb0", "#dd6b20", "#2f855a", "#805ad5", "#c53030", "#4a5568",
];

/// A doughnut chart as inline SVG: each slice's share of the whole, with a legend of counts and
/// percentages.
fn doughnut_chart(title: &str, slices: &[(String, i64)]) -> String {
    let total: i64 = slices.iter().map(|(_, n)| n).sum();
    let height = 60 + 26 * slices.len().max(4);
    let mut svg = chart_open(title, height);
    let (cx, cy, radius) = (90.0, 40.0 + 70.0, 60.0);
    // Each slice is a stroke on one circle, its length its share of the circumference.
    let circumference = 2.0 * std::f64::consts::PI * radius;
    let mut start = 0.0;
    if total == 0 {
        svg.push_str(&format!(
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{radius}\" fill=\"none\" stroke=\"#e2e8f0\" stroke-width=\"28\"/>"
        ));
    }
    for (i, (label, n)) in slices.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let length = *n as f64 / total.max(1) as f64 * circumference;
        if *n > 0 {
            svg.push_str(&format!(
                "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{radius}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"28\" stroke-dasharray=\"{length:.2} {rest:.2}\" stroke-dashoffset=\"{offset:.2}\" transform=\"rotate(-90 {cx} {cy})\"><title>{label}: {n}</title></circle>",
                rest = circumference - length,
                offset = -start,
                label = escape_html(label),
            ));
        }
        start += length;
        let y = 50 + i * 26;
        svg.push_str(&format!(
            "<rect x=\"200\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"{colour}\"/><text x=\"222\" y=\"{ty}\" font-size=\"12\">{label}: {n} ({p}%)</text>",
            ty = y + 12,
            label = escape_html(label),
            p = percent(*n, total),
        ));
    }
    svg.push_str(CHART_END);
    svg
}

/// A line chart as inline SVG: one point per period, labelled with its count.
fn line_chart(title: &str, points: &[(String, i64)]) -> String {
    let max = points.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (left, top, width, plot) = (40.0, 40.0, 560.0, 160.0);
    let step = width / (points.len().max(2) - 1) as f64;
    let at = |i: usize, n: i64| {
        (
            left + step * i as f64,
            top + plot - n as f64 / max as f64 * plot,
        )
    };
    let mut svg = chart_open(title, 250);
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"#a0aec0\"/>",
        base = top + plot,
        right = left + width,
    ));
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            let (x, y) = at(i, *n);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    svg.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"3\"/>",
        path.join(" "),
        PALETTE[0]
    ));
    for (i, (label, n)) in points.iter().enumerate() {
        let (x, y) = at(i, *n);
        svg.push_str(&format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{colour}\"><title>{label}: {n}</title></circle><text x=\"{x:.1}\" y=\"{ny:.1}\" font-size=\"12\" text-anchor=\"middle\">{n}</text><text x=\"{x:.1}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"middle\">{label}</text>",
            colour = PALETTE[0],
            ny = y - 10.0,
            ly = top + plot + 22.0,
            label = escape_html(label),
        ));
    }
    svg.push_str(CHART_END);
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
        if let Some(h) = line.strip_prefix("### ") {
            out.push_str(&format!("<h3>{}</h3>\n", escape_html(h)));
        } else if let Some(h) = line.strip_prefix("## ") {
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
    // The trend's periods as a landlord names them: "2024/25" for a financial year.
    let trend: Vec<(String, i64)> = r
        .trend
        .iter()
        .map(|(period, n)| (period_label(period), *n))
        .collect();
    let charts = [
        (
            "How many complaints were there, and at what stage did they conclude?",
            doughnut_chart(
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
            line_chart("Stage 1 complaints over three years", &trend),
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
/// table, before the next heading), its heading named in `charts`; a chart whose section is
/// missing goes at the end.
fn with_charts(html: &str, charts: &[(&str, String)]) -> String {
    let mut out = html.to_string();
    for (heading, chart) in charts {
        let heading = escape_html(heading);
        let found = ["h2", "h3"].iter().find_map(|tag| {
            let marker = format!("<{tag}>{heading}</{tag}>");
            out.find(&marker).map(|start| start + marker.len())
        });
        let at = found.map_or(out.len(), |after| {
            ["<h2>", "<h3>"]
                .iter()
                .filter_map(|next| out[after..].find(next))
                .min()
                .map_or(out.len(), |next| after + next)
        });
        out.insert_str(at, chart);
    }
    out
}

/// "2024-04-01 to 2025-03-31" as "2024/25"; other periods as they are.
fn period_label(period: &str) -> String {
    use chrono::{Datelike, NaiveDate};
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let dates = period
        .split_once(" to ")
        .and_then(|(from, to)| Some((date(from)?, date(to)?)));
    match dates {
        Some((from, to))
            if (from.month(), from.day(), to.month(), to.day()) == (4, 1, 3, 31)
                && to.year() == from.year() + 1 =>
        {
            format!("{}/{:02}", from.year(), to.year() % 100)
        }
        _ => period.to_string(),
    }
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

/// The report as Markdown: the landlord's foreword and introduction, the figures in the order
/// and shape of the published report's tables, then the landlord's other sections.
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

/// `n` of `total` with its share: "12 (34%)".
fn share(n: i64, total: i64) -> String {
    format!("{n} ({}%)", percent(n, total))
}

/// The figures as Markdown, in the order and under the headings of the landlord's published
/// report (Connexus Homes 2024/25): complaints received and where they concluded, service areas,
/// response times, extensions, outcomes, escalations, themes, refusals, then the Housing
/// Ombudsman's reviews; after them the Regulator's measures, the trend and who complained.
fn figures_markdown(r: &AnnualReport) -> String {
    let mut md = String::from("## Complaints received\n\n");
    received_markdown(r, &mut md);
    service_areas_markdown(r, &mut md);
    response_times_markdown(r, &mut md);
    extensions_markdown(r, &mut md);
    outcomes_markdown(r, &mut md);
    escalations_markdown(r, &mut md);
    themes_markdown(r, &mut md);
    refusals_markdown(r, &mut md);
    ombudsman_markdown(r, &mut md);
    measures_markdown(r, &mut md);
    md
}

/// The two bases, said under every table that uses one.
fn received_base(r: &AnnualReport) -> String {
    format!(
        "Base: complaints received (stage 1: {}) and reviews requested (stage 2: {}) in the period.\n\n",
        r.stage1.received, r.stage2.received
    )
}

fn issued_base(r: &AnnualReport) -> String {
    format!(
        "Base: stage responses issued in the period, whenever the complaint came (stage 1: {}, stage 2: {}), as the Regulator of Social Housing's CH02 counts them, so a closed year's figures stay the same when the report is run again.\n\n",
        r.stage1.responses_issued, r.stage2.responses_issued
    )
}

fn received_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(&format!(
        "### How many complaints were there, and at what stage did they conclude?\n\n\
         | | Stage 1 | Stage 2 |\n|---|---|---|\n| Received in the period | {} | {} |\n\n{}\
         | Concluded at | Cases | Percent |\n|---|---|---|\n| Stage 1 | {} | {}% |\n| Stage 2 | {} | {}% |\n| All resolutions provided | {} | 100% |\n\n",
        r.stage1.received,
        r.stage2.received,
        received_base(r),
        r.concluded_stage1,
        percent(r.concluded_stage1, r.resolutions),
        r.concluded_stage2,
        percent(r.concluded_stage2, r.resolutions),
        r.resolutions,
    ));
}

fn service_areas_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(&format!(
        "### Which service area did the complaint relate to?\n\nOut of {} stage 1 complaints:\n\n| Service area | Count | Percent |\n|---|---|---|\n",
        r.stage1.received
    ));
    for (area, n, p) in &r.stage1_by_area {
        md.push_str(&format!("| {area} | {n} | {p}% |\n"));
    }
    md.push('\n');
}

fn response_times_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(&format!(
        "### What were the response times?\n\n| Acknowledged within time | Stage 1 | Stage 2 |\n|---|---|---|\n| Of those received | {} | {} |\n\n{}\
         | Answered within the Code's timescales | Stage 1 | Stage 2 |\n|---|---|---|\n| Of the responses issued | {} | {} |\n\n{}",
        rate(r.stage1.acknowledged_in_time),
        rate(r.stage2.acknowledged_in_time),
        received_base(r),
        rate(r.stage1.responded_in_time),
        rate(r.stage2.responded_in_time),
        issued_base(r),
    ));
}

fn extensions_markdown(r: &AnnualReport, md: &mut String) {
    let organisation = if r.organisation.is_empty() {
        "the landlord"
    } else {
        &r.organisation
    };
    md.push_str(&format!(
        "### In how many cases did {organisation} extend the response deadline?\n\n| | Stage 1 | Stage 2 |\n|---|---|---|\n| Responses after an extension | {} | {} |\n| Of those, answered within the extension | {} | {} |\n\n{}",
        rate(r.stage1.extended),
        rate(r.stage2.extended),
        share(r.stage1.answered_within_extension, r.stage1.extended.on_time),
        share(r.stage2.answered_within_extension, r.stage2.extended.on_time),
        issued_base(r),
    ));
}

fn outcomes_markdown(r: &AnnualReport, md: &mut String) {
    let row = |label: &str, one: i64, two: i64| {
        format!(
            "| {label} | {} | {} |\n",
            share(one, r.stage1.responses_issued),
            share(two, r.stage2.responses_issued)
        )
    };
    md.push_str("### What were the outcomes of the complaints?\n\n| Outcome | Stage 1 | Stage 2 |\n|---|---|---|\n");
    md.push_str(&row("Upheld", r.stage1.upheld, r.stage2.upheld));
    md.push_str(&row(
        "Partly upheld",
        r.stage1.partly_upheld,
        r.stage2.partly_upheld,
    ));
    md.push_str(&row("Not upheld", r.stage1.not_upheld, r.stage2.not_upheld));
    md.push('\n');
    md.push_str(&issued_base(r));
}

fn escalations_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(
        "### Why did complaints escalate through the process?\n\n| Reason | Reviews |\n|---|---|\n",
    );
    for (reason, n) in &r.escalation_reasons {
        md.push_str(&format!("| {} | {n} |\n", reason.replace('|', "/")));
    }
    md.push_str(&format!(
        "\nIn {}% of reviews concluded ({} of {}), no further action or resolution was required.\n\n",
        percent(r.stage2_no_further_action, r.concluded_stage2),
        r.stage2_no_further_action,
        r.concluded_stage2
    ));
}

fn themes_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(
        "### What are the complaints about?\n\n| Theme | Stage 1 complaints |\n|---|---|\n",
    );
    for (theme, n) in &r.themes {
        md.push_str(&format!("| {theme} | {} |\n", share(*n, r.stage1.received)));
    }
    md.push('\n');
}

fn refusals_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(&format!(
        "### What complaints have been refused?\n\n{} complaints were not taken into the procedure.\n\n| Ground (Code 2.2) | Refusals |\n|---|---|\n",
        r.refused
    ));
    for (ground, n) in &r.refusal_reasons {
        md.push_str(&format!("| {ground} | {n} |\n"));
    }
    md.push('\n');
}

fn ombudsman_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(&format!(
        "## Reviews concluded by the Housing Ombudsman\n\n| | Cases |\n|---|---|\n| Determined by the Ombudsman in the period | {} |\n| Referred to the Ombudsman in the period | {} |\n| Still with the Ombudsman at the period's end | {} |\n\n| Finding | About | Count |\n|---|---|---|\n",
        r.ombudsman_determined, r.ombudsman_referrals, r.ombudsman_open
    ));
    for (finding, area, n) in &r.ombudsman_findings {
        md.push_str(&format!(
            "| {} | {} | {n} |\n",
            capitalised(&finding.replace('_', " ")),
            area.replace('_', " ")
        ));
    }
    md.push('\n');
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn measures_markdown(r: &AnnualReport, md: &mut String) {
    md.push_str(
        "## Tenant satisfaction measures\n\n| Measure | Stage 1 | Stage 2 |\n|---|---|---|\n",
    );
    // CH01 needs the number of homes; without it the row is left out (a warning says so).
    if let (Some(s1), Some(s2)) = (r.ch01_stage1_per_1000_homes, r.ch01_stage2_per_1000_homes) {
        md.push_str(&format!(
            "| CH01 complaints per 1,000 homes | {s1:.2} | {s2:.2} |\n"
        ));
    }
    md.push_str(&format!(
        "| CH02 responses issued within the Code's timescales | {}% | {}% |\n\n\
         CH01 counts complaints received from tenants in the period, per 1,000 homes owned. CH02 counts the stage responses issued in the period, an answer within an extension the Code allows counting as within (the Regulator of Social Housing's technical requirements).\n\n",
        r.ch02_stage1_percent, r.ch02_stage2_percent
    ));
    md.push_str(
        "## Stage 1 complaints over three years\n\n| Period | Stage 1 complaints |\n|---|---|\n",
    );
    for (period, n) in &r.trend {
        md.push_str(&format!("| {} | {n} |\n", period_label(period)));
    }
    md.push_str(&format!(
        "\n## Who complained\n\n| Source | Count |\n|---|---|\n| Customers | {} |\n| Neighbours and the wider community | {} |\n\n\
         ## Compliments, feedback and service requests\n\n| | Count |\n|---|---|\n| Compliments | {} |\n| Feedback | {} |\n| Service requests | {} |\n",
        r.from_customers, r.from_community, r.compliments, r.feedback, r.service_requests
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_financial_year_is_named_as_a_landlord_names_it() {
        assert_eq!(period_label("2024-04-01 to 2025-03-31"), "2024/25");
        assert_eq!(period_label("1999-04-01 to 2000-03-31"), "1999/00");
        assert_eq!(
            period_label("2024-10-03 to 2024-12-31"),
            "2024-10-03 to 2024-12-31"
        );
        assert_eq!(period_label("§§§ to ²²²"), "§§§ to ²²²", "never a panic");
    }

    #[test]
    fn a_doughnut_shows_each_share_and_an_empty_one_a_grey_ring() {
        let chart = doughnut_chart("Stages", &[("Stage 1".into(), 3), ("Stage 2".into(), 1)]);
        assert!(chart.contains("Stage 1: 3 (75%)") && chart.contains("Stage 2: 1 (25%)"));
        assert_eq!(chart.matches("stroke-dasharray").count(), 2);
        let empty = doughnut_chart("Stages", &[("Stage 1".into(), 0), ("Stage 2".into(), 0)]);
        assert!(empty.contains("#e2e8f0") && !empty.contains("stroke-dasharray"));
    }

    #[test]
    fn each_chart_goes_before_the_next_heading_of_any_level() {
        let html = "<h2>A</h2><table></table><h3>B</h3><p>b</p><h2>C</h2>";
        let placed = with_charts(html, &[("B", "[chart]".into()), ("Z", "[end]".into())]);
        assert_eq!(
            placed,
            "<h2>A</h2><table></table><h3>B</h3><p>b</p>[chart]<h2>C</h2>[end]"
        );
    }
}
