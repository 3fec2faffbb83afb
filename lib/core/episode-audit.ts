// Audits the triggers seen on the bus against the episodes the camera states record: a trigger for
// every published episode (its firing trigger, and its AlertResolved once closed) and none for a
// suppressed one. Used by the chaos run and the delivery property tests. Pure: no AWS imports.
import { episodeOutcomes, type CameraState, type EpisodeOutcome } from './camera-state.js';
import type { Modality } from './metric-event.js';
import { episodeId, triggerId } from './trigger.js';

/** The fields of a published trigger's detail the audit reads. */
export interface BusTrigger {
  triggerId: string;
  episodeId: string;
  detailType: string;
}

export interface AuditFinding {
  triggerId: string;
  detailType: string;
  cameraId: string;
  modality: Modality | '?';
  detector: string;
  episode: number | '?';
  reason: string;
}

export interface EpisodeAudit {
  episodes: { published: number; suppressed: Partial<Record<EpisodeOutcome, number>>; unrecorded: number };
  /** Distinct triggerIds expected on the bus. */
  expected: number;
  /** Distinct triggerIds seen on the bus. */
  seen: number;
  missing: AuditFinding[];
  unexpected: AuditFinding[];
}

/**
 * `actionOf` names the action a detector asks for (from the policy): it gives the missing firing
 * trigger's id when the episode is no longer the alert's current one (whose action the state keeps).
 */
export function auditEpisodes(
  states: ReadonlyMap<string, CameraState>,
  bus: readonly BusTrigger[],
  actionOf: (detector: string, modality: Modality) => string,
): EpisodeAudit {
  const byEpisode = new Map<string, BusTrigger[]>();
  for (const t of bus) byEpisode.set(t.episodeId, [...(byEpisode.get(t.episodeId) ?? []), t]);
  const judged = new Set<string>();
  const expected = new Set<string>();
  const audit: EpisodeAudit = {
    episodes: { published: 0, suppressed: {}, unrecorded: 0 },
    expected: 0,
    seen: new Set(bus.map((t) => t.triggerId)).size,
    missing: [],
    unexpected: [],
  };

  for (const [cameraId, state] of states) {
    for (const [key, alert] of Object.entries(state.alerts)) {
      const [detector, modality] = key.split('@') as [string, Modality];
      const recorded = new Map(episodeOutcomes(alert).map((o) => [o.episode, o.outcome]));
      for (let episode = 1; episode <= alert.e; episode++) {
        const epi = episodeId(cameraId, modality, detector, episode);
        const outcome = recorded.get(episode);
        const onBus = byEpisode.get(epi) ?? [];
        const where = { cameraId, modality, detector, episode };
        if (outcome === undefined) {
          // Older than the recorded history: its triggers can be neither expected nor refused.
          audit.episodes.unrecorded++;
          judged.add(epi);
          continue;
        }
        judged.add(epi);
        if (outcome !== 'published') {
          audit.episodes.suppressed[outcome] = (audit.episodes.suppressed[outcome] ?? 0) + 1;
          for (const t of onBus)
            audit.unexpected.push({ ...where, triggerId: t.triggerId, detailType: t.detailType, reason: outcome });
          continue;
        }
        audit.episodes.published++;
        const current = episode === alert.e;
        const firing = onBus.filter((t) => t.detailType !== 'AlertResolved');
        const action = (current ? alert.a : undefined) ?? firing[0]?.detailType ?? actionOf(detector, modality);
        const want = [{ detailType: action, reason: 'published episode' }];
        if (!current || !alert.f) want.push({ detailType: 'AlertResolved', reason: 'published episode, closed' });
        for (const w of want) {
          const id = triggerId(epi, w.detailType);
          expected.add(id);
          if (!onBus.some((t) => t.triggerId === id))
            audit.missing.push({ ...where, triggerId: id, detailType: w.detailType, reason: w.reason });
        }
        for (const t of onBus)
          if (!want.some((w) => triggerId(epi, w.detailType) === t.triggerId))
            audit.unexpected.push({
              ...where,
              triggerId: t.triggerId,
              detailType: t.detailType,
              reason: current && alert.f && t.detailType === 'AlertResolved' ? 'episode still firing' : 'not asked for',
            });
      }
    }
  }
  for (const [epi, list] of byEpisode) {
    if (judged.has(epi)) continue;
    for (const t of list)
      audit.unexpected.push({
        triggerId: t.triggerId,
        detailType: t.detailType,
        cameraId: '?',
        modality: '?',
        detector: '?',
        episode: '?',
        reason: 'no such episode in any camera state',
      });
  }
  audit.expected = expected.size;
  // A trigger delivered twice is one finding.
  const once = (list: AuditFinding[]) => [...new Map(list.map((f) => [f.triggerId, f])).values()];
  audit.missing = once(audit.missing);
  audit.unexpected = once(audit.unexpected);
  return audit;
}

/** One line per finding: `missing|unexpected <detailType> <triggerId> camera … detector … episode … (reason)`. */
export function formatFindings(audit: EpisodeAudit): string[] {
  const line = (kind: string, f: AuditFinding) =>
    `${kind} ${f.detailType} ${f.triggerId} camera ${f.cameraId} ${f.modality} detector ${f.detector} episode ${f.episode} (${f.reason})`;
  return [...audit.missing.map((f) => line('missing', f)), ...audit.unexpected.map((f) => line('unexpected', f))];
}
