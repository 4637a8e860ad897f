import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { assertAcknowledged, createEventProducer } from '@shop/platform/kafka';
import { failProcess } from '@shop/platform/shutdown';
import { isConnectionError } from '@shop/platform/postgres/connection-errors';
import type { Logger } from '@shop/platform/log';
import { delayBuckets, prom, sharedMetric } from '@shop/platform/metrics';
import { fromKafkaValue } from '../envelope.js';
import type { RecordedEvent } from '../types.js';

/**
 * The one Kafka consumer loop of the system (DESIGN.md, "Runtime pieces every consumer
 * shares"). Projectors, reactors and workflows are built on it; nothing else consumes
 * Kafka by hand.
 *
 * What it owns:
 * - batches: one batch per partition at a time, in offset order; partitions in parallel;
 * - retries: a failure that looks transient (database, network) retries the batch with
 *   backoff, heartbeating, until it passes or the consumer stops;
 * - isolation and the dead-letter queue: any other failure retries each event of the
 *   batch on its own, a few times, then sends the culprit to the DLQ topic with the
 *   reason and lets the handler record it (`onDeadLetter`), so that it is skipped for good;
 *   a handler that skips a poison event itself (a projector) sends it there with `ctx.deadLetter`;
 * - offsets: committed only after `handle` resolved, i.e. after the handler's database
 *   commit (every second, for what has been handled by then). A crash anywhere replays
 *   from the last committed offset: handlers are idempotent (an inbox of per-stream
 *   checkpoints, see inbox.ts);
 * - metrics: events by outcome, batch time, retries.
 */
export interface BatchContext {
  topic: string;
  partition: number;
  /** Keeps the group membership alive during long work (throttled by kafkajs). */
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition moved: stop early, the batch comes again. */
  isRunning(): boolean;
  /**
   * Sends an event the handler skipped as poison (and recorded itself) to the DLQ topic,
   * with the reason. One not in the batch (read from a store) goes there without its
   * payload: its ids in the key and headers, and an empty value.
   */
  deadLetter(event: RecordedEvent, reason: string): Promise<void>;
  log: Logger;
}

/** What a handler did with a batch, for the metrics. */
export interface BatchOutcome {
  applied: number;
  /** Redelivered events it recognised and skipped. */
  duplicates: number;
}

export interface ProcessorOptions {
  /** Stable name: metric label, log field, DLQ header, and the consumer group `processor.<name>` by default. */
  name: string;
  groupId?: string;
  kafka: Kafka;
  topics: string[];
  /** Where poison events go, with the reason in a header. */
  dlqTopic: string;
  log: Logger;
  registry: Registry;
  /** Events this processor wants; the others only move the offset on. Default: every event. */
  accepts?: (event: RecordedEvent) => boolean;
  /**
   * Handles events of one partition, in order. Resolves once its effects are durable;
   * must be idempotent, since a batch is redelivered after a crash.
   */
  handle(events: RecordedEvent[], ctx: BatchContext): Promise<BatchOutcome>;
  /** Records a dead-lettered event so that a replay skips it (e.g. advances its checkpoint). */
  onDeadLetter?(event: RecordedEvent, reason: string): Promise<void>;
  /** Attempts of a failing event on its own before it is dead-lettered (default 3). */
  maxAttempts?: number;
  /** Failures worth retrying as they are (default: `isTransient`). */
  isTransient?: (err: unknown) => boolean;
  /**
   * How long the group waits for a silent member before reassigning its partitions
   * (default 6 s, Kafka's minimum). It is also how long a crashed member's partitions wait,
   * and how long a group waits after a broker restart for members that come back under a
   * new id: the chaos suite measured it as most of the recovery time after a kill -9 of a
   * projector and after a Kafka restart (10 s → 6 s cut both by about 4 s). Long
   * work heartbeats (every 2 s, also while a batch is handled), so a live member is not taken for dead.
   */
  sessionTimeoutMs?: number;
  /** Upper bound of one fetch per partition, i.e. of a batch (default kafkajs': 1 MiB). */
  maxBytesPerPartition?: number;
  /** Partitions handled at the same time (default 3). */
  partitionsConsumedConcurrently?: number;
  /** Start a new consumer group at the beginning of the topics (default) or at their end. */
  fromBeginning?: boolean;
}

