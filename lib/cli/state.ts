// `vmon state <cameraId>`: one camera's item as the ingest function sees it: windows, detector
// states, alerts, model versions, the outbox, and any further fields (rendered generically).
import {
  cameraClock,
  EPISODE_HISTORY,
  episodeOutcomes,
  type AlertState,
  type CameraState,
} from '../core/camera-state.js';
import type { CameraStateStore } from '../adapters/state-store.js';
import { escapeForDisplay, jsonForDisplay } from '../core/display-text.js';
import { CliError, EXIT } from './errors.js';
import { iso, num, table } from './format.js';

export interface CameraStateView {
  cameraId: string;
  version: number;
  state: CameraState;
}

export async function loadCameraState(store: CameraStateStore, cameraId: string): Promise<CameraStateView> {
  const { state, version } = await store.load(cameraId);
  if (version === 0)
    throw new CliError(
      `no state for camera ${jsonForDisplay(cameraId)}: it has sent no events that were applied (check the id, or vmon dlq list)`,
      EXIT.notFound,
    );
  return { cameraId, version, state };
}

// Epoch milliseconds between 2000 and 2100: shown as times.
const looksLikeTime = (k: string, v: unknown) =>
  typeof v === 'number' &&
  v >= 946_684_800_000 &&
  v < 4_102_444_800_000 &&
  /(at|until|since|time|ts|ms|expires|started|deadline)$/i.test(k);

/** Any JSON value on one line, with epoch-ms fields shown as ISO times. */
export function inline(v: unknown, key = ''): string {
  if (looksLikeTime(key, v)) return iso(v as number);
  if (typeof v === 'number') return num(v);
  if (v === null || typeof v !== 'object') return jsonForDisplay(v);
  if (Array.isArray(v)) return `[${v.map((x) => inline(x)).join(', ')}]`;
  return `{ ${Object.entries(v)
    .map(([k, x]) => `${escapeForDisplay(k)}: ${inline(x, k)}`)
    .join(', ')} }`;
}

function keyed(title: string, record: Record<string, unknown> | undefined): string[] {
  const entries = Object.entries(record ?? {});
  if (entries.length === 0) return [`${title}: none`];
  return [`${title}:`, ...entries.map(([k, v]) => `  ${escapeForDisplay(k)}  ${inline(v, k)}`)];
}

const KNOWN = new Set([
  ...['streams', 'det', 'alerts', 'mv', 'ms', 'outbox', 'cooldown', 'silences', 'inFlight', 'reset'],
  ...['tl', 'gp', 'lf', 'mo', 'cw'], // lateness and the cohort watermark: the "late events" lines
]);

