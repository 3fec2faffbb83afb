// Helpers for the vmon tests: run the CLI in process or as a real process, write a local stack
// file, deterministic event files, and golden-file comparison with ids, times and paths normalised.
import type { MetricKind, Modality, WireMetricEvent } from '../../lib/core/metric-event.js';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v5 as uuidv5 } from 'uuid';
import { expect } from 'vitest';
import { runCli } from '../../lib/cli/program.js';
import type { LocalStack } from '../../lib/local/local-stack.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** vmon in this process, with its output captured. */
export async function runVmon(args: string[]): Promise<CliRun> {
  let stdout = '',
    stderr = '';
  const code = await runCli(args, {
    stdout: {
      write: (s: string) => {
        stdout += s;
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
      },
      isTTY: false,
    },
  });
  return { code, stdout, stderr };
}

/** The real executable (bin/vmon.mjs through tsx), as a user runs it. */
export function spawnVmon(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/vmon.mjs'), ...args], {
      cwd: opts.cwd ?? PROJECT_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vmon ${args.join(' ')} timed out: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'vmon-test-'));
}

/** Writes the file `npm run local` writes, for --stack-file. */
export async function writeStackFile(dir: string, stack: LocalStack): Promise<string> {
  const path = join(dir, 'stack.json');
  const {
    endpoint,
    region,
    ingestQueueUrl,
    deadLetterQueueUrl,
    tableName,
    eventBusName,
    retrainingQueueUrl,
    tapQueueUrl,
  } = stack;
  await writeFile(
    path,
    JSON.stringify(
      {
        endpoint,
        region,
        ingestQueueUrl,
        deadLetterQueueUrl,
        tableName,
        eventBusName,
        retrainingQueueUrl,
        tapQueueUrl,
      },
      null,
      2,
    ),
  );
  return path;
}

const NS = '4b1d6c2e-8f3a-4e5b-9c7d-1a2b3c4d5e6f';
/** A deterministic event id. */
export const eventId = (seed: string) => uuidv5(seed, NS);

/** One event per step: `values[k]` at `startMs + k * stepMs`. */
export function series(
  camera: string,
  metric: MetricKind,
  values: number[],
  startMs: number,
  stepMs = 10_000,
  modality: Modality = 'Rgb',
): WireMetricEvent[] {
  return values.map((value, k) => ({
    id: eventId(`${camera}|${modality}|${metric}|${k}`),
    timestamp: new Date(startMs + k * stepMs).toISOString(),
    camera_id: camera,
    modality,
    metric,
    value,
    model_version: 'm-1',
  }));
}

export const toJsonl = (events: object[]) => `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;

/** Masks what changes from run to run: ports, temp paths, timings, message ids. */
export function normalise(text: string, opts: { keepUuids?: boolean; extra?: [RegExp, string][] } = {}): string {
  let t = text;
  for (const [re, to] of opts.extra ?? []) t = t.replace(re, to);
  t = t
    .replace(/http:\/\/127\.0\.0\.1:\d+[^\s;]*/g, '<url>')
    .replace(/\/tmp\/vmon-test-[^\s/]+/g, '<tmp>')
    .replace(/processed in [\d.]+ s \(\d+ events\/s\)/g, 'processed in <time>');
  return opts.keepUuids ? t : t.replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>');
}

/** Compares with test/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead. */
export function expectGolden(name: string, text: string): void {
  const path = join(PROJECT_ROOT, 'test/golden', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.CI && !existsSync(path)) throw new Error(`golden file ${name} is missing`);
    writeFileSync(path, text);
  }
  expect(text).toBe(readFileSync(path, 'utf8'));
}
