import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { v5 as uuidv5 } from 'uuid';
import { ConcurrencyError } from '@shop/platform/errors';
import type { Logger } from '@shop/platform/log';
import { prom, sharedMetric } from '@shop/platform/metrics';
import type { MigrationSource } from '@shop/platform/postgres/migrate';
import { SqlState, sqlState, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import type { PostgresEventStore } from '../postgres/store.js';
import { isTransient, startProcessor, type Processor } from '../processor/processor.js';
import type { DomainEvent, EventCodec, EventMetadata, RecordedEvent } from '../types.js';
import { StateCache } from '../state-cache.js';
import type { Workflow } from './workflow.js';

export const workflowMigrations: MigrationSource = {
  name: 'workflow',
  dir: fileURLToPath(new URL('../../migrations-workflow', import.meta.url)),
};

/** Changes to this service's own data, made in the transaction that records the command. */
export type LocalEffect<Output> = (tx: Queryable, command: Output, instanceId: string, meta: EventMetadata) => Promise<void>;

/**
 * A command sent to another service once the step that issued it has committed. Resolves
 * with the answer as inputs for the instance (e.g. "stock reserved"), or throws: the
 * command is then retried, with backoff, until it gets an answer. Business refusals are
 * answers, not errors. Sent at least once: the receiver must be idempotent.
 */
export type RemoteEffect<Input, Output> = (command: Output, instanceId: string, meta: EventMetadata) => Promise<Input[]>;

export interface WorkflowRuntimeOptions<Input extends DomainEvent, State, Output extends DomainEvent> {
  workflow: Workflow<Input, State, Output>;
  /** Postgres: the workflow's streams, its pending commands and timers live in one database. */
  pool: Pool;
  store: PostgresEventStore;
  /** Encodes inputs and outputs alike (protobuf messages). */
  codec: EventCodec<Input | Output>;
  /** What each command does, by type (`X.$type`); a command with neither is only recorded. */
  local?: Partial<Record<Output['type'], LocalEffect<Output>>>;
  remote?: Partial<Record<Output['type'], RemoteEffect<Input, Output>>>;
  log: Logger;
  registry: Registry;
  /** Conflicting steps on one instance retried before giving up (default 10). */
  maxConflictRetries?: number;
  /** How long a command sent by its step is left alone before the sweeper takes it (default 5 s). */
  graceMs?: number;
  /** Longest pause between two attempts of a failing command (default 30 s). */
  maxBackoffMs?: number;
  /**
   * Instances whose state this process keeps after a step (default 1,000, the most recent):
   * their next step skips reading its stream. A step of another process makes the kept
   * state stale; the append's expected version then fails, and the step reads the stream.
   */
  stateCacheSize?: number;
}

export interface StepResult<State> {
  state: State;
  /** The instance's stream version after the step. */
  version: number;
  /** True when this input had been recorded before: nothing was done again. */
  duplicate: boolean;
}

interface PendingCommand {
  command_id: string;
  instance_id: string;
  type: string;
  data: unknown;
  attempts: number;
  created_at?: Date;
}

/**
 * The state an instance was left in by this process's last step of it: the next step skips
 * folding the stream. It holds as long as a version once committed is never committed again
 * with other events (a failover to a replica that lost commits would break it), and as long
 * as `evolve` returns new states rather than changing the ones it is given.
 */
interface KeptState<State> {
  state: State;
  version: number;
  /** The ids of the instance's recorded inputs and commands: a known input is a duplicate. */
  ids: Set<string>;
}

/** Namespace of the ids the runtime derives (inputs of a source, answers, timers). */
const ID_NAMESPACE = '6f1c3d2e-52a4-4c86-9c55-0c0f6a2b7e11';

/**
 * Runs a workflow (workflow.ts) on Postgres and Kafka:
 *
 * - **A step** takes one input for one instance: it folds the instance's stream (or takes
 *   the state this process's last step of it left, KeptState), skips the input if it
 *   was recorded already (every input has a stable id), `decide`s, and appends the input
 *   and the commands with the stream's version as the expected one. In that same
 *   transaction it applies the local commands (this service's tables), then in one
 *   statement writes the remote commands to `workflow_pending_commands`, removes the one
 *   the input answers, and brings the instance's timer to what the new state asks. A
 *   concurrent step on the same instance makes the append conflict: the step is decided
 *   again on the state read from the stream.
 * - **Remote commands** are sent right after the commit, by the step itself; their answers
 *   are the instance's next inputs (ids derived from the command's, so a command sent
 *   twice is answered once). A command whose sending fails, or whose step's process died,
 *   stays pending: the sweeper retries it with backoff until it is answered.
 * - **Timers**: after each step `timeout(state)` says what the instance waits for; the
 *   sweeper delivers it when due.
 * - **Inputs from Kafka** come through the processor (`consume`), translated by the caller.
 *
 * Nothing is lost (every effect is recorded before it happens, in one transaction) and
 * nothing is done twice (inputs are deduplicated by id, remote receivers are idempotent).
 */
export class WorkflowRuntime<Input extends DomainEvent, State, Output extends DomainEvent> {
  private readonly log: Logger;
  private readonly name: string;
  private readonly maxConflictRetries: number;
  private readonly graceMs: number;
  private readonly maxBackoffMs: number;
  private readonly metrics: ReturnType<typeof workflowMetrics>;
  private readonly states: StateCache<KeptState<State>>;

  constructor(private readonly opts: WorkflowRuntimeOptions<Input, State, Output>) {
    this.name = opts.workflow.name;
    this.log = opts.log.child({ component: 'workflow', workflow: this.name });
    this.maxConflictRetries = opts.maxConflictRetries ?? 10;
    this.graceMs = opts.graceMs ?? 5_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.metrics = workflowMetrics(opts.registry);
    this.states = new StateCache<KeptState<State>>(opts.stateCacheSize ?? 1_000);
  }

  /** A stable input id from a key (e.g. `event:<source event id>`, `place:<checkout id>`). */
  inputId(key: string): string {
    return uuidv5(`${this.name}:${key}`, ID_NAMESPACE);
  }

  /** The instance's state and version, folded from its stream. */
  async load(instanceId: string): Promise<{ state: State; version: number; ids: Set<string> }> {
    const events = await this.opts.store.readStream(instanceId);
    let state = this.opts.workflow.initialState();
    for (const e of events) {
      const message = this.opts.codec.decode(e.type, e.data);
      if (message) state = this.opts.workflow.evolve(state, message);
    }
    return { state, version: events.at(-1)?.version ?? 0, ids: new Set(events.map((e) => e.id)) };
  }

  /**
   * One step: records `input` for the instance (once per `inputId`), with the commands it
   * decides, then sends the remote ones. Throws what `decide` throws (nothing is recorded).
   *
   * By default it resolves once the commands were sent and their answers handled (the
   * Kafka consumer wants that: it paces the batch). A caller answering a request can
   * resolve as soon as the step is recorded (`awaitCommands: false`): the commands go on
   * in the background, and a failure there leaves them pending for the sweeper.
   */
  async handle(instanceId: string, input: Input, inputId: string, meta: EventMetadata = {}, options: { awaitCommands?: boolean } = {}): Promise<StepResult<State>> {
    return this.run(instanceId, input, inputId, meta, { awaitCommands: options.awaitCommands ?? true });
  }

  /** `handle`, and when `input` answers a pending command, that command's id: its step removes it. */
  private async run(instanceId: string, input: Input, inputId: string, meta: EventMetadata, options: { awaitCommands: boolean; answeredCommandId?: string }): Promise<StepResult<State>> {
    // Steps of one instance in this process go one after another (no conflict to lose);
    // other processes' are caught by the append's expected version.
    const { result, toSend } = await this.serialized(instanceId, () => this.step(instanceId, input, inputId, meta, options.answeredCommandId));
    // Sent in order, each answer handled before the next command goes.
    const sendAll = async () => {
      for (const pending of toSend) if (!(await this.send(pending))) return;
    };
    if (options.awaitCommands) await sendAll();
    // A failure in the background leaves the command pending: the sweeper sends it again.
    else void sendAll().catch((err: unknown) => this.log.warn({ err, instanceId }, 'sending commands in the background failed; they stay pending'));
    return result;
  }

  private async step(instanceId: string, input: Input, inputId: string, meta: EventMetadata, answeredCommandId: string | undefined): Promise<{ result: StepResult<State>; toSend: PendingCommand[] }> {
    for (let attempt = 0; ; attempt++) {
      // The state this process left after its last step of the instance, or the stream's.
      const { state, version, ids } = (attempt === 0 && this.states.get(instanceId)) || (await this.load(instanceId));
      if (ids.has(inputId)) {
        this.metrics.steps.inc({ workflow: this.name, outcome: 'duplicate' });
        return { result: { state, version, duplicate: true }, toSend: [] };
      }
      const outputs = this.opts.workflow.decide(input, state);
      const next = [input as Input | Output, ...outputs].reduce(this.opts.workflow.evolve, state);
      const recorded = outputs.map((o) => ({ id: randomUUID(), output: o, encoded: this.opts.codec.encode(o) }));
      // The commands to other services: written as pending in the step, sent after it.
      const remote = recorded.filter(({ output }) => this.remoteOf(output.type));
      const causedBy: EventMetadata = { ...meta, causationId: inputId };
      try {
        const result = await this.opts.store.append(
          this.name,
          instanceId,
          [
            { id: inputId, ...this.opts.codec.encode(input), metadata: meta },
            ...recorded.map(({ id, encoded }) => ({ id, ...encoded, metadata: causedBy })),
          ],
          version,
          { inTransaction: (tx) => this.inStep(tx as unknown as Queryable, instanceId, recorded, remote, next, answeredCommandId, causedBy) },
        );
        this.metrics.steps.inc({ workflow: this.name, outcome: 'recorded' });
        for (const id of [inputId, ...recorded.map((r) => r.id)]) ids.add(id);
        this.states.set(instanceId, { state: next, version: result.version, ids });
        const toSend = remote.map(({ id, output, encoded }) => ({ command_id: id, instance_id: instanceId, type: output.type, data: encoded.data, attempts: 0 }));
        return { result: { state: next, version: result.version, duplicate: false }, toSend };
      } catch (err) {
        // Whatever failed, the kept state may be behind the stream: the next step reads it.
        this.states.delete(instanceId);
        // A concurrent step recorded the same input first: its id is taken.
        const sameInput = sqlState(err) === SqlState.uniqueViolation && (err as { constraint?: string }).constraint === `${this.opts.store.tableName}_id_key`;
        const conflict = err instanceof ConcurrencyError || sameInput;
        if (!conflict) throw err;
        this.metrics.steps.inc({ workflow: this.name, outcome: 'conflict' });
        if (attempt >= this.maxConflictRetries) throw new ConcurrencyError(`workflow ${this.name} ${instanceId}: too many concurrent steps`);
        await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
      }
    }
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier call for `key` in this process has settled. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  /**
   * The step's writes besides its events: its local commands, then in one statement the
   * remote ones to send, the answered one's removal, and the instance's timer as `timeout`
   * of the state after the step asks (set, moved, or removed; a row already as asked is not
   * written again, and a leased one keeps its lease).
   */
  private async inStep(
    tx: Queryable,
    instanceId: string,
    recorded: Array<{ id: string; output: Output; encoded: { type: string; data: unknown } }>,
    remote: typeof recorded,
    next: State,
    answeredCommandId: string | undefined,
    meta: EventMetadata,
  ): Promise<void> {
    for (const { id, output } of recorded) {
      const local = this.opts.local?.[output.type as Output['type']];
      if (local) await local(tx, output, instanceId, { ...meta, causationId: id });
    }
    const timer = this.opts.workflow.timeout?.(next);
    const timerInput = timer && this.opts.codec.encode(timer.input);
    await tx.query(
      `WITH sent AS (
         INSERT INTO workflow_pending_commands (command_id, workflow, instance_id, type, data, next_attempt_at)
         SELECT c.id, $1, $2, c.type, c.data::jsonb, now() + $3 * interval '1 millisecond'
         FROM unnest($4::uuid[], $5::text[], $6::text[]) AS c(id, type, data)
       ), answered AS (
         DELETE FROM workflow_pending_commands WHERE command_id = $7::uuid
       ), timer_set AS (
         INSERT INTO workflow_timers (workflow, instance_id, fire_id, due_at, input_type, input_data)
         SELECT $1, $2, $8::uuid, $9::timestamptz, $10::text, $11::jsonb WHERE $8::uuid IS NOT NULL
         ON CONFLICT (workflow, instance_id) DO UPDATE SET fire_id = excluded.fire_id, due_at = excluded.due_at,
           input_type = excluded.input_type, input_data = excluded.input_data
         WHERE (workflow_timers.fire_id, workflow_timers.input_type, workflow_timers.input_data)
           IS DISTINCT FROM (excluded.fire_id, excluded.input_type, excluded.input_data)
       ), timer_cleared AS (
         DELETE FROM workflow_timers WHERE $8::uuid IS NULL AND workflow = $1 AND instance_id = $2
       )
       SELECT 1`,
      [
        this.name,
        instanceId,
        this.graceMs,
        remote.map((r) => r.id),
        remote.map((r) => r.output.type),
        remote.map((r) => JSON.stringify(r.encoded.data)),
        answeredCommandId ?? null,
        // The fire id stands for the due time: a timer that fires twice is handled once.
        timer ? this.inputId(`timer:${instanceId}:${timer.at.toISOString()}`) : null,
        timer?.at ?? null,
        timerInput?.type ?? null,
        timerInput ? JSON.stringify(timerInput.data) : null,
      ],
    );
  }

  private remoteOf(type: string): RemoteEffect<Input, Output> | undefined {
    return this.opts.remote?.[type as Output['type']];
  }

  /**
   * Sends one pending command and handles its answers; on failure leaves it pending with
   * a backoff. Resolves true when the command is done.
   */
  private async send(pending: PendingCommand): Promise<boolean> {
    const remote = this.remoteOf(pending.type);
    const command = this.opts.codec.decode(pending.type, pending.data) as Output | undefined;
    if (!remote || !command) {
      this.log.error({ commandId: pending.command_id, type: pending.type }, 'pending command of an unknown type: dropped');
      await this.opts.pool.query('DELETE FROM workflow_pending_commands WHERE command_id = $1', [pending.command_id]);
      return true;
    }
    const meta: EventMetadata = { causationId: pending.command_id };
    try {
      const end = this.metrics.commandSeconds.startTimer({ workflow: this.name, command: pending.type });
      const answers = await remote(command, pending.instance_id, meta);
      end();
      // The last answer's step removes the command with its own writes; one recorded before
      // (a second sending after a crash), or no answer, leaves that to a statement here.
      let removed = false;
      for (const [i, answer] of answers.entries()) {
        const last = i === answers.length - 1;
        const step = await this.run(pending.instance_id, answer, this.inputId(`answer:${pending.command_id}:${i}`), meta, {
          awaitCommands: true,
          ...(last ? { answeredCommandId: pending.command_id } : {}),
        });
        removed = last && !step.duplicate;
      }
      if (!removed) await this.opts.pool.query('DELETE FROM workflow_pending_commands WHERE command_id = $1', [pending.command_id]);
      this.metrics.commands.inc({ workflow: this.name, command: pending.type, outcome: 'answered' });
      return true;
    } catch (err) {
      const attempts = pending.attempts + 1;
      const backoffMs = Math.min(this.maxBackoffMs, 200 * 2 ** Math.min(attempts, 12));
      this.metrics.commands.inc({ workflow: this.name, command: pending.type, outcome: 'failed' });
      const level = isTransient(err) || attempts < 5 ? 'warn' : 'error';
      this.log[level]({ err, commandId: pending.command_id, instanceId: pending.instance_id, type: pending.type, attempts, retryInMs: backoffMs }, 'command not answered; it stays pending');
      await this.opts.pool
        .query('UPDATE workflow_pending_commands SET attempts = $2, next_attempt_at = now() + $3 * interval \'1 millisecond\', last_error = $4 WHERE command_id = $1', [
          pending.command_id,
          attempts,
          backoffMs,
          String((err as Error)?.message ?? err).slice(0, 500),
        ])
        .catch((e: unknown) => this.log.warn({ err: e }, 'could not record the failed attempt (the lease will expire)'));
      return false;
    }
  }

  /**
   * The Kafka side: events of `topics`, translated into inputs (undefined: not for this
   * workflow), each handled as a step. Instances in a batch go in parallel; one
   * instance's inputs in order. The input id derives from the event id, so a redelivered
   * event is a duplicate.
   */
  consume(opts: {
    name: string;
    kafka: Kafka;
    topics: string[];
    dlqTopic: string;
    translate: (event: RecordedEvent) => { instanceId: string; input: Input; key?: string } | undefined;
    sessionTimeoutMs?: number;
    concurrency?: number;
    /** A new consumer group starts at the topics' beginning (default) or at their end. */
    fromBeginning?: boolean;
  }): Promise<Processor> {
    const concurrency = opts.concurrency ?? 8;
    // Each event is translated once: `accepts` keeps the translation for `handle`.
    const translated = new WeakMap<RecordedEvent, { instanceId: string; input: Input; key?: string }>();
    const translate = (e: RecordedEvent) => {
      const t = opts.translate(e);
      if (t) translated.set(e, t);
      return t;
    };
    return startProcessor({
      name: opts.name,
      kafka: opts.kafka,
      topics: opts.topics,
      dlqTopic: opts.dlqTopic,
      log: this.opts.log,
      registry: this.opts.registry,
      ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: opts.sessionTimeoutMs }),
      ...(opts.fromBeginning === undefined ? {} : { fromBeginning: opts.fromBeginning }),
      accepts: (e) => translate(e) !== undefined,
      handle: async (events, batch) => {
        const byInstance = new Map<string, Array<{ input: Input; id: string; meta: EventMetadata }>>();
        for (const e of events) {
          const t = translated.get(e) ?? translate(e);
          if (!t) continue;
          const list = byInstance.get(t.instanceId) ?? [];
          list.push({ input: t.input, id: this.inputId(t.key ?? `event:${e.id}`), meta: { ...e.metadata, causationId: e.id } });
          byInstance.set(t.instanceId, list);
        }
        const outcome = { applied: 0, duplicates: 0 };
        await inParallel([...byInstance], concurrency, async ([instanceId, inputs]) => {
          for (const { input, id, meta } of inputs) {
            if (!batch.isRunning()) throw new Error('processor stopping: batch abandoned');
            const r = await this.handle(instanceId, input, id, meta);
            if (r.duplicate) outcome.duplicates++;
            else outcome.applied++;
          }
          await batch.heartbeat();
        });
        return outcome;
      },
    });
  }

  /**
   * Retries pending commands and fires due timers, every `intervalMs`. Any number of
   * replicas may sweep: each takes its rows with a lease (FOR UPDATE SKIP LOCKED, then a
   * later next attempt), and nothing is held open while commands are in flight.
   */
  startSweeper(opts: { intervalMs?: number; batchSize?: number; leaseMs?: number } = {}): { stop(): Promise<void> } {
    const intervalMs = opts.intervalMs ?? 1_000;
    const batchSize = opts.batchSize ?? 50;
    const leaseMs = opts.leaseMs ?? 30_000;
    const controller = new AbortController();
    let stopping = false;
    let gaugedAt = 0;
    const loop = async () => {
      while (!stopping) {
        try {
          // What is stuck shows (an alert on the oldest pending command), every few seconds.
          if (Date.now() - gaugedAt > 5_000) {
            gaugedAt = Date.now();
            await this.gaugePending();
          }
          const commands = await this.takeDueCommands(batchSize, leaseMs);
          const timers = await this.takeDueTimers(batchSize, leaseMs);
          // One instance's commands in order; instances in parallel.
          const byInstance = new Map<string, PendingCommand[]>();
          for (const c of commands) byInstance.set(c.instance_id, [...(byInstance.get(c.instance_id) ?? []), c]);
          await inParallel([...byInstance.values()], 8, async (list) => {
            for (const c of list) if (!(await this.send(c))) break;
          });
          await inParallel(timers, 8, (t) => this.fire(t));
          if (commands.length === batchSize || timers.length === batchSize) continue;
        } catch (err) {
          if (stopping) break;
          this.log.warn({ err }, 'sweep failed; trying again');
        }
        await sleep(intervalMs, undefined, { signal: controller.signal }).catch(() => undefined);
      }
    };
    const running = loop();
    return {
      stop: async () => {
        stopping = true;
        controller.abort();
        await running;
      },
    };
  }

  private async gaugePending(): Promise<void> {
    const { rows } = await this.opts.pool.query<{ n: number; oldest: number | null }>(
      'SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest FROM workflow_pending_commands WHERE workflow = $1',
      [this.name],
    );
    this.metrics.pending.set({ workflow: this.name }, rows[0]?.n ?? 0);
    this.metrics.oldestPending.set({ workflow: this.name }, rows[0]?.oldest ?? 0);
  }

  private async takeDueCommands(limit: number, leaseMs: number): Promise<PendingCommand[]> {
    const { rows } = await this.opts.pool.query<PendingCommand>(
      `UPDATE workflow_pending_commands SET next_attempt_at = now() + $3 * interval '1 millisecond'
       WHERE command_id IN (
         SELECT command_id FROM workflow_pending_commands
         WHERE workflow = $1 AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING command_id, instance_id, type, data, attempts, created_at`,
      [this.name, limit, leaseMs],
    );
    return rows.sort((a, b) => +a.created_at! - +b.created_at!);
  }

  private async takeDueTimers(limit: number, leaseMs: number) {
    const { rows } = await this.opts.pool.query<{ instance_id: string; fire_id: string; input_type: string; input_data: unknown }>(
      `UPDATE workflow_timers SET due_at = now() + $3 * interval '1 millisecond'
       WHERE (workflow, instance_id) IN (
         SELECT workflow, instance_id FROM workflow_timers
         WHERE workflow = $1 AND due_at <= now()
         ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING instance_id, fire_id, input_type, input_data`,
      [this.name, limit, leaseMs],
    );
    return rows;
  }

  private async fire(timer: { instance_id: string; fire_id: string; input_type: string; input_data: unknown }): Promise<void> {
    const input = this.opts.codec.decode(timer.input_type, timer.input_data) as Input | undefined;
    try {
      if (input) {
        await this.handle(timer.instance_id, input, timer.fire_id, {});
        this.metrics.timers.inc({ workflow: this.name });
      } else {
        this.log.error({ instanceId: timer.instance_id, type: timer.input_type }, 'timer of an unknown input type: dropped');
      }
      // The step replaced the timer (another fire id) or removed it; a fire that was a
      // duplicate leaves it: remove it here, so that it does not come back after its lease.
      await this.opts.pool.query('DELETE FROM workflow_timers WHERE workflow = $1 AND instance_id = $2 AND fire_id = $3', [this.name, timer.instance_id, timer.fire_id]);
    } catch (err) {
      this.log.warn({ err, instanceId: timer.instance_id }, 'timer step failed; it fires again after its lease');
    }
  }

  /** Commands not answered yet (for tests and readiness of a drained instance). */
  async pendingCommands(instanceId?: string): Promise<number> {
    const { rows } = await this.opts.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM workflow_pending_commands WHERE workflow = $1 AND ($2::text IS NULL OR instance_id = $2)',
      [this.name, instanceId ?? null],
    );
    return rows[0]?.n ?? 0;
  }
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

function workflowMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T => sharedMetric(registry, name, make);
  return {
    steps: get('workflow_steps_total', () => new prom.Counter({ name: 'workflow_steps_total', help: 'Workflow steps, by outcome (recorded, duplicate, conflict).', labelNames: ['workflow', 'outcome'] as const, registers: [registry] })),
    commands: get('workflow_commands_total', () => new prom.Counter({ name: 'workflow_commands_total', help: 'Remote commands sent, by outcome (answered, failed).', labelNames: ['workflow', 'command', 'outcome'] as const, registers: [registry] })),
    commandSeconds: get('workflow_command_seconds', () => new prom.Histogram({ name: 'workflow_command_seconds', help: 'Time to send a remote command and get its answer.', labelNames: ['workflow', 'command'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [registry] })),
    timers: get('workflow_timers_fired_total', () => new prom.Counter({ name: 'workflow_timers_fired_total', help: 'Timers delivered to their instance.', labelNames: ['workflow'] as const, registers: [registry] })),
    pending: get('workflow_pending_commands', () => new prom.Gauge({ name: 'workflow_pending_commands', help: 'Remote commands not answered yet.', labelNames: ['workflow'] as const, registers: [registry] })),
    oldestPending: get('workflow_oldest_pending_command_seconds', () => new prom.Gauge({ name: 'workflow_oldest_pending_command_seconds', help: 'Age of the oldest remote command not answered yet (0 when none): alert when it grows.', labelNames: ['workflow'] as const, registers: [registry] })),
  };
}
