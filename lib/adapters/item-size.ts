// DynamoDB item size as DynamoDB bills it: attribute names + values (strings UTF-8, binary raw,
// numbers ~1 byte per 2 significant digits + 1). One WCU per started KB written.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.B !== undefined) return v.B.length;
  if (v.N !== undefined) return Math.ceil(Math.max(1, significantDigits(v.N)) / 2) + 1;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M !== undefined)
    return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + Buffer.byteLength(k) + valueSize(x), 0);
  if (v.L !== undefined) return 3 + v.L.reduce((s, x) => s + 1 + valueSize(x), 0);
  return 0;
}

/**
 * Digits of a number as written, less the sign, the exponent, the (first) point and leading and
 * trailing zeros. By character codes: every state write sizes its item.
 */
export function significantDigits(n: string): number {
  const start = n.charCodeAt(0) === 45 ? 1 : 0;
  let end = n.length;
  for (let i = start; i < end; i++) {
    const c = n.charCodeAt(i);
    if (c === 101 || c === 69) end = i;
  }
  let point = -1;
  for (let i = start; i < end && point < 0; i++) if (n.charCodeAt(i) === 46) point = i;
  let a = start,
    b = end;
  while (a < b && (a === point || n.charCodeAt(a) === 48)) a++;
  while (b > a && (b - 1 === point || n.charCodeAt(b - 1) === 48)) b--;
  return b - a - (point >= a && point < b ? 1 : 0);
}

export function itemSizeBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k, 'utf8') + valueSize(v), 0);
}

/** Bytes one write request unit covers. */
export const ITEM_BYTES_PER_WRITE_UNIT = 1024;

export const writeCapacityUnits = (item: Record<string, AttributeValue>) =>
  Math.max(1, Math.ceil(itemSizeBytes(item) / ITEM_BYTES_PER_WRITE_UNIT));
