// The start-up license check for Node and Electron: a thin layer over the C ABI of
// liblicense_client (bindings/c/include/license_client.h), through koffi. Every call
// runs on libuv's worker pool and returns a Promise: nothing blocks the event loop.
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
koffi.opaque('lc_client');
// lc_set_seat_lost_callback's callback, called later from the library's own thread.
const SeatLost = koffi.proto('void lc_seat_lost_callback(void *userdata, const char *code, const char *message)');
// lc_call runs one call and writes its outcome, verdict or error, as JSON: made for a
// worker pool such as koffi's async calls, where the thread that ran the call is not
// the one that reads the result (so lc_last_error could not be read there).
const native = {
  clientNew: lib.func('int lc_client_new(const char *config, _Out_ lc_client **out)'),
  clientFree: lib.func('void lc_client_free(lc_client *client)'),
  call: lib.func('int lc_call(lc_client *client, const char *call, _Out_ void **outcome)'),
  stringFree: lib.func('void lc_string_free(void *s)'),
  setSeatLost: lib.func('int lc_set_seat_lost_callback(lc_client *client, lc_seat_lost_callback *callback, void *userdata)'),
  lastError: lib.func('const char *lc_last_error()'),
  statusName: lib.func('const char *lc_status_name(uint32_t status)'),
  version: lib.func('const char *lc_version()'),
};

const MODES = { auto: 0, refresh: 1, offline: 2 };
const KEY_STORES = ['os', 'file', 'os_else_file', 'memory'];

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

// Runs the call `request` describes on koffi's worker pool (libuv's threads): the event
// loop goes on meanwhile and the Promise settles with the verdict or the error.
function callAsync(handle, request) {
  return new Promise((resolve, reject) => {
    const out = [null];
    native.call.async(handle, JSON.stringify(request), out, (err) => {
      if (err) return reject(err);
      try {
        if (!out[0]) return reject(failure(2, 'the library wrote no outcome'));
        const outcome = JSON.parse(koffi.decode(out[0], 'char', -1));
        native.stringFree(out[0]);
        if (outcome.status !== 0) return reject(failure(outcome.status, outcome.error));
        // An offline request or deactivation answers with a code, not a verdict.
        if (outcome.code !== undefined) return resolve(outcome.code);
        return resolve(new Verdict(outcome.verdict));
      } catch (e) {
        return reject(e);
      }
    });
  });
}

// Frees a native client and then releases the koffi slots of its seat-lost callbacks
// (`native` is { handle, callbacks }, shared by a Client and its finalizer).
//
// Never freed synchronously on the main thread: the library calls a seat-lost callback
// on its runtime's worker thread, and koffi runs it by queueing it to the main thread
// and holding that worker until the event loop has run it. lc_client_free shuts the
// runtime down and waits for the worker, so freeing from the main thread while a loss
// is being reported would wait on a worker that waits on the main thread: a deadlock.
// On libuv's pool (clientFree.async) the main thread keeps running the event loop, the
// queued callback runs, the worker lets go and the free completes. Only then, with the
// runtime gone, can no call reach the callbacks, and their slots are unregistered.
function freeNative(held) {
  return new Promise((resolve) => {
    native.clientFree.async(held.handle, () => {
      for (const callback of held.callbacks.splice(0)) koffi.unregister(callback);
      resolve();
    });
  });
}

