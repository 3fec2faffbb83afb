// The detection-quality section of `npm run bench` (also alone: `npm run bench -- --only detectors`):
// the Monte Carlo run lengths and long-run rates of every chart (detectors.ts), the shipped per-metric
// decision at its default budget (armed after, ARL0, ARL1 by shift size), and the NAB dev subset
// (nab.ts) at the shipped defaults, with the previous single charts and with the policy `vmon tune`
// writes for the same data, side by side.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_DETECTORS, scoreBacktest } from '../../lib/cli/backtest-score.js';
import { backtestEvents } from '../../lib/cli/backtest.js';
import { parseLabels } from '../../lib/cli/labels.js';
import { tune } from '../../lib/cli/tune.js';
import { parsePolicy } from '../../lib/core/policy.js';
import { benchDecision, benchDetectors, type DecisionReport, type DetectorReport } from './detectors.js';
import { benchNab, NAB_DIR, nabEvents, readNab, type NabBench } from './nab.js';
import type { Row } from './table.js';

/** The history budget `vmon tune` gets on the NAB subset: false alarms per 1,000 evaluations outside windows. */
export const NAB_TUNE_BUDGET = 1.5;

export interface TunedNab {
  budget: number;
  /** the chosen candidate, e.g. "mean-shift budget=0.2" */
  chosen: string | null;
  standardScore: number | null;
  detected: number | null;
  falseAlarms: number | null;
}

