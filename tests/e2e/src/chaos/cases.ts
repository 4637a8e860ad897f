import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createKafka } from '@shop/platform/kafka';
import { createLogger } from '@shop/platform/log';
import { topics } from '@shop/platform/topics';
import { consumeTopic, waitFor } from '@shop/testing';
import { urls } from '@shop/tools/topology';
import { DEFAULT_DLQ_TOPIC } from '@shop/cart';
import { newProduct, signUp } from '../shop.js';
import { checkCarts, checkSagas, deadLettered, readTopicBetween, topicEnds, type SagaChecks, type StoreChecks } from './checks.js';
import { appendPoisonEvent, killPostgres, killProcess, stopFor, type FaultResult } from './faults.js';
import { Workload } from './load.js';

/**
 * The chaos suite (issue 10, part E): each case runs load against the local stack,
 * injects its fault, lets the system recover, then checks the invariants from the stores.
 * `npm run chaos` runs every case at full scale and prints the table; `npm test` runs a
 * small version of each (tests/e2e/src/chaos.solo.spec.ts), which fails on any violation
 * and never on time.
 */
export interface Scale {
  /** Cart commands per second, over `carts` carts. */
  rate: number;
  carts: number;
  checkoutsPerSecond: number;
  /** Load before the fault, and after its end. */
  beforeMs: number;
  afterMs: number;
  kafkaDownMs: number;
  postgresDownMs: number;
  /**
   * A liveness bound, not a timing check: what is still missing this long after the load
   * stopped counts as lost or stuck. One deadline for every wait of the case.
   */
  recoverMs: number;
}

export const fullScale: Scale = { rate: 100, carts: 200, checkoutsPerSecond: 2, beforeMs: 10_000, afterMs: 10_000, kafkaDownMs: 20_000, postgresDownMs: 10_000, recoverMs: 180_000 };
export const smallScale: Scale = { rate: 30, carts: 40, checkoutsPerSecond: 1, beforeMs: 3_000, afterMs: 3_000, kafkaDownMs: 8_000, postgresDownMs: 3_000, recoverMs: 120_000 };

export interface ChaosCase {
  name: string;
  inject(scale: Scale): Promise<FaultResult & { check?: () => Promise<string[]> }>;
}

export const chaosCases: ChaosCase[] = [
  { name: 'cart-command (command mid-append, and its relay)', inject: () => killProcess('cart-command') },
  { name: 'cart-projector', inject: () => killProcess('cart-projector') },
  { name: 'order (mid-saga)', inject: () => killProcess('order') },
  { name: 'payment', inject: () => killProcess('payment') },
  { name: 'kafka stopped', inject: (s) => stopFor('kafka', s.kafkaDownMs) },
  { name: 'postgres kill -9', inject: (s) => killPostgres(s.postgresDownMs) },
  { name: 'nats kill -9', inject: () => killProcess('nats') },
  {
    name: 'poison event',
    inject: async () => {
      const poison = await appendPoisonEvent();
      return {
        injected: poison.injected,
        check: async () => {
          const problems: string[] = [];
          const letter = await waitFor('the poison event dead-lettered', () => deadLettered(poison.eventId), { timeoutMs: 60_000 }).catch(() => undefined);
          if (!letter) problems.push(`poison event ${poison.eventId} not in cart_read.dead_letters`);
          const kafka = createKafka({ brokers: urls.kafkaBrokers, clientId: 'chaos-dlq', log: quiet });
          const onDlq = await consumeTopic(kafka, DEFAULT_DLQ_TOPIC, 1, { where: (m) => m.headers?.id?.toString() === poison.eventId, timeoutMs: 60_000 }).catch(() => []);
          if (onDlq.length === 0) problems.push(`poison event ${poison.eventId} not on ${DEFAULT_DLQ_TOPIC}`);
          return problems;
        },
      };
    },
  },
];

const quiet = createLogger('chaos', 'silent');

export interface ChaosReport {
  case: string;
  injected: string;
  faultSeconds: number;
  commandsSent: number;
  commandsAcked: number;
  commandFailures: Record<string, number>;
  /** A message of each failure code. */
  failureSamples: Record<string, string>;
  checkoutsSent: number;
  checkoutFailures: Record<string, number>;
  carts: StoreChecks;
  sagas: SagaChecks;
  /** From the fault's end until every command acknowledged by then was visible in the read model. */
  recoverySeconds: number | null;
  /** Acknowledged commands that took more than 5 s to become visible (all of the case's). */
  slowerThan5s: number;
  /** Every invariant broken; empty when the case passed. */
  violations: string[];
}

const INITIAL_STOCK = 100_000;

