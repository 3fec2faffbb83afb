// Covers where ids are shown to a person (issue 16): the CLI tables (backtest triggers, camera state,
// dead letters), the published-event lines of `vmon events tail`, JSON output and the HTML reports
// all show bidi controls, invisible and look-alike characters escaped (one shared function,
// escapeForDisplay), so a hostile or legacy id cannot make one camera look like another.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyState } from '../../lib/core/camera-state.js';
import { formatCameraState } from '../../lib/cli/state.js';
import { formatBusEvent } from '../../lib/cli/events-tail.js';
import { formatDeadLetter, formatDeadLetterList, type DeadLetterMessage } from '../../lib/cli/dlq.js';
import { table } from '../../lib/cli/format.js';
import { println } from '../../lib/cli/io.js';
import { renderHtmlReport } from '../../lib/report/html-report.js';
import { runVmon, series, tempDir, toJsonl } from '../integration/cli-support.js';

// Every character escapeForDisplay escapes that these tests put in ids.
const HIDDEN = /[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u00a0\u2028\u3164\ufeff]/u;
const SPOOF = 'cam\u202e10\u202c'; // shows as "cam01"-like text reversed on a terminal
const SPOOF_SHOWN = 'cam\\u202e10\\u202c';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('CLI text', () => {
  it('table cells are escaped, so columns stay aligned whatever an id holds', () => {
    const out = table(
      ['CAMERA', 'N'],
      [
        [SPOOF, 1],
        ['cam\u00a001', 2],
        ['line\nbreak', 3],
      ],
    );
    expect(out).not.toMatch(HIDDEN);
    const lines = out.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(`${SPOOF_SHOWN}  1`);
    expect(lines[2]).toBe(`cam\\u00a001${' '.repeat(SPOOF_SHOWN.length - 'cam\\u00a001'.length)}  2`);
    expect(lines[3]!.startsWith('line\\u000abreak')).toBe(true);
  });

  it('vmon state shows a stored (legacy) camera id, model version and silence reason escaped', () => {
    const state = {
      ...emptyState(),
      mv: { Rgb: 'v1\u2066x' },
      silences: [{ until: Date.parse('2026-12-01T00:00:00Z'), reason: 'lens\u200bcleaning' }],
    };
    const text = formatCameraState({ cameraId: SPOOF, version: 3, state });
    expect(text).not.toMatch(HIDDEN);
    expect(text).toContain(`camera ${SPOOF_SHOWN} (item version 3)`);
    expect(text).toContain('Rgb  "v1\\u2066x"');
    expect(text).toContain('(lens\\u200bcleaning)');
  });

  it('vmon events tail escapes the fields of a published event (trigger details)', () => {
    const line = formatBusEvent(
      JSON.stringify({
        'detail-type': 'RetrainingRequested',
        detail: { cameraId: SPOOF, modality: 'Rgb', metric: 'DriftScore', detector: 'd\u200d', lastEventAt: 'x' },
      }),
    );
    expect(line).not.toMatch(HIDDEN);
    expect(line).toBe(`x  RetrainingRequested  ${SPOOF_SHOWN} Rgb DriftScore  d\\u200d`);
    expect(formatBusEvent(`not json ${SPOOF}`)).toBe(`(not JSON) not json ${SPOOF_SHOWN}`);
  });

  it('dead-letter listings escape reasons and bodies (line breaks of a body are kept in dlq show)', () => {
    const letter: DeadLetterMessage = {
      messageId: 'm-1',
      body: `{\n  "camera_id": "${SPOOF}"\n}`,
      reason: `modality: got string "${SPOOF}"`,
      receiveCount: 1,
      origin: 'rejected',
    };
    const list = formatDeadLetterList('q', [letter]);
    expect(list).not.toMatch(HIDDEN);
    expect(list).toContain(SPOOF_SHOWN);
    const show = formatDeadLetter(letter);
    expect(show).toContain(`reason             modality: got string "${SPOOF_SHOWN}"`);
    // The body keeps its lines; println (every CLI line goes through it) escapes the rest.
    const shown = printed(show);
    expect(shown).not.toMatch(HIDDEN);
    expect(shown).toContain(`{\n  "camera_id": "${SPOOF_SHOWN}"\n}`);
  });
});

/** What println (the CLI's one way to print a line) writes for `text`. */
function printed(text: string): string {
  let out = '';
  println(
    {
      write: (s: string) => {
        out += s;
      },
    },
    text,
  );
  return out;
}

describe('vmon backtest end to end', () => {
  it('a Trojan Source id is a rejected line whose reason names the code point; a kept look-alike id is escaped in the trigger table and the JSON', async () => {
    const t0 = Date.parse('2026-01-05T00:00:00Z');
    const events = [
      // No model_version: the camera decides alone (a cohort of one never asks for a model retrain).
      ...series('cam\u00a001', 'DriftScore', Array(12).fill(0.95), t0).map(({ model_version: _mv, ...e }) => e), // NBSP: accepted, shown escaped
      ...series(SPOOF, 'DriftScore', [0.9], t0), // RLO: rejected
    ];
    await writeFile(join(dir, 'ids.jsonl'), toJsonl(events));
    const text = await runVmon(['backtest', join(dir, 'ids.jsonl'), '--no-report']);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(HIDDEN);
    expect(text.stdout).toContain(
      'line 13: camera_id contains U+202E (RIGHT-TO-LEFT OVERRIDE) at index 3: invisible format characters',
    );
    expect(text.stdout).toMatch(/RetrainingRequested +cam\\u00a001 +Rgb/);

    const json = await runVmon(['backtest', join(dir, 'ids.jsonl'), '--no-report', '--json']);
    expect(json.stdout).not.toMatch(HIDDEN);
    expect(json.stdout).toContain('"cameraId": "cam\\u00a001"');
    // Escaped, and still the exact id for a program reading the JSON.
    expect(JSON.parse(json.stdout).triggers[0].cameraId).toBe('cam\u00a001');
  });
});

describe('HTML reports', () => {
  it('escape ids in tables, titles, series names and marker labels, and never inject markup', () => {
    const html = renderHtmlReport({
      title: `report ${SPOOF}`,
      tables: [{ title: 't', columns: ['camera'], rows: [[SPOOF], ['<img src=x onerror=alert(1)>']] }],
      charts: [
        {
          title: `${SPOOF} · Rgb · DriftScore`,
          series: [{ name: `${SPOOF} DriftScore`, points: [{ t: 0, value: 1 }] }],
          markers: [{ t: 0, label: `RetrainingRequested ${SPOOF}` }],
          thresholds: [{ value: 0.7, label: `x\u200by` }],
        },
      ],
    });
    // The page without the inlined ECharts library (its own source is not ours to judge).
    const page = html.replace(/<script>[\s\S]*?<\/script>/, '');
    expect(page).not.toMatch(HIDDEN);
    expect(page).toContain(`<title>report ${SPOOF_SHOWN}</title>`);
    expect(page).toContain(`<td>${SPOOF_SHOWN}</td>`);
    expect(page).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(page)![1]!);
    expect(data[0].title).toBe(`${SPOOF_SHOWN} · Rgb · DriftScore`);
    expect(data[0].series[0].name).toBe(`${SPOOF_SHOWN} DriftScore`);
    expect(data[0].markers[0].label).toBe(`RetrainingRequested ${SPOOF_SHOWN}`);
    expect(data[0].thresholds[0].label).toBe('x\\u200by');
    // The marker tooltip is HTML: its label is encoded in the browser too.
    expect(html).toContain('echarts.format.encodeHTML(p.name)');
  });
});
