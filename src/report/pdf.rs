//! The report as PDF: the self-contained HTML page printed by headless Chromium. The page's
//! print rules (in `render::html`) number the pages and keep each chart and table on one page.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why no PDF was made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(
        "no Chromium to print the PDF with: install it (apt install chromium) or write --format html and print that"
    )]
    NoBrowser,
    #[error("cannot prepare the page to print: {0}")]
    Io(#[from] std::io::Error),
    #[error("Chromium did not print the report ({status}): {stderr}")]
    Failed { status: String, stderr: String },
}

/// The browsers tried, in order, on the PATH.
const BROWSERS: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    BROWSERS.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Prints `html` to PDF and returns its bytes.
pub fn print(html: &str) -> Result<Vec<u8>, PdfError> {
    let browser = browser().ok_or(PdfError::NoBrowser)?;
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("report.html");
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&page, html)?;
    let out = run(&browser, dir.path(), &page, &pdf)?;
    match std::fs::read(&pdf) {
        Ok(bytes) if bytes.starts_with(b"%PDF") => Ok(bytes),
        _ => Err(PdfError::Failed {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string(),
        }),
    }
}

fn run(
    browser: &Path,
    profile: &Path,
    page: &Path,
    pdf: &Path,
) -> Result<std::process::Output, std::io::Error> {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
}
