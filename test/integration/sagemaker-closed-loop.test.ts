// Covers the loop closed from SageMaker's own events, on moto with the real handlers: a trigger's
// published payload mapped onto a real SageMaker pipeline execution (the stack's parameter mapping,
// every JSON path resolved against the event as EventBridge would); the stored SageMaker event
// fixtures (test/fixtures/sagemaker, execution ARNs swapped for moto's) put on the default bus →
// the local rules → the lifecycle queue → the lifecycle handler, which reads the execution's
// parameters from SageMaker: the camera's suppression lifted, baselines reset, the deployed model
// version taken from the package; an execution the monitor did not start is ignored, not dead-lettered.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreatePipelineCommand,
  SageMakerClient,
  StartPipelineExecutionCommand,
  type Parameter,
} from '@aws-sdk/client-sagemaker';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { localClientConfig } from '../../lib/local/local-stack.js';
import { LOCAL_REGION } from '../../lib/local/moto-server.js';
import { PolicyStore } from '../../lib/adapters/policy-store.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { SAGEMAKER_EVENTS, sageMakerParameterList } from '../../lib/resources.js';
import {
  drain,
  startLocalAws,
  startMonitorHandlers,
  useFunctionEnv,
  waitFor,
  type LocalAws,
} from '../support/local-aws.js';
import { schemaErrors } from '../support/schemas.js';
import { retrainOnDrift, wireEvent } from '../support/fixtures.js';

const PIPELINE_NAME = 'retrain-camera-model';
const PIPELINE_ARN = `arn:aws:sagemaker:${LOCAL_REGION}:123456789012:pipeline/${PIPELINE_NAME}`;
const FIXTURE_EXECUTION = `arn:aws:sagemaker:us-east-1:123456789012:pipeline/${PIPELINE_NAME}/execution/p4jn9xou8a8s`;
const FIXTURE_PIPELINE = `arn:aws:sagemaker:us-east-1:123456789012:pipeline/${PIPELINE_NAME}`;

let aws: LocalAws;
let sageMaker: SageMakerClient;
const mappings: LocalEventSourceMapping[] = [];
const tapped: { type: string; detail: Record<string, unknown>; event: Record<string, unknown> }[] = [];

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 2, sageMakerPipelineArn: PIPELINE_ARN });
  useFunctionEnv(aws.stack, { POLICY_CACHE_SECONDS: '1' });
  sageMaker = new SageMakerClient(localClientConfig(aws.moto.endpoint));
  const created = await sageMaker.send(
    new CreatePipelineCommand({
      PipelineName: PIPELINE_NAME,
      RoleArn: 'arn:aws:iam::123456789012:role/sagemaker-pipeline',
      PipelineDefinition: JSON.stringify({ Version: '2020-12-01', Parameters: [], Steps: [] }),
    }),
  );
  expect(created.PipelineArn).toBe(PIPELINE_ARN);
  mappings.push(...(await startMonitorHandlers(aws)));
});

afterAll(async () => {
  await Promise.all(mappings.map((m) => m.stop()));
  sageMaker?.destroy();
  await aws?.stop();
});

const send = (events: object[]) =>
  aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: JSON.stringify(events) }));
const seen = new Set<string>();
/** Next `count` distinct events from the tap (deduplicated by triggerId, as consumers must). */
async function tap(count: number, timeoutMs = 15_000) {
  const events: (typeof tapped)[number][] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const msgs = await drain(aws.sqs, aws.stack.tapQueueUrl, count - events.length, Math.max(0, deadline - Date.now()));
    for (const event of msgs.map((m) => JSON.parse(m.Body!))) {
      const e = { type: event['detail-type'], detail: event.detail, event };
      tapped.push(e);
      if (seen.has(event.detail.triggerId)) continue;
      seen.add(event.detail.triggerId);
      events.push(e);
    }
  }
  return events;
}

/** `$.a.b-c` against an event, as EventBridge resolves a dynamic path parameter. */
function resolvePath(event: Record<string, unknown>, path: string): unknown {
  return path
    .slice(2)
    .split('.')
    .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], event);
}

const fixture = (name: string, executionArn: string) =>
  readFileSync(new URL(`../fixtures/sagemaker/${name}.json`, import.meta.url), 'utf8')
    .replaceAll(FIXTURE_EXECUTION, executionArn)
    .replaceAll(FIXTURE_PIPELINE, PIPELINE_ARN);

/** Puts a stored SageMaker event on the default bus, where SageMaker publishes its own. */
async function putSageMakerEvent(json: string) {
  const e = JSON.parse(json);
  const r = await aws.eventBridge.send(
    new PutEventsCommand({
      Entries: [
        { Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), Time: new Date(e.time) },
      ],
    }),
  );
  expect(r.FailedEntryCount).toBe(0);
}

