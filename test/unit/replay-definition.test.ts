// Covers the distributed replay's state machine definition (lib/replay-cloud/definition.ts): both
// variants (the worker Lambda deployed, SQS callbacks locally) pass asl-validator (Amazon States
// Language: schema, transitions, terminal states, paths, ARNs), differ only in the task states'
// Resource and Parameters, and have the shape the steps rely on: a Distributed Map reading the run's
// manifest from S3, ResultWriter, the merge, and the Choice looping back to the Map until done.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { REPLAY_STATES, replayDefinition } from '../../lib/replay-cloud/definition.js';

const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (sep?: string) => string;
};

const lambda = replayDefinition({
  task: { kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:visutility-dev-replay-worker' },
  bucket: 'history-bucket',
});
const local = replayDefinition({
  task: { kind: 'sqs-callback', queueUrl: 'http://127.0.0.1:5000/123456789012/visutility-local-replay-tasks' },
  bucket: 'history-bucket',
});
type States = Record<string, Record<string, unknown>>;
const states = (d: Record<string, unknown>) => d.States as States;
const shardTask = (d: Record<string, unknown>) =>
  (states(d)[REPLAY_STATES.shards]!.ItemProcessor as { States: States }).States[REPLAY_STATES.shard]!;

describe('replay state machine definition', () => {
  it('is valid Amazon States Language in both variants', () => {
    for (const d of [lambda, local]) {
      const r = validate(structuredClone(d));
      expect(r.errorsText(), JSON.stringify(d)).toBe('');
      expect(r.isValid).toBe(true);
    }
    // And the validator does catch a broken one: a transition to a state that does not exist.
    const broken = structuredClone(lambda);
    states(broken)[REPLAY_STATES.merge]!.Next = 'Nowhere';
    expect(validate(broken).isValid).toBe(false);
  });

  it('differs between cloud and local only in the task resource', () => {
    const strip = (d: Record<string, unknown>) => {
      const c = structuredClone(d) as Record<string, unknown>;
      const s = states(c);
      for (const t of [s[REPLAY_STATES.merge]!, shardTask(c)]) {
        delete t.Resource;
        delete t.Parameters;
      }
      return c;
    };
    expect(strip(local)).toEqual(strip(lambda));
    expect(shardTask(lambda)).toMatchObject({
      Resource: expect.stringMatching(/^arn:aws:lambda:/),
      Parameters: { step: 'shard', 'input.$': '$' },
    });
    expect(shardTask(local)).toMatchObject({
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      Parameters: { MessageBody: { step: 'shard', 'input.$': '$', 'taskToken.$': '$$.Task.Token' } },
    });
    expect(states(local)[REPLAY_STATES.merge]).toMatchObject({ Parameters: { MessageBody: { step: 'merge' } } });
  });

  it('maps over the run manifest in S3, writes the results, merges and loops until done', () => {
    const map = states(lambda)[REPLAY_STATES.shards]!;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: 'history-bucket', 'Key.$': '$.manifestKey' },
      },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } },
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'history-bucket' } },
      ToleratedFailureCount: 0,
      Next: REPLAY_STATES.merge,
    });
    expect(states(lambda)[REPLAY_STATES.done]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.done', BooleanEquals: true }],
      Default: REPLAY_STATES.shards,
    });
  });
});
