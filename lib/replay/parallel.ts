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
  type ShardSpec,
} from './engine.js';

/**
 * A source as data: an event file, or an exported function of a module (a file URL) that returns a
 * source, called with `args` and the shard it is opened for (it may read only that shard's cameras).
 */
export type SourceSpec = FileSourceSpec | { module: string; export: string; args?: unknown };

export async function openSource(spec: SourceSpec, shard?: ShardSpec): Promise<ReplaySource> {
  if ('file' in spec) return fileSource(spec.file, spec.format, undefined, spec.series);
  const m = (await import(spec.module)) as Record<
    string,
    (args: unknown, shard?: ShardSpec) => ReplaySource | Promise<ReplaySource>
  >;
  const make = m[spec.export];
  if (typeof make !== 'function') throw new Error(`${spec.module} exports no function ${spec.export}`);
  // The shard lets a source read only what holds the shard's cameras (the history's camera buckets).
  return make(spec.args, shard);
}

/** Options a worker can receive: policies as data. */
export type WorkerReplayOptions = Omit<ReplayOptions, 'policies'> & { policies: ReplayPolicies };

/** The shard step as a worker task; `progress` gets the bytes read of a file source. */
export async function shardTask(
  args: {
    source: SourceSpec;
    opts: WorkerReplayOptions & Pick<ShardOptions, 'shard' | 'priors'>;
  },
  progress?: (n: number) => void,
): Promise<ShardResult> {
  const source =
    'file' in args.source && progress
      ? fileSource(args.source.file, args.source.format, progress, args.source.series)
      : await openSource(args.source, args.opts.shard);
  return replayCameraShard(source, args.opts);
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
      // Progress is posted at most every 100 ms.
      let pending = 0, last = 0;
      const progress = (n) => {
        pending += n;
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        parentPort.postMessage({ id, progress: pending });
        pending = 0;
      };
      const result = await m[name](args, progress);
      if (pending) parentPort.postMessage({ id, progress: pending });
      parentPort.postMessage({ id, result });
    } catch (err) {
      parentPort.postMessage({ id, error: { message: String(err && err.message || err), name: err && err.name, exitCode: err && err.exitCode, stack: err && err.stack } });
    }
  });
})();
`;

/** The URL of tsx's ESM register API (its CommonJS twin fails to load its ESM half from a worker). */
function tsxEsmApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  return pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: (n: number) => void;
}

/** Worker threads that call exported functions of modules; one task at a time per worker. */
export class WorkerPool {
  private readonly workers: { worker: Worker; busy: boolean }[] = [];
  private readonly queue: { module: string; name: string; args: unknown; p: Pending }[] = [];
  private readonly pending = new Map<number, { p: Pending; slot: { worker: Worker; busy: boolean } }>();
  private nextId = 1;

  constructor(readonly size: number) {
    const tsx = import.meta.url.endsWith('.ts') ? tsxEsmApi() : undefined;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_CODE, { eval: true, workerData: { tsx } });
      const slot = { worker, busy: false };
      worker.on(
        'message',
        (m: {
          id: number;
          result?: unknown;
          progress?: number;
          error?: { message: string; name?: string; exitCode?: number; stack?: string };
        }) => {
          const entry = this.pending.get(m.id);
          if (!entry) return;
          if (m.progress !== undefined) {
            entry.p.onProgress?.(m.progress);
            return;
          }
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

  /**
   * Calls `name` of `module` (a file URL) with `args` in a free worker; the function's second argument
   * reports progress (a number, summed here and passed on to `onProgress`).
   */
  call<T>(module: string, name: string, args: unknown, onProgress?: (n: number) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ module, name, args, p: { resolve: resolve as (v: unknown) => void, reject, onProgress } });
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
 * Replays a source on `workers` worker threads (one shard each; 1: in this process, no thread, unless
 * `threads`). Same result as one process: cameras are independent given the cohort priors, and the merge
 * checks those. `onBytes`: progress through a file source.
 */
export async function replayParallel(
  source: SourceSpec,
  opts: WorkerReplayOptions & { workers?: number; threads?: boolean; onBytes?: (n: number) => void },
): Promise<ReplayResult & { rounds: number; mergeMs: number }> {
  const workers = opts.workers ?? defaultWorkers();
  const { workers: _w, threads, onBytes, ...rest } = opts;
  const o = { ...rest, nowMs: opts.nowMs ?? Date.now() };
  if (workers <= 1 && !threads) {
    const src =
      'file' in source && onBytes
        ? fileSource(source.file, source.format, onBytes, source.series)
        : await openSource(source, { index: 0, count: 1 });
    return replayShards(1, (shard, priors) => replayCameraShard(src, { ...o, shard, priors }), o);
  }
  const pool = new WorkerPool(workers);
  try {
    return await replayShards(
      workers,
      (shard, priors) =>
        pool.call<ShardResult>(
          THIS_MODULE,
          'shardTask',
          { source, opts: { ...o, shard, ...(priors ? { priors } : {}) } },
          // Every worker reads the whole file: the first round's bytes, averaged, are the file's progress.
          onBytes && !priors ? (n) => onBytes(n / workers) : undefined,
        ),
      o,
    );
  } finally {
    await pool.close();
  }
}
