#!/usr/bin/env bash
# Side-by-side benchmarks: Notary 0.7 (Debian's notary, notary-server, notary-signer) against
# Notarius (notarius, notarius-server, notarius-signer), on loopback, on the same machine, in
# one run. Prints a table of medians and Notarius/Notary ratios (docs/performance.md has the
# latest one and what bounds each figure). Not part of the test suite.
#
#   usage: scripts/bench.sh [--quick] [--keep]
#     --quick   shorter measurements, 1,000 targets only (about 6 minutes instead of about 20)
#     --keep    keep the work directory (logs, wrk and hyperfine output, results.tsv)
#   env:  BENCH_REPS (default 3), BENCH_SECONDS (wrk/publish seconds per measurement; 10, quick 4)
#         BENCH_CLIENT_SERVER  notarius (default) | notary: the server both CLIs talk to
#         NOTARY_PEER_SCRIPTS  where start.sh/stop.sh live (default ../shared/peer, /work/shared/peer)
#
# What runs: shared/peer/start.sh starts four stacks at once, each server + signer (mutual TLS
# gRPC, server-managed snapshot and timestamp keys): Notary on PostgreSQL, Notarius on
# PostgreSQL (each with its own private PostgreSQL), Notary on memory, Notarius on memory. Every
# measurement is repeated BENCH_REPS times, the stacks taking turns within a repetition so that
# the machine's other load falls on both alike. Everything started here is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0 KEEP=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done
REPS="${BENCH_REPS:-3}"
if [ "$QUICK" = 1 ]; then SECS="${BENCH_SECONDS:-4}"; SIZES="1000"; HF_RUNS=5
else SECS="${BENCH_SECONDS:-10}"; SIZES="1000 10000"; HF_RUNS=10; fi
CLIENT_SERVER="${BENCH_CLIENT_SERVER:-notarius}"
CONNS=16
PEER="${NOTARY_PEER_SCRIPTS:-$ROOT/../shared/peer}"
[ -x "$PEER/start.sh" ] || PEER=/work/shared/peer
[ -x "$PEER/start.sh" ] || { echo "shared/peer/start.sh not found (set NOTARY_PEER_SCRIPTS)" >&2; exit 1; }

log() { echo "[bench $(date +%T)] $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------
need=()
for c in notary notary-server notary-signer wrk hyperfine jq curl openssl python3; do
  command -v "$c" >/dev/null 2>&1 || need+=("$c")
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  pkgs=()
  for c in "${need[@]}"; do
    case "$c" in notary-server|notary-signer) pkgs+=(notary) ;; *) pkgs+=("$c") ;; esac
  done
  log "installing ${pkgs[*]}"
  SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

log "building release binaries"
cd "$ROOT"
cargo build --release -q -p notarius-server -p notarius-cli
HAVE_SIGNER=0
if [ -d crates/notarius-signer ] && cargo build --release -q -p notarius-signer; then HAVE_SIGNER=1; fi
(cd benches && cargo build --release -q --bin publish_load --bin bare_tls)
OUR_SERVER="$ROOT/target/release/notarius-server"
OUR_SIGNER="$ROOT/target/release/notarius-signer"
OUR_CLI="$ROOT/target/release/notarius"
LOAD="$ROOT/benches/target/release/publish_load"
BARE="$ROOT/benches/target/release/bare_tls"

