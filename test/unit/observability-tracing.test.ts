// Covers the SDK-tracing switch of lib/adapters/observability.ts (ENV.sdkTracing, the stack's
// `sdkTracing` context): off by default, with no Powertools Tracer created nor its X-Ray SDK loaded,
// clients left as they are and invocations run; on, the Tracer is created (it disables itself outside
// Lambda, so no X-Ray daemon is needed) and `instrumented` opens a `## handler` subsegment with the
// cold-start and service annotations, records a thrown error on it, closes it and restores the parent.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { createObservability, instrumented, sdkTracingEnabled, traced } from '../../lib/adapters/observability.js';
import { ENV, FUNCTION_BUNDLING } from '../../lib/resources.js';

/** An X-Ray (sub)segment with the fields this test reads from its document. */
type Subsegment = NonNullable<ReturnType<Tracer['getSegment']>> & {
  name: string;
  annotations?: Record<string, unknown>;
  cause?: unknown;
  end_time?: number;
};

const loadedModules = () => Object.keys(createRequire(import.meta.url).cache);
const xrayLoaded = () => loadedModules().some((path) => path.includes('aws-xray-sdk-core'));

afterEach(() => {
  delete process.env[ENV.sdkTracing];
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  vi.restoreAllMocks();
});

describe('SDK tracing off (the default)', () => {
  it('creates no tracer, loads no X-Ray SDK, leaves clients as they are and still runs invocations', async () => {
    expect(sdkTracingEnabled({})).toBe(false);
    expect(sdkTracingEnabled({ [ENV.sdkTracing]: 'false' })).toBe(false);
    const obs = createObservability('probe', {});
    expect(obs.tracer).toBeUndefined();
    expect(xrayLoaded()).toBe(false);
    const client = { send: () => 1 };
    expect(traced(obs, client)).toBe(client);
    await expect(instrumented(obs, undefined, async () => 'done')).resolves.toBe('done');
    await expect(
      instrumented(obs, undefined, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });

  it('warns and runs without a tracer when the variable is set but the bundle was built without it', () => {
    // A bundle replaces process.env.VMON_SDK_TRACING with the build's setting; unbundled, unset is "built off".
    const printed: string[] = [];
    for (const stream of [process.stdout, process.stderr])
      vi.spyOn(stream, 'write').mockImplementation((chunk) => printed.push(String(chunk)) > 0);
    const obs = createObservability('probe', { [ENV.sdkTracing]: 'true', POWERTOOLS_LOG_LEVEL: 'WARN' });
    expect(obs.tracer).toBeUndefined();
    expect(printed.join('')).toContain('built without SDK tracing');
  });

  it('the bundle define names the variable the adapter reads', () => {
    expect(FUNCTION_BUNDLING.define(false)).toEqual({ 'process.env.VMON_SDK_TRACING': '"false"' });
    expect(FUNCTION_BUNDLING.define(true)).toEqual({ [`process.env.${ENV.sdkTracing}`]: '"true"' });
  });
});

describe('SDK tracing on', () => {
  it('creates the Powertools Tracer, which stays disabled outside Lambda and leaves clients unpatched', async () => {
    process.env[ENV.sdkTracing] = 'true';
    const obs = createObservability('probe', process.env);
    expect(obs.tracer).toBeDefined();
    expect(xrayLoaded()).toBe(true);
    expect(obs.tracer?.isTracingEnabled()).toBe(false);
    const client = { send: () => 1, middlewareStack: { use: vi.fn() } };
    expect(traced(obs, client)).toBe(client);
    expect(client.middlewareStack.use).not.toHaveBeenCalled();
    await expect(instrumented(obs, undefined, async () => 'done')).resolves.toBe('done');
  });

  it('annotates the handler subsegment (cold start, service), records the error and restores the parent', async () => {
    process.env[ENV.sdkTracing] = 'true';
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand'; // as Lambda sets it: the first invocation is a cold start
    const obs = createObservability('probe', process.env);
    const tracer = obs.tracer!;
    // Outside Lambda the tracer hands out a real (unsent) X-Ray subsegment: the parent for this test.
    const parent = tracer.getSegment() as Subsegment;
    let current: Subsegment = parent;
    vi.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    vi.spyOn(tracer, 'getSegment').mockImplementation(() => current);
    vi.spyOn(tracer, 'setSegment').mockImplementation((s) => {
      current = s as Subsegment;
    });
    vi.spyOn(tracer.provider, 'getSegment').mockImplementation(() => current);

    vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the 'invocation failed' log line
    let handlerSegment: Subsegment | undefined;
    const failure = new Error('state table unavailable');
    await expect(
      instrumented(obs, undefined, async () => {
        handlerSegment = current;
        throw failure;
      }),
    ).rejects.toThrow(failure);

    expect(handlerSegment).not.toBe(parent);
    expect(handlerSegment?.name).toBe('## handler');
    expect(handlerSegment?.annotations).toEqual({ ColdStart: true, Service: 'probe' });
    expect(JSON.stringify(handlerSegment?.cause)).toContain('state table unavailable');
    expect(handlerSegment?.end_time).toBeGreaterThan(0); // closed
    expect(current).toBe(parent);

    await instrumented(obs, undefined, async () => {
      handlerSegment = current;
    });
    expect(handlerSegment?.annotations).toEqual({ ColdStart: false, Service: 'probe' });
  });
});
