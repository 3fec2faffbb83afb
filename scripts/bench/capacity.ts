// DynamoDB capacity units by the published rules (item sizes from lib/adapters/item-size.ts), and request counting through SDK
// middleware on the real clients (the same clients the code under test uses).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';
import { COHORT, STATE_TABLE } from '../../lib/resources.js';

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
  /**
   * Every PutItem and UpdateItem: the item's partition key value, its size (PutItem; UpdateItem: the
   * larger of before and after when known, else 0), the units it was billed and what it wrote
   * (`writeKind`).
   */
  writes: { key: string; bytes: number; units: number; kind: WriteKind }[];
  /** Units of writes whose condition failed (billed by the item's size, like a write that lands). */
  failedWriteUnits: number;
  /**
   * Units of the pending-outbox index (KEYS_ONLY, ≤ 1 KB an entry): one to add an entry, one to remove
   * it, two to move it (its sort key `u` changes), none for items outside the index.
   */
  indexWriteUnits: number;
  /** SQS message bodies sent (bytes), for per-64 KB-chunk billing. */
  sentBodyBytes: number[];
  eventBridgeEntries: number;
}

export const newCounter = (): RequestCounter => ({
  calls: {},
  writeUnits: 0,
  readUnits: 0,
  writes: [],
  failedWriteUnits: 0,
  indexWriteUnits: 0,
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
 * What a write to the state table is, by its key (lib/resources.ts): a camera's state write, the
 * clearing write of the same update (same update time `u` as the item it replaces: updateCamera writes
 * both with one clock reading), a cohort shard (member record) or head write, anything else.
 */
export type WriteKind = 'camera' | 'clearing' | 'shard' | 'head' | 'other';

function writeKind(key: string, sameUpdate: boolean): WriteKind {
  if (key.startsWith(STATE_TABLE.cameraKey(''))) return sameUpdate ? 'clearing' : 'camera';
  if (key.startsWith(COHORT.shardPrefix)) return 'shard';
  if (key.startsWith(COHORT.headPrefix)) return 'head';
  return 'other';
}

/** The item an UpdateItem of plain `SET #name = :value` pairs leaves, from the item before it. */
// biome-ignore lint/suspicious/noExplicitAny: the command input is untyped here
function itemAfterSet(before: Record<string, AttributeValue>, input: any): Record<string, AttributeValue> {
  const after = { ...before };
  const set = /(#\w+)\s*=\s*(:\w+)\s*(?:,|$)/g;
  for (const m of String(input.UpdateExpression ?? '').matchAll(set)) {
    const name = input.ExpressionAttributeNames?.[m[1]!];
    const value = input.ExpressionAttributeValues?.[m[2]!];
    if (name && value) after[name] = value;
  }
  return after;
}

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
  const stored = new Map<string, { bytes: number; indexed: boolean; u?: string }>();
  const indexKey = STATE_TABLE.pendingOutboxIndex.partitionKey.name;
  const sortKey = STATE_TABLE.pendingOutboxIndex.sortKey.name;
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
          const before = stored.get(key);
          const units = writeUnits(bytes, before?.bytes ?? 0);
          const u = input.Item[sortKey]?.N as string | undefined;
          const pk = input.Item[partitionKey]?.S ?? key;
          c.writes.push({ key: pk, bytes, units, kind: writeKind(pk, before?.u !== undefined && before.u === u) });
          c.writeUnits += units;
          // Counted before sending: a failed condition still consumes the write units.
          const out = await next(args);
          const indexed = input.Item[indexKey] !== undefined;
          c.indexWriteUnits += (before?.indexed ? 1 : 0) + (indexed ? 1 : 0);
          stored.set(key, { bytes, indexed, ...(u !== undefined ? { u } : {}) });
          return out;
        }
        // biome-ignore lint/suspicious/noExplicitAny: command output differs per command
        let out: { output: any };
        try {
          out = await next(args);
        } catch (err) {
          // A failed condition is billed by the item's size too (the adapters ask for the item back).
          const item = (err as { Item?: Record<string, AttributeValue> }).Item;
          if (name === 'DynamoDB.UpdateItem') c.failedWriteUnits += writeUnits(item ? itemSizeBytes(item) : 0);
          throw err;
        }
        // Cohort items (fleet decisions): an update is billed by the larger of the item before and after.
        // The adapters ask for the item after (ALL_NEW) or before (ALL_OLD, plain SETs: after computed);
        // without either it is a small head write.
        if (name === 'DynamoDB.UpdateItem') {
          const got = out.output.Attributes as Record<string, AttributeValue> | undefined;
          // ALL_OLD returns nothing for an item the write creates: the item after is its key and the SETs.
          const bytes =
            input.ReturnValues === 'ALL_OLD'
              ? Math.max(itemSizeBytes(got ?? {}), itemSizeBytes(itemAfterSet({ ...input.Key, ...got }, input)))
              : got
                ? itemSizeBytes(got)
                : 0;
          const units = writeUnits(bytes || 1);
          const pk = input.Key?.[partitionKey]?.S ?? keyOf(input.Key);
          c.writes.push({ key: pk, bytes, units, kind: writeKind(pk, false) });
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
