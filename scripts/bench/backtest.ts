// (7) Backtest throughput: the real `vmon backtest` executable (bin/vmon.mjs) over a JSONL file of
// the fleet workload, default policy, no report. Events/s over the process's wall time (start-up
// included, as a user sees it), with the rate the CLI reports for its own replay alongside.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { workloadLines } from './workload.js';

export const BACKTEST_LABEL = 'vmon backtest on a JSONL file (wall time, start-up included)';

export function benchBacktest(events: number): {
  eventsPerSec: number;
  cliEventsPerSec: number;
  events: number;
  triggers: number;
  seconds: number;
} {
  const dir = mkdtempSync(join(tmpdir(), 'vmon-backtest-'));
  try {
    const file = join(dir, 'events.jsonl');
    const lines = workloadLines(events, 'bt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const expected = lines.length;

    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [join(PROJECT_ROOT, 'bin/vmon.mjs'), 'backtest', file, '--json', '--no-report', '--no-progress'],
      { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 1 << 28 },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`vmon backtest exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
    const out = JSON.parse(r.stdout) as {
      totals: { events: number; applied: number; rejected: number; triggers: number };
      eventsPerSecond: number;
    };
    if (out.totals.events !== expected || out.totals.rejected !== 0)
      throw new Error(
        `vmon backtest read ${out.totals.events} events (${out.totals.rejected} rejected) of ${expected}`,
      );
    return {
      eventsPerSec: expected / seconds,
      cliEventsPerSec: out.eventsPerSecond,
      events: expected,
      triggers: out.totals.triggers,
      seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
