#!/usr/bin/env bash
# Builds redress's Debian package: target/debian/redress_VERSION_ARCH.deb.
#   bash packaging/build-deb.sh            # release build
#   bash packaging/build-deb.sh --dev      # from the debug build (what the test uses: faster)
# Needs cargo-deb (`cargo install cargo-deb --locked`). The package holds the binary, the
# systemd unit, /etc/redress (config, templates, classification rules, holidays: conffiles), a
# sysusers.d entry for the `redress` user, a tmpfiles.d entry for /var/lib/redress, man pages
# and shell completions generated from the command line itself.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
[ "${1:-}" = "--dev" ] && profile=dev
dir=$([ "$profile" = dev ] && echo debug || echo release)
if [ "$profile" = release ]; then cargo build --release --locked; else cargo build --locked; fi
assets=target/package-assets
rm -rf "$assets" && mkdir -p "$assets/etc"
"target/$dir/redress" assets --out "$assets" >/dev/null
# The packaged unit runs the packaged binary.
sed 's#/usr/local/bin/redress#/usr/bin/redress#g' systemd/redress.service > "$assets/redress.service"
# The packaged config: the example, pointing at /etc/redress and /var/lib/redress.
cp config/redress.example.toml "$assets/etc/redress.toml"
gzip -9n -f "$assets"/man/*.1
cargo deb --no-build --profile "$profile" --output target/debian/ "${@:2}"
