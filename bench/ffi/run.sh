#!/usr/bin/env bash
# The FFI benchmark, one command: `bench/ffi/run.sh`. Builds liblicense_client and
# bench-ffi in release mode, the C runner with the system compiler, the C# runner with
# Mono's mcs, installs the Node package's koffi (and builds the library's dist profile,
# whose size is reported beside the release build's), then runs bench-ffi, which starts the
# emulator and a broker on loopback, activates one license and times an offline and a
# cached check from Rust, C, Python, C# and Node. Writes its section of BENCHMARKS.md.
# Knobs: LC_BENCH_N (calls per round, 2000), LC_BENCH_ROUNDS (7).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cargo build --release --locked -q -p license-client-ffi --lib
cargo build --profile dist --locked -q -p license-client-ffi --lib
cargo build --release --locked -q -p license-bench --bin bench-ffi
release="${CARGO_TARGET_DIR:-$root/target}/release"
library="$release/liblicense_client.so"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -Wall -o "$work/bench-c" bench/ffi/bench.c -Ibindings/c/include -L"$release" \
  -llicense_client -Wl,-rpath,"$release"
mcs -langversion:7 -target:library -out:"$work/LicenseClient.dll" bindings/dotnet/src/*.cs
mcs -langversion:7 -out:"$work/Bench.exe" -r:"$work/LicenseClient.dll" bench/ffi/Bench.cs
(cd bindings/node && LICENSE_CLIENT_LIBRARY="$library" npm install --no-audit --no-fund --foreground-scripts >/dev/null)

# Every runner loads the release library named here; Python imports the package from
# the source tree.
LICENSE_CLIENT_LIBRARY="$library" PYTHONPATH="$root/bindings/python" \
  LC_BENCH_NODE_PACKAGE="$root/bindings/node" \
  "$release/bench-ffi" --library "$library" --out "$root/BENCHMARKS.md" \
  --size "\`--profile dist\` (what a vendor ships)=${CARGO_TARGET_DIR:-$root/target}/dist/liblicense_client.so" \
  --runner "C=$work/bench-c" \
  --runner "Python=python3 $root/bench/ffi/bench.py" \
  --runner "C# (Mono)=mono $work/Bench.exe" \
  --runner "Node=node $root/bench/ffi/bench.js"
