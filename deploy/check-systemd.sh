#!/usr/bin/env bash
# `systemd-analyze verify` on deploy/systemd/license-broker.service. verify insists
# that every Exec path exists, so the unit is checked as a copy pointing at a copy of
# the binary (target/debug unless BROKER_BIN says otherwise). Any output (an
# unknown key is only a warning to systemd) fails the check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${BROKER_BIN:-$here/../target/debug/license-broker}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
install -m 0755 "$bin" "$work/license-broker"
sed -e "s#/usr/local/bin/license-broker#$work/license-broker#g" \
  "$here/systemd/license-broker.service" >"$work/license-broker.service"
out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$work/license-broker.service" 2>&1) || {
  echo "$out" >&2
  exit 1
}
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "systemd-analyze verify printed warnings for deploy/systemd/license-broker.service" >&2
  exit 1
fi
echo "systemd-analyze verify: deploy/systemd/license-broker.service is valid ($(systemd-analyze --version | head -n1))"
