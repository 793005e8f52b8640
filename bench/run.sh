#!/usr/bin/env bash
# The benchmark harness, one command: `bench/run.sh`.
#
# Installs its tools when missing (oha from crates.io; hyperfine and valgrind from
# Debian), builds the workspace in release mode, starts the real binaries on 127.0.0.1
# only, measures every figure next to its reference, and writes BENCHMARKS.md at the
# repository root. Every load is bounded (oha -z / -n, a fixed count for bench-load),
# every step has a timeout, and every process started here is stopped on exit.
# A full run takes about five minutes once built.
#
# The headline is the warm path PINNED: the broker on one core (`taskset -c
# $BROKER_CPU`), the load generator on another (`taskset -c $LOAD_CPU`), and the
# signing rate measured on the broker's core in the same run, so /healthz (H), one
# signature (S), the floor 1/(1/H + 1/S) and validate's share of it compare like with
# like. The pinned broker logs at its default level (info: one request line per
# request) to a file, as a deployment's journal or log file would, and both rate
# limits are on (at a ceiling no run here reaches), so their checks are measured.
# The headline's load generator is bench-spin, which polls its sockets instead of
# sleeping: with oha, the broker's core pays a cross-vCPU wake-up of oha's idle
# thread for nearly every answer (see bench/src/bin/bench_spin.rs); oha's figures
# from the same rounds are kept as the secondary ones.
#
# Knobs (environment): QUICK (unset; set: build, the pinned warm path and the
# profile only, report in the results directory, BENCHMARKS.md untouched),
# BROKER_CPU (0), LOAD_CPU (1), PINNED_SECS (4; quick 3), PINNED_ROUNDS (5; quick 3),
# PINNED_CONNECTIONS (50), SIGN_SECS (1.5 per library per round), WARM_SECS (6), WARM_CONNECTIONS (50),
# COLD_RATE (500), COLD_SECS (10), COLD_LATENCY_MS (20), RSS_CONNECTIONS (1000),
# RSS_SECS (10), PROFILE_REQUESTS (2000), SKIP_PROFILE (unset).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

