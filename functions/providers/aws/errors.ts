import { CapacityError, PermanentError, ProviderError, TransientError } from '../errors.ts';

// How AWS failures map onto the port's error kinds (../errors.ts):
//
//   CapacityError       EC2 has no capacity for the instance type in this AZ right now
//                       (InsufficientInstanceCapacity, InsufficientHostCapacity).
//   TransientError      throttling that outlasted the SDK's own retries (RequestLimitExceeded,
//                       ThrottlingException, ...), AWS-side 5xx faults, network failures, and
//                       waits that ran out of time (instances still shutting down, ENIs still
//                       attached).
//   PermanentError      a request AWS rejects as it stands (bad parameters, missing permissions in
//                       the customer's role, no default VPC, no account connected) and deployed
//                       PostgreSQL failing verification.
//   AccountAccessError  CloudSeed cannot assume the customer's role (trust policy or ExternalId).
//
// `code` is the AWS error code the error came from.

const CAPACITY_CODES = new Set(['InsufficientInstanceCapacity', 'InsufficientHostCapacity']);

const TRANSIENT_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'TooManyUpdates',
  'RequestThrottled',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'IDPCommunicationError',
  'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** The AWS error code of an SDK error (its `name`), or of a provider error that wraps one. */
export function awsErrorCode(error: unknown): string | undefined {
  if (error instanceof ProviderError) return error.code;
  if (typeof error === 'object' && error !== null && '$metadata' in error && error instanceof Error) return error.name;
  return undefined;
}

/**
 * Maps what an SDK call threw to a provider error. `action` is the IAM action that was called
 * (`ec2:RunInstances`); it prefixes the message so a failed step says what it was doing.
 * Anything that is neither an AWS nor a network error (a bug) is rethrown as it is.
 */
export function toProviderError(error: unknown, action: string): unknown {
  if (error instanceof ProviderError) return error;
  if (!(error instanceof Error)) return error;
  const sdk = '$metadata' in error;
  const systemCode = (error as { code?: unknown }).code;
  if (!sdk) {
    if (typeof systemCode === 'string' && NETWORK_CODES.has(systemCode)) {
      return new TransientError(`${action} failed: ${error.message}`, { code: systemCode, cause: error });
    }
    if (error.name === 'TimeoutError') return new TransientError(`${action} timed out`, { code: error.name, cause: error });
    return error;
  }
  const code = error.name;
  const message = `${action} failed: ${code}: ${error.message}`;
  if (CAPACITY_CODES.has(code)) return new CapacityError(message, { code, cause: error });
  const fault = (error as { $fault?: unknown }).$fault;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (TRANSIENT_CODES.has(code) || fault === 'server' || (status !== undefined && status >= 500)) {
    return new TransientError(message, { code, cause: error });
  }
  return new PermanentError(message, { code, cause: error });
}

/** Runs one SDK call and maps what it throws; `action` names it for the message. */
export async function call<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw toProviderError(error, action);
  }
}

/** A describe call whose "not found" error (`notFound`) means there is nothing: undefined then. */
export async function described<T>(action: string, notFound: string, send: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await call(action, send);
  } catch (error) {
    if (awsErrorCode(error) === notFound) return undefined;
    throw error;
  }
}
