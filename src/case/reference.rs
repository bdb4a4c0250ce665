//! Case references (`CMP-2026-000123`): making them and finding them in subjects.
//!
//! Customers and mail clients mangle subjects (`RE: FW: [CMP 2026 000123]`, lower case, extra
//! spaces, underscores); the finder tolerates all of that and returns the canonical form.

use regex::Regex;

/// Finds case references with one prefix.
#[derive(Debug, Clone)]
pub struct ReferenceFinder {
    prefix: String,
    pattern: Regex,
}

impl ReferenceFinder {
    /// A finder for references starting with `prefix` (capital letters, checked by config).
    pub fn new(prefix: &str) -> Result<Self, regex::Error> {
        let pattern = Regex::new(&format!(
            r"(?i)(?:^|[^A-Za-z0-9]){}[\s\-_/.:#]*(\d{{4}})[\s\-_/.:#]*(\d{{6}})(?:$|[^0-9])",
            regex::escape(prefix)
        ))?;
        Ok(Self {
            prefix: prefix.to_string(),
            pattern,
        })
    }

    /// Every reference in `text`, canonical, in order, without repeats.
    pub fn find_all(&self, text: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for caps in self.pattern.captures_iter(text) {
            let reference = format!("{}-{}-{}", self.prefix, &caps[1], &caps[2]);
            if !found.contains(&reference) {
                found.push(reference);
            }
        }
        found
    }

    /// The first reference in `text`.
    pub fn find(&self, text: &str) -> Option<String> {
        self.find_all(text).into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_of_what_mail_clients_do_to_subjects() {
        let finder = ReferenceFinder::new("CMP").expect("pattern");
        for subject in [
            "Re: Your complaint CMP-2026-000123 has been received",
            "RE: FW: [CMP-2026-000123]",
            "AW: cmp-2026-000123",
            "Re: (CMP 2026 000123) still waiting",
            "Fwd: CMP_2026_000123",
            "CMP2026000123",
            "Ref:CMP-2026-000123.",
        ] {
            assert_eq!(
                finder.find(subject).as_deref(),
                Some("CMP-2026-000123"),
                "{subject}"
            );
        }
    }

    #[test]
    fn does_not_match_inside_other_tokens() {
        let finder = ReferenceFinder::new("CMP").expect("pattern");
        assert_eq!(finder.find("XCMP-2026-000123"), None);
        assert_eq!(finder.find("CMP-2026-0001234"), None);
        assert_eq!(finder.find("no reference here"), None);
    }

    #[test]
    fn finds_several_once_each() {
        let finder = ReferenceFinder::new("CMP").expect("pattern");
        assert_eq!(
            finder.find_all("CMP-2026-000001 and CMP-2026-000002, CMP 2026 000001"),
            vec!["CMP-2026-000001", "CMP-2026-000002"]
        );
    }
}
