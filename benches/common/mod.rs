//! What the store benches share: an application on a fresh SQLite file in a temporary folder,
//! with the shipped templates, rules and holidays, and `extra` config tables.

use redress::app::{App, Rules};

/// A fresh application; keep the folder alive as long as the application.
#[allow(dead_code)] // The report bench names its own folder and database.
pub async fn bench_app(extra: &str) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let app = app_in(dir.path(), &url, extra).await;
    (dir, app)
}

/// An application on the database at `url`, with its config written to `dir/redress.toml`.
pub async fn app_in(dir: &std::path::Path, url: &str, extra: &str) -> App {
    let root = env!("CARGO_MANIFEST_DIR");
    let config = format!(
        "[mailbox]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nusername = \"c@example.test\"\npassword = \"x\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nfrom = \"c@example.test\"\n[organisation]\nname = \"Bench Homes\"\n\
         [database]\nurl = \"{url}\"\n[calendar]\nholidays_file = \"{root}/config/bank-holidays.json\"\n\
         [templates]\ndir = \"{root}/config/templates\"\n[classification]\nrules_file = \"{root}/config/classification.toml\"\n\
         {extra}"
    );
    let path = dir.join("redress.toml");
    std::fs::write(&path, config).expect("config");
    App::start(Rules::load(&path).expect("rules"))
        .await
        .expect("app")
}

/// How many cases to record: `CASES` from the environment, else `default`.
pub fn cases(default: i64) -> i64 {
    std::env::var("CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
