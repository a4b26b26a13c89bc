import { isRestError } from '@azure/core-rest-pipeline';
import { AccountAccessError, CapacityError, PermanentError, ProviderError, TransientError } from '../errors.ts';

// How Azure failures map onto the port's error kinds (../errors.ts):
//
//   CapacityError       Azure has no room for the VM size in this region or zone right now
//                       (SkuNotAvailable, AllocationFailed, ZonalAllocationFailed, Overconstrained*).
//   TransientError      throttling (429) and Azure-side faults (5xx) that outlasted the SDK's own
//                       retries, network failures, a resource another operation is still changing
//                       (AnotherOperationInProgress), a principal Entra ID has not replicated yet,
//                       and waits that ran out of time.
//   AccountAccessError  401/403: the credential is refused or lacks a permission on the resource group.
//   PermanentError      any other request Azure rejects as it stands (400, 404, 409).
//
// `code` is Azure's error code (the `error.code` of the ARM body), or the system's for a network error.

const CAPACITY_CODES = new Set([
  'SkuNotAvailable',
  'AllocationFailed',
  'ZonalAllocationFailed',
  'OverconstrainedAllocationRequest',
  'OverconstrainedZonalAllocationRequest',
]);

const TRANSIENT_CODES = new Set([
  'TooManyRequests',
  'RetryableError',
  'InternalServerError',
  'InternalOperationError',
  'ServerTimeout',
  'ServiceUnavailable',
  'GatewayTimeout',
  'AnotherOperationInProgress',
  'OperationNotAllowedDueToConcurrentOperation',
  // A role assignment made right after its managed identity: Entra ID has not replicated the principal yet.
  'PrincipalNotFound',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR']);

/** What a failed long-running operation throws: a plain Error whose message carries Azure's code (core-lro). */
const FAILED_OPERATION = /^The long-running operation has failed(?:\. ([A-Za-z]+)\.)?/;

/** Azure's error code of an SDK error or of a provider error that wraps one. */
export function azureErrorCode(error: unknown): string | undefined {
  if (error instanceof ProviderError) return error.code;
  if (isRestError(error)) return error.code;
  return undefined;
}

/** The HTTP status of an SDK error, or of the one a provider error wraps. */
export function azureStatus(error: unknown): number | undefined {
  const cause = error instanceof ProviderError ? error.cause : error;
  return isRestError(cause) ? cause.statusCode : undefined;
}

/**
 * Maps what an SDK call threw to a provider error; `operation` says what was being done
 * (`Microsoft.Compute/virtualMachines/write cs-p-1-db-0`) and prefixes the message. Anything that is
 * neither an Azure nor a network error (a bug) is rethrown as it is.
 */
export function toProviderError(error: unknown, operation: string): unknown {
  if (error instanceof ProviderError || !(error instanceof Error)) return error;
  if (error.name === 'AbortError') return new TransientError(`${operation} did not finish in time`, { code: 'Timeout', cause: error });
  if (!isRestError(error)) {
    const systemCode = (error as { code?: unknown }).code;
    if (typeof systemCode === 'string' && NETWORK_CODES.has(systemCode)) {
      return new TransientError(`${operation} failed: ${error.message}`, { code: systemCode, cause: error });
    }
    const failed = FAILED_OPERATION.exec(error.message);
    if (!failed) return error;
    const code = failed[1];
    const message = `${operation} failed: ${error.message}`;
    if (code && CAPACITY_CODES.has(code)) return new CapacityError(message, { code, cause: error });
    if (code && TRANSIENT_CODES.has(code)) return new TransientError(message, { code, cause: error });
    return new PermanentError(message, { ...(code ? { code } : {}), cause: error });
  }
  const status = error.statusCode;
  const code = error.code ?? (status === undefined ? undefined : `HTTP${status}`);
  const options = { ...(code ? { code } : {}), cause: error };
  if (status === undefined) {
    if (code && NETWORK_CODES.has(code)) return new TransientError(`${operation} failed: ${error.message}`, options);
    return error;
  }
  const message = `${operation} failed: ${code ? `${code}: ` : ''}${error.message}`;
  if (code && CAPACITY_CODES.has(code)) return new CapacityError(message, options);
  if (status === 429 || status >= 500 || (code && TRANSIENT_CODES.has(code))) return new TransientError(message, options);
  if (status === 401 || status === 403) return new AccountAccessError(message, options);
  return new PermanentError(message, options);
}

/** Runs one SDK call and maps what it throws; `operation` names it for the message. */
export async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw toProviderError(error, operation);
  }
}

/** A read whose 404 means there is nothing: undefined then. */
export async function found<T>(operation: string, send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(operation, send);
  } catch (error) {
    if (azureStatus(error) === 404) return undefined;
    throw error;
  }
}
