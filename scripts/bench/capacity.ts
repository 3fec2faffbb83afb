// DynamoDB capacity units by the published rules (item sizes from lib/adapters/item-size.ts), and request counting through SDK
// middleware on the real clients (the same clients the code under test uses).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Standard write: 1 WCU per 1 KB, rounded up; a PutItem over an existing item pays for the larger. */
export const writeUnits = (newBytes: number, oldBytes = 0) =>
  Math.max(1, Math.ceil(Math.max(newBytes, oldBytes) / 1024));
/** Read: 1 RCU per 4 KB strongly consistent (half for eventually consistent); a miss still costs one unit. */
export const readUnits = (bytes: number, consistent: boolean) => {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : Math.ceil(units) / 2;
};

export interface RequestCounter {
  /** Calls by `Service.Command`. */
  calls: Record<string, number>;
  writeUnits: number;
  readUnits: number;
  /** Every PutItem: the item's partition key value, its size and the units it was billed. */
  writes: { key: string; bytes: number; units: number }[];
  /** SQS message bodies sent (bytes), for per-64 KB-chunk billing. */
  sentBodyBytes: number[];
  eventBridgeEntries: number;
}

export const newCounter = (): RequestCounter => ({
  calls: {},
  writeUnits: 0,
  readUnits: 0,
  writes: [],
  sentBodyBytes: [],
  eventBridgeEntries: 0,
});

export function resetCounter(c: RequestCounter): void {
  Object.assign(c, newCounter());
}

interface MiddlewareClient {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK middleware types differ per client
  middlewareStack: { add: (mw: any, opts: any) => void };
}

const keyOf = (key: Record<string, AttributeValue> | undefined) => JSON.stringify(key ?? {});

/**
 * Counts every request the client sends and, for DynamoDB, the capacity units it would be billed by
 * item size. `partitionKey` names the key attribute, to remember each item's last written size.
 */
export function countRequests(
  client: MiddlewareClient,
  service: string,
  counter: () => RequestCounter,
  partitionKey = 'pk',
): void {
  const stored = new Map<string, number>();
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: command input and output differ per command
    (next: (a: { input: any }) => Promise<{ output: any }>, context: { commandName: string }) =>
      // biome-ignore lint/suspicious/noExplicitAny: command input differs per command
      async (args: { input: any }) => {
        const c = counter();
        const name = `${service}.${context.commandName.replace(/Command$/, '')}`;
        c.calls[name] = (c.calls[name] ?? 0) + 1;
        const input = args.input;
        if (name === 'SQS.SendMessage') c.sentBodyBytes.push(utf8(input.MessageBody ?? ''));
        if (name === 'SQS.SendMessageBatch')
          for (const e of input.Entries ?? []) c.sentBodyBytes.push(utf8(e.MessageBody ?? ''));
        if (name === 'EventBridge.PutEvents') c.eventBridgeEntries += (input.Entries ?? []).length;
        if (name === 'DynamoDB.PutItem') {
          const key = keyOf({ [partitionKey]: input.Item[partitionKey] });
          const bytes = itemSizeBytes(input.Item);
          const units = writeUnits(bytes, stored.get(key) ?? 0);
          c.writes.push({ key: input.Item[partitionKey]?.S ?? key, bytes, units });
          c.writeUnits += units;
          // Counted before sending: a failed condition still consumes the write units.
          const out = await next(args);
          stored.set(key, bytes);
          return out;
        }
        const out = await next(args);
        // Cohort items (fleet decisions): an update is billed by the larger of the item before and after;
        // the adapters ask for the item after (ALL_NEW) where it matters, else it is a small head write.
        if (name === 'DynamoDB.UpdateItem') {
          const units = writeUnits(out.output.Attributes ? itemSizeBytes(out.output.Attributes) : 1);
          c.writes.push({ key: input.Key?.[partitionKey]?.S ?? keyOf(input.Key), bytes: 0, units });
          c.writeUnits += units;
        }
        if (name === 'DynamoDB.BatchGetItem')
          for (const items of Object.values(out.output.Responses ?? {}) as Record<string, AttributeValue>[][])
            for (const item of items) c.readUnits += readUnits(itemSizeBytes(item), true);
        if (name === 'DynamoDB.GetItem')
          c.readUnits += readUnits(out.output.Item ? itemSizeBytes(out.output.Item) : 0, input.ConsistentRead === true);
        return out;
      },
    { step: 'initialize', name: `benchCount${service}`, override: true },
  );
}

/** Adds ReturnConsumedCapacity: 'TOTAL' to every request and sums what the engine reports. */
export function sumConsumedCapacity(
  client: MiddlewareClient,
  sink: { write: number; read: number; requests: number },
): void {
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: command input and output differ per command
    (next: (a: { input: any }) => Promise<{ output: any }>, context: { commandName: string }) =>
      // biome-ignore lint/suspicious/noExplicitAny: command input differs per command
      async (args: { input: any }) => {
        args.input.ReturnConsumedCapacity = 'TOTAL';
        const out = await next(args);
        const cc = out.output.ConsumedCapacity;
        if (cc) {
          sink.requests++;
          if (context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand')
            sink.write += cc.WriteCapacityUnits ?? cc.CapacityUnits ?? 0;
          else sink.read += cc.ReadCapacityUnits ?? cc.CapacityUnits ?? 0;
        }
        return out;
      },
    { step: 'initialize', name: 'benchConsumedCapacity', override: true },
  );
}
