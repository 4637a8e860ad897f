/**
 * The relay's KurrentDB (EventStoreDB) side: events from a catch-up subscription to $all
 * (filtered by the server on the stream types' prefixes, system events excluded), and the
 * relay's own state in streams of the same server, so the relay needs nothing but KurrentDB:
 *
 * - `relay-checkpoint-<name>`: the last checkpoint published (the stream keeps the latest few).
 * - `relay-dead-letters-<name>`: the events the broker refused, with the reason.
 * - `relay-lease-<name>`: who leads. KurrentDB has no locks, so the one relay of a name
 *   holds an unexpired lease, claimed and renewed by appending to this stream with the
 *   revision it read as the expected one: two claimers race on the server's expected-revision
 *   check and one loses. As with the MongoDB lease, a leader that stalls past the lease loses
 *   it; a batch it still publishes goes out twice (at least once), and its checkpoint write,
 *   which renews first, fails.
 *
 * These streams carry no stream type in their metadata, so readers of the store's $all
 * (readAll, this subscription) skip their events even when a prefix would match them.
 */
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  ErrorType,
  NO_STREAM,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendStreamState,
  type KurrentDBClient,
  type Position,
} from '@kurrent/kurrentdb-client';
import type { RelayLeadership, RelaySource } from '../relay.js';
import { START, type GlobalCheckpoint, type RecordedEvent, type StoredEvent } from '../types.js';
import { allFilter, comparePositions, decodeCheckpoint, encodeCheckpoint, ownEvent, readPositionOf, toRecorded } from './mapping.js';

/** Events the subscription may hold ahead of the relay before it is paused (the server then waits). */
const MAX_BUFFERED = 2_000;

/** Checkpoints the checkpoint stream keeps (only the last is read; a few help whoever looks). */
const CHECKPOINTS_KEPT = 10;

/** Lease claims the lease stream keeps. */
const LEASES_KEPT = 10;

interface Lease {
  holder: string;
  expiresAt: number;
}

/** Thrown by a leader whose lease another relay has taken meanwhile. */
class LeaseLost extends Error {}

export type EventStoreDbRelayClient = Pick<KurrentDBClient, 'appendToStream' | 'readStream' | 'subscribeToAll' | 'setStreamMetadata'>;

