#!/usr/bin/env bash
# Starts the ORDS emulator and the broker (target/debug) on free loopback ports, with
# /metrics on its own listener, then: `promtool check metrics` on a live scrape, the
# broker's own JSON 404, /metrics absent from the public port, SIGHUP survived, and a
# SIGTERM drain that exits 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${BIN_DIR:-$here/../target/debug}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # url
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

ords=$(free_port)
"$bin/ords-emulator" --listen "127.0.0.1:$ords" --client-id ci_client --client-secret ci-secret-0123456789 \
  >"$work/emulator.log" 2>&1 &
pids+=($!)
umask 077
printf 'ci-secret-0123456789' >"$work/client_secret"
openssl rand -base64 48 >"$work/key_secret"
"$bin/license-broker" keygen --out "$work/signing_key.pem" >/dev/null
public=$(free_port)
metrics=$(free_port)
cat >"$work/broker.toml" <<TOML
ords_base_url = "http://127.0.0.1:$ords/ords/page"
client_id = "ci_client"
client_secret_file = "client_secret"
signing_key_file = "signing_key.pem"
key_secret_file = "key_secret"
listen = "127.0.0.1:$public"
metrics_listen = "127.0.0.1:$metrics"
TOML
wait_for "http://127.0.0.1:$ords/__emulator/stats"
# The preflight first, from another directory: relative paths are the file's.
(cd / && "$bin/license-broker" check --config "$work/broker.toml")
LICENSE_BROKER_LOG_FORMAT=json "$bin/license-broker" serve --config "$work/broker.toml" \
  >"$work/broker.log" 2>&1 &
broker=$!
pids+=("$broker")
wait_for "http://127.0.0.1:$public/readyz"
curl -fsS "http://127.0.0.1:$metrics/metrics" >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt"
grep -q '^broker_build_info{version="' "$work/metrics.txt"
grep -q '^process_resident_memory_bytes ' "$work/metrics.txt"
status=$(curl -s -o "$work/404.json" -w '%{http_code}' "http://127.0.0.1:$public/metrics")
[ "$status" = 404 ] || { echo "/metrics on the public port answered $status" >&2; exit 1; }
grep -q '"error":"not_found"' "$work/404.json"
kill -HUP "$broker"
sleep 0.3
kill -0 "$broker" || { echo "SIGHUP killed the broker" >&2; cat "$work/broker.log" >&2; exit 1; }
kill -TERM "$broker"
wait "$broker"
grep -q '"msg":"SIGHUP received and ignored' "$work/broker.log"
echo "live /metrics: promtool check metrics passed; 404 JSON, SIGHUP ignored, SIGTERM drained"
