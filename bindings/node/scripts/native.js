// Puts the native library in native/ at install time: the file LICENSE_CLIENT_LIBRARY
// names; else, inside this repository, the one `cargo build --release -p
// license-client-ffi` makes. A package published with native/ filled in needs neither.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const file = { win32: 'license_client.dll', darwin: 'liblicense_client.dylib' }[process.platform]
  || 'liblicense_client.so';
const dest = path.join(__dirname, '..', 'native', file);

function main() {
  const given = process.env.LICENSE_CLIENT_LIBRARY;
  if (given) return copy(given);
  if (fs.existsSync(dest)) return;
  const workspace = path.join(__dirname, '..', '..', '..');
  if (!fs.existsSync(path.join(workspace, 'Cargo.toml'))) {
    console.warn(`license-client: no native library at ${dest}; set LICENSE_CLIENT_LIBRARY to liblicense_client's path`);
    return;
  }
  execFileSync('cargo', ['build', '--release', '--locked', '-p', 'license-client-ffi'], { cwd: workspace, stdio: 'inherit' });
  const target = process.env.CARGO_TARGET_DIR || path.join(workspace, 'target');
  copy(path.join(target, 'release', file));
}

function copy(from) {
  if (!fs.existsSync(from)) throw new Error(`license-client: ${from} is not a file`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(from, dest);
}

main();
