import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLogger, type Logger } from '@shop/platform';

/**
 * A logger for tests: the services' own logger (so a test sees the lines scrubbed as a
 * deployment writes them), silent unless SHOP_TEST_LOGS=1, and the lines are kept for
 * assertions. A kept line's level is pino's number (warn 40, error 50), for comparing.
 */
export function testLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const fields = JSON.parse(line) as Record<string, unknown>;
        lines.push({ ...fields, level: pino.levels.values[String(fields.level)] });
        if (process.env.SHOP_TEST_LOGS === '1') process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  return { log: createLogger('test', 'debug', sink), lines: () => lines };
}
