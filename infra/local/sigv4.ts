import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { LocalCredentials } from './aws.ts';

// AWS Signature Version 4, checked on the receiving side, for emulators that do not check it
// themselves (s3rver 3 looks up the access key id of a V4 request and never its signature).
// Both forms the SDK sends: the Authorization header and a presigned URL's query string.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

export interface SignedRequest {
  readonly method: string;
  /** The request target exactly as it arrived: path and query, still percent-encoded. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** The clock skew S3 tolerates between a request's date and its own. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

interface Claimed {
  readonly accessKeyId: string;
  readonly scope: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly payloadHash: string;
  /** The query pairs that are part of the canonical request. */
  readonly query: readonly [string, string][];
}

/** Whether `request` carries a valid signature by `credentials`, and if not, why not. */
export function checkSignature(request: SignedRequest, credentials: LocalCredentials, now = new Date()): SignatureCheck {
  const queryAt = request.url.indexOf('?');
  const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  let query: [string, string][];
  try {
    query = parseQuery(queryAt === -1 ? '' : request.url.slice(queryAt + 1));
  } catch {
    return refused('the query string is not valid percent-encoding');
  }
  const claimed = typeof request.headers.authorization === 'string' ? fromHeader(request, query) : fromQuery(query, now);
  if (typeof claimed === 'string') return refused(claimed);

  if (claimed.accessKeyId !== credentials.accessKeyId) return refused('unknown access key');
  const [date, region, service, terminator] = claimed.scope.split('/');
  if (date === undefined || region === undefined || service === undefined || terminator !== 'aws4_request' || !claimed.amzDate.startsWith(date)) {
    return refused('malformed credential scope');
  }
  const signedAt = parseAmzDate(claimed.amzDate);
  if (signedAt === undefined) return refused('malformed X-Amz-Date');
  if (typeof request.headers.authorization === 'string' && Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS)
    return refused('request time too skewed');
  if (!claimed.signedHeaders.includes('host')) return refused('host is not signed');

  const canonicalHeaders: string[] = [];
  for (const name of claimed.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return refused(`signed header ${name} is missing`);
    canonicalHeaders.push(`${name}:${(Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ')}\n`);
  }
  const canonicalRequest = [
    request.method,
    path,
    claimed.query
      .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
      .sort(([a, x], [b, y]) => (a === b ? compare(x, y) : compare(a, b)))
      .map(([key, value]) => `${key}=${value}`)
      .join('&'),
    canonicalHeaders.join(''),
    claimed.signedHeaders.join(';'),
    claimed.payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, claimed.amzDate, claimed.scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, date);
  for (const part of [region, service, terminator]) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  const provided = Buffer.from(claimed.signature, 'hex');
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) return refused('signature does not match');
  return { ok: true };
}

function fromHeader(request: SignedRequest, query: [string, string][]): Claimed | string {
  const header = request.headers.authorization ?? '';
  if (!header.startsWith(`${ALGORITHM} `)) return 'unsupported signing algorithm';
  const fields = new Map(
    header
      .slice(ALGORITHM.length + 1)
      .split(',')
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
      }),
  );
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const amzDate = request.headers['x-amz-date'];
  if (credential === undefined || signedHeaders === undefined || signature === undefined || typeof amzDate !== 'string')
    return 'incomplete Authorization header';
  const payloadHash = request.headers['x-amz-content-sha256'];
  // S3 requests name their payload's hash; nobody here sends a body unsigned by other means.
  return claimOf(credential, signedHeaders, signature, amzDate, typeof payloadHash === 'string' ? payloadHash : sha256Hex(''), query);
}

function fromQuery(query: [string, string][], now: Date): Claimed | string {
  const get = (name: string) => query.find(([key]) => key === name)?.[1];
  const credential = get('X-Amz-Credential');
  const signedHeaders = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  const amzDate = get('X-Amz-Date');
  const expires = Number(get('X-Amz-Expires'));
  if (get('X-Amz-Algorithm') === undefined) return 'the request is not signed';
  if (get('X-Amz-Algorithm') !== ALGORITHM) return 'unsupported signing algorithm';
  if (credential === undefined || signedHeaders === undefined || signature === undefined || amzDate === undefined) return 'incomplete presigned URL';
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS) return 'X-Amz-Expires out of range';
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return 'malformed X-Amz-Date';
  if (now.getTime() > signedAt.getTime() + expires * 1000) return 'presigned URL expired';
  if (signedAt.getTime() - now.getTime() > MAX_SKEW_MS) return 'presigned URL from the future';
  return claimOf(
    credential,
    signedHeaders,
    signature,
    amzDate,
    'UNSIGNED-PAYLOAD',
    query.filter(([key]) => key !== 'X-Amz-Signature'),
  );
}

/** What a request says about its signature, from the Authorization header or the presigned URL alike. */
function claimOf(
  credential: string,
  signedHeaders: string,
  signature: string,
  amzDate: string,
  payloadHash: string,
  query: [string, string][],
): Claimed {
  const slash = credential.indexOf('/');
  return {
    accessKeyId: credential.slice(0, slash),
    scope: credential.slice(slash + 1),
    signedHeaders: signedHeaders.split(';'),
    signature,
    amzDate,
    payloadHash,
    query,
  };
}

function parseQuery(text: string): [string, string][] {
  if (text === '') return [];
  return text.split('&').map((pair) => {
    const at = pair.indexOf('=');
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, '%20'));
    return at === -1 ? [decode(pair), ''] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
  });
}

function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4 wants. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const refused = (reason: string): SignatureCheck => ({ ok: false, reason });
