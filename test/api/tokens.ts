import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Builds JWTs for the 401 tests: signed by cognito-local's own key (whose private half ships in
// its package), by a stranger's key, or not at all.

const require = createRequire(import.meta.url);
const cognitoLocalKey = JSON.parse(readFileSync(require.resolve('cognito-local/lib/keys/cognitoLocal.private.json'), 'utf8')) as { pem: string };

export const cognitoLocalPrivateKey: KeyObject = createPrivateKey(cognitoLocalKey.pem);
export const strangerPrivateKey: KeyObject = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJwt(payload: Record<string, unknown>, key: KeyObject | 'none', header: Record<string, unknown> = {}): string {
  const head = encode({ alg: key === 'none' ? 'none' : 'RS256', typ: 'JWT', kid: 'CognitoLocal', ...header });
  const body = encode(payload);
  if (key === 'none') return `${head}.${body}.`;
  return `${head}.${body}.${sign('RSA-SHA256', Buffer.from(`${head}.${body}`), key).toString('base64url')}`;
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The same token with one claim changed and the original signature kept. */
export function tamper(token: string, claims: Record<string, unknown>): string {
  const [head, , signature] = token.split('.');
  return `${head}.${encode({ ...decodePayload(token), ...claims })}.${signature}`;
}
