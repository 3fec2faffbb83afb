// `vmon policy put|get|list|delete`: thin wrappers over PolicyStore (policies as data, scoped
// fleet → modality → camera). Validation is the core's parsePolicy: an invalid policy is refused
// with every fault named and nothing is written.
import { parseScope, PolicyError, type Policy } from '../core/policy.js';
import type { PolicyStore } from '../adapters/policy-store.js';
import { CliError, EXIT, usageError } from './errors.js';
import { plural, table } from './format.js';

const asUsage = <T>(fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PolicyError) throw usageError(err.message);
    throw err;
  }
};

export async function putPolicy(store: PolicyStore, scope: string, input: unknown): Promise<Policy> {
  asUsage(() => parseScope(scope));
  try {
    return await store.put(scope, input);
  } catch (err) {
    if (err instanceof PolicyError) throw usageError(`${err.message}; nothing was stored`);
    throw err;
  }
}

export async function getPolicy(store: PolicyStore, scope: string): Promise<Policy> {
  asUsage(() => parseScope(scope));
  const p = await store.get(scope);
  if (!p)
    throw new CliError(`no policy at scope ${scope} (vmon policy list shows the scopes that have one)`, EXIT.notFound);
  return p;
}

export async function listPolicies(
  store: PolicyStore,
): Promise<{ version: number; policies: { scope: string; policy: Policy }[] }> {
  const { version, policies } = await store.list();
  const order = (s: string) => (s === 'fleet' ? 0 : s.startsWith('modality:') ? 1 : 2);
  return {
    version,
    policies: [...policies]
      .map(([scope, policy]) => ({ scope, policy }))
      .sort((a, b) => order(a.scope) - order(b.scope) || a.scope.localeCompare(b.scope)),
  };
}

export async function deletePolicy(store: PolicyStore, scope: string): Promise<void> {
  asUsage(() => parseScope(scope));
  if (!(await store.delete(scope))) throw new CliError(`no policy at scope ${scope}; nothing deleted`, EXIT.notFound);
}

export function formatPolicyList(l: Awaited<ReturnType<typeof listPolicies>>): string {
  if (l.policies.length === 0) return 'no stored policies: every camera uses the deployed default policy';
  return [
    `${plural(l.policies.length, 'policy', 'policies')} (most specific wins: camera, then modality, then fleet)`,
    table(
      ['SCOPE', 'POLICY', 'DETECTORS', 'COOLDOWN'],
      l.policies.map(({ scope, policy }) => [
        scope,
        policy.id,
        policy.detectors.map((d) => `${d.id}:${d.kind}/${d.metric}→${d.action}`).join(', '),
        `${policy.cooldownSeconds} s`,
      ]),
    ),
  ].join('\n');
}
