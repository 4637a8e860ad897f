import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import { IllegalStateError } from '@shop/platform/errors';
import { createMetrics } from '@shop/platform/metrics';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import { createTestDatabase, createTestTopics, testKafka, testLogger, waitFor, type TestDatabase, testProducer } from '@shop/testing';
import { toKafkaMessage } from '../envelope.js';
import { eventStoreMigrations, PostgresEventStore } from '../postgres/store.js';
import type { DomainEvent, EventCodec, RecordedEvent } from '../types.js';
import { WorkflowRuntime, workflowMigrations, type RemoteEffect } from './runtime.js';
import type { Workflow } from './workflow.js';

/**
 * The workflow runtime against real Postgres and Kafka, with a small workflow of its own:
 * `Started` → note it (local) and ask someone (remote); the answer `Approved` → `Done`
 * (local); no answer before the deadline → `TimedOut` → a note. `Ping` only adds a note.
 */
type In =
  | DomainEvent<'t.Started', { deadline: string }>
  | DomainEvent<'t.Approved', { by: string }>
  | DomainEvent<'t.TimedOut', Record<string, never>>
  | DomainEvent<'t.Ping', { n: number }>
  | DomainEvent<'t.Cancel', Record<string, never>>;
type Out = DomainEvent<'t.Note', { text: string }> | DomainEvent<'t.Ask', { question: string }> | DomainEvent<'t.Done', Record<string, never>>;
type State = { status: 'new' } | { status: 'asking'; deadline: string } | { status: 'done' } | { status: 'timed_out' };

const toy: Workflow<In, State, Out> = {
  name: 'toy',
  initialState: () => ({ status: 'new' }),
  decide(input, state) {
    switch (input.type) {
      case 't.Started':
        return state.status === 'new' ? [{ type: 't.Note', data: { text: 'started' } }, { type: 't.Ask', data: { question: 'may I?' } }] : [];
      case 't.Approved':
        return state.status === 'asking' ? [{ type: 't.Done', data: {} }] : [];
      case 't.TimedOut':
        return state.status === 'asking' ? [{ type: 't.Note', data: { text: 'timed out' } }] : [];
      case 't.Ping':
        return [{ type: 't.Note', data: { text: `ping ${input.data.n}` } }];
      case 't.Cancel':
        throw new IllegalStateError('cancelling is never allowed here');
    }
  },
  evolve(state, m) {
    if (m.type === 't.Started' && state.status === 'new') return { status: 'asking', deadline: m.data.deadline };
    if (m.type === 't.Done') return { status: 'done' };
    if (m.type === 't.Note' && m.data.text === 'timed out') return { status: 'timed_out' };
    return state;
  },
  timeout: (state) => (state.status === 'asking' ? { at: new Date(state.deadline), input: { type: 't.TimedOut', data: {} } } : undefined),
};

const codec: EventCodec<In | Out> = {
  encode: (e) => ({ type: e.type, data: e.data }),
  decode: (type, data) => (type.startsWith('t.') ? ({ type, data } as In | Out) : undefined),
};

const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let kafka: Kafka;
let producer: Producer;
const cleanups: Array<() => Promise<void>> = [];

test.before(async () => {
  db = await createTestDatabase('workflow');
  pool = createPool({ url: db.url, max: 20, log });
  await migrate(pool, [eventStoreMigrations, workflowMigrations], log);
  await pool.query('CREATE TABLE notes (instance_id text NOT NULL, text text NOT NULL)');
  kafka = testKafka(log);
  producer = testProducer(kafka);
  await producer.connect();
});

test.after.always(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await producer?.disconnect();
  await pool?.end();
  await db?.drop();
});

