import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// API Gateway HTTP API, payload format 2.0: the event it hands a Lambda integration and the way it
// reads the result back. https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

export interface EventInput {
  readonly request: IncomingMessage;
  readonly routeKey: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly pathParameters: Record<string, string>;
  readonly body: Buffer | undefined;
  readonly requestId: string;
  readonly now: Date;
}

export function apiGatewayEvent(input: EventInput): APIGatewayProxyEventV2 {
  const { request, now } = input;
  const headers = eventHeaders(request);
  const sourceIp = clientAddress(request);
  const domainName = (headers.host ?? 'localhost').replace(/:\d+$/, '');
  const cookies = (request.headersDistinct.cookie ?? [])
    .flatMap((value) => value.split(';'))
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie !== '');
  const queryStringParameters = queryParameters(input.rawQueryString);
  const body = eventBody(input.body);
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters !== undefined ? { queryStringParameters } : {}),
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: input.pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: request.method ?? 'GET',
        path: input.rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: input.requestId,
      routeKey: input.routeKey,
      stage: '$default',
      time: accessLogTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body !== undefined ? { body: body.text } : {}),
    isBase64Encoded: body?.isBase64Encoded ?? false,
  };
}

/**
 * Lower-case names, repeated headers joined with commas, cookies moved to `cookies`, and the
 * forwarding headers API Gateway adds.
 */
function eventHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (name === 'cookie' || values === undefined) continue;
    headers[name] = values.join(',');
  }
  const sourceIp = clientAddress(request);
  headers['x-forwarded-for'] = headers['x-forwarded-for'] === undefined ? sourceIp : `${headers['x-forwarded-for']}, ${sourceIp}`;
  headers['x-forwarded-port'] = String(request.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  return headers;
}

function clientAddress(request: IncomingMessage): string {
  return (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

/** Decoded; a repeated name's values joined with commas; absent when there is no query. */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    parameters[name] = parameters[name] === undefined ? value : `${parameters[name]},${value}`;
  }
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

/** Text as it came; anything that is not valid UTF-8 base64-encoded. */
function eventBody(body: Buffer | undefined): { text: string; isBase64Encoded: boolean } | undefined {
  if (body === undefined || body.length === 0) return undefined;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body), isBase64Encoded: false };
  } catch {
    return { text: body.toString('base64'), isBase64Encoded: true };
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the access-log time API Gateway puts in `requestContext.time`. */
function accessLogTime(date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

export interface HttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * What API Gateway makes of a handler's return value: a structured result as it says; anything
 * else (payload 2.0 only) is a 200 JSON body. A malformed structured result is a 500, as there.
 */
export function httpResult(result: unknown): HttpResult {
  if (!isStructured(result)) {
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(text) };
  }
  const { statusCode } = result;
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) throw new Error(`the handler returned statusCode ${String(statusCode)}`);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  const raw = result.body ?? '';
  const body = result.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { statusCode, headers, body };
}

function isStructured(result: unknown): result is APIGatewayProxyStructuredResultV2 & { statusCode: number } {
  return typeof result === 'object' && result !== null && 'statusCode' in result;
}
