// Lambda time as AWS would bill it, without the emulator: the handler's own CPU time in the bench
// process plus its AWS round trips on the critical path × a documented per-call latency. moto
// serialises calls on a loaded machine (hundreds of ms each), so a duration measured against it
// says more about moto than about the handler; fleet.ts keeps that figure beside this one.
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Round trip per call, ms, taken at the top of each published range (sources in docs/fleet-cost.md):
 * - DynamoDB GetItem / PutItem / UpdateItem: "single-digit milliseconds" on average for atomic
 *   operations (AWS Knowledge Center, "DynamoDB high latency"; server-side, so 10 ms leaves room
 *   for the network inside the region);
 * - SQS SendMessageBatch (dead letters only): under 10 ms to publish (course notes on standard
 *   queues); 20 ms here for batches;
 * - EventBridge PutEvents (triggers only): 80 ms p90 end to end, publish to subscriber, reported
 *   by the Amazon Key team on the AWS Architecture Blog (2026); the put alone is part of that.
 */
export const AWS_CALL_LATENCY_MS = { DynamoDB: 10, SQS: 20, EventBridge: 80 } as const;
export type AwsService = keyof typeof AWS_CALL_LATENCY_MS;

/** One handler invocation: its calls per service and the CPU time it used. */
export interface InvocationCost {
  calls: Record<AwsService, number>;
  cpuMs: number;
  /** Cameras in the batch: the handler runs up to `concurrency` of them at a time. */
  cameras: number;
}

/**
 * Modelled duration on AWS: CPU time plus each service's calls spread over the handler's parallel
 * camera workers (calls of one camera are sequential; workers run side by side), ms.
 */
export function modelledDurationMs(c: InvocationCost, concurrency: number): number {
  const lanes = Math.max(1, Math.min(concurrency, c.cameras));
  let waitMs = 0;
  for (const s of Object.keys(AWS_CALL_LATENCY_MS) as AwsService[])
    waitMs += Math.ceil(c.calls[s] / lanes) * AWS_CALL_LATENCY_MS[s];
  return c.cpuMs + waitMs;
}

/**
 * Attributes each SDK call to the invocation it runs in (AsyncLocalStorage), and the process's CPU
 * time to the invocations running at the time, split evenly when they overlap.
 */
export class InvocationMeter {
  private readonly als = new AsyncLocalStorage<InvocationCost>();
  private readonly active = new Set<InvocationCost>();
  private last = process.cpuUsage();

  /** SDK middleware (initialize step) counting the call against the current invocation. */
  middleware(service: AwsService) {
    // biome-ignore lint/suspicious/noExplicitAny: any command's handler
    return (next: (args: any) => Promise<any>) => async (args: unknown) => {
      const cost = this.als.getStore();
      if (cost) cost.calls[service]++;
      return next(args);
    };
  }

  private settle(): void {
    const now = process.cpuUsage();
    const ms = (now.user - this.last.user + now.system - this.last.system) / 1000;
    this.last = now;
    if (this.active.size === 0) return;
    for (const c of this.active) c.cpuMs += ms / this.active.size;
  }

  async run<T>(cameras: number, fn: () => Promise<T>): Promise<{ value: T; cost: InvocationCost }> {
    const cost: InvocationCost = { calls: { DynamoDB: 0, SQS: 0, EventBridge: 0 }, cpuMs: 0, cameras };
    this.settle();
    this.active.add(cost);
    try {
      return { value: await this.als.run(cost, fn), cost };
    } finally {
      this.settle();
      this.active.delete(cost);
    }
  }
}
