#!/usr/bin/env bash
# Regenerate fixtures/notary-0.7/ (and fixtures/go-notary/compatibility/) from the REAL Notary 0.7.
#
# Starts the Debian notary-server + notary-signer on loopback through the shared peer scripts
# (shared/peer/start.sh), drives the real `notary` CLI through each scenario, and saves:
#   <scenario>/server/   exact bytes served by GET /v2/<gun>/_trust/tuf/<role>.json (curl -o, never reformatted),
#                        every historical root as <v>.root.json, and the timestamp public key (timestamp.key)
#   <scenario>/trust/    the client trust dir as notary left it (private/*.key, tuf/<gun>/metadata/...)
#   <scenario>/cli/      exact stdout of `notary list`, `key list`, `delegation list` (+ a transcript of every command)
#   <scenario>/scenario.json  what the scenario holds (gun, passphrases, targets, delegations, key IDs, root versions)
# Everything under fixtures/notary-0.7/ is wiped and rewritten: the script is idempotent. Key IDs, signatures and
# expiry times change on every run (keys are random), so regenerate everything at once, never by hand.
#
#   usage: scripts/gen-fixtures.sh
#   env:   NOTARY_PEER_SCRIPTS     peer scripts dir (default: ../shared/peer beside the clone, else /work/shared/peer)
#          NOTARIUS_FIXTURE_STORAGE  peer storage: memory (default) | postgres
#          NOTARIUS_FIXTURE_WORK   scratch dir (default /tmp/notarius-fixtures). Its path shows in the LOCATION column
#                                  of cli/key-list.txt, so keep the default to get comparable snapshots.
#          KEEP_WORK=1             keep the scratch dir (server logs, certs) after a successful run
# Needs root (or passwordless sudo) only to apt-get install what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/fixtures/notary-0.7"
GO_OUT="$ROOT/fixtures/go-notary/compatibility"
WORK="${NOTARIUS_FIXTURE_WORK:-/tmp/notarius-fixtures}"
STORAGE="${NOTARIUS_FIXTURE_STORAGE:-memory}"
GO_SRC="${NOTARY_GO_SRC:-/usr/share/gocode/src/github.com/theupdateframework/notary}"
if [ -n "${NOTARY_PEER_SCRIPTS:-}" ]; then PEER="$NOTARY_PEER_SCRIPTS"
elif [ -x "$ROOT/../shared/peer/start.sh" ]; then PEER="$(cd "$ROOT/../shared/peer" && pwd)"
else PEER=/work/shared/peer; fi

log() { printf '[gen-fixtures] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Documented passphrases (see fixtures/notary-0.7/README.md).
PP_ROOT=rootpassphrase
PP_TARGETS=targetspassphrase
PP_SNAPSHOT=snapshotpassphrase
PP_DELEGATION=delegationpassphrase
PP_IMPORT_SOURCE=importsourcepassphrase   # keys/import-sources/encrypted-with-path.pem only
export NOTARY_ROOT_PASSPHRASE="$PP_ROOT" NOTARY_TARGETS_PASSPHRASE="$PP_TARGETS" \
       NOTARY_SNAPSHOT_PASSPHRASE="$PP_SNAPSHOT" NOTARY_DELEGATION_PASSPHRASE="$PP_DELEGATION"
unset NOTARY_AUTH DOCKER_CONTENT_TRUST DOCKER_CONTENT_TRUST_SERVER 2>/dev/null || true
export LC_ALL=C.UTF-8 TZ=UTC

# ---------------------------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------------------------
need_pkgs=()
for pc in notary:notary notary:notary-server notary:notary-signer openssl:openssl curl:curl jq:jq util-linux:flock; do
  command -v "${pc#*:}" >/dev/null 2>&1 || need_pkgs+=("${pc%%:*}")
done
[ -d "$GO_SRC/fixtures/compatibility" ] || need_pkgs+=(golang-github-docker-notary-dev)
[ -e /usr/share/zoneinfo/Asia/Kolkata ] && [ -e /usr/share/zoneinfo/America/New_York ] || need_pkgs+=(tzdata)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | sort -u)
  SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
[ -x "$PEER/start.sh" ] && [ -x "$PEER/stop.sh" ] || die "peer scripts not found at $PEER (set NOTARY_PEER_SCRIPTS)"
NOTARY_PKG_VERSION="$(dpkg-query -W -f='${Version}' notary 2>/dev/null || echo unknown)"
NOTARY_VERSION_TEXT="$(notary version 2>/dev/null | tr -s ' ' | paste -sd' ' || true)"

# ---------------------------------------------------------------------------------------------------------------
# Scratch dir, lock, cleanup
# ---------------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$WORK")"
exec 9>"$WORK.lock"
flock -n 9 || die "another gen-fixtures.sh run holds $WORK.lock"
rm -rf "$WORK"
mkdir -p "$WORK/home"