QUICK=${QUICK:-}
BROKER_CPU=${BROKER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# Rounds are short and many: this machine's speed varies for seconds at a time (other
# guests on the host), and each figure is its best round, so more chances at a quiet
# window help every figure alike.
if [ -n "$QUICK" ]; then
  PINNED_SECS=${PINNED_SECS:-3}
  PINNED_ROUNDS=${PINNED_ROUNDS:-3}
else
  PINNED_SECS=${PINNED_SECS:-4}
  PINNED_ROUNDS=${PINNED_ROUNDS:-5}
fi
PINNED_CONNECTIONS=${PINNED_CONNECTIONS:-50}
SIGN_SECS=${SIGN_SECS:-1.5}
# Both limits on for the pinned broker and the profile, far above any rate here.
LIMIT_CEILING=1000000000
WARM_SECS=${WARM_SECS:-6}
WARM_CONNECTIONS=${WARM_CONNECTIONS:-50}
COLD_RATE=${COLD_RATE:-500}
COLD_SECS=${COLD_SECS:-10}
COLD_LATENCY_MS=${COLD_LATENCY_MS:-20}
COLD_LICENSES=100
RSS_CONNECTIONS=${RSS_CONNECTIONS:-1000}
RSS_SECS=${RSS_SECS:-10}
RSS_MAX_CONCURRENT=4096
PROFILE_REQUESTS=${PROFILE_REQUESTS:-2000}
PROFILE_CONNECTIONS=4
HYPERFINE_WARMUP=5
HYPERFINE_RUNS=40

say() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
export PATH="$HOME/.cargo/bin:$PATH"
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v oha >/dev/null; then
  say "installing oha (cargo install oha --locked)"
  cargo install oha --locked
fi
[ -n "$QUICK" ] || command -v hyperfine >/dev/null || apt_install hyperfine
command -v valgrind >/dev/null || apt_install valgrind
command -v taskset >/dev/null || apt_install util-linux
command -v curl >/dev/null || apt_install curl
command -v ss >/dev/null || apt_install iproute2
command -v python3 >/dev/null || apt_install python3

# 1000 client sockets plus 1000 server sockets need more than the usual 1024 fds.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say "building the workspace (--release)"
cargo build --release --workspace --bins
BIN=$ROOT/target/release

RESULTS=$ROOT/target/bench/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Waits until URL answers 200, up to $2 seconds.
wait_ok() {
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "no answer from $1" >&2; return 1; fi
    sleep 0.1
  done
}
status_kib() { awk -v f="$2:" '$1==f {print $2}' "/proc/$1/status"; }

# ---------------------------------------------------------------- machine
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit=$(git rev-parse --short HEAD)"
  if git diff --quiet HEAD -- shared broker desktop-client tests 2>/dev/null; then echo "dirty=no"; else echo "dirty=yes"; fi
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "load_start=$load_start"
  echo "rustc=$(rustc --version)"
  echo "oha=$(oha --version)"
  echo "hyperfine=$(hyperfine --version 2>/dev/null || echo 'not used')"
  echo "quick=${QUICK:+yes}"
  echo "results_dir=${RESULTS#"$ROOT"/}"
} >"$RESULTS/machine.txt"
cat >"$RESULTS/params.txt" <<EOF
broker_cpu=$BROKER_CPU
load_cpu=$LOAD_CPU
pinned_secs=$PINNED_SECS
pinned_rounds=$PINNED_ROUNDS
pinned_connections=$PINNED_CONNECTIONS
sign_secs=$SIGN_SECS
limit_ceiling=$LIMIT_CEILING
warm_secs=$WARM_SECS
warm_connections=$WARM_CONNECTIONS
cold_rate=$COLD_RATE
cold_secs=$COLD_SECS
cold_latency_ms=$COLD_LATENCY_MS
cold_licenses=$COLD_LICENSES
rss_connections=$RSS_CONNECTIONS
rss_secs=$RSS_SECS
rss_max_concurrent=$RSS_MAX_CONCURRENT
profile_requests=$PROFILE_REQUESTS
profile_connections=$PROFILE_CONNECTIONS
hyperfine_warmup=$HYPERFINE_WARMUP
hyperfine_runs=$HYPERFINE_RUNS
EOF

# ---------------------------------------------------------------- the stack
say "starting the ORDS emulator, the reference server and the broker"
CLIENT_ID="benchClientId00000000A.."
CLIENT_SECRET="benchClientSecret0000A.."
SEED=$WORK/seed.toml
cp tests/ords-emulator/seeds/article.toml "$SEED"
for id in $(seq 1001 $((1000 + COLD_LICENSES))); do
  printf '\n[[licenses]]\ncustomer_id = %d\nproduct = "desktop-pro"\nlicense_status = "ACTIVE"\nexpires_at = "+365d"\nupdated_at = "now"\n' "$id" >>"$SEED"
done
"$BIN/ords-emulator" --listen 127.0.0.1:0 --config "$SEED" \
  --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" >"$WORK/emulator.out" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$WORK/emulator.out" 2>/dev/null && break; sleep 0.1; done
EMU=$(sed -n 's/^listening on //p' "$WORK/emulator.out")
[ -n "$EMU" ] || { echo "the emulator did not start" >&2; exit 1; }

"$BIN/bench-ref" 127.0.0.1:0 >"$WORK/ref.out" &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$WORK/ref.out" 2>/dev/null && break; sleep 0.1; done
REF=$(sed -n 's/^listening on //p' "$WORK/ref.out")