# ---------------------------------------------------------------------------------------------
# Work directory, stacks, cleanup
# ---------------------------------------------------------------------------------------------
W="$(mktemp -d "${TMPDIR:-/tmp}/notarius-bench.XXXXXX")"
chmod 755 "$W"   # PostgreSQL (run as `postgres` when we are root) must traverse it
RES="$W/results.tsv"; : >"$RES"
STACKS=()
BARE_PIDS=()
cleanup() {
  set +e
  for p in "${BARE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for s in "${STACKS[@]}"; do "$PEER/stop.sh" "$W/$s" >/dev/null 2>&1; done
  if [ "$KEEP" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }   # rec METRIC notary|notarius|bare VALUE
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START="$(loadavg)"

start_stack() {  # start_stack NAME notary|notarius postgres|memory
  local name="$1" impl="$2" st="$3" d="$W/$1"
  mkdir -p "$d"
  local env=(NOTARY_PEER_STORAGE="$st" NOTARY_PEER_SERVER_PORT="$(free_port)"
             NOTARY_PEER_SIGNER_PORT="$(free_port)" NOTARY_PEER_PG_PORT="$(free_port)")
  if [ "$impl" = notarius ]; then
    env+=(NOTARY_PEER_SERVER_BIN="$OUR_SERVER")
    if [ "$HAVE_SIGNER" = 1 ]; then env+=(NOTARY_PEER_SIGNER_BIN="$OUR_SIGNER")
    else env+=(NOTARY_PEER_TRUST=local); fi
  fi
  STACKS+=("$name")
  env "${env[@]}" "$PEER/start.sh" "$d" >"$d.start.log" 2>&1 || { cat "$d.start.log" >&2; exit 1; }
  log "$name: $impl on $st at $(sed -n 's/^NOTARY_PEER_URL=//p' "$d/peer.env")"
}
url_of() { sed -n 's/^NOTARY_PEER_URL=//p' "$W/$1/peer.env"; }
impl_of() { case "$1" in notary-*) echo notary ;; *) echo notarius ;; esac; }
storage_of() { case "$1" in *-pg) echo postgres ;; *-sqlite) echo sqlite ;; *) echo memory ;; esac; }

start_stack notary-pg notary postgres
start_stack notarius-pg notarius postgres
start_stack notary-mem notary memory
start_stack notarius-mem notarius memory
# Notarius's embedded default (one process, SQLite); notary-server 0.7 cannot run on SQLite
# (shared/peer/start.sh), so the table sets it beside Notary's fastest store, memory.
start_stack notarius-sqlite notarius sqlite
ALL="notary-pg notarius-pg notary-mem notarius-mem notarius-sqlite"
CA="$W/notary-pg/certs/ca.crt"   # each stack has its own CA
ca_of() { echo "$W/$1/certs/ca.crt"; }

# ---------------------------------------------------------------------------------------------
# GET: a repository with 100 targets per stack, then wrk on timestamp.json and targets.json
# ---------------------------------------------------------------------------------------------
GUN_GET="bench.invalid/get/w0"
for s in $ALL; do
  "$LOAD" --url "$(url_of "$s")" --ca "$(ca_of "$s")" --workers 1 --seconds 0 \
          --init-targets 100 --prefix bench.invalid/get >/dev/null
done
# The transport limit: a bare responder serving the same bytes, one for each file GET measures.
start_bare() {  # start_bare FILE VAR: sets VAR to its URL (no subshell, so cleanup knows the pid)
  "$BARE" "$W/notarius-pg/certs/server.crt" "$W/notarius-pg/certs/server.key" "$1" \
    "127.0.0.1:$(free_port)" >/dev/null 2>"$1.bare.log" &
  BARE_PIDS+=($!)
  for _ in $(seq 1 50); do grep -qs listening "$1.bare.log" && break; sleep 0.1; done
  local url; url="$(sed -n 's/.*listening on //p' "$1.bare.log")"
  [ -n "$url" ] || { cat "$1.bare.log" >&2; exit 1; }
  printf -v "$2" '%s' "$url"
}
for role in timestamp targets; do
  curl -fsS --cacert "$(ca_of notarius-pg)" -o "$W/$role.json" "$(url_of notarius-pg)/v2/$GUN_GET/_trust/tuf/$role.json"
done
start_bare "$W/timestamp.json" BARE_URL
start_bare "$W/targets.json" BARE_TARGETS_URL