/** `vmon tune` (mean-shift, both directions) on the NAB subset, then the same data scored with its policy. */
export function tunedNab(budget = NAB_TUNE_BUDGET): TunedNab {
  const events = nabEvents(readNab());
  const labels = parseLabels(readFileSync(join(NAB_DIR, 'labels.json'), 'utf8'), 'json', 'labels.json');
  const r = tune(events, labels, { kinds: ['mean-shift'], metric: 'DriftScore', budget, direction: 'both' });
  if (!r.policy || !r.best) return { budget, chosen: null, standardScore: null, detected: null, falseAlarms: null };
  // Scored as the bench scores the defaults: cooldown 0 and a non-retrain action, every firing seen
  // (a RetrainingRequested in flight would hold back the next).
  const policy = parsePolicy({
    ...r.policy,
    cooldownSeconds: 0,
    detectors: r.policy.detectors.map((d) => ({ ...d, action: 'HyperparameterTuningRequested' })),
  });
  // The written policy is complete (the default's other detectors kept): the tuned decision's own row.
  const all = scoreBacktest(
    backtestEvents(events, () => policy),
    labels,
    () => policy,
  ).find((s) => s.detector === (r.tunedDetector ?? ALL_DETECTORS))!;
  return {
    budget,
    chosen: `${r.best.kind} ${Object.entries(r.best.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    standardScore: all.nabScore,
    detected: all.detected,
    falseAlarms: all.falseAlarms,
  };
}

export interface DetectorSection {
  detectors: DetectorReport[];
  decision: DecisionReport;
  nab: NabBench;
  tuned: TunedNab;
}

export function benchDetectorSection(
  det: { runs: number; cap: number; longRun: { streams: number; n: number } },
  log: (s: string) => void = () => undefined,
): DetectorSection {
  log('detector Monte Carlo…');
  const detectors = benchDetectors(det);
  log('per-metric decision…');
  const decision = benchDecision({ runs: det.runs, cap: det.cap, steadyState: 300 });
  log('NAB dev backtest…');
  const nab = benchNab();
  log('vmon tune on NAB dev…');
  const tuned = tunedNab();
  return { detectors, decision, nab, tuned };
}

/** The keys this section owns in bench/results.json. */
export function detectorResults(s: DetectorSection): Record<string, unknown> {
  return {
    detectors: s.detectors.map((d) => ({
      name: d.name,
      arl0: d.arl0,
      arl1_1sigma: d.arl1_1sigma,
      arl1_2sigma: d.arl1_2sigma,
      ...(d.falseAlarmsPer1k ? { falseAlarmsPer1k: d.falseAlarmsPer1k } : {}),
    })),
    armedAfterValues: s.decision.armedAfterValues,
    armedAfterValuesWithPrior: s.decision.armedAfterValuesWithPrior,
    decisionBudgetPer1k: s.decision.budgetPer1k,
    decisionArl0: s.decision.decisionArl0,
    decisionArl1: s.decision.decisionArl1,
    nabDevStandardScore: s.nab.standardScore,
    nabDevFalseAlarmsPer1k: s.nab.falseAlarmsPer1k,
    nabDevNoAnomalyDailyFirings: s.nab.noAnomalyDailyFirings,
    nabDevSingleChartsScore: s.nab.singleCharts.standardScore,
    nabDevTuned: s.tuned,
  };
}

const n = (x: number | null, d = 0) =>
  x !== null && Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';
const x = (a: number, b: number) => `${n(a / b, a / b >= 10 ? 0 : 2)}×`;
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
const arlText = (v: number, capped: boolean) => (capped ? `≥${n(v, 1)}` : n(v, 1));

export function detectorRows(s: DetectorSection): Row[] {
  const { detectors, decision, nab, tuned } = s;
  const rows: Row[] = [];
  const section = (title: string) => rows.push({ section: title });
  section('Detection quality: ARL0 / ARL1 +1σ / ARL1 +2σ (Monte Carlo, N(0,1), seeded)');
  const cusum = detectors.find((d) => d.name.startsWith('textbook CUSUM'))!;
  for (const d of detectors) {
    const isShipped = d.name.startsWith('shipped');
    const figures = Number.isFinite(d.arl0)
      ? `${arlText(d.arl0, d.capped.arl0)} / ${arlText(d.arl1_1sigma, d.capped.arl1_1sigma)} / ${arlText(d.arl1_2sigma, d.capped.arl1_2sigma)}`
      : (d.note ?? 'n/a');
    const anchor = d.anchor
      ? `${d.anchor.source}: ${d.anchor.arl0} / ${d.anchor.arl1_1sigma} / ${d.anchor.arl1_2sigma}`
      : '';
    const vsCusum = isShipped && Number.isFinite(d.arl0) ? `ARL1 ${x(d.arl1_1sigma, cusum.arl1_1sigma)} CUSUM's` : '';
    rows.push([d.name, figures, anchor, vsCusum, '', '']);
  }
  const budget = decision.budgetPer1k;
  section(`The per-metric decision at its default budget (${budget} false alarms per 1,000 evaluations)`);
  rows.push([
    'armed after values (armedAfterValues; with a prior)',
    `${n(decision.armedAfterValues)} (${n(decision.armedAfterValuesWithPrior)})`,
    'previous charts: 200 (0)',
    '',
    '≤ 50',
    met(decision.armedAfterValues <= 50),
  ]);
  rows.push([
    'ARL0, whole decision, from its first decision (decisionArl0)',
    arlText(decision.decisionArl0, decision.capped),
    `1,000 / budget = ${n(1000 / budget)}`,
    x(decision.decisionArl0, 1000 / budget),
    '≥ 2,000',
    met(decision.decisionArl0 >= 2000),
  ]);
  for (const [shift, goal] of [
    ['0.5', Infinity],
    ['1', 16],
    ['2', 5],
    ['3', Infinity],
  ] as const)
    rows.push([
      `ARL1 +${shift}σ after ${decision.steadyState} in-control values (decisionArl1)`,
      n(decision.decisionArl1[shift], 1),
      shift === '1'
        ? `textbook CUSUM ${n(cusum.arl1_1sigma, 1)}`
        : shift === '2'
          ? `textbook CUSUM ${n(cusum.arl1_2sigma, 1)}`
          : '',
      '',
      Number.isFinite(goal) ? `≤ ${goal}` : '',
      Number.isFinite(goal) ? met(decision.decisionArl1[shift] <= goal) : '',
    ]);
  section(
    'Long-run false alarms per 1,000 evaluations (continuous, restart after each alarm): i.i.d. / AR(1) φ=0.5 / daily cycle',
  );
  for (const d of detectors) {
    if (!d.falseAlarmsPer1k) continue;
    const f = d.falseAlarmsPer1k;
    const isDecision = d.name.startsWith('shipped mean-shift');
    rows.push([
      d.name,
      `${n(f.iid, 2)} / ${n(f.ar1, 2)} / ${n(f.daily, 2)}`,
      isDecision ? `budget ${budget}` : Number.isFinite(d.arl0) ? `1000/ARL0 = ${n(1000 / d.arl0, 2)}` : '',
      isDecision
        ? `${x(Math.max(f.ar1, f.daily), budget)} of budget (worst)`
        : Number.isFinite(d.arl0)
          ? `${x(f.iid, 1000 / d.arl0)} of 1000/ARL0`
          : '',
      isDecision ? '≤ 1.5× budget' : '',
      isDecision ? met(Math.max(f.iid, f.ar1, f.daily) <= 1.5 * budget) : '',
    ]);
  }
  section('NAB dev subset (test/fixtures/nab-dev) through the backtest path, NAB standard profile');
  rows.push([
    'standard score, mean-shift both directions at the default budget, cooldown 0',
    n(nab.standardScore, 1),
    'windowedGaussian 49.3, relativeEntropy 63.7, numenta 71.7 (NAB scorer)',
    '',
    '≥ 50 (stretch 63.7)',
    met(nab.standardScore >= 50),
  ]);
  rows.push([
    'windows detected / missed / late only; false alarms',
    `${nab.all.detected} / ${nab.all.missed} / ${nab.all.late}; ${nab.all.falseAlarms}`,
    `${nab.all.windows} windows`,
    '',
    '',
    '',
  ]);
  rows.push([
    'firings per 1,000 events outside windows',
    n(nab.falseAlarmsPer1k, 2),
    `budget ${nab.budgetPer1k}`,
    x(nab.falseAlarmsPer1k, nab.budgetPer1k),
    '',
    '',
  ]);
  rows.push([
    'previous shipped charts (cusum + ewma, both directions, schema defaults)',
    n(nab.singleCharts.standardScore, 1),
    `${nab.singleCharts.all.detected} detected, ${nab.singleCharts.all.falseAlarms} false alarms`,
    '',
    '',
    '',
  ]);
  rows.push([
    `vmon tune --budget ${tuned.budget} on the same data: ${tuned.chosen ?? 'no candidate'}`,
    n(tuned.standardScore, 1),
    tuned.detected === null ? '' : `${tuned.detected} detected, ${tuned.falseAlarms} false alarms`,
    '',
    '',
    '',
  ]);
  rows.push([
    'firings outside windows, artificialNoAnomaly daily series',
    n(nab.noAnomalyDailyFirings),
    '',
    '',
    '0',
    met(nab.noAnomalyDailyFirings === 0),
  ]);
  return rows;
}
