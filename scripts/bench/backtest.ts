// (7) Backtest throughput. `vmon backtest` (issue 6) is not built yet, so this measures what it will
// run: an in-process replay of a JSONL file (one event per line) through parseBody and applyEvents,
// with every camera's state kept in memory. Labelled as such in the table.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEvents, emptyState, type CameraState } from '../../lib/core/camera-state.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { Fleet, WORKLOAD_NOW_MS } from './workload.js';

export const BACKTEST_LABEL = 'in-process replay of JSONL (parse + applyEvents); vmon backtest not built yet';

export function benchBacktest(events: number): { eventsPerSec: number; events: number; triggers: number } {
  const dir = mkdtempSync(join(tmpdir(), 'vmon-backtest-'));
  try {
    const file = join(dir, 'events.jsonl');
    const fleet = new Fleet({ cameras: 500, eventsPerMessage: 100, messagesPerBatch: 500, batches: Math.ceil(events / 50_000), prefix: 'bt', seed: 9 });
    const lines: string[] = [];
    for (const batch of fleet.batches()) for (const m of batch) lines.push(m.body.slice(1, -1).replace(/\},\{/g, '}\n{'));
    writeFileSync(file, lines.join('\n') + '\n');

    const policy = DEFAULT_POLICY;
    const t0 = performance.now();
    const text = readFileSync(file, 'utf8');
    const states = new Map<string, CameraState>();
    const pending = new Map<string, MetricEvent[]>();
    let count = 0, triggers = 0;
    const flush = () => {
      for (const [camera, evs] of pending) {
        const state = states.get(camera) ?? emptyState();
        triggers += applyEvents(state, evs, policy).triggers.length;
        states.set(camera, state);
      }
      pending.clear();
    };
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (end > start) {
        for (const e of parseBody(text.slice(start, end), WORKLOAD_NOW_MS).events) {
          let list = pending.get(e.camera_id);
          if (!list) pending.set(e.camera_id, (list = []));
          list.push(e);
          count++;
        }
        if (count % 10_000 === 0) flush();
      }
      start = end + 1;
    }
    flush();
    return { eventsPerSec: count / ((performance.now() - t0) / 1000), events: count, triggers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
