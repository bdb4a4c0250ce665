//! What the store benches share: an application on a fresh SQLite file in a temporary folder,
//! with the shipped templates, rules and holidays, and `extra` config tables.

use redress::app::{App, Rules};

/// A fresh application; keep the folder alive as long as the application.
pub async fn bench_app(extra: &str) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("dir");
    let root = env!("CARGO_MANIFEST_DIR");
    let config = format!(
        "[mailbox]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nusername = \"c@example.test\"\npassword = \"x\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nfrom = \"c@example.test\"\n[organisation]\nname = \"Bench Homes\"\n\
         [database]\nurl = \"sqlite://{db}\"\n[calendar]\nholidays_file = \"{root}/config/bank-holidays.json\"\n\
         [templates]\ndir = \"{root}/config/templates\"\n[classification]\nrules_file = \"{root}/config/classification.toml\"\n\
         {extra}",
        db = dir.path().join("bench.db").display()
    );
    let path = dir.path().join("redress.toml");
    std::fs::write(&path, config).expect("config");
    let app = App::start(Rules::load(&path).expect("rules"))
        .await
        .expect("app");
    (dir, app)
}

/// How many cases to record: `CASES` from the environment, else `default`.
pub fn cases(default: i64) -> i64 {
    std::env::var("CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
