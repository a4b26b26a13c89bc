import type { PublicConfig } from '@cloudseed/shared/config';
import type { Route } from '@cloudseed/functions/routes';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGatewayEvent, httpResult } from './api-gateway.ts';
import type { HttpResult } from './api-gateway.ts';
import type { DocsAssets } from './docs-assets.ts';
import type { WebApp } from './web-app.ts';
import { lambdaContext } from './lambda-context.ts';
import { log } from './log.ts';
import { closeServer, listen } from './ports.ts';
import { createRouter } from './routing.ts';
import type { Router } from './routing.ts';

// The local stand-in for API Gateway: matches a request to a route of functions/routes.ts, builds
// the payload 2.0 event, calls the route's handler module as Lambda would, and writes the result.
// Next to the API it serves what CloudFront serves on AWS: /config.json, the docs assets and,
// on every path outside /v1, the web app.

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

export interface LoadedRoute extends Route {
  readonly functionName: string;
  readonly handler: ApiHandler;
}

export type { PublicConfig };

export interface AdapterApp {
  readonly routes: readonly LoadedRoute[];
  readonly config: PublicConfig;
  readonly docs: DocsAssets;
  readonly web: WebApp;
}

export interface HttpAdapter {
  /** Binds the port; until `serve`, every request gets a 503. */
  listen(port: number, host: string): Promise<number>;
  serve(app: AdapterApp): void;
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;
/** API Gateway's integration timeout. */
const HANDLER_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 1_000;

interface Serving {
  readonly app: AdapterApp;
  readonly router: Router<LoadedRoute>;
}

export function createHttpAdapter(): HttpAdapter {
  let serving: Serving | undefined;
  const server = createServer((request, response) => {
    const started = Date.now();
    response.once('finish', () => log.debug(`${request.method} ${request.url} → ${response.statusCode} (${Date.now() - started} ms)`));
    const handled =
      serving === undefined
        ? Promise.resolve(problem(response, 503, 'Service Unavailable', 'The local cloud is still starting.'))
        : handle(serving, request, response);
    handled.catch((error: unknown) => {
      if (request.destroyed && (error as NodeJS.ErrnoException).code === 'ECONNRESET') return; // the client went away
      log.crash(`${request.method} ${request.url} failed in the adapter`, error);
      if (!response.headersSent) problem(response, 500, 'Internal Server Error', 'The local cloud failed to handle the request; see its log.');
      else response.destroy();
    });
  });
  return {
    listen: (port, host) => listen(server, port, host),
    serve(app) {
      serving = { app, router: createRouter(app.routes) };
    },
    close: () => closeServer(server, CLOSE_GRACE_MS),
  };
}

async function handle({ app, router }: Serving, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : url.slice(queryAt + 1);
  const method = request.method ?? 'GET';
  if (!rawPath.startsWith('/')) {
    problem(response, 400, 'Bad Request', 'The request target must be a path.');
    return;
  }

  if (rawPath === '/config.json') {
    if (allowRead(method, response))
      send(response, method, {
        statusCode: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: Buffer.from(JSON.stringify(app.config)),
      });
    return;
  }
  if (rawPath.startsWith('/docs-assets/')) {
    if (!allowRead(method, response)) return;
    const asset = await app.docs.get(rawPath.slice('/docs-assets/'.length));
    if (asset === undefined) problem(response, 404, 'Not Found', `No asset at ${rawPath}.`);
    else
      send(response, method, {
        statusCode: 200,
        headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' },
        body: asset.body,
      });
    return;
  }

  if (rawPath !== '/v1' && !rawPath.startsWith('/v1/')) {
    if (!allowRead(method, response)) return;
    const asset = await app.web.get(rawPath);
    if (asset === undefined) problem(response, 404, 'Not Found', `No file at ${rawPath}.`);
    else send(response, method, { statusCode: asset.status, headers: { ...asset.headers, 'content-type': asset.contentType }, body: asset.body });
    return;
  }

  const match = router.match(method, rawPath);
  if (match.kind === 'not-found') {
    problem(response, 404, 'Not Found', `No route for ${rawPath}.`);
    return;
  }
  if (match.kind === 'method-not-allowed') {
    problem(response, 405, 'Method Not Allowed', `${rawPath} answers ${match.allow.join(', ')}.`, { allow: match.allow.join(', ') });
    return;
  }
  if (match.kind === 'bad-path') {
    problem(response, 400, 'Bad Request', match.detail);
    return;
  }

  const body = await readBody(request);
  if (body === 'too-large') {
    tooLarge(response);
    return;
  }
  const { route } = match;
  const requestId = randomUUID();
  const event = apiGatewayEvent({
    request,
    routeKey: `${route.method} ${route.path}`,
    rawPath,
    rawQueryString,
    pathParameters: match.pathParameters,
    body,
    requestId,
    now: new Date(),
  });
  let result: HttpResult;
  try {
    result = httpResult(
      await withTimeout(route.handler(event, lambdaContext(route.functionName, requestId, HANDLER_TIMEOUT_MS)), HANDLER_TIMEOUT_MS),
    );
  } catch (error) {
    if (error instanceof HandlerTimeout) {
      log.error(`${route.functionName} did not answer within ${HANDLER_TIMEOUT_MS} ms (request ${requestId})`);
      problem(response, 503, 'Service Unavailable', `The handler did not answer within ${HANDLER_TIMEOUT_MS / 1000} s. Request id ${requestId}.`);
    } else {
      log.crash(`${route.functionName} failed (request ${requestId})`, error);
      problem(response, 500, 'Internal Server Error', `The handler failed. Request id ${requestId}; the local cloud's log has the error.`);
    }
    return;
  }
  send(response, method, result);
}

/** GET and HEAD only; anything else is answered here with a 405. */
function allowRead(method: string, response: ServerResponse): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  problem(response, 405, 'Method Not Allowed', 'Only GET and HEAD are allowed here.', { allow: 'GET, HEAD' });
  return false;
}

/**
 * The body, or `too-large` as soon as it is known to pass MAX_BODY_BYTES: from Content-Length
 * before anything is read, or while reading a chunked body. Nothing past the limit is kept.
 */
function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData);
      request.off('end', onEnd);
      chunks.length = 0;
      resolve('too-large');
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', reject);
  });
}

/**
 * 413, and the connection closes: the rest of the body is never read into memory. Node drains
 * what the client already sent while the answer goes out; a client that keeps sending is cut off.
 */
function tooLarge(response: ServerResponse): void {
  problem(response, 413, 'Content Too Large', `The request body must be at most ${MAX_BODY_BYTES} bytes.`, { connection: 'close' });
  response.once('finish', () => setTimeout(() => response.socket?.destroy(), 1_000).unref());
}

class HandlerTimeout extends Error {
  override readonly name = 'HandlerTimeout';
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HandlerTimeout()), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function send(response: ServerResponse, method: string, result: HttpResult): void {
  response.writeHead(result.statusCode, { ...result.headers, 'content-length': result.body.length });
  response.end(method === 'HEAD' ? undefined : result.body);
}

function problem(response: ServerResponse, status: number, title: string, detail: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify({ type: 'about:blank', status, title, detail }));
  response.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'content-length': body.length, ...headers });
  response.end(body);
}
