#!/usr/bin/env bash
# Builds the C# package with Mono's mcs exactly as a vendor would (no references beyond
# the base library), then its tests, and runs them under Mono with the library named by
# LICENSE_CLIENT_LIBRARY. Usage: bindings/dotnet/test.sh OUTDIR (bindings/run-tests.sh
# passes one, with the stack's LC_TEST_* variables set).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: test.sh OUTDIR}
mkdir -p "$out"
mcs -langversion:7 -target:library -out:"$out/LicenseClient.dll" "$here"/src/*.cs
mcs -langversion:7 -out:"$out/ClientTests.exe" -r:"$out/LicenseClient.dll" "$here"/tests/ClientTests.cs
mono "$out/ClientTests.exe"