const finalizer = new FinalizationRegistry((held) => freeNative(held));

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
    // Every seat-lost callback ever registered on this handle: the library may be
    // calling one it was told to forget, so each is kept until the handle is freed.
    this._native = { handle: this._handle, callbacks: [] };
    finalizer.register(this, this._native, this);
  }

  /** The start-up check; `mode` is "auto" (default), "refresh" or "offline". */
  check(options) {
    const mode = (options && options.mode) || 'auto';
    if (!(mode in MODES)) {
      return Promise.reject(new LicenseClientError('INVALID_ARGUMENT', 2, `mode ${JSON.stringify(mode)} is none of ${Object.keys(MODES).join(', ')}`));
    }
    return this._call({ op: 'check', mode });
  }

  /** Claims a seat for this machine and stores the key; `options.replace` (a seat id
   * from a MACHINE_LIMIT verdict's list) frees that machine's seat first. */
  activate(key, machineName, options) {
    if (typeof key !== 'string') return Promise.reject(new TypeError('key must be a string'));
    const replace = options && options.replace !== undefined ? options.replace : null;
    return this._call({
      op: 'activate', license_key: key, machine_name: machineName == null ? null : machineName, replace,
    });
  }

  /** Frees this machine's seat, then removes the key and the lease. */
  deactivate() {
    return this._call({ op: 'deactivate' });
  }

  /** Frees another machine's seat by its id (from machines()). */
  deactivateMachine(machineId) {
    if (typeof machineId !== 'string') return Promise.reject(new TypeError('machineId must be a string'));
    return this._call({ op: 'deactivate_machine', machine_id: machineId });
  }

  /** Lists the machines holding the seats (in `verdict.machines`) of the stored
   * license, or of `options.key`, a key this machine need not have stored. */
  machines(options) {
    const key = options && options.key !== undefined ? options.key : null;
    return this._call({ op: 'machines', license_key: key });
  }

  /** Offline activation, step 1, with no network: resolves to a request code (letters,
   * digits and dashes) to take to the license server's /offline page; the pending
   * request is kept in the data directory, so only this machine can install the answer. */
  offlineRequest(key) {
    if (typeof key !== 'string') return Promise.reject(new TypeError('key must be a string'));
    return this._call({ op: 'offline_request', license_key: key });
  }

  /** Offline activation, step 2: installs the license server's response code, verified
   * like an online verdict; rejects with INVALID_ARGUMENT when it does not answer this
   * machine's pending request. */
  installOfflineResponse(code) {
    if (typeof code !== 'string') return Promise.reject(new TypeError('code must be a string'));
    return this._call({ op: 'install_offline_response', response: code });
  }

  /** For a machine activated offline: removes the key and the lease and resolves to a
   * deactivation code, signed by this machine, that frees its seat at /offline. */
  deactivateOffline() {
    return this._call({ op: 'deactivate_offline' });
  }

  /** Checks a seat of a floating license out for this run of the app and stores the
   * key; the library renews it in the background until checkin() or close().
   * SEATS_IN_USE lists the holders in `verdict.machines`; `options.borrowDays` holds
   * the seat for offline use (capped by the license). */
  checkout(key, machineName, options) {
    if (typeof key !== 'string') return Promise.reject(new TypeError('key must be a string'));
    const borrowDays = options && options.borrowDays !== undefined ? options.borrowDays : null;
    if (borrowDays !== null && !(Number.isInteger(borrowDays) && borrowDays >= 1 && borrowDays <= 3650)) {
      return Promise.reject(new RangeError('borrowDays must be a whole number of days from 1 to 3650'));
    }
    return this._call({
      op: 'checkout', license_key: key, machine_name: machineName == null ? null : machineName, borrow_days: borrowDays,
    });
  }

  /** Stops the renewal and returns this machine's floating seat (DEACTIVATED). */
  checkin() {
    return this._call({ op: 'checkin' });
  }

  /** Starts (or finds) this machine's trial of the client's product: TRIAL until
   * `expires_at`, then TRIAL_EXPIRED; NO_TRIAL for a product without one. */
  startTrial() {
    return this._call({ op: 'start_trial' });
  }

  /** Calls `callback(code, message)` once, on the main thread, when the floating seat
   * checkout() took is lost (freed by an administrator, lapsed while the machine slept,
   * or the license no longer licenses it; `code` is e.g. "DEACTIVATED"): the renewal
   * has stopped, check a seat out again to keep working. `null` unregisters it. An
   * exception thrown by the callback becomes a process warning. */
  onSeatLost(callback) {
    if (callback !== null && typeof callback !== 'function') {
      throw new TypeError('callback must be a function or null');
    }
    if (this._closed) throw new LicenseClientError('INVALID_ARGUMENT', 2, 'this Client is closed');
    let registered = null;
    if (callback) {
      const guarded = (_userdata, code, message) => {
        try {
          callback(code, message);
        } catch (e) {
          // Nothing may unwind into the library; the app still hears of its bug.
          process.emitWarning(`the seat-lost callback threw: ${e && e.stack ? e.stack : e}`, 'LicenseClientWarning');
        }
      };
      registered = koffi.register(guarded, koffi.pointer(SeatLost));
      this._native.callbacks.push(registered);
    }
    const status = native.setSeatLost(this._handle, registered, null);
    if (status !== 0) throw failure(status, native.lastError());
  }

  /** Frees the native client once the calls in flight have ended; calls after this
   * reject. Resolves once it is freed (a pending seat-lost callback has run by then). */
  close() {
    if (!this._closed) {
      this._closed = true;
      finalizer.unregister(this);
      this._freed = new Promise((resolve) => {
        this._whenFreed = resolve;
      });
      this._freeWhenIdle();
    }
    return this._freed;
  }

  _call(request) {
    if (this._closed) return Promise.reject(new LicenseClientError('INVALID_ARGUMENT', 2, 'this Client is closed'));
    this._inFlight = (this._inFlight || 0) + 1;
    return callAsync(this._handle, request).finally(() => {
      this._inFlight -= 1;
      this._freeWhenIdle();
    });
  }

  // A worker thread may still be inside a call: the handle is freed after the last one.
  _freeWhenIdle() {
    if (this._closed && !this._inFlight && this._handle) {
      this._handle = null;
      freeNative(this._native).then(this._whenFreed);
    }
  }
}

/** The version of the native library. */
function libraryVersion() {
  return native.version();
}

module.exports = { Client, Verdict, LicenseClientError, libraryVersion };