export async function runCase(c: ChaosCase, scale: Scale, say: (line: string) => void = () => {}): Promise<ChaosReport> {
  const kafka = createKafka({ brokers: urls.kafkaBrokers, clientId: 'chaos', log: quiet });
  const from = await topicEnds(kafka, topics.cartEvents);
  const buyer = await signUp();
  const productId = await newProduct(`Chaos ${c.name} ${Date.now()}`, 500, INITIAL_STOCK);
  const load = new Workload({ rate: scale.rate, carts: scale.carts, checkoutsPerSecond: scale.checkoutsPerSecond, productId, buyer });
  load.start();
  try {
    await sleep(scale.beforeMs);
    const faultStart = Date.now();
    say(`${c.name}: injecting the fault`);
    const fault = await c.inject(scale);
    const faultEnd = Date.now();
    say(`${c.name}: ${fault.injected}; ${((faultEnd - faultStart) / 1000).toFixed(1)} s`);
    await sleep(scale.afterMs);
    await load.stop();
    say(`${c.name}: load stopped (${load.commandsSent} commands, ${load.checkoutsSent} checkouts); waiting for recovery`);

    const violations: string[] = [];
    const deadline = Date.now() + scale.recoverMs;
    const left = () => Math.max(1_000, deadline - Date.now());
    const visible = await load.allVisible(left());
    if (!visible) violations.push(`${load.acks.filter((a) => a.visibleAt === undefined).length} acknowledged commands not visible after ${scale.recoverMs / 1000} s`);
    // Events committed without an answer (the victim died before replying) must be projected too.
    await waitForReadModel(load.cartIds, left()).catch((err: Error) => violations.push(err.message));
    const to = await topicEnds(kafka, topics.cartEvents);
    const carts = await checkCarts({ cartIds: load.cartIds, acked: load.ackedVersions(), topicMessages: await readTopicBetween(kafka, topics.cartEvents, from, to) });
    const sagas = await checkSagas({ buyerId: buyer.id, productId, initialStock: INITIAL_STOCK, timeoutMs: left() });
    if (carts.lostAcks > 0) violations.push(`${carts.lostAcks} acknowledged commands not in the event store`);
    if (carts.missingOnKafka > 0) violations.push(`${carts.missingOnKafka} events never published`);
    if (carts.readModelMismatches.length > 0) violations.push(`${carts.readModelMismatches.length} carts' read model differs from the fold of their events, e.g. ${carts.readModelMismatches[0]}`);
    if (carts.deadLetters > 0) violations.push(`${carts.deadLetters} events dead-lettered`);
    if (sagas.stuck > 0) violations.push(`${sagas.stuck} orders stuck: ${JSON.stringify(sagas.byStatus)}`);
    if (sagas.cartsWithoutOrder > 0) violations.push(`${sagas.cartsWithoutOrder} checked-out carts never got their order`);
    if (sagas.stock.onHand !== sagas.stock.initial - sagas.stock.confirmedUnits || sagas.stock.reserved !== 0) violations.push(`stock ${JSON.stringify(sagas.stock)}: on hand must be initial − confirmed units, nothing reserved`);
    if (fault.check) violations.push(...(await fault.check()));

    const beforeEnd = load.acks.filter((a) => a.at <= faultEnd);
    const recoverySeconds = visible ? Math.max(0, ...beforeEnd.map((a) => a.visibleAt! - faultEnd)) / 1000 : null;
    return {
      case: c.name,
      injected: fault.injected,
      faultSeconds: (faultEnd - faultStart) / 1000,
      commandsSent: load.commandsSent,
      commandsAcked: load.acks.length,
      commandFailures: Object.fromEntries(load.commandFailures),
      failureSamples: Object.fromEntries(load.failureSamples),
      checkoutsSent: load.checkoutsSent,
      checkoutFailures: Object.fromEntries(load.checkoutFailures),
      carts,
      sagas,
      recoverySeconds,
      slowerThan5s: load.acks.filter((a) => (a.visibleAt ?? Infinity) - a.at > 5_000).length,
      violations,
    };
  } finally {
    await load.close();
  }
}

/** Until the read model has applied every event of the carts (acknowledged or not). */
async function waitForReadModel(cartIds: string[], timeoutMs: number): Promise<void> {
  const db = new pg.Client({ connectionString: urls.postgres('cart') });
  await db.connect();
  try {
    await waitFor('the cart read model applied every event of the store', async () => {
      const { rows } = await db.query<{ behind: string }>(
        `SELECT count(*) AS behind FROM (SELECT stream_id, max(version) AS v FROM events WHERE stream_id = ANY($1::text[]) GROUP BY stream_id) s
         LEFT JOIN cart_read.stream_checkpoints c USING (stream_id) WHERE coalesce(c.version, 0) < s.v`,
        [cartIds],
      );
      return Number(rows[0]!.behind) === 0;
    }, { timeoutMs, intervalMs: 200 });
  } finally {
    await db.end();
  }
}