# wrk_run LABEL URL -> "req/s p99_ms"
wrk_run() {
  local out="$W/wrk.$1.$RANDOM.txt"
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$2" >"$out" 2>&1
  if grep -q 'Non-2xx\|Socket errors' "$out"; then
    # A failing server is a finding, not a reason to lose the other figures.
    echo "$1: $(grep -h 'Non-2xx\|Socket errors' "$out" | xargs) (of $(awk '/requests in/ {print $1}' "$out"))" >>"$W/failures.txt"
    log "wrk reported errors for $2 (see $out)"
    echo "- -"; return
  fi
  local rps p99
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  p99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' "$out")"
  echo "$rps $p99"
}

log "warming up"
for s in $ALL; do wrk -t2 -c"$CONNS" -d2s "$(url_of "$s")/v2/$GUN_GET/_trust/tuf/timestamp.json" >/dev/null; done
wrk -t2 -c"$CONNS" -d2s "$BARE_URL/" >/dev/null
wrk -t2 -c"$CONNS" -d2s "$BARE_TARGETS_URL/" >/dev/null
for rep in $(seq 1 "$REPS"); do
  log "GET, repetition $rep/$REPS"
  for role in timestamp targets; do
    for s in $ALL; do
      read -r rps p99 < <(wrk_run "$s.$role" "$(url_of "$s")/v2/$GUN_GET/_trust/tuf/$role.json")
      st="$(storage_of "$s")"
      [ "$rps" != - ] || continue
      rec "get_${role}_rps_$st" "$(impl_of "$s")" "$rps"
      rec "get_${role}_p99_$st" "$(impl_of "$s")" "$p99"
    done
  done
  read -r rps p99 < <(wrk_run bare "$BARE_URL/")
  [ "$rps" = - ] || { rec bare_rps bare "$rps"; rec bare_p99 bare "$p99"; }
  read -r rps p99 < <(wrk_run bare-targets "$BARE_TARGETS_URL/")
  [ "$rps" = - ] || rec bare_targets_rps bare "$rps"
done
LOAD_GET="$(loadavg)"

# ---------------------------------------------------------------------------------------------
# Publish: 16 workers, one new repository each, successive targets updates
# ---------------------------------------------------------------------------------------------
for rep in $(seq 1 "$REPS"); do
  log "publish, repetition $rep/$REPS"
  for s in $ALL; do
    if ! out="$("$LOAD" --url "$(url_of "$s")" --ca "$(ca_of "$s")" --workers 16 --seconds "$SECS" \
                     --prefix "bench.invalid/pub$rep" 2>>"$W/publish.err")"; then
      echo "publish $s rep $rep: $(tail -1 "$W/publish.err")" >>"$W/failures.txt"; continue
    fi
    echo "$s $out" >>"$W/publish.txt"
    st="$(storage_of "$s")"
    rec "publish_ups_$st" "$(impl_of "$s")" "$(sed -n 's/.*updates_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
    rec "publish_p99_$st" "$(impl_of "$s")" "$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")"
    rec "publish_mb_$st" "$(impl_of "$s")" "$(sed -n 's/.*uploaded_mb=\([0-9.]*\).*/\1/p' <<<"$out")"
  done
done
LOAD_PUB="$(loadavg)"

# Peak RSS after the GET and publish load.
for s in $ALL; do
  st="$(storage_of "$s")"
  for p in server signer; do
    [ -s "$W/$s/$p.pid" ] || continue
    if ! kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$(cat "$W/$s/$p.pid")/status" 2>/dev/null)" || [ -z "$kb" ]; then
      # A crashed server is a finding (notary-server 0.7 has died of "concurrent map read and
      # map write" under the publish load): say so and keep the other figures.
      echo "$p of $s is no longer running after the load ($(grep -m1 -h 'fatal error\|panic' "$W/$s"/logs/*.log 2>/dev/null || echo 'no fatal line in its log'))" >>"$W/failures.txt"
      continue
    fi
    # Tenths of a MiB: whole MiB made a ratio near 0.5 ambiguous (18/36 could be 0.49-0.53).
    rec "rss_${p}_$st" "$(impl_of "$s")" "$(awk -v k="$kb" 'BEGIN {printf "%.1f", k / 1024}')"
  done
