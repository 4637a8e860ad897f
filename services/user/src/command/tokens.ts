import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from 'jose';
import type { Logger } from '@shop/platform/log';
import type { Clock } from '@shop/platform/ids';

// Set in one place (the platform), where every verifier reads them too.
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@shop/platform/auth';

export interface TokenSettings {
  /** PKCS8 PEM or a private JWK (JSON) of an Ed25519 or P-256 key; absent = a dev key generated at start. */
  privateKey?: string | undefined;
  /** Key id in the JWT header and the JWKS; default: the key's JWK thumbprint. */
  keyId?: string | undefined;
  accessTtlSeconds: number;
  /** Public keys published after the current one during a rotation: the next and the previous key (each needs its `kid`). */
  extraPublicKeys?: Array<Record<string, unknown>> | undefined;
}

export interface TokenIssuer {
  readonly accessTtlSeconds: number;
  /** A signed access token (subject = user id). */
  accessToken(userId: string): Promise<string>;
  /** The public key set, as served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] };
}

/** SHA-256, hex: how refresh and verification tokens are stored. */
export const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/** An opaque random token (256 bits, base64url). */
export const randomToken = () => randomBytes(32).toString('base64url');

/** Builds the issuer from configuration; without a key it generates one and warns (development only). */
export async function createTokenIssuer(settings: TokenSettings, clock: Clock, log: Logger): Promise<TokenIssuer> {
  let privateKey: KeyObject;
  if (settings.privateKey) {
    const text = settings.privateKey.trim();
    privateKey = text.startsWith('{') ? createPrivateKey({ key: JSON.parse(text) as Record<string, unknown> as never, format: 'jwk' }) : createPrivateKey(text);
  } else {
    privateKey = generateKeyPairSync('ed25519').privateKey;
    log.warn('JWT_PRIVATE_KEY is not set: signing with a key generated at start; tokens die with this process and other replicas reject them. Set JWT_PRIVATE_KEY outside development.');
  }
  const alg = algorithmOf(privateKey);
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = settings.keyId ?? (await calculateJwkThumbprint(publicJwk));
  const published: JWK = { ...publicJwk, kid, alg, use: 'sig' };
  const extra = (settings.extraPublicKeys ?? []).map((k, i) => extraKey(k, i, kid));

  return {
    accessTtlSeconds: settings.accessTtlSeconds,
    async accessToken(userId) {
      const now = Math.floor(clock().getTime() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setSubject(userId)
        .setIssuedAt(now)
        .setExpirationTime(now + settings.accessTtlSeconds)
        .setJti(randomUUID())
        .sign(privateKey);
    },
    jwks: () => ({ keys: [published, ...extra] }),
  };
}

/** An extra key as published: public, with its own `kid`, for signatures only. */
function extraKey(key: Record<string, unknown>, index: number, currentKid: string): JWK {
  const where = `JWT_EXTRA_PUBLIC_KEYS: key ${index + 1}`;
  if ('d' in key) throw new Error(`${where} holds a private key: publish only public keys`);
  if (typeof key.kid !== 'string' || key.kid === '') throw new Error(`${where} needs its kid (the one its tokens carry)`);
  if (key.kid === currentKid) throw new Error(`${where} has the current key's kid ${currentKid}: give the new key a new kid (JWT_KEY_ID)`);
  if (key.kty !== 'OKP' && key.kty !== 'EC') throw new Error(`${where}: an Ed25519 (OKP) or P-256 (EC) public key expected`);
  return { ...(key as JWK), use: 'sig' };
}

function algorithmOf(key: KeyObject): 'EdDSA' | 'ES256' {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`JWT_PRIVATE_KEY: must be an Ed25519 or P-256 private key, not ${key.asymmetricKeyType}`);
}
