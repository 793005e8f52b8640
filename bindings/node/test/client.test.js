// The Node package against a real broker and the ORDS emulator (license-stack), run by
// bindings/node/test.sh with the stack's LC_TEST_* variables.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const net = require('net');
const { Client, LicenseClientError, libraryVersion } = require('..');

const URL = process.env.LC_TEST_BROKER_URL;
const KEYS = process.env.LC_TEST_TRUSTED_KEYS;
const KEY = process.env.LC_TEST_KEY;
const FORGED = process.env.LC_TEST_FORGED_KEY;
const TWO_SEATS = process.env.LC_TEST_TWO_SEAT_KEY;

function newClient(extra) {
  return new Client({
    brokerUrl: URL,
    appId: 'com.example.node',
    trustedKeys: KEYS,
    product: 'desktop-pro',
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lc-node-')),
    keyStore: 'file',
    machineId: `node-${crypto.randomUUID()}`,
    timeoutMs: 5000,
    ...extra,
  });
}

test('the whole lifecycle', async () => {
  const c = newClient();
  assert.strictEqual((await c.check({ mode: 'offline' })).code, 'NO_LICENSE');
  const activated = await c.activate(KEY, 'Node test');
  assert.deepStrictEqual([activated.licensed, activated.code, activated.source], [true, 'VALID', 'online']);
  const online = await c.check({ mode: 'refresh' });
  assert.deepStrictEqual([online.code, online.source], ['VALID', 'online']);
  const offline = await c.check({ mode: 'offline' });
  assert.ok(offline.licensed && offline.source === 'cache');
  assert.ok(offline.hasEntitlement('export') && !offline.hasEntitlement('print'));
  assert.deepStrictEqual(offline.entitlements, ['export', 'sync']);
  assert.strictEqual(offline.product, 'desktop-pro');
  assert.ok(offline.expires_at > 0 && offline.offline_until > 0 && offline.exit_code === 0);
  assert.strictEqual((await c.deactivate()).code, 'DEACTIVATED');
  assert.strictEqual((await c.check({ mode: 'offline' })).code, 'NO_LICENSE');
  await assert.rejects(c.deactivate(), (e) => e instanceof LicenseClientError
    && e.kind === 'NO_LICENSE' && e.status === 4 && /activate/.test(e.message));
  c.close();
});

test('the verdict keeps every member of the JSON', async () => {
  const c = newClient();
  const v = await c.check({ mode: 'offline' });
  for (const member of ['licensed', 'code', 'source', 'expires_at', 'offline_until', 'message',
    'machines', 'product', 'entitlements', 'exit_code']) {
    assert.ok(member in v.toJSON(), member);
  }
  c.close();
});

test('the seats of a key this machine has not stored can be listed', async () => {
  const c = newClient();
  const v = await c.machines({ key: TWO_SEATS });
  assert.strictEqual(v.machines.max, 2);
  assert.ok(Array.isArray(v.machines.list));
  await assert.rejects(c.machines(), (e) => e.kind === 'NO_LICENSE');
  await assert.rejects(c.activate(TWO_SEATS, null, { replace: 'ffffffffffff' }),
    (e) => e.kind === 'UNKNOWN_MACHINE' && /ffffffffffff/.test(e.message));
  c.close();
});

test('a forged key is a verified NOT_FOUND', async () => {
  const c = newClient();
  const v = await c.activate(FORGED);
  assert.deepStrictEqual([v.licensed, v.code, v.exit_code], [false, 'NOT_FOUND', 1]);
  c.close();
});

