// The demo's verdict: what each scenario expected against what the monitor published, plus the
// accounting of every event sent. Pure: takes what was observed, returns rows and text.
import type { ActionType } from '../core/policy.js';
import { NIGHT, type NightSpan, type SimCamera } from '../sim/fleet-simulator.js';
import { SCENARIOS, type ScenarioId } from '../sim/scenarios.js';

/** An event the monitor put on the bus, as read from the tap queue. */
export interface ObservedTrigger {
  detailType: string;
  cameraId: string;
  metric?: string;
  detector?: string;
  statistic?: number;
  threshold?: number;
  /** Event time the decision was made at (the detail's lastEventAt), ms. */
  firedAtMs: number;
}

/** A message found in the dead-letter queue. */
export interface ObservedDeadLetter {
  /** vmon-reason when the handler rejected it; absent when SQS redrove it after maxReceiveCount. */
  reason?: string;
  /** The ingest message it came from (vmon-source-message-id, or its own id when redriven). */
  sourceMessageId: string;
  /** vmon-index: the bad element's array position (absent for a whole body or a redrive). */
  index?: string;
  receiveCount: number;
}

/** One bad part can be dead-lettered twice when its message is redelivered (at-least-once). */
export const deadLetterKey = (d: ObservedDeadLetter) =>
  `${d.sourceMessageId}#${d.index ?? '-'}#${d.reason === undefined ? 'redrive' : 'reason'}`;

export interface EventAccounting {
  messagesSent: number;
  /** Valid events sent. */
  sent: number;
  /** Valid events in messages the handler acknowledged (first acknowledgement of each message). */
  applied: number;
  /** Bad parts sent (array elements or whole bodies). */
  badPartsSent: number;
  /** Distinct bad parts in the DLQ with a handler reason. */
  rejected: number;
  /** Further copies of the same bad part, from redelivered messages. */
  duplicateDeadLetters: number;
  /** Valid events in messages SQS redrove to the DLQ after maxReceiveCount. */
  redriven: number;
  /** Valid events neither applied nor dead-lettered: must be 0. */
  lost: number;
  /** Bad parts that did not reach the DLQ: must be 0. */
  badPartsLost: number;
}

export interface ScenarioRow {
  scenario: ScenarioId;
  description: string;
  cameras: number;
  /** The expected detail-type, 'no trigger', or `${type} (needs detector)` when the policy has none for it. */
  expected: string;
  /** Cameras whose expected trigger arrived after onset (and resolved later, when that is expected). */
  detected: number;
  /** Simulated minutes from onset to trigger: median and max over detected cameras. */
  delayMinutes: { median: number; max: number } | null;
  /** Triggers other than the expected one (on healthy cameras: false triggers). */
  unexpectedTriggers: number;
  status: 'ok' | 'FAIL' | 'needs detector';
}

export interface DeadLetterSummary {
  /** Distinct dead letters (a part dead-lettered again on redelivery counts once). */
  total: number;
  rejected: number;
  redrivenMessages: number;
  byReason: { reason: string; count: number }[];
}

export interface StateCheck {
  /** Cameras whose stored newest event per stream is the last event sent for it. */
  matching: number;
  expected: number;
  mismatches: string[];
}

/** How healthy cameras fared through the night(s) the run crossed. */
export interface NightSummary {
  nights: NightSpan[];
  /** Healthy cameras that sent through a whole night (dusk to dawn) of the run. */
  healthyThroughWholeNight: number;
  /** False triggers on healthy cameras decided by an event at night. */
  falseTriggersAtNight: number;
}

export interface DemoSummary {
  rows: ScenarioRow[];
  /** Every trigger the scenarios did not call for, with its camera's scenario. */
  unexpected: (ObservedTrigger & { scenario: ScenarioId })[];
  falseTriggersOnHealthy: number;
  /** False triggers on healthy cameras per detector id, most first. */
  falseTriggersByDetector: { detector: string; count: number; atNight: number }[];
  healthyCameras: number;
  /** Null when the run was told of no nights. */
  night: NightSummary | null;
  resolved: number;
  triggersByType: Record<string, number>;
  deadLetters: DeadLetterSummary;
  events: EventAccounting;
  state: StateCheck;
  problems: string[];
  ok: boolean;
}

/** False triggers tolerated on healthy cameras: 2% of them (rounded down). */
export const falseTriggerBudget = (healthyCameras: number) => Math.floor(0.02 * healthyCameras);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Groups reasons that differ only by array position, e.g. `[3].metric: …` and `[7].metric: …`. */
export function reasonGroup(reason: string | undefined, maxReceiveCount: number): string {
  if (reason === undefined) return `redriven by SQS after ${maxReceiveCount} failed receives (maxReceiveCount)`;
  return reason
    .replace(/^\[\d+\]\./, '')
    .replace(/position \d+ \(line \d+ column \d+\)/, 'position …')
    .replace(/at position \d+/, 'at position …');
}

