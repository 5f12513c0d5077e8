#!/usr/bin/env bash
# Refresh the lock: resolve pyproject.toml's ranges anew (uv.lock, one universal lock with environment markers)
# and export it with hashes for pip. Run it after adding or changing a dependency in pyproject.toml, or to take
# upgrades on purpose (`deploy/lock.sh --upgrade`, or `--upgrade-package NAME`); commit all three files with the
# pyproject change, after `deploy/bootstrap.sh test` passes on the new lock.
#   deploy/lock.sh            keep every pin that still fits pyproject.toml, resolve only what changed
#   deploy/lock.sh --check    fail if uv.lock or an export is out of date with pyproject.toml (changes nothing)
#   deploy/lock.sh --upgrade  take the newest releases pyproject.toml allows
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${IVR_VENV:-.venv}
# The uv pinned in the lock (deploy/bootstrap.sh installs it into the venv), else one on PATH.
UV=${UV:-$VENV/bin/uv}
[ -x "$UV" ] || UV=$(command -v uv || true)
if [ -z "$UV" ]; then
  echo "deploy/lock.sh needs uv: run deploy/bootstrap.sh first (or set UV=/path/to/uv)" >&2
  exit 2
fi

# What deploy/bootstrap.sh and CI install; the bench lock adds the bench tools and the GPL pyVoIP baseline.
MAIN_EXPORT=(--extra dev --extra embedded --extra speech --extra piper --group bootstrap)
BENCH_EXPORT=(--extra dev --extra embedded --extra speech --extra piper --extra bench --extra baseline --group bootstrap)

export_lock() {  # export_lock FILE ARGS... : the locked tree for pip, every file hashed, without the project
  "$UV" export --quiet --frozen --format requirements-txt --no-emit-project "${@:2}" -o "$1"
}

if [ "${1:-}" = "--check" ]; then
  "$UV" lock --quiet --check
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  export_lock "$tmp/requirements.lock" "${MAIN_EXPORT[@]}"
  export_lock "$tmp/requirements-bench.lock" "${BENCH_EXPORT[@]}"
  for file in requirements.lock requirements-bench.lock; do
    diff -q <(grep -v '^#' "$file") <(grep -v '^#' "$tmp/$file") >/dev/null \
      || { echo "$file is out of date with uv.lock: run deploy/lock.sh" >&2; exit 1; }
  done
  echo "uv.lock, requirements.lock and requirements-bench.lock match pyproject.toml"
  exit 0
fi

"$UV" lock "$@"
export_lock requirements.lock "${MAIN_EXPORT[@]}"
export_lock requirements-bench.lock "${BENCH_EXPORT[@]}"
echo "locked: uv.lock, requirements.lock, requirements-bench.lock"
