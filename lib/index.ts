// The package's public entry: the serving-fleet client and the wire and trigger types.
export {
  MetricPublisher,
  DEFAULT_LINGER_MS,
  MIXED_LINGER_MS,
  BufferFullError,
  PublisherClosedError,
  UndeliveredEventsError,
  SQS_MAX_BATCH_ENTRIES,
  SQS_MAX_REQUEST_BYTES,
  type BufferFullMode,
  type MetricPublisherOptions,
  type Packing,
  type PublisherCounters,
  type PublishResult,
  type Rejected,
} from './client/metric-publisher.js';
export { VirtualClock, realClock, type PublisherClock } from './client/clock.js';
export {
  METRICS,
  MODALITIES,
  metricEventSchema,
  parseBody,
  toWire,
  validateEvent,
  type FieldError,
  type MetricEvent,
  type MetricKind,
  type Modality,
  type ParsedBody,
  type Rejection,
  type WireMetricEvent,
} from './core/metric-event.js';
import { metricEventSchema } from './core/metric-event.js';
/**
 * The wire event's zod schema, as before issue 24 (built when the package loads; the functions import
 * the core directly and build it on first use: `metricEventSchema()`).
 */
export const MetricEventSchema = metricEventSchema();
export {
  EVENT_SOURCE,
  isModelScope,
  type ModelTriggerDetail,
  type Trigger,
  type TriggerDetail,
  type TriggerType,
} from './core/trigger.js';
