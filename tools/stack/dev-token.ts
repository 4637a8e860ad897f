/**
 * Tokens for calling the local stack's services by hand (grpcurl), signed with the local
 * stack's own keys (dev-secrets.ts): the services verify their callers (README, "Security
 * model"), so a call needs the same token the BFF would send.
 *
 *   npm run -s token -- customer <user id>   an access token of that user: -H "authorization: Bearer $(…)"
 *   npm run -s token -- service [name]       a service token of the shop:  -H "x-service-token: $(…)"
 */
import { importPKCS8, SignJWT } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@shop/platform/auth';
import { createServiceIdentity, SERVICE_TOKEN_HEADER } from '@shop/platform/auth/caller';
import { DEV_SIGNING_KEY_ID, devServiceTokenKey, devSigningKey } from './dev-secrets.js';

const [kind, subject] = process.argv.slice(2);
if (kind === 'customer' && subject) {
  const key = await importPKCS8(devSigningKey(), 'EdDSA');
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: DEV_SIGNING_KEY_ID })
    .setSubject(subject)
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
  console.log(token);
} else if (kind === 'service') {
  const identity = createServiceIdentity({ name: subject ?? 'cli', key: devServiceTokenKey(), ttlSeconds: 3600 });
  console.log((await identity.metadata())[SERVICE_TOKEN_HEADER]);
} else {
  console.error('usage: npm run -s token -- customer <user id> | service [name]   (tokens for the local stack only)');
  process.exit(2);
}
