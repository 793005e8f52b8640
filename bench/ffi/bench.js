// The Node side of the FFI benchmark (bench/ffi/run.sh); see bench.c for the output.
// Calls are awaited one after another, as an app's start-up would.
'use strict';
const { Client } = require(process.env.LC_BENCH_NODE_PACKAGE);

async function roundNs(client, mode, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) {
    const v = await client.check({ mode });
    if (!v.licensed) throw new Error('bench.js: the check is not licensed');
  }
  return Number(process.hrtime.bigint() - start) / n;
}

(async () => {
  const c = JSON.parse(process.env.LC_BENCH_CONFIG);
  const n = Number(process.env.LC_BENCH_N || 1000);
  const rounds = Number(process.env.LC_BENCH_ROUNDS || 5);
  const client = new Client({
    brokerUrl: c.broker_url, appId: c.app_id, trustedKeys: c.trusted_keys, product: c.product,
    dataDir: c.data_dir, keyStore: c.key_store, machineId: c.machine_id,
  });
  // The two kinds alternate round by round, so a noisy moment hits both alike.
  let offline = Infinity;
  let cached = Infinity;
  for (let r = 0; r < rounds; r += 1) {
    offline = Math.min(offline, await roundNs(client, 'offline', n));
    cached = Math.min(cached, await roundNs(client, 'auto', n));
  }
  client.close();
  console.log(`offline_ns=${offline.toFixed(0)} cached_ns=${cached.toFixed(0)}`);
})().catch((e) => { console.error(e); process.exit(1); });
