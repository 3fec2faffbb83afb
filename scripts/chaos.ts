// `npm run chaos`: the bounded chaos run of lib/chaos/chaos-run.ts on a local moto server. This CLI
// reads the options, prints the numbers and the checks, and writes bench/chaos.json; exit 1 if a
// check failed.
//
// Options (env): CHAOS_SEED (default 1), CHAOS_CAMERAS (default 40), CHAOS_FAULT_RATE (default 0.05).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHAOS_DEFAULTS, runChaos, type ChaosOptions } from '../lib/chaos/chaos-run.js';
import { PROJECT_ROOT } from '../lib/local/moto-server.js';

const opts: ChaosOptions = {
  seed: Number(process.env.CHAOS_SEED ?? CHAOS_DEFAULTS.seed),
  cameras: Number(process.env.CHAOS_CAMERAS ?? CHAOS_DEFAULTS.cameras),
  faultRate: Number(process.env.CHAOS_FAULT_RATE ?? CHAOS_DEFAULTS.faultRate),
};

// Exiting runs the emulator supervisor's exit hook, which kills moto.
process.once('SIGINT', () => process.exit(130));

const {
  summary,
  extra,
  checks,
  writeCost: cost,
} = await runChaos(opts, (endpoint) =>
  console.log(
    `chaos: seed ${opts.seed}, ${opts.cameras} cameras, fault rate ${opts.faultRate} per call, local moto ${endpoint}`,
  ),
);

console.log('\nresult');
for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(28)} ${v}`);
console.log('\ndetails');
for (const [k, v] of Object.entries(extra))
  console.log(`  ${k.padEnd(28)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
console.log('\nchecks');
for (const [k, v] of Object.entries(checks)) console.log(`  ${v ? 'ok  ' : 'FAIL'} ${k}`);
console.log('  duplicate trigger deliveries carry the triggerId of the first one: consumers dedupe by triggerId');

console.log('\nwrite cost (fault-free, one camera, batches of 10 events)');
console.log(
  `  PutItem per batch: new events ${cost.putItemPerBatch.newEvents}, all redelivered ${cost.putItemPerBatch.redelivered}, ` +
    `half redelivered ${cost.putItemPerBatch.halfDuplicate}, deciding a trigger ${cost.putItemPerBatch.decidesTrigger}, while the alert keeps firing ${cost.putItemPerBatch.whileFiring}`,
);
const wcu = (b: number) => Math.max(1, Math.ceil(b / 1024));
for (const [label, v] of [
  ['one modality (5 streams)', cost.itemBytes.oneModality],
  ['three modalities (15 streams)', cost.itemBytes.allModalities],
] as const) {
  console.log(
    `  item bytes, ${label}, default policy: ${v.withDedupMemory} with dedup memory (${wcu(v.withDedupMemory)} WCU/write), ${v.windowsOnly} with windows only (${wcu(v.windowsOnly)} WCU/write)`,
  );
}
console.log(
  `  a per-event idempotency record would add ${cost.perEventIdempotencyRecordsWouldAdd} writes per such batch`,
);

mkdirSync(join(PROJECT_ROOT, 'bench'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench/chaos.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log('\nwrote bench/chaos.json');
process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
