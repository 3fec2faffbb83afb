// The detector contract: pure code plus a small serializable state. No AWS imports.
// A state's optional field is cleared by setting it to undefined (JSON leaves it out all the same),
// not by `delete`: deleting a field turns the object into a slow dictionary for the rest of the batch
// (its every read, and the item's JSON.stringify, 2× slower).
import type { MetricEvent } from '../metric-event.js';
import type { InsertOutcome, WindowEntry } from '../stream-window.js';

/** Valid during the update call only: the apply loop refills one input object for every call. */
export interface DetectorInput {
  event: MetricEvent;
  /** 'newest' events advance the stream; 'late' ones only joined the window. */
  outcome: Extract<InsertOutcome, 'newest' | 'late'>;
  /** The stream's entries after the event was inserted, oldest first. */
  window: readonly WindowEntry[];
  /** Whether this detector's alert is currently firing (for hysteresis). */
  firing: boolean;
}

export interface Evaluation {
  /** The condition holds: a firing alert starts (or stays). */
  breach: boolean;
  /** The condition has cleared past the hysteresis band: a firing alert resolves. */
  clear: boolean;
  statistic: number;
  threshold: number;
  /** How many values the statistic summarizes. */
  n: number;
  /** Extra facts that explain the decision (window stats, baseline, change point…). */
  details?: Record<string, unknown>;
}

export interface DetectorResult<S> {
  state: S;
  /** null while warming up or when the input does not concern this detector. */
  evaluation: Evaluation | null;
}

export interface Detector<C, S> {
  readonly kind: string;
  /** Stream entries this detector needs held (0: it keeps its own running state). */
  windowSize(config: C): number;
  update(state: S | undefined, input: DetectorInput, config: C): DetectorResult<S>;
}
