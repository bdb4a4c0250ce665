#!/usr/bin/env bash
# A throwaway mail stack for redress's tests and for trying redress by hand:
# Dovecot (IMAP, IMAPS and LMTP) and Postfix (SMTP, delivering into Dovecot) on loopback ports,
# everything under one folder. Any user@example.test logs in with password "secret"; mail to
# anyone@nowhere.test is bounced by Postfix (a real DSN back to the sender).
#
#   mailstack.sh install                                  install Dovecot and Postfix if missing
#   mailstack.sh start DIR IMAP IMAPS LMTP SMTP REJECT [PID]
#                                  start; REJECT is a port for a second smtpd that refuses every
#                                  recipient (mail for nowhere.test goes there and bounces);
#                                  with PID, stop when that process exits
#   mailstack.sh stop DIR                                 stop and forget
set -euo pipefail

install_packages() {
  if command -v dovecot >/dev/null && command -v postfix >/dev/null && command -v openssl >/dev/null \
     && [ -x /usr/lib/dovecot/lmtp ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "mailstack: Dovecot/Postfix missing; run as root: apt-get install dovecot-imapd dovecot-lmtpd postfix openssl" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq dovecot-imapd dovecot-lmtpd postfix openssl >/dev/null
}

stop_stack() {
  local dir=$1
  if [ -f "$dir/dovecot/run/master.pid" ]; then
    local pid
    pid=$(cat "$dir/dovecot/run/master.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/dovecot/run/master.pid"
  fi
  if [ -d "$dir/postfix" ]; then
    postfix -c "$dir/postfix" stop >/dev/null 2>&1 || true
  fi
  # Forget the config folder in Postfix's list of allowed alternates.
  local current kept=()
  current=$(postconf -h alternate_config_directories 2>/dev/null || true)
  for d in ${current//,/ }; do
    [ "$d" = "$dir/postfix" ] || { [ -d "$d" ] && kept+=("$d"); }
  done
  postconf -e "alternate_config_directories = ${kept[*]:-}" 2>/dev/null || true
}

write_certificate() {
  local dir=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=redress test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/key.pem" -out "$dir/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -extfile "$dir/san.ext" -out "$dir/cert.pem" >/dev/null 2>&1
  chmod 644 "$dir/cert.pem" "$dir/ca.pem"
  chmod 600 "$dir/key.pem"
}

# With REDRESS_OAUTH_PORT set, XOAUTH2 and OAUTHBEARER tokens are checked at the tests' own
# introspection endpoint on that port (see tests/it/support/oauth.rs).
oauth_passdb() {
  local d=$1
  [ -n "${REDRESS_OAUTH_PORT:-}" ] || return 0
  cat >"$d/oauth2.conf" <<CONF
introspection_mode = post
introspection_url = http://127.0.0.1:$REDRESS_OAUTH_PORT/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
CONF
  cat <<CONF
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $d/oauth2.conf
}
CONF
}

# Dovecot's authentication for Postfix's submission port (REDRESS_AUTH_PORT), when asked for.
auth_listener() {
  [ -n "${REDRESS_AUTH_PORT:-}" ] || return 0
  cat <<CONF
service auth {
  inet_listener {
    address = 127.0.0.1
    port = $REDRESS_AUTH_PORT
  }
}
CONF
}

start_dovecot() {
  local dir=$1 imap=$2 imaps=$3 lmtp=$4
  local d=$dir/dovecot
  mkdir -p "$d/run" "$d/state" "$dir/mail"
  chown -R dovecot:dovecot "$dir/mail"
  cat >"$d/dovecot.conf" <<EOF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
info_log_path = $d/dovecot.log
ssl = yes
ssl_cert = <$dir/cert.pem
ssl_key = <$dir/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
mail_location = maildir:$dir/mail/%u
first_valid_uid = 1
mail_max_userip_connections = 200
passdb {
  driver = static
  args = password=secret
  mechanisms = plain login
}
$(oauth_passdb "$d")
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$dir/mail/%u allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps
    ssl = yes
  }
}
$(auth_listener)
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
EOF
  dovecot -c "$d/dovecot.conf" </dev/null >>"$d/dovecot.log" 2>&1
}