done

# ---------------------------------------------------------------------------------------------
# Client: both CLIs against the same server
# ---------------------------------------------------------------------------------------------
CS="${CLIENT_SERVER}-pg"
CURL="$(url_of "$CS")"; CCA="$(ca_of "$CS")"
export NOTARY_ROOT_PASSPHRASE=bench-root-pass NOTARY_TARGETS_PASSPHRASE=bench-targets-pass \
       NOTARY_SNAPSHOT_PASSPHRASE=bench-snapshot-pass NOTARY_DELEGATION_PASSPHRASE=bench-deleg-pass
mkdir -p "$W/client"
cli() {  # cli notary|notarius TRUSTDIR ARGS...
  local which="$1" td="$2"; shift 2
  local bin=notary; [ "$which" = notarius ] && bin="$OUR_CLI"
  "$bin" -s "$CURL" --tlscacert "$CCA" -d "$td" "$@"
}
export -f cli
export CURL CCA OUR_CLI
now_s() { date +%s.%N; }

log "client: init -p"
for c in notary notarius; do
  mkdir -p "$W/client/init-$c"; echo 0 >"$W/client/init-$c/n"
done
hf_cmd() {  # each run initialises a new GUN (the counter file keeps them apart)
  echo "n=\$((\$(cat $W/client/init-$1/n)+1)); echo \$n >$W/client/init-$1/n; cli $1 $W/client/init-$1/trust init -p bench.invalid/init-$1-\$n >/dev/null"
}
for rep in $(seq 1 "$REPS"); do
  hyperfine -N --style none --warmup 1 --runs "$HF_RUNS" --export-json "$W/hf.init.$rep.json" \
    -n notary "bash -c '$(hf_cmd notary)'" -n notarius "bash -c '$(hf_cmd notarius)'" >/dev/null
  for c in notary notarius; do
    rec init_p_s "$c" "$(jq -r --arg c "$c" '.results[] | select(.command == $c) | .median' "$W/hf.init.$rep.json")"
  done
done

# Target lists: notarius reads `name<TAB>sha256:<hex>:<size>` lines, notary gets one addhash each.
for n in $SIZES; do
  python3 - "$n" "$W/client/list.$n" <<'PY'
import hashlib, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        name = f"app/v{i:06d}"
        f.write(f"{name}\tsha256:{hashlib.sha256(name.encode()).hexdigest()}:{1000 + i}\n")
PY
done

LIST_GUN=""
for n in $SIZES; do
  # Notary's 10,000 separate `addhash` processes take minutes: once in a full run, not REPS times.
  nreps="$REPS"; [ "$n" -ge 10000 ] && nreps=1
  for rep in $(seq 1 "$REPS"); do
    for c in notary notarius; do
      [ "$c" = notary ] && [ "$rep" -gt "$nreps" ] && continue
      log "client: add+publish $n targets, $c, repetition $rep/$REPS"
      td="$W/client/ap-$c-$n-$rep"; gun="bench.invalid/ap-$c-$n-$rep"
      cli "$c" "$td" init -p "$gun" >/dev/null
      t0="$(now_s)"
      if [ "$c" = notarius ]; then
        cli notarius "$td" add "$gun" --from-file "$W/client/list.$n" >/dev/null
      else
        while IFS=$'\t' read -r name h; do
          IFS=: read -r _ hex size <<<"$h"
          cli notary "$td" addhash "$gun" "$name" "$size" --sha256 "$hex" >/dev/null
        done <"$W/client/list.$n"
      fi
      t1="$(now_s)"
      cli "$c" "$td" publish "$gun" >/dev/null
      t2="$(now_s)"
      rec "add_publish_${n}_s" "$c" "$(echo "$t2 - $t0" | bc -l)"
      rec "stage_${n}_s" "$c" "$(echo "$t1 - $t0" | bc -l)"
      rec "publish_${n}_s" "$c" "$(echo "$t2 - $t1" | bc -l)"
      LIST_GUN="$gun"
    done
  done