/** A runtime whose remote "Ask" is answered by `answer` (default: approved at once). */
function runtime(opts: { answer?: RemoteEffect<In, Out>; failNote?: () => boolean; graceMs?: number; name?: string } = {}) {
  let asks = 0;
  const rt = new WorkflowRuntime<In, State, Out>({
    workflow: { ...toy, name: opts.name ?? `toy_${randomUUID().slice(0, 8)}` },
    pool,
    store: new PostgresEventStore(pool),
    codec,
    local: {
      't.Note': async (tx: Queryable, command, instanceId) => {
        if (opts.failNote?.()) throw new Error('the local write failed');
        await tx.query('INSERT INTO notes (instance_id, text) VALUES ($1, $2)', [instanceId, (command.data as { text: string }).text]);
      },
    },
    remote: {
      't.Ask': async (command, instanceId, meta) => {
        asks++;
        return opts.answer ? opts.answer(command, instanceId, meta) : [{ type: 't.Approved', data: { by: 'them' } }];
      },
    },
    log,
    registry: createMetrics('t'),
    maxBackoffMs: 200,
    ...(opts.graceMs === undefined ? {} : { graceMs: opts.graceMs }),
  });
  return { rt, asks: () => asks };
}

const started = (deadlineInMs = 60_000): In => ({ type: 't.Started', data: { deadline: new Date(Date.now() + deadlineInMs).toISOString() } });
const notes = async (instanceId: string) => (await pool.query<{ text: string }>('SELECT text FROM notes WHERE instance_id = $1 ORDER BY text', [instanceId])).rows.map((r) => r.text);
const types = async (rt: WorkflowRuntime<In, State, Out>, instanceId: string) => {
  const store = new PostgresEventStore(pool);
  return (await store.readStream(instanceId)).map((e) => e.type);
};

test('a step records its input and commands, applies the local ones with them, sends the remote one, and handles its answer', async (t) => {
  const { rt, asks } = runtime();
  const id = randomUUID();
  const result = await rt.handle(id, started(), rt.inputId(`start:${id}`));
  t.false(result.duplicate);
  t.deepEqual(await types(rt, id), ['t.Started', 't.Note', 't.Ask', 't.Approved', 't.Done']);
  t.deepEqual(await notes(id), ['started']);
  t.is(asks(), 1);
  t.is(await rt.pendingCommands(id), 0, 'an answered command is no longer pending');
  t.deepEqual((await rt.load(id)).state, { status: 'done' });
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM workflow_timers WHERE instance_id = $1', [id]);
  t.is(rows[0].n, 0, 'a finished instance waits for no timer');
});

test('the same input delivered twice is handled once: no second note, no second question', async (t) => {
  const { rt, asks } = runtime();
  const id = randomUUID();
  const inputId = rt.inputId(`start:${id}`);
  await rt.handle(id, started(), inputId);
  const again = await rt.handle(id, started(), inputId);
  t.true(again.duplicate);
  t.deepEqual(await notes(id), ['started']);
  t.is(asks(), 1);
});

test('concurrent steps on one instance, in one process and in two, are serialised by the stream version: each input recorded once', async (t) => {
  // Two runtimes of one workflow on one database: two replicas of a service.
  const name = `toy_${randomUUID().slice(0, 8)}`;
  const replicas = [runtime({ name }).rt, runtime({ name }).rt];
  const rt = replicas[0]!;
  const id = randomUUID();
  const ping = (n: number) => replicas[n % 2]!.handle(id, { type: 't.Ping', data: { n } }, rt.inputId(`ping:${id}:${n}`));
  await Promise.all(Array.from({ length: 20 }, (_, n) => ping(n)));
  // The same 20 again, concurrently: all duplicates.
  const again = await Promise.all(Array.from({ length: 20 }, (_, n) => ping(n)));
  t.true(again.every((r) => r.duplicate));
  const events = await new PostgresEventStore(pool).readStream(id);
  t.is(events.length, 40, '20 inputs and their 20 notes');
  t.deepEqual(events.map((e) => e.version), Array.from({ length: 40 }, (_, i) => i + 1));
  t.is((await notes(id)).length, 20);
});

