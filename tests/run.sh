#!/usr/bin/env bash
# Runs redress's whole test suite on a fresh Debian machine (as root, or with the packages
# already installed): installs Dovecot, Postfix, PostgreSQL and Chromium if missing, makes sure a
# PostgreSQL server answers on 127.0.0.1:5432, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/lmtp ] || need_apt+=(dovecot-imapd dovecot-lmtpd)
command -v postfix >/dev/null || need_apt+=(postfix)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v pg_isready >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium)   # renders the HTML report in a test
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)   # drives the web app in the browser test
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)   # turns the PDF report into pages in a test
command -v dpkg-deb >/dev/null || need_apt+=(dpkg)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)   # scores the unit's hardening
[ -x /bin/kill ] || [ -x /usr/bin/kill ] || need_apt+=(procps)   # signals the daemon in a test
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# PostgreSQL for the store tests: use the one running, else start (and if needed, open) the local cluster.
export REDRESS_TEST_POSTGRES=${REDRESS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -q "redress tests" "$hba"; then
    # Trust loopback connections: this is a throwaway test server.
    sed -i '1i host all all 127.0.0.1/32 trust # redress tests' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi

# cargo-deb builds the Debian package in a test (pinned: the version the packaging was made with).
command -v cargo-deb >/dev/null || cargo install cargo-deb --version 3.8.0 --locked

cargo test "$@"
