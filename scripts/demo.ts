// `npm run demo`: the main job on a simulated fleet, locally. Thin CLI over lib/demo/run-demo.ts:
// live progress, the summary table, the HTML report path; exit 0 only when the verdict is ok.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { runDemo, type DemoProgress } from '../lib/demo/run-demo.js';
import { fleetDemoReport, formatFleetSummary, runFleetDemo } from '../lib/demo/fleet-demo.js';
import { demoReport } from '../lib/demo/report.js';
import { formatSummary, hhmm } from '../lib/demo/summary.js';
import { escapeForDisplay } from '../lib/core/display-text.js';
import { formatClosedLoop } from '../lib/demo/closed-loop.js';
import { writeHtmlReport } from '../lib/report/html-report.js';
import { FLEET_DEFAULTS } from '../lib/sim/fleet-simulator.js';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a number > 0, got ${JSON.stringify(v)}`);
  return n;
};

const hourOfDay = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n < 24)) throw new InvalidArgumentError(`--start-hour must be in [0, 24), got ${JSON.stringify(v)}`);
  return n;
};

const program = new Command('demo')
  .description(
    'Runs a simulated camera fleet through the real pipeline on a local moto server and reports what the monitor detected.',
  )
  .option('--cameras <n>', 'simulated cameras', positiveInt('--cameras'), FLEET_DEFAULTS.cameras)
  .option('--hours <h>', 'simulated hours', positive('--hours'), FLEET_DEFAULTS.hours)
  .option('--seed <n>', 'random seed (same seed, same fleet)', positiveInt('--seed'), FLEET_DEFAULTS.seed)
  .option(
    '--start-hour <h>',
    'local hour of day the run starts at (night is 18:00-06:00)',
    hourOfDay,
    FLEET_DEFAULTS.startHourOfDay,
  )
  .option('--report <path>', 'HTML report to write', 'reports/demo-report.html')
  .option('--no-progress', 'no progress bar (plain lines only)')
  .option(
    '--fleet',
    'the fleet-decisions demo instead: three models, a staggered drift, a lone camera (docs/fleet-decisions.md)',
  )
  .option(
    '--upload-minutes <n>',
    "with --fleet: minutes of events per camera upload, a period's uploads shuffled (1-60)",
    positiveInt('--upload-minutes'),
    10,
  )
  .parse();
const opts = program.opts<{
  cameras: number;
  hours: number;
  seed: number;
  startHour: number;
  report: string;
  progress: boolean;
  fleet?: boolean;
  uploadMinutes: number;
}>();

const simClock = (p: DemoProgress) =>
  `${((p.simulatedMs - p.startMs) / 3600_000).toFixed(1)}/${((p.endMs - p.startMs) / 3600_000).toFixed(0)} h`;

/** A bar on a terminal; in CI or a pipe, a plain line every 10%. */
function progressReporter(interactive: boolean) {
  let bar: cliProgress.SingleBar | undefined;
  let lastDecile = -1;
  let lastPhase = '';
  return {
    update(p: DemoProgress) {
      if (p.phase !== lastPhase && p.phase !== 'sending') {
        if (bar && p.phase === 'draining')
          bar.update(p.messagesHandled, { sim: simClock(p), triggers: p.triggers, retries: p.failedRecords });
        if (!interactive || p.phase !== 'draining')
          console.log(
            p.phase === 'starting'
              ? 'starting moto and the stack…'
              : p.phase === 'draining'
                ? 'all sent; waiting for the queue to drain…'
                : 'checking the results…',
          );
      }
      lastPhase = p.phase;
      if (p.messagesTotal === 0) return;
      if (interactive) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format:
                ' {bar} {percentage}% | sim {sim} | messages {value}/{total} handled | triggers {triggers} | retried records {retries}',
              hideCursor: true,
              clearOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.messagesTotal, 0, { sim: simClock(p), triggers: 0, retries: 0 });
        }
        bar.update(p.messagesHandled, { sim: simClock(p), triggers: p.triggers, retries: p.failedRecords });
        if (p.phase === 'checking') {
          bar.stop();
          bar = undefined;
        }
      } else {
        const decile = Math.floor((10 * p.messagesHandled) / p.messagesTotal);
        if (decile > lastDecile) {
          lastDecile = decile;
          console.log(
            `[${String(decile * 10).padStart(3)}%] sim ${simClock(p)}, ${p.messagesHandled}/${p.messagesTotal} messages handled, ${p.triggers} events on the bus, ${p.failedRecords} records retried`,
          );
        }
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

async function fleetMain(): Promise<number> {
  if (opts.uploadMinutes > 60) throw new Error(`--upload-minutes must be 1-60, got ${opts.uploadMinutes}`);
  console.log(
    `VisuTility Monitor fleet-decisions demo: 3 models, 61 cameras, 3 simulated hours, ${opts.uploadMinutes}-minute uploads, seed ${opts.seed}`,
  );
  const run = await runFleetDemo({ seed: opts.seed, uploadMinutes: opts.uploadMinutes });
  const reportPath = resolve(opts.report.replace(/demo-report\.html$/, 'fleet-demo-report.html'));
  await writeHtmlReport(reportPath, fleetDemoReport(run));
  console.log(formatFleetSummary(run));
  console.log(`\nreport: ${reportPath}`);
  return run.ok ? 0 : 1;
}

async function main(): Promise<number> {
  if (opts.fleet) return fleetMain();
  const interactive = opts.progress && process.stdout.isTTY === true && !process.env.CI;
  const progress = progressReporter(interactive);
  console.log(
    `VisuTility Monitor demo: ${opts.cameras} cameras, ${opts.hours} simulated hours from ${hhmm(opts.startHour)} local, seed ${opts.seed}`,
  );
  let run;
  try {
    run = await runDemo({
      cameras: opts.cameras,
      hours: opts.hours,
      seed: opts.seed,
      startHourOfDay: opts.startHour,
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
  const reportPath = resolve(opts.report);
  await writeHtmlReport(reportPath, demoReport(run));
  console.log('');
  console.log(escapeForDisplay(formatSummary(run.summary), { keepLineBreaks: true }));
  console.log('');
  console.log(escapeForDisplay(formatClosedLoop(run.closedLoop), { keepLineBreaks: true }));
  console.log('');
  console.log(`report: ${reportPath}`);
  if (run.history)
    console.log(
      `metric history: ${run.history.events} accepted events (redeliveries included) in ${run.history.written} Parquet objects in moto's S3 (docs/history-replay.md)`,
    );
  console.log(`wall time: ${(run.wallMs / 1000).toFixed(1)} s for ${opts.hours} simulated hours`);
  if (!run.summary.ok) {
    console.error('demo FAILED: the monitor did not do what the scenarios expect (see PROBLEMS above)');
    return 1;
  }
  if (!run.closedLoop.ok) {
    console.error(
      'demo FAILED: the closed loop through the simulated training pipeline did not close (see PROBLEM above)',
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`demo failed: ${err.message}`);
    process.exit(2);
  },
);
