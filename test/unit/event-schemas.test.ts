// Covers the versioned JSON Schemas: the files in schemas/ match the code, and every event type the
// core publishes (from each detector kind and the closed loop) validates against its schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS, jsonSchemaFor } from '../../lib/core/event-schemas.js';
import { applyModelLifecycle } from '../../lib/core/camera-state.js';
import { DEFAULT_POLICY, parsePolicy } from '../../lib/core/policy.js';
import type { Trigger } from '../../lib/core/trigger.js';
import { schemaErrors } from '../support/schemas.js';
import { feed, rng } from '../support/streams.js';
import { WIRE_EXAMPLE } from '../support/fixtures.js';

describe('schema files', () => {
  it.each(Object.keys(EVENT_SCHEMAS))('schemas/%s.json is up to date (npm run schemas)', (name) => {
    expect(JSON.parse(readFileSync(`schemas/${name}.json`, 'utf8'))).toEqual(jsonSchemaFor(name));
  });

  it("accepts the producers' wire example and the default policy", () => {
    expect(schemaErrors('in.MetricEvent', JSON.parse(WIRE_EXAMPLE))).toEqual([]);
    expect(schemaErrors('in.Policy', DEFAULT_POLICY)).toEqual([]);
  });
});

describe('published events validate against their schema', () => {
  const r = rng(11);
  const triggers: Trigger[] = [];
  const p = parsePolicy({
    id: 'all',
    cooldownSeconds: 0,
    retrainScope: 'camera',
    detectors: [
      {
        id: 'wm',
        kind: 'window-mean',
        metric: 'DriftScore',
        action: 'RetrainingRequested',
        windowSize: 5,
        threshold: 0.6,
      },
      { id: 'cu', kind: 'cusum', metric: 'DriftScore', action: 'HyperparameterTuningRequested', warmup: 20 },
      { id: 'ew', kind: 'ewma', metric: 'LatencyMs', action: 'SlaBreached', warmup: 20 },
      { id: 'lq', kind: 'latency-quantile', metric: 'LatencyMs', action: 'SlaBreached', slaMs: 120 },
      {
        id: 'rg',
        kind: 'regression',
        metric: 'Accuracy',
        action: 'HyperparameterTuningRequested',
        baselineSamples: 500,
        minSamples: 200,
      },
    ],
  });
  const run = (metric: 'DriftScore' | 'LatencyMs' | 'Accuracy', values: number[], extra = {}) => {
    const out = feed(p, values, { camera_id: 'schema-cam', metric, ...extra });
    triggers.push(...out.fired.map((f) => f.trigger));
    return out.state;
  };
  run('DriftScore', [
    ...Array.from({ length: 40 }, () => 0.3 + 0.02 * r.normal()),
    ...Array(10).fill(0.9),
    ...Array(10).fill(0.1),
  ]);
  run('LatencyMs', [
    ...Array.from({ length: 40 }, () => 80 + 5 * r.normal()),
    ...Array(30).fill(300),
    ...Array(30).fill(50),
  ]);
  const st = run('Accuracy', [...Array(10).fill(0.9), ...Array(10).fill(0.7)], {
    sample_count: 100,
    model_version: 'v1',
  });
  triggers.push(
    ...applyModelLifecycle(
      st,
      'schema-cam',
      { type: 'ModelDeployed', at: Date.parse('2026-11-27T09:00:00Z'), modelVersion: 'v2' },
      () => p,
    ),
  );

  it('produced every event type', () => {
    expect(new Set(triggers.map((t) => t.detailType))).toEqual(
      new Set(['RetrainingRequested', 'HyperparameterTuningRequested', 'SlaBreached', 'AlertResolved']),
    );
    expect(new Set(triggers.map((t) => t.detail.detectorKind))).toEqual(
      new Set(['window-mean', 'cusum', 'ewma', 'latency-quantile', 'regression']),
    );
  });

  it('each one matches out.<detail-type>.json', () => {
    for (const t of triggers)
      expect(
        schemaErrors(`out.${t.detailType}`, JSON.parse(JSON.stringify(t.detail))),
        `${t.detailType} from ${t.detail.detector}`,
      ).toEqual([]);
  });
});
