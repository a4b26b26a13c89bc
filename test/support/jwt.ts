import { createPublicKey, verify } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';

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
  const valid = verify('RSA-SHA256', Buffer.from(`${head}.${body}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'));
  if (!valid) throw new Error('bad signature');
  return payload;
}
