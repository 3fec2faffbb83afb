// List prices used by the cost model: ONE table, with the date and region they were taken for.
// Change them here only; every dollar figure in the bench is counted requests × these prices.

export const PRICES = {
  takenOn: '2026-11-27',
  region: 'us-east-1',
  note: 'public list prices, pay-as-you-go, no free tier; DynamoDB on-demand after the Nov 2024 reduction',
  sqs: { usdPerMillionRequests: 0.4, billedChunkBytes: 64 * 1024 }, // standard queue, per 64 KB chunk
  lambda: { usdPerMillionRequests: 0.2, usdPerGbSecondArm: 0.0000133334 }, // arm64, first tier
  dynamodb: { usdPerMillionWriteUnits: 0.625, usdPerMillionReadUnits: 0.125 }, // on-demand WRU / RRU
  eventBridge: { usdPerMillionEvents: 1.0, billedChunkBytes: 64 * 1024 }, // custom events, per 64 KB chunk
  // Custom metrics by tier (metrics per month), standard-resolution alarms per metric, PutMetricData.
  cloudWatch: {
    metricTiers: [
      { upTo: 10_000, usdPerMetricMonth: 0.3 },
      { upTo: 250_000, usdPerMetricMonth: 0.1 },
      { upTo: 1_000_000, usdPerMetricMonth: 0.05 },
      { upTo: Number.POSITIVE_INFINITY, usdPerMetricMonth: 0.02 },
    ],
    usdPerAlarmMetricMonth: 0.1,
    usdPer1kPutRequests: 0.01,
    maxValuesPerRequest: 1000,
  },
  // Metric history (scripts/bench/history-cost.ts): Firehose Direct PUT to S3, first ingest tier.
  history: {
    firehoseUsdPerGbIngested: 0.029,
    firehoseBilledRecordBytes: 5 * 1024, // each record rounded up to 5 KB
    firehoseUsdPerGbConverted: 0.018, // JSON → Parquet
    firehoseUsdPerGbPartitioned: 0.02, // dynamic partitioning, per GB processed
    firehoseUsdPer1kObjects: 0.005, // dynamic partitioning, per 1,000 objects delivered
    firehoseUsdPerJqHour: 0.07,
    // Not published: an assumption (jq over a ~130-byte object), shown as its own line.
    firehoseJqSecondsPerRecord: 2e-6,
    s3StandardUsdPerGbMonth: 0.023,
    s3GlacierIrUsdPerGbMonth: 0.004,
    s3UsdPer1kPut: 0.005,
    s3UsdPer1kGlacierIrTransition: 0.02,
  },
} as const;

/** Billable requests for one API call carrying `payloadBytes` (SQS and EventBridge: per 64 KB chunk). */
export const billedChunks = (payloadBytes: number, chunk: number) => Math.max(1, Math.ceil(payloadBytes / chunk));

export interface UsagePerMillion {
  sqsRequests: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  writeUnits: number;
  readUnits: number;
  eventBridgeEvents: number;
}

export interface CostBreakdown {
  sqs: number;
  lambda: number;
  dynamodb: number;
  eventBridge: number;
  total: number;
}

export function dollars(u: UsagePerMillion): CostBreakdown {
  const sqs = (u.sqsRequests / 1e6) * PRICES.sqs.usdPerMillionRequests;
  const lambda =
    (u.lambdaInvocations / 1e6) * PRICES.lambda.usdPerMillionRequests +
    u.lambdaGbSeconds * PRICES.lambda.usdPerGbSecondArm;
  const dynamodb =
    (u.writeUnits / 1e6) * PRICES.dynamodb.usdPerMillionWriteUnits +
    (u.readUnits / 1e6) * PRICES.dynamodb.usdPerMillionReadUnits;
  const eventBridge = (u.eventBridgeEvents / 1e6) * PRICES.eventBridge.usdPerMillionEvents;
  return { sqs, lambda, dynamodb, eventBridge, total: sqs + lambda + dynamodb + eventBridge };
}
