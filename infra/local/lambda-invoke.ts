import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { lambdaContext } from './lambda-context.ts';
import { ServiceError, startJsonService } from './json-service.ts';
import type { JsonReply } from './json-service.ts';
import { log } from './log.ts';

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
  const service = await startJsonService(
    {
      name: 'the Lambda invoke endpoint',
      maxBodyBytes: MAX_PAYLOAD_BYTES,
      invalidJsonType: 'InvalidRequestContentException',
      errorBody: (error) => ({ Type: 'User', message: error.message }),
    },
    async ({ method, url, body }): Promise<JsonReply> => {
      const match = INVOKE_PATH.exec(url.pathname);
      if (method !== 'POST' || match === null) throw new ServiceError('UnknownOperationException', 'Unknown operation', 404);
      // The SDK sends a bare name, a partial ARN or a full ARN; the name is the last `:` part that is
      // not a version or alias qualifier.
      const functionName =
        decodeURIComponent(match[1] ?? '')
          .replace(/^arn:aws:lambda:[^:]*:[^:]*:function:/, '')
          .split(':')[0] ?? '';
      const handler = functions.get(functionName);
      if (handler === undefined) throw new ServiceError('ResourceNotFoundException', `Function not found: ${functionName}`, 404);
      const requestId = randomUUID();
      try {
        const result = await handler(body as never, lambdaContext(functionName, requestId, TIMEOUT_MS));
        log.debug(`invoked ${functionName} (${requestId})`);
        return { body: result ?? null, headers: { 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': requestId } };
      } catch (error) {
        log.crash(`function ${functionName} failed (${requestId})`, error);
        const errorType = error instanceof Error ? error.name : 'Error';
        const errorMessage = error instanceof Error ? error.message : String(error);
        return {
          body: { errorType, errorMessage, trace: [] },
          headers: { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': requestId },
        };
      }
    },
  );
  return {
    endpoint: service.endpoint,
    register: (functionName, handler) => void functions.set(functionName, handler),
    close: () => service.close(),
  };
}