test('a remote command that keeps failing stays pending and is retried by the sweeper until it is answered, once', async (t) => {
  let calls = 0;
  const { rt } = runtime({
    graceMs: 0,
    answer: async () => {
      calls++;
      if (calls <= 3) throw new Error('UNAVAILABLE: nobody home');
      return [{ type: 't.Approved', data: { by: 'them' } }];
    },
  });
  const id = randomUUID();
  await rt.handle(id, started(), rt.inputId(`start:${id}`));
  t.is(await rt.pendingCommands(id), 1, 'the failed command is still pending after its step');
  t.deepEqual(await types(rt, id), ['t.Started', 't.Note', 't.Ask']);
  const sweeper = rt.startSweeper({ intervalMs: 50 });
  cleanups.push(() => sweeper.stop());
  await waitFor('the answer handled', async () => (await rt.load(id)).state.status === 'done');
  await sweeper.stop();
  t.is(calls, 4);
  t.deepEqual(await types(rt, id), ['t.Started', 't.Note', 't.Ask', 't.Approved', 't.Done']);
  t.is(await rt.pendingCommands(id), 0);
});

test('a command whose step committed but was never sent (the process died) is sent by the sweeper after its grace period', async (t) => {
  let answering = false;
  const { rt, asks } = runtime({
    graceMs: 300,
    answer: async () => {
      // The first attempt stands for a process that died right after the commit.
      if (!answering) {
        answering = true;
        throw Object.assign(new Error('killed'), { code: 'ECONNRESET' });
      }
      return [{ type: 't.Approved', data: { by: 'them' } }];
    },
  });
  const id = randomUUID();
  await rt.handle(id, started(), rt.inputId(`start:${id}`));
  // Put the command back as the dead process would have left it: due after the grace period.
  await pool.query("UPDATE workflow_pending_commands SET next_attempt_at = now() + interval '300 milliseconds', attempts = 0 WHERE instance_id = $1", [id]);
  const sweeper = rt.startSweeper({ intervalMs: 50 });
  cleanups.push(() => sweeper.stop());
  await waitFor('the command sent by the sweeper', async () => (await rt.load(id)).state.status === 'done');
  await sweeper.stop();
  t.is(asks(), 2);
});

test('a timer is delivered when due, once, and none is left behind', async (t) => {
  const { rt } = runtime({ answer: async () => [] });
  const id = randomUUID();
  await rt.handle(id, started(300), rt.inputId(`start:${id}`));
  const { rows } = await pool.query('SELECT due_at FROM workflow_timers WHERE instance_id = $1', [id]);
  t.is(rows.length, 1, 'the instance waits for its deadline');
  const sweeper = rt.startSweeper({ intervalMs: 50 });
  cleanups.push(() => sweeper.stop());
  await waitFor('timed out', async () => (await rt.load(id)).state.status === 'timed_out');
  await sleep(300);
  await sweeper.stop();
  t.deepEqual(await notes(id), ['started', 'timed out']);
  t.deepEqual((await types(rt, id)).filter((x) => x === 't.TimedOut'), ['t.TimedOut'], 'delivered once');
  const left = await pool.query('SELECT count(*)::int AS n FROM workflow_timers WHERE instance_id = $1', [id]);
  t.is(left.rows[0].n, 0);
});

test('a process whose kept state is stale (another process stepped the instance since) decides on the stream: an input the other recorded is a duplicate, a new one lands after it', async (t) => {
  const name = `toy_${randomUUID().slice(0, 8)}`;
  const one = runtime({ name, answer: async () => [] }).rt;
  const two = runtime({ name, answer: async () => [] }).rt;
  const id = randomUUID();
  await one.handle(id, started(), one.inputId(`start:${id}`));
  // xmin: the transaction that last wrote the row, to tell an untouched row from one written again the same.
  const timer = async () => (await pool.query<{ fire_id: string; due_at: Date; xmin: string }>('SELECT fire_id, due_at, xmin::text FROM workflow_timers WHERE instance_id = $1', [id])).rows;
  const waiting = await timer();
  t.is(waiting.length, 1, 'the instance waits for its deadline');

  // The other process records ping 1; this one still keeps the state from before it.
  t.false((await two.handle(id, { type: 't.Ping', data: { n: 1 } }, one.inputId(`ping:1:${id}`))).duplicate);
  t.true((await one.handle(id, { type: 't.Ping', data: { n: 1 } }, one.inputId(`ping:1:${id}`))).duplicate, 'recorded by the other process: not again');
  const pinged = await one.handle(id, { type: 't.Ping', data: { n: 2 } }, one.inputId(`ping:2:${id}`));
  t.false(pinged.duplicate);
  t.deepEqual(await types(one, id), ['t.Started', 't.Note', 't.Ask', 't.Ping', 't.Note', 't.Ping', 't.Note']);
  t.is(pinged.version, 7);
  t.deepEqual(await notes(id), ['ping 1', 'ping 2', 'started']);
  // Steps that leave the deadline as it was leave its timer row as it was: not written again.
  t.deepEqual(await timer(), waiting);
});

