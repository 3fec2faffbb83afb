// EventBridge adapter: publishes triggers, retrying only the entries PutEvents reports as failed.
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, publishedDetail, type Trigger } from '../core/trigger.js';
import type { TriggerSink } from '../app/ports.js';
import { backoffMs, sleep } from '../core/retry.js';

const MAX_ENTRIES = 10;

export class TriggerPublishError extends Error {
  constructor(readonly failed: { trigger: Trigger; code: string }[]) {
    super(
      `failed to publish ${failed.length} trigger(s): ${failed.map((f) => `${f.trigger.detail.triggerId} (${f.code})`).join(', ')}`,
    );
    this.name = 'TriggerPublishError';
  }
}

export interface PublishCounters {
  published: number;
  retriedEntries: number;
}

export class TriggerPublisher implements TriggerSink {
  readonly counters: PublishCounters = { published: 0, retriedEntries: 0 };

  constructor(
    private readonly eventBridge: EventBridgeClient,
    private readonly eventBusName: string,
    private readonly maxAttempts = 4,
    /** The stack's datasetLocatorTemplate: each action trigger's datasetLocator is filled from it. */
    private readonly datasetLocatorTemplate?: string,
  ) {}

  private entry(t: Trigger): PutEventsRequestEntry {
    return {
      EventBusName: this.eventBusName,
      Source: EVENT_SOURCE,
      DetailType: t.detailType,
      Detail: JSON.stringify(publishedDetail(t, this.datasetLocatorTemplate, Date.now())),
      Resources: [],
    };
  }

  /** Publishes all triggers at least once, or throws TriggerPublishError naming those that failed. */
  async publish(triggers: readonly Trigger[]): Promise<void> {
    for (let i = 0; i < triggers.length; i += MAX_ENTRIES) await this.publishChunk(triggers.slice(i, i + MAX_ENTRIES));
  }

  private async publishChunk(chunk: Trigger[]): Promise<void> {
    let pending = chunk;
    let failed: { trigger: Trigger; code: string }[] = [];
    for (let attempt = 0; attempt < this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) {
        this.counters.retriedEntries += pending.length;
        await sleep(backoffMs(attempt));
      }
      try {
        const r = await this.eventBridge.send(new PutEventsCommand({ Entries: pending.map((t) => this.entry(t)) }));
        failed = [];
        (r.Entries ?? []).forEach((e, i) => {
          if (e.ErrorCode) failed.push({ trigger: pending[i]!, code: e.ErrorCode });
        });
        this.counters.published += pending.length - failed.length;
        pending = failed.map((f) => f.trigger);
      } catch (err) {
        failed = pending.map((trigger) => ({ trigger, code: (err as Error).name }));
      }
    }
    if (pending.length > 0) throw new TriggerPublishError(failed);
  }
}