done

# list: the largest repository just published, cold (empty trust directory: TOFU, every file
# fetched) and warm (cache present; the client still checks the timestamp).
LIST_N="${SIZES##* }"
log "client: list of $LIST_N targets ($LIST_GUN)"
for rep in $(seq 1 "$REPS"); do
  for c in notary notarius; do mkdir -p "$W/client/list-$c"; done
  hyperfine -N --style none --runs "$HF_RUNS" --export-json "$W/hf.cold.$rep.json" \
    --prepare "rm -rf $W/client/list-notary/tuf $W/client/list-notarius/tuf" \
    -n notary "bash -c 'cli notary $W/client/list-notary list $LIST_GUN >/dev/null'" \
    -n notarius "bash -c 'cli notarius $W/client/list-notarius list $LIST_GUN >/dev/null'" >/dev/null
  hyperfine -N --style none --warmup 1 --runs "$HF_RUNS" --export-json "$W/hf.warm.$rep.json" \
    -n notary "bash -c 'cli notary $W/client/list-notary list $LIST_GUN >/dev/null'" \
    -n notarius "bash -c 'cli notarius $W/client/list-notarius list $LIST_GUN >/dev/null'" >/dev/null
  for c in notary notarius; do
    rec "list_cold_${LIST_N}_s" "$c" "$(jq -r --arg c "$c" '.results[] | select(.command == $c) | .median' "$W/hf.cold.$rep.json")"
    rec "list_warm_${LIST_N}_s" "$c" "$(jq -r --arg c "$c" '.results[] | select(.command == $c) | .median' "$W/hf.warm.$rep.json")"
  done
done
[ "$(cli notarius "$W/client/list-notarius" list "$LIST_GUN" | wc -l)" -ge "$LIST_N" ] \
  || { echo "notarius list printed too few targets" >&2; exit 1; }
LOAD_END="$(loadavg)"

for s in "${STACKS[@]}"; do "$PEER/stop.sh" "$W/$s" >/dev/null 2>&1 || true; done
STACKS=()

# ---------------------------------------------------------------------------------------------
# Signer: sign RPCs/s per key type, with the signer engineer's own tool when it exists
# ---------------------------------------------------------------------------------------------
SIGNER_NOTE=""
if [ "$HAVE_SIGNER" != 1 ]; then
  SIGNER_NOTE="signer: skipped, notarius-signer did not build"
elif [ -x scripts/bench-signer.sh ]; then
  log "signer: scripts/bench-signer.sh"
  if scripts/bench-signer.sh "$([ "$QUICK" = 1 ] && echo 2 || echo 4)" >"$W/signer.txt" 2>"$W/signer.err"; then
    SIGNER_NOTE="signer: scripts/bench-signer.sh (one mTLS HTTP/2 connection, 32 sign RPCs in flight)"
    while read -r label st alg ops _; do
      case "$label" in
        raw-notarius-crypto) rec "sign_raw_$alg" notarius "$ops" ;;
        notary-signer) rec "sign_rpc_${alg}_$st" notary "$ops" ;;
        notarius-signer) rec "sign_rpc_${alg}_$st" notarius "$ops" ;;
      esac
    done < <(grep -v '^#' "$W/signer.txt")
  else
    SIGNER_NOTE="signer: scripts/bench-signer.sh failed ($(tail -1 "$W/signer.err"))"
  fi
else
  SIGNER_NOTE="signer: skipped, no scripts/bench-signer.sh to drive the signer's gRPC API"
fi

