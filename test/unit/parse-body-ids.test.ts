// Covers parseBody's id bookkeeping in metric-event.ts: the id tags it hands the apply loop equal
// stream-window.ts idTag of each accepted (lower-cased) id, for upper-case ids and for events the
// one-pass check declines too; and its in-message duplicate check (a table on the id hash) refuses
// exactly the repeated ids, across bodies of any size, and tells apart two ids with the same 32-bit hash;
// malformed ids (hyphens out of place among them) still get the schema's message.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseBody } from '../../lib/core/metric-event.js';
import { idHash, idTag } from '../../lib/core/stream-window.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';

const NOW = BASE_TIME + 86_400_000;
/** Two UUIDs whose FNV-1a hashes are equal (found by search): only the ids themselves tell them apart. */
const COLLIDING = ['00000000-0000-4000-8000-00000004b9cc', '00000000-0000-4000-8000-0000000b2b18'];

describe('parseBody ids', () => {
  it('the colliding pair does collide', () => {
    expect(idHash(COLLIDING[0]!)).toBe(idHash(COLLIDING[1]!));
  });

  it('hands out the idTag of every accepted event, in order', () => {
    const events = [
      wireEvent({ i: 1 }),
      wireEvent({ i: 2, id: 'ABCDEF01-2345-4789-ABCD-EF0123456789' }),
      // Not an ordinary event for the one-pass check (an unknown field, a numeric string id elsewhere): still tagged.
      { ...wireEvent({ i: 3 }), extra: { nested: true } },
      wireEvent({ i: 4, timestamp: '2026-11-27T09:00:04+01:00' }),
    ];
    const r = parseBody(JSON.stringify(events), NOW);
    expect(r.rejections).toEqual([]);
    expect(r.events.map((e) => e.id)[1]).toBe('abcdef01-2345-4789-abcd-ef0123456789');
    expect(r.tags).toEqual(r.events.map((e) => idTag(e.id)));
    const single = parseBody(JSON.stringify(wireEvent({ id: 'ABCDEF01-2345-4789-ABCD-EF0123456780' })), NOW);
    expect(single.tags).toEqual([idTag('abcdef01-2345-4789-abcd-ef0123456780')]);
  });

  it('refuses exactly the repeated ids, whatever the body size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 400 }),
        fc.boolean(),
        (picks, upper) => {
          const id = (k: number) => `00000000-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;
          const events = picks.map((k, i) =>
            wireEvent({ i, id: upper && k % 2 ? id(k).toUpperCase() : id(k), metric: 'LatencyMs', value: 1 }),
          );
          const r = parseBody(JSON.stringify(events), NOW);
          const firstIndex = new Map<number, number>();
          for (const [i, k] of picks.entries()) if (!firstIndex.has(k)) firstIndex.set(k, i);
          const repeated = picks.map((k, i) => (firstIndex.get(k) === i ? -1 : i)).filter((i) => i >= 0);
          expect(r.events.map((e) => e.id)).toEqual([...firstIndex.keys()].map(id));
          expect(r.tags).toEqual(r.events.map((e) => idTag(e.id)));
          if (repeated.length <= 10) expect(r.rejections.map((x) => x.index)).toEqual(repeated);
          else expect(r.rejections).toHaveLength(1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses ids that are not UUIDs, hyphens out of place included, with the schema message', () => {
    const bad = [
      '6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d1-',
      '6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b-d11',
      '-f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d11',
      '6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d1g',
      '6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d1G',
      '6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d1\u00e9',
      '6f1c5a1e3f7e-4c59-9a53-2f0c3f0b7d11-',
    ];
    for (const id of bad) {
      const r = parseBody(JSON.stringify([wireEvent({ i: 1, id: JSON.parse(`"${id}"`) })]), NOW);
      expect(r.events).toEqual([]);
      expect(r.rejections.map((x) => x.reason)).toEqual(['[0].id: id must be a UUID (8-4-4-4-12 hex digits)']);
    }
  });

  it('keeps two ids with the same hash, and refuses a repeat of either', () => {
    const [a, b] = COLLIDING as [string, string];
    const r = parseBody(
      JSON.stringify([
        wireEvent({ i: 1, id: a }),
        wireEvent({ i: 2, id: b }),
        wireEvent({ i: 3, id: b.toUpperCase() }),
      ]),
      NOW,
    );
    expect(r.events.map((e) => e.id)).toEqual([a, b]);
    expect(r.rejections.map((x) => x.reason)).toEqual([`[2].id: duplicate id ${b} within one message`]);
  });
});
