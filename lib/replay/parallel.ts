// Replay on every core: a pool of worker threads, each running the engine's shard step on its share of
// the cameras (lib/replay/engine.ts); the merge runs here. A worker calls an exported function of a
// module by URL with JSON-serialisable arguments, so the same pool runs shards, tune candidates and the
// bench's generated fleets. TypeScript modules (the repo run through tsx, vitest) load through tsx.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CliError, type ExitCode } from '../cli/errors.js';
import { fileSource, type FileSourceSpec } from './sources.js';
import {
  replayCameraShard,
  replayShards,
  type ReplayOptions,
  type ReplayPolicies,
  type ReplayResult,
  type ReplaySource,
  type ShardOptions,
  type ShardResult,
} from './engine.js';

/** A source as data: an event file, or an exported function of a module that returns a source. */
export type SourceSpec = FileSourceSpec | { module: string; export: string; args?: unknown };

export async function openSource(spec: SourceSpec, shard?: ShardOptions['shard']): Promise<ReplaySource> {
  if ('file' in spec) return fileSource(spec.file, spec.format, undefined, spec.series);
  const m = (await import(spec.module)) as Record<
    string,
    (args: unknown, shard?: ShardOptions['shard']) => ReplaySource | Promise<ReplaySource>
  >;
  const make = m[spec.export];
  if (typeof make !== 'function') throw new Error(`${spec.module} exports no function ${spec.export}`);
  // The shard lets a source read only what holds the shard's cameras (the history's camera buckets).
  return make(spec.args, shard);
}

/** Options a worker can receive: policies as data. */
export type WorkerReplayOptions = Omit<ReplayOptions, 'policies'> & { policies: ReplayPolicies };

/** The shard step as a worker task. */
export async function shardTask(args: {
  source: SourceSpec;
  opts: WorkerReplayOptions & Pick<ShardOptions, 'shard' | 'priors'>;
}): Promise<ShardResult> {
  return replayCameraShard(await openSource(args.source, args.opts.shard), args.opts);
}

const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) {
    const m = await import(workerData.tsx);
    (m.register ?? m.default.register)();
  }
  const modules = new Map();
  parentPort.on('message', async ({ id, module, name, args }) => {
    try {
      let m = modules.get(module);
      if (!m) modules.set(module, (m = await import(module)));
      parentPort.postMessage({ id, result: await m[name](args) });
    } catch (err) {
      parentPort.postMessage({ id, error: { message: String(err && err.message || err), name: err && err.name, exitCode: err && err.exitCode, stack: err && err.stack } });
    }
  });
})();
`;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Worker threads that call exported functions of modules; one task at a time per worker. */
export class WorkerPool {
  private readonly workers: { worker: Worker; busy: boolean }[] = [];
  private readonly queue: { module: string; name: string; args: unknown; p: Pending }[] = [];
  private readonly pending = new Map<number, { p: Pending; slot: { worker: Worker; busy: boolean } }>();
  private nextId = 1;

  constructor(readonly size: number) {
    const tsx = import.meta.url.endsWith('.ts')
      ? pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href
      : undefined;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_CODE, { eval: true, workerData: { tsx } });
      const slot = { worker, busy: false };
      worker.on(
        'message',
        (m: {
          id: number;
          result?: unknown;
          error?: { message: string; name?: string; exitCode?: number; stack?: string };
        }) => {
          const entry = this.pending.get(m.id);
          if (!entry) return;
          this.pending.delete(m.id);
          slot.busy = false;
          if (m.error) {
            const err =
              m.error.name === 'CliError'
                ? new CliError(m.error.message, m.error.exitCode as ExitCode)
                : Object.assign(new Error(m.error.message), { stack: m.error.stack });
            entry.p.reject(err);
          } else entry.p.resolve(m.result);
          this.pump();
        },
      );
      worker.on('error', (err) => {
        for (const [id, entry] of this.pending)
          if (entry.slot === slot) {
            this.pending.delete(id);
            entry.p.reject(err);
          }
      });
      this.workers.push(slot);
    }
  }

  /** Calls `name` of `module` (a file URL) with `args` in a free worker. */
  call<T>(module: string, name: string, args: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ module, name, args, p: { resolve: resolve as (v: unknown) => void, reject } });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.workers) {
      if (slot.busy || this.queue.length === 0) continue;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      slot.busy = true;
      this.pending.set(id, { p: task.p, slot });
      slot.worker.postMessage({ id, module: task.module, name: task.name, args: task.args });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** The default worker count: the machine's cores. */
export const defaultWorkers = (): number => availableParallelism();

const THIS_MODULE = import.meta.url;

/**
 * Replays a source on `workers` worker threads (one shard each; 1: in this process, no thread). Same
 * result as one process: cameras are independent given the cohort priors, and the merge checks those.
 */
export async function replayParallel(
  source: SourceSpec,
  opts: WorkerReplayOptions & { workers?: number },
): Promise<ReplayResult & { rounds: number }> {
  const workers = opts.workers ?? defaultWorkers();
  const { workers: _w, ...rest } = opts;
  const o = { ...rest, nowMs: opts.nowMs ?? Date.now() };
  if (workers <= 1) {
    const src = await openSource(source);
    return replayShards(1, (shard, priors) => replayCameraShard(src, { ...o, shard, priors }), o);
  }
  const pool = new WorkerPool(workers);
  try {
    return await replayShards(
      workers,
      (shard, priors) =>
        pool.call<ShardResult>(THIS_MODULE, 'shardTask', {
          source,
          opts: { ...o, shard, ...(priors ? { priors } : {}) },
        }),
      o,
    );
  } finally {
    await pool.close();
  }
}
