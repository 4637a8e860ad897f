import { EmailVerified, ProfileUpdated, UserDeleted, UserRegistered } from '@shop/contracts/shop/user/v1/events';
import type { Address } from '@shop/contracts/shop/user/v1/user';
import type { RecordedEvent } from '@shop/eventsourcing';
import type { DocumentProjection } from '@shop/eventsourcing/postgres';
import type { Queryable } from '@shop/platform/postgres/pool';
import { USER_STREAM_TYPE, userEventCodec } from '../domain/events.js';
import { open } from '../personal-data/sealing.js';
import { loadUserKeys } from '../personal-data/user-keys.js';

/** A user as the read model keeps it: never a credential. */
export interface UserView {
  id: string;
  username: string;
  email: string;
  displayName: string;
  address: Address | null;
  emailVerified: boolean;
  /** Stream version applied. */
  version: number;
  /** RFC 3339. */
  createdAt: string;
  updatedAt: string;
}

export const USER_READ_SCHEMA = 'user_read';

/**
 * Pure: the next state of a user's view after one recorded event. UserDeleted removes
 * the row, and with it the personal data it held. Events that change nothing shown
 * (a password, a verification request) still move the version on, so that a reader
 * waiting for that version is not kept waiting.
 */
export function evolveUserView(view: UserView | null, recorded: RecordedEvent): UserView | null {
  const e = userEventCodec.decode(recorded.type, recorded.data);
  const stamp = { version: recorded.version, updatedAt: recorded.occurredAt };
  if (e?.type === UserDeleted.$type) return null;
  if (e?.type === UserRegistered.$type) {
    return {
      id: recorded.streamId,
      username: e.data.username,
      email: e.data.email,
      displayName: e.data.displayName,
      address: null,
      emailVerified: false,
      createdAt: recorded.occurredAt,
      ...stamp,
    };
  }
  if (!view) return null;
  switch (e?.type) {
    case ProfileUpdated.$type:
      return { ...view, ...stamp, displayName: e.data.displayName, address: e.data.shippingAddress ?? null };
    case EmailVerified.$type:
      return { ...view, ...stamp, emailVerified: true };
    default:
      return { ...view, ...stamp };
  }
}

interface UserRow {
  id: string;
  username: string;
  email: string;
  display_name: string;
  address: Address | null;
  email_verified: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const columns = 'id, username, email, display_name, address, email_verified, version, created_at, updated_at';

export const toUserView = (r: UserRow): UserView => ({
  id: r.id,
  username: r.username,
  email: r.email,
  displayName: r.display_name,
  address: r.address,
  emailVerified: r.email_verified,
  version: Number(r.version),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export async function loadUserViews(q: Queryable, schema: string, ids: string[]): Promise<Map<string, UserView>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<UserRow>(`SELECT ${columns} FROM ${schema}.users WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id, toUserView(r)]));
}

/** Writes a batch in at most two statements: delete the deleted users, upsert the others (unnest). */
export async function saveUserViews(q: Queryable, schema: string, docs: Map<string, UserView | null>): Promise<void> {
  const gone = [...docs.keys()].filter((id) => docs.get(id) === null);
  const kept = [...docs.values()].filter((v): v is UserView => v !== null);
  if (gone.length > 0) await q.query(`DELETE FROM ${schema}.users WHERE id = ANY($1::uuid[])`, [gone]);
  if (kept.length === 0) return;
  await q.query(
    `INSERT INTO ${schema}.users (${columns})
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bool[], $7::bigint[], $8::timestamptz[], $9::timestamptz[])
     ON CONFLICT (id) DO UPDATE SET
       username = excluded.username, email = excluded.email, display_name = excluded.display_name, address = excluded.address,
       email_verified = excluded.email_verified, version = excluded.version, updated_at = excluded.updated_at`,
    [
      kept.map((v) => v.id),
      kept.map((v) => v.username),
      kept.map((v) => v.email),
      kept.map((v) => v.displayName),
      kept.map((v) => (v.address ? JSON.stringify(v.address) : null)),
      kept.map((v) => v.emailVerified),
      kept.map((v) => v.version),
      kept.map((v) => v.createdAt),
      kept.map((v) => v.updatedAt),
    ],
  );
}

// No unique index on username or email: streams are projected from several partitions,
// so a reused username's registration may land before the old owner's deletion. The
// command side's claims are where uniqueness is enforced.
const ddl = (schema: string) => `
  CREATE TABLE IF NOT EXISTS ${schema}.users (
    id uuid PRIMARY KEY,
    username text NOT NULL,
    email text NOT NULL,
    display_name text NOT NULL,
    address jsonb,
    email_verified boolean NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX IF NOT EXISTS users_username ON ${schema}.users (username, id);`;

/**
 * The data keys of the users being applied. Events arrive sealed (from Kafka); the runtime
 * loads a batch's documents before it folds the batch's events, so `load` fetches their
 * keys too and `evolve` opens each event with its user's. A user without a key (deleted)
 * reads as erased. Events read back from the store to heal a gap come already opened.
 * The cap bounds memory: far above the users of one batch, so a key loaded for a batch is
 * still here when the batch folds.
 */
const keyring = new Map<string, Buffer>();
const KEYRING_CAP = 100_000;

async function loadWithKeys(q: Queryable, schema: string, ids: string[]): Promise<Map<string, UserView>> {
  const [views, keys] = await Promise.all([loadUserViews(q, schema, ids), loadUserKeys(q, ids)]);
  for (const id of ids) {
    keyring.delete(id);
    const key = keys.get(id);
    if (key) keyring.set(id, key);
  }
  while (keyring.size > KEYRING_CAP) keyring.delete(keyring.keys().next().value!);
  return views;
}

function evolveSealed(view: UserView | null, recorded: RecordedEvent): UserView | null {
  const next = evolveUserView(view, { ...recorded, data: open(recorded.type, recorded.streamId, recorded.data, keyring.get(recorded.streamId)) });
  if (recorded.type === UserDeleted.$type) keyring.delete(recorded.streamId);
  return next;
}

/** The user read model (schema `user_read`), kept by the projector runtime of @shop/eventsourcing. */
export const userView: DocumentProjection<UserView> = {
  name: 'user-view',
  schema: USER_READ_SCHEMA,
  streamTypes: [USER_STREAM_TYPE],
  ddl,
  evolve: evolveSealed,
  load: loadWithKeys,
  save: saveUserViews,
};
