//! The assembled application: settings plus everything built from them once at start
//! (calendar, letters, classifier, reference finder) and the store.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::case::calendar::Calendar;
use crate::case::letters::{LetterError, Letters};
use crate::case::reference::ReferenceFinder;
use crate::config::{ConfigError, Settings};
use crate::intake::classify::Classifier;
use crate::store::{Store, StoreError};

/// Why the application could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Letters(#[from] LetterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reference pattern: {0}")]
    Pattern(#[from] regex::Error),
    #[error(transparent)]
    Classification(#[from] crate::intake::classify::ClassifyError),
}

/// Everything pure that the settings produce, checked at start.
#[derive(Debug)]
pub struct Rules {
    pub settings: Settings,
    pub calendar: Calendar,
    pub letters: Letters,
    pub classifier: Classifier,
    pub references: ReferenceFinder,
}

impl Rules {
    /// Builds the rules from settings (reads the holidays file and templates).
    pub fn from_settings(settings: Settings) -> Result<Rules, AppError> {
        let calendar = settings.calendar.load()?;
        let letters = Letters::load(&settings.templates_dir)?;
        let rules_text = std::fs::read_to_string(&settings.classification_rules).map_err(|e| {
            ConfigError::Invalid {
                key: "classification.rules_file".into(),
                problem: format!(
                    "cannot read {}: {e}",
                    settings.classification_rules.display()
                ),
                fix: "point it at a rules file such as config/classification.toml".into(),
            }
        })?;
        let classifier = Classifier::new(
            &settings.organisation.message_id_domain,
            &settings.organisation.complaints_address,
            &rules_text,
        )?;
        let references = ReferenceFinder::new(&settings.organisation.reference_prefix)?;
        Ok(Rules {
            settings,
            calendar,
            letters,
            classifier,
            references,
        })
    }

    /// Loads the config file and builds the rules.
    pub fn load(config_path: &Path) -> Result<Rules, AppError> {
        Self::from_settings(Settings::load(config_path)?)
    }

    /// A fresh Message-ID of ours (without brackets) for a letter of `kind` on case `reference`.
    pub fn new_message_id(&self, reference: &str, kind: &str) -> String {
        format!(
            "redress.{reference}.{kind}.{:016x}@{}",
            rand::random::<u64>(),
            self.settings.organisation.message_id_domain
        )
    }

    /// A time as handlers read it: "2026-11-23 10:00" in the landlord's time zone.
    pub fn calendar_time(&self, instant: DateTime<Utc>) -> String {
        instant
            .with_timezone(&self.calendar.time_zone())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// A date as letters print it: "Monday 30 November 2026", in the landlord's time zone.
    pub fn letter_date(&self, instant: DateTime<Utc>) -> String {
        instant
            .with_timezone(&self.calendar.time_zone())
            .format("%A %-d %B %Y")
            .to_string()
    }
}

/// The application: rules plus the store.
#[derive(Debug)]
pub struct App {
    pub rules: Arc<Rules>,
    pub store: Store,
}

impl App {
    /// Connects to the database and applies migrations; every event written is stamped with
    /// the account running redress.
    pub async fn start(mut rules: Rules) -> Result<App, AppError> {
        let store = Store::connect(&rules.settings.database.connect_url()?).await?;
        store.migrate().await?;
        let store = store.acting_as(&operator());
        if let Some(learned) = store
            .latest_model()
            .await?
            .and_then(|json| crate::intake::learned::Learned::from_stored(&json))
        {
            rules.classifier.learn(learned);
        }
        Ok(App {
            rules: Arc::new(rules),
            store,
        })
    }
}

/// The account acting: the person behind `sudo`, else the login running redress.
pub fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "redress".into())
}

impl App {
    /// The same application with every write stamped with `account` (a signed-in person).
    pub fn acting_as(&self, account: &str) -> App {
        App {
            rules: self.rules.clone(),
            store: self.store.clone().acting_as(account),
        }
    }
}
