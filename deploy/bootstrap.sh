#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine:
#   deploy/bootstrap.sh run    install everything, then start the whole product (`ivr run`)
#   deploy/bootstrap.sh test   install everything, then run the whole test suite
#   deploy/bootstrap.sh lint   install everything, then check the house rules: import contracts (lint-imports),
#                              ruff check, ruff format --check, mypy (strict on ivr/engine and ivr/flows) and the size limits
#   deploy/bootstrap.sh bench  install everything plus the benchmarks' tools (requirements-bench.lock: pyinstrument,
#                              py-spy, the GPL pyVoIP baseline; wrk and tcpdump), then stop
# System packages are installed non-interactively when missing (needs root or sudo). Python packages come only
# from requirements.lock, every file checked against its hash; the project itself is then installed without
# dependencies or build isolation, so nothing unpinned is ever fetched. deploy/lock.sh refreshes the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

# kamailio, caddy, redis-sentinel and systemd (systemd-analyze) for deploy/ and its tests (docs/deploy.md)
APT_PACKAGES=(ca-certificates redis-server espeak-ng sox libopus0 sip-tester baresip chromium kamailio caddy redis-sentinel systemd)
VENV=${IVR_VENV:-.venv}
PYTHON=${PYTHON:-python3}
LOCK=requirements.lock
if [ "${1:-}" = "bench" ]; then
  APT_PACKAGES+=(wrk tcpdump)
  LOCK=requirements-bench.lock
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  installed "$pkg" || need_apt+=("$pkg")
done
# A bare Debian/Ubuntu has python3 without venv/ensurepip (they come in python3-venv); a pyenv or other own
# Python brings its own, so apt is asked only when the chosen interpreter lacks them.
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  need_apt+=(python3 python3-venv)
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: $("$PYTHON" --version 2>&1) is too old; ivr needs Python 3.11+ (set PYTHON=python3.11)" >&2
  exit 1
fi

# A venv left half-made (no pip) by an earlier failed run is made again.
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
fi
# The lock pins pip and setuptools too: pip replaces itself with the pinned release in the same install.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$LOCK"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m pip check

case "${1:-run}" in
  run)  shift || true; exec "$VENV/bin/ivr" run "$@" ;;
  test) shift || true; exec "$VENV/bin/python" -m pytest -q "$@" ;;
  lint)
    "$VENV/bin/lint-imports"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    "$VENV/bin/mypy"
    exec "$VENV/bin/python" .ci/limits.py ;;
  bench) echo "installed from $LOCK into $VENV: run the benchmarks with $VENV/bin/python bench/NAME.py" ;;
  *)    echo "usage: $0 run|test|lint|bench [args...]" >&2; exit 2 ;;
esac