umask 077
"$BIN/license-broker" keygen --out "$WORK/signing.pem" >"$WORK/keygen.out"
TRUSTED=$(sed -n 's/^kid=\([^ ]*\) public_key=\(.*\)$/\1:\2/p' "$WORK/keygen.out")
head -c 32 /dev/urandom | base64 >"$WORK/key-secret"
printf '%s' "$CLIENT_SECRET" >"$WORK/client-secret"
umask 022
export LICENSE_BROKER_ORDS_BASE_URL="$EMU/ords/page"
export LICENSE_BROKER_CLIENT_ID="$CLIENT_ID"
export LICENSE_BROKER_CLIENT_SECRET_FILE="$WORK/client-secret"
export LICENSE_BROKER_SIGNING_KEY_FILE="$WORK/signing.pem"
export LICENSE_BROKER_KEY_SECRET_FILE="$WORK/key-secret"
export LICENSE_BROKER_RATE_PER_IP=0
export LICENSE_BROKER_RATE_PER_KEY=0
export LICENSE_BROKER_MAX_CONCURRENT=$RSS_MAX_CONCURRENT
export LICENSE_BROKER_DRAIN_DELAY_SECS=0
export LICENSE_BROKER_SHUTDOWN_GRACE_SECS=2

# start_broker VAR [PREFIX...]: a broker on a free port (production log level, to
# $BROKER_LOG, else /dev/null); sets $VAR to its URL and ${VAR}_PID to its pid.
start_broker() {
  local var=$1; shift
  local port; port=$(free_port)
  LICENSE_BROKER_LISTEN=127.0.0.1:$port "$@" "$BIN/license-broker" serve >"${BROKER_LOG:-/dev/null}" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  printf -v "$var" 'http://127.0.0.1:%s' "$port"
  printf -v "${var}_PID" '%s' "$pid"
  wait_ok "http://127.0.0.1:$port/healthz" 120
}

for id in $(seq 1001 $((1000 + COLD_LICENSES))); do
  "$BIN/license-broker" issue-key --customer-id "$id" >>"$WORK/keys.txt"
  echo "$id" >>"$WORK/ids.txt"
done
KEY=$(head -1 "$WORK/keys.txt")
NONCE=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
printf '{"license_key":"%s","nonce":"%s"}' "$KEY" "$NONCE" >"$WORK/body.json"

validate() {  # validate URL → the HTTP status
  curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    --data-binary "@$WORK/body.json" "$1/v1/license/validate"
}

oha_run() {  # oha_run OUT ARGS... : a bounded oha run, JSON kept
  timeout 300 oha --no-tui --output-format json "${@:2}" >"$RESULTS/$1"
}
post=(-m POST -T application/json -D "$WORK/body.json")
best_of() {  # best_of NAME : copies the round of $RESULTS/NAME.<n>.json with the most 2xx/s to NAME.json
  local best
  best=$(for f in "$RESULTS/$1".[0-9]*.json; do
    printf '%s %s\n' "$(json_field '["summary"]["requestsPerSec"]' <"$f")" "$f"
  done | sort -g | tail -1 | cut -d' ' -f2)
  cp "$best" "$RESULTS/$1.json"
}

# ---------------------------------------------------------------- 1. warm path, pinned
say "1. warm path pinned: broker on core $BROKER_CPU, the load generators on core $LOAD_CPU; ${PINNED_ROUNDS} rounds of validate and /healthz (bench-spin, then oha), bench-sign"
BROKER_LOG=$WORK/pinned-broker.log start_broker PINNED \
  env LICENSE_BROKER_RATE_PER_IP=$LIMIT_CEILING LICENSE_BROKER_RATE_PER_KEY=$LIMIT_CEILING \
  taskset -c "$BROKER_CPU"
[ "$(validate "$PINNED")" = 200 ] || { echo "validate is not 200 on the pinned broker" >&2; exit 1; }
# pinned_run GENERATOR NAME ROUND URL [BODY_FILE]: one measured run of bench-spin
# (the headline: it never sleeps, so the broker's core is not billed for waking it)
# or oha (kept as the secondary figure), its JSON kept and the broker's CPU split.
pinned_run() {
  local gen=$1 name=$2 round=$3 url=$4 body=${5:-} before after t0 t1
  local out=$RESULTS/pinned_$name.$round.json
  # utime and stime of the broker (clock ticks): user-space and kernel work apart.
  before=$(awk '{print $14, $15}' "/proc/$PINNED_PID/stat"); t0=$(date +%s.%N)
  case $gen in
    spin) taskset -c "$LOAD_CPU" timeout 300 "$BIN/bench-spin" "$url" "$PINNED_CONNECTIONS" \
            "$PINNED_SECS" ${body:+"$body"} >"$out" ;;
    oha) taskset -c "$LOAD_CPU" timeout 300 oha --no-tui --output-format json -z "${PINNED_SECS}s" \
           -c "$PINNED_CONNECTIONS" ${body:+-m POST -T application/json -D "$body"} "$url" >"$out" ;;
  esac
  after=$(awk '{print $14, $15}' "/proc/$PINNED_PID/stat"); t1=$(date +%s.%N)
  python3 - "$name" "$round" "$before" "$after" "$t0" "$t1" "$(getconf CLK_TCK)" \
    "$out" >>"$RESULTS/pinned_cpu.txt" <<'PY'
