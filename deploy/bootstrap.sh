#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine:
#   deploy/bootstrap.sh run    install everything, then start the whole product (`ivr run`)
#   deploy/bootstrap.sh test   install everything, then run the whole test suite
# System packages are installed non-interactively when missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

# kamailio, caddy, redis-sentinel and systemd (systemd-analyze) for deploy/ and its tests (docs/deploy.md)
APT_PACKAGES=(redis-server espeak-ng sox sip-tester baresip chromium kamailio caddy redis-sentinel systemd)
VENV=${IVR_VENV:-.venv}
PYTHON=${PYTHON:-python3}

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]"

case "${1:-run}" in
  run)  shift || true; exec "$VENV/bin/ivr" run "$@" ;;
  test) shift || true; exec "$VENV/bin/python" -m pytest -q "$@" ;;
  *)    echo "usage: $0 run|test [args...]" >&2; exit 2 ;;
esac
