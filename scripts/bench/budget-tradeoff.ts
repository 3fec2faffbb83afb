// The budget trade-off of the per-metric decision (`mean-shift`): at several false-alarm budgets, its
// in-control run length and its delays on N(0,1) streams (Monte Carlo, detectors.ts), and on the NAB
// dev subset its score, windows found and false alarms (nab.ts). Prints the markdown table and the
// mermaid chart of docs/detectors-and-policies.md ("The budget and the warm-up").
// Run: `npx tsx scripts/bench/budget-tradeoff.ts [--runs N]`.
import { ALL_DETECTORS } from '../../lib/cli/backtest-score.js';
import { arl, decisionCase } from './detectors.js';
import { nabPolicy, readNab, scoreNab } from './nab.js';

export const BUDGETS = [0.1, 0.25, 0.5, 1, 2];

export interface TradeoffRow {
  budget: number;
  arl0: number;
  arl1: Record<'1' | '2', number>;
  nabScore: number;
  nabDetected: number;
  nabFalseAlarmsPer1k: number;
}

export function budgetTradeoff(runs: number): TradeoffRow[] {
  const series = readNab();
  return BUDGETS.map((budget) => {
    const c = decisionCase({ falseAlarmsPer1k: budget });
    const all = scoreNab(nabPolicy(undefined, {}, budget), undefined, series).find(
      (s) => s.detector === ALL_DETECTORS,
    )!;
    return {
      budget,
      arl0: arl(c, 0, runs, 50_000).mean,
      arl1: { '1': arl(c, 1, runs, 50_000, 300).mean, '2': arl(c, 2, runs, 50_000, 300).mean },
      nabScore: all.nabScore,
      nabDetected: all.detected,
      nabFalseAlarmsPer1k: all.falseAlarmsPer1k,
    };
  });
}

export function tradeoffMarkdown(rows: TradeoffRow[], runs: number): string {
  const f = (x: number, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [
    '| budget (false alarms per 1,000) | ARL0, one-sided (i.i.d.) | delay +1σ | delay +2σ | NAB dev score | windows found (of 53) | NAB false alarms per 1,000 |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.budget} | ${f(r.arl0, 0)} | ${f(r.arl1['1'])} | ${f(r.arl1['2'])} | ${f(r.nabScore)} | ${r.nabDetected} | ${f(r.nabFalseAlarmsPer1k, 2)} |`,
    ),
    '',
    `(${runs} Monte Carlo runs per figure; delays after 300 in-control values; NAB: both directions, cooldown 0.)`,
    '',
    '```mermaid',
    'xychart-beta',
    '  title "Delay to a +1σ shift against the false-alarm budget"',
    `  x-axis "budget, false alarms per 1,000 evaluations" [${rows.map((r) => `"${r.budget}"`).join(', ')}]`,
    `  y-axis "mean delay (values): bars +1σ, line +2σ" 0 --> ${Math.ceil(Math.max(...rows.map((r) => r.arl1['1'])) / 10) * 10}`,
    `  bar [${rows.map((r) => f(r.arl1['1'])).join(', ')}]`,
    `  line [${rows.map((r) => f(r.arl1['2'])).join(', ')}]`,
    '```',
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('budget-tradeoff.ts')) {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 500;
  process.stdout.write(tradeoffMarkdown(budgetTradeoff(runs), runs));
}
