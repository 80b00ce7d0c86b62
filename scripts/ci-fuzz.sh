#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a fixed time and fails on the first crash, hang or
# out-of-memory. The checked-in seeds (fuzz/seeds/<target>) are read; what the fuzzer finds goes
# to fuzz/corpus/<target> (not checked in) and crash inputs to fuzz/artifacts/<target>.
#
#   scripts/ci-fuzz.sh                 # every target, FUZZ_SECONDS (default 30) each
#   scripts/ci-fuzz.sh metadata_parse  # only the named targets
#
# Stable toolchain only, so `-s none`: no AddressSanitizer (it needs nightly). Safe Rust does not
# need it for memory errors; what we look for are panics, aborts, hangs and runaway memory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${FUZZ_SECONDS:-30}"
# A parse of a few KiB takes microseconds; one input taking this long is a hang worth failing on.
TIMEOUT_EACH="${FUZZ_TIMEOUT:-20}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-2048}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "ci-fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

cd "$ROOT/fuzz"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
[ "${#targets[@]}" -gt 0 ] || { echo "ci-fuzz: no fuzz targets found" >&2; exit 1; }

# One build up front, so the per-target time budget is spent fuzzing rather than compiling.
cargo fuzz build -s none
mkdir -p target/ci-fuzz

failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t"
  echo "ci-fuzz: $t for ${SECONDS_EACH}s" >&2
  if ! cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT_EACH" -rss_limit_mb="$RSS_LIMIT_MB" \
      -dict=dict/tuf.dict -print_final_stats=1 2>"target/ci-fuzz/$t.log"; then
    failed+=("$t")
    tail -n 60 "target/ci-fuzz/$t.log" >&2
    echo "ci-fuzz: $t FAILED; reproduce with: cd fuzz && cargo fuzz run -s none $t artifacts/$t/<file>" >&2
  else
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "target/ci-fuzz/$t.log" >&2 || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "ci-fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "ci-fuzz: ${#targets[@]} targets, ${SECONDS_EACH}s each, no crashes" >&2
