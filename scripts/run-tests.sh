#!/usr/bin/env bash
# The whole pytest suite as `make test` runs it. First every test that does not run in real time,
# two at a time (pytest-xdist, one file per worker so module fixtures are made once); then the
# browser pages (marker `paired`), two at a time on their own; then the real-time ones (marker
# `serial`: agents playing on time, faults, benchmarks) alone, so that nothing shares the two
# cores with them. Arguments go to every run, e.g. a path or -k.
set -uo pipefail
cd "$(dirname "$0")/.."
pytest=${PYTEST:-.venv/bin/pytest}

run() {
  "$pytest" "$@"
  local status=$?
  [ "$status" -eq 5 ] && return 0  # this half had no test among those asked for
  return "$status"
}

status=0
run -n "${PYTEST_WORKERS:-2}" --dist loadfile --serial=skip --durations=15 "$@" || status=$?
run -n "${PYTEST_WORKERS:-2}" --dist loadfile --serial=paired --durations=15 "$@" || status=$?
run --serial=only --durations=15 "$@" || status=$?
exit "$status"
