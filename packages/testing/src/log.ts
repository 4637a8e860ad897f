import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A logger for tests: silent unless SHOP_TEST_LOGS=1, and the lines are kept for assertions. */
export function testLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        if (process.env.SHOP_TEST_LOGS === '1') process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines: () => lines };
}
