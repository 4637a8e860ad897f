import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@shop/platform/auth';
import { createServiceIdentity } from '@shop/platform/auth/caller';
import { stackDir } from './topology.js';

/**
 * The local stack's secrets: generated once, kept under .stack/secrets (git-ignored), so
 * that tokens survive restarts. Deployments pass their own (README, "Security model").
 */
const secretFile = (name: string, make: () => string): string => {
  const file = path.join(stackDir, 'secrets', name);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, make(), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8');
};

/** user-command's access token signing key (JWT_PRIVATE_KEY). */
export const devSigningKey = (): string =>
  secretFile('jwt-ed25519.pem', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

export const DEV_SIGNING_KEY_ID = 'local-dev-1';

/** The public half of the signing key as the services verify access tokens with it (AUTH_JWKS). */
export const devAccessTokenJwks = (): string =>
  JSON.stringify({ keys: [{ ...createPublicKey(devSigningKey()).export({ format: 'jwk' }), kid: DEV_SIGNING_KEY_ID, alg: 'EdDSA', use: 'sig' }] });

/** The key the services sign their own calls with (SERVICE_TOKEN_KEY). */
export const devServiceTokenKey = (): string => secretFile('service-token-key', () => randomBytes(32).toString('hex'));

let signingKey: Promise<CryptoKey> | undefined;

/** An access token of `userId` as user-command issues them, signed with the local stack's key (`ttl` as jose reads it: '1h', '10m'). */
export async function devAccessToken(userId: string, ttl = '1h'): Promise<string> {
  signingKey ??= importPKCS8(devSigningKey(), 'EdDSA');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: DEV_SIGNING_KEY_ID })
    .setSubject(userId)
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(await signingKey);
}

/** The identity a process named `name` calls the local stack's services with (signed with SERVICE_TOKEN_KEY). */
export const devServiceIdentity = (name: string, ttlSeconds = 3600) => createServiceIdentity({ name, key: devServiceTokenKey(), ttlSeconds });
