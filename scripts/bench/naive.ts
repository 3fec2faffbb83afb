// The naive baseline: a literal port of the original module onto the same services. One event per
// SQS message; per event one GetItem of that stream's history and one PutItem back; the window
// mean checked against the threshold and, as the original did, an alert on every event above it.
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { validateEvent } from '../../lib/core/metric-event.js';
import { EVENT_SOURCE } from '../../lib/core/trigger.js';
import { STATE_TABLE } from '../../lib/resources.js';

export interface NaiveConfig {
  tableName: string;
  eventBusName: string;
  windowSize: number;
  threshold: number;
  nowMs: number;
}

export class NaivePort {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly eventBridge: EventBridgeClient,
    private readonly cfg: NaiveConfig,
  ) {}

  /** One Lambda invocation over SQS records holding one event each, processed in order. */
  async handle(records: readonly { body: string }[]): Promise<number> {
    let done = 0;
    for (const r of records) {
      const v = validateEvent(JSON.parse(r.body), this.cfg.nowMs);
      if (!('event' in v)) continue;
      const e = v.event;
      const key = { [STATE_TABLE.partitionKey.name]: { S: `naive#${e.camera_id}#${e.modality}#${e.metric}` } };
      const got = await this.ddb.send(
        new GetItemCommand({ TableName: this.cfg.tableName, Key: key, ConsistentRead: true }),
      );
      const history = (got.Item?.h?.L ?? []).map((x) => Number(x.N));
      history.push(e.value);
      while (history.length > this.cfg.windowSize) history.shift();
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.cfg.tableName,
          Item: { ...key, h: { L: history.map((x) => ({ N: String(x) })) } },
        }),
      );
      const mean = history.reduce((s, x) => s + x, 0) / history.length;
      if (e.metric === 'DriftScore' && mean > this.cfg.threshold) {
        await this.eventBridge.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: this.cfg.eventBusName,
                Source: EVENT_SOURCE,
                DetailType: 'RetrainingRequested',
                Detail: JSON.stringify({
                  cameraId: e.camera_id,
                  modality: e.modality,
                  statistic: mean,
                  threshold: this.cfg.threshold,
                }),
              },
            ],
          }),
        );
      }
      done++;
    }
    return done;
  }
}