# ---------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------
echo
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "load average $LOAD_START (start), $LOAD_GET (after GET), $LOAD_PUB (after publish), $LOAD_END (end)"
echo "Settings: $REPS repetitions, ${SECS}s per wrk/publish measurement, wrk -t2 -c$CONNS, publish 16 workers;" \
     "client figures against $CLIENT_SERVER-server on PostgreSQL;" \
     "Notarius signer: $([ "$HAVE_SIGNER" = 1 ] && echo notarius-signer || echo 'none (trust_service local)')"
echo
python3 - "$RES" "$SIGNER_NOTE" <<'PY'
import statistics, sys
from collections import defaultdict
res = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    m, side, v = line.rstrip("\n").split("\t")
    if v:
        res[m][side].append(float(v))
def med(m, side):
    v = res.get(m, {}).get(side)
    return statistics.median(v) if v else None
def n(m, side):
    return len(res.get(m, {}).get(side, []))
def fmt(x, unit):
    if x is None: return "–"
    if unit == "s": return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"
    if unit == "ms": return f"{x:.2f} ms" if x < 10 else f"{x:.0f} ms"
    if unit == "MiB": return f"{x:.1f} MiB" if x < 100 else f"{x:.0f} MiB"
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"
rows = []
def row(label, m, unit, better, target="", note="", m_notary=None):
    a, b = med(m_notary or m, "notary"), med(m, "notarius")
    if a is None and b is None: return
    ratio = f"{b / a:.2f}×" if a and b is not None else "–"
    reps = f"{n(m_notary or m,'notary')}/{n(m,'notarius')}"
    rows.append((label, fmt(a, unit), fmt(b, unit), ratio, better, target, reps, note))
for st, name in (("postgres", "PostgreSQL"), ("memory", "memory")):
    row(f"GET timestamp.json, req/s ({name})", f"get_timestamp_rps_{st}", "", "higher", "≥ 5×")
    row(f"GET timestamp.json, p99 ({name})", f"get_timestamp_p99_{st}", "ms", "lower")
    row(f"GET targets.json (100 targets), req/s ({name})", f"get_targets_rps_{st}", "", "higher", "≥ 5×")
    row(f"GET targets.json, p99 ({name})", f"get_targets_p99_{st}", "ms", "lower")
for role, what in (("timestamp", "timestamp.json"), ("targets", "targets.json")):
    row(f"GET {what}, req/s (Notarius SQLite vs Notary memory)", f"get_{role}_rps_sqlite", "", "higher", "≥ 5×",
        "notary-server cannot use SQLite", m_notary=f"get_{role}_rps_memory")
    row(f"GET {what}, p99 (Notarius SQLite vs Notary memory)", f"get_{role}_p99_sqlite", "ms", "lower",
        m_notary=f"get_{role}_p99_memory")
for st, name in (("postgres", "PostgreSQL"), ("memory", "memory")):
    row(f"publish, updates/s ({name})", f"publish_ups_{st}", "", "higher", "≥ 3×", "server signs snapshot + timestamp via its signer")
    row(f"publish, p99 ({name})", f"publish_p99_{st}", "ms", "lower")
row("publish, updates/s (Notarius SQLite vs Notary memory)", "publish_ups_sqlite", "", "higher", "≥ 3×", m_notary="publish_ups_memory")
row("init -p", "init_p_s", "s", "lower", "≤ 0.33×")
for k in ("1000", "10000"):
    row(f"add+publish {int(k):,} targets", f"add_publish_{k}_s", "s", "lower", "≤ 0.05×" if k == "10000" else "",
        f"notary: {int(k):,} × `notary addhash`, then publish; notarius: one `add --from-file`, then publish")
    row(f"  of which staging", f"stage_{k}_s", "s", "lower")
    row(f"  of which publish", f"publish_{k}_s", "s", "lower")
