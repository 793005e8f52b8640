# Sourced by the scripts that test other languages and the browser against the real
# stack: `start_license_stack WORK TARGET` starts TARGET/license-stack (the ORDS emulator
# and a broker on loopback), waits for the JSON line it prints, and exports what the
# suites read: LC_TEST_BROKER_URL, LC_TEST_TRUSTED_KEYS, LC_TEST_KEY (customer 1),
# LC_TEST_FORGED_KEY, LC_TEST_TWO_SEAT_KEY (customer 4) and LC_TEST_FLOATING_KEY
# (customer 7). The stack stops when the calling script exits, however it exits.
# shellcheck shell=bash

start_license_stack() {
  local work=$1 target=$2
  # license-stack serves until its stdin closes: hold a pipe open on fd 3, closed (and
  # the stack awaited) by the EXIT trap.
  mkfifo "$work/stdin"
  "$target/license-stack" <"$work/stdin" >"$work/stack.json" &
  license_stack_pid=$!
  license_stack_work=$work
  exec 3>"$work/stdin"
  trap stop_license_stack EXIT
  for _ in $(seq 1 300); do
    [ -s "$work/stack.json" ] && break
    kill -0 "$license_stack_pid" 2>/dev/null || { echo "license-stack did not start" >&2; exit 1; }
    sleep 0.1
  done
  LC_TEST_BROKER_URL=$(stack_member '["broker_url"]')
  LC_TEST_TRUSTED_KEYS=$(stack_member '["trusted_keys"]')
  LC_TEST_KEY=$(stack_member '["keys"]["1"]')
  LC_TEST_FORGED_KEY=$(stack_member '["forged_key"]')
  LC_TEST_TWO_SEAT_KEY=$(stack_member '["keys"]["4"]')
  LC_TEST_FLOATING_KEY=$(stack_member '["keys"]["7"]')
  export LC_TEST_BROKER_URL LC_TEST_TRUSTED_KEYS LC_TEST_KEY LC_TEST_FORGED_KEY \
    LC_TEST_TWO_SEAT_KEY LC_TEST_FLOATING_KEY
}

# One member of the stack's JSON line, by its Python subscript (`["keys"]["1"]`).
stack_member() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' \
    "$license_stack_work/stack.json" "$1"
}

stop_license_stack() {
  exec 3>&-
  wait "$license_stack_pid" 2>/dev/null || true
  rm -rf "$license_stack_work"
}
