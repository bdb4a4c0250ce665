//! Public mail nobody here wrote (`tests/fixtures/public/`, see its README): no robot among it
//! is taken for a person, so none is ever answered, and no person is taken for a robot. Prints
//! the figures (`cargo test --test it public_mail -- --nocapture`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use redress::intake::classify::{Classifier, Kind};

#[derive(Debug, serde::Deserialize)]
struct Label {
    robot: bool,
    /// A robot redress is known to take for a person, and why.
    missed: Option<String>,
}

fn public() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/public")
}

#[test]
fn no_robot_in_public_mail_is_answered_and_no_person_is_ignored() {
    let labels: BTreeMap<String, Label> = toml::from_str(
        &std::fs::read_to_string(public().join("robots.toml")).expect("robots.toml"),
    )
    .expect("valid robots.toml");
    let rules = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/classification.toml"),
    )
    .expect("rules");
    let classifier =
        Classifier::new("example.org", "complaints@example.org", &rules).expect("rules");
    let (mut robots, mut caught, mut people, mut ignored) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for (file, label) in &labels {
        let raw = std::fs::read(public().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let automated = classifier
            .classify(&redress::intake::mail::parse(&raw), None)
            .kind
            == Kind::Automated;
        if label.robot {
            robots += 1;
            caught += usize::from(automated);
            if automated == label.missed.is_some() {
                wrong.push(format!(
                    "{file}: a robot, {}",
                    if automated {
                        "now caught: take its `missed` away"
                    } else {
                        "taken for a person"
                    }
                ));
            }
        } else {
            people += 1;
            ignored += usize::from(automated);
            if automated {
                wrong.push(format!("{file}: a person, taken for a robot"));
            }
        }
    }
    println!(
        "public mail: {caught} of {robots} robots never answered; {ignored} of {people} people taken for robots"
    );
    assert!(labels.len() >= 160, "only {} public mails", labels.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
