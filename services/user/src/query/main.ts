import { listenerFor, VersionWaiter } from '@shop/eventsourcing/postgres';
import { serveGrpc } from '@shop/platform/grpc/server';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { USER_READ_SCHEMA } from '../projector/user-view.js';
import { configSchema } from './config.js';
import { userQueryService } from './user-query-service.js';
import { UserReader } from './user-reader.js';

await runProcess('user-query', configSchema, async (ctx) => {
  const { config, log, lifecycle, readiness } = ctx;
  const pool = await openPostgres(ctx);
  const waiter = new VersionWaiter({ db: pool, connect: listenerFor(pool, 'user-query'), schema: USER_READ_SCHEMA, recheckMs: config.MIN_VERSION_RECHECK_MS, log });
  lifecycle.onShutdown('read-model-waits', () => waiter.close());
  // The projector owns the read model's DDL: not ready until it has created the tables.
  readiness.add({ name: 'read-model', check: async () => void (await pool.query(`SELECT 1 FROM ${USER_READ_SCHEMA}.users LIMIT 1`)) });

  await serveGrpc(ctx, [userQueryService(new UserReader(pool, waiter), { maxWaitMs: config.MIN_VERSION_WAIT_MS })]);
});