describe('closed loop from SageMaker events', () => {
  it('a trigger starts an execution, its success and the approved package reset the camera and lift suppression', async () => {
    await new PolicyStore(aws.ddb, aws.stack.tableName).put('camera:camS', retrainOnDrift(1));
    await new Promise((r) => setTimeout(r, 1100)); // policy cache TTL
    const ev = (i: number, value: number, model_version = 'det-v1') =>
      wireEvent({ camera_id: 'camS', value, i, model_version });
    await send([ev(100, 0.9)]);
    const [requested] = await tap(1);
    expect(requested?.type).toBe('RetrainingRequested');
    expect(requested!.detail).toMatchObject({
      scope: 'camera',
      cameraId: 'camS',
      currentWindow: { from: expect.any(String), to: expect.any(String) },
      referenceWindow: { modelVersion: 'det-v1' },
    });

    // What the stack's SageMaker target does with this event: every mapped path exists and is a string.
    const params: Parameter[] = sageMakerParameterList('camera', false).map((p) => ({
      Name: p.name,
      Value: resolvePath(requested!.event, p.path) as string,
    }));
    for (const p of params) expect(typeof p.Value, p.Name).toBe('string');
    const execution = await sageMaker.send(
      new StartPipelineExecutionCommand({
        PipelineName: PIPELINE_NAME,
        PipelineParameters: params,
        ClientRequestToken: requested!.detail.triggerId as string,
      }),
    );
    const executionArn = execution.PipelineExecutionArn!;

    // Training: a new breach of the same camera is suppressed (its alert resolves, the next fires unpublished).
    await send([ev(101, 0.1), ev(102, 0.9)]);
    expect((await tap(2, 3000)).map((e) => e.type)).toEqual(['AlertResolved']);
    const cameras = new CameraStateStore(aws.ddb, aws.stack.tableName);
    expect((await cameras.load('camS')).state.inFlight?.triggerId).toBe(requested!.detail.triggerId);

    // SageMaker reports the execution succeeded (the stored fixture, this execution's ARN).
    await putSageMakerEvent(fixture('pipeline-execution-succeeded', executionArn));
    const completed = await waitFor(
      async () => (await cameras.load('camS')).state,
      (s) => s.inFlight === undefined,
    );
    expect(completed.inFlight).toBeUndefined();
    // Episode 1 published, episode 2 suppressed as retrain in flight: the record survives the reset.
    expect(completed.alerts['drift@Rgb']).toEqual({ f: false, e: 2, h: 'PR' });
    expect(completed.reset.Rgb).toBe(Date.parse('2026-11-28T16:35:48Z')); // executionEndTime

    // The package the execution registered is approved: the new version comes from its customer metadata.
    await putSageMakerEvent(fixture('model-package-approved', executionArn));
    const deployed = await waitFor(
      async () => (await cameras.load('camS')).state,
      (s) => s.mv.Rgb === 'yolov8n-2026.11.28',
    );
    expect(deployed.mv.Rgb).toBe('yolov8n-2026.11.28');
    expect(deployed.reset.Rgb).toBe(Date.parse('2026-11-28T17:02:14Z'));

    // Recovery on the new model: healthy values decide nothing, and a new drift is no longer suppressed.
    const after = Math.ceil((Date.parse('2026-11-28T17:10:00Z') - Date.parse('2026-11-27T08:00:00Z')) / 1000);
    await send([ev(after, 0.1, 'yolov8n-2026.11.28')]);
    expect(await tap(1, 2000)).toEqual([]);
    await send([ev(after + 1, 0.9, 'yolov8n-2026.11.28')]);
    const [again] = await tap(1);
    expect(again?.type).toBe('RetrainingRequested');
    expect(again!.detail.triggerId).not.toBe(requested!.detail.triggerId);
    expect(again!.detail.referenceWindow).toMatchObject({
      from: '2026-11-28T17:02:14.000Z',
      modelVersion: 'yolov8n-2026.11.28',
    });
    expect(await drain(aws.sqs, aws.stack.lifecycleDeadLetterQueueUrl, 1, 500)).toEqual([]);
  });

  it('ignores a succeeded execution the monitor did not start (no TriggerId), without dead-lettering it', async () => {
    const manual = await sageMaker.send(
      new StartPipelineExecutionCommand({
        PipelineName: PIPELINE_NAME,
        PipelineParameters: [{ Name: 'Note', Value: 'started by hand' }],
      }),
    );
    const lifecycleMapping = mappings[1]!;
    const deletedBefore = lifecycleMapping.counters.deleted;
    await putSageMakerEvent(fixture('pipeline-execution-succeeded', manual.PipelineExecutionArn!));
    // The rule delivered it, the handler consumed (acknowledged) it, and nothing reached the DLQ or the bus.
    const deleted = await waitFor(
      async () => lifecycleMapping.counters.deleted,
      (n) => n > deletedBefore,
    );
    expect(deleted).toBe(deletedBefore + 1);
    expect(await drain(aws.sqs, aws.stack.lifecycleDeadLetterQueueUrl, 1, 500)).toEqual([]);
    expect(await tap(1, 1000)).toEqual([]);
  });

  it('every event published validates against its schema; SageMaker event types are the documented ones', () => {
    expect(tapped.length).toBeGreaterThan(0);
    for (const e of tapped) expect(schemaErrors(`out.${e.type}`, e.detail), e.type).toEqual([]);
    expect(JSON.parse(fixture('pipeline-execution-succeeded', 'x'))['detail-type']).toBe(
      SAGEMAKER_EVENTS.pipelineExecution,
    );
    expect(JSON.parse(fixture('model-package-approved', 'x'))['detail-type']).toBe(SAGEMAKER_EVENTS.modelPackage);
  });
});
