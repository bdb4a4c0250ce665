//! Which team a new case goes to: the service area its words point at.
//!
//! Phrases are matched where a word starts, longest first, and a span of text counts once: in
//! "the fire door will not close", `fire door` (building safety) takes the words and the
//! shorter `door` (repairs) inside it no longer counts. Phrases that belong to no area
//! (`area_exclusions`, e.g. "next door") take their words the same way, so they count against
//! whatever they contain. The area with the most phrases wins (ties: the earlier area).
//!
//! Which area a theme routes to differs between landlords (one sends damp and mould to asset
//! management, another to building safety), so `theme_areas` can send a theme to an area
//! whatever the phrases say.

use regex::{Regex, RegexBuilder};

use super::classify::ClassifyError;

/// One phrase: the area it points at (`None` for an exclusion) and how it is written.
#[derive(Debug, Clone)]
struct Phrase {
    area: Option<usize>,
    pattern: String,
    regex: Regex,
}

/// The compiled area rules.
#[derive(Debug, Clone)]
pub struct Areas {
    names: Vec<String>,
    phrases: Vec<Phrase>,
    /// Theme name → area index, in the themes' order of precedence.
    theme_areas: Vec<(String, usize)>,
}

/// A phrase compiled to match only where a word starts (stems such as `plumb` still match
/// "plumber"; `door` no longer matches "indoors").
fn compile(rule: &str, pattern: &str) -> Result<Regex, ClassifyError> {
    let anchored = if pattern.starts_with("\\b") {
        pattern.to_string()
    } else {
        format!("\\b(?:{pattern})")
    };
    RegexBuilder::new(&anchored)
        .case_insensitive(true)
        .build()
        .map_err(|e| ClassifyError::Pattern {
            rule: rule.to_string(),
            pattern: pattern.to_string(),
            message: e.to_string(),
        })
}

