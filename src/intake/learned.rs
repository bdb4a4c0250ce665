//! What people taught the classifier: a multinomial naive Bayes text model, fitted by
//! `redress train` on the cases people corrected or confirmed and on a landlord's earlier cases
//! (`redress import-history`), and asked only where the rules found no strong phrase. It is small
//! and explainable: each decision names the words that weighed most for it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Words too common to say anything about a mail.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "are", "but", "not", "you", "your", "our", "with", "this", "that", "have",
    "has", "had", "was", "were", "been", "from", "they", "them", "their", "there", "what", "when",
    "which", "who", "will", "would", "could", "should", "can", "about", "into", "than", "then",
    "also", "just", "please", "thank", "thanks", "dear", "regards", "kind", "sir", "madam", "its",
    "it's", "i'm", "i've", "we", "us", "me", "my", "all", "any", "some", "out", "off", "now",
    "still", "very", "one", "get", "got", "again", "since", "because", "being", "did", "does",
];

/// The words of `text` the model counts: lower-cased runs of letters, three or more long, not
/// stopwords.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// The counts behind one label.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct LabelCounts {
    examples: u64,
    words: u64,
    counts: HashMap<String, u64>,
}

/// A fitted model for one question (the kind, or the service area).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Model {
    labels: BTreeMap<String, LabelCounts>,
    vocabulary: usize,
}

/// The model's answer for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: String,
    /// The posterior probability of `label`, 0 to 1.
    pub confidence: f64,
    /// The words of the text that weighed most for `label` against the next best, most first.
    pub words: Vec<String>,
}

impl Model {
    /// Fits the model on (text, label) examples.
    pub fn fit<'a>(examples: impl IntoIterator<Item = (&'a str, &'a str)>) -> Model {
        let mut model = Model::default();
        let mut vocabulary = std::collections::HashSet::new();
        for (text, label) in examples {
            let counts = model.labels.entry(label.to_string()).or_default();
            counts.examples += 1;
            for word in words(text) {
                counts.words += 1;
                *counts.counts.entry(word.clone()).or_default() += 1;
                vocabulary.insert(word);
            }
        }
        model.vocabulary = vocabulary.len();
        model
    }

    /// How many examples each label was fitted on.
    pub fn examples(&self) -> Vec<(String, u64)> {
        self.labels
            .iter()
            .map(|(label, c)| (label.clone(), c.examples))
            .collect()
    }

    /// log P(word | label), with add-one smoothing.
    fn log_likelihood(&self, counts: &LabelCounts, word: &str) -> f64 {
        let n = counts.counts.get(word).copied().unwrap_or(0) as f64;
        ((n + 1.0) / (counts.words as f64 + self.vocabulary as f64 + 1.0)).ln()
    }

    /// The most likely label for `text`, or `None` when the model knows fewer than two labels
    /// or none of the text's words.
    pub fn predict(&self, text: &str) -> Option<Prediction> {
        let known: Vec<String> = words(text)
            .into_iter()
            .filter(|w| self.labels.values().any(|c| c.counts.contains_key(w)))
            .collect();
        if self.labels.len() < 2 || known.is_empty() {
            return None;
        }
        let total: u64 = self.labels.values().map(|c| c.examples).sum();
        let mut scores: Vec<(&String, f64)> = self
            .labels
            .iter()
            .map(|(label, counts)| {
                let prior = (counts.examples as f64 / total as f64).ln();
                let score = known
                    .iter()
                    .map(|w| self.log_likelihood(counts, w))
                    .sum::<f64>();
                (label, prior + score)
            })
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = scores[0].1;
        let norm: f64 = scores.iter().map(|(_, s)| (s - best).exp()).sum();
        let (label, runner_up) = (scores[0].0, scores[1].0);
        Some(Prediction {
            label: label.clone(),
            confidence: 1.0 / norm,
            words: self.weightiest(&known, &self.labels[label], &self.labels[runner_up]),
        })
    }

    /// The words that weighed most for `best` against `next`, most first (at most five).
    fn weightiest(&self, known: &[String], best: &LabelCounts, next: &LabelCounts) -> Vec<String> {
        let mut weights: BTreeMap<&str, f64> = BTreeMap::new();
        for word in known {
            let weight = self.log_likelihood(best, word) - self.log_likelihood(next, word);
            *weights.entry(word).or_default() += weight;
        }
        let mut ranked: Vec<(&str, f64)> = weights.into_iter().filter(|(_, w)| *w > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(5)
            .map(|(w, _)| w.to_string())
            .collect()
    }
}

