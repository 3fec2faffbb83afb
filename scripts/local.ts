// `npm run local`: the local stack in the foreground for other programs (a serving fleet, vmon,
// your scripts). moto + the stack's resources, the real ingest and model-lifecycle handlers on
// their queues, a simulated training pipeline on the retraining queue (lib/local/training-pipeline.ts),
// connection details in .local/stack.json. Ctrl-C stops everything and removes it.
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SimulatedTrainingPipeline } from '../lib/local/training-pipeline.js';
import { INGEST, OUTBOX_SWEEP } from '../lib/resources.js';
import { LocalEventSourceMapping, type BatchOutcome } from '../lib/local/event-source-mapping.js';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { deliverLocalHistory } from '../lib/local/history-delivery.js';
import { ReplayWorkerLoop } from '../lib/local/replay-worker-loop.js';
import { createLocalStack, functionEnv, localClientConfig } from '../lib/local/local-stack.js';
import { startMoto } from '../lib/local/moto-server.js';

const program = new Command('local')
  .description('Runs the monitor locally on moto until interrupted; writes connection details for other programs.')
  .option('--stack-file <path>', 'where to write the connection details', '.local/stack.json')
  .option('--port <n>', 'moto port (default: a free one)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new InvalidArgumentError(`--port must be 1-65535, got ${JSON.stringify(v)}`);
    return n;
  })
  .option(
    '--visibility-timeout <s>',
    'ingest queue visibility timeout (s): failed records come back after it',
    (v) => Number(v),
    30,
  )
  .option(
    '--training-seconds <s>',
    'how long the simulated training pipeline "trains" before reporting completion and deployment',
    (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError(`--training-seconds must be ≥ 0, got ${JSON.stringify(v)}`);
      return n;
    },
    30,
  )
  .option('--no-training-pipeline', 'leave the retraining queue to your own consumer')
  .option(
    '--history-delivery-seconds <s>',
    "how often the metric history moto's Firehose received is written to Parquet (Firehose's buffering, deployed)",
    (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1)
        throw new InvalidArgumentError(`--history-delivery-seconds must be ≥ 1, got ${JSON.stringify(v)}`);
      return n;
    },
    10,
  )
  .parse();
const opts = program.opts<{
  stackFile: string;
  port?: number;
  visibilityTimeout: number;
  trainingSeconds: number;
  trainingPipeline: boolean;
  historyDeliverySeconds: number;
}>();

/**
 * Under `npm run local`, npm sits two processes up (npm → tsx → this) and does not pass SIGTERM
 * on: when npm is gone, stop too rather than leave moto behind. Linux /proc; elsewhere a no-op.
 */
function watchLauncher(onGone: () => void) {
  if (!process.env.npm_lifecycle_event) return;
  let launcher: number;
  try {
    launcher = Number(
      readFileSync(`/proc/${process.ppid}/stat`, 'utf8')
        .replace(/^.*\)\s+\S+\s+/, '')
        .split(' ')[0],
    );
  } catch {
    return;
  }
  if (!(launcher > 1)) return;
  setInterval(() => {
    try {
      process.kill(launcher, 0);
    } catch {
      onGone();
    }
  }, 1000).unref();
}

