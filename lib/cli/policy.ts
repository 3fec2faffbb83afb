// `vmon policy put|get|list|delete`: thin wrappers over PolicyStore (policies as data, scoped
// fleet → modality → camera). Validation is the core's parsePolicy: an invalid policy is refused
// with every fault named and nothing is written.
import { DEFAULT_POLICY, parsePolicy, parseScope, PolicyError, type Policy } from '../core/policy.js';
import { MODALITIES, type Modality } from '../core/metric-event.js';
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

/** What a camera at `scope` gets from the stored policies, and where it comes from. */
export function effectivePolicy(
  stored: ReadonlyMap<string, Policy>,
  scope: string,
  modality?: Modality,
  fallback: Policy = DEFAULT_POLICY,
): { policy: Policy; from: string } {
  asUsage(() => parseScope(scope));
  const chain: string[] = [];
  if (scope.startsWith('camera:')) {
    chain.push(scope);
    if (!stored.has(scope)) {
      const modalityScoped = MODALITIES.filter((m) => stored.has(`modality:${m}`));
      if (modalityScoped.length && !modality)
        throw usageError(
          `${scope} has no policy of its own and ${modalityScoped.map((m) => `modality:${m}`).join(', ')} ${modalityScoped.length > 1 ? 'have' : 'has'} one: pass --modality to say which the camera is`,
        );
    }
    if (modality) chain.push(`modality:${modality}`);
  } else if (scope.startsWith('modality:')) chain.push(scope);
  chain.push('fleet');
  for (const s of chain) {
    const p = stored.get(s);
    if (p) return { policy: p, from: `stored at ${s}` };
  }
  return {
    policy: fallback,
    from: 'the built-in default (no stored policy applies; a stack deployed with -c defaultPolicy uses that one instead)',
  };
}

const describeDetector = (d: Policy['detectors'][number]) => `${d.id} (${d.kind} on ${d.metric} → ${d.action})`;

/** What storing `after` changes for the cameras at a scope, against what they get now; `removed`: detectors that go. */
export function policyDiff(before: Policy, after: Policy): { lines: string[]; removed: string[] } {
  const lines: string[] = [];
  const old = new Map(before.detectors.map((d) => [d.id, d]));
  const next = new Map(after.detectors.map((d) => [d.id, d]));
  const removed = [...old.keys()].filter((id) => !next.has(id));
  for (const id of removed) lines.push(`- detector ${describeDetector(old.get(id)!)}`);
  for (const [id, d] of next) {
    const o = old.get(id);
    if (!o) {
      lines.push(`+ detector ${describeDetector(d)}`);
      continue;
    }
    const keys = [...new Set([...Object.keys(o), ...Object.keys(d)])].sort();
    const changed = keys.filter((k) => JSON.stringify((o as never)[k]) !== JSON.stringify((d as never)[k]));
    for (const k of changed)
      lines.push(
        `~ detector ${id}: ${k} ${JSON.stringify((o as never)[k]) ?? '(none)'} → ${JSON.stringify((d as never)[k]) ?? '(none)'}`,
      );
  }
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (k === 'detectors') continue;
    const a = JSON.stringify((before as never)[k]),
      b = JSON.stringify((after as never)[k]);
    if (a !== b) lines.push(`~ ${k}: ${a ?? '(none)'} → ${b ?? '(none)'}`);
  }
  return { lines, removed };
}

/**
 * Validates and stores a policy at a scope. Shows what it changes against what the scope's cameras
 * get now (the policy stored there, or the one they inherit); refuses, storing nothing, when
 * detectors would disappear unless `yes`.
 */
export async function putPolicy(
  store: PolicyStore,
  scope: string,
  input: unknown,
  opts: { yes?: boolean } = {},
): Promise<{ policy: Policy; replaces: { policy: Policy; from: string }; diff: string[] }> {
  asUsage(() => parseScope(scope));
  let parsed: Policy;
  try {
    parsed = parsePolicy(input);
  } catch (err) {
    if (err instanceof PolicyError) throw usageError(`${err.message}; nothing was stored`);
    throw err;
  }
  const { policies } = await store.list();
  // A camera scope: the cameras' modality is unknown here, so compare with the camera's own or the fleet's.
  const replaces = scope.startsWith('camera:')
    ? policies.has(scope)
      ? { policy: policies.get(scope)!, from: `stored at ${scope}` }
      : effectivePolicy(new Map([...policies].filter(([s]) => !s.startsWith('modality:'))), scope)
    : effectivePolicy(policies, scope);
  const { lines, removed } = policyDiff(replaces.policy, parsed);
  if (removed.length && !opts.yes)
    throw usageError(
      `storing this policy at ${scope} removes ${plural(removed.length, 'detector')} its cameras run now (${removed.join(', ')}; from ${replaces.from}). A policy replaces the whole scope: add them to the file, or pass --yes to store it as it is. Nothing was stored.\n${lines.join('\n')}`,
    );
  try {
    return { policy: await store.put(scope, input), replaces, diff: lines };
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