import json, sys
name, rnd, before, after, t0, t1, tck, out = sys.argv[1:]
(u0, s0), (u1, s1) = map(int, before.split()), map(int, after.split())
wall, tck = float(t1) - float(t0), int(tck)
n = sum(json.load(open(out)).get("statusCodeDistribution", {}).values()) or 1
key = f"pinned_{name}_{rnd}"
print(f"{key}_cpu_pct={100 * ((u1 - u0) + (s1 - s0)) / tck / wall:.1f}")
print(f"{key}_user_us={1e6 * (u1 - u0) / tck / n:.2f}")
print(f"{key}_sys_us={1e6 * (s1 - s0) / tck / n:.2f}")
PY
}
# One second of each, not counted: connections, allocator and caches warm.
taskset -c "$LOAD_CPU" timeout 60 "$BIN/bench-spin" "$PINNED/v1/license/validate" "$PINNED_CONNECTIONS" 1 "$WORK/body.json" >/dev/null
taskset -c "$LOAD_CPU" timeout 60 oha --no-tui -z 1s -c "$PINNED_CONNECTIONS" "${post[@]}" "$PINNED/v1/license/validate" >/dev/null
for round in $(seq "$PINNED_ROUNDS"); do
  pinned_run spin validate "$round" "$PINNED/v1/license/validate" "$WORK/body.json"
  pinned_run spin healthz "$round" "$PINNED/healthz"
  pinned_run oha oha_validate "$round" "$PINNED/v1/license/validate" "$WORK/body.json"
  pinned_run oha oha_healthz "$round" "$PINNED/healthz"
  # The signing rate on the broker's core while the broker is idle.
  timeout 120 taskset -c "$BROKER_CPU" "$BIN/bench-sign" "$SIGN_SECS" >"$RESULTS/sign_pinned.$round.txt"
done
best_of pinned_validate
best_of pinned_healthz
best_of pinned_oha_validate
best_of pinned_oha_healthz
best=$(for f in "$RESULTS"/sign_pinned.[0-9]*.txt; do
  printf '%s %s\n' "$(sed -n 's/^broker_per_sec=//p' "$f")" "$f"
done | sort -g | tail -1 | cut -d' ' -f2)
cp "$best" "$RESULTS/sign_pinned.txt"
kill "$PINNED_PID"; wait "$PINNED_PID" 2>/dev/null || true
{
  echo "log_destination=a file ($WORK is $(df --output=fstype "$WORK" | tail -1 | tr -d ' '))"
  echo "log_lines=$(wc -l <"$WORK/pinned-broker.log")"
  echo "log_request_lines=$(grep -c 'license_broker::request' "$WORK/pinned-broker.log" || true)"
  echo "log_bytes=$(stat -c %s "$WORK/pinned-broker.log")"
  echo "answered=$(python3 - "$RESULTS" <<'PY'
import glob, json, sys
print(sum(sum(json.load(open(f)).get("statusCodeDistribution", {}).values())
          for f in glob.glob(sys.argv[1] + "/pinned_*.[0-9]*.json")))
PY
)"
} >"$RESULTS/pinned_log.txt"
grep -m1 'license/validate' "$WORK/pinned-broker.log" >"$RESULTS/pinned_log_sample.txt" || true
grep -m1 'healthz' "$WORK/pinned-broker.log" >>"$RESULTS/pinned_log_sample.txt" || true
rm -f "$WORK/pinned-broker.log"