/// What `redress train` fitted: one model for the kind, one for the service area.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Learned {
    pub kind: Model,
    pub area: Model,
}

impl Learned {
    /// Fits both models on `examples`: each on the examples that give its label.
    pub fn fit<'a>(examples: impl IntoIterator<Item = &'a TrainingExample> + Clone) -> Learned {
        let labelled = |label: fn(&TrainingExample) -> Option<&str>| {
            examples
                .clone()
                .into_iter()
                .filter_map(move |e| Some((e.text.as_str(), label(e)?)))
        };
        Learned {
            kind: Model::fit(labelled(|e| e.kind.as_deref())),
            area: Model::fit(labelled(|e| e.area.as_deref())),
        }
    }

    /// A model as stored (JSON); `None`, with a warning, for one this version cannot read: the
    /// rules alone still classify.
    pub fn from_stored(json: &str) -> Option<Learned> {
        serde_json::from_str(json)
            .inspect_err(|error| {
                tracing::warn!(%error, "the trained model cannot be read and is left out: run `redress train` again");
            })
            .ok()
    }
}

/// One example to learn from: a mail's own words, and what people said it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingExample {
    pub text: String,
    pub kind: Option<String>,
    pub area: Option<String>,
}

/// Reads a history CSV (`redress import-history`'s format: the first line names the columns,
/// at least `text`, and `kind` and `area` where known; empty cells are none), row by row in
/// order, so row `i` is on line `i + 2`.
pub fn read_history(path: &std::path::Path) -> Result<Vec<TrainingExample>, HistoryError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
    let header = reader.headers()?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(text), kind, area) = (column("text"), column("kind"), column("area")) else {
        return Err(HistoryError::NoTextColumn);
    };
    reader
        .records()
        .map(|record| {
            let record = record?;
            let cell = |at: Option<usize>| {
                at.and_then(|i| record.get(i))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            Ok(TrainingExample {
                text: cell(Some(text)).unwrap_or_default(),
                kind: cell(kind),
                area: cell(area),
            })
        })
        .collect()
}

/// Why a history CSV cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{0}")]
    Csv(#[from] csv::Error),
    #[error("the first line must name the columns, with at least `text` (and `kind`, `area`)")]
    NoTextColumn,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_and_leave_out_the_common_ones() {
        assert_eq!(
            words("The BOILER isn't working, and it's freezing!"),
            ["boiler", "isn't", "working", "freezing"]
        );
    }

    #[test]
    fn it_learns_which_words_go_with_which_team_and_says_so() {
        let model = Model::fit([
            ("The boiler has no heating and no hot water", "Repairs"),
            ("Radiator leaking, heating engineer never came", "Repairs"),
            ("The boiler pressure drops every night", "Repairs"),
            ("Neighbours playing loud music every night", "Communities"),
            (
                "Anti-social behaviour and noise from the flat above",
                "Communities",
            ),
            ("Loud parties and shouting next door", "Communities"),
        ]);
        let heating = model
            .predict("no heating since the boiler broke")
            .expect("a label");
        assert_eq!(heating.label, "Repairs");
        assert!(heating.confidence > 0.8, "{heating:?}");
        assert!(heating.words.contains(&"boiler".to_string()), "{heating:?}");
        assert!(!heating.words.contains(&"since".to_string()));
        let noise = model.predict("music so loud at night").expect("a label");
        assert_eq!(noise.label, "Communities");
        assert!(noise.words.contains(&"loud".to_string()), "{noise:?}");
        assert_eq!(model.predict("zzz qqq"), None, "no known word: no answer");
        assert_eq!(Model::fit([("boiler", "Repairs")]).predict("boiler"), None);
    }

    #[test]
    fn a_model_survives_being_stored() {
        let learned = Learned {
            kind: Model::fit([
                ("unacceptable", "complaint"),
                ("thank you so much", "compliment"),
            ]),
            area: Model::default(),
        };
        let text = serde_json::to_string(&learned).expect("json");
        assert_eq!(
            serde_json::from_str::<Learned>(&text).expect("back"),
            learned
        );
    }
}
