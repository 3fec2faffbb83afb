// Reads a policy from a JSON file (backtest --policy, policy put), validated by the core's parsePolicy.
import { readFile } from 'node:fs/promises';
import { parsePolicy, PolicyError, type Policy } from '../core/policy.js';
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