fn strings(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Areas {
    /// Compiles `[service_areas]`, `area_exclusions` and `[theme_areas]`; a theme or area that
    /// does not exist is an error naming it.
    pub fn new(
        service_areas: &toml::Table,
        exclusions: &[String],
        theme_areas: &toml::Table,
        themes: &[String],
    ) -> Result<Areas, ClassifyError> {
        let names: Vec<String> = service_areas.keys().cloned().collect();
        let mut phrases = Vec::new();
        for (index, (name, value)) in service_areas.iter().enumerate() {
            for pattern in strings(value) {
                let regex = compile(&format!("service_areas.\"{name}\""), &pattern)?;
                phrases.push(Phrase {
                    area: Some(index),
                    pattern,
                    regex,
                });
            }
        }
        for pattern in exclusions {
            let regex = compile("area_exclusions", pattern)?;
            phrases.push(Phrase {
                area: None,
                pattern: pattern.clone(),
                regex,
            });
        }
        let mut routed = Vec::new();
        for (theme, area) in theme_areas {
            let area = area.as_str().unwrap_or_default();
            let Some(index) = names.iter().position(|n| n == area) else {
                return Err(ClassifyError::Syntax(format!(
                    "theme_areas.\"{theme}\" names the area \"{area}\", which is not in [service_areas]"
                )));
            };
            if !themes.iter().any(|t| t == theme) {
                return Err(ClassifyError::Syntax(format!(
                    "theme_areas names the theme \"{theme}\", which is not in [themes]"
                )));
            }
            routed.push((theme.clone(), index));
        }
        Ok(Areas {
            names,
            phrases,
            theme_areas: routed,
        })
    }

    /// The area for `text` whose themes are `themes`, with the phrases (or theme) that decided.
    pub fn area_of(&self, text: &str, themes: &[String]) -> (Option<String>, Vec<String>) {
        for (theme, index) in &self.theme_areas {
            if themes.contains(theme) {
                let name = self.names[*index].clone();
                return (
                    Some(name.clone()),
                    vec![format!(
                        "service area {name}: the theme \"{theme}\" goes there (theme_areas)"
                    )],
                );
            }
        }
        let taken = self.longest_first(text);
        let mut counts = vec![0usize; self.names.len()];
        for (_, phrase) in &taken {
            if let Some(area) = phrase.area {
                counts[area] += 1;
            }
        }
        let mut best: Option<usize> = None;
        for (area, &count) in counts.iter().enumerate() {
            if count > 0 && best.is_none_or(|b| count > counts[b]) {
                best = Some(area);
            }
        }
        let Some(best) = best else {
            return (None, Vec::new());
        };
        let reasons = taken
            .iter()
            .filter(|(_, p)| p.area == Some(best))
            .map(|(words, p)| {
                format!(
                    "service area {}: \"{words}\" /{}/",
                    self.names[best], p.pattern
                )
            })
            .collect();
        (Some(self.names[best].clone()), reasons)
    }

    /// Every phrase found, longest first, each span of text taken once.
    fn longest_first(&self, text: &str) -> Vec<(String, &Phrase)> {
        let mut found: Vec<(usize, usize, &Phrase)> = self
            .phrases
            .iter()
            .flat_map(|p| {
                p.regex
                    .find_iter(text)
                    .map(move |m| (m.start(), m.end(), p))
            })
            .collect();
        found.sort_by_key(|(start, end, _)| (std::cmp::Reverse(end - start), *start));
        let mut taken: Vec<(usize, usize, &Phrase)> = Vec::new();
        for (start, end, phrase) in found {
            if taken.iter().all(|(s, e, _)| end <= *s || start >= *e) {
                taken.push((start, end, phrase));
            }
        }
        taken.sort_by_key(|(start, _, _)| *start);
        taken
            .into_iter()
            .map(|(start, end, phrase)| (text[start..end].to_string(), phrase))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn areas(theme_areas: &str) -> Areas {
        let table: toml::Table = toml::from_str(
            r#"
"Repairs" = ["repair", "door", "roof", "window", "plumb"]
"Asset management" = ["roof replacement", "planned (works|programme)", "damp", "mou?ld"]
"Building safety & compliance" = ["fire (door|alarm)", "\\blifts?\\b"]
"Communities" = ["neighbour", "noise"]
"#,
        )
        .expect("areas");
        let routing: toml::Table = toml::from_str(theme_areas).expect("routing");
        let themes = ["damp, mould and condensation".to_string()];
        Areas::new(&table, &["next door".into()], &routing, &themes).expect("valid")
    }

    fn area(text: &str) -> Option<String> {
        areas("").area_of(text, &[]).0
    }

    /// Issue 12: the longer phrase takes its words; "next door" is no door; stems still match
    /// at the start of a word, and nothing matches inside one.
    #[test]
    fn phrases_match_longest_first_on_word_starts() {
        assert_eq!(
            area("The fire door on the landing will not close").as_deref(),
            Some("Building safety & compliance")
        );
        assert_eq!(
            area("The family next door make noise every night").as_deref(),
            Some("Communities")
        );
        assert_eq!(
            area("Our roof replacement under the planned works was left half done").as_deref(),
            Some("Asset management")
        );
        assert_eq!(area("The plumber never came").as_deref(), Some("Repairs"));
        assert_eq!(
            area("We stay indoors all day"),
            None,
            "no door inside a word"
        );
        assert_eq!(area("Nothing here names a team"), None);
    }

    /// Issue 12: where damp and mould go is the landlord's choice.
    #[test]
    fn a_theme_routes_to_the_area_configured() {
        let text = "Black mould in the bedroom";
        let theme = ["damp, mould and condensation".to_string()];
        assert_eq!(
            areas("").area_of(text, &theme).0.as_deref(),
            Some("Asset management")
        );
        let routed = areas("\"damp, mould and condensation\" = \"Building safety & compliance\"");
        let (area, reasons) = routed.area_of(text, &theme);
        assert_eq!(area.as_deref(), Some("Building safety & compliance"));
        assert!(reasons[0].contains("theme_areas"), "{reasons:?}");
    }

    #[test]
    fn routing_to_an_unknown_area_or_theme_is_named() {
        let table: toml::Table = toml::from_str("\"Repairs\" = [\"door\"]").expect("areas");
        let routing: toml::Table = toml::from_str("\"damp\" = \"Estates\"").expect("routing");
        let err = Areas::new(&table, &[], &routing, &["damp".into()]).expect_err("unknown area");
        assert!(err.to_string().contains("Estates"), "{err}");
        let routing: toml::Table = toml::from_str("\"rats\" = \"Repairs\"").expect("routing");
        let err = Areas::new(&table, &[], &routing, &["damp".into()]).expect_err("unknown theme");
        assert!(err.to_string().contains("rats"), "{err}");
    }
}