export interface Processor {
  stop(): Promise<void>;
}

interface Decoded {
  message: KafkaMessage;
  event?: RecordedEvent;
  error?: unknown;
}

/**
 * Longest pause between retries of a transient failure: once the database or broker is
 * back, work resumes within this (the chaos suite's recovery times, README).
 */
const MAX_BACKOFF_MS = 2_000;
/** How often a member tells the group it is alive, also while a batch is being handled. */
const HEARTBEAT_MS = 2_000;
/** How often the offsets of handled messages are committed to Kafka. */
const OFFSET_COMMIT_INTERVAL_MS = 1_000;

export async function startProcessor(opts: ProcessorOptions): Promise<Processor> {
  const log = opts.log.child({ component: 'processor', processor: opts.name });
  const maxAttempts = opts.maxAttempts ?? 3;
  const transient = opts.isTransient ?? isTransient;
  const accepts = opts.accepts ?? (() => true);
  const metrics = processorMetrics(opts.registry);
  const labels = { processor: opts.name };
  const count = (outcome: string, n: number) => n > 0 && metrics.events.inc({ ...labels, outcome }, n);

  const sessionTimeout = opts.sessionTimeoutMs ?? 6_000;
  const consumer: Consumer = opts.kafka.consumer({
    groupId: opts.groupId ?? `processor.${opts.name}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    sessionTimeout,
    heartbeatInterval: Math.min(HEARTBEAT_MS, Math.floor(sessionTimeout / 3)),
    ...(opts.maxBytesPerPartition ? { maxBytesPerPartition: opts.maxBytesPerPartition } : {}),
  });
  const dlq: Producer = createEventProducer(opts.kafka);
  let stopping = false;

  /**
   * Runs `fn`, retrying while its failure looks transient (backoff, heartbeating between
   * attempts so that a long outage does not cost the partition); rethrows anything else.
   */
  const retryTransient = async <T>(fn: () => Promise<T>, ctx: BatchContext, onRetry?: (err: unknown, retryInMs: number) => void): Promise<T> => {
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      try {
        return await fn();
      } catch (err) {
        if (!transient(err) || stopping || !ctx.isRunning()) throw err;
        onRetry?.(err, backoff);
        await ctx.heartbeat().catch(() => undefined);
        await sleep(backoff);
      }
    }
  };

  /** Runs `handle` (timed), retrying while the failure looks transient. */
  const handleWithRetry = (events: RecordedEvent[], ctx: BatchContext): Promise<BatchOutcome> =>
    retryTransient(
      async () => {
        const end = metrics.batchSeconds.startTimer(labels);
        // A slow batch (a pool wait, a statement near its timeout) must not cost the member
        // its place in the group: heartbeat while the handler works.
        const beating = setInterval(() => void ctx.heartbeat().catch(() => undefined), HEARTBEAT_MS);
        try {
          const outcome = await opts.handle(events, ctx);
          end();
          return outcome;
        } finally {
          clearInterval(beating);
        }
      },
      ctx,
      (err, retryInMs) => {
        metrics.retries.inc(labels);
        log.warn({ err, retryInMs }, 'batch failed on a transient error; retrying');
      },
    );

  const sendToDlq = async (message: Message, source: string, reason: string) => {
    const acks = await dlq.send({
      topic: opts.dlqTopic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'dlq-reason': reason.slice(0, 1000),
            'dlq-processor': opts.name,
            'dlq-source': source,
          },
        },
      ],
    });
    assertAcknowledged([opts.dlqTopic], acks);
    count('dead_lettered', 1);
  };

  const deadLetter = async (d: Decoded, ctx: BatchContext, err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    log.error({ err, offset: d.message.offset, eventId: d.event?.id, type: d.event?.type }, 'poison event: sent to the DLQ');
    await sendToDlq(d.message, `${ctx.topic}/${ctx.partition}/${d.message.offset}`, reason);
    // The DLQ bookkeeping itself must not be lost to a passing outage.
    if (d.event && opts.onDeadLetter) await retryTransient(() => opts.onDeadLetter!(d.event!, reason), ctx);
  };

  await dlq.connect();
  await consumer.connect();
  const fromBeginning = opts.fromBeginning ?? true;
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning });
  // The partitions it was given, too: a member that joined with none of a topic's partitions
  // consumes nothing until the next rebalance, and says so here.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => log.info({ topics: opts.topics, memberId: payload.memberId, assignment: payload.memberAssignment }, 'processor joined its group'));
  // kafkajs restarts the consumer after a retriable crash; after any other, this process
  // would go on without consuming, looking healthy. It stops instead, and its supervisor
  // (Kubernetes, the local watchdog) starts it afresh.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (stopping) return;
    if (payload.restart) {
      // Said, so that a consumer that keeps crashing and restarting is not silent.
      log.warn({ err: payload.error }, 'processor crashed; kafkajs restarts it');
      return;
    }
    if (!failProcess(`processor ${opts.name} crashed and kafkajs will not restart it`, payload.error)) {
      log.error({ err: payload.error }, 'processor crashed and kafkajs will not restart it');
    }
  });
  // kafkajs's run() resolves once the group is joined. After a crash that can take the dead
  // member's session timeout, and nothing else the process serves (its gRPC server, its
  // readiness) should wait for that: a group read from the beginning loses nothing by
  // joining in the background (a failed join goes the crash-and-restart way, as later ones do).
  // A group new at the end of its topics must join before start-up ends, or the messages
  // sent meanwhile would fall before its starting point.
  const running = consumer.run({
    // Offsets are resolved only after the handler's commit (below), and kafkajs commits the
    // resolved ones every second (and at a rebalance or a stop): one commit request per
    // second per consumer instead of one per batch. A crash replays at most that second,
    // which the handlers' idempotency absorbs.
    autoCommit: true,
    autoCommitInterval: OFFSET_COMMIT_INTERVAL_MS,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      log.debug({ topic: batch.topic, partition: batch.partition, messages: batch.messages.length, firstOffset: batch.firstOffset() }, 'batch received');
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      const observeDelay = (stage: 'received' | 'applied', messages: KafkaMessage[]) => {
        const now = Date.now();
        const delays = metrics.delaySeconds.labels({ ...labels, stage });
        for (const m of messages) {
          const sentAt = Number(m.timestamp);
          if (Number.isFinite(sentAt)) delays.observe(Math.max(0, now - sentAt) / 1000);
        }
      };
      observeDelay('received', batch.messages);
      const decoded: Decoded[] = batch.messages.map((message) => {
        try {
          return { message, event: fromKafkaValue(message.value) };
        } catch (error) {
          return { message, error };
        }
      });
      const ctx: BatchContext = {
        topic: batch.topic,
        partition: batch.partition,
        heartbeat,
        isRunning: () => isRunning() && !isStale() && !stopping,
        async deadLetter(event, reason) {
          const delivered = decoded.find((d) => d.event?.id === event.id);
          log.error({ reason, offset: delivered?.message.offset, eventId: event.id, type: event.type, version: event.version }, 'poison event: skipped and sent to the DLQ');
          if (delivered) await sendToDlq(delivered.message, `${batch.topic}/${batch.partition}/${delivered.message.offset}`, reason);
          else await sendToDlq(reference(event), `store (healing a gap on ${batch.topic}/${batch.partition})`, reason);
        },
        log,
      };
      const wanted = decoded.filter((d) => d.error || accepts(d.event!));
      count('skipped', decoded.length - wanted.length);
      const good = wanted.flatMap((d) => (d.event ? [d.event] : []));
      try {
        if (good.length > 0) {
          const outcome = await handleWithRetry(good, ctx);
          count('applied', outcome.applied);
          count('duplicate', outcome.duplicates);
        }
        for (const d of wanted) if (d.error) await deadLetter(d, ctx, d.error);
      } catch (batchError) {
        if (!ctx.isRunning()) throw batchError;
        // Isolate the culprit: each event on its own, a few times, then the DLQ.
        log.warn({ err: batchError }, 'batch failed; handling its events one by one');
        for (const d of wanted) {
          if (d.error) {
            await deadLetter(d, ctx, d.error);
            continue;
          }
          let lastError: unknown;
          for (let attempt = 1; attempt <= maxAttempts; attempt++) {
            try {
              const outcome = await handleWithRetry([d.event!], ctx);
              count('applied', outcome.applied);
              count('duplicate', outcome.duplicates);
              lastError = undefined;
              break;
            } catch (err) {
              if (!ctx.isRunning()) throw err;
              lastError = err;
              await sleep(50 * attempt);
            }
          }
          if (lastError) await deadLetter(d, ctx, lastError);
          await heartbeat();
        }
      }
      observeDelay('applied', wanted.flatMap((d) => (d.event ? [d.message] : [])));
      // Only now, with the handler's effects durable, may Kafka forget these messages.
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      await heartbeat();
    },
  });
  if (fromBeginning) running.catch((err: unknown) => log.error({ err }, 'processor failed to start'));
  else await running;
  log.info({ topics: opts.topics }, 'processor running');

  return {
    async stop() {
      stopping = true;
      await consumer.disconnect();
      await dlq.disconnect();
    },
  };
}

/**
 * A DLQ message for an event read from a store: ids only. The store keeps the event, and
 * it may have been opened on the way (a user's personal data, sealed in the store and on
 * the topic): a copy on the DLQ would outlive the erasure of its key.
 */
const reference = (e: RecordedEvent): Message => ({
  key: e.streamId,
  value: null,
  headers: { type: e.type, id: e.id, version: String(e.version), 'stream-type': e.streamType, position: String(e.position) },
});

/**
 * Failures worth retrying as they are: the database or the network (isConnectionError:
 * a restart, DNS, routing, a reset), contention and resources, not the event.
 */
export function isTransient(err: unknown): boolean {
  if (isConnectionError(err)) return true;
  const code = String((err as { code?: unknown } | undefined)?.code ?? '');
  // 53 resources, 57 operator intervention (a cancelled or timed-out statement included),
  // 58 system errors; serialization failures, deadlocks, lock timeouts; XX000 and 42P01
  // are what a table being recreated (a rebuild) looks like for a moment.
  return /^(53|57|58)/.test(code) || ['40001', '40P01', '55P03', 'XX000', '42P01'].includes(code);
}

type ProcessorMetrics = {
  events: prom.Counter<'processor' | 'outcome'>;
  batchSeconds: prom.Histogram<'processor'>;
  delaySeconds: prom.Histogram<'processor' | 'stage'>;
  retries: prom.Counter<'processor'>;
};

/** One set per registry: a process may run several processors (labelled by name). */
function processorMetrics(registry: Registry): ProcessorMetrics {
  return {
    events: sharedMetric(registry, 'processor_events_total', () => new prom.Counter({
      name: 'processor_events_total',
      help: 'Events consumed, by processor and outcome (applied, duplicate, skipped, dead_lettered).',
      labelNames: ['processor', 'outcome'] as const,
      registers: [registry],
    })),
    batchSeconds: sharedMetric(registry, 'processor_batch_seconds', () => new prom.Histogram({
      name: 'processor_batch_seconds',
      help: 'Time to handle one batch (its database commit included).',
      labelNames: ['processor'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    })),
    delaySeconds: sharedMetric(registry, 'processor_event_delay_seconds', () => new prom.Histogram({
      name: 'processor_event_delay_seconds',
      help: "Time since the relay sent each event (its Kafka message's timestamp; across hosts, clock skew included): stage=received when its batch arrived (every message, again when redelivered), stage=applied when the handler's work on it was committed (events this processor handles).",
      labelNames: ['processor', 'stage'] as const,
      buckets: delayBuckets,
      registers: [registry],
    })),
    retries: sharedMetric(registry, 'processor_retries_total', () => new prom.Counter({
      name: 'processor_retries_total',
      help: 'Batches retried after a transient failure.',
      labelNames: ['processor'] as const,
      registers: [registry],
    })),
  };
}
