// Covers lib/app/sagemaker-events.ts on the stored SageMaker event fixtures (test/fixtures/sagemaker,
// the documented JSON shapes): a succeeded execution → RetrainingCompleted and an approved model
// package → ModelDeployed, for a camera (CameraId parameter) and for a cohort (ModelVersion +
// Modality, no cameraId); what is ignored (other statuses, executions the monitor did not start) and
// what is rejected with a reason. The execution parameters come from an in-memory port.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { translateSageMakerEvent } from '../../lib/app/sagemaker-events.js';
import type { PipelineExecutionParameters } from '../../lib/app/ports.js';
import { LifecycleEnvelopeSchema } from '../../lib/app/model-lifecycle.js';
import { ModelLifecycleDetailSchema } from '../../lib/core/event-schemas.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/sagemaker/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  > & { detail: Record<string, unknown> };
const EXECUTION = 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/retrain-camera-model/execution/p4jn9xou8a8s';
const TRIGGER = '5a0f6f0e-63d5-5c55-9a0e-0b1f0d7c2a11';

const executions = (byArn: Record<string, Record<string, string>>): PipelineExecutionParameters => ({
  async parameters(arn) {
    const p = byArn[arn];
    if (!p) throw new Error(`ResourceNotFound: ${arn}`);
    return p;
  },
});
const camera = executions({
  [EXECUTION]: { TriggerId: TRIGGER, Scope: 'camera', CameraId: 'cam-12', Modality: 'Rgb', ModelVersion: 'v1' },
});
const cohort = executions({
  [EXECUTION]: { TriggerId: TRIGGER, Scope: 'model', Modality: 'Thermal', ModelVersion: 'thermal-det-3' },
});

describe('SageMaker events → lifecycle events', () => {
  it('a succeeded execution started for a camera is RetrainingCompleted for that camera and modality', async () => {
    const t = await translateSageMakerEvent(fixture('pipeline-execution-succeeded'), camera);
    expect(t).toEqual({
      kind: 'lifecycle',
      envelope: {
        'detail-type': 'RetrainingCompleted',
        source: 'aws.sagemaker',
        time: '2026-11-28T16:35:48Z',
        detail: {
          cameraId: 'cam-12',
          modality: 'Rgb',
          triggerId: TRIGGER,
          at: '2026-11-28T16:35:48Z',
          sageMakerArn: EXECUTION,
        },
      },
    });
    if (t.kind !== 'lifecycle') throw new Error('unreachable');
    expect(LifecycleEnvelopeSchema.safeParse(t.envelope).success).toBe(true);
    expect(ModelLifecycleDetailSchema.safeParse(t.envelope.detail).success).toBe(true);
  });

  it('an approved package of that execution is ModelDeployed, with the version from its customer metadata', async () => {
    const t = await translateSageMakerEvent(fixture('model-package-approved'), camera);
    expect(t).toMatchObject({
      kind: 'lifecycle',
      envelope: {
        'detail-type': 'ModelDeployed',
        detail: { cameraId: 'cam-12', modality: 'Rgb', modelVersion: 'yolov8n-2026.11.28', triggerId: TRIGGER },
      },
    });
  });

  it('a model-scope execution gives a cohort event: modelVersion + modality, no cameraId', async () => {
    for (const [name, type] of [
      ['pipeline-execution-succeeded', 'RetrainingCompleted'],
      ['model-package-approved', 'ModelDeployed'],
    ] as const) {
      const t = await translateSageMakerEvent(fixture(name), cohort);
      expect(t.kind).toBe('lifecycle');
      if (t.kind !== 'lifecycle') continue;
      expect(t.envelope['detail-type']).toBe(type);
      expect(t.envelope.detail).toMatchObject({
        modelVersion: 'thermal-det-3',
        modality: 'Thermal',
        triggerId: TRIGGER,
      });
      expect(t.envelope.detail).not.toHaveProperty('cameraId');
      expect(ModelLifecycleDetailSchema.safeParse(t.envelope.detail).success).toBe(true);
    }
  });

  it('ignores other statuses and executions the monitor did not start', async () => {
    const failed = fixture('pipeline-execution-succeeded');
    failed.detail.currentPipelineExecutionStatus = 'Failed';
    expect(await translateSageMakerEvent(failed, camera)).toEqual({
      kind: 'ignored',
      reason: 'pipeline execution status "Failed", not Succeeded',
    });
    const rejected = fixture('model-package-approved');
    rejected.detail.ModelApprovalStatus = 'Rejected';
    expect((await translateSageMakerEvent(rejected, camera)).kind).toBe('ignored');
    const manual = executions({ [EXECUTION]: { Scope: 'camera', CameraId: 'cam-12' } });
    expect(await translateSageMakerEvent(fixture('pipeline-execution-succeeded'), manual)).toEqual({
      kind: 'ignored',
      reason: `execution ${EXECUTION} has no TriggerId: not started by the monitor`,
    });
  });

  it('rejects, with the reason, what cannot be mapped', async () => {
    const noLineage = fixture('model-package-approved');
    delete noLineage.detail.MetadataProperties;
    expect(await translateSageMakerEvent(noLineage, camera)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('MetadataProperties.GeneratedBy is missing'),
    });
    const badModality = executions({ [EXECUTION]: { TriggerId: TRIGGER, CameraId: 'c', Modality: 'Lidar' } });
    expect(await translateSageMakerEvent(fixture('pipeline-execution-succeeded'), badModality)).toEqual({
      kind: 'invalid',
      reason: 'parameter Modality must be one of Rgb | Thermal | Depth, got "Lidar"',
    });
    const cohortWithoutModality = executions({
      [EXECUTION]: { TriggerId: TRIGGER, Scope: 'model', ModelVersion: 'm' },
    });
    expect(await translateSageMakerEvent(fixture('pipeline-execution-succeeded'), cohortWithoutModality)).toMatchObject(
      { kind: 'invalid', reason: expect.stringContaining('needs the ModelVersion and Modality parameters') },
    );
    const other = { ...fixture('pipeline-execution-succeeded'), 'detail-type': 'SageMaker Training Job State Change' };
    expect((await translateSageMakerEvent(other, camera)).kind).toBe('invalid');
  });

  it('fails (to be retried) when the execution parameters cannot be read', async () => {
    await expect(translateSageMakerEvent(fixture('pipeline-execution-succeeded'), executions({}))).rejects.toThrow(
      /reading the parameters of arn:aws:sagemaker:.*ResourceNotFound/,
    );
  });
});
