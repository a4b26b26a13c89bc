import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { browserRefusal, refuse } from './browser-guard.ts';
import { log } from './log.ts';
import { closeServer, listen, LOOPBACK, origin } from './ports.ts';

// The one HTTP server every AWS stand-in of the local cloud runs on (Lambda Invoke, EventBridge
// Scheduler, Step Functions): loopback only, requests from web pages refused, the body read with a
// size limit and parsed as JSON, and every failure answered the way the SDKs read AWS errors — a
// status, an `x-amzn-errortype` header and a JSON body naming the type. A service only maps a
// parsed request to a reply.

export interface JsonRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  /** The parsed body; `{}` when there was none. */
  readonly body: unknown;
}

export interface JsonReply {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error the client caused or may retry, answered with its AWS error type. */
export class ServiceError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export interface JsonServiceOptions {
  /** For the log: "the Scheduler stand-in". */
  readonly name: string;
  readonly contentType?: string;
  readonly maxBodyBytes?: number;
  /** The body of an error reply; AWS's JSON protocols differ in the field names. */
  readonly errorBody?: (error: ServiceError) => unknown;
  /** The error type for a body that is not JSON (Lambda: InvalidRequestContentException). */
  readonly invalidJsonType?: string;
}

export interface JsonService {
  readonly endpoint: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
const defaultErrorBody = (error: ServiceError) => ({ __type: error.type, message: error.message });

export async function startJsonService(options: JsonServiceOptions, handle: (request: JsonRequest) => Promise<JsonReply>): Promise<JsonService> {
  const contentType = options.contentType ?? 'application/json';
  const errorBody = options.errorBody ?? defaultErrorBody;
  const send = (response: ServerResponse, reply: JsonReply) => {
    const text = JSON.stringify(reply.body ?? null);
    response.writeHead(reply.status ?? 200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...reply.headers });
    response.end(text);
  };
  const sendError = (response: ServerResponse, error: ServiceError) =>
    send(response, { status: error.status, body: errorBody(error), headers: { 'x-amzn-errortype': error.type } });

  const server = createServer((request, response) => {
    const refusal = browserRefusal(request.headers);
    if (refusal !== undefined) {
      refuse(response, refusal);
      return;
    }
    serve(request)
      .then((reply) => send(response, reply))
      .catch((error: unknown) => {
        if (error instanceof ServiceError) {
          sendError(response, error);
          return;
        }
        log.error(`${options.name} failed`, error);
        if (!response.headersSent) sendError(response, new ServiceError('InternalFailure', 'internal error', 500));
        else response.destroy();
      });
  });

  async function serve(request: IncomingMessage): Promise<JsonReply> {
    const payload = await readBody(request, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (payload === undefined) throw new ServiceError('RequestTooLargeException', 'The request body is too large.', 413);
    let body: unknown = {};
    if (payload.length > 0) {
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch {
        throw new ServiceError(options.invalidJsonType ?? 'SerializationException', 'Could not parse the request body as JSON.');
      }
    }
    return handle({ method: request.method ?? 'GET', url: new URL(request.url ?? '/', 'http://local'), headers: request.headers, body });
  }

  const port = await listen(server, 0, LOOPBACK);
  return { endpoint: origin(LOOPBACK, port), close: () => closeServer(server) };
}

/** The body, or undefined once it passes `limit` bytes (the rest is not read). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
