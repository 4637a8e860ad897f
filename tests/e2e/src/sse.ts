import { waitFor } from '@shop/testing';
import { infraPorts, urls } from '@shop/tools/topology';

/** No event came in the time a caller gave `next()`: the only failure a retry can cure. */
export class NoEventInTime extends Error {}

/** The server sent an `error` event (or one this client does not know): its payload, as sent. */
export class SubscriptionError extends Error {
  constructor(
    readonly event: string,
    readonly payload: unknown,
  ) {
    super(`subscription ${event} event: ${JSON.stringify(payload)}`);
  }
}

/** The server ended the stream with `complete` (or closed it) and every event before has been read. */
export class SubscriptionCompleted extends Error {}

type Received = { kind: 'next'; payload: any } | { kind: 'error'; error: SubscriptionError };

/**
 * A GraphQL subscription over server-sent events through the Envoy edge, as a browser
 * client (graphql-sse "distinct connections" mode) would open it.
 */
export async function subscribe(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(urls.graphql, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  if (!res.ok || !res.body) throw new Error(`subscription refused: ${res.status} ${await res.text()}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let completed: string | undefined;
  const received: Received[] = [];
  // A read outlives a next() that timed out: the next call takes it over, so no chunk is lost.
  let reading: Promise<ReadableStreamReadResult<string>> | undefined;

  const parse = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue; // a comment: the server's keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && event === 'message') return;
    const text = data.join('\n');
    const payload = (() => {
      try {
        return text === '' ? undefined : JSON.parse(text);
      } catch {
        return text;
      }
    })();
    if (event === 'next') received.push({ kind: 'next', payload });
    else if (event === 'complete') completed = 'the server sent complete';
    else received.push({ kind: 'error', error: new SubscriptionError(event, payload) });
  };

  return {
    /**
     * The next `next` event's payload (data, or errors: a resolver's failure comes as a
     * payload), waiting up to `timeoutMs` (then NoEventInTime). An `error` event rejects
     * with SubscriptionError carrying its payload; the server's `complete`, once every
     * event before it has been read, with SubscriptionCompleted.
     */
    async next(timeoutMs = 10_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      while (received.length === 0) {
        if (completed) throw new SubscriptionCompleted(`subscription ended: ${completed}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new NoEventInTime(`no subscription event in ${timeoutMs} ms`);
        if (!reading) {
          reading = reader.read();
          // Left pending at close() (the fetch aborted), it rejects with no one waiting.
          reading.catch(() => {});
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const chunk = await Promise.race([reading, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), left)))]);
        clearTimeout(timer);
        if (!chunk) continue;
        reading = undefined;
        if (chunk.done) {
          completed ??= 'the server closed the stream without complete';
          continue;
        }
        buffer += chunk.value.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      const first = received.shift()!;
      if (first.kind === 'error') throw first.error;
      return first.payload;
    },
    /** Why the stream ended (`complete`, or closed), once next() has read that far; undefined while it is open. */
    get completed(): string | undefined {
      return received.length === 0 ? completed : undefined;
    },
    close: () => controller.abort(),
  };
}

export type Subscription = Awaited<ReturnType<typeof subscribe>>;

/**
 * The BFF subscribes on NATS only after the stream has opened, and tells the client
 * nothing when it has: until then a change goes by unseen. So this writes (with `write`)
 * until the stream shows an event, and returns that event and the number of writes it
 * took; the event may come from any of those writes (a late one), never from a later one.
 */
export async function firstEventAfter(sub: Subscription, write: (attempt: number) => Promise<unknown>, { perTryMs = 3_000, tries = 10 } = {}) {
  for (let writes = 1; writes <= tries; writes++) {
    await write(writes);
    try {
      return { event: await sub.next(perTryMs), writes };
    } catch (err) {
      if (!(err instanceof NoEventInTime)) throw err;
    }
  }
  throw new Error(`the subscription showed no event after ${tries} writes, ${perTryMs} ms apart`);
}

/**
 * Waits until NATS has a subscription that `subject` reaches (its monitoring endpoint says
 * so): the BFF subscribes on NATS only after a stream has opened, and a change published
 * before that goes by unseen. For subjects only one test subscribes to (a new customer's).
 */
export async function natsSubscribed(subject: string): Promise<void> {
  const url = `http://127.0.0.1:${infraPorts.natsMonitor}/subsz?subs=1&test=${encodeURIComponent(subject)}`;
  await waitFor(`a NATS subscription to ${subject}`, async () => ((await (await fetch(url)).json()) as { total: number }).total > 0, { intervalMs: 20 });
}