export function summarize(input: {
  cameras: readonly SimCamera[];
  triggers: readonly ObservedTrigger[];
  deadLetters: readonly ObservedDeadLetter[];
  events: EventAccounting;
  state: StateCheck;
  /** Actions the running policy can publish: a scenario expecting another one is marked 'needs detector'. */
  availableActions: readonly ActionType[];
  maxReceiveCount: number;
  /** The nights the run overlapped (FleetSimulator.nights()). */
  nights?: readonly NightSpan[];
}): DemoSummary {
  const byCamera = new Map<string, ObservedTrigger[]>();
  const triggersByType: Record<string, number> = {};
  let resolved = 0;
  const resolvedAt = new Map<string, number[]>();
  for (const t of input.triggers) {
    triggersByType[t.detailType] = (triggersByType[t.detailType] ?? 0) + 1;
    if (t.detailType === 'AlertResolved') {
      resolved++;
      resolvedAt.set(t.cameraId, [...(resolvedAt.get(t.cameraId) ?? []), t.firedAtMs]);
      continue;
    }
    let list = byCamera.get(t.cameraId);
    if (!list) byCamera.set(t.cameraId, (list = []));
    list.push(t);
  }
  const problems: string[] = [];
  const rows: ScenarioRow[] = [];
  const unexpectedList: DemoSummary['unexpected'] = [];
  for (const s of SCENARIOS) {
    const cams = input.cameras.filter((c) => c.scenario === s.id);
    if (cams.length === 0) continue;
    const available = s.expectedAction === null || input.availableActions.includes(s.expectedAction);
    let detected = 0,
      unexpected = 0;
    const delays: number[] = [];
    for (const cam of cams) {
      let hit = false;
      for (const t of byCamera.get(cam.id) ?? []) {
        const expectedHit =
          s.expectedAction !== null &&
          t.detailType === s.expectedAction &&
          cam.onsetMs !== null &&
          t.firedAtMs >= cam.onsetMs;
        if (expectedHit && !hit) {
          hit = !s.expectResolved || (resolvedAt.get(cam.id) ?? []).some((at) => at > t.firedAtMs);
          if (hit) delays.push((t.firedAtMs - cam.onsetMs!) / 60_000);
        } else if (!expectedHit) {
          // A later episode of the expected trigger is fine; anything else is not.
          unexpected++;
          unexpectedList.push({ ...t, scenario: s.id });
        }
      }
      if (hit) detected++;
    }
    // Healthy cameras may raise the odd false alarm (that is what the row measures), within a budget.
    const allowed = s.id === 'healthy' ? falseTriggerBudget(cams.length) : 0;
    const status: ScenarioRow['status'] = !available
      ? 'needs detector'
      : (s.expectedAction === null ? unexpected <= allowed : detected === cams.length && unexpected === 0)
        ? 'ok'
        : 'FAIL';
    if (status === 'FAIL') {
      problems.push(
        s.expectedAction === null
          ? `${s.id}: ${unexpected} trigger(s) where ${allowed ? `at most ${allowed}` : 'none'} was expected`
          : `${s.id}: ${detected}/${cams.length} cameras got ${s.expectedAction}, ${unexpected} unexpected trigger(s)`,
      );
    }
    rows.push({
      scenario: s.id,
      description: s.description,
      cameras: cams.length,
      expected:
        s.expectedAction === null
          ? 'no trigger'
          : `${s.expectedAction}${s.expectResolved ? ' + AlertResolved' : ''}${available ? '' : ' (needs detector)'}`,
      detected,
      delayMinutes: delays.length ? { median: median(delays), max: Math.max(...delays) } : null,
      unexpectedTriggers: unexpected,
      status,
    });
  }
  const healthy = rows.find((r) => r.scenario === 'healthy');
  const nights = input.nights ?? [];
  const atNight = (t: number) => nights.some((n) => t >= n.from && t < n.to);
  const falseOnHealthy = unexpectedList.filter((t) => t.scenario === 'healthy');
  const byDetector = new Map<string, { detector: string; count: number; atNight: number }>();
  for (const t of falseOnHealthy) {
    const id = t.detector ?? '?';
    const d = byDetector.get(id) ?? { detector: id, count: 0, atNight: 0 };
    d.count++;
    if (atNight(t.firedAtMs)) d.atNight++;
    byDetector.set(id, d);
  }
  const night: NightSummary | null = nights.length
    ? {
        nights: [...nights],
        healthyThroughWholeNight: nights.some((n) => n.whole) ? (healthy?.cameras ?? 0) : 0,
        falseTriggersAtNight: falseOnHealthy.filter((t) => atNight(t.firedAtMs)).length,
      }
    : null;

  const groups = new Map<string, number>();
  const seenLetters = new Set<string>();
  const letters = input.deadLetters.filter(
    (d) => !seenLetters.has(deadLetterKey(d)) && seenLetters.add(deadLetterKey(d)),
  );
  for (const d of letters) {
    const g = reasonGroup(d.reason, input.maxReceiveCount);
    groups.set(g, (groups.get(g) ?? 0) + 1);
  }
  const deadLetters: DeadLetterSummary = {
    total: letters.length,
    rejected: letters.filter((d) => d.reason !== undefined).length,
    redrivenMessages: letters.filter((d) => d.reason === undefined).length,
    byReason: [...groups.entries()]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
  };
  const ev = input.events;
  if (ev.lost !== 0) problems.push(`${ev.lost} valid event(s) lost: neither applied nor dead-lettered`);
  if (ev.badPartsLost !== 0) problems.push(`${ev.badPartsLost} bad part(s) sent never reached the DLQ`);
  if (ev.rejected !== ev.badPartsSent)
    problems.push(`DLQ holds ${ev.rejected} rejected part(s), ${ev.badPartsSent} bad part(s) were sent`);
  if (input.state.matching !== input.state.expected)
    problems.push(
      `stored state differs from what was sent for ${input.state.expected - input.state.matching} camera(s): ${input.state.mismatches.slice(0, 3).join('; ')}`,
    );
  return {
    rows,
    unexpected: unexpectedList,
    falseTriggersOnHealthy: healthy?.unexpectedTriggers ?? 0,
    falseTriggersByDetector: [...byDetector.values()].sort(
      (a, b) => b.count - a.count || a.detector.localeCompare(b.detector),
    ),
    healthyCameras: healthy?.cameras ?? 0,
    night,
    resolved,
    triggersByType,
    deadLetters,
    events: ev,
    state: input.state,
    problems,
    ok: problems.length === 0,
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const n = (x: number) => x.toLocaleString('en-US');

/** A whole or fractional hour of day as HH:MM. */
export const hhmm = (h: number) =>
  `${String(Math.floor(h)).padStart(2, '0')}:${String(Math.round((h % 1) * 60)).padStart(2, '0')}`;

/** One line: the night(s) crossed and whether healthy cameras stayed quiet through them. */
export function nightLine(n: NightSummary): string {
  const whole = n.nights.filter((x) => x.whole).length;
  return (
    `night (${hhmm(NIGHT.dusk)}-${hhmm(NIGHT.dawn)} local): ${whole} whole night(s) in the run; ` +
    `${n.healthyThroughWholeNight} healthy cameras sent through it, ${n.falseTriggersAtNight} false trigger(s) at night`
  );
}

/** The summary as plain text for a terminal or a CI log. */
export function formatSummary(s: DemoSummary): string {
  const e = s.events;
  const scenarioTable = table(
    ['scenario', 'cameras', 'expected', 'detected', 'delay p50/max (sim min)', 'unexpected', 'status'],
    s.rows.map((r) => [
      r.scenario,
      String(r.cameras),
      r.expected,
      r.expected === 'no trigger' ? '-' : `${r.detected}/${r.cameras}`,
      r.delayMinutes ? `${r.delayMinutes.median.toFixed(0)} / ${r.delayMinutes.max.toFixed(0)}` : '-',
      String(r.unexpectedTriggers),
      r.status,
    ]),
  );
  const lines = [
    scenarioTable,
    '',
    `false triggers on healthy cameras: ${s.falseTriggersOnHealthy} (${s.healthyCameras} cameras, budget ${falseTriggerBudget(s.healthyCameras)})` +
      (s.falseTriggersByDetector.length
        ? `: ${s.falseTriggersByDetector.map((d) => `${d.detector} ${d.count}${s.night ? ` (${d.atNight} at night)` : ''}`).join(', ')}`
        : ''),
    ...(s.night ? [nightLine(s.night)] : []),
    ...s.unexpected
      .slice(0, 10)
      .map(
        (t) =>
          `  unexpected: ${t.cameraId} (${t.scenario}) ${t.detailType} by ${t.detector ?? '?'} at ${new Date(t.firedAtMs).toISOString()}: ${t.statistic?.toFixed(3)} vs ${t.threshold}`,
      ),
    `events on the bus: ${
      Object.entries(s.triggersByType)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `dead-letter queue: ${s.deadLetters.total} message(s)${e.duplicateDeadLetters ? ` (+${e.duplicateDeadLetters} copies from redelivered messages)` : ''}`,
    ...s.deadLetters.byReason.map((r) => `  ${String(r.count).padStart(5)}  ${r.reason}`),
    `events: sent ${n(e.sent)}, applied ${n(e.applied)}, dead-lettered by redrive ${n(e.redriven)}, lost ${n(e.lost)}` +
      ` | bad parts: sent ${n(e.badPartsSent)}, in DLQ with reason ${n(e.rejected)}`,
    `stored state: ${s.state.matching}/${s.state.expected} cameras hold the last event sent on every stream`,
  ];
  if (s.problems.length) lines.push('', 'PROBLEMS:', ...s.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
