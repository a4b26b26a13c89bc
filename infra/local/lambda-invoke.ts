import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lambdaContext } from './lambda-context.ts';
import { browserRefusal, refuse } from './browser-guard.ts';
import { log } from './log.ts';
import { closeServer, listen, LOOPBACK, origin } from './ports.ts';

// The slice of the Lambda API that cognito-local's trigger calls use: Invoke, RequestResponse.
// cognito-local's aws-sdk v2 client posts the event as JSON and reads the JSON reply; a handler
// that throws is reported the way Lambda does, as 200 with `X-Amz-Function-Error: Unhandled`.

/** Any handler: its event type is its own business (`never` accepts every parameter type). */
export type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

export interface LambdaInvokeServer {
  readonly endpoint: string;
  register(functionName: string, handler: LambdaHandler): void;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const TIMEOUT_MS = 5_000;

export async function startLambdaInvoke(): Promise<LambdaInvokeServer> {
  const functions = new Map<string, LambdaHandler>();
  const server = createServer((request, response) => {
    const refusal = browserRefusal(request.headers);
    if (refusal !== undefined) {
      refuse(response, refusal);
      return;
    }
    invoke(functions, request, response).catch((error: unknown) => {
      log.crash('lambda invoke endpoint failed', error);
      if (!response.headersSent) reply(response, 500, { message: 'internal error' }, { 'x-amzn-errortype': 'ServiceException' });
      else response.destroy();
    });
  });
  const port = await listen(server, 0, LOOPBACK);
  return {
    endpoint: origin(LOOPBACK, port),
    register: (functionName, handler) => void functions.set(functionName, handler),
    close: () => closeServer(server),
  };
}

async function invoke(functions: ReadonlyMap<string, LambdaHandler>, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const match = INVOKE_PATH.exec((request.url ?? '').split('?')[0] ?? '');
  if (request.method !== 'POST' || match === null) {
    reply(response, 404, { message: 'Unknown operation' }, { 'x-amzn-errortype': 'UnknownOperationException' });
    return;
  }
  // The SDK sends a bare name, a partial ARN or a full ARN; the name is the last `:` part that is
  // not a version or alias qualifier.
  const functionName =
    decodeURIComponent(match[1] ?? '')
      .replace(/^arn:aws:lambda:[^:]*:[^:]*:function:/, '')
      .split(':')[0] ?? '';
  const handler = functions.get(functionName);
  if (handler === undefined) {
    reply(response, 404, { Type: 'User', message: `Function not found: ${functionName}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
    return;
  }
  const payload = await readPayload(request);
  if (payload === undefined) {
    reply(
      response,
      413,
      { Type: 'User', message: `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes` },
      { 'x-amzn-errortype': 'RequestTooLargeException' },
    );
    return;
  }
  let event: unknown;
  try {
    event = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
  } catch {
    reply(
      response,
      400,
      { Type: 'User', message: 'Could not parse request body into json' },
      { 'x-amzn-errortype': 'InvalidRequestContentException' },
    );
    return;
  }
  const requestId = randomUUID();
  try {
    const result = await handler(event as never, lambdaContext(functionName, requestId, TIMEOUT_MS));
    log.debug(`invoked ${functionName} (${requestId})`);
    reply(response, 200, result ?? null, { 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': requestId });
  } catch (error) {
    log.crash(`function ${functionName} failed (${requestId})`, error);
    const errorType = error instanceof Error ? error.name : 'Error';
    const errorMessage = error instanceof Error ? error.message : String(error);
    reply(
      response,
      200,
      { errorType, errorMessage, trace: [] },
      { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': requestId },
    );
  }
}

function readPayload(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        request.removeAllListeners('data');
        request.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}
