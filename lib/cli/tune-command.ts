// The `vmon tune` command's options, help and output (the search itself is tune.ts). In its own
// module so that program.ts only registers it.
import { writeFile } from 'node:fs/promises';
import { DEFAULT_REPORT_DIR, reportPath } from './report-path.js';
import { type Command, InvalidArgumentError } from 'commander';
import { METRICS, type MetricKind } from '../core/metric-event.js';
import { writeHtmlReport } from '../report/html-report.js';
import { readHistory } from './backtest.js';
import {
  addHistoryOptions,
  collectHistory,
  evaluateCandidatesDistributed,
  historyOnlyOptions,
  historySpecOf,
  progressLine,
  type HistoryCliOptions,
} from './history-backtest.js';
import { resolveTarget } from './target.js';
import { CliError, EXIT, usageError } from './errors.js';
import { checkReadable, inputFormatOf } from './event-file.js';
import { plural, table } from './format.js';
import { println, type CliIO } from './io.js';
import { alignLabels, readLabelFile } from './labels.js';
import { loadPolicyFile } from './policy-file.js';
import type { Policy } from '../core/policy.js';
import { defaultWorkers } from '../replay/parallel.js';
import {
  describeAsWritten,
  evaluateCandidatesParallel,
  scoreAsWritten,
  tuneGrid,
  TUNE_COLUMNS,
  tune,
  tuneReport,
  tuneRow,
  type TunedKind,
} from './tune.js';

/** Under this much history per worker, threads cost more than they save (each replays it per candidate). */
const MIN_BYTES_PER_TUNE_WORKER = 256 << 10;

const workersArg = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--workers must be a whole number ≥ 1, got ${v}`);
  return n;
};

const budgetArg = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`--budget must be a number ≥ 0 (false alarms per 1,000 evaluations), got ${v}`);
  return n;
};

/** The policy in force at a scope of the command's target (vmon policy get <scope> --effective). */
export type ScopePolicyLoader = (cmd: Command, scope: string) => Promise<{ policy: Policy; from: string }>;

export function registerTune(program: Command, io: CliIO, scopePolicy?: ScopePolicyLoader): void {
  const tuneCommand = program
    .command('tune')
    .description(
      'search the parameters of the sequential charts on a labelled history; write the policy that meets a false-alarm budget with the shortest delay',
    )
    .argument(
      '[history]',
      'events: .jsonl or .csv, a timestamp,value .csv, or a folder of them, as for backtest (or --from: the metric history)',
    )
    .option('--camera <id>', 'for a timestamp,value CSV: the camera (default: the file name)')
    .requiredOption('--labels <file>', 'labelled incident windows per camera (JSON or CSV, as for backtest --labels)')
    .requiredOption(
      '--budget <n>',
      'false alarms allowed per 1,000 evaluations outside the labelled windows',
      budgetArg,
    )
    .option('--detectors <kinds>', 'comma-separated kinds to search: mean-shift, cusum, ewma', 'mean-shift,cusum,ewma')
    .option(
      '--metric <metric>',
      `the metric watched (and, for a timestamp,value CSV, its metric): ${METRICS.join(' | ')}`,
      'DriftScore',
    )
    .option(
      '--direction <up|down|both>',
      'the direction watched (default: the harmful one for the metric; both: mean-shift only)',
    )
    .option('--format <format>', 'jsonl or csv (default: from the file extension)')
    .option('--out <file>', 'where to write the tuned policy (for vmon policy put)', 'tuned-policy.json')
    .option('--base <file>', 'start from this policy file (default: the built-in default policy)')
    .option(
      '--scope <scope>',
      'start from the policy in force at this scope of the target (--local or AWS), e.g. fleet: what policy put <scope> replaces',
    )
    .option(
      '--policies-out <file>',
      'also write scoped policies (fleet + a modality entry with the fleet baseline of that modality as prior, for modalities without model versions: cameras with one get their cohort prior live) for backtest --policies',
    )
    .option(
      '--report [path]',
      `write the HTML report (trade-off curve, every candidate) to this path (without a path: ${DEFAULT_REPORT_DIR}/tune-<file name>.html); none unless asked`,
    )
    .option('--no-report', 'no HTML report (the default)')
    .option('--json', 'print the result as JSON')
    .option(
      '--workers <n>',
      'worker threads the candidates are spread over (default: the core count, one per 256 KB of history); the result is the same with any count',
      workersArg,
    );
  addHistoryOptions(tuneCommand)
    .addHelpText(
      'after',
      `
