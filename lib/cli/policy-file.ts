// Reads a policy from a JSON file (backtest --policy, policy put), validated by the core's parsePolicy.
import { readFile } from 'node:fs/promises';
import { parsePolicy, parseScope, PolicyError, type Policy } from '../core/policy.js';
import { usageError } from './errors.js';

export async function readPolicyFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError(`policy file not found: ${path}`);
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`policy file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Validates with parsePolicy; a fault becomes a usage error naming the file and each field. */
export function checkPolicy(input: unknown, source: string): Policy {
  try {
    return parsePolicy(input);
  } catch (err) {
    if (err instanceof PolicyError) throw usageError(`${source}: ${err.message}`);
    throw err;
  }
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  return checkPolicy(await readPolicyFile(path), path);
}

/**
 * Scoped policies from a file (backtest --policies): the output of `vmon policy list --json`
 * ({"policies": [{"scope", "policy"}]}), or an object keyed by scope ({"fleet": {...},
 * "modality:Thermal": {...}, "camera:cam01": {...}}). Each scope and policy is validated.
 */
export async function loadScopedPolicies(path: string): Promise<Map<string, Policy>> {
  const doc = await readPolicyFile(path);
  const entries: [string, unknown][] = Array.isArray((doc as { policies?: unknown })?.policies)
    ? (doc as { policies: { scope?: unknown; policy?: unknown }[] }).policies.map((e, i) => [
        typeof e?.scope === 'string' ? e.scope : `policies[${i}].scope (missing)`,
        e?.policy,
      ])
    : doc && typeof doc === 'object' && !Array.isArray(doc)
      ? Object.entries(doc)
      : [];
  if (entries.length === 0)
    throw usageError(
      `${path}: expected {"fleet" | "modality:<m>" | "camera:<id>": policy, ...} or the output of vmon policy list --json`,
    );
  const out = new Map<string, Policy>();
  for (const [scope, input] of entries) {
    try {
      parseScope(scope);
    } catch (err) {
      if (err instanceof PolicyError) throw usageError(`${path}: ${err.message}`);
      throw err;
    }
    out.set(scope, checkPolicy(input, `${path} ${scope}`));
  }
  return out;
}