export function formatCameraState(view: CameraStateView): string {
  const { state } = view;
  const out: string[] = [`camera ${escapeForDisplay(view.cameraId)} (item version ${view.version})`, ''];

  const streams = Object.entries(state.streams ?? {});
  if (streams.length === 0) out.push('windows: none');
  else {
    out.push('windows (values oldest → newest):');
    out.push(
      indent(
        table(
          ['STREAM', 'ENTRIES', 'OLDEST', 'NEWEST', 'VALUES'],
          streams.map(([k, entries]) => [
            k,
            entries.length,
            entries.length ? iso(entries[0]!.ts) : '-',
            entries.length ? iso(entries[entries.length - 1]!.ts) : '-',
            // Streams no window detector reads keep only event keys (for dedup), not values.
            entries.every((e) => Number.isNaN(e.value))
              ? '(keys only, for dedup)'
              : entries.map((e) => num(e.value)).join(' '),
          ]),
        ),
      ),
    );
  }
  out.push('');

  const alerts = Object.entries(state.alerts ?? {});
  if (alerts.length === 0) out.push('alerts: none');
  else {
    out.push('alerts:');
    out.push(
      indent(
        table(
          ['ALERT', 'STATE', 'EPISODES', 'FIRING SINCE', 'ACTION', 'PUBLISHED', 'OTHER'],
          alerts.map(([k, a]) => {
            const { f, e, at, a: action, p, h: _outcomes, ...rest } = a as AlertState & Record<string, unknown>;
            return [
              k,
              f ? 'firing' : 'ok',
              e,
              at !== undefined ? iso(at) : '-',
              action ?? '-',
              p === undefined ? '-' : p ? 'yes' : `no (${suppressedBecause(a) ?? 'suppressed'})`,
              Object.keys(rest).length ? inline(rest) : '',
            ];
          }),
        ),
      ),
    );
  }
  const outcomes = alerts.map(([k, a]) => [k, episodeOutcomes(a)] as const).filter(([, list]) => list.length > 0);
  if (outcomes.length > 0) {
    out.push('');
    out.push(`episode outcomes (newest ${EPISODE_HISTORY} per alert):`);
    const width = Math.max(...outcomes.map(([k]) => k.length));
    for (const [k, list] of outcomes)
      out.push(
        `  ${k.padEnd(width)}  ${list.map((o) => `#${o.episode} ${o.outcome === 'published' ? 'published' : `suppressed (${o.outcome})`}`).join(', ')}`,
      );
  }
  out.push('');
  out.push('lifecycle:');
  const clock = cameraClock(state);
  out.push(
    `  clock: ${Number.isFinite(clock) ? iso(clock) : 'not started'} (newest event time applied; cooldown, silences and the in-flight timeout run on it)`,
  );
  const cooldown = Object.entries(state.cooldown ?? {});
  out.push(
    `  cooldown: ${cooldown.length ? cooldown.map(([action, until]) => `${action} until ${iso(until as number)}`).join(', ') : 'none'}`,
  );
  out.push(
    `  silences: ${state.silences?.length ? state.silences.map((x) => `${x.metric ?? 'all metrics'} until ${iso(x.until)}${x.reason ? ` (${escapeForDisplay(x.reason)})` : ''}`).join(', ') : 'none'}`,
  );
  out.push(
    `  retrain in flight: ${state.inFlight ? `since ${iso(state.inFlight.since)} (trigger ${state.inFlight.triggerId})` : 'no'}`,
  );
  const reset = Object.entries(state.reset ?? {});
  out.push(
    `  baselines reset: ${reset.length ? reset.map(([m, at]) => `${m} at ${iso(at as number)}`).join(', ') : 'never'}`,
  );
  // Where the next trigger's reference window starts: the model first seen or last reset.
  const since = Object.entries(state.ms ?? {});
  out.push(
    `  current model since: ${since.length ? since.map(([m, at]) => `${m} at ${iso(at as number)}`).join(', ') : 'no events yet'}`,
  );
  out.push(...latenessLines(state));
  out.push('');
  out.push(...keyed('detector state (baselines, running statistics)', state.det as Record<string, unknown>));
  out.push(...keyed('model versions', state.mv as Record<string, unknown>));
  out.push(
    state.outbox?.length
      ? `outbox: ${state.outbox.length} trigger(s) decided and not yet confirmed published: ${state.outbox.map((t) => `${t.detailType} ${t.detail.triggerId}`).join(', ')}`
      : 'outbox: empty',
  );
  // Fields this version of vmon does not know: shown as they are.
  for (const [k, v] of Object.entries(state as unknown as Record<string, unknown>)) {
    if (KNOWN.has(k)) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...keyed(k, v as Record<string, unknown>));
    else out.push(`${k}: ${inline(v, k)}`);
  }
  return out.join('\n');
}

/** Events too late to apply and the gaps still open for late uploads (lib/core/lateness.ts); none: no lines. */
function latenessLines(state: CameraState): string[] {
  const out: string[] = [];
  if (state.tl) out.push(`  too late: ${state.tl} event(s) older than the allowed lateness, counted and not applied`);
  for (const [key, gaps] of Object.entries(state.gp ?? {}))
    for (let i = 0; i < gaps.length; i += 2)
      out.push(
        `  gap awaiting late events: ${key} ${gaps[i] === 0 ? 'before' : `${iso(gaps[i]!)} →`} ${iso(gaps[i + 1]!)}`,
      );
  for (const [key, floor] of Object.entries(state.lf ?? {}))
    out.push(`  ${key}: events at or before ${iso(floor)} are too late (older gaps forgotten)`);
  for (const [m, wait] of Object.entries(state.cw ?? {}))
    out.push(`  ${m}: reported past its cohort's watermark ${iso(wait as number)}`);
  return out;
}

/** Why the current episode was suppressed, from its recorded outcome. */
function suppressedBecause(alert: AlertState): string | undefined {
  const last = episodeOutcomes(alert).at(-1);
  return last && last.episode === alert.e && last.outcome !== 'published' ? last.outcome : undefined;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
