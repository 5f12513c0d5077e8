#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine:
#   deploy/bootstrap.sh run    install everything, then start the whole product (`ivr run`)
#   deploy/bootstrap.sh test   install everything, then run the whole test suite
#   deploy/bootstrap.sh lint   install everything, then check the house rules: import contracts (lint-imports),
#                              ruff check, mypy (strict on ivr/engine and ivr/flows) and the size limits
# System packages are installed non-interactively when missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(redis-server espeak-ng sox sip-tester baresip chromium)
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
  lint)
    "$VENV/bin/lint-imports"
    "$VENV/bin/ruff" check .
    "$VENV/bin/mypy"
    exec "$VENV/bin/python" .ci/limits.py ;;
  *)    echo "usage: $0 run|test|lint [args...]" >&2; exit 2 ;;
esac
