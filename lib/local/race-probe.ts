// Probes of the local emulator's atomicity, run by the contract test (test/integration/
// emulator-atomicity.test.ts) and by `npm run race-probe` (stock moto against the atomic entry point):
// - conditional writes: N writers save one camera at the same expected version through the real
//   state-store adapter; exactly one may win;
// - SQS: messages sent while others are received and deleted; none may be lost or handed to two
//   receivers at once.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { CameraStateStore } from '../adapters/state-store.js';
import { emptyState } from '../core/camera-state.js';
import { createLocalStack, localClientConfig } from './local-stack.js';

/** Many sockets, so the writers of a contest really reach the server at once. */
function clientConfig(endpoint: string) {
  return {
    ...localClientConfig(endpoint),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) }),
  };
}

export interface WriteContestReport {
  contests: number;
  /** Contests with more than one writer told "ok": a lost update. */
  multiWinner: number;
  /** Contests nobody won (must be 0 too). */
  noWinner: number;
  /** Conditional writes refused (the conflicts the contests exercised). */
  conflicts: number;
}

/**
 * `rounds` contests: `itemsAtOnce` cameras race at a time, each written by `writers` savers at the
 * same expected version (first 0: the item does not exist, then the version the winner wrote).
 */
export async function conditionalWriteContest(
  endpoint: string,
  opts: { rounds: number; itemsAtOnce: number; writers: number },
): Promise<WriteContestReport> {
  const stack = await createLocalStack(endpoint, { stage: `race${Date.now() % 100_000}` });
  const ddb = new DynamoDBClient(clientConfig(endpoint));
  const store = new CameraStateStore(ddb, stack.tableName);
  const report: WriteContestReport = { contests: 0, multiWinner: 0, noWinner: 0, conflicts: 0 };
  const expected = new Map<string, number>();
  try {
    for (let wave = 0; report.contests < opts.rounds; wave++) {
      const items = Array.from({ length: Math.min(opts.itemsAtOnce, opts.rounds - report.contests) }, (_, i) => {
        // Each item races twice: at version 0 (create) and at version 1 (update).
        return `race-${Math.floor(wave / 2)}-${i}`;
      });
      const outcomes = await Promise.all(
        items.map(async (camera) => {
          const at = expected.get(camera) ?? 0;
          const results = await Promise.all(
            Array.from({ length: opts.writers }, (_, w) => {
              // Distinct states and write times: a loser must never take the winner's item for its own.
              const state = emptyState();
              state.cooldown = { RetrainingRequested: w };
              return store.save(camera, state, at, 1_000 * wave + w);
            }),
          );
          const won = results.filter((r) => r.ok).length;
          expected.set(camera, at + 1);
          return { won, lost: results.length - won };
        }),
      );
      for (const o of outcomes) {
        report.contests++;
        report.conflicts += o.lost;
        if (o.won > 1) report.multiWinner++;
        if (o.won === 0) report.noWinner++;
      }
    }
  } finally {
    ddb.destroy();
  }
  return report;
}

export interface QueueContestReport {
  sent: number;
  /** Sent, never received by the end (after a full drain). */
  lost: number;
  /** Received by two receives while its first receipt was still in flight. */
  doubleReceived: number;
  /** Calls the emulator failed (stock moto's SQS can answer 500 under this race). */
  serverErrors: number;
}

/**
 * Sends `messages` in batches of 10 while `receivers` loops receive and delete what arrives, then
 * drains the queue. The visibility timeout outlasts the run, so each message may be received once.
 */
export async function queueDeleteContest(
  endpoint: string,
  opts: { messages: number; receivers: number },
): Promise<QueueContestReport> {
  const sqs = new SQSClient(clientConfig(endpoint));
  try {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `race-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
        Attributes: { VisibilityTimeout: '600' },
      }),
    );
    const received = new Map<string, number>();
    let sendingDone = false,
      serverErrors = 0;
    const receiveOnce = async () => {
      try {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        const msgs = r.Messages ?? [];
        for (const m of msgs) received.set(m.Body!, (received.get(m.Body!) ?? 0) + 1);
        if (msgs.length > 0)
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        return msgs.length;
      } catch {
        serverErrors++;
        return -1;
      }
    };
    const receiver = async () => {
      while (!sendingDone) await receiveOnce();
    };
    const sender = async () => {
      for (let i = 0; i < opts.messages; i += 10) {
        const n = Math.min(10, opts.messages - i);
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl,
            Entries: Array.from({ length: n }, (_, k) => ({ Id: String(k), MessageBody: `m${i + k}` })),
          }),
        );
      }
      sendingDone = true;
    };
    await Promise.all([sender(), ...Array.from({ length: opts.receivers }, receiver)]);
    for (let tries = 0; tries < 1_000; tries++) if ((await receiveOnce()) === 0) break;
    let lost = 0,
      doubleReceived = 0;
    for (let i = 0; i < opts.messages; i++) {
      const n = received.get(`m${i}`) ?? 0;
      if (n === 0) lost++;
      if (n > 1) doubleReceived++;
    }
    return { sent: opts.messages, lost, doubleReceived, serverErrors };
  } finally {
    sqs.destroy();
  }
}