test('bad input is an error naming the problem, never a crash', async () => {
  assert.throws(() => newClient({ trustedKeys: 'k1:not-a-key' }),
    (e) => e.kind === 'INVALID_ARGUMENT' && /trusted_keys/.test(e.message));
  assert.throws(() => newClient({ brokerUrl: 'ftp://example.com' }), /ftp:\/\//);
  assert.throws(() => newClient({ keyStore: 'cloud' }), /keyStore/);
  assert.throws(() => newClient({ colour: 'blue' }), /unknown option colour/);
  const c = newClient();
  await assert.rejects(c.activate('not-a-key'), (e) => e.kind === 'INVALID_KEY' && e.status === 1);
  await assert.rejects(c.check({ mode: 'sometimes' }), /mode/);
  await assert.rejects(c.activate(42), TypeError);
  c.close();
  await assert.rejects(c.check(), /closed/);
});

test('calls do not block the event loop', async () => {
  // A broker that accepts and never answers, and a 1.5 s timeout: this event loop must
  // keep running meanwhile (it even serves that silent broker's accepts).
  const silent = net.createServer(() => {});
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const c = newClient({ brokerUrl: `http://127.0.0.1:${silent.address().port}`, timeoutMs: 1500 });
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 10);
  const started = Date.now();
  await c.activate(KEY).then(() => assert.fail('activated against a silent broker'), (e) => {
    assert.strictEqual(e.kind, 'BROKER_UNREACHABLE');
    assert.match(e.message, /1500 ms/);
  });
  clearInterval(timer);
  c.close();
  silent.close();
  const waited = Date.now() - started;
  assert.ok(ticks >= 5, `the event loop ran ${ticks} times during a ${waited} ms call`);
});

test('closing with a call in flight frees the client after the call', async () => {
  const c = newClient();
  const pending = c.check({ mode: 'offline' });
  c.close();
  assert.strictEqual((await pending).code, 'NO_LICENSE');
  await assert.rejects(c.check(), /closed/);
});

test('inside an Electron asar the library is loaded from app.asar.unpacked', () => {
  // The layout electron-builder makes with asarUnpack: the JS inside resources/app.asar
  // (here a plain folder of that name), the native files in resources/app.asar.unpacked.
  // The library must come from the unpacked side: the copy inside the archive is left out.
  const pkg = path.dirname(require.resolve('license-client/package.json'));
  const koffiDir = path.dirname(require.resolve('koffi/package.json'));
  const resources = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-electron-'));
  const packed = path.join(resources, 'app.asar', 'node_modules');
  const unpacked = path.join(resources, 'app.asar.unpacked', 'node_modules', 'license-client');
  fs.cpSync(pkg, path.join(packed, 'license-client'), { recursive: true, dereference: true });
  fs.cpSync(koffiDir, path.join(packed, 'koffi'), { recursive: true, dereference: true });
  fs.rmSync(path.join(packed, 'license-client', 'native'), { recursive: true, force: true });
  fs.cpSync(path.join(pkg, 'native'), path.join(unpacked, 'native'), { recursive: true });
  const saved = process.env.LICENSE_CLIENT_LIBRARY;
  delete process.env.LICENSE_CLIENT_LIBRARY;
  try {
    const inAsar = require(path.join(packed, 'license-client'));
    assert.strictEqual(inAsar.libraryVersion(), libraryVersion());
    fs.rmSync(path.join(unpacked, 'native'), { recursive: true });
    delete require.cache[require.resolve(path.join(packed, 'license-client'))];
    assert.throws(() => require(path.join(packed, 'license-client')),
      (e) => /app\.asar\.unpacked/.test(e.message) && /LICENSE_CLIENT_LIBRARY/.test(e.message));
  } finally {
    if (saved !== undefined) process.env.LICENSE_CLIENT_LIBRARY = saved;
  }
});

test('the library version is the crate version', () => {
  assert.strictEqual(libraryVersion(), '0.1.0');
});

