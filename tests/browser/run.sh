#!/usr/bin/env bash
# The broker's /offline page in a real browser: starts license-stack (the ORDS emulator
# and a broker on loopback), then runs test_offline_page.py, which drives Debian's
# chromium through chromium-driver with Selenium (PyPI, pinned, in a venv of its own)
# and the real license-check, and reads the page's QR code back with zbarimg. Needs
# chromium, chromium-driver, zbar-tools and python3-venv; .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
selenium_version=4.27.1

cargo build --locked -q -p license-e2e --bin license-stack
cargo build --locked -q -p license-client --bin license-check
target="${CARGO_TARGET_DIR:-$root/target}/debug"
work=$(mktemp -d)

venv="${XDG_CACHE_HOME:-$HOME/.cache}/license-ci/selenium-$selenium_version"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "selenium==$selenium_version"
fi

# shellcheck source=tests/license-stack.sh
. tests/license-stack.sh
start_license_stack "$work" "$target"
LICENSE_CHECK="$target/license-check"
export LICENSE_CHECK
echo "== the stack is up at $LC_TEST_BROKER_URL; /offline in headless Chromium"
# Selenium Manager never downloads a driver or a browser here: both are Debian's.
SE_OFFLINE=true "$venv/bin/python" tests/browser/test_offline_page.py
