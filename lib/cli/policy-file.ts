// Reads a policy from a JSON file for `vmon backtest --policy`.
import { readFile } from 'node:fs/promises';
import { DETECTORS, type Policy } from '../core/policy.js';
import { METRICS } from '../core/metric-event.js';
import { usageError } from './errors.js';

/** Checks the shape applyEvents relies on; every problem names the field. */
export function checkPolicy(data: unknown, source: string): Policy {
  const fail = (msg: string) => { throw usageError(`invalid policy in ${source}: ${msg}`); };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('expected a JSON object with "id" and "detectors"');
  const p = data as Record<string, unknown>;
  if (typeof p.id !== 'string' || p.id === '') fail('id must be a non-empty string');
  if (!Array.isArray(p.detectors) || p.detectors.length === 0) fail('detectors must be a non-empty array');
  (p.detectors as unknown[]).forEach((d, i) => {
    const spec = d as Record<string, unknown>;
    if (typeof d !== 'object' || d === null) fail(`detectors[${i}] must be an object`);
    if (typeof spec.id !== 'string' || spec.id === '') fail(`detectors[${i}].id must be a non-empty string`);
    if (typeof spec.kind !== 'string' || !(spec.kind in DETECTORS)) fail(`detectors[${i}].kind must be one of ${Object.keys(DETECTORS).join(' | ')}, got ${JSON.stringify(spec.kind)}`);
    if (!(METRICS as readonly unknown[]).includes(spec.metric)) fail(`detectors[${i}].metric must be one of ${METRICS.join(' | ')}, got ${JSON.stringify(spec.metric)}`);
    if (typeof spec.action !== 'string') fail(`detectors[${i}].action must be a string`);
    if (typeof spec.config !== 'object' || spec.config === null) fail(`detectors[${i}].config must be an object`);
  });
  return data as Policy;
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError(`policy file not found: ${path}`);
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw usageError(`policy file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return checkPolicy(data, path);
}
