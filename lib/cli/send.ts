// `vmon send <file>`: checks every line with the Lambda's own parser first (nothing is sent when a
// line is bad), then publishes the events through MetricPublisher with a progress bar. Packs per
// camera as MetricPublisher does (one camera per message; --packing mixed for the old packing).
import type { SQSClient } from '@aws-sdk/client-sqs';
import { parseBody, validateEvent } from '../core/metric-event.js';
import {
  MetricPublisher,
  UndeliveredEventsError,
  type MetricPublisherOptions,
  type PublisherCounters,
} from '../client/metric-publisher.js';
import { CliError, EXIT, usageError } from './errors.js';
import { checkReadable, readEventFile, type EventFileFormat } from './event-file.js';
import { plural } from './format.js';
import { progressBar, type CliIO } from './io.js';

export interface SendOptions {
  path: string;
  format: EventFileFormat;
  sqs: SQSClient;
  queueUrl: string;
  io: CliIO;
  progress?: boolean;
  publisher?: Partial<Omit<MetricPublisherOptions, 'sqs' | 'queueUrl'>>;
  /** Bad lines listed in the error before "… and N more". */
  maxBadLinesShown?: number;
}

export interface SendSummary extends PublisherCounters {
  file: string;
  queueUrl: string;
  events: number;
  lines: number;
  elapsedMs: number;
}

/** Pass 1: every line as the Lambda would read it. Returns the event count or throws naming bad lines. */
async function checkFile(
  path: string,
  format: EventFileFormat,
  maxShown: number,
): Promise<{ events: number; lines: number }> {
  const bad: string[] = [];
  let badCount = 0,
    events = 0,
    lines = 0;
  const nowMs = Date.now();
  for await (const batch of readEventFile(path, format))
    for (const l of batch) {
      lines++;
      let reasons: string[] = [];
      if ('error' in l) reasons = [l.error];
      else if ('text' in l) {
        const r = parseBody(l.text, nowMs);
        events += r.events.length;
        reasons = r.rejections.map((x) => x.reason);
      } else {
        const r = validateEvent(l.object, nowMs);
        if ('event' in r) events++;
        else
          reasons = [
            r.errors
              .map((e) => (e.path && !e.message.startsWith(e.path) ? `${e.path}: ${e.message}` : e.message))
              .join('; '),
          ];
      }
      if (reasons.length) {
        badCount++;
        if (bad.length < maxShown) bad.push(`  line ${l.line}: ${reasons.join(' | ')}`);
      }
    }
  if (badCount > 0) {
    const more = badCount > bad.length ? `\n  … and ${badCount - bad.length} more` : '';
    throw usageError(`${path}: ${plural(badCount, 'bad line')}; nothing was sent:\n${bad.join('\n')}${more}`);
  }
  if (events === 0) throw usageError(`${path} holds no events`);
  return { events, lines };
}

export async function sendFile(opts: SendOptions): Promise<SendSummary> {
  const started = performance.now();
  await checkReadable(opts.path);
  const { events, lines } = await checkFile(opts.path, opts.format, opts.maxBadLinesShown ?? 20);

  const publisher = new MetricPublisher({ ...opts.publisher, sqs: opts.sqs, queueUrl: opts.queueUrl });
  const bar = progressBar(opts.io, opts.progress !== false, 'sending', events, 'events');
  const ticker = setInterval(() => bar.update(publisher.counters.sent), 100);
  try {
    for await (const batch of readEventFile(opts.path, opts.format))
      for (const l of batch) {
        if ('error' in l) continue; // cannot happen after the check; kept for the type
        const value: unknown = 'text' in l ? JSON.parse(l.text) : l.object;
        for (const e of Array.isArray(value) ? value : [value]) await publisher.publish(e);
      }
    await publisher.close();
  } catch (err) {
    if (err instanceof UndeliveredEventsError)
      throw new CliError(`${err.message}; ${publisher.counters.sent} of ${events} events were sent`, EXIT.failure);
    throw err;
  } finally {
    clearInterval(ticker);
    bar.update(publisher.counters.sent);
    bar.stop();
  }
  return {
    file: opts.path,
    queueUrl: opts.queueUrl,
    events,
    lines,
    ...publisher.counters,
    elapsedMs: Math.round(performance.now() - started),
  };
}

export function formatSendSummary(s: SendSummary): string {
  return [
    `sent ${plural(s.sent, 'event')} from ${s.file} to ${s.queueUrl}`,
    `  ${plural(s.messages, 'message')}, ${plural(s.requests, 'SendMessageBatch request')}, ${s.retried} entries retried, ${s.rejected} rejected, ${s.dropped} dropped`,
  ].join('\n');
}
