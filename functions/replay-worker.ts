// Replay worker Lambda: the distributed replay's shard and merge steps (lib/replay-cloud/steps.ts),
// invoked by the replay state machine with { step, input }. Wiring only.
import { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from '../lib/adapters/env.js';
import type { ReplayStep } from '../lib/replay-cloud/definition.js';
import { runReplayStep, type MergeStepInput, type ShardStepInput } from '../lib/replay-cloud/steps.js';
import { ENV } from '../lib/resources.js';

const s3 = new S3Client({});
const bucket = requireEnv(ENV.replayBucket);

export const handler = async (event: { step: ReplayStep; input: ShardStepInput | MergeStepInput }) =>
  runReplayStep(s3, bucket, event.step, event.input);