for k in ("10000", "1000"):
    if res.get(f"list_cold_{k}_s"):
        row(f"list {int(k):,} targets, cold", f"list_cold_{k}_s", "s", "lower", "≤ 0.2×", "empty trust dir: TOFU root, all files fetched")
        row(f"list {int(k):,} targets, warm", f"list_warm_{k}_s", "s", "lower")
        break
for st, name in (("postgres", "PostgreSQL"), ("memory", "memory"), ("sqlite", "Notarius SQLite vs Notary memory")):
    ref = "memory" if st == "sqlite" else st
    row(f"server peak RSS ({name})", f"rss_server_{st}", "MiB", "lower", "≤ 0.5×", "VmHWM after GET + publish load", m_notary=f"rss_server_{ref}")
    row(f"signer peak RSS ({name})", f"rss_signer_{st}", "MiB", "lower", m_notary=f"rss_signer_{ref}")
    if st == "memory":
        # The memory store keeps every file it is sent and the faster server is sent more in
        # the same seconds, so its resident set is also given per MB the publish loads sent it.
        for side in ("notary", "notarius"):
            mb = sum(res.get("publish_mb_memory", {}).get(side, []))
            rss = med("rss_server_memory", side)
            if mb and rss is not None:
                res["rss_server_per_mb_memory"][side].append(rss / mb)
        row("server peak RSS per MB of targets uploaded (memory)", "rss_server_per_mb_memory", "", "lower", "",
            "RSS MiB / MB of targets files all the publish loads sent it")
print("| measurement | Notary 0.7 (median) | Notarius (median) | Notarius/Notary | better | target | n (notary/notarius) | note |")
print("|---|---:|---:|---:|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
bare = statistics.median(res["bare_rps"]["bare"]) if res.get("bare_rps") else None
if bare:
    print(f"Transport limit (bare hyper + tokio-rustls, same timestamp bytes, same TLS certificate, same wrk): "
          f"median {bare:,.0f} req/s, p99 {statistics.median(res['bare_p99']['bare']):.2f} ms.")
    for st in ("postgres", "memory", "sqlite"):
        ours = med(f"get_timestamp_rps_{st}", "notarius")
        if ours: print(f"- notarius GET timestamp.json ({st}) = {100 * ours / bare:.0f}% of it (target ≥ 80%)")
bare_t = statistics.median(res["bare_targets_rps"]["bare"]) if res.get("bare_targets_rps") else None
if bare_t:
    print(f"Transport limit for targets.json (the same, serving the targets.json bytes): median {bare_t:,.0f} req/s.")
    for st in ("postgres", "memory", "sqlite"):
        ours = med(f"get_targets_rps_{st}", "notarius")
        ref = med(f"get_targets_rps_{'memory' if st == 'sqlite' else st}", "notary")
        if ours and ref:
            print(f"- notarius GET targets.json ({st}) = {100 * ours / bare_t:.0f}% of it; 5× notary-server"
                  f" would be {5 * ref:,.0f} req/s = {100 * 5 * ref / bare_t:.0f}% of it")
print()
sig = sorted(m for m in res if m.startswith("sign_rpc_"))
if sig:
    print("| signer sign RPCs/s | notary-signer | notarius-signer | ratio | notarius-signer / raw notarius-crypto (target ≥ 70%) |")
    print("|---|---:|---:|---:|---:|")
    for m in sig:
        alg = m[len("sign_rpc_"):].rsplit("_", 1)[0]
        a, b, raw = med(m, "notary"), med(m, "notarius"), med(f"sign_raw_{alg}", "notarius")
        print(f"| {m[len('sign_rpc_'):]} | {fmt(a,'')} | {fmt(b,'')} | {b/a:.2f}× | {100*b/raw:.0f}% of {raw:,.0f}/s |" if a and b and raw else f"| {m} | {a} | {b} | – | – |")
print(sys.argv[2])
PY
[ ! -s "$W/failures.txt" ] || { echo; echo "Failed measurements (left out of the medians):"; sed 's/^/- /' "$W/failures.txt"; }