test('a timer row whose input is not what the state asks (edited by hand, or written by an older release) is put right by the next step, and a missing one written again', async (t) => {
  const { rt } = runtime({ answer: async () => [] });
  const id = randomUUID();
  await rt.handle(id, started(), rt.inputId(`start:${id}`));
  const row = async () => (await pool.query<{ fire_id: string; input_type: string; input_data: unknown }>('SELECT fire_id, input_type, input_data FROM workflow_timers WHERE instance_id = $1', [id])).rows;
  const asked = await row();
  t.is(asked.length, 1);

  await pool.query(`UPDATE workflow_timers SET input_data = '{"stale": true}' WHERE instance_id = $1`, [id]);
  await rt.handle(id, { type: 't.Ping', data: { n: 1 } }, rt.inputId(`ping:1:${id}`));
  t.deepEqual(await row(), asked);

  await pool.query('DELETE FROM workflow_timers WHERE instance_id = $1', [id]);
  await rt.handle(id, { type: 't.Ping', data: { n: 2 } }, rt.inputId(`ping:2:${id}`));
  t.deepEqual(await row(), asked);
});

test('a failing local command records nothing: no events, no pending command, no timer', async (t) => {
  const { rt, asks } = runtime({ failNote: () => true });
  const id = randomUUID();
  await t.throwsAsync(rt.handle(id, started(), rt.inputId(`start:${id}`)), { message: /local write failed/ });
  t.deepEqual(await types(rt, id), []);
  t.is(await rt.pendingCommands(id), 0);
  t.is(asks(), 0);
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM workflow_timers WHERE instance_id = $1', [id]);
  t.is(rows[0].n, 0);
});

test("a request the workflow refuses reaches the caller, and records nothing", async (t) => {
  const { rt } = runtime();
  const id = randomUUID();
  await rt.handle(id, started(), rt.inputId(`start:${id}`));
  const before = await types(rt, id);
  await t.throwsAsync(rt.handle(id, { type: 't.Cancel', data: {} }, rt.inputId(`cancel:${id}`)), { instanceOf: IllegalStateError });
  t.deepEqual(await types(rt, id), before);
});

test('inputs from Kafka: translated events drive their instances; a redelivered event is a duplicate', async (t) => {
  const { rt } = runtime();
  const { topic, dlq } = await createTestTopics(kafka, 'workflow');
  const consumer = await rt.consume({
    name: `t-${randomUUID()}`,
    kafka,
    topics: [topic],
    dlqTopic: dlq,
    translate: (e) => (e.type === 'x.Pinged' ? { instanceId: (e.data as { to: string }).to, input: { type: 't.Ping', data: { n: (e.data as { n: number }).n } } } : undefined),
  });
  cleanups.push(() => consumer.stop());
  const to = randomUUID();
  const pinged = (n: number): RecordedEvent => ({
    id: randomUUID(),
    type: 'x.Pinged',
    streamId: to,
    streamType: 'x',
    version: n,
    position: n,
    occurredAt: new Date().toISOString(),
    data: { to, n },
    metadata: {},
  });
  const [one, two] = [pinged(1), pinged(2)];
  await producer.send({ topic, messages: [toKafkaMessage(one), toKafkaMessage(one), toKafkaMessage({ ...one, type: 'x.Ignored' }), toKafkaMessage(two)] });
  await waitFor('both pings', async () => (await notes(to)).length === 2);
  await sleep(300);
  t.deepEqual(await notes(to), ['ping 1', 'ping 2']);
  t.deepEqual(await types(rt, to), ['t.Ping', 't.Note', 't.Ping', 't.Note']);
});
