// The cohort prior's effect on a new camera (docs/fleet-decisions.md "Cohort prior"): detection delay of
// a drift a camera has from its first event, with its cohort's prior vs without (warm-up 200 values), for
// the shipped sequential kinds at their schema defaults. The cohort is built through the live mechanism
// (`vmon backtest`'s replay: member records → shard summaries → head, lib/core/cohort-prior.ts); each
// joining camera then runs value by value through the production camera step (applyEvents) with the
// head's prior, as the ingest handler gives it. Also the cost of arming early: how many in-control
// joiners fire within their first 200 values (a camera warming up alone cannot). And what the prior adds
// to the cohort items: shard and head item sizes on moto through the DynamoDB adapter, with and without
// baselines in the member records (a cohort of 320 cameras, 10 per shard, one watched metric).
// Run: `npx tsx scripts/bench/cohort-prior.ts [--quick]` (writes bench/cohort-prior.json).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEvents, emptyState, type CohortContext } from '../../lib/core/camera-state.js';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { cohortPriorOf, summarizeShard, type CohortKey, type MemberRecord } from '../../lib/core/cohort.js';
import { DynamoCohortStore } from '../../lib/adapters/cohort-store.js';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';
import { shardOf } from '../../lib/app/cohort-signals.js';
import { COHORT, STATE_TABLE } from '../../lib/resources.js';
import { startCountedMoto } from './emulators.js';
import type { MetricEvent } from '../../lib/core/metric-event.js';
import { detectorConfig, parsePolicy, type PolicyInput } from '../../lib/core/policy.js';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { mulberry32, normal } from '../../lib/sim/prng.js';
import { formatTable } from './table.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-27T00:00:00Z');
const LEVEL = 0.2;
const SIGMA = 0.05;
/** Spreads of the cameras' own levels around the cohort's, in σ of their noise. */
const BETWEENS = [0.25, 1];
const HORIZON = 1000;
const KINDS = ['cusum', 'ewma', 'mean-shift'] as const;

const POLICY = parsePolicy({
  id: 'cohort-prior-bench',
  // Schema defaults (warm-up 200, mean-shift 50; minShift 0); model scope, the default: cameras report to their cohort.
  detectors: KINDS.map((kind) => ({ id: kind, kind, metric: 'DriftScore', action: 'RetrainingRequested' })),
  cooldownSeconds: 0,
} as PolicyInput);

function event(camera: string, i: number, value: number): MetricEvent {
  const ts = T0 + i * MIN;
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    timestamp: new Date(ts).toISOString(),
    ts,
    camera_id: camera,
    modality: 'Rgb',
    metric: 'DriftScore',
    value,
    model_version: 'det-v1',
  } as MetricEvent;
}

/** The cohort's head after its established cameras ran through the live replay. */
async function establishedCohortPrior(cameras: number, between: number, seed: number) {
  const z = normal(mulberry32(seed));
  const events: MetricEvent[] = [];
  for (let c = 0; c < cameras; c++) {
    const level = LEVEL + between * SIGMA * z();
    for (let i = 0; i < 400; i++) events.push(event(`old-${c}`, i, level + SIGMA * z()));
  }
  const r = await backtestEventsWithCohorts(events, () => POLICY);
  const head = r.cohorts.find((c) => c.cohort.modelVersion === 'det-v1')!.head;
  return cohortPriorOf(head).DriftScore!;
}