PEER_DIRS=()
cleanup() {
  local rc=$?
  set +e
  for d in "${PEER_DIRS[@]}"; do
    "$PEER/stop.sh" "$d" >/dev/null 2>&1 || log "warning: stop.sh $d failed"
  done
  if [ "$rc" -eq 0 ] && [ "${KEEP_WORK:-0}" != 1 ]; then
    rm -rf "$WORK"
  elif [ "$rc" -ne 0 ]; then
    log "failed (exit $rc); scratch dir kept at $WORK (server logs in $WORK/peer-*/logs)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# peer_start NAME [VAR=VALUE...]: start a server(+signer) in $WORK/peer-NAME; sets N_URL and N_CA
peer_start() {
  local name="$1"; shift
  local d="$WORK/peer-$name"
  mkdir -p "$d"
  PEER_DIRS+=("$d")
  if ! env "$@" NOTARY_PEER_DIR="$d" NOTARY_PEER_STORAGE="$STORAGE" "$PEER/start.sh" "$d" >/dev/null 2>"$d.start.log"; then
    cat "$d.start.log" >&2
    die "peer $name failed to start"
  fi
  N_URL="$(sed -n 's/^NOTARY_PEER_URL=//p' "$d/peer.env")"
  N_CA="$d/certs/ca.crt"
  log "peer $name up at $N_URL ($*)"
}
peer_stop() {
  "$PEER/stop.sh" "$WORK/peer-$1" >/dev/null 2>&1 || log "warning: stop.sh peer-$1 failed"
}

# ---------------------------------------------------------------------------------------------------------------
# notary CLI wrappers. N_TRUST = trust dir, S = scenario output dir, TRANSCRIPT = log file.
# ---------------------------------------------------------------------------------------------------------------
N_URL="" N_CA="" N_TRUST="" S="" TRANSCRIPT="/dev/null"
nt() { HOME="$WORK/home" timeout 180 notary -s "$N_URL" --tlscacert "$N_CA" -d "$N_TRUST" "$@"; }
# shell-quoted command line for the transcript, with the scenario dir prefix removed (paths relative to it)
quote_args() { local a out=""; for a in "$@"; do out+=" $(printf '%q' "$a")"; done; out="${out# }"; printf '%s' "${out//"$S/"/}"; }
# x ARGS...: run notary, log command + stdout/stderr to the transcript, abort on failure
x() {
  printf '$ notary %s\n' "$(quote_args "$@")" >>"$TRANSCRIPT"
  local rc=0
  nt "$@" </dev/null >>"$TRANSCRIPT" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then tail -n 15 "$TRANSCRIPT" >&2; die "notary $(quote_args "$@") failed (exit $rc)"; fi
}
# x_in INPUT ARGS...: same, with INPUT (plus newline) on stdin
x_in() {
  local input="$1"; shift
  printf '$ echo %q | notary %s\n' "$input" "$(quote_args "$@")" >>"$TRANSCRIPT"
  local rc=0
  printf '%s\n' "$input" | nt "$@" >>"$TRANSCRIPT" 2>&1 || rc=$?
  printf '\n' >>"$TRANSCRIPT"   # the yes/no prompt has no newline
  if [ "$rc" -ne 0 ]; then tail -n 15 "$TRANSCRIPT" >&2; die "notary $(quote_args "$@") failed (exit $rc)"; fi
}
# out FILE ARGS...: exact stdout of notary into FILE (stderr to the transcript)
out() {
  local f="$1"; shift
  printf '$ notary %s > %s\n' "$(quote_args "$@")" "${f#"$S"/}" >>"$TRANSCRIPT"
  nt "$@" </dev/null >"$f" 2>>"$TRANSCRIPT" || die "notary $(quote_args "$@") failed"
}

# scenario_begin NAME GUN: fresh work + output dirs
scenario_begin() {
  SCN="$1" GUN="$2"
  S="$OUT/$SCN"
  N_TRUST="$WORK/$SCN/trust"
  mkdir -p "$S/cli" "$S/content" "$WORK/$SCN"
  TRANSCRIPT="$S/cli/transcript.txt"
  : >"$TRANSCRIPT"
  log "scenario $SCN ($GUN)"
}

# fetch_server GUN DEST: exact bytes of every role the snapshot lists, snapshot, timestamp, all <v>.root.json
fetch_server() {
  local g="$1" dest="$2" role v code
  mkdir -p "$dest"
  curl -fsS --cacert "$N_CA" -o "$dest/timestamp.json" "$N_URL/v2/$g/_trust/tuf/timestamp.json"
  curl -fsS --cacert "$N_CA" -o "$dest/snapshot.json" "$N_URL/v2/$g/_trust/tuf/snapshot.json"
  for role in $(jq -r '.signed.meta | keys[]' "$dest/snapshot.json"); do
    mkdir -p "$dest/$(dirname "$role")"
    curl -fsS --cacert "$N_CA" -o "$dest/$role.json" "$N_URL/v2/$g/_trust/tuf/$role.json"
  done
  v=1
  while :; do
    code="$(curl -sS --cacert "$N_CA" -o "$dest/$v.root.json" -w '%{http_code}' "$N_URL/v2/$g/_trust/tuf/$v.root.json")"
    [ "$code" = 200 ] || break
    v=$((v + 1))
  done
  rm -f "$dest/$v.root.json"
  [ "$code" = 404 ] || die "GET $v.root.json for $g: HTTP $code"
  [ "$v" -gt 1 ] || die "no 1.root.json for $g"
  curl -fsS --cacert "$N_CA" -o "$dest/timestamp.key" "$N_URL/v2/$g/_trust/tuf/timestamp.key"
}

save_trust() { rm -rf "$S/trust"; cp -a "$N_TRUST" "$S/trust"; }
save_cli() {  # list, key list, delegation list into $S/cli/ (suffix optional)
  local sfx="${1:-}"
  out "$S/cli/list$sfx.txt" list "$GUN"
  out "$S/cli/key-list$sfx.txt" key list
  out "$S/cli/delegation-list$sfx.txt" delegation list "$GUN"
}

# ---------------------------------------------------------------------------------------------------------------
# Describing a scenario (scenario.json). Only our description goes through jq, never the saved server bytes.
# ---------------------------------------------------------------------------------------------------------------
b64hex() { printf '%s' "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }
# TUF key ID: sha256 of canonical {"keytype":T,"keyval":{"private":null,"public":B64}}
tuf_id_of() { printf '{"keytype":"%s","keyval":{"private":null,"public":"%s"}}' "$1" "$2" | sha256sum | cut -c1-64; }
# canonical key ID: x509 keys -> TUF ID of the plain key with the certificate's SPKI DER
canonical_id_of() {
  local der
  case "$1" in
    ecdsa-x509|rsa-x509)
      der="$(printf '%s' "$2" | base64 -d | openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | base64 -w0)"
      tuf_id_of "${1%-x509}" "$der" ;;
    *) tuf_id_of "$1" "$2" ;;
  esac
}
passphrase_for_role() {
  case "$1" in
    root) echo "$PP_ROOT" ;; targets) echo "$PP_TARGETS" ;; snapshot) echo "$PP_SNAPSHOT" ;;
    *) echo "$PP_DELEGATION" ;;
  esac
}
pem_header() { sed -n "s/^$2: //p" "$1" | head -1; }

# key_json ROLE KEYTYPE PUBB64 EXPECTED_TUF_ID -> one JSON object (checks the TUF ID reproduces)
key_json() {
  local role="$1" kt="$2" pub="$3" id="$4" trel="$5" tid cid file=null
  tid="$(tuf_id_of "$kt" "$pub")"
  [ "$tid" = "$id" ] || die "$SCN: TUF key ID of $role key does not reproduce ($tid != $id)"
  cid="$(canonical_id_of "$kt" "$pub")"
  [ -e "$S/$trel/private/$cid.key" ] && file="\"$trel/private/$cid.key\""
  jq -cn --arg role "$role" --arg kt "$kt" --arg tid "$tid" --arg cid "$cid" --argjson file "$file" \
    '{role: $role, keytype: $kt, tuf_key_id: $tid, canonical_key_id: $cid,
      held_by: (if $file == null then "server" else "client" end), private_key_file: $file}'
}

# describe_keys SERVERDIR -> JSON array: base-role keys from root.json, delegation keys from targets files
describe_keys() {  # describe_keys SERVERDIR [TRUST_SUBDIR]
  local sd="$1" trel="${2:-trust}" role kt pub id f
  {
    jq -r '.signed as $s | ["root","targets","snapshot","timestamp"][] as $r | $s.roles[$r].keyids[] as $k
           | [$r, $s.keys[$k].keytype, $s.keys[$k].keyval.public, $k] | @tsv' "$sd/root.json" |
    while IFS=$'\t' read -r role kt pub id; do key_json "$role" "$kt" "$pub" "$id" "$trel"; done
    while IFS= read -r f; do
      jq -r '.signed.delegations as $d | $d.roles[] as $r | $r.keyids[] as $k
             | [$r.name, $d.keys[$k].keytype, $d.keys[$k].keyval.public, $k] | @tsv' "$f" |
      while IFS=$'\t' read -r role kt pub id; do key_json "$role" "$kt" "$pub" "$id" "$trel"; done
    done < <(targets_files "$sd")
  } | jq -cs .
}
targets_files() { { echo "$1/targets.json"; [ -d "$1/targets" ] && find "$1/targets" -name '*.json' | sort; } || true; }
role_of_file() { local r="${2#"$1"/}"; echo "${r%.json}"; }

