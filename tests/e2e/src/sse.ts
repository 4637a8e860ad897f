import { urls } from '@shop/tools/topology';

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
  let completed = false;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const pending: any[] = [];
  return {
    /**
     * The next `next` event's payload (data, or errors: a subscription that fails sends
     * them as a payload), waiting up to `timeoutMs`; throws at the server's `complete`.
     */
    async next(timeoutMs = 10_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      while (pending.length === 0) {
        if (completed) throw new Error('subscription completed by the server');
        if (Date.now() > deadline) throw new Error('no subscription event in time');
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no subscription event in time')), Math.max(1, deadline - Date.now()))),
        ]);
        if (chunk.done) throw new Error('subscription closed');
        buffer += chunk.value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'next' && data) pending.push(JSON.parse(data));
          else if (event === 'complete') completed = true;
          else if (event && event !== 'next') pending.push({ errors: [{ message: `unexpected SSE event "${event}": ${data ?? ''}` }] });
        }
      }
      return pending.shift();
    },
    close: () => controller.abort(),
  };
}