async function main() {
  const stackFile = resolve(opts.stackFile);
  const moto = await startMoto(opts.port ? { port: opts.port } : {});
  const mappings: { stop(): Promise<void> }[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    await Promise.allSettled(mappings.map((m) => m.stop()));
    await rm(stackFile, { force: true });
    await moto.stop();
    console.log(`stopped; removed ${stackFile}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  watchLauncher(() => void stop(0));
  try {
    const stack = await createLocalStack(moto.endpoint, {
      visibilityTimeoutSeconds: opts.visibilityTimeout,
      maxReceiveCount: INGEST.maxReceiveCount,
    });
    Object.assign(process.env, functionEnv(stack));
    const ingest = await import('../functions/ingest.js');
    const lifecycle = await import('../functions/model-lifecycle.js');
    const sweep = await import('../functions/outbox-sweep.js');
    const sqs = new SQSClient(localClientConfig(moto.endpoint));
    const log = (queue: string) => (b: BatchOutcome) => {
      const failed = b.failedIds.size;
      console.log(
        `${new Date().toISOString()} ${queue}: ${b.records.length} message(s) handled${failed ? `, ${failed} failed (back after the visibility timeout)` : ''}${b.error ? `: ${b.error.message}` : ''}`,
      );
    };
    mappings.push(
      new LocalEventSourceMapping(sqs, ingest.handler, {
        queueUrl: stack.ingestQueueUrl,
        batchSize: INGEST.batchSize,
        maxBatchingWindowMs: INGEST.maxBatchingWindowSeconds * 1000,
        pollers: 2,
        onBatch: log('ingest'),
      }).start(),
      new LocalEventSourceMapping(sqs, lifecycle.handler, {
        queueUrl: stack.lifecycleQueueUrl,
        batchSize: 10,
        pollers: 1,
        onBatch: log('model-lifecycle'),
      }).start(),
    );
    if (opts.trainingPipeline) {
      const eventBridge = new EventBridgeClient(localClientConfig(moto.endpoint));
      mappings.push(
        new SimulatedTrainingPipeline(sqs, eventBridge, {
          queueUrl: stack.retrainingQueueUrl,
          eventBusName: stack.eventBusName,
          trainingMs: opts.trainingSeconds * 1000,
          pollMs: 500,
          onRun: (run, phase) =>
            console.log(
              `${new Date().toISOString()} training-pipeline: ${phase === 'started' ? `training for ${run.triggerId}` : `RetrainingCompleted + ModelDeployed ${run.deployedVersion}`} (${run.cameraId ?? `${run.modelVersion}/${run.modality}`})`,
            ),
        }).start(),
      );
    }
    // The deployed stack runs the outbox sweep on a schedule; so does the local one.
    const sweeper = setInterval(() => {
      sweep
        .handler({})
        .then((r) => {
          if (r.published)
            console.log(
              `${new Date().toISOString()} outbox-sweep: published ${r.published} trigger(s) left in ${r.cameras} camera outbox(es)`,
            );
        })
        .catch((err: Error) => console.error(`outbox-sweep failed: ${err.message}`));
    }, OUTBOX_SWEEP.everyMinutes * 60_000);
    sweeper.unref();
    if (stack.historyBucket) {
      const s3 = new S3Client({ ...localClientConfig(moto.endpoint), forcePathStyle: true });
      // The distributed replay's tasks (vmon backtest --from local --distributed): the worker Lambda's part.
      mappings.push(
        new ReplayWorkerLoop({
          sqs,
          sfn: new SFNClient(localClientConfig(moto.endpoint)),
          s3,
          queueUrl: stack.replayTaskQueueUrl!,
          bucket: stack.historyBucket,
          onTask: (step, ok, error) =>
            console.log(`${new Date().toISOString()} replay-worker: ${step} ${ok ? 'done' : `failed: ${error}`}`),
        }).start(),
      );
      let delivering = false;
      setInterval(() => {
        if (delivering) return;
        delivering = true;
        deliverLocalHistory(s3, stack.historyBucket!)
          .then((r) => {
            if (r.events)
              console.log(
                `${new Date().toISOString()} history: ${r.events} event(s) delivered as ${r.written} Parquet object(s)${r.failedLines ? `, ${r.failedLines} line(s) to errors/` : ''}`,
              );
          })
          .catch((err: Error) => console.error(`history delivery failed: ${err.message}`))
          .finally(() => {
            delivering = false;
          });
      }, opts.historyDeliverySeconds * 1000).unref();
    }
    await mkdir(dirname(stackFile), { recursive: true });
    // Written whole, then renamed: a reader polling for the file never sees half of it.
    await writeFile(`${stackFile}.tmp`, `${JSON.stringify(stack, null, 2)}\n`, 'utf8');
    await rename(`${stackFile}.tmp`, stackFile);
    console.log(`local stack running on ${moto.endpoint} (moto); connection details in ${stackFile}:`);
    for (const [k, v] of Object.entries(stack)) console.log(`  ${k.padEnd(28)} ${v}`);
    console.log(
      'send metric events to ingestQueueUrl; every event the monitor publishes arrives on tapQueueUrl. Ctrl-C stops.',
    );
    console.log(
      opts.trainingPipeline
        ? `a simulated training pipeline consumes retrainingQueueUrl (dedup by triggerId) and reports back after ${opts.trainingSeconds} s (--no-training-pipeline to consume it yourself)`
        : 'retrainingQueueUrl is left to your own consumer',
    );
  } catch (err) {
    console.error(`local stack failed to start: ${(err as Error).message}`);
    await stop(1);
  }
}

main().catch((err: Error) => {
  console.error(`local stack failed: ${err.message}`);
  process.exit(1);
});
