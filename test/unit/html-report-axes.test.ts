// Covers the report's chart layout decided before the browser (lib/report/html-report.ts): y axes on
// round ticks that hold every value, threshold and pin (no extra label at an unround top), a second axis
// only when something uses it, legends laid out whole (rows counted, the chart grows), and a trigger
// without a value drawn as a line at its time, never pinned at an arbitrary height (over the title).
import { describe, expect, it } from 'vitest';
import { legendRows, niceAxis, renderHtmlReport } from '../../lib/report/html-report.js';

const chartData = (html: string) =>
  JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!);

describe('report chart layout', () => {
  it('puts y axes on round ticks that hold every value', () => {
    expect(niceAxis([0.31, 0.93, 0.7])).toEqual({ min: 0.2, max: 1, interval: 0.2 });
    expect(niceAxis([0, 19])).toEqual({ min: 0, max: 20, interval: 5 });
    const a = niceAxis([-2.3, 4.1])!;
    expect(a.min).toBeLessThanOrEqual(-2.3);
    expect(a.max).toBeGreaterThanOrEqual(4.1);
    expect(Number.isInteger(Number(((a.max - a.min) / a.interval).toFixed(9)))).toBe(true);
    expect(niceAxis([])).toBeNull();
    expect(niceAxis([5, 5])).toEqual({ min: 4.4, max: 5.6, interval: 0.2 });
  });

  it('counts legend rows so that every entry shows', () => {
    expect(legendRows(['a', 'b'])).toBe(1);
    expect(legendRows(Array.from({ length: 8 }, (_, i) => `a rather long series name ${i}`))).toBeGreaterThan(2);
  });

  it('gives each axis its extent, pins with a value on their axis, and lines for pins without one', () => {
    const html = renderHtmlReport({
      title: 't',
      charts: [
        {
          title: 'c',
          yName: 'DriftScore',
          rightName: 'drift-ewma (σ)',
          series: [
            {
              name: 'sent',
              points: [
                { t: 0, value: 0.3 },
                { t: 1, value: 0.5 },
              ],
            },
            {
              name: 'ewma',
              points: [
                { t: 0, value: 0.1 },
                { t: 1, value: 3.4 },
              ],
              axis: 'right',
            },
          ],
          thresholds: [{ value: 0.7, label: 'threshold' }],
          markers: [
            { t: 1, value: 3.4, label: 'fired', axis: 'right' },
            { t: 1, label: 'other metric' },
          ],
        },
        { title: 'plain', series: [{ name: 's', points: [{ t: 0, value: 1 }] }] },
      ],
    });
    const [c, plain] = chartData(html);
    expect(c.axes).toEqual([
      { min: 0.3, max: 0.7, interval: 0.1 },
      { min: 0, max: 4, interval: 1 },
    ]);
    expect(c.markers).toEqual([
      { t: 1, value: 3.4, axis: 'right', label: 'fired' },
      { t: 1, value: null, axis: 'left', label: 'other metric' },
    ]);
    expect(plain.axes[1]).toBeNull();
    expect([c.hasRight, plain.hasRight]).toEqual([true, false]);
  });
});
