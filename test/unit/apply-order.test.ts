// Covers applyEvents' ordering of one batch: events arriving in any order within a batch (ties in
// event time included) give exactly the state and triggers of the same events in time order.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { toEvents } from '../support/streams.js';
import { wireEvent } from '../support/fixtures.js';

describe('applyEvents within one batch', () => {
  it('is independent of the order the events come in', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            second: fc.integer({ min: 0, max: 40 }),
            value: fc.double({ min: 0, max: 1, noNaN: true }),
            metric: fc.constantFrom('DriftScore', 'LatencyMs'),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        fc.infiniteStream(fc.nat()),
        (specs, randoms) => {
          const wire = specs.map((s) =>
            wireEvent({ i: s.second, value: s.metric === 'LatencyMs' ? s.value * 400 : s.value, metric: s.metric }),
          );
          const events = toEvents(wire);
          const inOrder = [...events].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1));
          const shuffled = [...events];
          const it = randoms[Symbol.iterator]();
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = it.next().value % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const a = applyEvents(emptyState(), inOrder, DEFAULT_POLICY);
          const b = applyEvents(emptyState(), shuffled, DEFAULT_POLICY);
          expect(b.state).toEqual(a.state);
          expect(b.triggers).toEqual(a.triggers);
          expect(b.stats).toEqual(a.stats);
        },
      ),
      { numRuns: 200 },
    );
  });
});
