// Covers `npm run chaos -- --seeds`: which seeds a --seeds value names (and the errors for a bad one),
// and the per-seed line, for a passing seed and for a run that died without a result.
import { describe, expect, it } from 'vitest';
import { parseSeeds, seedRow } from '../../lib/chaos/chaos-seeds.js';

describe('parseSeeds', () => {
  it('reads ranges, lists and single seeds, in order, without repeats', () => {
    expect(parseSeeds('1-20')).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(parseSeeds('7')).toEqual([7]);
    expect(parseSeeds('1,4,9-11,4')).toEqual([1, 4, 9, 10, 11]);
  });

  it('refuses what is not a seed list, naming the value', () => {
    expect(() => parseSeeds('1..20')).toThrow('--seeds: expected seeds like 1-20 or 1,4,9-12, got "1..20"');
    expect(() => parseSeeds('20-1')).toThrow('--seeds: range 20-1 runs backwards');
    expect(() => parseSeeds('1-5000')).toThrow('--seeds: range 1-5000 holds more than 1000 seeds');
  });
});

describe('seedRow', () => {
  it('shows the contract numbers of a seed, and dashes for a run that died', () => {
    const summary = {
      sent: 640,
      applied: 640,
      duplicatesIgnored: 237,
      lost: 0,
      messagesParked: 1,
      episodesPublished: 21,
      episodesSuppressed: 2,
      triggersExpected: 23,
      uniqueTriggers: 23,
      triggersMissing: 0,
      triggersUnexpected: 0,
      duplicateTriggerDeliveries: 5,
      rejected: 20,
    };
    const row = seedRow({
      seed: 3,
      pass: true,
      result: { seed: 3, summary, suppressedBy: {}, checks: {}, findings: [] },
    });
    expect(row.trim().split(/\s+/)).toEqual(['3', '640', '640', '0', '1', '21', '2', '23', '23', '0', '0', 'pass']);
    expect(seedRow({ seed: 4, pass: false, crash: 'boom' }).trim().split(/\s+/)).toEqual([
      '4',
      ...Array(10).fill('-'),
      'FAIL',
    ]);
  });
});