export function eventStoreDbRelaySource(
  client: EventStoreDbRelayClient,
  options: {
    /** The relay's name: its streams' suffix. */
    name: string;
    /** How long a silent leader keeps the lease (default 10 s): how long a dead one blocks a takeover. */
    leaseMs?: number;
    /** The time in ms (default Date.now), for the lease. */
    now?: () => number;
  },
): RelaySource {
  const { name } = options;
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? 10_000;
  const streams = { checkpoint: `relay-checkpoint-${name}`, deadLetters: `relay-dead-letters-${name}`, lease: `relay-lease-${name}` };
  const me = randomUUID();

  /** The stream's last event (data and revision), or undefined when it has none. */
  const last = async <T>(stream: string): Promise<{ data: T; revision: bigint } | undefined> => {
    try {
      for await (const resolved of client.readStream(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) {
        if (resolved.event) return { data: resolved.event.data as T, revision: resolved.event.revision };
      }
    } catch (err) {
      if (errorType(err) !== ErrorType.STREAM_NOT_FOUND) throw err;
    }
    return undefined;
  };

  /** Takes or renews the lease; false when another relay holds it (or won the race for it). */
  const claim = async (): Promise<boolean> => {
    const current = await last<Lease>(streams.lease);
    const at = now();
    if (current && current.data.holder !== me && current.data.expiresAt > at) return false;
    const expected: AppendStreamState = current ? current.revision : NO_STREAM;
    try {
      await client.appendToStream(streams.lease, jsonEvent({ type: 'shop.relay.v1.LeaseClaimed', data: { holder: me, expiresAt: at + leaseMs } }), { streamState: expected });
      return true;
    } catch (err) {
      if (errorType(err) === ErrorType.WRONG_EXPECTED_VERSION) return false;
      throw err;
    }
  };

  return {
    async lead() {
      if (!(await claim())) return undefined;
      await client.setStreamMetadata(streams.lease, { maxCount: LEASES_KEPT });
      await client.setStreamMetadata(streams.checkpoint, { maxCount: CHECKPOINTS_KEPT });
      let renewedAt = now();
      const renew = async () => {
        // A third of the lease: a leader between two renewals is never near its expiry.
        if (now() - renewedAt < leaseMs / 3) return;
        if (!(await claim())) throw new LeaseLost(`relay ${name}: the lease was taken by another relay`);
        renewedAt = now();
      };
      const feed = new SubscriptionFeed(client);
      const leadership: RelayLeadership = {
        async checkpoint() {
          return (await last<{ checkpoint: GlobalCheckpoint }>(streams.checkpoint))?.data.checkpoint ?? START;
        },
        async read(from, readOptions) {
          await renew();
          return { events: await feed.read(from, readOptions.limit, readOptions.streamTypes) };
        },
        async save(checkpoint) {
          renewedAt = 0;
          await renew();
          await client.appendToStream(streams.checkpoint, jsonEvent({ type: 'shop.relay.v1.CheckpointSaved', data: { checkpoint } }));
        },
        async deadLetter(event: RecordedEvent, reason: string) {
          await client.appendToStream(
            streams.deadLetters,
            jsonEvent({
              type: 'shop.relay.v1.EventDeadLettered',
              data: { eventId: event.id, streamType: event.streamType, streamId: event.streamId, version: event.version, type: event.type, position: event.position, reason: reason.slice(0, 1000) },
            }),
          );
        },
        async holds(err) {
          return !(err instanceof LeaseLost);
        },
        async release(lost) {
          await feed.close();
          if (lost) return;
          // Handing over at once rather than at the lease's expiry; only the lease it read, so
          // that a lease another relay took meanwhile stays theirs (the append then conflicts).
          const current = await last<Lease>(streams.lease);
          if (current?.data.holder !== me) return;
          try {
            await client.appendToStream(streams.lease, jsonEvent({ type: 'shop.relay.v1.LeaseReleased', data: { holder: me, expiresAt: 0 } }), { streamState: current.revision });
          } catch (err) {
            if (errorType(err) !== ErrorType.WRONG_EXPECTED_VERSION) throw err;
          }
        },
      };
      return leadership;
    },
  };
}

function errorType(err: unknown): unknown {
  return (err as { type?: unknown } | null)?.type;
}

/**
 * A catch-up subscription to $all turned into the relay's reads: events arrive as the server
 * sends them (from the checkpoint on, then live) and wait in a buffer for the relay to take
 * them a batch at a time. A read from anywhere but where the last one ended (the relay's
 * first read, or a retry after a failure, which reads its checkpoint again) starts a new
 * subscription from there; so does a read after the subscription failed, which throws once.
 * An empty read means nothing has arrived yet, not that the server has nothing more: the
 * relay's drained() can resolve while a subscription is still catching up.
 */
export class SubscriptionFeed {
  private subscription: AllStreamSubscription | undefined;
  private buffer: StoredEvent[] = [];
  private failure: unknown;
  /** Where the next read must start to continue this subscription, and for which types. */
  private next: GlobalCheckpoint | undefined;
  private types: string | undefined;

  constructor(private readonly client: Pick<KurrentDBClient, 'subscribeToAll'>) {}

  async read(from: GlobalCheckpoint, limit: number, streamTypes?: string[]): Promise<StoredEvent[]> {
    const types = JSON.stringify(streamTypes ?? null);
    if (this.failure !== undefined) {
      const failure = this.failure;
      await this.close();
      throw failure;
    }
    if (!this.subscription || from !== this.next || types !== this.types) {
      await this.close();
      this.open(from, streamTypes);
      this.types = types;
    }
    const batch = this.buffer.splice(0, limit);
    if (batch.length > 0) this.next = batch.at(-1)!.checkpoint;
    if (this.buffer.length < MAX_BUFFERED / 2 && this.subscription?.isPaused()) this.subscription.resume();
    return batch;
  }

  private open(from: GlobalCheckpoint, streamTypes: string[] | undefined): void {
    const after: Position | undefined = decodeCheckpoint(from);
    const subscription = this.client.subscribeToAll({ fromPosition: readPositionOf(from), filter: allFilter(streamTypes) });
    subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      const raw = resolved.event;
      // Subscriptions start after the position; anything at or before it is skipped all the same.
      if (!raw || (after && comparePositions(raw.position, after) <= 0)) return;
      const event = toRecorded(raw);
      if (!ownEvent(event, streamTypes)) return;
      this.buffer.push({ ...event, checkpoint: encodeCheckpoint(raw.position) });
      if (this.buffer.length >= MAX_BUFFERED) subscription.pause();
    });
    subscription.on('error', (err: Error) => {
      if (this.subscription === subscription) this.failure = err;
    });
    // A catch-up subscription never ends by itself: an end the relay did not ask for is a failure.
    subscription.on('end', () => {
      if (this.subscription === subscription) this.failure ??= new Error('the subscription to $all ended');
    });
    this.subscription = subscription;
    this.next = from;
  }

  async close(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    this.buffer = [];
    this.failure = undefined;
    this.next = undefined;
    // A subscription that already failed may fail its unsubscribe too: it is gone either way.
    await subscription?.unsubscribe().catch(() => undefined);
  }
}