if [ -z "$QUICK" ]; then
start_broker WARM
[ "$(validate "$WARM")" = 200 ] || { echo "validate is not 200 on the warm broker" >&2; exit 1; }

# ---------------------------------------------------------------- 1b. warm path, unpinned
say "1b. warm path unpinned: validate, /healthz, bench-ref (${WARM_SECS}s each, ${WARM_CONNECTIONS} connections)"
# Two interleaved rounds; the report keeps each endpoint's better one, so a burst of
# someone else's work on the shared cores hurts one round, not the comparison.
for round in 1 2; do
  oha_run "warm_validate.$round.json" -z "${WARM_SECS}s" -c "$WARM_CONNECTIONS" "${post[@]}" "$WARM/v1/license/validate"
  oha_run "warm_healthz.$round.json" -z "${WARM_SECS}s" -c "$WARM_CONNECTIONS" "$WARM/healthz"
  oha_run "warm_ref.$round.json" -z "${WARM_SECS}s" -c "$WARM_CONNECTIONS" "$REF/json"
done
for name in validate healthz ref; do best_of "warm_$name"; done

# ---------------------------------------------------------------- 4. client start-up
say "4. client start-up (hyperfine)"
CLIENT_HOME=$WORK/client
mkdir -p "$CLIENT_HOME"/{config,data,cache,state}
export XDG_CONFIG_HOME=$CLIENT_HOME/config XDG_DATA_HOME=$CLIENT_HOME/data
export XDG_CACHE_HOME=$CLIENT_HOME/cache XDG_STATE_HOME=$CLIENT_HOME/state
export LICENSE_CHECK_KEYSTORE=file LICENSE_CHECK_TRUSTED_KEYS=$TRUSTED
export LICENSE_CHECK_BROKER_URL=$WARM
"$BIN/license-check" activate "$KEY" >/dev/null 2>&1
"$BIN/license-check" status --refresh >/dev/null 2>&1 || { echo "license-check status --refresh failed" >&2; exit 1; }
timeout 300 hyperfine -N --style basic --warmup "$HYPERFINE_WARMUP" --min-runs "$HYPERFINE_RUNS" \
  --export-json "$RESULTS/startup_online.json" \
  "$BIN/license-check status --refresh" \
  "curl -s -o /dev/null -X POST -H content-type:application/json --data-binary @$WORK/body.json $WARM/v1/license/validate" \
  >"$RESULTS/startup_online.txt" 2>&1
timeout 300 hyperfine -N --style basic --warmup "$HYPERFINE_WARMUP" --min-runs 100 \
  --export-json "$RESULTS/startup_offline.json" \
  "$BIN/license-check status --offline" >"$RESULTS/startup_offline.txt" 2>&1

# ---------------------------------------------------------------- 5. memory
say "5. broker memory at ${RSS_CONNECTIONS} connections"
start_broker FRESH
validate "$FRESH" >/dev/null
idle_kib=$(status_kib "$FRESH_PID" VmRSS)
oha_run rss_load.json -z "${RSS_SECS}s" -c "$RSS_CONNECTIONS" "${post[@]}" "$FRESH/v1/license/validate" &
oha_pid=$!
sleep $(( RSS_SECS / 2 ))
seen=$(ss -Htn state established "( sport = :${FRESH##*:} )" | wc -l)
wait "$oha_pid"
{
  echo "idle_kib=$idle_kib"
  echo "hwm_kib=$(status_kib "$FRESH_PID" VmHWM)"
  echo "rss_after_kib=$(status_kib "$FRESH_PID" VmRSS)"
  echo "connections_seen=$seen"
} >"$RESULTS/rss.txt"
kill "$FRESH_PID"; wait "$FRESH_PID" 2>/dev/null || true
fi  # not QUICK

# ---------------------------------------------------------------- 3. economy
if [ -z "$QUICK" ]; then
  say "3. token and ORDS economy (bench-economy)"
  timeout 120 "$BIN/bench-economy" 2000 20 32 >"$RESULTS/economy.txt"
fi

