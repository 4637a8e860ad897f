import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { accessTokenAuthenticator, createServiceIdentity, type CallerAuthenticator } from '@shop/platform/auth/caller';
import { withMetadata } from '@shop/platform/grpc/client';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@shop/platform/auth';

export interface TestAuth {
  /** What a server of the test verifies its callers with (startGrpcServer's `authenticate`). */
  authenticate: CallerAuthenticator;
  /** Call options of a signed-in customer: their access token, as the BFF forwards it. */
  asCustomer(userId: string): Promise<{ metadata: Record<string, string> }>;
  /** Call options of a service of the shop (its service token). */
  asService(name?: string): Promise<{ metadata: Record<string, string> }>;
  /** `client` calling as a service of the shop, its token renewed as it ages (what a call passes itself comes on top). */
  asServiceClient<C extends object>(client: C, name?: string): C;
  /** The keys, for a process started with AUTH_JWKS and SERVICE_TOKEN_KEY. */
  jwks: { keys: Array<Record<string, unknown>> };
  serviceKey: string;
}

/**
 * Keys of a test's own: a signing key pair for customers' access tokens (as user-command
 * issues them) and a service token key. Real tokens, real verification.
 */
export async function createTestAuth(): Promise<TestAuth> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'test-1', alg: 'EdDSA', use: 'sig' }] };
  const serviceKey = `test-service-key-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  const identities = new Map<string, ReturnType<typeof createServiceIdentity>>();
  const asService = async (name = 'test') => {
    let identity = identities.get(name);
    if (!identity) identities.set(name, (identity = createServiceIdentity({ name, key: serviceKey })));
    return { metadata: await identity.metadata() };
  };
  return {
    authenticate: accessTokenAuthenticator({ fetchJwks: async () => jwks, serviceKey }),
    async asCustomer(userId) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test-1' })
        .setSubject(userId)
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
      return { metadata: { authorization: `Bearer ${token}` } };
    },
    asService,
    asServiceClient(client, name = 'test') {
      return withMetadata(client, async () => (await asService(name)).metadata);
    },
    jwks,
    serviceKey,
  };
}
