// DynamoDB item sizes and capacity units by the published rules, and request counting through SDK
// middleware on the real clients (the same clients the code under test uses).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Size of a number: 1 byte per two significant digits, plus 1 (leading/trailing zeros trimmed). */
function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1 + (text.startsWith('-') ? 1 : 0);
}

export function attributeValueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((s, x) => s + utf8(x), 0);
  if (v.NS) return v.NS.reduce((s, x) => s + numberSize(x), 0);
  if (v.BS) return v.BS.reduce((s, x) => s + x.byteLength, 0);
  // Lists and maps: 3 bytes overhead plus 1 byte per element.
  if (v.L) return 3 + v.L.reduce((s, x) => s + 1 + attributeValueSize(x), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + 1 + utf8(k) + attributeValueSize(x), 0);
  return 0;
}

export function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, v] of Object.entries(item)) size += utf8(name) + attributeValueSize(v);
  return size;
}

/** Standard write: 1 WCU per 1 KB, rounded up; a PutItem over an existing item pays for the larger. */
export const writeUnits = (newBytes: number, oldBytes = 0) => Math.max(1, Math.ceil(Math.max(newBytes, oldBytes) / 1024));
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
  /** Bytes of every item written, for size statistics. */
  writtenItemBytes: number[];
  /** SQS message bodies sent (bytes), for per-64 KB-chunk billing. */
  sentBodyBytes: number[];
  eventBridgeEntries: number;
}

export const newCounter = (): RequestCounter => ({ calls: {}, writeUnits: 0, readUnits: 0, writtenItemBytes: [], sentBodyBytes: [], eventBridgeEntries: 0 });

export function resetCounter(c: RequestCounter): void {
  Object.assign(c, newCounter());
}

interface MiddlewareClient {
  middlewareStack: { add: (mw: any, opts: any) => void }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const keyOf = (key: Record<string, AttributeValue> | undefined) => JSON.stringify(key ?? {});

/**
 * Counts every request the client sends and, for DynamoDB, the capacity units it would be billed by
 * item size. `partitionKey` names the key attribute, to remember each item's last written size.
 */
export function countRequests(client: MiddlewareClient, service: string, counter: () => RequestCounter, partitionKey = 'pk'): void {
  const stored = new Map<string, number>();
  client.middlewareStack.add(
    (next: (a: { input: any }) => Promise<{ output: any }>, context: { commandName: string }) => async (args: { input: any }) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const c = counter();
      const name = `${service}.${context.commandName.replace(/Command$/, '')}`;
      c.calls[name] = (c.calls[name] ?? 0) + 1;
      const input = args.input;
      if (name === 'SQS.SendMessage') c.sentBodyBytes.push(utf8(input.MessageBody ?? ''));
      if (name === 'SQS.SendMessageBatch') for (const e of input.Entries ?? []) c.sentBodyBytes.push(utf8(e.MessageBody ?? ''));
      if (name === 'EventBridge.PutEvents') c.eventBridgeEntries += (input.Entries ?? []).length;
      if (name === 'DynamoDB.PutItem') {
        const key = keyOf({ [partitionKey]: input.Item[partitionKey] });
        const bytes = itemSize(input.Item);
        c.writtenItemBytes.push(bytes);
        c.writeUnits += writeUnits(bytes, stored.get(key) ?? 0);
        // Counted before sending: a failed condition still consumes the write units.
        const out = await next(args);
        stored.set(key, bytes);
        return out;
      }
      const out = await next(args);
      if (name === 'DynamoDB.GetItem') c.readUnits += readUnits(out.output.Item ? itemSize(out.output.Item) : 0, input.ConsistentRead === true);
      return out;
    },
    { step: 'initialize', name: `benchCount${service}`, override: true },
  );
}

export const totalCalls = (c: RequestCounter, prefix: string) =>
  Object.entries(c.calls).filter(([k]) => k.startsWith(prefix)).reduce((s, [, n]) => s + n, 0);

/** Adds ReturnConsumedCapacity: 'TOTAL' to every request and sums what the engine reports. */
export function sumConsumedCapacity(client: MiddlewareClient, sink: { write: number; read: number; requests: number }): void {
  client.middlewareStack.add(
    (next: (a: { input: any }) => Promise<{ output: any }>, context: { commandName: string }) => async (args: { input: any }) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      args.input.ReturnConsumedCapacity = 'TOTAL';
      const out = await next(args);
      const cc = out.output.ConsumedCapacity;
      if (cc) {
        sink.requests++;
        if (context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand') sink.write += cc.WriteCapacityUnits ?? cc.CapacityUnits ?? 0;
        else sink.read += cc.ReadCapacityUnits ?? cc.CapacityUnits ?? 0;
      }
      return out;
    },
    { step: 'initialize', name: 'benchConsumedCapacity', override: true },
  );
}
