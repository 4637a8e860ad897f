/**
 * Tokens for calling the local stack's services by hand (grpcurl), signed with the local
 * stack's own keys (dev-secrets.ts): the services verify their callers (README, "Security
 * model"), so a call needs the same token the BFF would send.
 *
 *   npm run -s token -- customer <user id>   an access token of that user: -H "authorization: Bearer $(…)"
 *   npm run -s token -- service [name]       a service token of the shop:  -H "x-service-token: $(…)"
 */
import { SERVICE_TOKEN_HEADER } from '@shop/platform/auth/caller';
import { devAccessToken, devServiceIdentity } from './dev-secrets.js';

const [kind, subject] = process.argv.slice(2);
if (kind === 'customer' && subject) {
  console.log(await devAccessToken(subject));
} else if (kind === 'service') {
  console.log((await devServiceIdentity(subject ?? 'cli').metadata())[SERVICE_TOKEN_HEADER]);
} else {
  console.error('usage: npm run -s token -- customer <user id> | service [name]   (tokens for the local stack only)');
  process.exit(2);
}
