import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '@shop/platform/postgres/pool';

/**
 * Read-your-writes across CQRS: resolves once `readVersion` reports at least `minVersion`
 * (the version a command returned), or when `maxWaitMs` ran out — the caller then answers
 * what there is, marked stale. The first polls are the tightest, since that is when the
 * projector usually lands the write.
 */
export async function waitForVersion(readVersion: () => Promise<number>, minVersion: number, maxWaitMs: number): Promise<void> {
  const until = Date.now() + maxWaitMs;
  for (let attempt = 0; ; attempt++) {
    if ((await readVersion()) >= minVersion) return;
    const left = until - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(attempt < 10 ? 5 : 10, left));
  }
}

/** `readVersion` for a read-model table keyed by stream id with a `version` column. */
export const rowVersion = (db: Queryable, table: string, id: string) => async () => {
  const { rows } = await db.query<{ version: number }>(`SELECT version FROM ${table} WHERE id = $1`, [id]);
  return Number(rows[0]?.version ?? 0);
};
