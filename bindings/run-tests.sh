#!/usr/bin/env bash
# The language packages against the real stack: builds the C ABI library and
# license-stack (the ORDS emulator and a broker on loopback), then runs each package's
# own tests against it: the C example (CMake), Python (pytest), C# (Mono) and Node
# (node --test). Usage: bindings/run-tests.sh [c|python|dotnet|node]... (default: all).
# Needs gcc, cmake, python3 with venv, mono-mcs and mono-runtime, node and npm; .ci/run
# installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(c python dotnet node)

cargo build --locked -q -p license-client-ffi --lib
cargo build --locked -q -p license-e2e --bin license-stack
target="${CARGO_TARGET_DIR:-$root/target}/debug"
export LICENSE_CLIENT_LIBRARY="$target/liblicense_client.so"
work=$(mktemp -d)

# shellcheck source=tests/license-stack.sh
. tests/license-stack.sh
start_license_stack "$work" "$target"
echo "== the stack is up at $LC_TEST_BROKER_URL"

run_c() {
  echo "== C: the lifecycle example, built with CMake"
  cmake -S bindings/c/examples -B "$work/c" -DLICENSE_CLIENT_LIB_DIR="$target" >/dev/null
  cmake --build "$work/c" >/dev/null
  mkdir "$work/c-data"
  LC_TEST_DATA_DIR="$work/c-data" "$work/c/lifecycle"
}

run_python() {
  echo "== Python: pip install ./bindings/python, then pytest"
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check pytest ./bindings/python
  # From outside the source tree, so the installed package (library inside) is tested.
  (cd "$work" && env -u LICENSE_CLIENT_LIBRARY "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$root/bindings/python/tests")
}

run_dotnet() {
  echo "== C#: mcs, then the tests under Mono"
  bindings/dotnet/test.sh "$work/dotnet"
}

run_node() {
  echo "== Node: npm install ./bindings/node, then node --test"
  bindings/node/test.sh "$work/node"
}

for suite in "${suites[@]}"; do
  case "$suite" in
    c | python | dotnet | node) "run_$suite" ;;
    *) echo "unknown suite $suite: use c, python, dotnet or node" >&2; exit 64 ;;
  esac
done
