//! The Debian package: built with cargo-deb (from the debug build, for speed), unpacked into a
//! scratch root with `dpkg -x`, its layout checked, its unit verified by `systemd-analyze verify`
//! (pointed at the unpacked binary), and the unpacked binary run on the unpacked config.

use std::path::Path;
use std::process::Command;

use crate::support::*;

fn run(command: &mut Command) -> String {
    let out = command.output().expect("run");
    assert!(
        out.status.success(),
        "{command:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_package_installs_a_complete_service() {
    let repo = repo();
    run(Command::new("bash")
        .arg(repo.join("packaging/build-deb.sh"))
        .args(["--dev", "--fast"])
        .current_dir(&repo));
    let deb = std::fs::read_dir(repo.join("target/debian"))
        .expect("target/debian")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    let scratch = tempfile::tempdir().expect("scratch root");
    let root = scratch.path();
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(root));
    run(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(root.join("DEBIAN")));
    for path in [
        "usr/bin/redress",
        "lib/systemd/system/redress.service",
        "etc/redress/redress.toml",
        "etc/redress/classification.toml",
        "etc/redress/bank-holidays.json",
        "usr/lib/sysusers.d/redress.conf",
        "usr/lib/tmpfiles.d/redress.conf",
        "usr/share/man/man1/redress.1.gz",
        "usr/share/man/man1/redress-case-acknowledge.1.gz",
        "usr/share/bash-completion/completions/redress",
        "usr/share/zsh/vendor-completions/_redress",
        "usr/share/fish/vendor_completions.d/redress.fish",
    ] {
        assert!(
            root.join(path).is_file(),
            "{path} is missing from the package"
        );
    }
    for template in std::fs::read_dir(repo.join("config/templates")).expect("templates") {
        let name = template.expect("entry").file_name();
        assert!(
            root.join("etc/redress/templates").join(&name).is_file(),
            "template {name:?} not packaged"
        );
    }
    let conffiles = std::fs::read_to_string(root.join("DEBIAN/conffiles")).expect("conffiles");
    for conffile in [
        "/etc/redress/redress.toml",
        "/etc/redress/templates/receipt.txt",
        "/etc/redress/classification.toml",
        "/etc/redress/bank-holidays.json",
    ] {
        assert!(
            conffiles.lines().any(|l| l == conffile),
            "{conffile} is not a conffile:\n{conffiles}"
        );
    }
    let sysusers =
        std::fs::read_to_string(root.join("usr/lib/sysusers.d/redress.conf")).expect("sysusers");
    assert!(
        sysusers.lines().any(|l| l.starts_with("u redress ")),
        "{sysusers}"
    );
    let tmpfiles =
        std::fs::read_to_string(root.join("usr/lib/tmpfiles.d/redress.conf")).expect("tmpfiles");
    assert!(
        tmpfiles.contains("d /var/lib/redress 0700 redress redress"),
        "{tmpfiles}"
    );
    // The installed unit, pointed at the unpacked binary, passes systemd's own checks.
    let unit =
        std::fs::read_to_string(root.join("lib/systemd/system/redress.service")).expect("unit");
    assert!(
        unit.contains("ExecStart=/usr/bin/redress --config /etc/redress/redress.toml run"),
        "{unit}"
    );
    let binary = root.join("usr/bin/redress");
    let check = scratch.path().join("check");
    std::fs::create_dir_all(&check).expect("dir");
    std::fs::write(
        check.join("redress.service"),
        unit.replace("/usr/bin/redress", &binary.display().to_string()),
    )
    .expect("unit copy");
    run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(check.join("redress.service")));
    // The packaged config, templates, rules and holidays load as installed.
    let out = run(Command::new(&binary)
        .args(["--config"])
        .arg(root.join("etc/redress/redress.toml"))
        .args(["calendar", "add", "2026-12-24", "3"]));
    assert!(out.contains("Thu 2026-12-31"), "{out}");
    assert!(Path::new(&binary).metadata().expect("binary").len() > 0);
}
