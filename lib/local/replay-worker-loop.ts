// Locally, the distributed replay's tasks arrive on an SQS queue (the state machine's
// .waitForTaskToken tasks: moto runs Lambda tasks only in Docker). This loop plays the worker
// Lambda: it takes each task, calls the same step function (lib/replay-cloud/steps.ts) and answers
// with SendTaskSuccess or SendTaskFailure. It schedules nothing: the state machine does.
import type { S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ReplayStep } from '../replay-cloud/definition.js';
import { runReplayStep, type MergeStepInput, type ShardStepInput } from '../replay-cloud/steps.js';

export interface ReplayWorkerLoopOptions {
  sqs: SQSClient;
  sfn: SFNClient;
  s3: S3Client;
  queueUrl: string;
  bucket: string;
  /** Tasks run at once (the local stand-in for concurrent Lambda workers). */
  concurrency?: number;
  onTask?: (step: string, ok: boolean, error?: string) => void;
}

export class ReplayWorkerLoop {
  private running = false;
  private loops: Promise<void>[] = [];
  constructor(private readonly o: ReplayWorkerLoopOptions) {}

  start(): this {
    this.running = true;
    this.loops = Array.from({ length: Math.max(1, this.o.concurrency ?? 2) }, () => this.loop());
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
  }

  private async loop(): Promise<void> {
    const { sqs, sfn, s3, queueUrl, bucket } = this.o;
    while (this.running) {
      let messages;
      try {
        messages = (
          await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }))
        ).Messages;
      } catch {
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const m of messages ?? []) {
        const body = JSON.parse(m.Body ?? '{}') as {
          step: ReplayStep;
          input: ShardStepInput | MergeStepInput;
          taskToken: string;
        };
        try {
          const output = await runReplayStep(s3, bucket, body.step, body.input);
          await sfn.send(new SendTaskSuccessCommand({ taskToken: body.taskToken, output: JSON.stringify(output) }));
          this.o.onTask?.(body.step, true);
        } catch (err) {
          const e = err as Error;
          await sfn.send(
            new SendTaskFailureCommand({
              taskToken: body.taskToken,
              error: e.name.slice(0, 256),
              cause: e.message.slice(0, 32_000),
            }),
          );
          this.o.onTask?.(body.step, false, e.message);
        }
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
  }
}