# describe_targets SERVERDIR -> JSON array of targets across targets + delegations
describe_targets() {
  local sd="$1" f role name s256 s512 len custom hex256 hex512 cf
  declare -A content_by_hash=()
  if [ -d "$S/content" ]; then
    for cf in "$S/content"/*; do [ -f "$cf" ] && content_by_hash["$(sha256sum <"$cf" | cut -c1-64)"]="content/$(basename "$cf")"; done
  fi
  while IFS= read -r f; do
    role="$(role_of_file "$sd" "$f")"
    jq -r '.signed.targets | to_entries[] | [(.key|tojson), (.value.hashes.sha256 // ""), (.value.hashes.sha512 // ""),
           (.value.length|tostring), (if .value | has("custom") then (.value.custom|tojson) else "" end)] | join("\u001f")' "$f" |
    while IFS=$'\x1f' read -r name s256 s512 len custom; do
      hex256=""; hex512=""
      [ -z "$s256" ] || hex256="$(b64hex "$s256")"
      [ -z "$s512" ] || hex512="$(b64hex "$s512")"
      cf=""; [ -z "$hex256" ] || cf="${content_by_hash[$hex256]:-}"
      jq -cn --argjson name "$name" --arg role "$role" --arg h256 "$hex256" --arg h512 "$hex512" \
            --argjson len "$len" --arg custom "$custom" --arg cf "$cf" \
        '{name: $name, role: $role, sha256: (if $h256 == "" then null else $h256 end),
          sha512: (if $h512 == "" then null else $h512 end), length: $len}
         + (if $custom == "" then {} else {custom: ($custom|fromjson)} end)
         + (if $cf == "" then {} else {content_file: $cf} end)'
    done
  done < <(targets_files "$sd") | jq -cs 'sort_by(.name)'
}

describe_delegations() {
  local sd="$1" f
  while IFS= read -r f; do
    jq -c --arg parent "$(role_of_file "$sd" "$f")" '.signed.delegations.roles[]
      | {role: .name, parent: $parent, paths: (.paths // []), threshold, tuf_key_ids: .keyids}' "$f"
  done < <(targets_files "$sd") | jq -cs .
}

describe_roots() {  # root history: version, root key IDs, signer key IDs
  local sd="$1" v=1 arr="[]"
  while [ -e "$sd/$v.root.json" ]; do
    arr="$(jq -c --arg file "server/$v.root.json" --argjson acc "$arr" \
      '$acc + [{file: $file, version: .signed.version, expires: .signed.expires,
                root_tuf_key_ids: .signed.roles.root.keyids,
                all_key_ids_in_keys_map: (.signed.keys | keys),
                signature_key_ids: [.signatures[].keyid], signature_methods: [.signatures[].method]}]' "$sd/$v.root.json")"
    v=$((v + 1))
  done
  printf '%s' "$arr"
}

describe_metadata() {  # version, expires, signature method per role file
  local sd="$1" f
  for f in "$sd"/timestamp.json "$sd"/snapshot.json $(targets_files "$sd") "$sd"/root.json; do
    jq -c --arg role "$(role_of_file "$sd" "$f")" \
      '{role: $role, version: .signed.version, expires: .signed.expires,
        signatures: [.signatures[] | {keyid, method}]}' "$f"
  done | jq -cs .
}

describe_private_keys() {  # every trust/private/*.key: headers + passphrase
  local dir="$1" prefix="$2" f role gun pp
  for f in "$dir"/*.key; do
    [ -e "$f" ] || continue
    role="$(pem_header "$f" role)"; gun="$(pem_header "$f" gun)"
    pp="$(passphrase_for_role "$role")"
    jq -cn --arg file "$prefix/$(basename "$f")" --arg id "$(basename "$f" .key)" --arg role "$role" --arg gun "$gun" \
      --arg type "$(sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$f" | head -1)" --arg pp "$pp" \
      '{file: $file, key_id: $id, pem_type: $type, role_header: $role,
        gun_header: (if $gun == "" then null else $gun end), passphrase: $pp}'
  done | jq -cs .
}

key_list_json() {  # parse cli/key-list*.txt (as notary printed it)
  jq -Rcs 'split("\n") | map(select(test("[0-9a-f]{64}"))
    | capture("^(?<pre>.*?)(?<id>[0-9a-f]{64})(?<loc>.*)$")
    | ([.pre | splits("  +")]) as $f
    | {role: $f[0], gun: (if ($f | length) > 2 then $f[1] else "" end), key_id: .id,
       location: (.loc | sub("^ +"; "") | sub(" +$"; ""))})' "$1"
}

# write_scenario TRUST_SERVICE NOTES_JSON [extra JSON object merged in]
write_scenario() {
  local trust_service="$1" notes="$2" extra="${3:-}" sd="$S/server"
  [ -n "$extra" ] || extra='{}'
  jq -n --arg scenario "$SCN" --arg gun "$GUN" --arg ts "$trust_service" \
    --arg pkg "$NOTARY_PKG_VERSION" --arg ver "$NOTARY_VERSION_TEXT" --arg storage "$STORAGE" \
    --arg pr "$PP_ROOT" --arg pt "$PP_TARGETS" --arg ps "$PP_SNAPSHOT" --arg pd "$PP_DELEGATION" \
    --argjson targets "$(describe_targets "$sd")" \
    --argjson delegations "$(describe_delegations "$sd")" \
    --argjson keys "$(describe_keys "$sd")" \
    --argjson roots "$(describe_roots "$sd")" \
    --argjson meta "$(describe_metadata "$sd")" \
    --argjson privkeys "$(describe_private_keys "$S/trust/private" trust/private)" \
    --argjson keylist "$(key_list_json "$S/cli/key-list.txt")" \
    --argjson notes "$notes" --argjson extra "$extra" \
    '{scenario: $scenario, gun: $gun,
      generated_by: "scripts/gen-fixtures.sh", notary_package: $pkg, notary_version: $ver,
      server: {trust_service: $ts, storage: $storage},
      passphrases: {root: $pr, targets: $pt, snapshot: $ps, delegation: $pd},
      targets: $targets, delegations: $delegations,
      keys: $keys, key_list: $keylist, private_keys: $privkeys,
      root_versions: $roots, metadata: $meta,
      files: {server: "server/ - exact bytes of GET /v2/<gun>/_trust/tuf/<role>.json, <v>.root.json, timestamp.key",
              trust: "trust/ - client trust dir (private/*.key, tuf/<gun>/metadata/)",
              cli: "cli/ - exact stdout of notary list / key list / delegation list; transcript.txt = every command with stdout+stderr (-s/--tlscacert/-d omitted)"},
      notes: $notes} + $extra' >"$S/scenario.json"
}

mkcontent() {  # mkcontent NAME TEXT -> path
  printf '%s\n' "$2" >"$S/content/$1"
  printf '%s' "$S/content/$1"
}

rm -rf "$OUT" "$GO_OUT"
mkdir -p "$OUT" "$GO_OUT"

# ===============================================================================================================
# Peer 1: remote trust service (notary-signer), UTC
# ===============================================================================================================
peer_start remote NOTARY_PEER_TRUST=remote TZ=UTC

# ---------------------------------------------------------------------------------------------------------------
# a. basic
# ---------------------------------------------------------------------------------------------------------------
scenario_begin basic example.com/basic
x init -p "$GUN"
# name|content-file pairs (content unique per target so content_file can be matched by sha256)
NAMES=(
  'hello.txt'
  'a<b>&c'
  'say "hi"'
  'back\slash'
  $'line\xe2\x80\xa8sep'
  $'para\xe2\x80\xa9sep'
  'café'
  $'cafe\xcc\x81'
  '🎉party'
  'sp ace'
  'dir/sub/file.txt'
  $'del\x7fchar'
  $'bad\xffutf8'
)
i=0
for name in "${NAMES[@]}"; do
  i=$((i + 1))
  f="$(mkcontent "$(printf 't%02d.txt' "$i")" "content of target #$i")"
  x add "$GUN" "$name" "$f"
done
# --custom: the server only accepts custom JSON whose keys are already sorted and which holds no <>& or \u escapes
# (see the rejected probes below), so this one is sorted but has insignificant whitespace, which the client compacts.
printf '{"a": "x", "n": {"b": [1, 2], "c": null}, "z": 1}\n' >"$S/content/custom-object.json"
printf '[3, 1, "two", {"k": true}]\n' >"$S/content/custom-array.json"
x add "$GUN" custom-object "$(mkcontent custom-object.txt 'target with custom object')" --custom "$S/content/custom-object.json"
x add "$GUN" custom-array "$(mkcontent custom-array.txt 'target with custom array')" --custom "$S/content/custom-array.json"
# addhash: sha256 only (decimal size), sha512 only (no sha256 -> empty DIGEST in `notary list`), both (hex size)
f="$(mkcontent hashed.txt 'content added by hash')"
H256="$(sha256sum <"$f" | cut -c1-64)"; H512="$(sha512sum <"$f" | cut -c1-128)"; LEN="$(wc -c <"$f")"
x addhash "$GUN" hashed-sha256 "$LEN" --sha256 "$H256"
x addhash "$GUN" hashed-sha512 "$LEN" --sha512 "$H512"
x addhash "$GUN" hashed-both "$(printf '0x%x' "$LEN")" --sha256 "$H256" --sha512 "$H512"
out "$S/cli/status-before-publish.txt" status "$GUN"
x publish "$GUN"
save_cli
out "$S/cli/status.txt" status "$GUN"
: >"$S/cli/lookup.txt"
for name in hello.txt 'a<b>&c' 'café' hashed-sha512 hashed-both; do
  nt lookup "$GUN" "$name" </dev/null >>"$S/cli/lookup.txt" 2>>"$TRANSCRIPT" || die "lookup $name"
done
fetch_server "$GUN" "$S/server"
save_trust

# Rejected probes: each in its own GUN (one bad target fails the whole publish), trust dir not kept.
log "basic: rejected probes"
SAVE_TRUST="$N_TRUST"; N_TRUST="$WORK/basic-rejected/trust"; mkdir -p "$WORK/basic-rejected"
printf 'probe content\n' >"$WORK/basic-rejected/content.txt"
: >"$S/cli/rejected.txt"
REJECTED="[]"
probe() {  # probe ID KIND NAME [CUSTOMJSON]
  local id="$1" kind="$2" name="$3" custom="${4:-}" g="example.com/basic-rejected/$1" rc=0 msg args
  x init -p "$g"
  args=(add "$g" "$name" "$WORK/basic-rejected/content.txt")
  if [ -n "$custom" ]; then printf '%s' "$custom" >"$WORK/basic-rejected/$id.json"; args+=(--custom "$WORK/basic-rejected/$id.json"); fi
  x "${args[@]}"
  printf '$ notary publish %s\n' "$g" >>"$TRANSCRIPT"
  msg="$(nt publish "$g" </dev/null 2>&1)" || rc=$?
  printf '%s\n' "$msg" >>"$TRANSCRIPT"
  msg="$(printf '%s\n' "$msg" | grep -v '^Pushing changes' | grep . | tail -1)"
  printf '%s\t%s\tname=%s custom=%s\texit=%s\t%s\n' "$id" "$kind" "$(printf '%q' "$name")" "${custom:-none}" "$rc" "$msg" >>"$S/cli/rejected.txt"
  REJECTED="$(jq -c --arg id "$id" --arg kind "$kind" --arg nhex "$(printf '%s' "$name" | od -An -v -tx1 | tr -d ' \n')" \
     --arg custom "$custom" --argjson rc "$rc" --arg msg "$msg" --argjson acc "$REJECTED" -n \
     '$acc + [{probe: $id, kind: $kind, target_name_hex: $nhex, custom: (if $custom == "" then null else $custom end),
               publish_exit: $rc, published: ($rc == 0), publish_message: $msg}]')"
}
probe tab name $'tab\there'
probe ctrl-01 name $'ctl\x01x'
probe newline name $'new\nline'
probe custom-unsorted custom ok '{"z":1,"a":"x"}'
probe custom-nested-unsorted custom ok '{"a":{"z":1,"b":2}}'
probe custom-html custom ok '{"a":"x<y>&"}'
probe custom-u-escape custom ok '{"a":"caf\u00e9"}'
probe custom-float custom ok '{"a":1.5}'
probe custom-sorted-control custom ok '{"a":"x","z":1}'
N_TRUST="$SAVE_TRUST"

write_scenario remote "$(jq -cn --argjson rej "$REJECTED" '[
  "init -p, then add of 13 names (hello.txt, <>&, double quote, backslash, U+2028, U+2029, NFC café, NFD cafe+U+0301, emoji, space, dir/sub/file.txt, DEL 0x7f, invalid UTF-8 0xff), two --custom targets, three addhash targets, one publish.",
  "Target added as bytes 62 61 64 ff 75 74 66 38 (bad\\xffutf8) is published as \"bad\ufffdutf8\" (Go replaced the invalid byte by U+FFFD, EF BF BD); content_file mapping is by sha256.",
  "custom-object was given as {\"a\": \"x\", \"n\": {\"b\": [1, 2], \"c\": null}, \"z\": 1} (+newline) and is stored compacted. Custom JSON with unsorted keys, <>&, \\u escapes or non-integer numbers cannot be published at all: the 0.7 server rejects the targets file (see rejected).",
  "hashed-sha512 has no sha256: `notary list` prints an empty DIGEST and `notary lookup` prints \"hashed-sha512 sha256: <len>\".",
  "Names with TAB, 0x01 or LF can be staged (`notary add` succeeds) but publish fails on the client (json: error calling MarshalJSON ... invalid character in string literal); they were probed in separate GUNs and are not in this repository.",
  "init -p publishes targets v2 (init writes v1 locally, the publish re-signs); the client cache is only refreshed by the next online read, so trust/ was saved after `notary list`."
] ' )" "$(jq -cn --argjson rej "$REJECTED" '{rejected: $rej}')"

# ---------------------------------------------------------------------------------------------------------------
# b. delegations
# ---------------------------------------------------------------------------------------------------------------
scenario_begin delegations example.com/delegations
K="$S/keys"; mkdir -p "$K"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/releases-key.pem" 2>/dev/null
openssl req -new -x509 -sha256 -key "$K/releases-key.pem" -subj /CN=releases -days 3650 -out "$K/releases.crt" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/qa-key.pem" 2>/dev/null
openssl pkey -in "$K/qa-key.pem" -pubout -out "$K/qa-pub.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other-key.pem" 2>/dev/null
openssl req -new -x509 -sha256 -key "$K/other-key.pem" -subj /CN=other -days 3650 -out "$K/other.crt" 2>/dev/null
x init -p "$GUN"
x key import "$K/releases-key.pem" -r targets/releases
x key import "$K/qa-key.pem" -r targets/releases/qa
x key import "$K/other-key.pem" -r targets/other
x delegation add "$GUN" targets/releases "$K/releases.crt" --all-paths
x delegation add "$GUN" targets/releases/qa "$K/qa-pub.pem" --paths qa/
x delegation add "$GUN" targets/other "$K/other.crt" --paths other/ --paths misc/
x add "$GUN" top-level.txt "$(mkcontent top-level.txt 'in targets')"
x add "$GUN" v1.0 "$(mkcontent v1.0.txt 'release 1.0')" -r targets/releases
x add "$GUN" v2.0 "$(mkcontent v2.0.txt 'release 2.0')" -r targets/releases
x add "$GUN" qa/build-1 "$(mkcontent qa-build-1.txt 'qa build 1')" -r targets/releases/qa
x add "$GUN" other/thing "$(mkcontent other-thing.txt 'other thing')" -r targets/other
x add "$GUN" misc/note "$(mkcontent misc-note.txt 'misc note')" -r targets/other
x publish "$GUN"
save_cli
out "$S/cli/list-role-releases-qa.txt" list "$GUN" -r targets/releases/qa
fetch_server "$GUN" "$S/server"
save_trust
write_scenario remote '[
  "targets/releases: key given as an X.509 certificate (keys/releases.crt, openssl EC P-256 self-signed, CN=releases) -> keytype ecdsa-x509, --all-paths (paths [\"\"]). Private key keys/releases-key.pem (unencrypted PKCS#8) imported with -r targets/releases.",
  "targets/releases/qa: key given as a plain PUBLIC KEY pem (keys/qa-pub.pem) -> keytype ecdsa, --paths qa/.",
  "targets/other: RSA 2048 X.509 certificate (keys/other.crt, CN=other) -> keytype rsa-x509, --paths other/ --paths misc/; signatures method rsapss.",
  "Metadata (delegations.keys, roles.keyids) uses TUF key IDs; key list, delegation list and private key file names use canonical key IDs (for x509 keys: the ID of the plain key with the certificate public key).",
  "Imported delegation keys are re-encrypted with NOTARY_DELEGATION_PASSPHRASE and carry only a role header (no gun).",
  "keys/ holds the openssl-made sources (unencrypted on purpose: test material only)."
]'

# ---------------------------------------------------------------------------------------------------------------
# c. rotated-root
# ---------------------------------------------------------------------------------------------------------------
scenario_begin rotated-root example.com/rotated-root
x init -p "$GUN"
x add "$GUN" app.txt "$(mkcontent app.txt 'app before root rotations')"
x publish "$GUN"
x_in yes key rotate "$GUN" root
x_in yes key rotate "$GUN" root
save_cli
fetch_server "$GUN" "$S/server"
save_trust
write_scenario remote '[
  "init -p, add + publish, then `notary key rotate <gun> root` twice (prompt answered with yes on stdin). Server holds 1.root.json .. 3.root.json.",
  "Each rotation publishes only root (plus a server-signed snapshot/timestamp); each new root is signed by both the old and the new root key.",
  "All three root private keys stay in trust/private (key list shows 3 root keys); root_versions lists which is current per version."
]'

# ---------------------------------------------------------------------------------------------------------------
# d. rotated-keys
# ---------------------------------------------------------------------------------------------------------------
scenario_begin rotated-keys example.com/rotated-keys
x init -p "$GUN"
x add "$GUN" before.txt "$(mkcontent before.txt 'published before key rotations')"
x publish "$GUN"
save_cli -before
fetch_server "$GUN" "$S/server-before"
cp -a "$N_TRUST" "$S/trust-before"
x key rotate "$GUN" targets
x key rotate "$GUN" snapshot -r
x key rotate "$GUN" timestamp -r
x add "$GUN" after.txt "$(mkcontent after.txt 'published after key rotations')"
x publish "$GUN"
save_cli
fetch_server "$GUN" "$S/server"
save_trust
write_scenario remote '[
  "server-before/, trust-before/, cli/*-before.txt: after init -p + add + publish.",
  "Then: key rotate targets (new client key), key rotate snapshot -r (snapshot key moves to the server), key rotate timestamp -r (new server key); each rotation publishes a new root (root v2, v3, v4). Then add after.txt + publish: snapshot now signed by the server.",
  "The old targets key and the old snapshot key are deleted from trust/private by the rotations (compare cli/key-list-before.txt and cli/key-list.txt)."
]' "$(jq -cn --argjson k "$(describe_keys "$S/server-before" trust-before)" --argjson m "$(describe_metadata "$S/server-before")" \
        --argjson kl "$(key_list_json "$S/cli/key-list-before.txt")" \
        '{before: {keys: $k, metadata: $m, key_list: $kl}}')"

# ---------------------------------------------------------------------------------------------------------------
# f. keys (standalone key files) - uses the remote peer only for nothing; all key commands are offline
# ---------------------------------------------------------------------------------------------------------------
scenario_begin keys ''
rmdir "$S/content"
KW="$WORK/keys"
# generate -o
mkdir -p "$S/generate"
N_TRUST="$KW/generate-trust"
x key generate ecdsa --role targets/dev -o "$S/generate/dev"
GEN_PUB_B64="$(sed '/^-----/d; /^[a-z]*: /d; /^$/d' "$S/generate/dev.pem" | tr -d '\n')"
GEN_ID="$(tuf_id_of ecdsa "$GEN_PUB_B64")"
# export (of the delegations trust dir: root, targets, snapshot, 3 delegation keys incl. RSA)
mkdir -p "$S/export"
N_TRUST="$WORK/delegations/trust"
x key export -o "$S/export/export-all.pem"
x key export --gun example.com/delegations -o "$S/export/export-gun-delegations.pem"
DEL_ROOT_ID="$(jq -r '.keys[] | select(.role == "root") | .canonical_key_id' "$OUT/delegations/scenario.json")"
x key export --key "$DEL_ROOT_ID" -o "$S/export/export-key-root.pem"
# import sources
IS="$S/import-sources"; mkdir -p "$IS"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$IS/unencrypted-pkcs8-ecdsa.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$IS/unencrypted-sec1-ecdsa.pem" 2>/dev/null
openssl genrsa -traditional -out "$IS/unencrypted-pkcs1-rsa.pem" 2048 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$IS/unencrypted-pkcs8-for-targets.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KW/encsrc.pem" 2>/dev/null
# encrypted source: import under another passphrase into a scratch trust dir, export it (adds the path header)
N_TRUST="$KW/encsrc-trust"
NOTARY_DELEGATION_PASSPHRASE="$PP_IMPORT_SOURCE" x key import "$KW/encsrc.pem" -r targets/imported-encrypted
x key export -o "$IS/encrypted-with-path.pem"
ENC_ID="$(sed -n 's/^path: //p' "$IS/encrypted-with-path.pem")"
# import them all into one trust dir
N_TRUST="$WORK/keys/imported-trust"
x key import "$IS/unencrypted-pkcs8-ecdsa.pem" -r targets/imported-pkcs8
x key import "$IS/unencrypted-sec1-ecdsa.pem" -r targets/imported-sec1
x key import "$IS/unencrypted-pkcs1-rsa.pem" -r targets/imported-rsa
x key import "$IS/unencrypted-pkcs8-for-targets.pem" -r targets -g example.com/imported
x key import "$IS/encrypted-with-path.pem"
printf '$ notary key import %s   # expected to fail\n' "generate/dev-key.pem" >>"$TRANSCRIPT"
GEN_IMPORT_MSG="$(nt key import "$S/generate/dev-key.pem" </dev/null 2>&1 || true)"
printf '%s\n' "$GEN_IMPORT_MSG" >>"$TRANSCRIPT"
GEN_IMPORT_MSG="$(printf '%s\n' "$GEN_IMPORT_MSG" | grep -v '^time=' | grep . | tail -1)"
out "$S/cli/key-list-imported.txt" key list
mkdir -p "$S/imported-trust"; cp -a "$N_TRUST/private" "$S/imported-trust/private"
# legacy layouts migrated by notary 0.7 (opening the key store rewrites them)
mkdir -p "$S/legacy-migrated"
for v in notary0.1 notary0.3; do
  cp -a "$GO_SRC/fixtures/compatibility/$v" "$KW/$v"
  N_TRUST="$KW/$v"
  out "$S/cli/key-list-legacy-$v.txt" key list
  mkdir -p "$S/legacy-migrated/$v"
  cp -a "$KW/$v/private" "$S/legacy-migrated/$v/private"
done
jq -n --arg pkg "$NOTARY_PKG_VERSION" --arg ver "$NOTARY_VERSION_TEXT" \
  --arg pd "$PP_DELEGATION" --arg pt "$PP_TARGETS" --arg pis "$PP_IMPORT_SOURCE" \
  --arg gen_id "$GEN_ID" --arg enc_id "$ENC_ID" --arg del_root "$DEL_ROOT_ID" --arg genmsg "$GEN_IMPORT_MSG" \
  --argjson imported "$(for f in "$S/imported-trust/private"/*.key; do
        id="$(basename "$f" .key)"; role="$(pem_header "$f" role)"
        pp="$(passphrase_for_role "$role")"; [ "$id" = "$ENC_ID" ] && pp="$PP_IMPORT_SOURCE"
        jq -cn --arg file "imported-trust/private/$id.key" --arg id "$id" --arg role "$role" --arg gun "$(pem_header "$f" gun)" \
          --arg type "$(sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$f" | head -1)" --arg pp "$pp" \
          '{file: $file, key_id: $id, pem_type: $type, role_header: $role, gun_header: (if $gun == "" then null else $gun end), passphrase: $pp}'
      done | jq -cs .)" \
  --argjson kl_imported "$(key_list_json "$S/cli/key-list-imported.txt")" \
  --argjson kl01 "$(key_list_json "$S/cli/key-list-legacy-notary0.1.txt")" \
  --argjson kl03 "$(key_list_json "$S/cli/key-list-legacy-notary0.3.txt")" \
  '{scenario: "keys", generated_by: "scripts/gen-fixtures.sh", notary_package: $pkg, notary_version: $ver,
    generate: {command: "notary key generate ecdsa --role targets/dev -o generate/dev",
               files: {private: "generate/dev-key.pem", public: "generate/dev.pem"},
               key_id: $gen_id, role: "targets/dev", passphrase: $pd,
               notes: ["ENCRYPTED PRIVATE KEY and PUBLIC KEY blocks, each with a role header and no gun; nothing is written to the trust dir; the command prints nothing on stdout.",
                       "Importing generate/dev-key.pem is refused (encrypted block without path header).",
                       ("notary key import generate/dev-key.pem says: " + $genmsg)]},
    export: {source: "the trust dir of the delegations scenario (same keys as delegations/trust/private)",
             files: {"export/export-all.pem": "notary key export (all keys)",
                     "export/export-gun-delegations.pem": "notary key export --gun example.com/delegations (only keys with that gun header: targets, snapshot)",
                     "export/export-key-root.pem": ("notary key export --key " + $del_root + " (the root key)")},
             passphrases: "as in delegations/scenario.json: each block keeps the encryption of its key file (root: rootpassphrase, targets: targetspassphrase, snapshot: snapshotpassphrase, targets/*: delegationpassphrase)",
             notes: ["Each block is the stored PEM block with an extra path: <canonical key id> header; headers sorted (gun, path, role)."]},
    import_sources: {
      "import-sources/unencrypted-pkcs8-ecdsa.pem": {format: "PRIVATE KEY (PKCS#8, openssl genpkey)", imported_with: "-r targets/imported-pkcs8"},
      "import-sources/unencrypted-sec1-ecdsa.pem": {format: "EC PRIVATE KEY (SEC1, openssl ecparam -genkey -noout)", imported_with: "-r targets/imported-sec1"},
      "import-sources/unencrypted-pkcs1-rsa.pem": {format: "RSA PRIVATE KEY (PKCS#1, openssl genrsa -traditional, 2048)", imported_with: "-r targets/imported-rsa"},
      "import-sources/unencrypted-pkcs8-for-targets.pem": {format: "PRIVATE KEY (PKCS#8)", imported_with: "-r targets -g example.com/imported (gets gun + role headers)"},
      "import-sources/encrypted-with-path.pem": {format: "ENCRYPTED PRIVATE KEY with path + role headers (a notary key export)", imported_with: "(no flags)", key_id: $enc_id, passphrase: $pis,
        notes: ["Made by importing an openssl key with NOTARY_DELEGATION_PASSPHRASE=importsourcepassphrase and role targets/imported-encrypted into a scratch trust dir, then notary key export.",
                "Encrypted blocks are stored as they are: imported-trust/private/<id>.key still needs importsourcepassphrase, not the environment passphrase."]}},
    imported_trust: {dir: "imported-trust/private", keys: $imported, key_list: $kl_imported,
                     notes: ["Unencrypted imports are re-encrypted with the passphrase of their role alias (targets/* -> delegationpassphrase, targets -> targetspassphrase)."]},
    legacy_migrated: {notary0_1: {source: "fixtures/go-notary/compatibility/notary0.1", migrated_private: "legacy-migrated/notary0.1/private", key_list: $kl01, passphrase: "randompass"},
                      notary0_3: {source: "fixtures/go-notary/compatibility/notary0.3", migrated_private: "legacy-migrated/notary0.3/private", key_list: $kl03, passphrase: "password"},
                      notes: ["Result of `notary -d <copy of the Go fixture> key list`: opening the key store moves root_keys/ and tuf_keys/ keys to private/<id>.key, adds gun/role headers and keeps the legacy encrypted bodies."]}}' \
  >"$S/scenario.json"
N_TRUST=""

peer_stop remote

# ===============================================================================================================
# Peer 2: local trust service (server signs with its own ed25519 keys, no signer)
# ===============================================================================================================
peer_start local NOTARY_PEER_TRUST=local TZ=UTC
scenario_begin local-ed25519 example.com/local-ed25519
x init -p "$GUN"
x add "$GUN" first.txt "$(mkcontent first.txt 'first target')"
x publish "$GUN"
x key rotate "$GUN" snapshot -r
x add "$GUN" second.txt "$(mkcontent second.txt 'second target, snapshot signed by the server')"
x publish "$GUN"
save_cli
fetch_server "$GUN" "$S/server"
save_trust
write_scenario local '[
  "notary-server with trust_service local (NOTARY_PEER_TRUST=local): server-held keys are ed25519 and sign with method eddsa.",
  "init -p + first.txt, then key rotate snapshot -r so the server holds the snapshot key too (root v2), then second.txt + publish: snapshot and timestamp are both eddsa-signed; root and targets stay client ecdsa."
]'
peer_stop local

# ===============================================================================================================
# Peer 3: remote trust service, server in America/New_York; client in Asia/Kolkata
# ===============================================================================================================
peer_start tz NOTARY_PEER_TRUST=remote TZ=America/New_York
scenario_begin tz-offset example.com/tz-offset/a-gun-longer-than-25-chars
export TZ=Asia/Kolkata
x init -p "$GUN"
x add "$GUN" tz.txt "$(mkcontent tz.txt 'expires in local zones')"
x publish "$GUN"
save_cli
fetch_server "$GUN" "$S/server"
save_trust
export TZ=UTC
write_scenario remote '[
  "Client ran with TZ=Asia/Kolkata, server with TZ=America/New_York: expires of client-signed roles (root, targets, snapshot) end in +05:30, the server-signed timestamp in -05:00 (or -04:00 in summer).",
  "The GUN is longer than 25 characters, so cli/key-list.txt shows it left-truncated with a ... prefix."
]'
peer_stop tz

# ===============================================================================================================
# Go fixtures (legacy layouts), copied verbatim
# ===============================================================================================================
cp -a "$GO_SRC/fixtures/compatibility/README.md" "$GO_SRC/fixtures/compatibility/notary0.1" \
      "$GO_SRC/fixtures/compatibility/notary0.3" "$GO_OUT/"
cat >"$GO_OUT/NOTICE" <<'EOF'
These files come from Notary (https://github.com/theupdateframework/notary, directory fixtures/compatibility,
Copyright 2015 Docker, Inc.), licensed under the Apache License, Version 2.0; copied unchanged from the Debian
package golang-github-docker-notary-dev by scripts/gen-fixtures.sh.

Notes from Notarius (verified with openssl and the upstream test client/backwards_compatibility_test.go):
- notary0.1 (GUN docker.com/notary0.1/samplerepo): every key uses the passphrase "randompass".
- notary0.3 (GUN docker.com/notary0.3/tst, not .../samplerepo as README.md says): every key uses the passphrase
  "password" (README.md wrongly says "randompass").
- Key files are legacy OpenSSL-encrypted PEM (Proc-Type: 4,ENCRYPTED / DEK-Info: AES-256-CBC) blocks
  EC PRIVATE KEY / RSA PRIVATE KEY.
EOF

# ===============================================================================================================
# Checks: exact bytes, hashes in snapshot/timestamp, caches = server, keys decrypt, size
# ===============================================================================================================
log "checking"
check_server_dir() {  # snapshot/timestamp hashes and lengths must match the saved bytes
  local sd="$1" role want got len
  for role in $(jq -r '.signed.meta | keys[]' "$sd/snapshot.json"); do
    want="$(jq -r --arg r "$role" '.signed.meta[$r].hashes.sha256' "$sd/snapshot.json")"
    got="$(openssl dgst -sha256 -binary "$sd/$role.json" | base64 -w0)"
    [ "$want" = "$got" ] || die "$sd/$role.json: sha256 differs from snapshot meta"
    len="$(jq -r --arg r "$role" '.signed.meta[$r].length' "$sd/snapshot.json")"
    [ "$len" = "$(wc -c <"$sd/$role.json")" ] || die "$sd/$role.json: length differs from snapshot meta"
  done
  want="$(jq -r '.signed.meta.snapshot.hashes.sha256' "$sd/timestamp.json")"
  [ "$want" = "$(openssl dgst -sha256 -binary "$sd/snapshot.json" | base64 -w0)" ] || die "$sd/snapshot.json: sha256 differs from timestamp meta"
  cmp -s "$sd/root.json" "$sd/$(jq -r .signed.version "$sd/root.json").root.json" || die "$sd: root.json differs from its versioned copy"
  for f in "$sd"/*.json "$sd"/targets/*.json "$sd"/targets/*/*.json; do
    [ -e "$f" ] || continue
    [ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" != '\n' ] || die "$f ends with a newline (not server bytes?)"
  done
}
check_cache() {  # trust/tuf/<gun>/metadata/* must equal the server's bytes
  local scn="$1" gun="$2" md f rel
  md="$OUT/$scn/trust/tuf/$gun/metadata"
  for f in $(cd "$md" && find . -name '*.json' | sort); do
    rel="${f#./}"
    cmp -s "$md/$rel" "$OUT/$scn/server/$rel" || die "$scn: cached $rel differs from server/$rel"
  done
}
check_keys() {  # every private key decrypts with its documented passphrase
  local json="$1" base="$2" file pp
  while IFS=$'\t' read -r file pp; do
    sed '/^[a-zA-Z-]*: /d' "$base/$file" | openssl pkey -passin "pass:$pp" -noout 2>/dev/null \
      || die "$base/$file does not decrypt with $pp"
  done < <(jq -r "$json | .[] | [.file, .passphrase] | @tsv" "$base/scenario.json")
}
for scn in basic delegations rotated-root rotated-keys local-ed25519 tz-offset; do
  check_server_dir "$OUT/$scn/server"
  check_cache "$scn" "$(jq -r .gun "$OUT/$scn/scenario.json")"
  check_keys .private_keys "$OUT/$scn"
  [ "$(jq '[.targets[] | select(.sha256 != null and .content_file == null)] | length' "$OUT/$scn/scenario.json")" -eq 0 ] \
    || die "$scn: targets without content file"
done
check_server_dir "$OUT/rotated-keys/server-before"
check_keys .imported_trust.keys "$OUT/keys"
for kp in "generate/dev-key.pem:$PP_DELEGATION" "import-sources/encrypted-with-path.pem:$PP_IMPORT_SOURCE"; do
  sed '/^[a-zA-Z-]*: /d' "$OUT/keys/${kp%%:*}" | openssl pkey -passin "pass:${kp#*:}" -noout 2>/dev/null \
    || die "keys/${kp%%:*} does not decrypt with ${kp#*:}"
done
[ "$(jq '.root_versions | length' "$OUT/rotated-root/scenario.json")" = 3 ] || die "rotated-root: expected 3 root versions"
[ "$(jq '.root_versions | length' "$OUT/rotated-keys/scenario.json")" = 4 ] || die "rotated-keys: expected 4 root versions"
grep -q '+05:30"' "$OUT/tz-offset/server/targets.json" || die "tz-offset: targets expires not in +05:30"
grep -Eq '[-]0[45]:00"' "$OUT/tz-offset/server/timestamp.json" || die "tz-offset: timestamp expires not in New York time"
grep -q '"method":"eddsa"' "$OUT/local-ed25519/server/timestamp.json" || die "local-ed25519: timestamp not eddsa"
grep -q 'a\\u003cb\\u003e\\u0026c' "$OUT/basic/server/targets.json" || die "basic: expected \\u003c escapes"

# ===============================================================================================================
# README
# ===============================================================================================================
summary() {
  local scn
  for scn in basic delegations rotated-root rotated-keys local-ed25519 tz-offset; do
    jq -r '"### `\(.scenario)` — GUN `\(.gun)`\n\n| role | keytype | TUF key ID | canonical key ID | held by |\n|---|---|---|---|---|\n" +
           ([.keys[] | "| \(.role) | \(.keytype) | `\(.tuf_key_id)` | `\(.canonical_key_id)` | \(.held_by) |"] | join("\n")) +
           "\n\nroot versions: \(.root_versions | length); metadata: " +
           ([.metadata[] | "\(.role) v\(.version) (\(.signatures | map(.method) | join(",")))"] | join(", ")) + "\n"' \
      "$OUT/$scn/scenario.json"
  done
}
{
cat <<'EOF'
# Fixtures made by the real Notary 0.7

Everything here is generated by `scripts/gen-fixtures.sh` from the Debian package `notary`
EOF
printf '(`%s`; `notary version`: %s) with its own notary-server and\n' "$NOTARY_PKG_VERSION" "$NOTARY_VERSION_TEXT"
cat <<'EOF'
notary-signer started on loopback by `shared/peer/start.sh` (memory storage). **Do not edit by hand**: rerun the
script, which wipes and rewrites this directory (keys are random, so every key ID, signature and expiry changes
on each run; tests must read IDs from `scenario.json`, never hard-code them).

## Passphrases

| key | passphrase | env var used |
|---|---|---|
| root keys (`role: root`) | `rootpassphrase` | `NOTARY_ROOT_PASSPHRASE` |
| targets keys (`role: targets`) | `targetspassphrase` | `NOTARY_TARGETS_PASSPHRASE` |
| snapshot keys (`role: snapshot`) | `snapshotpassphrase` | `NOTARY_SNAPSHOT_PASSPHRASE` |
| delegation keys (`role: targets/...`) and `key generate --role targets/dev` | `delegationpassphrase` | `NOTARY_DELEGATION_PASSPHRASE` |
| `keys/import-sources/encrypted-with-path.pem` and its imported copy | `importsourcepassphrase` | (set only while creating it) |
| Go fixtures `fixtures/go-notary/compatibility/notary0.1` | `randompass` | |
| Go fixtures `fixtures/go-notary/compatibility/notary0.3` | `password` (its README wrongly says `randompass`) | |

Every `private_keys[]` entry of a `scenario.json` names its passphrase; the script checks that each one decrypts
with openssl.

## Layout of a scenario directory

* `scenario.json` — gun, passphrases, `targets` (name, role, sha256/sha512 hex, length, custom, content file),
  `delegations` (role, parent, paths, threshold, TUF key IDs), `keys` (per role: keytype, TUF key ID as in the
  metadata, canonical key ID as in `key list` and file names, who holds the private key), `key_list` (parsed from
  `cli/key-list.txt`), `private_keys` (headers + passphrase), `root_versions`, `metadata` (version, expires,
  signature methods per role), `notes`.
* `server/` — exact response bodies of `GET /v2/<gun>/_trust/tuf/<role>.json` for every role the snapshot lists
  (delegations nested: `server/targets/releases.json`, `server/targets/releases/qa.json`), `snapshot.json`,
  `timestamp.json`, every historical root `<v>.root.json` (1 up to the first 404), and `timestamp.key`
  (body of `GET .../timestamp.key`). Saved with `curl -o`, never reformatted; the script checks each file against
  the sha256 and length in snapshot/timestamp.
* `trust/` — the client trust dir after the last command (`private/<canonical id>.key`, `tuf/<gun>/metadata/`;
  the empty `changelist/` directories are not kept by git). Saved after an online `notary list`, because a
  publish does not refresh the cache; the script checks the cache equals `server/` byte for byte.
* `cli/` — exact stdout of `notary list <gun>` (`list.txt`), `notary key list` (`key-list.txt`),
  `notary delegation list <gun>` (`delegation-list.txt`), and `transcript.txt` with every command run and its
  stdout+stderr (the `-s`, `--tlscacert` and `-d` flags are left out). The trust dir was
  `/tmp/notarius-fixtures/<scenario>/trust`, which is what the LOCATION column shows (left-truncated to 40 chars).
* `content/` — the files whose hashes were added.

## Scenarios

* `basic/` (`example.com/basic`): `init -p`, 13 targets with awkward names (`a<b>&c`, `say "hi"`, `back\slash`,
  U+2028, U+2029, `café` NFC, `cafe` + U+0301 NFD, `🎉party`, `sp ace`, `dir/sub/file.txt`, DEL `0x7f`,
  invalid UTF-8 `bad\xffutf8`), two `--custom` targets, three `addhash` targets (sha256 only, sha512 only, both
  with the size given in hex), one publish. Also `cli/status*.txt`, `cli/lookup.txt`, and `cli/rejected.txt` +
  `scenario.json.rejected`: probes that notary cannot publish (each in its own GUN, not kept).
* `delegations/` (`example.com/delegations`): `targets/releases` (ecdsa-x509 certificate, all paths),
  `targets/releases/qa` (plain ecdsa `PUBLIC KEY`, paths `qa/`), `targets/other` (rsa-x509 2048 certificate,
  paths `other/` and `misc/`), targets in each role and in `targets`. `keys/` holds the openssl-made sources
  (unencrypted private keys, certificates, public key). `cli/list-role-releases-qa.txt` is `list -r targets/releases/qa`.
* `rotated-root/` (`example.com/rotated-root`): `init -p`, add + publish, `key rotate <gun> root` twice →
  `server/1.root.json`, `2.root.json`, `3.root.json`.
* `rotated-keys/` (`example.com/rotated-keys`): `server-before/`, `trust-before/`, `cli/*-before.txt` after
  init + publish; then `key rotate targets`, `key rotate snapshot -r`, `key rotate timestamp -r`, add + publish →
  `server/`, `trust/`, `cli/` (root v4).
* `local-ed25519/` (`example.com/local-ed25519`): server with `trust_service: local` (no signer): timestamp and,
  after `key rotate snapshot -r`, snapshot are ed25519 keys signed with method `eddsa`.
* `tz-offset/` (`example.com/tz-offset/a-gun-longer-than-25-chars`): client in `TZ=Asia/Kolkata`, server in
  `TZ=America/New_York`: `expires` values with `+05:30` and `-05:00`; the long GUN is truncated in `key list`.
* `keys/`: `generate/dev-key.pem` + `generate/dev.pem` (`key generate ecdsa --role targets/dev -o`),
  `export/*.pem` (`key export` of the delegations trust dir: all keys, `--gun`, `--key`), `import-sources/`
  (unencrypted PKCS#8 / SEC1 / PKCS#1-RSA, and an encrypted block with a `path` header),
  `imported-trust/private/` (what `key import` made of them) and `legacy-migrated/notary0.{1,3}/private/`
  (the Go legacy layouts after notary 0.7 opened them). Details and key IDs in `keys/scenario.json`.

The legacy Go fixtures themselves are copied verbatim into `fixtures/go-notary/compatibility/` (see its NOTICE).

## Observations about Notary 0.7's bytes

* Metadata files are the envelope `{"signed":…,"signatures":[…]}` with no whitespace and no trailing newline;
  `signed` keys sorted. The on-wire bytes are Go-stdlib re-escaped: `<`, `>`, `&` appear as `\u003c`, `\u003e`,
  `\u0026` and U+2028/U+2029 as `\u2028`/`\u2029`, while other non-ASCII (é, combining U+0301, emoji) and DEL are
  raw UTF-8; `"` and `\` are `\"` and `\\`. Signatures are over the canonical form (raw characters), not these bytes.
* `expires`: RFC 3339 with nanoseconds and trailing zeros trimmed (e.g. `.3096835Z`, 7 digits), in the signer's
  local zone (`Z` for UTC, `+05:30`, `-05:00`). Root 10 y, targets/delegations/snapshot 3 y, timestamp 14 d.
* Key types: root `ecdsa-x509` (self-signed cert, `CN=<gun>`); targets and client snapshot `ecdsa`; timestamp and
  server-managed snapshot `ecdsa` with the remote signer, `ed25519` with the local trust service. Methods:
  `ecdsa`, `eddsa`, `rsapss` (the RSA delegation).
* `custom` is only publishable when it is already canonical: sorted keys, no `<>&`, no `\u` escapes, integers
  only. Insignificant whitespace is fine (compacted). `{"z":1,"a":"x"}` is rejected by the server with
  `The targets metadata is invalid: valid signatures did not meet threshold for targets` (the client signs its
  unsorted, HTML-escaped bytes; the server verifies a re-canonicalised, sorted, unescaped form), `1.5` with
  `json: unsupported value: 1.5`.
* Names with TAB, 0x01 or LF are staged by `notary add`, but `publish` fails in the client
  (`json: error calling MarshalJSON for type *json.RawMessage: invalid character '\t' in string literal`);
  one bad change blocks the whole publish. Invalid UTF-8 is silently replaced by U+FFFD.
* `init -p` yields targets v2 and snapshot v2 on the server (init writes v1 locally, the publish re-signs).
* `key rotate targets` and `key rotate snapshot -r` delete the old private key from `trust/private`; root
  rotations keep every old root key, and old root certificates stay in `root.json`'s `keys` map.
* `notary list` pads with tabwriter counting runes (not bytes, not display width); a sha512-only target has an
  empty DIGEST cell; `delegation list` continuation rows carry trailing spaces.
* `delegation list` and `key list` print canonical key IDs; the metadata uses TUF key IDs (different for x509 keys).
* `key list` sorts root keys first, then by GUN (delegation keys have none, so they come before targets/snapshot),
  role, key ID; GUN and LOCATION are left-truncated (`...` + last 22 / 37 bytes).
* Rotating a non-root key removes the old key from `root.json`'s `keys`; a root rotation keeps the old root
  certificate there, and the new root is signed by the old and the new root key (two signatures).
* `timestamp.key` (and every key endpoint) is Go stdlib JSON with `keytype`, `keyval.public`, `keyval.private`
  in that (non-canonical) order.
* Legacy keys migrated by 0.7 (`keys/legacy-migrated/`) keep their OpenSSL-encrypted body; the PEM headers are
  written `Proc-Type`, `DEK-Info` first, then `gun`, `role` (Go's pem encoder order).
* The Debian build reports an empty version: `notary version` prints `Version:` and `Git commit:` with no value.

## Per-scenario key IDs (this generation)

EOF
summary
} >"$OUT/README.md"

SIZE_BYTES="$(find "$OUT" "$GO_OUT" -type f -printf '%s\n' | { t=0; while read -r n; do t=$((t + n)); done; echo "$t"; })"
SIZE_KB=$(( (SIZE_BYTES + 1023) / 1024 ))
[ "$SIZE_KB" -lt 1024 ] || die "fixtures are ${SIZE_KB} KiB (limit 1 MiB)"
log "done: $OUT and $GO_OUT (${SIZE_KB} KiB)"
