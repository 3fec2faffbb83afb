// DynamoDB adapter for per-camera state: one item per camera, optimistic concurrency on `v`.
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { decodeState, encodeState } from '../core/state-codec.js';
import type { CameraState } from '../core/camera-state.js';
import type { SaveResult, StateStore, VersionedState } from '../app/ports.js';
import { STATE_TABLE } from '../resources.js';
import { ITEM_BYTES_PER_WRITE_UNIT, itemSizeBytes } from './item-size.js';

const A = STATE_TABLE.attributes;

/** The state and version a stored camera item holds (every codec version). */
export function fromItem(item: Record<string, AttributeValue> | undefined): VersionedState {
  if (!item) return { state: decodeState(undefined), version: 0 };
  return {
    state: decodeState(
      { streams: item[A.streams]?.B, rest: item[A.rest]?.S, restZ: item[A.restDeflated]?.B },
      item[STATE_TABLE.partitionKey.name]?.S?.slice(STATE_TABLE.cameraKey('').length),
    ),
    version: Number(item[A.version]?.N ?? 0),
  };
}

/** The item one camera's state is stored as (exported for size accounting). */
export function cameraItem(
  cameraId: string,
  state: CameraState,
  version: number,
  nowMs: number,
): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.cameraKey(cameraId) },
    [A.version]: { N: String(version) },
    [A.updatedAt]: { N: String(nowMs) },
  };
  if (state.outbox.length > 0 || (state.signals?.length ?? 0) > 0)
    item[STATE_TABLE.pendingOutboxIndex.partitionKey.name] = { S: STATE_TABLE.pendingOutboxIndex.value };
  // What is left of one write unit for the state: the codec deflates its JSON past that.
  const budget = ITEM_BYTES_PER_WRITE_UNIT - itemSizeBytes(item) - A.streams.length - A.rest.length;
  const enc = encodeState(state, budget, cameraId);
  if (enc.restZ) item[A.restDeflated] = { B: enc.restZ };
  else item[A.rest] = { S: enc.rest };
  if (enc.streams.length > 1) item[A.streams] = { B: enc.streams };
  return item;
}

/** Same version, state and write time: the stored item is the one `item` would write. */
function sameItem(stored: Record<string, AttributeValue>, item: Record<string, AttributeValue>): boolean {
  const bytes = (v: AttributeValue | undefined) => Buffer.from(v?.B ?? new Uint8Array()).toString('base64');
  return (
    stored[A.version]?.N === item[A.version]?.N &&
    stored[A.updatedAt]?.N === item[A.updatedAt]?.N &&
    stored[A.rest]?.S === item[A.rest]?.S &&
    bytes(stored[A.restDeflated]) === bytes(item[A.restDeflated]) &&
    bytes(stored[A.streams]) === bytes(item[A.streams])
  );
}

export class CameraStateStore implements StateStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Cameras whose outbox has held unpublished triggers since before `updatedBeforeMs`. */
  async pendingOutboxes(updatedBeforeMs: number, limit: number): Promise<string[]> {
    const ix = STATE_TABLE.pendingOutboxIndex;
    const out: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ix.name,
          KeyConditionExpression: '#ob = :pending AND #u < :before',
          ExpressionAttributeNames: { '#ob': ix.partitionKey.name, '#u': ix.sortKey.name },
          ExpressionAttributeValues: { ':pending': { S: ix.value }, ':before': { N: String(updatedBeforeMs) } },
          Limit: limit - out.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const prefix = STATE_TABLE.cameraKey('');
      // Cohort heads share the index (their own outbox); they are swept by sweepCohortOutboxes.
      for (const item of r.Items ?? []) {
        const pk = item[STATE_TABLE.partitionKey.name]!.S!;
        if (pk.startsWith(prefix)) out.push(pk.slice(prefix.length));
      }
      start = r.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  /**
   * An eventually consistent read: half the read units of a consistent one. Every write is
   * conditional on the version read, so a stale item costs one failed condition, which returns the
   * current item; it never loses or re-applies an event. (A camera's batches are a linger apart.)
   */
  async load(cameraId: string, consistent = false): Promise<VersionedState> {
    const r = await this.ddb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.cameraKey(cameraId) } },
        ConsistentRead: consistent,
      }),
    );
    return fromItem(r.Item);
  }

  /**
   * Writes the whole state if the stored version is still `expected`. On a conflict the current
   * item comes back with the failure (ReturnValuesOnConditionCheckFailure), so a retry needs no read.
   */
  async save(cameraId: string, state: CameraState, expected: number, nowMs: number): Promise<SaveResult> {
    const next = expected + 1;
    const item = cameraItem(cameraId, state, next, nowMs);
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#pk)' : '#v = :expected',
          ExpressionAttributeNames: expected === 0 ? { '#pk': STATE_TABLE.partitionKey.name } : { '#v': A.version },
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':expected': { N: String(expected) } } }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, version: next };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') {
        const old = (err as ConditionalCheckFailedException).Item;
        // The SDK retried a write that had landed (its reply was lost): the item in the way is this
        // very write. Report what landed, not a conflict that would re-apply events as duplicates.
        // Only on a retry: a first attempt's conflict is another writer's, even with equal bytes.
        const attempts = (err as ConditionalCheckFailedException).$metadata?.attempts ?? 1;
        if (old && attempts > 1 && sameItem(old, item)) return { ok: true, version: next };
        // Some emulators omit the old item: read it then.
        return { ok: false, current: old ? fromItem(old) : await this.load(cameraId, true) };
      }
      throw err;
    }
  }
}
