// The vmon command line: options, help and exit codes. Each command's logic lives in its own
// module (send, backtest, state, dlq, events-tail, policy) as functions taking clients and streams.
import { DEFAULT_REPORT_DIR, reportPath } from './report-path.js';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CameraStateStore } from '../adapters/state-store.js';
import { PolicyStore } from '../adapters/policy-store.js';
import { DEFAULT_POLICY, resolvePolicy, type Policy } from '../core/policy.js';
import { METRICS, MODALITIES, parseRfc3339, type MetricKind, type Modality } from '../core/metric-event.js';
import { DynamoCohortStore } from '../adapters/cohort-store.js';
import { formatCohortViews, loadCohortViews } from './cohort-state.js';
import { addSilence, clearSilences } from '../app/silences.js';
import { writeHtmlReport } from '../report/html-report.js';
import { escapeForDisplay, jsonForDisplay } from '../core/display-text.js';
import {
  backtestFile,
  backtestReport,
  REPORT_EVENTS_PER_CAMERA,
  TRIGGER_TABLE_COLUMNS,
  triggerRow,
} from './backtest.js';
import {
  formatDeadLetter,
  formatDeadLetterList,
  formatRedrive,
  listDeadLetters,
  redriveDeadLetters,
  showDeadLetter,
} from './dlq.js';
import { CliError, EXIT, usageError } from './errors.js';
import { checkReadable, formatOf, inputFormatOf } from './event-file.js';
import { tailEvents } from './events-tail.js';
import { iso, plural, table } from './format.js';
import { println, processIO, progressBar, type CliIO } from './io.js';
import { loadPolicyFile, loadScopedPolicies, readPolicyFile } from './policy-file.js';
import { alignLabels, readLabelFile } from './labels.js';
import { SCORE_COLUMNS, scoreBacktest, scoreRow } from './backtest-score.js';
import { registerTune } from './tune-command.js';
import {
  addHistoryOptions,
  backtestDistributed,
  backtestHistory,
  progressLine,
  historyOnlyOptions,
  historySpecOf,
  type HistoryCliOptions,
} from './history-backtest.js';
import { deletePolicy, effectivePolicy, formatPolicyList, getPolicy, listPolicies, putPolicy } from './policy.js';
import type { PolicyFor } from './backtest.js';
import { formatSendSummary, sendFile } from './send.js';
import type { Packing } from '../client/metric-publisher.js';
import { formatCameraState, loadCameraState } from './state.js';
import {
  awsError,
  DEFAULT_STACK_FILE,
  DEFAULT_STACK_NAME,
  resolveTarget,
  TargetClients,
  type Target,
  type TargetOptions,
} from './target.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  the command failed (an AWS call failed, events could not be delivered)
  2  bad usage or bad input (unknown command, also with --help; unknown option, missing file,
     a bad line, an invalid policy)
  3  target unreachable (no local stack running, no AWS credentials or region, stack not found)
  4  not found (no state for that camera, no such dead-letter message, no policy at that scope)`;

const TARGET_HELP = `
Target: AWS by default (standard credential and region chain; resource names from the outputs
of CloudFormation stack --stack, default ${DEFAULT_STACK_NAME}), or --local for the stack that
"npm run local" runs (connection details in ${DEFAULT_STACK_FILE}).`;

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
/** A duration such as 30m, 2h or 1d, in ms; `option` names the flag in the error. */
function durationMs(option: string, text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw usageError(`${option} must look like 30m, 2h or 1d, got ${JSON.stringify(text)}`);
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
function silenceEnd(until: string | undefined, duration: string | undefined, nowMs = Date.now()): number {
  if ((until === undefined) === (duration === undefined))
    throw usageError('give exactly one of --until <RFC 3339 time> or --for <duration>');
  if (until !== undefined) {
    const t = parseRfc3339(until);
    if (typeof t === 'string') throw usageError(`--until ${JSON.stringify(until)} ${t}`);
    return t;
  }
  return nowMs + durationMs('--for', duration!);
}
function parseMetric(text: string): MetricKind {
  if (!(METRICS as readonly string[]).includes(text))
    throw usageError(`--metric must be one of ${METRICS.join(' | ')}, got ${JSON.stringify(text)}`);
  return text as MetricKind;
}

/**
 * The first word of argv that should name a command and names none, with the command it was given
 * to. Options (and their values) of the command and its parents are skipped; `help <command>` is
 * looked through; the operands of a command without subcommands are not commands.
 */
export function unknownCommand(program: Command, argv: readonly string[]): { name: string; parent: Command } | null {
  let cmd = program;
  const chain = [program];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return null;
    if (arg.startsWith('-')) {
      const flag = arg.split('=')[0];
      const option = chain.flatMap((c) => c.options).find((o) => o.long === flag || o.short === flag);
      if (option && (option.required || option.optional) && !arg.includes('=')) i++;
      continue;
    }
    if (cmd.commands.length === 0) return null;
    if (arg === 'help') continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) return { name: arg, parent: cmd };
    cmd = sub;
    chain.push(sub);
  }
  return null;
}

export interface RunOptions {
  /** Stops long-running commands (events tail) early, e.g. on Ctrl-C. */
  signal?: AbortSignal;
}

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};
const packingMode = (v: string): Packing => {
  if (v === 'per-camera' || v === 'mixed') return v;
  throw new InvalidArgumentError(`--packing must be per-camera or mixed, got ${JSON.stringify(v)}`);
};
const positiveNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
};

const printJson = (io: CliIO, v: unknown) => println(io.stdout, jsonForDisplay(v, 2));

/** Runs vmon with `argv` (without node and script) and returns the exit code; never calls process.exit. */
export async function runCli(argv: string[], io: CliIO = processIO(), run: RunOptions = {}): Promise<number> {
  const program = new Command('vmon');
  program
    .description(
      'Operator CLI for VisuTility Monitor: publish metrics, backtest policies, inspect camera state, the dead-letter queue and published events.',
    )
    .exitOverride()
    .configureOutput({
      // commander quotes what it was given (an unknown command or option): escaped like every display.
      writeOut: (s) => io.stdout.write(escapeForDisplay(s, { keepLineBreaks: true })),
      writeErr: (s) => io.stderr.write(escapeForDisplay(s, { keepLineBreaks: true })),
    })
    .showHelpAfterError('(add --help for usage)')
    .option('--local', `use the local stack (${DEFAULT_STACK_FILE}, written by npm run local)`)
    .option('--stack-file <path>', 'use the local stack described by this file (implies --local)')
    .option('--stack <name>', 'CloudFormation stack whose outputs name the resources', DEFAULT_STACK_NAME)
    .option('--region <region>', 'AWS region (default: the standard chain, e.g. AWS_REGION)')
    .addHelpText('after', `${TARGET_HELP}\n${EXIT_CODES_HELP}`);

  const targetOptions = (cmd: Command): TargetOptions => {
    const g = cmd.optsWithGlobals<{ local?: boolean; stackFile?: string; stack?: string; region?: string }>();
    return { local: g.local, stackFile: g.stackFile, stack: g.stack, region: g.region };
  };
  /** Resolves the target, runs `fn` with its clients, and turns SDK errors into clear ones. */
  const withTarget = async <T>(cmd: Command, fn: (c: TargetClients, t: Target) => Promise<T>): Promise<T> => {
    const target = await resolveTarget(targetOptions(cmd));
    const clients = new TargetClients(target);
    try {
      return await fn(clients, target);
    } catch (err) {
      throw awsError(err, target);
    } finally {
      clients.destroy();
    }
  };

  program
    .command('send')
    .description('publish metric events from a JSONL or CSV file to the ingest queue (through MetricPublisher)')
    .argument('<file>', 'events: .jsonl (one event object or array per line) or .csv (header = wire field names)')
    .option('--format <format>', 'jsonl or csv (default: from the file extension)')
    .option('--queue <url>', "send to this queue instead of the target's ingest queue")
    .option(
      '--in-flight <n>',
      'SendMessageBatch calls at once (1 keeps messages in file order)',
      positiveInt('--in-flight'),
      4,
    )
    .option(
      '--packing <mode>',
      "per-camera (one camera per message, as MetricPublisher's default) or mixed (the old packing)",
      packingMode,
      'per-camera',
    )
    .option(
      '--linger-ms <ms>',
      'longest an event waits before it is sent (default: 60000 per-camera, 200 mixed; the end of the file sends all at once)',
      positiveInt('--linger-ms'),
    )
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Every line is checked with the ingest function's own parser before anything is sent: a bad line
stops the command (exit 2) naming the line number and the field. Example:
  vmon --local send events.jsonl`,
    )
    .action(
      async (
        file: string,
        o: {
          format?: string;
          queue?: string;
          inFlight: number;
          packing: Packing;
          lingerMs?: number;
          json?: boolean;
          progress: boolean;
          workers?: number;
        },
        cmd: Command,
      ) => {
        const format = formatOf(file, o.format);
        await checkReadable(file);
        await withTarget(cmd, async (c, t) => {
          const summary = await sendFile({
            path: file,
            format,
            sqs: c.sqs,
            queueUrl: o.queue ?? t.ingestQueueUrl,
            io,
            progress: o.progress && !o.json,
            publisher: {
              maxInFlight: o.inFlight,
              packing: o.packing,
              ...(o.lingerMs === undefined ? {} : { lingerMs: o.lingerMs }),
            },
          });
          if (o.json) printJson(io, summary);
          else println(io.stdout, formatSendSummary(summary));
        });
      },
    );

  const backtestCommand = program
    .command('backtest')
    .description(
      'replay a history of events through the production detectors and policy, offline; print the triggers it would have fired (and, with --report, write an HTML report)',
    )
    .argument(
      '[file]',
      'events: .jsonl or .csv as for send, a timestamp,value .csv (one stream), or a folder of them (or --from: the metric history)',
    )
    .option('--camera <id>', 'for a timestamp,value CSV: the camera (default: the file name)')
    .option('--metric <metric>', `for a timestamp,value CSV: ${METRICS.join(' | ')} (default: from the file name)`)
    .option('--policy <file>', 'policy JSON for every camera (default: the built-in fleet default policy)')
    .option(
      '--stored-policies',
      "use the target's stored scoped policies (camera → modality → fleet), --policy or the default where none applies",
    )
    .option(
      '--policies <file>',
      'scoped policies offline: {"fleet" | "modality:<m>" | "camera:<id>": policy} or the output of policy list --json',
    )
    .option('--labels <file>', 'labelled incident windows per camera (JSON or CSV): score each detector against them')
    .option('--format <format>', 'jsonl or csv (default: from the file extension)')
    .option(
      '--report [path]',
      `write an HTML report to this path (without a path: ${DEFAULT_REPORT_DIR}/backtest-<file name>.html); none unless asked`,
    )
    .option('--no-report', 'no HTML report (the default; kept for scripts that pass it)')
    .option(
      '--charts <n>',
      'cameras/streams charted in the report (those that triggered first)',
      positiveInt('--charts'),
      12,
    )
    .option(
      '--strict',
      'exit 2 if any line is rejected (default: report rejected lines and go on, as the ingest function does)',
    )
    .option('--json', 'print the result as JSON')
    .option('--no-progress', 'no progress bar')
    .option(
      '--workers <n>',
      'worker threads the cameras are sharded over (default: the core count, one per 4 MB of file); the result is the same with any count',
      positiveInt('--workers'),
    )
    .option(
      '--reorder <duration>',
      "how far out of order a camera's events may be and still be applied in event-time order, e.g. 30m, 6h (default 1h); memory grows with it",
      (text: string) => durationMs('--reorder', text),
    );
  addHistoryOptions(backtestCommand)
    .addHelpText(
      'after',
      `
Each line is parsed as the ingest function parses a message body, and each camera's events are
applied in event-time order by the same core code (applyEvents) the function runs, lifecycle
included (cooldown, suppression while a retrain is in flight; completions are not in the file).
No report is written unless --report is given. A CSV whose header is timestamp,value holds one
stream: its camera, modality and metric come from --camera/--modality/--metric, else from the file
name <camera>[.<Modality>][.<Metric>].csv (in a folder, the camera is the path inside it).
The file is streamed: memory grows with the cameras, not the events (--report and --labels keep
each camera's events for charts and scoring). A camera's events may be out of order by up to an
hour (--reorder); an event later than that is applied as the ingest function applies a late event. Examples:
  vmon backtest last-month.jsonl --policy policy.json --report report.html
  vmon backtest test/fixtures/nab-dev/data --modality Rgb --metric DriftScore --labels test/fixtures/nab-dev/labels.json
  vmon backtest --from s3://my-history-bucket/events/ --since 2026-11-01 --until 2026-12-01 --model det-v3
  vmon backtest --from local`,
    )
    .action(
      async (
        fileArg: string | undefined,
        o: HistoryCliOptions & {
          policy?: string;
          storedPolicies?: boolean;
          policies?: string;
          labels?: string;
          format?: string;
          camera?: string;
          modality?: string;
          metric?: string;
          report?: string | boolean;
          charts: number;
          strict?: boolean;
          json?: boolean;
          progress: boolean;
          workers?: number;
          reorder?: number;
        },
        cmd: Command,
      ) => {
        if (fileArg !== undefined && o.from !== undefined) throw usageError('give an event file or --from, not both');
        if (o.from === undefined && historyOnlyOptions(o).length)
          throw usageError(`${historyOnlyOptions(o).join(', ')} apply only with --from`);
        const g = cmd.optsWithGlobals<{ stackFile?: string; region?: string }>();
        const history = o.from ? await historySpecOf({ ...o, stackFile: g.stackFile, region: g.region }) : undefined;
        const file = fileArg ?? o.from;
        if (file === undefined) throw usageError('give an event file or --from s3://<bucket>/<prefix>/ | --from local');
        const format = history ? 'jsonl' : inputFormatOf(file, o.format);
        const size = history ? 0 : await checkReadable(file, true);
        const policy: Policy = o.policy ? await loadPolicyFile(o.policy) : DEFAULT_POLICY;
        let policyFor: PolicyFor = () => policy;
        let stored: Map<string, Policy> | undefined;
        if (o.storedPolicies) {
          stored = await withTarget(cmd, async (c, t) => (await new PolicyStore(c.ddb, t.tableName).list()).policies);
          const scoped = stored;
          policyFor = (cameraId, modality) => resolvePolicy(scoped, cameraId, modality, policy);
        }
        if (o.policies) {
          if (stored) throw usageError('give --policies <file> or --stored-policies, not both');
          const scoped = (stored = await loadScopedPolicies(o.policies));
          policyFor = (cameraId, modality) => resolvePolicy(scoped, cameraId, modality, policy);
        }
        let labels = o.labels ? await readLabelFile(o.labels) : undefined;
        const bar = progressBar(io, o.progress && !o.json && !history, 'reading', size, 'bytes');
        let read = 0;
        const reportFile = reportPath('backtest', history ? 'history' : file, o.report);
        const keepEventsPerCamera = labels ? Number.POSITIVE_INFINITY : reportFile ? REPORT_EVENTS_PER_CAMERA : 0;
        const policies = { policy, ...(stored ? { scoped: Object.fromEntries(stored) } : {}) };
        if (o.distributed && (labels || reportFile))
          throw usageError('--distributed gives triggers and totals: --labels and --report need a local backtest');
        const result = history
          ? o.distributed
            ? await (o.from === 'local'
                ? backtestDistributed(await resolveTarget({ local: true, stackFile: g.stackFile }), history, policies, {
                    shards: o.shards,
                    reorderMs: o.reorder,
                    onProgress: (p) => !o.json && println(io.stderr, progressLine(p)),
                  })
                : withTarget(cmd, (_c, t) =>
                    backtestDistributed(t, history, policies, {
                      shards: o.shards,
                      reorderMs: o.reorder,
                      onProgress: (p) => !o.json && println(io.stderr, progressLine(p)),
                    }),
                  ))
            : await backtestHistory(history, policies, {
                workers: o.workers,
                keepEventsPerCamera,
                reorderMs: o.reorder,
              })
          : await backtestFile(file, format, policies, {
              series: { camera: o.camera, modality: o.modality, metric: o.metric },
              onBytes: (n) => {
                read += n;
                bar.update(read);
              },
              workers: o.workers,
              fileBytes: size,
              // Label scoring needs every event, charts some; a plain backtest keeps none.
              keepEventsPerCamera,
              reorderMs: o.reorder,
            });
        bar.stop();
        if (labels) labels = alignLabels(labels, result.eventsByCamera.keys());
        const scores = labels ? scoreBacktest(result, labels, policyFor) : undefined;
        if (reportFile)
          await writeHtmlReport(
            reportFile,
            backtestReport(result, { source: file, policyFor, maxCharts: o.charts, labels, scores }),
          );
        const rate = result.totals.events / Math.max(result.elapsedMs / 1000, 1e-9);
        if (o.json) {
          printJson(io, {
            file,
            policy,
            storedPolicies: stored ? Object.fromEntries(stored) : undefined,
            totals: result.totals,
            reordered: result.reordered,
            from: result.firstEventMs !== null ? iso(result.firstEventMs) : null,
            to: result.lastEventMs !== null ? iso(result.lastEventMs) : null,
            triggers: result.triggers.map((t) => ({ detailType: t.detailType, ...t.detail })),
            rejected: result.rejected,
            ...(scores ? { scores } : {}),
            report: reportFile,
            elapsedMs: Math.round(result.elapsedMs),
            eventsPerSecond: Math.round(rate),
          });
        } else {
          const t = result.totals;
          const lines = [
            `backtest of ${file}: ${plural(t.events, 'event')} (${t.applied} applied, ${t.duplicates} duplicates, ${t.tooLate} too late, ${t.rejected} rejected) from ${plural(t.cameras, 'camera')}`,
            ...(t.suppressed
              ? [
                  `${plural(t.suppressed, 'breach', 'breaches')} held back by the alert lifecycle (cooldown, silence, retrain in flight)`,
                ]
              : []),
            result.firstEventMs !== null
              ? `events from ${iso(result.firstEventMs)} to ${iso(result.lastEventMs!)}`
              : 'no valid events',
            `policy ${policy.id}: ${policy.detectors.map((d) => `${d.id} (${d.kind} on ${d.metric} → ${d.action})`).join(', ')}${stored ? `; ${plural(stored.size, 'stored scoped policy', 'stored scoped policies')} take precedence` : ''}`,
            '',
            result.triggers.length
              ? `${plural(result.triggers.length, 'trigger')} would have fired:`
              : 'no triggers would have fired',
          ];
          if (result.triggers.length) lines.push(table(TRIGGER_TABLE_COLUMNS, result.triggers.map(triggerRow)));
          if (scores)
            lines.push(
              '',
              `scored against ${o.labels} (NAB standard profile):`,
              table(SCORE_COLUMNS, scores.map(scoreRow)),
            );
          if (result.rejected.length) {
            lines.push(
              '',
              `rejected lines${t.rejected > result.rejected.length ? ` (first ${result.rejected.length} of ${t.rejected})` : ''}:`,
            );
            for (const r of result.rejected.slice(0, 50))
              lines.push(
                `  ${r.file ? `${r.file} ` : ''}line ${r.line}${r.index !== null ? ` [${r.index}]` : ''}: ${r.reason}`,
              );
            if (result.rejected.length > 50) lines.push(`  … and ${t.rejected - 50} more (see --json or the report)`);
          }
          if (t.detectorErrors)
            lines.push('', `${plural(t.detectorErrors, 'detector error')} (isolated; other detectors ran)`);
          lines.push('', `processed in ${(result.elapsedMs / 1000).toFixed(2)} s (${Math.round(rate)} events/s)`);
          if (reportFile) lines.push(`report: ${reportFile}`);
          println(io.stdout, lines.join('\n'));
        }
        if (o.strict && result.totals.rejected > 0)
          throw usageError(`${plural(result.totals.rejected, 'rejected line')} in ${file} (--strict)`);
      },
    );

  registerTune(program, io, (cmd, scope) =>
    withTarget(cmd, async (c, t) =>
      effectivePolicy((await new PolicyStore(c.ddb, t.tableName).list()).policies, scope),
    ),
  );

  program
    .command('state')
    .description(
      "show one camera's monitoring state: windows, detector states, alerts and lifecycle, model versions, outbox",
    )
    .argument('[cameraId]', 'camera id as sent in camera_id')
    .option('--model <version>', "a model's cohort instead: active and affected cameras, share, episode")
    .option('--modality <modality>', `with --model: one modality (${MODALITIES.join(' | ')}); all by default`)
    .option('--json', 'print the state as JSON')
    .addHelpText('after', '\nExamples:\n  vmon --local state cam01\n  vmon --local state --model det-v3 --modality Rgb')
    .action(
      async (cameraId: string | undefined, o: { json?: boolean; model?: string; modality?: string }, cmd: Command) => {
        if (o.modality !== undefined && !(MODALITIES as readonly string[]).includes(o.modality))
          throw usageError(`--modality must be one of ${MODALITIES.join(' | ')}, got ${JSON.stringify(o.modality)}`);
        if (o.modality !== undefined && o.model === undefined) throw usageError('--modality needs --model');
        if ((cameraId === undefined) === (o.model === undefined))
          throw usageError('give either a camera id or --model <version>');
        await withTarget(cmd, async (c, t) => {
          if (o.model !== undefined) {
            const policies = await new PolicyStore(c.ddb, t.tableName).list();
            const views = await loadCohortViews(
              new DynamoCohortStore(c.ddb, t.tableName),
              o.model,
              o.modality as Modality | undefined,
              (m) => resolvePolicy(policies.policies, '', m, DEFAULT_POLICY),
            );
            if (o.json) printJson(io, views);
            else println(io.stdout, formatCohortViews(views));
            return;
          }
          const view = await loadCameraState(new CameraStateStore(c.ddb, t.tableName), cameraId!);
          if (o.json) printJson(io, view);
          else println(io.stdout, formatCameraState(view));
        });
      },
    );

  const dlq = program
    .command('dlq')
    .description('dead-lettered messages: list, show one, redrive to the ingest queue')
    .addHelpText(
      'after',
      '\nExamples:\n  vmon --local dlq list\n  vmon --local dlq show <messageId>\n  vmon --local dlq redrive --all',
    );
  dlq
    .command('list')
    .description('list dead-lettered messages with their reasons (they stay on the queue)')
    .option('--max <n>', 'read at most this many', positiveInt('--max'), 100)
    .option('--json', 'print as JSON')
    .action(async (o: { max: number; json?: boolean }, cmd: Command) => {
      await withTarget(cmd, async (c, t) => {
        const letters = await listDeadLetters({ sqs: c.sqs, queueUrl: t.deadLetterQueueUrl, max: o.max });
        if (o.json) printJson(io, letters);
        else println(io.stdout, formatDeadLetterList(t.deadLetterQueueUrl, letters));
      });
    });
  dlq
    .command('show')
    .description('show one dead-lettered message with its reason and body')
    .argument('<messageId>', 'the message id (from dlq list)')
    .option('--json', 'print as JSON')
    .action(async (messageId: string, o: { json?: boolean }, cmd: Command) => {
      await withTarget(cmd, async (c, t) => {
        const letter = await showDeadLetter({ sqs: c.sqs, queueUrl: t.deadLetterQueueUrl, messageId });
        if (o.json) printJson(io, letter);
        else println(io.stdout, formatDeadLetter(letter));
      });
    });
  dlq
    .command('redrive')
    .description(
      'send dead-lettered messages back to the ingest queue (after a fix) and delete them from the dead-letter queue',
    )
    .option('--id <messageIds...>', 'only these messages')
    .option('--all', 'every message on the dead-letter queue (up to --max)')
    .option('--max <n>', 'redrive at most this many', positiveInt('--max'), 10_000)
    .option('--json', 'print the counts as JSON')
    .addHelpText(
      'after',
      '\nRedriving moves messages: give --id (from dlq list) or --all. Example:\n  vmon --local dlq redrive --id <messageId>',
    )
    .action(async (o: { id?: string[]; all?: boolean; max: number; json?: boolean }, cmd: Command) => {
      if (!o.id && !o.all)
        throw usageError('say which messages: --id <messageId...> (see vmon dlq list) or --all; nothing was redriven');
      if (o.id && o.all) throw usageError('give --id or --all, not both');
      await withTarget(cmd, async (c, t) => {
        const r = await redriveDeadLetters({
          sqs: c.sqs,
          queueUrl: t.deadLetterQueueUrl,
          targetQueueUrl: t.ingestQueueUrl,
          ids: o.id,
          max: o.max,
        });
        if (o.json) printJson(io, r);
        else println(io.stdout, formatRedrive(r));
        if (r.failed.length)
          throw new CliError(`${plural(r.failed.length, 'message')} could not be redriven`, EXIT.failure);
      });
    });

  const events = program.command('events').description('events the monitor published');
  events
    .command('tail')
    .description(
      'print the events the monitor publishes, from the tap queue (local stack) or --queue; peeks unless --consume',
    )
    .option('--queue <url>', 'follow this queue (e.g. one an EventBridge rule targets)')
    .option('--json', 'one JSON event per line')
    .option('--max <n>', 'stop after n events', positiveInt('--max'))
    .option('--timeout <seconds>', 'stop after this many seconds', positiveNumber('--timeout'))
    .option('--consume', "delete each message once printed (default: peek, leave it for the queue's consumer)")
    .option('--keep', 'leave messages on the queue (the default; kept for scripts that pass it)')
    .addHelpText(
      'after',
      `
By default a tail peeks: every message it receives is made visible again at once, so the queue's own
consumer (a training pipeline on a rule's queue) still gets it; each receive still counts toward the
queue's maxReceiveCount, so on a queue with a dead-letter redrive prefer a queue of your own that a
rule targets. --consume deletes what it prints. Example:
  vmon --local events tail --json --max 10 --timeout 30`,
    )
    .action(
      async (
        o: { queue?: string; json?: boolean; max?: number; timeout?: number; consume?: boolean; keep?: boolean },
        cmd: Command,
      ) => {
        if (o.consume && o.keep) throw usageError('give --consume or --keep, not both');
        await withTarget(cmd, async (c, t) => {
          const queueUrl = o.queue ?? t.tapQueueUrl;
          if (!queueUrl)
            throw usageError(
              `${t.description} has no tap queue: pass --queue <url> (a queue that receives the bus's events)`,
            );
          await tailEvents({
            sqs: c.sqs,
            queueUrl,
            io,
            json: o.json,
            max: o.max,
            timeoutMs: o.timeout !== undefined ? o.timeout * 1000 : undefined,
            consume: o.consume,
            signal: run.signal,
          });
        });
      },
    );

  const policyCmd = program
    .command('policy')
    .description('scoped policies stored in the state table: fleet default → modality → camera, most specific wins')
    .addHelpText(
      'after',
      `
Scopes: fleet | modality:<Rgb|Thermal|Depth> | camera:<camera_id>. The ingest function sees a
change within its policy cache time (30 s by default). Examples:
  vmon policy default > policy.json                 (the built-in default, to start from)
  vmon --local policy get camera:cam01 --effective   (what cam01 runs now)
  vmon --local policy put camera:cam01 policy.json
  vmon --local policy get fleet --json
  vmon --local policy list
  vmon --local policy delete camera:cam01`,
    );
  const policyStore = (c: TargetClients, t: Target) => new PolicyStore(c.ddb, t.tableName);
  policyCmd
    .command('put')
    .description(
      'validate a policy file and store it at a scope, replacing the whole policy there; shows what changes, and asks for --yes when detectors would disappear',
    )
    .argument('<scope>', 'fleet | modality:<Rgb|Thermal|Depth> | camera:<camera_id>')
    .argument('<file>', 'policy JSON')
    .option('--yes', "store it even when it drops detectors the scope's cameras run now")
    .option('--json', 'print the stored policy (defaults filled) as JSON')
    .action(async (scope: string, file: string, o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const input = await readPolicyFile(file);
      await withTarget(cmd, async (c, t) => {
        const r = await putPolicy(policyStore(c, t), scope, input, { yes: o.yes });
        if (o.json) printJson(io, { scope, policy: r.policy, replaces: r.replaces.from, changes: r.diff });
        else
          println(
            io.stdout,
            [
              `stored policy ${r.policy.id} at ${escapeForDisplay(scope)} (${plural(r.policy.detectors.length, 'detector')}), replacing ${r.replaces.policy.id} (${r.replaces.from}):`,
              ...(r.diff.length ? r.diff.map((l) => `  ${escapeForDisplay(l)}`) : ['  no change']),
            ].join('\n'),
          );
      });
    });
  policyCmd
    .command('get')
    .description('print the policy stored at a scope; with --effective, the policy a camera there gets')
    .argument('<scope>', 'fleet | modality:<Rgb|Thermal|Depth> | camera:<camera_id>')
    .option(
      '--effective',
      'the policy in force: stored at the scope, else inherited (camera → modality → fleet), else the default',
    )
    .option(
      '--modality <modality>',
      `with --effective on a camera scope: the camera's modality (${MODALITIES.join(' | ')})`,
    )
    .option('--json', 'JSON only, e.g. to edit and put back (the default output is JSON too, after a header line)')
    .action(async (scope: string, o: { effective?: boolean; modality?: string; json?: boolean }, cmd: Command) => {
      if (o.modality !== undefined && !(MODALITIES as readonly string[]).includes(o.modality))
        throw usageError(`--modality must be one of ${MODALITIES.join(' | ')}, got ${JSON.stringify(o.modality)}`);
      if (o.modality !== undefined && !o.effective) throw usageError('--modality goes with --effective');
      await withTarget(cmd, async (c, t) => {
        if (o.effective) {
          const { policies } = await policyStore(c, t).list();
          const e = effectivePolicy(policies, scope, o.modality as Modality | undefined);
          if (!o.json) println(io.stdout, `policy in force at ${escapeForDisplay(scope)}: ${e.from}`);
          printJson(io, e.policy);
          return;
        }
        const p = await getPolicy(policyStore(c, t), scope);
        if (!o.json) println(io.stdout, `policy at ${escapeForDisplay(scope)}:`);
        printJson(io, p);
      });
    });
  policyCmd
    .command('default')
    .description('print the built-in default policy (offline): what a camera gets when no stored policy applies')
    .action(() => {
      printJson(io, DEFAULT_POLICY);
    });
  policyCmd
    .command('list')
    .description('list the stored policies by scope')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withTarget(cmd, async (c, t) => {
        const l = await listPolicies(policyStore(c, t));
        if (o.json) printJson(io, l);
        else println(io.stdout, formatPolicyList(l));
      });
    });
  policyCmd
    .command('delete')
    .description('remove the policy at a scope (cameras fall back to the next scope)')
    .argument('<scope>', 'fleet | modality:<Rgb|Thermal|Depth> | camera:<camera_id>')
    .option('--json', 'print the result as JSON')
    .action(async (scope: string, o: { json?: boolean }, cmd: Command) => {
      await withTarget(cmd, async (c, t) => {
        await deletePolicy(policyStore(c, t), scope);
        if (o.json) printJson(io, { scope, deleted: true });
        else println(io.stdout, `deleted the policy at ${escapeForDisplay(scope)}`);
      });
    });

  const silence = program
    .command('silence')
    .description(
      'mute a camera, or a camera + metric, until a time (cooldown and episodes still run; triggers are not published)',
    )
    .addHelpText(
      'after',
      `
Silences run on event time, like every lifecycle clock. Examples:
  vmon --local silence add cam01 --until 2026-12-01T00:00:00Z --reason "lens cleaning"
  vmon --local silence add cam01 --metric LatencyMs --for 2h
  vmon --local silence clear cam01`,
    );
  silence
    .command('add')
    .description('add a silence to a camera')
    .argument('<cameraId>', 'camera id')
    .option('--metric <metric>', 'mute only this metric (Accuracy | Precision | Recall | DriftScore | LatencyMs)')
    .option('--until <time>', 'RFC 3339 end time')
    .option('--for <duration>', 'duration from now, e.g. 30m, 2h, 1d')
    .option('--reason <text>', 'why (shown by vmon state)')
    .option('--json', "print the camera's silences as JSON")
    .action(
      async (
        cameraId: string,
        o: { metric?: string; until?: string; for?: string; reason?: string; json?: boolean },
        cmd: Command,
      ) => {
        const until = silenceEnd(o.until, o.for);
        const metric = o.metric === undefined ? undefined : parseMetric(o.metric);
        await withTarget(cmd, async (c, t) => {
          const list = await addSilence(new CameraStateStore(c.ddb, t.tableName), cameraId, {
            until,
            ...(metric ? { metric } : {}),
            ...(o.reason ? { reason: o.reason } : {}),
          });
          if (o.json) printJson(io, list);
          else
            println(
              io.stdout,
              `silenced ${escapeForDisplay(cameraId)}${metric ? ` ${metric}` : ''} until ${iso(until)} (${plural(list.length, 'active silence')})`,
            );
        });
      },
    );
  silence
    .command('clear')
    .description("remove a camera's silences")
    .argument('<cameraId>', 'camera id')
    .option('--metric <metric>', 'only the silences on this metric')
    .action(async (cameraId: string, o: { metric?: string }, cmd: Command) => {
      const metric = o.metric === undefined ? undefined : parseMetric(o.metric);
      await withTarget(cmd, async (c, t) => {
        const n = await clearSilences(new CameraStateStore(c.ddb, t.tableName), cameraId, metric);
        println(io.stdout, `removed ${plural(n, 'silence')} from ${escapeForDisplay(cameraId)}`);
      });
    });

  try {
    const unknown = unknownCommand(program, argv);
    if (unknown)
      // Before commander parses: it would show help for `vmon frobnicate --help` and exit 0.
      unknown.parent.error(
        `error: unknown command '${unknown.name}' (commands: ${unknown.parent.commands.map((c) => c.name()).join(', ')})`,
        { exitCode: EXIT.usage, code: 'commander.unknownCommand' },
      );
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, `vmon help` and --version exit 0; help shown for a missing subcommand (`vmon dlq`) is usage.
      const help = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
      if (help && err.exitCode === 0) return EXIT.ok;
      return EXIT.usage; // commander has printed the message
    }
    const e = err instanceof CliError ? err : awsError(err, { kind: 'aws' });
    println(io.stderr, `vmon: ${e.message}`);
    return e.exitCode;
  }
}
