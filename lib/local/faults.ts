// Fault injection through SDK middleware on the real clients: the code under test sees exactly
// what a throttling, failing or partially failing AWS would hand it, and nothing else is faked.
// Faults are injected outside the SDK's own retries, i.e. each one stands for "the SDK gave up".
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { InternalException, ThrottlingException } from '@aws-sdk/client-eventbridge';
import type { PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { mulberry32 } from '../sim/prng.js';

export type FaultKind =
  /** 400 ProvisionedThroughputExceededException (DynamoDB) or ThrottlingException (others). */
  | 'throttle'
  /** 500 InternalServerError / InternalException; the call did not take effect. */
  | 'server-error'
  /** ConditionalCheckFailedException without the item: a writer we never see got in first. */
  | 'conditional-conflict'
  /** PutEvents: some entries come back with an ErrorCode and FailedEntryCount > 0; the rest are sent. */
  | 'partial-failure'
  /** The call takes effect, then the caller gets a 500 (the response was lost). */
  | 'lost-response'
  /** The call takes effect, its response is lost and the SDK's retry sends it again: the caller gets
   * the retry's answer (for a conditional write, a conflict with itself). */
  | 'resent-after-landing'
  /** The invocation dies here: this call and every later call of the same invocation fail. */
  | 'crash'
  /** Runs `action` (e.g. a concurrent writer) before the call goes out; the call then proceeds. */
  | 'interleave';

export interface FaultRule {
  /** Command name without the "Command" suffix: 'PutItem', 'GetItem', 'PutEvents', 'SendMessageBatch'… */
  command: string;
  fault: FaultKind;
  /** Chance that a matching call is hit (default 1). */
  probability?: number;
  /** Hit at most this many calls (default unlimited). */
  times?: number;
  /** Let this many matching calls through before the rule starts hitting. */
  skip?: number;
  /** Only calls whose input matches. */
  when?: (input: Record<string, unknown>) => boolean;
  /** partial-failure: chance that each entry fails (default: only the first entry fails). */
  entryProbability?: number;
  /** interleave: what runs before the call. */
  action?: () => Promise<void>;
}

/** Thrown by every call of an invocation once it has "crashed". */
export class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash at ${where}`);
    this.name = 'InjectedCrash';
  }
}

interface Invocation {
  crashedAt?: string;
}
const invocations = new AsyncLocalStorage<Invocation>();

/**
 * Runs one handler invocation so that a 'crash' fault kills it as a process death would: every
 * later AWS call it makes fails, and the invocation itself fails (the whole batch is redelivered).
 */
export function crashable<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args: A) => {
    const inv: Invocation = {};
    return invocations.run(inv, async () => {
      let result: R | undefined, error: unknown;
      try {
        result = await fn(...args);
      } catch (err) {
        error = err;
      }
      if (inv.crashedAt) throw new InjectedCrash(inv.crashedAt);
      if (error) throw error;
      return result as R;
    });
  };
}

export interface FaultCounters {
  /** Faults injected, by `${command}:${fault}`. */
  injected: Record<string, number>;
  /** Calls seen, by command. */
  calls: Record<string, number>;
  /** Successful calls, by command (what actually reached the service). */
  succeeded: Record<string, number>;
}

export interface FaultInjector {
  readonly counters: FaultCounters;
  /** Total faults injected. */
  total(): number;
  /** Replaces the rules (keeps the middleware and the counters); `seed` starts a new keyed schedule. */
  setRules(rules: FaultRule[], seed?: number): void;
  /** Adds rules after the current ones (for tests running side by side on different cameras). */
  addRules(rules: FaultRule[]): void;
  /** Calls the given rule has hit so far. */
  hits(rule: FaultRule): number;
  resetCounters(): void;
  remove(): void;
}

type AnyClient = {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK middleware types differ per client
  middlewareStack: { add: (mw: any, opts: any) => void; remove: (name: string) => boolean };
  config: { serviceId?: string };
};

let nextId = 0;
const meta = (status: number) => ({ $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 } });

function serviceError(service: string, kind: 'throttle' | 'server-error', command: string): Error {
  const message = `injected ${kind} on ${command}`;
  if (service === 'DynamoDB') {
    return kind === 'throttle'
      ? new ProvisionedThroughputExceededException({ message, ...meta(400) })
      : new InternalServerError({ message, ...meta(500) });
  }
  if (service === 'EventBridge') {
    return kind === 'throttle'
      ? new ThrottlingException({ message, ...meta(400) })
      : new InternalException({ message, ...meta(500) });
  }
  return Object.assign(new Error(message), {
    name: kind === 'throttle' ? 'ThrottlingException' : 'InternalError',
    $fault: kind === 'throttle' ? 'client' : 'server',
    ...meta(kind === 'throttle' ? 400 : 500),
  });
}

/**
 * A seeded schedule: each draw is a hash of (seed, command, the call's input, how many times that
 * same input was seen, the rule), not the next number of a shared stream. So which call is hit does
 * not depend on how concurrent calls interleave, and a seed replays the same faults on the same calls.
 */
export function keyedDraws(seed: number): (command: string, input: unknown) => (salt: number) => number {
  const seen = new Map<string, number>();
  return (command, input) => {
    const text = `${command}|${JSON.stringify(input, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))}`;
    const nth = (seen.get(text) ?? 0) + 1;
    seen.set(text, nth);
    const base = fnv1a(text, fnv1a(String(nth), seed >>> 0));
    return (salt) => mulberry32((base ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0)();
  };
}

function fnv1a(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Adds fault-injection middleware to a real SDK client. `random` draws from a shared stream (order
 * dependent); `{ seed }` uses a keyed schedule (keyedDraws) that replays under concurrency.
 */
export function injectFaults(
  client: AnyClient,
  rules: FaultRule[],
  random: (() => number) | { seed: number } = Math.random,
): FaultInjector {
  const name = `vmonFaultInjection${nextId++}`;
  const counters: FaultCounters = { injected: {}, calls: {}, succeeded: {} };
  let active = rules.map((rule) => ({ rule, seen: 0, hits: 0 }));
  let schedule = typeof random === 'function' ? undefined : keyedDraws(random.seed);
  let stream = typeof random === 'function' ? random : Math.random;
  const service = client.config.serviceId ?? '';
  const bump = (o: Record<string, number>, k: string) => {
    o[k] = (o[k] ?? 0) + 1;
  };

  const middleware =
    // biome-ignore lint/suspicious/noExplicitAny: the next handler is typed per command
    (next: any, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      bump(counters.calls, command);
      const inv = invocations.getStore();
      if (inv?.crashedAt) throw new InjectedCrash(inv.crashedAt);

      let fault: FaultRule | undefined;
      const keyed = schedule?.(command, args.input);
      let salt = 0;
      const draw = () => (keyed ? keyed(salt++) : stream());
      for (const a of active) {
        if (a.rule.command !== command || (a.rule.when && !a.rule.when(args.input))) continue;
        if (a.seen++ < (a.rule.skip ?? 0)) continue;
        if (a.rule.times !== undefined && a.hits >= a.rule.times) continue;
        if (draw() >= (a.rule.probability ?? 1)) continue;
        a.hits++;
        fault = a.rule;
        break;
      }
      if (fault) bump(counters.injected, `${command}:${fault.fault}`);
      const pass = async (a: typeof args) => {
        const r = await next(a);
        bump(counters.succeeded, command);
        return r;
      };

      switch (fault?.fault) {
        case undefined:
          return pass(args);
        case 'throttle':
        case 'server-error':
          throw serviceError(service, fault.fault, command);
        case 'conditional-conflict':
          throw new ConditionalCheckFailedException({
            message: `injected conditional-check conflict on ${command}`,
            ...meta(400),
          });
        case 'lost-response':
          await pass(args);
          throw serviceError(service, 'server-error', command);
        case 'resent-after-landing':
          await pass(args);
          try {
            return await pass(args);
          } catch (err) {
            // As the SDK reports a retried call.
            const m = (err as { $metadata?: { attempts?: number } }).$metadata;
            if (m) m.attempts = 2;
            throw err;
          }
        case 'crash': {
          const where = `${service}.${command}`;
          if (inv) inv.crashedAt = where;
          throw new InjectedCrash(where);
        }
        case 'interleave':
          await fault.action?.();
          return pass(args);
        case 'partial-failure': {
          const entries = (args.input.Entries ?? []) as unknown[];
          const p = fault.entryProbability;
          const failed = entries.map((_, i) => (p === undefined ? i === 0 : draw() < p));
          const sent = entries.filter((_, i) => !failed[i]);
          const r =
            sent.length > 0
              ? await pass({ ...args, input: { ...args.input, Entries: sent } })
              : { output: { ...meta(200), FailedEntryCount: 0, Entries: [] }, response: {} };
          const out = r.output as { Entries?: PutEventsResultEntry[]; FailedEntryCount?: number };
          const real = [...(out.Entries ?? [])];
          out.Entries = failed.map((f) =>
            f ? { ErrorCode: 'InternalFailure', ErrorMessage: 'injected partial failure' } : real.shift()!,
          );
          out.FailedEntryCount = (out.FailedEntryCount ?? 0) + failed.filter(Boolean).length;
          return r;
        }
      }
    };
  client.middlewareStack.add(middleware, { step: 'initialize', name, priority: 'high' });
  return {
    counters,
    total: () => Object.values(counters.injected).reduce((a, b) => a + b, 0),
    setRules(next: FaultRule[], seed?: number) {
      active = next.map((rule) => ({ rule, seen: 0, hits: 0 }));
      if (seed !== undefined) {
        schedule = keyedDraws(seed);
        stream = Math.random;
      }
    },
    addRules(more: FaultRule[]) {
      active = [...active, ...more.map((rule) => ({ rule, seen: 0, hits: 0 }))];
    },
    hits: (rule: FaultRule) => active.find((a) => a.rule === rule)?.hits ?? 0,
    resetCounters() {
      counters.injected = {};
      counters.calls = {};
      counters.succeeded = {};
    },
    remove() {
      client.middlewareStack.remove(name);
    },
  };
}

/** A small seeded PRNG, so fault schedules and workloads replay from a seed. */
export const seededRandom = mulberry32;
