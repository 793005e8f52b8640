// The start-up license check for Node and Electron: a thin layer over the C ABI of
// liblicense_client (bindings/c/include/license_client.h), through koffi. Every call
// runs on a worker thread and returns a Promise: nothing blocks the event loop.
'use strict';
const fs = require('fs');
const path = require('path');
const koffi = require('koffi');

const FILE = { win32: 'license_client.dll', darwin: 'liblicense_client.dylib' }[process.platform]
  || 'liblicense_client.so';

// Inside an Electron app's asar archive the library cannot be loaded from the archive:
// it is looked for in app.asar.unpacked (electron-builder's asarUnpack), where the OS can
// map it.
function candidates() {
  if (process.env.LICENSE_CLIENT_LIBRARY) return [process.env.LICENSE_CLIENT_LIBRARY];
  const here = __dirname.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
  return [
    path.join(here, 'native', FILE),
    path.join(here, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
  ];
}

function load() {
  const tried = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file} (no such file)`);
      continue;
    }
    try {
      return koffi.load(file);
    } catch (e) {
      tried.push(`${file} (${e.message})`);
    }
  }
  throw new Error(`license-client cannot load its native library; looked for ${tried.join('; ')}. `
    + 'Reinstall the package, unpack it from the asar (asarUnpack), or set LICENSE_CLIENT_LIBRARY to the file.');
}

const lib = load();
const Handle = koffi.opaque('lc_client');
// The async entry points run the call on a thread of the library's and call back once;
// koffi queues that call to the event loop, where the verdict or the error (both valid
// only during the callback) is copied.
const VerdictCallback = koffi.proto(
  'void lc_verdict_callback(void *userdata, int status, const char *verdict_json, const char *error)');
const native = {
  clientNew: lib.func('int lc_client_new(const char *config, _Out_ lc_client **out)'),
  clientFree: lib.func('void lc_client_free(lc_client *client)'),
  check: lib.func('int lc_check_async(lc_client *client, uint32_t mode, lc_verdict_callback *cb, void *userdata)'),
  activate: lib.func('int lc_activate_async(lc_client *client, const char *key, const char *name, lc_verdict_callback *cb, void *userdata)'),
  deactivate: lib.func('int lc_deactivate_async(lc_client *client, lc_verdict_callback *cb, void *userdata)'),
  deactivateMachine: lib.func('int lc_deactivate_machine_async(lc_client *client, const char *id, lc_verdict_callback *cb, void *userdata)'),
  machines: lib.func('int lc_machines_async(lc_client *client, lc_verdict_callback *cb, void *userdata)'),
  lastError: lib.func('const char *lc_last_error()'),
  statusName: lib.func('const char *lc_status_name(uint32_t status)'),
  version: lib.func('const char *lc_version()'),
};

const MODES = { auto: 0, refresh: 1, offline: 2 };
const KEY_STORES = ['os', 'file', 'memory'];

/** A call did not reach a verdict: `kind` is e.g. "RATE_LIMITED", `status` its number. */
class LicenseClientError extends Error {
  constructor(kind, status, message) {
    super(message);
    this.name = 'LicenseClientError';
    this.kind = kind;
    this.status = status;
  }
}

/** The verdict: the JSON of `license-check --json`, every member kept. */
class Verdict {
  constructor(raw) {
    Object.assign(this, raw);
    this.entitlements = raw.entitlements || [];
    Object.defineProperty(this, 'raw', { value: raw, enumerable: false });
  }

  /** Whether the license entitles the app to `name` and licenses it now. */
  hasEntitlement(name) {
    return this.licensed === true && this.entitlements.includes(name);
  }

  toJSON() {
    return { ...this.raw };
  }
}

function failure(status, message) {
  const kind = native.statusName(status).replace(/^LC_/, '');
  return new LicenseClientError(kind, status, message || kind);
}

// koffi's wake-up from the library's thread does not keep the event loop alive, so a
// timer does while any call is pending: a script that awaits a check does not exit first.
let pending = 0;
let keepAlive = null;
function started() {
  pending += 1;
  if (!keepAlive) keepAlive = setInterval(() => {}, 60 * 60 * 1000);
}
function ended() {
  pending -= 1;
  if (pending === 0) {
    clearInterval(keepAlive);
    keepAlive = null;
  }
}

// Starts `fn` (an lc_*_async entry point) with `args` and settles with its callback.
function callAsync(fn, args) {
  return new Promise((resolve, reject) => {
    let registered = null;
    const done = (_userdata, status, json, error) => {
      ended();
      // Unregistered after this callback returns: the library is still inside it.
      setImmediate(() => koffi.unregister(registered));
      if (status !== 0) return reject(failure(status, error));
      try {
        resolve(new Verdict(JSON.parse(json)));
      } catch (e) {
        reject(e);
      }
    };
    registered = koffi.register(done, koffi.pointer(VerdictCallback));
    started();
    const status = fn(...args, registered, null);
    if (status !== 0) {
      ended();
      koffi.unregister(registered);
      reject(failure(status, native.lastError()));
    }
  });
}

const finalizer = new FinalizationRegistry((handle) => native.clientFree(handle));

class Client {
  /**
   * @param {object} options brokerUrl, appId, trustedKeys (required); appVersion, product,
   *   buildTime, dataDir, keyStore ("os" | "file" | "memory"), machineId, timeoutMs.
   */
  constructor(options) {
    const o = options || {};
    if (o.keyStore !== undefined && !KEY_STORES.includes(o.keyStore)) {
      throw new LicenseClientError('INVALID_ARGUMENT', 2, `keyStore ${JSON.stringify(o.keyStore)} is none of ${KEY_STORES.join(', ')}`);
    }
    const known = ['brokerUrl', 'appId', 'trustedKeys', 'appVersion', 'product', 'buildTime', 'dataDir', 'keyStore', 'machineId', 'timeoutMs'];
    const unknown = Object.keys(o).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw new LicenseClientError('INVALID_ARGUMENT', 2, `unknown option ${unknown.join(', ')}; the options are ${known.join(', ')}`);
    }
    const config = JSON.stringify({
      broker_url: o.brokerUrl,
      app_id: o.appId,
      trusted_keys: o.trustedKeys,
      app_version: o.appVersion,
      product: o.product,
      build_time: o.buildTime,
      data_dir: o.dataDir,
      key_store: o.keyStore,
      machine_id: o.machineId,
      timeout_ms: o.timeoutMs,
    });
    const out = [null];
    const status = native.clientNew(config, out);
    if (status !== 0) throw failure(status, native.lastError());
    this._handle = out[0];
    finalizer.register(this, this._handle, this);
  }

  /** The start-up check; `mode` is "auto" (default), "refresh" or "offline". */
  check(options) {
    const mode = (options && options.mode) || 'auto';
    if (!(mode in MODES)) {
      return Promise.reject(new LicenseClientError('INVALID_ARGUMENT', 2, `mode ${JSON.stringify(mode)} is none of ${Object.keys(MODES).join(', ')}`));
    }
    return this._call(native.check, [MODES[mode]]);
  }

  /** Claims a seat for this machine and stores the key. */
  activate(key, machineName) {
    if (typeof key !== 'string') return Promise.reject(new TypeError('key must be a string'));
    return this._call(native.activate, [key, machineName === undefined ? null : machineName]);
  }

  /** Frees this machine's seat, then removes the key and the lease. */
  deactivate() {
    return this._call(native.deactivate, []);
  }

  /** Frees another machine's seat by its id (from machines()). */
  deactivateMachine(machineId) {
    if (typeof machineId !== 'string') return Promise.reject(new TypeError('machineId must be a string'));
    return this._call(native.deactivateMachine, [machineId]);
  }

  /** Lists the machines holding the license's seats, in `verdict.machines`. */
  machines() {
    return this._call(native.machines, []);
  }

  /** Frees the native client; calls after this reject. */
  close() {
    if (this._handle) {
      finalizer.unregister(this);
      native.clientFree(this._handle);
      this._handle = null;
    }
  }

  _call(fn, args) {
    if (!this._handle) return Promise.reject(new LicenseClientError('INVALID_ARGUMENT', 2, 'this Client is closed'));
    return callAsync(fn, [this._handle, ...args]);
  }
}

/** The version of the native library. */
function libraryVersion() {
  return native.version();
}

module.exports = { Client, Verdict, LicenseClientError, libraryVersion };