start_postfix() {
  local dir=$1 smtp=$2 lmtp=$3 reject=$4
  local p=$dir/postfix
  mkdir -p "$p/queue" "$p/data"
  chown postfix "$p/data"
  cat >"$p/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $p/queue
data_directory = $p/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.example.test
mydomain = example.test
myorigin = example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = nowhere.test
virtual_mailbox_domains = example.test
virtual_transport = lmtp:inet:127.0.0.1:$lmtp
transport_maps = inline:{ nowhere.test=smtp:[127.0.0.1]:$reject }
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
maillog_file = $p/maillog
maillog_file_prefixes = /var, /dev/stdout, /tmp, $dir
EOF
  # The stock master.cf with our port for smtpd and no chroot anywhere.
  awk -v port="$smtp" '
    /^smtp[ \t]+inet/ { $1 = port }
    /^[a-z0-9]/ && NF >= 8 { $5 = "n" }
    { print }' /etc/postfix/master.cf >"$p/master.cf"
  # A second smtpd that refuses every recipient, with its own name so Postfix does not see a loop.
  printf '%s inet n - n - - smtpd -o myhostname=rejector.example.test -o smtpd_recipient_restrictions=reject -o smtpd_relay_restrictions=\n' \
    "$reject" >>"$p/master.cf"
  # With REDRESS_SUBMISSION_PORT and REDRESS_AUTH_PORT: a submission smtpd that takes only signed-in
  # senders, its SASL (PLAIN, and XOAUTH2 checked by Dovecot's oauth2 passdb) done by Dovecot.
  if [ -n "${REDRESS_SUBMISSION_PORT:-}" ] && [ -n "${REDRESS_AUTH_PORT:-}" ]; then
    printf '%s inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=inet:127.0.0.1:%s -o smtpd_relay_restrictions=permit_sasl_authenticated,reject -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n' \
      "$REDRESS_SUBMISSION_PORT" "$REDRESS_AUTH_PORT" >>"$p/master.cf"
  fi
  local current
  current=$(postconf -h alternate_config_directories 2>/dev/null || true)
  case " ${current//,/ } " in
    *" $p "*) ;;
    *) postconf -e "alternate_config_directories = ${current:+$current }$p" ;;
  esac
  postfix -c "$p" set-permissions >/dev/null 2>&1 || true
  postfix -c "$p" start </dev/null >/dev/null 2>&1 || {
    echo "mailstack: postfix failed to start; see $p/maillog" >&2
    cat "$p/maillog" >&2 2>/dev/null || true
    exit 1
  }
}

wait_for_port() {
  local port=$1
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "mailstack: nothing listens on 127.0.0.1:$port" >&2
  return 1
}

case "${1:-}" in
  install)
    install_packages
    ;;
  start)
    [ $# -ge 7 ] || { echo "usage: $0 start DIR IMAP IMAPS LMTP SMTP REJECT [PID]" >&2; exit 2; }
    dir=$(realpath -m "$2"); imap=$3; imaps=$4; lmtp=$5; smtp=$6; reject=$7; owner=${8:-}
    install_packages
    mkdir -p "$dir"
    chmod 755 "$dir"
    stop_stack "$dir"
    write_certificate "$dir"
    start_dovecot "$dir" "$imap" "$imaps" "$lmtp"
    start_postfix "$dir" "$smtp" "$lmtp" "$reject"
    for port in "$imap" "$imaps" "$lmtp" "$smtp" "$reject" ${REDRESS_SUBMISSION_PORT:-}; do wait_for_port "$port"; done
    if [ -n "$owner" ]; then
      # Stop the stack when the process that asked for it is gone, however it ended.
      setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; '$0' stop '$dir'; rm -rf '$dir'" \
        </dev/null >/dev/null 2>&1 &
    fi
    echo "mailstack: IMAP 127.0.0.1:$imap (IMAPS $imaps, CA $dir/ca.pem), SMTP 127.0.0.1:$smtp, users *@example.test / secret"
    ;;
  stop)
    [ $# -ge 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    stop_stack "$(realpath -m "$2")"
    ;;
  *)
    echo "usage: $0 install | start DIR IMAP IMAPS LMTP SMTP REJECT [PID] | stop DIR" >&2
    exit 2
    ;;
esac
