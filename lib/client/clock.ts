// The time source MetricPublisher waits on: the real one, or a virtual one that tests and the
// fleet cost bench advance by hand, so a 60 s linger costs no real waiting.

export interface PublisherClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a cancel function. `unref`: the timer alone keeps no process alive. */
  setTimer(fn: () => void, ms: number, opts?: { unref?: boolean }): () => void;
}

export const realClock: PublisherClock = {
  now: () => Date.now(),
  setTimer(fn, ms, opts) {
    const t = setTimeout(fn, ms);
    if (opts?.unref) t.unref();
    return () => clearTimeout(t);
  },
};

/** Yields to the event loop so pending promise chains and real I/O callbacks can run. */
const macrotask = () => new Promise<void>((r) => setImmediate(r));

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock whose time moves only when `advanceTo`/`advance`/`runUntil` move it; timers fire in time order. */
export class VirtualClock implements PublisherClock {
  private t: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /**
   * Moves time to `ms`, firing every timer due on the way (in order). After each, waits for
   * `settle` (e.g. the publisher's requests in flight), so real I/O keeps up with virtual time.
   */
  async advanceTo(ms: number, settle: () => Promise<void> = macrotask): Promise<void> {
    for (let next = this.nextTimer(); next && next.at <= ms; next = this.nextTimer()) {
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = Math.max(this.t, ms);
  }

  advance(ms: number, settle?: () => Promise<void>): Promise<void> {
    return this.advanceTo(this.t + ms, settle);
  }

  /**
   * Awaits `work`: lets real I/O run until `settle` resolves and, if `work` still waits, jumps to
   * the next timer (e.g. a retry backoff). Throws if `work` waits with no timer left.
   */
  async runUntil<T>(work: Promise<T>, settle: () => Promise<void> = macrotask, maxIdleMs = 120_000): Promise<T> {
    let settled = false;
    const done = work.then(
      (v) => {
        settled = true;
        return v;
      },
      (e: unknown) => {
        settled = true;
        throw e;
      },
    );
    done.catch(() => undefined);
    let idleSince = Date.now();
    while (!settled) {
      await settle();
      await new Promise((r) => setTimeout(r, 1));
      if (settled) break;
      const next = this.nextTimer();
      if (next) {
        idleSince = Date.now();
        await this.advanceTo(next.at, settle);
      } else if (Date.now() - idleSince > maxIdleMs) {
        throw new Error('VirtualClock.runUntil: the work waits, but no timer is left to fire');
      }
    }
    return done;
  }

  private nextTimer(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const x of this.timers) if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    return best;
  }
}
