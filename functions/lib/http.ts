import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { Conflict, NotFound, PreconditionFailed, ValidationFailed } from '@cloudseed/shared/errors';
import { originVerify } from './origin-verify.ts';
import { HttpProblem, problemResponse } from './problems.ts';
import { LimitReached, RateLimited } from './quotas.ts';

export const logger = new Logger({ serviceName: 'cloudseed-api' });

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResponse = APIGatewayProxyStructuredResultV2;
export interface User {
  /** Cognito `sub`: the owner key of everything the user creates. */
  readonly sub: string;
}
export type ApiContext = Context & { user?: User; jsonBody?: unknown };
export type ApiMiddleware = MiddlewareObj<ApiEvent, ApiResponse, Error, ApiContext>;

export interface ApiRequest {
  readonly event: ApiEvent;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
  readonly user: User | undefined;
}

export interface Reply {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as it is, with the content type given in `headers`. */
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_JSON_DEPTH = 32;

/**
 * The middleware stack every route shares; `extra` goes between the origin check and the body parser.
 * The origin check comes first so that a request around CloudFront costs no token verification.
 */
/** `body: 'optional'` lets a request come without one (no body, no content type): the handler sees undefined. */
export function route(
  fn: (request: ApiRequest) => Promise<Reply>,
  extra: readonly ApiMiddleware[] = [],
  options: { body?: boolean | 'optional' } = {},
) {
  let handler = middy<ApiEvent, ApiResponse, Error, ApiContext>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(requestIds())
    .use(originVerify());
  for (const middleware of extra) handler = handler.use(middleware);
  if (options.body) handler = handler.use(jsonBody(options.body === 'optional'));
  return handler.use(problems()).handler(async (event, context) =>
    toResponse(
      await fn({
        event,
        params: event.pathParameters ?? {},
        query: event.queryStringParameters ?? {},
        headers: event.headers,
        body: context.jsonBody,
        user: context.user,
      }),
    ),
  );
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

function toResponse(reply: Reply): ApiResponse {
  if (reply.text !== undefined) return { statusCode: reply.status, headers: { ...reply.headers }, body: reply.text };
  if (reply.body === undefined) return { statusCode: reply.status, headers: { 'cache-control': 'no-store', ...reply.headers } };
  return {
    statusCode: reply.status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...reply.headers },
    body: JSON.stringify(reply.body),
  };
}

function requestIds(): ApiMiddleware {
  return {
    before: ({ event }) => {
      logger.appendKeys({ requestId: event.requestContext.requestId, route: event.routeKey });
    },
  };
}

/** Parses a JSON body: content type, size and nesting are checked before JSON.parse sees it. */
export function jsonBody(optional = false): ApiMiddleware {
  return {
    before: (request) => {
      const { event } = request;
      if (optional && (event.body ?? '') === '' && event.headers['content-type'] === undefined) return;
      const contentType = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (contentType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(contentType)) {
        throw new HttpProblem(415, 'Unsupported Media Type', 'Send the body as application/json.');
      }
      const raw = event.body ?? '';
      const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
        throw new HttpProblem(413, 'Content Too Large', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
      }
      if (text.trim() === '')
        throw new HttpProblem(400, 'Bad Request', 'A JSON body is required.', { errors: [{ path: '/', message: 'is required' }] });
      if (nestingDepth(text) > MAX_JSON_DEPTH) {
        throw new HttpProblem(400, 'Bad Request', `The body nests deeper than ${MAX_JSON_DEPTH} levels.`, {
          errors: [{ path: '/', message: 'nests too deeply' }],
        });
      }
      try {
        request.context.jsonBody = JSON.parse(text) as unknown;
      } catch {
        throw new HttpProblem(400, 'Bad Request', 'The body is not valid JSON.', { errors: [{ path: '/', message: 'is not valid JSON' }] });
      }
    },
  };
}

/** Deepest bracket nesting of a JSON text, ignoring brackets inside strings. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') deepest = Math.max(deepest, ++depth);
    else if (char === '}' || char === ']') depth--;
  }
  return deepest;
}

/** Typed errors become 4xx problem documents; anything else is a 500 that echoes nothing. */
function problems(): ApiMiddleware {
  return {
    onError: (request) => {
      const { error } = request;
      if (request.response !== undefined && request.response !== null && error === undefined) return;
      if (error instanceof HttpProblem) {
        request.response = problemResponse(error.status, error.title, error.message, {
          ...(error.errors ? { errors: error.errors } : {}),
          headers: error.headers,
        });
      } else if (error instanceof ValidationFailed) {
        request.response = problemResponse(400, 'Bad Request', error.message, { errors: error.errors });
      } else if (error instanceof NotFound) {
        request.response = problemResponse(404, 'Not Found', error.message);
      } else if (error instanceof LimitReached) {
        request.response = problemResponse(409, 'Limit Reached', error.message);
      } else if (error instanceof RateLimited) {
        request.response = problemResponse(429, 'Too Many Requests', error.message, { headers: { 'retry-after': String(error.retryAfterSeconds) } });
      } else if (error instanceof Conflict) {
        request.response = problemResponse(409, 'Conflict', error.message);
      } else if (error instanceof PreconditionFailed) {
        request.response = problemResponse(412, 'Precondition Failed', error.message);
      } else {
        logger.error('unhandled error', error as Error);
        request.response = problemResponse(500, 'Internal Server Error', 'Something went wrong on our side. The request id is in the logs.');
      }
    },
  };
}
