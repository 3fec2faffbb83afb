// `npm run chaos`: the bounded chaos run of lib/chaos/chaos-run.ts on a local moto server. This CLI
// reads the options, prints the numbers, the checks and every missing or unexpected trigger, and
// writes bench/chaos.json; exit 1 if a check failed. `--seeds 1-20` (or 1,4,9-12) runs each seed in a
// process of its own (lib/chaos/chaos-seeds.ts), prints one line per seed and writes
// bench/chaos-seeds.json.
//
// Options (env): CHAOS_SEED (default 1; `--seed N` overrides it), CHAOS_CAMERAS (default 40),
// CHAOS_FAULT_RATE (default 0.05).
//
// `npm run chaos -- --fuzz` runs the parser fuzz of lib/chaos/fuzz.ts instead, prints its report and
// writes bench/fuzz.json; exit 1 on a crash or a silent drop. Options (env): FUZZ_SEED (default 1),
// FUZZ_BODIES (through parseBody, default 1,000,000), FUZZ_STACK_BODIES (through the local stack, 10,000),
// FUZZ_STACK_ROUND_BODIES (bodies per round of the stack phase, default 100),
// FUZZ_STACK_SEND_BUDGET_S (stop sending after this many seconds; what was sent is still checked).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAOS_DEFAULTS, runChaos, type ChaosOptions } from '../lib/chaos/chaos-run.js';
import { FUZZ_DEFAULTS, formatFuzzReport, runFuzz } from '../lib/chaos/fuzz.js';

import { parseSeeds, runSeeds, SEED_RESULT_FILE_ENV, type SeedResult } from '../lib/chaos/chaos-seeds.js';
import { formatFindings } from '../lib/core/episode-audit.js';
import { PROJECT_ROOT } from '../lib/local/moto-server.js';

// Exiting runs the emulator supervisor's exit hook, which kills moto.
process.once('SIGINT', () => process.exit(130));

if (process.argv.includes('--fuzz')) {
  const { parser, stack, ok, summary } = await runFuzz(
    {
      seed: Number(process.env.FUZZ_SEED ?? FUZZ_DEFAULTS.seed),
      parserBodies: Number(process.env.FUZZ_BODIES ?? FUZZ_DEFAULTS.parserBodies),
      stackBodies: Number(process.env.FUZZ_STACK_BODIES ?? FUZZ_DEFAULTS.stackBodies),
      ...(process.env.FUZZ_STACK_ROUND_BODIES ? { stackRoundBodies: Number(process.env.FUZZ_STACK_ROUND_BODIES) } : {}),
      ...(process.env.FUZZ_STACK_SEND_BUDGET_S
        ? { stackSendBudgetMs: Number(process.env.FUZZ_STACK_SEND_BUDGET_S) * 1000 }
        : {}),
    },
    (line) => console.log(line),
  );
  console.log(`\n${formatFuzzReport(parser, stack)}`);
  console.log(`\n${ok ? 'ok  ' : 'FAIL'} every body applied or dead-lettered with a reason; nothing thrown`);
  mkdirSync(join(PROJECT_ROOT, 'bench'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench/fuzz.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log('wrote bench/fuzz.json');
  // Output flushed first: stdout may be a pipe. The chaos run below is not for this invocation.
  await new Promise((done) => process.stdout.write('', done));
  process.exit(ok ? 0 : 1);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`chaos: ${name} needs a value, e.g. ${name} 1-20`);
    process.exit(2);
  }
  return v;
}

const seedsArg = argValue('--seeds') ?? argValue('--seed');
let seeds: number[];
try {
  seeds = seedsArg === undefined ? [Number(process.env.CHAOS_SEED ?? CHAOS_DEFAULTS.seed)] : parseSeeds(seedsArg);
} catch (err) {
  console.error(`chaos: ${(err as Error).message}`);
  process.exit(2);
}
const resultFile = process.env[SEED_RESULT_FILE_ENV];
const opts: ChaosOptions = {
  seed: seeds[0]!,
  cameras: Number(process.env.CHAOS_CAMERAS ?? CHAOS_DEFAULTS.cameras),
  faultRate: Number(process.env.CHAOS_FAULT_RATE ?? CHAOS_DEFAULTS.faultRate),
  // A child of `--seeds` reports the contract only; the write cost is the single run's.
  writeCost: resultFile === undefined,
};

if (seeds.length > 1) {
  console.log(
    `chaos: seeds ${seedsArg} (${seeds.length} runs), ${opts.cameras} cameras, fault rate ${opts.faultRate} per call, one process and moto each\n`,
  );
  const outcomes = await runSeeds(fileURLToPath(import.meta.url), seeds);
  const passed = outcomes.filter((o) => o.pass).length;
  console.log(`\n${passed}/${outcomes.length} seeds passed`);
  mkdirSync(join(PROJECT_ROOT, 'bench'), { recursive: true });
  const rows = outcomes.map((o) => ({
    seed: o.seed,
    pass: o.pass,
    ...o.result?.summary,
    suppressedBy: o.result?.suppressedBy,
  }));
  writeFileSync(join(PROJECT_ROOT, 'bench/chaos-seeds.json'), `${JSON.stringify(rows, null, 2)}\n`);
  console.log('wrote bench/chaos-seeds.json');
  process.exit(passed === outcomes.length ? 0 : 1);
}

const {
  summary,
  extra,
  checks,
  audit,
  writeCost: cost,
} = await runChaos(opts, (endpoint) =>
  console.log(
    `chaos: seed ${opts.seed}, ${opts.cameras} cameras, fault rate ${opts.faultRate} per call, local moto ${endpoint}`,
  ),
);
const findings = formatFindings(audit);
const passed = Object.values(checks).every(Boolean);
if (resultFile !== undefined) {
  const result: SeedResult = {
    seed: opts.seed,
    summary,
    suppressedBy: extra.episodesSuppressedBy as Record<string, number>,
    checks,
    findings,
  };
  writeFileSync(resultFile, JSON.stringify(result));
  process.exit(passed ? 0 : 1);
}

console.log('\nresult');
for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(28)} ${v}`);
console.log('\ndetails');
for (const [k, v] of Object.entries(extra))
  console.log(`  ${k.padEnd(28)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
console.log('\nchecks');
for (const [k, v] of Object.entries(checks)) console.log(`  ${v ? 'ok  ' : 'FAIL'} ${k}`);
console.log('  duplicate trigger deliveries carry the triggerId of the first one: consumers dedupe by triggerId');
for (const f of findings) console.log(`  ${f}`);

if (!cost) throw new Error('the write cost was not measured');
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
process.exitCode = passed ? 0 : 1;