Every candidate runs through the same core as vmon backtest (cooldown 0) and is scored against the
labels; among those within the budget, the one detecting the most windows and then with the
shortest median delay is chosen. The policy written is complete: the base policy (--scope, --base, or
the default) with only its cusum/ewma/mean-shift charts on the metric replaced, and its description gives what
vmon backtest --policy of that file reports for the tuned detector. Exit 1 when no candidate meets
the budget. Example:
  vmon tune history.jsonl --labels incidents.csv --budget 0.5 --out tuned.json
  vmon tune --from s3://my-history-bucket/events/ --since 2026-11-01 --until 2026-12-01 --labels incidents.csv --budget 0.5
  vmon tune --from local --distributed --shards 4 --labels incidents.csv --budget 0.5
  vmon --local policy put fleet tuned.json`,
    )
    .action(
      async (
        historyArg: string | undefined,
        o: HistoryCliOptions & {
          labels: string;
          budget: number;
          detectors: string;
          metric: string;
          direction?: string;
          format?: string;
          camera?: string;
          modality?: string;
          out: string;
          base?: string;
          scope?: string;
          policiesOut?: string;
          report?: string | boolean;
          json?: boolean;
          workers?: number;
        },
        cmd: Command,
      ) => {
        if (o.base && o.scope) throw usageError('give --base <file> or --scope <scope>, not both');
        const base = o.base
          ? await loadPolicyFile(o.base)
          : o.scope
            ? scopePolicy
              ? (await scopePolicy(cmd, o.scope)).policy
              : undefined
            : undefined;
        const kinds = o.detectors.split(',').map((k) => k.trim());
        if (historyArg !== undefined && o.from !== undefined)
          throw usageError('give a history file or --from, not both');
        if (o.from === undefined && historyOnlyOptions(o).length)
          throw usageError(`${historyOnlyOptions(o).join(', ')} apply only with --from`);
        const history = historyArg ?? o.from;
        if (history === undefined)
          throw usageError('give a history file or --from s3://<bucket>/<prefix>/ | --from local');
        for (const k of kinds)
          if (k !== 'cusum' && k !== 'ewma' && k !== 'mean-shift')
            throw usageError(`--detectors takes mean-shift, cusum and ewma, got ${JSON.stringify(k)}`);
        if (!(METRICS as readonly string[]).includes(o.metric))
          throw usageError(`--metric must be one of ${METRICS.join(' | ')}, got ${JSON.stringify(o.metric)}`);
        if (o.direction !== undefined && o.direction !== 'up' && o.direction !== 'down' && o.direction !== 'both')
          throw usageError(`--direction must be up, down or both, got ${JSON.stringify(o.direction)}`);
        if (o.direction === 'both' && kinds.some((k) => k !== 'mean-shift'))
          throw usageError('--direction both watches both sides in one decision: only with --detectors mean-shift');
        const g = cmd.optsWithGlobals<{ local?: boolean; stackFile?: string; stack?: string; region?: string }>();
        const spec = o.from ? await historySpecOf({ ...o, stackFile: g.stackFile, region: g.region }) : undefined;
        const format = spec ? 'jsonl' : inputFormatOf(history, o.format);
        const bytes = spec ? 0 : await checkReadable(history, true);
        const read = await readLabelFile(o.labels);
        const series = { camera: o.camera, modality: o.modality, metric: o.metric };
        // The metric history is read once into memory here (as a file is): the priors, the as-written score,
        // and the candidates in this process unless --distributed.
        const { events, rejected } = spec ? await collectHistory(spec) : await readHistory(history, format, series);
        const labels = alignLabels(read, new Set(events.map((e) => e.camera_id)));
        const opts = {
          kinds: kinds as TunedKind[],
          metric: o.metric as MetricKind,
          budget: o.budget,
          direction: o.direction as 'up' | 'down' | 'both' | undefined,
          ...(base ? { base } : {}),
        };
        const workers = spec
          ? 1
          : (o.workers ?? Math.max(1, Math.min(defaultWorkers(), Math.floor(bytes / MIN_BYTES_PER_TUNE_WORKER))));
        // --distributed: the candidates on the stack's replay state machine; selection and policy here, as in process.
        const candidates =
          spec && o.distributed
            ? await evaluateCandidatesDistributed(
                await resolveTarget(
                  o.from === 'local'
                    ? { local: true, stackFile: g.stackFile }
                    : { local: g.local, stackFile: g.stackFile, stack: g.stack, region: g.region },
                ),
                spec,
                events,
                labels,
                tuneGrid(opts.kinds),
                opts,
                {
                  ...(o.shards !== undefined ? { shards: o.shards } : {}),
                  onProgress: (p) => !o.json && println(io.stderr, progressLine(p, 'tune')),
                },
              )
            : workers > 1
              ? await evaluateCandidatesParallel(history, format, labels, opts, workers, series)
              : undefined;
        const r = tune(events, labels, opts, candidates);
        if (r.policy && r.tunedDetector) {
          const written = await scoreAsWritten(r.policy, r.tunedDetector, events, labels);
          r.policy = describeAsWritten(r.policy, r.tunedDetector, written);
          for (const [scope, p] of Object.entries(r.scopedPolicies ?? {}))
            r.scopedPolicies![scope] = scope === 'fleet' ? r.policy : describeAsWritten(p, r.tunedDetector, written);
        }
        const reportFile = reportPath('tune', spec ? 'history' : history, o.report);
        if (reportFile) await writeHtmlReport(reportFile, tuneReport(r, history));
        if (r.policy) await writeFile(o.out, `${JSON.stringify(r.policy, null, 2)}\n`);
        if (r.scopedPolicies && o.policiesOut)
          await writeFile(o.policiesOut, `${JSON.stringify(r.scopedPolicies, null, 2)}\n`);
        if (o.json)
          println(
            io.stdout,
            JSON.stringify(
              {
                history,
                events: events.length,
                rejected,
                budget: r.budget,
                metric: r.metric,
                best: r.best,
                policy: r.policy,
                tunedDetector: r.tunedDetector,
                replaced: r.replaced,
                out: r.policy ? o.out : null,
                policiesOut: r.scopedPolicies && o.policiesOut ? o.policiesOut : null,
                cohortPriors: r.cohortPriors,
                candidates: r.candidates,
                report: reportFile,
              },
              null,
              2,
            ),
          );
        else {
          const within = r.candidates.filter((c) => c.withinBudget);
          println(
            io.stdout,
            [
              `tune on ${history}: ${plural(events.length, 'event')} (${rejected} rejected), ${plural(r.candidates.length, 'candidate')}, ${within.length} within ${r.budget} false alarms per 1,000 evaluations`,
              '',
              table(TUNE_COLUMNS, [...(r.best ? [r.best] : []), ...within.filter((c) => c !== r.best)].map(tuneRow)),
              '',
              r.policy
                ? `chosen: ${r.policy.description}\npolicy written to ${o.out} (${r.policy.id}: ${plural(r.policy.detectors.length, 'detector')}; replaced ${r.replaced.length ? r.replaced.join(', ') : 'none, added'})` +
                  `${o.policiesOut && r.scopedPolicies ? `; scoped policies to ${o.policiesOut}` : ''}`
                : 'no candidate meets the budget: raise --budget or check the labels',
              ...(reportFile ? [`report: ${reportFile}`] : []),
            ].join('\n'),
          );
        }
        if (!r.policy)
          throw new CliError(`no candidate meets ${r.budget} false alarms per 1,000 evaluations`, EXIT.failure);
      },
    );
}
