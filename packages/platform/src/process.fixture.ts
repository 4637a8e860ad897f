/**
 * A process built only with the platform's process builders (openPostgres, openKafka,
 * openNats, serveGrpc, lifecycle.own), for process.int.spec.ts: what it migrates, checks,
 * names and stops comes from the builders alone. `worker` stands for what a main starts
 * between them (a relay, a projector).
 */
import { z } from 'zod';
import { grpcServerEnv } from './auth/config.js';
import { baseEnv, kafkaEnv, natsEnv, postgresEnv } from './config.js';
import { serveGrpc } from './grpc/serve.js';
import { openKafka } from './kafka.js';
import { openNats } from './nats.js';
import { outboxMigrations } from './outbox.js';
import { openPostgres } from './postgres/process.js';
import { runProcess } from './process.js';
import { eventTopic } from './topics.js';

const schema = z.object({ ...baseEnv, ...grpcServerEnv, ...postgresEnv, ...kafkaEnv, ...natsEnv, TOPIC: z.string().min(1) });

await runProcess('builders-fixture', schema, async (p) => {
  await openPostgres(p, { migrations: [outboxMigrations] });
  await openNats(p);
  await openKafka(p, { topics: [eventTopic(p.config.TOPIC)] });
  p.lifecycle.own('worker', { stop: () => p.log.info('worker stopped') });
  await serveGrpc(p, []);
});
