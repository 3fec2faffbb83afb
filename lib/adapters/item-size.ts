// DynamoDB item size as DynamoDB bills it: attribute names + values (strings UTF-8, binary raw,
// numbers ~1 byte per 2 significant digits + 1). One WCU per started KB written.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.B !== undefined) return v.B.length;
  if (v.N !== undefined) {
    const digits = v.N.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M !== undefined)
    return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + Buffer.byteLength(k) + valueSize(x), 0);
  if (v.L !== undefined) return 3 + v.L.reduce((s, x) => s + 1 + valueSize(x), 0);
  return 0;
}

export function itemSizeBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k, 'utf8') + valueSize(v), 0);
}

/** Bytes one write request unit covers. */
export const ITEM_BYTES_PER_WRITE_UNIT = 1024;

export const writeCapacityUnits = (item: Record<string, AttributeValue>) =>
  Math.max(1, Math.ceil(itemSizeBytes(item) / ITEM_BYTES_PER_WRITE_UNIT));
