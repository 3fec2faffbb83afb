// `npm run chaos -- --seeds 1-20`: the chaos run for many seeds, each in a process of its own (the
// ingest handler module reads its environment once per process, and each run starts and stops its
// own moto). One line per seed with the contract numbers; on a failed seed, the failed checks and
// every missing or unexpected triggerId with its camera, detector, episode and reason.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaosSummary } from './chaos-run.js';

/** A child run writes its SeedResult as JSON to the file this variable names. */
export const SEED_RESULT_FILE_ENV = 'CHAOS_RESULT_FILE';

export interface SeedResult {
  seed: number;
  summary: ChaosSummary;
  suppressedBy: Record<string, number>;
  checks: Record<string, boolean>;
  /** formatFindings of the episode audit: one line per missing or unexpected trigger. */
  findings: string[];
}

export interface SeedOutcome {
  seed: number;
  pass: boolean;
  result?: SeedResult;
  /** When the child died without a result: the end of its output. */
  crash?: string;
}

/** `1-20`, `3`, `1,4,9-12` → the seeds, in order, without repeats. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`--seeds: expected seeds like 1-20 or 1,4,9-12, got ${JSON.stringify(text)}`);
    const from = Number(m[1]),
      to = Number(m[2] ?? m[1]);
    if (to < from) throw new Error(`--seeds: range ${part.trim()} runs backwards`);
    if (to - from >= 1000) throw new Error(`--seeds: range ${part.trim()} holds more than 1000 seeds`);
    for (let s = from; s <= to; s++) if (!seeds.includes(s)) seeds.push(s);
  }
  return seeds;
}

const COLUMNS = [
  ['seed', 4],
  ['sent', 5],
  ['applied', 7],
  ['lost', 4],
  ['parked', 6],
  ['episodes published', 18],
  ['suppressed', 10],
  ['triggers expected', 17],
  ['on bus', 6],
  ['missing', 7],
  ['unexpected', 10],
  ['result', 6],
] as const;

const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(COLUMNS[i]![1])).join('  ');

export function seedRow(o: SeedOutcome): string {
  const s = o.result?.summary;
  if (!s) return line([o.seed, ...COLUMNS.slice(1, -1).map(() => '-'), o.pass ? 'pass' : 'FAIL']);
  return line([
    o.seed,
    s.sent,
    s.applied,
    s.lost,
    s.messagesParked,
    s.episodesPublished,
    s.episodesSuppressed,
    s.triggersExpected,
    s.uniqueTriggers,
    s.triggersMissing,
    s.triggersUnexpected,
    o.pass ? 'pass' : 'FAIL',
  ]);
}

function runChild(script: string, seed: number, resultFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    // execArgv carries tsx's loader, so the child runs the same TypeScript entry point.
    const child = spawn(process.execPath, [...process.execArgv, script], {
      env: { ...process.env, CHAOS_SEED: String(seed), [SEED_RESULT_FILE_ENV]: resultFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const forward = () => child.kill('SIGINT');
    process.once('SIGINT', forward);
    child.on('error', reject);
    child.on('close', (code) => {
      process.off('SIGINT', forward);
      resolve({ code: code ?? 1, output });
    });
  });
}

/** Runs `script` (a chaos entry point honouring CHAOS_SEED and SEED_RESULT_FILE_ENV) once per seed. */
export async function runSeeds(
  script: string,
  seeds: readonly number[],
  log: (line: string) => void = console.log,
): Promise<SeedOutcome[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vmon-chaos-'));
  const outcomes: SeedOutcome[] = [];
  try {
    log(line(COLUMNS.map(([name]) => name)));
    for (const seed of seeds) {
      const file = join(dir, `seed-${seed}.json`);
      const { code, output } = await runChild(script, seed, file);
      if (!existsSync(file)) {
        const crash = output.trim().split('\n').slice(-15).join('\n');
        outcomes.push({ seed, pass: false, crash });
        log(seedRow(outcomes.at(-1)!));
        log(`    the run died (exit ${code}) without a result; its last output:\n${crash.replace(/^/gm, '    | ')}`);
        continue;
      }
      const result = JSON.parse(readFileSync(file, 'utf8')) as SeedResult;
      const pass = code === 0 && Object.values(result.checks).every(Boolean);
      outcomes.push({ seed, pass, result });
      log(seedRow(outcomes.at(-1)!));
      if (!pass) {
        for (const [check, ok] of Object.entries(result.checks)) if (!ok) log(`    FAIL ${check}`);
        for (const f of result.findings) log(`    ${f}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return outcomes;
}
