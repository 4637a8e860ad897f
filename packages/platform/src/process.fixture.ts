/**
 * A process built only with the platform's process builders (openPostgres, openKafka,
 * openNats, serveGrpc, lifecycle.own), for process.int.spec.ts: what it migrates, checks,
 * names and stops comes from the builders alone. `worker` stands for what a main starts
 * between them (a relay, a projector).
 */
import { z } from 'zod';
import { callerAuthEnv } from './auth/config.js';
import { baseEnv, grpcServerEnv, kafkaEnv, natsEnv, postgresEnv } from './config.js';
import { serveGrpc } from './grpc/server.js';
import { openKafka } from './kafka.js';
import { openNats } from './nats.js';
import { outboxMigrations } from './outbox.js';
import { openPostgres } from './postgres/process.js';
import { runProcess } from './process.js';
import { eventTopic } from './topics.js';

const schema = z.object({ ...baseEnv, ...grpcServerEnv, ...callerAuthEnv, ...postgresEnv, ...kafkaEnv, ...natsEnv, TOPIC: z.string().min(1), NATS_OPTIONAL: z.enum(['true', 'false']).default('false') });

await runProcess('builders-fixture', schema, async (ctx) => {
  await openPostgres(ctx, { migrations: [outboxMigrations] });
  await openNats(ctx, { url: ctx.config.NATS_URL, optional: ctx.config.NATS_OPTIONAL === 'true' });
  await openKafka(ctx, { topics: [eventTopic(ctx.config.TOPIC)] });
  ctx.lifecycle.own('worker', { stop: () => ctx.log.info('worker stopped') });
  await serveGrpc(ctx, []);
});
