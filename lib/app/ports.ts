// What the use cases need from the outside world. Declared here, by the use cases; implemented on
// AWS by the adapter classes CameraStateStore, TriggerPublisher and DeadLetterQueue, and in memory
// by MemoryStateStore (lib/local/memory-state-store.ts); PipelineExecutionParameters by
// SageMakerPipelineExecutions. lib/app imports no implementation.
import type { CameraState } from '../core/camera-state.js';
import type { MetricEvent, Modality, Rejection } from '../core/metric-event.js';
import type { Policy } from '../core/policy.js';
import type { Trigger } from '../core/trigger.js';

export interface VersionedState {
  state: CameraState;
  /** 0 when the camera has no item yet. */
  version: number;
}

/** A conditional write either lands (the new version) or conflicts (with the current state, so a retry needs no read). */
export type SaveResult = { ok: true; version: number } | { ok: false; current: VersionedState };

/** Per-camera state with optimistic concurrency on a version number. */
export interface StateStore {
  /** The camera's state and version; an empty state at version 0 when it has none. */
  load(cameraId: string): Promise<VersionedState>;
  /** Writes the whole state if the stored version is still `expected` (0: no state yet). */
  save(cameraId: string, state: CameraState, expected: number, nowMs: number): Promise<SaveResult>;
  /** Cameras whose outbox has held unpublished triggers since before `updatedBeforeMs`. */
  pendingOutboxes(updatedBeforeMs: number, limit: number): Promise<string[]>;
}

/** Where triggers go (the event bus). */
export interface TriggerSink {
  /** Publishes every trigger at least once, or throws. */
  publish(triggers: readonly Trigger[]): Promise<void>;
}

export interface DeadLetter {
  sourceMessageId: string;
  rejection: Rejection;
}

/** Where rejected input goes, with its reason (the dead-letter queue). */
export interface DeadLetterSink {
  /** Sends every letter; returns the source message ids whose letters could not be sent. */
  send(letters: readonly DeadLetter[], nowMs: number): Promise<Set<string>>;
}

/** What became of one batch's history write. */
export interface HistoryWrite {
  recorded: number;
  /** Events given up on after retries: missing from the history (counted by a metric with an alarm). */
  dropped: number;
}

/**
 * Where accepted events are kept for replay (the metric history: Firehose to S3). Best effort and after
 * the state write: it never throws, and a failure never fails the batch (docs/delivery-guarantees.md).
 */
export interface HistoryRecorder {
  record(events: readonly MetricEvent[]): Promise<HistoryWrite>;
}

/** The parameters a SageMaker pipeline execution was started with (ListPipelineParametersForExecution). */
export interface PipelineExecutionParameters {
  parameters(executionArn: string): Promise<Record<string, string>>;
}

/** Milliseconds since the epoch. */
export type Clock = () => number;

/** The policy for a camera + modality (scoped policies resolve most-specific first). */
export type PolicyLookup = (cameraId: string, modality: Modality) => Policy;

/** Asked once per batch: a fixed policy, or a lookup over scoped policies. */
export type PolicyProvider = () => Policy | PolicyLookup | Promise<Policy | PolicyLookup>;
