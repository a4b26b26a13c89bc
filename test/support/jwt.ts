import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

export function decodeJwt(token: string): DecodedJwt {
  const [header = '', payload = ''] = token.split('.');
  const part = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
}

/** Checks an RS256 signature against the issuer's JWKS; returns the claims. Expiry is not checked. */
export async function verifyJwt(token: string, jwksUrl: string): Promise<Record<string, unknown>> {
  const { header, payload } = decodeJwt(token);
  if (header.alg !== 'RS256') throw new Error(`unexpected alg ${String(header.alg)}`);
  const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: (JsonWebKey & { kid?: string })[] };
  const jwk = keys.find((key) => key.kid === header.kid);
  if (jwk === undefined) throw new Error(`no key ${String(header.kid)} at ${jwksUrl}`);
  const [head = '', body = '', signature = ''] = token.split('.');
  const valid = verify(
    'RSA-SHA256',
    Buffer.from(`${head}.${body}`),
    createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) throw new Error('bad signature');
  return payload;
}

/** The key a local cloud's installation signs its tokens with (infra/local/keys.ts), to forge valid ones. */
export async function installationSigningKey(home: string): Promise<KeyObject> {
  const { pem } = JSON.parse(await readFile(join(home, 'keys', 'token-signing.private.json'), 'utf8')) as { pem: string };
  return createPrivateKey(pem);
}
