#!/usr/bin/env bash
# Installs the Node package as a vendor's app would, and tests that copy: the native
# library (named by LICENSE_CLIENT_LIBRARY) is put in native/ as before publishing, the
# folder is installed into an app (npm packs it, koffi comes from npm), the app requires
# it, and node --test runs against it with LICENSE_CLIENT_LIBRARY unset, so the library
# must come from inside the installed package.
# Usage: bindings/node/test.sh OUTDIR (bindings/run-tests.sh passes one, with the
# stack's LC_TEST_* variables set).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: test.sh OUTDIR}
rm -rf "$here/native"
(cd "$here" && node scripts/native.js)
mkdir -p "$out/app"
cd "$out/app"
npm init -y >/dev/null
# --foreground-scripts: the install scripts (ours, koffi's) run and show their output.
npm install --no-audit --no-fund --foreground-scripts --install-links "$here" >/dev/null
unset LICENSE_CLIENT_LIBRARY
node -e "const lc = require('license-client'); console.log('installed license-client, library ' + lc.libraryVersion())"
# The tests run against the installed copy, as the app would use it.
mkdir -p test
cp "$here"/test/*.test.js test/
sed -i "s#require('\\.\\.')#require('license-client')#" test/*.test.js
# A deadlock would hang the test runner itself (its timers run on the blocked thread):
# a hung suite fails here instead of running into the CI limit.
timeout 600 node --test test/
