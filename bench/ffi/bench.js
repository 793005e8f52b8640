// The Node side of the FFI benchmark (bench/ffi/run.sh); see bench.c for the output.
// Calls are awaited one after another, as an app's start-up would.
'use strict';
const { Client } = require(process.env.LC_BENCH_NODE_PACKAGE);

async function bestNs(client, mode, n, rounds) {
  let best = Infinity;
  for (let r = 0; r < rounds; r += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i += 1) {
      const v = await client.check({ mode });
      if (!v.licensed) throw new Error('bench.js: the check is not licensed');
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return best;
}

(async () => {
  const c = JSON.parse(process.env.LC_BENCH_CONFIG);
  const n = Number(process.env.LC_BENCH_N || 1000);
  const rounds = Number(process.env.LC_BENCH_ROUNDS || 5);
  const client = new Client({
    brokerUrl: c.broker_url, appId: c.app_id, trustedKeys: c.trusted_keys, product: c.product,
    dataDir: c.data_dir, keyStore: c.key_store, machineId: c.machine_id,
  });
  const offline = await bestNs(client, 'offline', n, rounds);
  const cached = await bestNs(client, 'auto', n, rounds);
  client.close();
  console.log(`offline_ns=${offline.toFixed(0)} cached_ns=${cached.toFixed(0)}`);
})().catch((e) => { console.error(e); process.exit(1); });
