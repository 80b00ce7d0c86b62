#!/usr/bin/env bash
# The main job on embedded defaults, end to end on this machine:
#   1. notarius-server on loopback with SQLite, the built-in signing service and a generated TLS
#      certificate (all in a throwaway data directory);
#   2. a publisher signs an artifact into a new trusted collection with `notarius`;
#   3. a consumer with an empty trust directory verifies the artifact (and a tampered copy fails).
# Everything it starts is stopped when it ends. Usage: scripts/quickstart.sh [--keep]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
KEEP=${1:-}

echo "== building notarius-server and notarius"
echo "   (the first build compiles every dependency: a few minutes on two cores)"
cargo build -p notarius-server -p notarius-cli
BIN="$ROOT/target/debug"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  if [ "$KEEP" = "--keep" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "== starting notarius-server (data in $WORK/server)"
"$BIN/notarius-server" -data-dir "$WORK/server" -http-addr 127.0.0.1:0 2>"$WORK/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL="$(sed -n 's/^notarius-server listening on //p' "$WORK/server.log" | head -1)"
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
CA="$WORK/server/tls/ca.crt"
echo "   $URL (CA: $CA)"

# Demo passphrases; real use leaves them unset and answers the prompts.
export NOTARY_ROOT_PASSPHRASE=demo-root-passphrase
export NOTARY_TARGETS_PASSPHRASE=demo-targets-passphrase
export NOTARY_SNAPSHOT_PASSPHRASE=demo-snapshot-passphrase

GUN=example.com/demo/app
publisher() { "$BIN/notarius" -d "$WORK/publisher" -s "$URL" --tlscacert "$CA" "$@"; }
consumer() { "$BIN/notarius" -d "$WORK/consumer" -s "$URL" --tlscacert "$CA" "$@"; }

echo "== publisher: init, sign v1.0, publish"
echo "release artifact $(date -u +%FT%TZ)" >"$WORK/artifact"
publisher init -p "$GUN"
publisher add -p "$GUN" v1.0 "$WORK/artifact"
publisher list "$GUN"

echo "== consumer (empty trust directory): verify"
consumer verify "$GUN" v1.0 <"$WORK/artifact" >"$WORK/verified"
cmp -s "$WORK/artifact" "$WORK/verified"
echo "   v1.0 verified"
cp "$WORK/artifact" "$WORK/tampered" && echo "x" >>"$WORK/tampered"
# Like notary, notarius prints fatal errors on standard output.
if consumer verify "$GUN" v1.0 <"$WORK/tampered" >"$WORK/tampered.err" 2>&1; then
  echo "a tampered artifact verified" >&2
  exit 1
fi
echo "   a tampered copy is refused: $(grep -m1 -o 'fatal:.*' "$WORK/tampered.err" || head -1 "$WORK/tampered.err")"
echo "== OK: signed and verified against notarius-server on embedded defaults"
