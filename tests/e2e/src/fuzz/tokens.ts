import { devAccessToken, devServiceIdentity } from '@shop/tools/dev-secrets';

/** The callers the fuzz specs speak as: the local stack's tokens (`npm run token`), as metadata or headers. */

let identity: ReturnType<typeof devServiceIdentity> | undefined;

/** A service token of the local stack (`npm run token -- service fuzz`). */
export async function asService(): Promise<Record<string, string>> {
  identity ??= devServiceIdentity('fuzz', 600);
  return identity.metadata();
}

/** A customer's access token, signed with the local stack's key (`npm run token -- customer <id>`). */
export async function asCustomer(userId: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await devAccessToken(userId, '10m')}` };
}
