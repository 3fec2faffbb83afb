// DynamoDB adapter for scoped policies. All scopes live in one item (`pk = policies`), so a put or
// delete is one conditional write: a change is atomic and an invalid policy is never half-applied.
import {
  GetItemCommand,
  PutItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { parsePolicy, parseScope, resolvePolicy, type Policy, type PolicyScope } from '../core/policy.js';
import type { Modality } from '../core/metric-event.js';
import { STATE_TABLE } from '../resources.js';

const A = STATE_TABLE.policyAttributes;

export interface PolicySet {
  version: number;
  policies: Map<string, Policy>;
}

export class PolicyStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<PolicySet> {
    const r = await this.ddb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.policiesKey } },
        ConsistentRead: true,
      }),
    );
    const raw = r.Item?.[A.policies]?.S;
    const policies = new Map<string, Policy>();
    if (raw)
      for (const [scope, p] of Object.entries(JSON.parse(raw) as Record<string, unknown>))
        policies.set(scope, parsePolicy(p));
    return { version: Number(r.Item?.[A.version]?.N ?? 0), policies };
  }

  async get(scope: string): Promise<Policy | undefined> {
    return (await this.list()).policies.get(parseScope(scope));
  }

  /** Validates (PolicyError on any fault, nothing written) and stores the policy at a scope. */
  async put(scope: string, input: unknown): Promise<Policy> {
    const s = parseScope(scope);
    const policy = parsePolicy(input);
    await this.change((m) => m.set(s, policy));
    return policy;
  }

  /** Removes the policy at a scope; false when there was none. */
  async delete(scope: string): Promise<boolean> {
    const s: PolicyScope = parseScope(scope);
    let existed = false;
    await this.change((m) => {
      existed = m.delete(s);
    });
    return existed;
  }

  private async change(edit: (m: Map<string, Policy>) => void, attempts = 5): Promise<void> {
    for (let i = 1; ; i++) {
      const { version, policies } = await this.list();
      edit(policies);
      try {
        await this.ddb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.policiesKey },
              [A.version]: { N: String(version + 1) },
              [A.policies]: { S: JSON.stringify(Object.fromEntries(policies)) },
              [A.updatedAt]: { N: String(Date.now()) },
            },
            ConditionExpression: version === 0 ? 'attribute_not_exists(#pk)' : '#v = :v',
            ExpressionAttributeNames: version === 0 ? { '#pk': STATE_TABLE.partitionKey.name } : { '#v': A.version },
            ...(version === 0 ? {} : { ExpressionAttributeValues: { ':v': { N: String(version) } } }),
          }),
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException) || i >= attempts) throw err;
      }
    }
  }
}

/**
 * What a Lambda container uses: policies read at most once per `ttlMs`, resolved most specific
 * first, with `fallback` (the deployed default) when the table holds none.
 */
export class CachedPolicies {
  private loaded?: { at: number; policies: Map<string, Policy> };

  constructor(
    private readonly store: PolicyStore,
    private readonly ttlMs: number,
    private readonly fallback: Policy,
    private readonly now: () => number = Date.now,
  ) {}

  async lookup(): Promise<(cameraId: string, modality: Modality) => Policy> {
    if (!this.loaded || this.now() - this.loaded.at >= this.ttlMs) {
      this.loaded = { at: this.now(), policies: (await this.store.list()).policies };
    }
    const policies = this.loaded.policies;
    return (cameraId, modality) => resolvePolicy(policies, cameraId, modality, this.fallback);
  }
}
