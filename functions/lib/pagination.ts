import { PLAN_ID } from '@cloudseed/shared/plans/plans';
import { badRequest } from './problems.ts';

// nextToken is opaque to clients: base64url of the last id seen. It never carries the owner, so a
// token from another account can only ever page through the caller's own plans.

export function encodeNextToken(lastId: string | undefined): string | undefined {
  return lastId === undefined ? undefined : Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');
}

export function decodeNextToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof decoded.after === 'string' && PLAN_ID.test(decoded.after)) return decoded.after;
  } catch {
    // falls through to the 400 below
  }
  throw badRequest('nextToken is not one this API issued.', [{ path: '?nextToken', message: 'is not a valid page token' }]);
}

export function parseLimit(text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw badRequest(`limit must be a whole number from 1 to ${max}.`, [{ path: '?limit', message: `must be a whole number from 1 to ${max}` }]);
  }
  return Number(text);
}
