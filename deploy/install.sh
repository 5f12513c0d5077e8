#!/usr/bin/env bash
# Install ivr as systemd services on a Debian or Ubuntu server, from a clone of this repository (docs/deploy.md):
#   /opt/ivr/venv          the virtualenv, from requirements.lock (hashes checked), then the project itself
#   /opt/ivr/docs, deploy  the documentation and the Caddy/Kamailio configurations, for reference
#   /etc/ivr/ivr.env       every setting (mode 0640, root:ivr); written once, with a random IVR_SECRET_KEY
#   /var/lib/ivr           the data directory (spool, prompts, recordings) and flows/, owned by ivr, mode 0750
#   /etc/systemd/system    ivr-web, ivr-worker, ivr-sip@.service and ivr.target; enabled: web, worker, sip@5060
#
# Usage: deploy/install.sh [--root DIR] [--user NAME] [--no-user] [--skip-venv] [--no-apt] [--start]
#   --root DIR   lay everything down under DIR (a scratch root, like DESTDIR): no apt, no useradd, units enabled
#                with `systemctl --root`; files are owned by the service user only if that user exists here
#   --user NAME  the service user (default ivr; its primary group too); written into the units' User=/Group=
#   --no-user    do not create the user (it must exist, or owners stay root)
#   --skip-venv  leave the virtualenv out (only the files)
#   --no-apt     install no system packages
#   --start      start ivr.target at the end (not with --root)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT="" SERVICE_USER=ivr SERVICE_GROUP="" CREATE_USER=1 WITH_VENV=1 WITH_APT=1 START=0
PREFIX=/opt/ivr CONF=/etc/ivr STATE=/var/lib/ivr UNITS=/etc/systemd/system
APT_PACKAGES=(python3 python3-venv redis-server espeak-ng sox libopus0)

die() { echo "install.sh: $*" >&2; exit 1; }
note() { echo "install.sh: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$(realpath -m "$2"); shift ;;
    --user) [ $# -ge 2 ] || die "--user needs a name"; SERVICE_USER=$2; shift ;;
    --no-user) CREATE_USER=0 ;;
    --skip-venv) WITH_VENV=0 ;;
    --no-apt) WITH_APT=0 ;;
    --start) START=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[[ "$SERVICE_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "bad user name: $SERVICE_USER"
if [ -n "$ROOT" ]; then
  WITH_APT=0 CREATE_USER=0
  [ "$START" -eq 0 ] || die "--start cannot be used with --root"
fi
[ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root (it creates a system user, writes under /etc, /opt, /var/lib)"

install_packages() {
  [ -r /etc/debian_version ] || die "not Debian or Ubuntu; install ${APT_PACKAGES[*]} yourself and use --no-apt"
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

create_user() {
  getent passwd "$SERVICE_USER" >/dev/null && return
  useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
    --comment "ivr IVR services" "$SERVICE_USER"
}

# chown only to a user that exists on this system (a scratch root may have none)
owner() {
  if [ "$(id -u)" -eq 0 ] && getent passwd "$SERVICE_USER" >/dev/null; then chown "$@"; fi
}

lay_out_directories() {
  install -d -m 0755 "$ROOT$PREFIX" "$ROOT$UNITS"
  install -d -m 0750 "$ROOT$CONF" "$ROOT$STATE" "$ROOT$STATE/flows"
  owner "root:$SERVICE_GROUP" "$ROOT$CONF"
  owner "$SERVICE_USER:$SERVICE_GROUP" "$ROOT$STATE" "$ROOT$STATE/flows"
  cp -r "$SRC/docs" "$ROOT$PREFIX/"
  install -d -m 0755 "$ROOT$PREFIX/deploy"
  cp -r "$SRC/deploy/caddy" "$SRC/deploy/kamailio" "$SRC/deploy/systemd" "$ROOT$PREFIX/deploy/"
  # The shipped flows are a start; flows the owner edited (or exported from the admin app) are never replaced
  if [ -z "$(ls -A "$ROOT$STATE/flows")" ]; then
    cp -r "$SRC/flows/." "$ROOT$STATE/flows/"
    owner -R "$SERVICE_USER:$SERVICE_GROUP" "$ROOT$STATE/flows"
  fi
}

build_venv() {
  local venv="$ROOT$PREFIX/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if [ -f "$SRC/requirements.lock" ]; then
    "$venv/bin/pip" install -q --require-hashes -r "$SRC/requirements.lock"
    "$venv/bin/pip" install -q --no-deps --no-build-isolation "$SRC"
  else
    note "WARNING: $SRC/requirements.lock is missing: installing the newest dependencies pyproject.toml allows," \
         "unpinned and without hash checks"
    "$venv/bin/pip" install -q "$SRC"
  fi
}

write_settings() {
  install -m 0644 "$SRC/deploy/systemd/ivr.env.example" "$ROOT$CONF/ivr.env.example"
  local env="$ROOT$CONF/ivr.env"
  if [ -e "$env" ]; then
    note "$CONF/ivr.env exists: left as it is (compare with $CONF/ivr.env.example)"
    return
  fi
  local key tmp
  key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  tmp=$(mktemp "$ROOT$CONF/.ivr.env.XXXXXX")  # mode 0600 from the start: the key is never readable by others
  sed "s|^IVR_SECRET_KEY=\$|IVR_SECRET_KEY=$key|" "$SRC/deploy/systemd/ivr.env.example" > "$tmp"
  chmod 0640 "$tmp"
  owner "root:$SERVICE_GROUP" "$tmp"
  mv "$tmp" "$env"
}

install_units() {
  local unit
  for unit in ivr-web.service ivr-worker.service ivr-sip@.service ivr.target; do
    sed "s/^User=ivr\$/User=$SERVICE_USER/; s/^Group=ivr\$/Group=$SERVICE_GROUP/" \
      "$SRC/deploy/systemd/$unit" > "$ROOT$UNITS/$unit"
    chmod 0644 "$ROOT$UNITS/$unit"
  done
  if ! command -v systemctl >/dev/null; then
    note "no systemctl here: units copied, not enabled"
    return
  fi
  if [ -n "$ROOT" ]; then
    systemctl --root="$ROOT" enable ivr.target ivr-web.service ivr-worker.service ivr-sip@5060.service
  elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable ivr.target ivr-web.service ivr-worker.service ivr-sip@5060.service
  else
    note "systemd is not running: units copied, enable them with systemctl once it runs"
  fi
}

[ "$WITH_APT" -eq 1 ] && install_packages
[ "$CREATE_USER" -eq 1 ] && create_user
if getent passwd "$SERVICE_USER" >/dev/null; then
  SERVICE_GROUP=$(id -gn "$SERVICE_USER")
else
  SERVICE_GROUP=$SERVICE_USER
  note "no user $SERVICE_USER here: files stay owned by root"
fi
lay_out_directories
[ "$WITH_VENV" -eq 1 ] && build_venv
write_settings
install_units
if [ "$START" -eq 1 ]; then
  systemctl start ivr.target
fi
note "installed under ${ROOT:-/}: edit $CONF/ivr.env, then systemctl start ivr.target (docs/deploy.md)"
