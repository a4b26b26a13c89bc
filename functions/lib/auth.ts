import { CognitoJwtVerifier, JwtRsaVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mode, requireEnv } from './env.ts';
import type { ApiMiddleware, User } from './http.ts';
import { unauthorized } from './problems.ts';

// Cognito access tokens only, from our app client only: issuer, client_id, token_use, expiry and
// the RS256 signature are all checked. On AWS the CognitoJwtVerifier; in the local cloud the same
// checks against the installation's own public key, read from CLOUDSEED_HOME/keys (the local cloud
// makes the key pair on its first start and has cognito-local sign with it: infra/local/keys.ts).
// Nothing is fetched over the network: a key served by whatever answers on cognito-local's port,
// or the key that ships inside the cognito-local package, is never trusted.

const userPoolId = requireEnv('USER_POOL_ID');
const clientId = requireEnv('USER_POOL_CLIENT_ID');

/** The only JWKS a local verifier reads: one file, named by a file: URL. */
function installationJwksFetcher(jwksUri: string): Fetcher {
  return {
    fetch: async (uri) => {
      if (uri !== jwksUri) throw new Error(`refusing to fetch ${uri}`);
      const bytes = await readFile(fileURLToPath(uri));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  };
}

function createVerifier() {
  if (mode() === 'aws') return CognitoJwtVerifier.create({ userPoolId, clientId, tokenUse: 'access' });
  const jwksUri = pathToFileURL(join(requireEnv('CLOUDSEED_HOME'), 'keys', 'token-signing.jwks.json')).href;
  return JwtRsaVerifier.create(
    {
      issuer: requireEnv('COGNITO_ISSUER'),
      audience: null,
      jwksUri,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== 'access') throw new Error('not an access token');
        if (payload.client_id !== clientId) throw new Error('token of another app client');
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher: installationJwksFetcher(jwksUri) }) },
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