async function post(route, body) {
  const answer = await fetch(URL.replace(/\/$/, '') + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return [answer.status, await answer.json()];
}

test('offline activation through the broker and back', async () => {
  const c = newClient();
  const request = await c.offlineRequest(KEY);
  assert.match(request, /^[0-9A-HJKMNP-TV-Z-]+$/);
  const [status, answer] = await post('/v1/license/offline/activate', { request });
  assert.deepStrictEqual([status, answer.code], [200, 'VALID']);
  const other = newClient();
  await assert.rejects(other.installOfflineResponse(answer.response),
    (e) => e instanceof LicenseClientError && e.kind === 'INVALID_ARGUMENT');
  other.close();
  const installed = await c.installOfflineResponse(answer.response);
  assert.deepStrictEqual([installed.licensed, installed.code], [true, 'VALID']);
  assert.ok((await c.check({ mode: 'offline' })).licensed);
  const code = await c.deactivateOffline();
  assert.strictEqual((await c.check({ mode: 'offline' })).code, 'NO_LICENSE');
  const [freed, envelope] = await post('/v1/license/offline/deactivate', { code });
  assert.ok(freed === 200 && typeof envelope.payload === 'string', JSON.stringify(envelope));
  c.close();
});

test('a floating seat is checked out and in, and a trial starts once', async () => {
  const FLOATING = process.env.LC_TEST_FLOATING_KEY;
  const [a, b, c] = [newClient({ keyStore: 'memory' }), newClient({ keyStore: 'memory' }), newClient({ keyStore: 'memory' })];
  assert.strictEqual((await a.checkout(FLOATING, 'Node a')).code, 'VALID');
  assert.strictEqual((await b.checkout(FLOATING)).code, 'VALID');
  const full = await c.checkout(FLOATING);
  assert.deepStrictEqual([full.licensed, full.code], [false, 'SEATS_IN_USE']);
  assert.ok(full.message.includes('Node a'), full.message);
  assert.strictEqual((await a.checkin()).code, 'DEACTIVATED');
  assert.strictEqual((await c.checkout(FLOATING, null, { borrowDays: 2 })).code, 'VALID');
  for (const holder of [b, c]) assert.strictEqual((await holder.checkin()).code, 'DEACTIVATED');
  await assert.rejects(a.checkout(FLOATING, null, { borrowDays: 0 }), RangeError);
  const trial = await a.startTrial();
  assert.deepStrictEqual([trial.licensed, trial.code], [true, 'TRIAL']);
  assert.strictEqual((await a.startTrial()).expires_at, trial.expires_at);
  for (const client of [a, b, c]) client.close();
});

// Two clients with one machine id are one machine to the broker: when the second
// returns the seat, the first's next background renewal (about every second under
// license-stack's 3 s lease) finds a seat taken anew and reports the first as lost.
async function loseTheSeat(app) {
  const FLOATING = process.env.LC_TEST_FLOATING_KEY;
  const other = newClient({ keyStore: 'memory', machineId: app.machineId });
  assert.strictEqual((await app.client.checkout(FLOATING)).code, 'VALID');
  // The broker tells seats apart by the second they were taken in.
  await new Promise((resolve) => { setTimeout(resolve, 1200); });
  assert.strictEqual((await other.checkout(FLOATING)).code, 'VALID');
  assert.strictEqual((await other.checkin()).code, 'DEACTIVATED');
  await other.close();
}

function sameMachine() {
  const machineId = `node-lost-${crypto.randomUUID()}`;
  return { machineId, client: newClient({ keyStore: 'memory', machineId }) };
}

test('a lost floating seat is reported to onSeatLost', async () => {
  const app = sameMachine();
  let timer;
  const lost = new Promise((resolve) => { app.client.onSeatLost((code, message) => resolve({ code, message })); });
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('onSeatLost was not called within 10 s')), 10000);
  });
  await loseTheSeat(app);
  const { code, message } = await Promise.race([lost, timeout]);
  clearTimeout(timer);
  assert.strictEqual(code, 'DEACTIVATED');
  assert.ok(typeof message === 'string' && message.length > 0, message);
  await app.client.checkin();
  await app.client.close();
  assert.throws(() => app.client.onSeatLost(null), LicenseClientError);
  assert.throws(() => newClient().onSeatLost('not a function'), TypeError);
});

test('close() while a seat-lost callback waits for the main thread, and a callback that throws, break nothing', async () => {
  const app = sameMachine();
  let calls = 0;
  app.client.onSeatLost(() => {
    calls += 1;
    throw new Error('a bug in the app');
  });
  const warned = new Promise((resolve) => { process.once('warning', resolve); });
  await loseTheSeat(app);
  // Hold the main thread (not the event loop's turn) past the next renewals: the loss
  // is reported meanwhile, so the library's worker waits for this thread to run the
  // callback while close() frees the handle, which stops that worker.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
  await app.client.close();
  assert.strictEqual(calls, 1);
  const warning = await warned;
  assert.match(warning.message, /seat-lost callback threw: Error: a bug in the app/);
});
