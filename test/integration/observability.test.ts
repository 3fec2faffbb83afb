// Covers the ingest handler's Powertools output on moto, with the environment the stack sets: EMF
// metrics (events processed / rejected / duplicate, triggers by type, publish failures) with bounded
// dimensions only (never a camera id), and structured logs keyed by cameraId / messageId /
// triggerId. A publish failure is injected by SDK middleware on the handler's own EventBridge client.
// SDK tracing is off by default (test/unit/observability-tracing.test.ts covers it on), so the real
// clients work unchanged.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import type { PutEventsRequest } from '@aws-sdk/client-eventbridge';
import { startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { sqsRecord, wireEvent } from '../support/fixtures.js';
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE } from '../../lib/telemetry.js';
import { driftPolicy } from '../../lib/core/policy.js';

let aws: LocalAws;
let ingest: typeof import('../../functions/ingest.js');

const context = {
  functionName: 'visutility-test-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:visutility-test-ingest',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/x',
  logStreamName: 's',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

beforeAll(async () => {
  aws = await startLocalAws();
  useFunctionEnv(aws.stack, {
    DEFAULT_POLICY: JSON.stringify(driftPolicy(3, 0.7)),
    POWERTOOLS_SERVICE_NAME: SERVICE.ingest,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    VMON_STAGE: 'test',
  });
  ingest = await import('../../functions/ingest.js');
});

afterAll(async () => {
  for (const k of ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_LOG_LEVEL', 'VMON_STAGE'])
    delete process.env[k];
  await aws?.stop();
});

afterEach(() => vi.restoreAllMocks());

// biome-ignore lint/suspicious/noExplicitAny: log lines are free-form JSON
type Line = Record<string, any>;

/** Runs the handler and returns what it printed: EMF blobs and log lines, parsed. */
async function invoke(...records: ReturnType<typeof sqsRecord>[]) {
  const printed: string[] = [];
  const capture = (chunk: unknown) => {
    printed.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const response = await ingest.handler({ Records: records }, context);
  vi.restoreAllMocks();
  const lines: Line[] = printed
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return {
    response,
    emf: lines.filter((l) => l._aws),
    logs: lines.filter((l) => !l._aws),
  };
}

describe('ingest handler observability', () => {
  it('emits EMF counts and trigger-type series with bounded dimensions, and keyed logs', async () => {
    const events = [0.9, 0.95, 0.8].map((value, i) => wireEvent({ camera_id: 'cam-obs', value, i }));
    const bad = sqsRecord('{"id": truncated');
    const { response, emf, logs } = await invoke(
      sqsRecord(JSON.stringify(events)),
      sqsRecord(JSON.stringify(events[0])), // same event id again: a duplicate
      bad,
    );
    expect(response.batchItemFailures).toEqual([]);

    for (const blob of emf) {
      expect(blob._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
      expect(blob.service).toBe(SERVICE.ingest);
      expect(blob.stage).toBe('test');
      for (const set of blob._aws.CloudWatchMetrics[0].Dimensions as string[][]) {
        for (const d of set) expect(Object.values(DIMENSION)).toContain(d);
      }
      expect(JSON.stringify(blob)).not.toContain('cam-obs');
    }
    const counts = emf.find((b) => METRIC.eventsProcessed in b)!;
    expect(counts).toMatchObject({
      [METRIC.eventsProcessed]: 4,
      [METRIC.eventsRejected]: 1,
      [METRIC.eventsDuplicate]: 1,
      [METRIC.publishFailures]: 0,
      [METRIC.stateConflicts]: 0,
      [METRIC.cameraFailures]: 0,
    });
    expect(counts._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'stage']]);
    const triggers = emf.filter((b) => METRIC.triggers in b);
    expect(triggers).toHaveLength(1);
    expect(triggers[0]).toMatchObject({ [METRIC.triggers]: 1, [DIMENSION.triggerType]: 'RetrainingRequested' });
    expect(triggers[0]!._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'stage', 'TriggerType']]);

    const published = logs.find((l) => l.message === 'trigger published')!;
    expect(published).toMatchObject({
      level: 'INFO',
      cameraId: 'cam-obs',
      triggerType: 'RetrainingRequested',
      service: SERVICE.ingest,
      function_request_id: 'req-1',
    });
    expect(published.triggerId).toMatch(/^[0-9a-f-]{36}$/);
    const rejected = logs.find((l) => l.message === 'input rejected to the dead-letter queue')!;
    expect(rejected).toMatchObject({ level: 'WARN', messageId: bad.messageId });
    expect(rejected.reason).toMatch(/^body is not valid JSON/);
  });

  it('counts and logs triggers that cannot be published, by triggerId, and fails their records back', async () => {
    ingest.clients.eventBridge.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName !== 'PutEventsCommand') return next(args);
        const n = (args.input as PutEventsRequest).Entries!.length;
        return {
          output: {
            $metadata: {},
            FailedEntryCount: n,
            Entries: Array.from({ length: n }, () => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' })),
          },
          response: {},
        };
      },
      { step: 'initialize', name: 'injectPublishFailure' },
    );
    try {
      const record = sqsRecord(
        JSON.stringify([0.9, 0.95, 0.8].map((value, i) => wireEvent({ camera_id: 'cam-nopub', value, i }))),
      );
      const { response, emf, logs } = await invoke(record);
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      const counts = emf.find((b) => METRIC.publishFailures in b)!;
      expect(counts).toMatchObject({ [METRIC.publishFailures]: 1, [METRIC.cameraFailures]: 1 });
      expect(emf.filter((b) => METRIC.triggers in b)).toEqual([]);
      const failed = logs.find((l) => l.message.startsWith('trigger not published'))!;
      expect(failed).toMatchObject({
        level: 'ERROR',
        cameraId: 'cam-nopub',
        errorCode: 'InternalFailure',
        triggerType: 'RetrainingRequested',
      });
      expect(failed.triggerId).toMatch(/^[0-9a-f-]{36}$/);
      expect(logs.find((l) => l.message.startsWith('camera failed'))).toMatchObject({
        level: 'ERROR',
        cameraId: 'cam-nopub',
      });
      expect(logs.find((l) => l.message.startsWith('record failed back'))).toMatchObject({
        messageId: record.messageId,
      });
    } finally {
      ingest.clients.eventBridge.middlewareStack.remove('injectPublishFailure');
    }
  });

  it('stays harmless outside Lambda: tracing off, plain clients, no metrics printed without a namespace', async () => {
    const { createObservability, instrumented, recordBatch, traced } = await import(
      '../../lib/adapters/observability.js'
    );
    const obs = createObservability('probe', {});
    expect(obs.tracer).toBeUndefined(); // SDK tracing is off unless the stack turns it on
    expect(obs.metricsEnabled).toBe(false);
    const client = { send: () => 1 };
    expect(traced(obs, client)).toBe(client);
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    const result = {
      failedMessageIds: [],
      events: 3,
      applied: 3,
      late: 0,
      duplicates: 0,
      tooLate: 0,
      suppressed: {},
      rejected: 0,
      writes: 1,
      conflicts: 0,
      triggers: [],
      cameraErrors: [],
      detectorErrors: [],
    };
    await instrumented(obs, undefined, async () => recordBatch(obs, result, 0));
    vi.restoreAllMocks();
    expect(printed).toEqual([]);
  });
});
