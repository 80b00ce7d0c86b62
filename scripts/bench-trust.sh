#!/usr/bin/env bash
# `notarius trust` against the docker CLI's `docker trust`, side by side in one run, on one
# repository with many signed tags (default 1,000) in a docker-registry on loopback, its trust
# data on notarius-server (release build, embedded defaults). Prints medians and ratios
# (docs/performance.md has the latest run). Not part of the test suite.
#
#   usage: scripts/bench-trust.sh [--tags N] [--runs N] [--keep]
#
# Measured (hyperfine, each command against the same trust server, registry and cache):
#   inspect     `notarius trust inspect IMAGE` vs `docker trust inspect IMAGE` (every tag)
#   inspect-1   the same for one tag, IMAGE:TAG
#   verify warm `notarius trust verify IMAGE:TAG` with the trust data cached (a deploy gate run
#               again); docker has no verify, so its nearest, `docker trust inspect IMAGE:TAG`
#   verify cold the same with the repository's cache removed before each run (a fresh CI job)
#   sign-all    `notarius trust sign --all-tags IMAGE` re-signing every tag (one publish), once
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAGS=1000 RUNS=10 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tags) TAGS="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "[bench-trust $(date +%T)] $*" >&2; }

need=()
for c in hyperfine docker curl jq; do command -v "$c" >/dev/null 2>&1 || need+=("$c"); done
if [ "${#need[@]}" -gt 0 ]; then
  pkgs=()
  for c in "${need[@]}"; do case "$c" in docker) pkgs+=(docker.io) ;; *) pkgs+=("$c") ;; esac; done
  log "installing ${pkgs[*]}"
  SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
bash "$ROOT/scripts/ci-prereqs.sh"
docker trust --help >/dev/null 2>&1 || { echo "this docker CLI has no 'trust' command" >&2; exit 1; }

log "building release binaries"
(cd "$ROOT" && cargo build --release -q -p notarius-server -p notarius-cli)
BIN="$ROOT/target/release"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$BIN/notarius-server" -data-dir "$WORK/server" -http-addr 127.0.0.1:0 2>"$WORK/server.log" &
PIDS+=($!)
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: "127.0.0.1:0"}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
PIDS+=($!)
URL="" REGISTRY=""
for _ in $(seq 1 200); do
  URL="$(sed -n 's/^notarius-server listening on //p' "$WORK/server.log" | head -1)"
  REGISTRY="$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/registry.log" | head -1 | sed 's/listening on //' || true)"
  [ -n "$URL" ] && [ -n "$REGISTRY" ] && break
  sleep 0.1
done
[ -n "$URL" ] && [ -n "$REGISTRY" ] || { cat "$WORK/server.log" "$WORK/registry.log" >&2; exit 1; }
IMAGE="$REGISTRY/bench/app"

log "an image, tagged $TAGS times in $REGISTRY"
umoci init --layout "$WORK/layout"
umoci new --image "$WORK/layout:img"
echo bench >"$WORK/content.txt"
umoci insert --image "$WORK/layout:img" "$WORK/content.txt" /content.txt >/dev/null
umoci config --image "$WORK/layout:img" --os linux --architecture amd64
skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$WORK/layout:img" "docker://$IMAGE:t1"
MT=application/vnd.docker.distribution.manifest.v2+json
curl -sf -H "Accept: $MT" "http://$REGISTRY/v2/bench/app/manifests/t1" >"$WORK/manifest.json"
for i in $(seq 2 "$TAGS"); do
  curl -sf -X PUT -H "Content-Type: $MT" --data-binary @"$WORK/manifest.json" \
    "http://$REGISTRY/v2/bench/app/manifests/t$i" >/dev/null
done

export DOCKER_CONFIG="$WORK/docker"
mkdir -p "$DOCKER_CONFIG/tls/${URL#https://}"
cp "$WORK/server/tls/ca.crt" "$DOCKER_CONFIG/tls/${URL#https://}/ca.crt"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY" "$(printf 'bench:unused' | base64)" >"$DOCKER_CONFIG/config.json"
export DOCKER_CONTENT_TRUST_SERVER="$URL"
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=bench-root DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=bench-repo

log "signing $TAGS tags in one publish (notarius trust sign --all-tags)"
start=$(date +%s.%N)
"$BIN/notarius" trust sign --all-tags "$IMAGE" >/dev/null
first=$(echo "$(date +%s.%N) - $start" | bc)
# Both tools must print the same inspection before anything is timed.
"$BIN/notarius" trust inspect "$IMAGE" >"$WORK/ours.json"
docker trust inspect "$IMAGE" >"$WORK/theirs.json"
cmp -s "$WORK/ours.json" "$WORK/theirs.json" || { echo "inspect output differs" >&2; diff "$WORK/ours.json" "$WORK/theirs.json" | head >&2; exit 1; }
[ "$(jq '.[0].SignedTags | length' "$WORK/ours.json")" = "$TAGS" ] || { echo "not $TAGS signed tags" >&2; exit 1; }

CACHE="$DOCKER_CONFIG/trust/tuf/$IMAGE/metadata"
hf() { # name, then commands
  local name="$1"; shift
  hyperfine -N -w 2 -r "$RUNS" --export-json "$WORK/$name.json" "$@" >"$WORK/$name.txt" 2>&1 ||
    { cat "$WORK/$name.txt" >&2; exit 1; }
}
log "inspect, every tag"
hf inspect -n notarius "$BIN/notarius trust inspect $IMAGE" -n docker "docker trust inspect $IMAGE"
log "inspect, one tag"
hf inspect1 -n notarius "$BIN/notarius trust inspect $IMAGE:t500" -n docker "docker trust inspect $IMAGE:t500"
log "verify, warm"
hf verify-warm -n notarius "$BIN/notarius trust verify $IMAGE:t500" -n docker "docker trust inspect $IMAGE:t500"
log "verify, cold"
hyperfine -N -w 1 -r "$RUNS" --export-json "$WORK/verify-cold.json" --prepare "rm -rf $CACHE" \
  -n notarius "$BIN/notarius trust verify $IMAGE:t500" -n docker "docker trust inspect $IMAGE:t500" \
  >"$WORK/verify-cold.txt" 2>&1 || { cat "$WORK/verify-cold.txt" >&2; exit 1; }
log "re-sign every tag"
start=$(date +%s.%N)
"$BIN/notarius" trust sign --local --all-tags "$IMAGE" >/dev/null
again=$(echo "$(date +%s.%N) - $start" | bc)

median() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$WORK/$1.json"; }
printf '\n%-46s %12s %12s %8s\n' "$TAGS signed tags, medians of $RUNS" "notarius ms" "docker ms" "ratio"
for m in inspect:"trust inspect IMAGE (every tag)" inspect1:"trust inspect IMAGE:TAG" \
         verify-warm:"verify IMAGE:TAG, cached (docker: inspect)" \
         verify-cold:"verify IMAGE:TAG, no cache (docker: inspect)"; do
  key="${m%%:*}" label="${m#*:}"
  ours="$(median "$key" notarius)" theirs="$(median "$key" docker)"
  printf '%-46s %12.1f %12.1f %8.3f\n' "$label" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
printf '%-46s %12.1f %12s\n' "sign --all-tags, new repository (once)" "$(echo "$first * 1000" | bc)" "-"
printf '%-46s %12.1f %12s\n' "sign --local --all-tags, re-sign (once)" "$(echo "$again * 1000" | bc)" "-"
