// Covers the parser fuzz in CI (issue 16) with a fixed seed and a bounded count: seeded fast-check
// bodies (arbitrary JSON, mutated valid events, byte-level and text corruption, tiny and huge
// bodies) through parseBody, where nothing may throw and every body or array element must come out
// as an event or a rejection with a clean reason; then a share of them through the real ingest
// handler on a local stack on moto, where each rejected part must be on the dead-letter queue with
// its reason and exact text and each valid event in its camera's stored window (in rounds, each
// checked before the next is sent, as the full run does). The full run is
// `npm run chaos -- --fuzz` (1,000,000 bodies through parseBody, 10,000 through the stack).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseBody } from '../../lib/core/metric-event.js';
import { checkParsed, FUZZ_NOW_MS, fuzzBody, fuzzLocalStack, fuzzParser } from '../../lib/chaos/fuzz.js';

const SEED = 16;

describe('parser fuzz (fixed seed, bounded)', () => {
  it('parseBody: every body applied or rejected with a reason, nothing thrown (fast-check, shrinks a failure)', () => {
    fc.assert(
      fc.property(fuzzBody, ({ body }) => {
        expect(checkParsed(body, parseBody(body, FUZZ_NOW_MS), FUZZ_NOW_MS)).toEqual([]);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('the fuzz report counts what it checked: bodies of every kind, no crash, no silent drop', async () => {
    const r = await fuzzParser({ seed: SEED, count: 2000 });
    expect(r).toMatchObject({ bodies: 2000, crashes: 0, silentDrops: 0, violations: 0 });
    expect(Object.keys(r.byKind).sort()).toEqual(
      ['arbitrary-json', 'byte-corruption', 'huge', 'mutated-events', 'text-corruption', 'tiny', 'valid'].sort(),
    );
    expect(r.events).toBeGreaterThan(100);
    expect(Object.keys(r.reasons).length).toBeGreaterThan(20);
  });

  it('the real ingest handler on the local stack: every part applied or dead-lettered with its reason, round by round', async () => {
    const r = await fuzzLocalStack({ seed: SEED, count: 100, roundBodies: 40, deadlineMs: 60_000 });
    expect(r.failures).toEqual([]);
    expect(r).toMatchObject({ generated: 100, crashes: 0, silentDrops: 0, unexpectedLetters: 0 });
    expect(r.rounds).toBe(Math.ceil(r.sent / 40));
    expect(r.sent).toBeGreaterThan(80);
    expect(r.events).toBeGreaterThan(40);
    expect(r.eventsInState + r.eventsOlderThanMemory).toBe(r.events);
    expect(r.deadLettered).toBe(r.rejectedParts);
    expect(r.rejectedParts).toBeGreaterThan(40);
  });
});
