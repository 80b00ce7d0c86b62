#!/usr/bin/env bash
# Runs every test of the workspace: the one command to know (README.md, CI).
# Extra arguments go to the test runner, e.g. `scripts/test.sh -p notarius-tuf`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/ci-prereqs.sh"
cd "$ROOT"

if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doctests; run them first so nextest's summary line is the last word.
  # A run narrowed by arguments is someone iterating on a few tests: leave doctests out of it.
  doc_rc=0
  if [ "$#" -eq 0 ]; then
    cargo test --workspace --doc || doc_rc=$?
  fi
  cargo nextest run --workspace --no-fail-fast "$@"
  exit "$doc_rc"
else
  echo "test.sh: cargo-nextest not found, using cargo test" >&2
  exec cargo test --workspace --no-fail-fast "$@"
fi