/** Values until each chart first fires on one joining camera (null: not within HORIZON). */
function firstFiring(shiftSigmas: number, between: number, prior: CohortContext['priorOf'], seed: number) {
  const z = normal(mulberry32(seed));
  const level = LEVEL + between * SIGMA * z();
  const ctx: CohortContext = { epochOf: () => undefined, ...(prior ? { priorOf: prior } : {}) };
  const state = emptyState();
  const out: Record<string, number | null> = Object.fromEntries(KINDS.map((k) => [k, null]));
  for (let i = 0; i < HORIZON && KINDS.some((k) => out[k] === null); i++) {
    applyEvents(state, [event('joiner', 10_000 + i, level + (shiftSigmas + z()) * SIGMA)], POLICY, ctx);
    delete state.signals;
    for (const k of KINDS) if (out[k] === null && (state.alerts[`${k}@Rgb`]?.e ?? 0) > 0) out[k] = i + 1;
  }
  return out;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

export interface CohortPriorRow {
  kind: string;
  /** Spread of camera levels, σ. */
  between: number;
  shiftSigmas: number;
  prior: boolean;
  runs: number;
  detected: number;
  medianDelay: number | null;
  p90Delay: number | null;
  /** In control (shift 0): runs that fired within their first 200 charted values (1–200 with the prior, the 200 after the warm-up without). */
  firedFirst200Charted?: number;
}

export async function benchCohortPrior(quick: boolean) {
  const runs = quick ? 100 : 1000;
  const rows: CohortPriorRow[] = [];
  const priors = [];
  for (const between of BETWEENS) {
    const prior = await establishedCohortPrior(20, between, 1);
    priors.push({ between, ...prior });
    const priorOf: CohortContext['priorOf'] = (_mv, _m, metric) => (metric === 'DriftScore' ? prior : undefined);
    for (const shift of [1, 2, 0])
      for (const withPrior of [true, false]) {
        const delays: Record<string, number[]> = Object.fromEntries(KINDS.map((k) => [k, []]));
        for (let r = 0; r < runs; r++) {
          const first = firstFiring(shift, between, withPrior ? priorOf : undefined, 1000 + r);
          for (const k of KINDS) if (first[k] !== null) delays[k]!.push(first[k]!);
        }
        for (const k of KINDS) {
          const d = delays[k]!;
          const warmup = (detectorConfig(POLICY.detectors.find((d) => d.id === k)!) as { warmup: number }).warmup;
          const charted = (x: number) => (withPrior ? x <= 200 : x > warmup && x <= warmup + 200);
          rows.push({
            kind: k,
            between,
            shiftSigmas: shift,
            prior: withPrior,
            runs,
            detected: d.length,
            medianDelay: d.length ? quantile(d, 0.5) : null,
            p90Delay: d.length >= runs * 0.9 ? quantile(d, 0.9) : null,
            ...(shift === 0 ? { firedFirst200Charted: d.filter(charted).length } : {}),
          });
        }
      }
  }
  return { priors, runs, rows };
}

/** Largest shard item and the head item of a cohort of `cameras`, with or without baselines in the records. */
export async function cohortItemSizes(cameras: number) {
  const env = await startCountedMoto();
  try {
    const out: Record<string, { shardBytes: number; headBytes: number }> = {};
    for (const withPrior of [false, true]) {
      const store = new DynamoCohortStore(env.ddb, env.stack.tableName);
      const cohort: CohortKey = {
        modelVersion: withPrior ? 'yolov8n-2026.11.02' : 'yolov8n-2026.11.01',
        modality: 'Rgb',
      };
      const z = normal(mulberry32(3));
      for (let c = 0; c < cameras; c++) {
        const cameraId = `camera-${String(c).padStart(5, '0')}`;
        const rec: MemberRecord = { q: 2 * T0, a: 0, l: T0, b: Math.floor(T0 / 3600_000), r: 0 };
        if (withPrior)
          rec.p = {
            DriftScore: [Number((LEVEL + 0.01 * z()).toPrecision(4)), Number((SIGMA + 0.005 * z()).toPrecision(3))],
          };
        const k = shardOf(cameraId, store.shardCount);
        const shard = await store.applyMember({ cohort, cameraId, rec }, k);
        await store.putSummary(
          cohort,
          k,
          summarizeShard(
            shard.members.map((m) => m.rec),
            shard.version,
          ),
        );
      }
      const get = async (key: string) =>
        itemSizeBytes(
          (
            await env.ddb.send(
              new GetItemCommand({
                TableName: env.stack.tableName,
                Key: { [STATE_TABLE.partitionKey.name]: { S: key } },
              }),
            )
          ).Item ?? {},
        );
      let shardBytes = 0;
      for (let k = 0; k < store.shardCount; k++)
        shardBytes = Math.max(shardBytes, await get(COHORT.shardKey(cohort.modality, cohort.modelVersion, k)));
      out[withPrior ? 'withPrior' : 'without'] = {
        shardBytes,
        headBytes: await get(COHORT.headKey(cohort.modality, cohort.modelVersion)),
      };
    }
    return out;
  } finally {
    await env.stop();
  }
}

if (process.argv[1]?.endsWith('cohort-prior.ts')) {
  const quick = process.argv.includes('--quick');
  const started = performance.now();
  const r = await benchCohortPrior(quick);
  const fmt = (x: number | null) => (x === null ? '-' : String(x));
  for (const p of r.priors)
    process.stdout.write(
      `cohort prior from ${p.cameras} established cameras, levels spread ${p.between}σ: mean ${p.mean}, sigma ${p.sigma}, n ${p.n} (true level ${LEVEL}, noise σ ${SIGMA})\n`,
    );
  process.stdout.write('\n');
  process.stdout.write(
    formatTable(
      [
        'levels spread',
        'chart',
        'drift from 1st event',
        'prior',
        'detected',
        'median delay (values)',
        'p90',
        'in control: fired in first 200 charted',
      ],
      r.rows.map((x) => [
        `${x.between}σ`,
        x.kind,
        x.shiftSigmas === 0 ? 'none' : `+${x.shiftSigmas}σ`,
        x.prior ? 'cohort' : 'none (warm-up 200)',
        `${x.detected}/${x.runs}`,
        fmt(x.medianDelay),
        fmt(x.p90Delay),
        x.firedFirst200Charted === undefined ? '' : `${x.firedFirst200Charted}/${x.runs}`,
      ]),
    ),
  );
  const sizeCameras = 320;
  const sizes = await cohortItemSizes(sizeCameras);
  process.stdout.write(
    `\ncohort items, ${sizeCameras} cameras (${sizeCameras / COHORT.shards} per shard), one watched metric: largest shard ${sizes.without!.shardBytes} B → ${sizes.withPrior!.shardBytes} B with baselines; head ${sizes.without!.headBytes} B → ${sizes.withPrior!.headBytes} B\n`,
  );
  const out = join(PROJECT_ROOT, 'bench', quick ? 'cohort-prior-quick.json' : 'cohort-prior.json');
  writeFileSync(
    out,
    `${JSON.stringify({ ...r, horizon: HORIZON, level: LEVEL, sigma: SIGMA, itemSizes: { cameras: sizeCameras, ...sizes } }, null, 2)}\n`,
  );
  process.stdout.write(
    `\n${r.runs} runs per row, horizon ${HORIZON} values, ${((performance.now() - started) / 1000).toFixed(0)} s; written to ${out}\n`,
  );
}
