#!/usr/bin/env bash
# Sign RPCs per second of notary-signer (Notary 0.7) and notarius-signer, per key type and
# storage, measured in one run by the same client (crates/notarius-signer/examples/sign_bench.rs:
# one mTLS HTTP/2 connection, 32 requests in flight, 512-byte messages), next to the raw signing
# speed of notarius-crypto. Both signers are started by shared/peer/start.sh on loopback.
#
#   usage: scripts/bench-signer.sh [SECONDS]     (per measurement, default 5)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-5}"
PEER="${NOTARY_PEER_SCRIPTS:-$ROOT/../shared/peer}"
[ -x "$PEER/start.sh" ] || PEER=/work/shared/peer
cd "$ROOT"
cargo build --release -q -p notarius-signer --example sign_bench --bin notarius-signer
BENCH="$ROOT/target/release/examples/sign_bench"
dirs=()
cleanup() { for d in "${dirs[@]}"; do "$PEER/stop.sh" "$d" >/dev/null 2>&1 || true; rm -rf "$d"; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {  # run LABEL SIGNER_BIN STORAGE
  local d; d="$(mktemp -d)"; dirs+=("$d")
  env NOTARY_PEER_SERVER_STORAGE=memory NOTARY_PEER_SIGNER_STORAGE="$3" \
      NOTARY_PEER_SIGNER_BIN="$2" NOTARY_PEER_SERVER_PORT="$(free_port)" \
      NOTARY_PEER_SIGNER_PORT="$(free_port)" NOTARY_PEER_PG_PORT="$(free_port)" \
      "$PEER/start.sh" "$d" >/dev/null 2>&1
  local port; port="$(sed -n 's/^NOTARY_PEER_SIGNER_PORT=//p' "$d/peer.env")"
  "$BENCH" rpc "127.0.0.1:$port" "$d/certs/ca.crt" "$d/certs/server.crt" "$d/certs/server.key" "$SECS" \
    | while read -r alg ops rest; do echo "$1 $3 $alg $ops $rest"; done
  "$PEER/stop.sh" "$d" >/dev/null 2>&1
}

echo "# $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), ${SECS}s per figure"
"$BENCH" raw "$SECS" | while read -r alg ops; do echo "raw-notarius-crypto - $alg $ops"; done
for st in memory postgres; do
  run notary-signer notary-signer "$st"
  run notarius-signer "$ROOT/target/release/notarius-signer" "$st"
done
