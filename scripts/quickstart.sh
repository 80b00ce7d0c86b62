#!/usr/bin/env bash
# The main job on embedded defaults, end to end on this machine:
#   1. notarius-server on loopback with SQLite, the built-in signing service and a generated TLS
#      certificate (all in a throwaway data directory);
#   2. a publisher signs an artifact into a new trusted collection with `notarius`;
#   3. a consumer with an empty trust directory verifies the artifact (and a tampered copy fails);
#   4. an image: a registry (Debian's docker-registry) on loopback, a small image built with umoci
#      and pushed with skopeo, signed with `notarius trust sign` (a new repository: root and
#      repository keys here, snapshot and timestamp on the server), verified by a consumer with
#      `notarius trust verify`, and refused once the tag is moved in the registry.
# It installs docker-registry, skopeo and umoci when missing (scripts/ci-prereqs.sh, as root).
# Everything it starts is stopped when it ends. Usage: scripts/quickstart.sh [--keep]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
KEEP=${1:-}

echo "== building notarius-server and notarius"
echo "   (the first build compiles every dependency: a few minutes on two cores)"
cargo build -p notarius-server -p notarius-cli
BIN="$ROOT/target/debug"

echo "== the image tools (docker-registry, skopeo, umoci)"
bash "$ROOT/scripts/ci-prereqs.sh"
for t in docker-registry skopeo umoci; do
  command -v "$t" >/dev/null || { echo "$t is needed for the image part: apt-get install docker-registry skopeo umoci" >&2; exit 1; }
done

WORK="$(mktemp -d)"
SERVER_PID=""
REGISTRY_PID=""
cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null && wait "$REGISTRY_PID" 2>/dev/null || true
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

echo "== starting a registry (docker-registry, data in $WORK/registry)"
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: "127.0.0.1:0"}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
REGISTRY=""
for _ in $(seq 1 100); do
  REGISTRY="$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/registry.log" | head -1 | sed 's/listening on //' || true)"
  [ -n "$REGISTRY" ] && break
  kill -0 "$REGISTRY_PID" 2>/dev/null || { cat "$WORK/registry.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$REGISTRY" ] || { echo "the registry did not start" >&2; cat "$WORK/registry.log" >&2; exit 1; }
echo "   $REGISTRY"
IMAGE="$REGISTRY/demo/app"

# An image of one file, built without a Docker engine and pushed as demo/app:v1; prints its
# manifest digest.
push_image() { # content layout-name
  local layout="$WORK/layout-$2"
  umoci init --layout "$layout"
  umoci new --image "$layout:img"
  echo "$1" >"$WORK/content.txt"
  umoci insert --image "$layout:img" "$WORK/content.txt" /content.txt >/dev/null
  umoci config --image "$layout:img" --os linux --architecture amd64
  skopeo copy -q --format v2s2 --dest-tls-verify=false --digestfile "$WORK/digest" \
    "oci:$layout:img" "docker://$IMAGE:v1"
  cat "$WORK/digest"
}
echo "== building demo/app:v1 (umoci) and pushing it (skopeo)"
DIGEST="$(push_image "hello from notarius" one)"
echo "   $IMAGE:v1 is $DIGEST"

# Docker's configuration, as `docker trust` reads it: the trust server's CA under tls/, and the
# registry user (a new repository's first signer is named after it; this registry has no
# authentication, so the password is never sent).
docker_config() { # dir user
  mkdir -p "$1/tls/${URL#https://}"
  cp "$CA" "$1/tls/${URL#https://}/ca.crt"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY" "$(printf '%s:unused' "$2" | base64)" >"$1/config.json"
}
docker_config "$WORK/docker-publisher" publisher
docker_config "$WORK/docker-consumer" consumer
export DOCKER_CONTENT_TRUST_SERVER="$URL"
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=demo-root-passphrase
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=demo-repository-passphrase
publisher_trust() { DOCKER_CONFIG="$WORK/docker-publisher" "$BIN/notarius" trust "$@"; }
consumer_trust() { DOCKER_CONFIG="$WORK/docker-consumer" "$BIN/notarius" trust "$@"; }

echo "== publisher: notarius trust sign $IMAGE:v1"
publisher_trust sign "$IMAGE:v1"
publisher_trust inspect --pretty "$IMAGE:v1"

echo "== consumer (empty trust directory): notarius trust verify $IMAGE:v1"
PULL="$(consumer_trust verify "$IMAGE:v1")"
[ "$PULL" = "$IMAGE@$DIGEST" ] || { echo "verify printed $PULL, expected $IMAGE@$DIGEST" >&2; exit 1; }
echo "   pull by: $PULL"

echo "== someone pushes another image as v1: the consumer refuses it"
push_image "not what was signed" two >/dev/null
if consumer_trust verify "$IMAGE:v1" 2>"$WORK/moved.err"; then
  echo "a moved tag verified" >&2
  exit 1
fi
echo "   refused: $(head -1 "$WORK/moved.err")"
echo "== OK: an artifact and an image signed and verified against notarius-server on embedded defaults"
