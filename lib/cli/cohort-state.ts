// `vmon state --model <version> [--modality M]`: a cohort as the ingest function sees it: active and
// affected cameras, the share against the policy's threshold, the cohort episode, reset epoch, in-flight
// retrain, the head's outbox and the cohort prior new cameras arm on (docs/fleet-decisions.md).
import { affectedMembers, cohortCounts, cohortPriorOf, type CohortHead, type CohortKey } from '../core/cohort.js';
import type { CohortPrior } from '../core/cohort-prior.js';
import { MODALITIES, type MetricKind, type Modality } from '../core/metric-event.js';
import type { Policy } from '../core/policy.js';
import type { CohortStore } from '../app/cohort-signals.js';
import { CliError, EXIT } from './errors.js';
import { iso, num } from './format.js';

export interface CohortView {
  cohort: CohortKey;
  head: CohortHead;
  active: string[];
  affected: { cameraId: string; detectors: string[]; since: string | null }[];
  share: number;
  threshold: number;
  minCameras: number;
  /** The cohort prior per metric (what a new camera's charts arm on). */
  priors: Partial<Record<MetricKind, CohortPrior>>;
}

export async function loadCohortViews(
  store: CohortStore,
  modelVersion: string,
  modality: Modality | undefined,
  policyFor: (m: Modality) => Policy,
): Promise<CohortView[]> {
  const views: CohortView[] = [];
  for (const m of modality ? [modality] : MODALITIES) {
    const cohort = { modelVersion, modality: m };
    const { head } = await store.loadHead(cohort);
    const { members } = await store.members(cohort);
    if (members.length === 0 && head.ep === 0) continue;
    const newest = Math.max(0, ...members.filter((x) => !x.rec.x).map((x) => x.rec.b));
    const active = members.filter((x) => !x.rec.x && x.rec.b >= newest - 1).map((x) => x.cameraId);
    const affected = affectedMembers(members, head).map((x) => ({
      cameraId: x.cameraId,
      detectors: x.rec.d ?? [],
      since: x.rec.f !== undefined ? iso(x.rec.f) : null,
    }));
    const policy = policyFor(m);
    views.push({
      cohort,
      head,
      active: active.sort(),
      affected,
      share: active.length ? affected.length / active.length : 0,
      threshold: policy.cohort.minShare,
      minCameras: policy.cohort.minCameras,
      priors: cohortPriorOf(head),
    });
  }
  if (views.length === 0)
    throw new CliError(
      `no cohort for model ${JSON.stringify(modelVersion)}${modality ? ` and modality ${modality}` : ''}: no camera has reported that model_version (check the version, or vmon state <cameraId>)`,
      EXIT.notFound,
    );
  return views;
}

export function formatCohortViews(views: readonly CohortView[]): string {
  const out: string[] = [];
  for (const v of views) {
    const h = v.head;
    const summaries = cohortCounts(h);
    out.push(`model ${v.cohort.modelVersion} · ${v.cohort.modality}`);
    out.push(
      `  share: ${num(v.share)} (${v.affected.length} affected / ${v.active.length} active)  threshold ${num(v.threshold)}, at least ${v.minCameras} cameras`,
    );
    out.push(`  head summaries: ${summaries.affected} affected / ${summaries.active} active`);
    out.push(
      `  episode: ${h.ep}${h.open ? ` open since ${iso(h.openedAt ?? 0)} (${h.action ?? '-'}${h.published ? ', published' : ', held back'})` : ' (closed)'}`,
    );
    if (h.inFlight) out.push(`  retrain in flight: ${h.inFlight.triggerId} since ${iso(h.inFlight.since)}`);
    if (h.epoch > 0) out.push(`  reset epoch: ${iso(h.epoch)} (cameras reset on their next update)`);
    const priors = Object.entries(v.priors);
    if (priors.length === 0) out.push('  prior for new cameras: none yet (fewer than 3 healthy warmed-up cameras)');
    for (const [metric, p] of priors)
      out.push(`  prior for new cameras: ${metric} mean ${num(p.mean)} sigma ${num(p.sigma)} (${p.cameras} cameras)`);
    for (const [action, until] of Object.entries(h.cooldown)) out.push(`  cooldown ${action} until ${iso(until ?? 0)}`);
    if (h.outbox.length)
      out.push(`  outbox: ${h.outbox.map((t) => `${t.detailType} ${t.detail.triggerId}`).join(', ')}`);
    out.push(`  affected cameras${v.affected.length ? ':' : ': none'}`);
    for (const a of v.affected) out.push(`    ${a.cameraId}  ${a.detectors.join(',')}  since ${a.since ?? '-'}`);
    out.push(`  active cameras: ${v.active.join(', ') || 'none'}`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}