# ---------------------------------------------------------------- profile
# Whole-life profiles of two fresh brokers, one serving only validate and one only
# /healthz, the same number of requests each: start-up (about 1.7 M instructions) is
# spread over the requests. Instruction counts do not depend on the machine's load.
profile_run() {  # profile_run NAME PATH [oha args...]
  local out=$WORK/callgrind.$1
  # Configured as the pinned broker: both limits on, the log to a file.
  BROKER_LOG=$WORK/profile-broker.log start_broker PROF \
    env LICENSE_BROKER_RATE_PER_IP=$LIMIT_CEILING LICENSE_BROKER_RATE_PER_KEY=$LIMIT_CEILING \
    valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no
  timeout 300 oha --no-tui -n "$PROFILE_REQUESTS" -c "$PROFILE_CONNECTIONS" "${@:3}" \
    "$PROF$2" >"$RESULTS/profile_$1_oha.txt"
  kill "$PROF_PID"; wait "$PROF_PID" 2>/dev/null || true
  callgrind_annotate --auto=no --threshold=100 --inclusive=no "$out" >"$RESULTS/profile_$1_self.txt" 2>/dev/null
  callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$out" >"$RESULTS/profile_$1_incl.txt" 2>/dev/null
}
if [ -z "${SKIP_PROFILE:-}" ]; then
  say "profile: callgrind, ${PROFILE_REQUESTS} requests to validate, then to /healthz"
  profile_run validate /v1/license/validate "${post[@]}"
  profile_run healthz /healthz
fi

# ---------------------------------------------------------------- 2. cold path
if [ -z "$QUICK" ]; then
say "2. cold path: ${COLD_RATE} req/s, emulator +${COLD_LATENCY_MS} ms, verdict TTL 0"
LICENSE_BROKER_VERDICT_TTL_SECS=0 LICENSE_BROKER_NEGATIVE_TTL_SECS=0 start_broker COLD
validate "$COLD" >/dev/null   # the broker's token is fetched before the latency fault
TOKEN=$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
  "$EMU/ords/page/oauth/token" | json_field '["access_token"]')
curl -fsS -o /dev/null -X POST -H 'content-type: application/json' \
  --data "{\"latency_ms\": $COLD_LATENCY_MS}" "$EMU/__emulator/faults"
timeout 120 "$BIN/bench-load" direct "$EMU/ords/page/customers/validation/{id}" "$WORK/ids.txt" \
  "$TOKEN" "$COLD_RATE" "$COLD_SECS" >"$RESULTS/cold_direct.json"
before=$(curl -fsS "$EMU/__emulator/stats")
timeout 120 "$BIN/bench-load" broker "$COLD/v1/license/validate" "$WORK/keys.txt" \
  "$COLD_RATE" "$COLD_SECS" >"$RESULTS/cold_broker.json"
after=$(curl -fsS "$EMU/__emulator/stats")
curl -fsS -o /dev/null -X DELETE "$EMU/__emulator/faults"
{
  echo "validations=$(json_field '["sent"]' <"$RESULTS/cold_broker.json")"
  echo "ords_calls=$(( $(json_field '["resource_requests"]' <<<"$after") - $(json_field '["resource_requests"]' <<<"$before") ))"
  echo "token_requests=$(( $(json_field '["token_requests"]' <<<"$after") - $(json_field '["token_requests"]' <<<"$before") ))"
} >"$RESULTS/cold.txt"
fi  # not QUICK

# ---------------------------------------------------------------- report
[ -f bench/analysis.md ] && cp bench/analysis.md "$RESULTS/analysis.md"
{
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "elapsed_secs=$(( $(date +%s) - started ))"
} >>"$RESULTS/machine.txt"
if [ -n "$QUICK" ]; then
  say "quick run: writing $RESULTS/BENCHMARKS.md (the repository's BENCHMARKS.md is untouched)"
  "$BIN/bench-report" "$RESULTS" "$RESULTS/BENCHMARKS.md"
else
  say "writing BENCHMARKS.md"
  "$BIN/bench-report" "$RESULTS" "$ROOT/BENCHMARKS.md"
fi
