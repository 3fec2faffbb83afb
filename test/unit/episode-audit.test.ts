// Covers the episode audit (lib/core/episode-audit.ts): what it expects on the bus for published,
// suppressed, closed and still-firing episodes, and how it names a missing or unexpected trigger.
import { describe, expect, it } from 'vitest';
import { emptyState, type CameraState } from '../../lib/core/camera-state.js';
import { auditEpisodes, formatFindings, type BusTrigger } from '../../lib/core/episode-audit.js';
import { episodeId, triggerId } from '../../lib/core/trigger.js';

const bus = (cam: string, episode: number, detailType: string): BusTrigger => {
  const epi = episodeId(cam, 'Rgb', 'drift', episode);
  return { triggerId: triggerId(epi, detailType), episodeId: epi, detailType };
};

// Episode 1 published and closed, 2 suppressed (retrain in flight), 3 published and still firing.
const states = (): Map<string, CameraState> => {
  const s = emptyState();
  s.alerts['drift@Rgb'] = { f: true, e: 3, h: 'PRP', p: true, a: 'RetrainingRequested', at: 0 };
  return new Map([['cam', s]]);
};
const complete = [
  bus('cam', 1, 'RetrainingRequested'),
  bus('cam', 1, 'AlertResolved'),
  bus('cam', 3, 'RetrainingRequested'),
];
const action = () => 'RetrainingRequested';

describe('auditEpisodes', () => {
  it('passes when every published episode has its triggers and no suppressed one has any', () => {
    const a = auditEpisodes(states(), [...complete, complete[0]!], action);
    expect(a).toMatchObject({ expected: 3, seen: 3, missing: [], unexpected: [] });
    expect(a.episodes).toEqual({ published: 2, suppressed: { 'retrain-in-flight': 1 }, unrecorded: 0 });
  });

  it('names a missing trigger and a trigger of a suppressed episode, with camera, detector, episode and reason', () => {
    const a = auditEpisodes(states(), [complete[0]!, complete[2]!, bus('cam', 2, 'RetrainingRequested')], action);
    expect(formatFindings(a)).toEqual([
      `missing AlertResolved ${complete[1]!.triggerId} camera cam Rgb detector drift episode 1 (published episode, closed)`,
      `unexpected RetrainingRequested ${bus('cam', 2, 'RetrainingRequested').triggerId} camera cam Rgb detector drift episode 2 (retrain-in-flight)`,
    ]);
  });

  it('refuses a resolution of a still-firing episode and a trigger of an episode no state holds', () => {
    const a = auditEpisodes(
      states(),
      [...complete, bus('cam', 3, 'AlertResolved'), bus('cam', 4, 'SlaBreached')],
      action,
    );
    expect(a.unexpected.map((f) => [f.episode, f.reason])).toEqual([
      [3, 'episode still firing'],
      ['?', 'no such episode in any camera state'],
    ]);
  });

  it('does not judge episodes older than the recorded history', () => {
    const s = emptyState();
    s.alerts['drift@Rgb'] = { f: false, e: 10, h: 'P' };
    const a = auditEpisodes(new Map([['cam', s]]), [bus('cam', 2, 'RetrainingRequested')], action);
    expect(a.episodes.unrecorded).toBe(9);
    expect(a.unexpected).toEqual([]);
    expect(a.missing.map((f) => [f.episode, f.detailType])).toEqual([
      [10, 'RetrainingRequested'],
      [10, 'AlertResolved'],
    ]);
  });
});
