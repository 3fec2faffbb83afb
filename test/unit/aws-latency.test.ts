// Covers the fleet bench's Lambda time without the emulator (scripts/bench/aws-latency.ts): the
// modelled duration is CPU time plus each service's calls spread over the handler's camera lanes ×
// the documented latency, and the meter counts each SDK call against the invocation it ran in, even
// when invocations overlap.
import { describe, expect, it } from 'vitest';
import { AWS_CALL_LATENCY_MS, InvocationMeter, modelledDurationMs } from '../../scripts/bench/aws-latency.js';

describe('modelled Lambda duration', () => {
  it('spreads calls over min(concurrency, cameras) lanes, per service', () => {
    const calls = { DynamoDB: 40, SQS: 1, EventBridge: 2 };
    const wide = modelledDurationMs({ calls, cpuMs: 30, cameras: 100 }, 16);
    expect(wide).toBe(
      30 +
        Math.ceil(40 / 16) * AWS_CALL_LATENCY_MS.DynamoDB +
        AWS_CALL_LATENCY_MS.SQS +
        AWS_CALL_LATENCY_MS.EventBridge,
    );
    // Two cameras: their calls run in two lanes only.
    const narrow = modelledDurationMs({ calls, cpuMs: 30, cameras: 2 }, 16);
    expect(narrow).toBe(
      30 + 20 * AWS_CALL_LATENCY_MS.DynamoDB + AWS_CALL_LATENCY_MS.SQS + AWS_CALL_LATENCY_MS.EventBridge,
    );
    expect(modelledDurationMs({ calls: { DynamoDB: 0, SQS: 0, EventBridge: 0 }, cpuMs: 5, cameras: 0 }, 16)).toBe(5);
  });

  it('counts each call against its own invocation when invocations overlap', async () => {
    const meter = new InvocationMeter();
    const ddb = meter.middleware('DynamoDB')(async () => ({ output: {} }));
    const bus = meter.middleware('EventBridge')(async () => ({ output: {} }));
    const tick = () => new Promise((r) => setTimeout(r, 5));
    const [a, b] = await Promise.all([
      meter.run(3, async () => {
        for (let i = 0; i < 3; i++) {
          await ddb({});
          await tick();
        }
      }),
      meter.run(1, async () => {
        await tick();
        await bus({});
        await ddb({});
      }),
    ]);
    expect(a.cost.calls).toEqual({ DynamoDB: 3, SQS: 0, EventBridge: 0 });
    expect(b.cost.calls).toEqual({ DynamoDB: 1, SQS: 0, EventBridge: 1 });
    expect(a.cost.cameras).toBe(3);
    for (const c of [a.cost, b.cost]) expect(c.cpuMs).toBeGreaterThanOrEqual(0);
    await ddb({}); // outside any invocation: counted nowhere
    expect(a.cost.calls.DynamoDB).toBe(3);
  });
});
