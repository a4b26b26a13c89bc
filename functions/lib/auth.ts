import { CognitoJwtVerifier, JwtRsaVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { mode, requireEnv } from './env.ts';
import type { ApiMiddleware, User } from './http.ts';
import { unauthorized } from './problems.ts';

// Cognito access tokens only, from our app client only: issuer, client_id, token_use, expiry and
// the RS256 signature are all checked. On AWS the CognitoJwtVerifier; in the local cloud the same
// checks against cognito-local, whose JWKS is served over plain HTTP on loopback.

const userPoolId = requireEnv('USER_POOL_ID');
const clientId = requireEnv('USER_POOL_CLIENT_ID');

/** aws-jwt-verify's own fetcher is HTTPS-only; cognito-local is HTTP on loopback. */
const loopbackFetcher: Fetcher = {
  fetch: async (uri) => {
    const { hostname, protocol } = new URL(uri);
    if (protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) throw new Error(`refusing to fetch ${uri}`);
    const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`JWKS fetch failed with ${response.status}`);
    return response.arrayBuffer();
  },
};

function createVerifier() {
  if (mode() === 'aws') return CognitoJwtVerifier.create({ userPoolId, clientId, tokenUse: 'access' });
  const issuer = requireEnv('COGNITO_ISSUER');
  return JwtRsaVerifier.create(
    {
      issuer,
      audience: null,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== 'access') throw new Error('not an access token');
        if (payload.client_id !== clientId) throw new Error('token of another app client');
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher: loopbackFetcher }) },
  );
}

const verifier = createVerifier();
await verifier.hydrate();

export async function verifyAccessToken(token: string): Promise<User> {
  const payload = await verifier.verify(token);
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('token has no subject');
  return { sub: payload.sub };
}

/** Puts the caller on the context, or answers 401 without saying what was wrong with the token. */
export function authenticate(): ApiMiddleware {
  return {
    before: async (request) => {
      const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(request.event.headers.authorization ?? '');
      if (!match?.[1]) throw unauthorized();
      try {
        request.context.user = await verifyAccessToken(match[1]);
      } catch {
        throw unauthorized();
      }
    },
  };
}
