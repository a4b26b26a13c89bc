import { AccountAccessError, CapacityError, PermanentError, ProviderError, TransientError } from '../errors.ts';

// How Google Cloud failures map onto the port's error kinds (../errors.ts). The clients fail in
// three shapes: google-gax's GoogleError (Compute Engine and Secret Manager, over REST, with the
// gRPC status in `code` and the HTTP status in `httpStatusCode`), Cloud Storage's ApiError (the HTTP
// status in `code`) and gaxios' GaxiosError (the IAM REST calls, the HTTP status in `status`); and a
// Compute Engine operation can end with errors of its own (`error.errors[].code`, e.g.
// ZONE_RESOURCE_POOL_EXHAUSTED), which `operationError` maps.
//
//   CapacityError       the zone has no room for the machine type right now.
//   TransientError      rate limits that outlasted the clients' own retries (429, RESOURCE_EXHAUSTED),
//                       Google-side faults (5xx, UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, ABORTED),
//                       network failures, waits that ran out, and a service account that IAM has
//                       created but Compute Engine does not see yet.
//   AccountAccessError  CloudSeed's identity is refused (401, 403, UNAUTHENTICATED, PERMISSION_DENIED):
//                       the customer's connection or its roles need fixing.
//   PermanentError      anything else Google rejects as it stands (bad requests, quota for CPUs or
//                       disks, an image that does not exist).
//
// `code` is Google's error reason when there is one (`ZONE_RESOURCE_POOL_EXHAUSTED`), else the status name.

/** gRPC status codes, by name (google-gax maps HTTP statuses onto them for REST calls). */
const GRPC = {
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
} as const satisfies Record<number, string>;

const HTTP: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
};

export const CAPACITY_REASONS = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  'RESOURCE_POOL_EXHAUSTED',
  'STOCKOUT',
]);
const TRANSIENT_STATUSES = new Set(['DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ABORTED', 'INTERNAL', 'UNAVAILABLE']);
const ACCESS_STATUSES = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface GoogleFailure {
  /** The status name: NOT_FOUND, ALREADY_EXISTS, ... or HTTP_<n> for one without a name. */
  readonly status: string;
  readonly httpStatus?: number;
  /** Google's reason, when the error names one. */
  readonly reason?: string;
}

/** What kind of Google failure `error` is, or undefined for one that is not Google's (a bug, or a network failure). */
export function googleFailure(error: unknown): GoogleFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  const fields = error as { code?: unknown; httpStatusCode?: unknown; status?: unknown; response?: { status?: unknown }; reason?: unknown };
  const reason = typeof fields.reason === 'string' ? fields.reason : undefined;
  const http =
    typeof fields.httpStatusCode === 'number'
      ? fields.httpStatusCode
      : typeof fields.response?.status === 'number'
        ? fields.response.status
        : typeof fields.status === 'number'
          ? fields.status
          : typeof fields.code === 'number' && fields.code >= 100
            ? fields.code
            : undefined;
  if (error.name === 'GoogleError' || (typeof fields.code === 'number' && fields.code < 100)) {
    const code = typeof fields.code === 'number' ? fields.code : undefined;
    const status = (code !== undefined ? (GRPC as Record<number, string>)[code] : undefined) ?? statusOfHttp(http);
    return { status, ...(http === undefined ? {} : { httpStatus: http }), ...(reason ? { reason } : {}) };
  }
  if (http === undefined) return undefined;
  return { status: statusOfHttp(http), httpStatus: http, ...(reason ? { reason } : {}) };
}

function statusOfHttp(http: number | undefined): string {
  if (http === undefined) return 'UNKNOWN';
  if (http >= 500) return http === 503 ? 'UNAVAILABLE' : 'INTERNAL';
  return HTTP[http] ?? `HTTP_${http}`;
}

/** Is `error` Google saying the resource is not there? */
export function isNotFound(error: unknown): boolean {
  if (error instanceof ProviderError) return error.code === 'NOT_FOUND';
  return googleFailure(error)?.status === 'NOT_FOUND';
}

/** Is `error` Google saying a resource of that name is there already? */
export function isAlreadyExists(error: unknown): boolean {
  if (error instanceof ProviderError) return error.code === 'ALREADY_EXISTS';
  return googleFailure(error)?.status === 'ALREADY_EXISTS';
}

/** Maps what a client call threw to a provider error; `action` (`compute.instances.insert`) prefixes the message. A bug is rethrown as it is. */
export function toProviderError(error: unknown, action: string): unknown {
  if (error instanceof ProviderError || !(error instanceof Error)) return error;
  const failure = googleFailure(error);
  if (!failure) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return new TransientError(`${action} failed: ${error.message}`, { code, cause: error });
    return error;
  }
  const code = failure.reason ?? failure.status;
  const message = `${action} failed: ${code}: ${error.message}`;
  if (failure.reason && CAPACITY_REASONS.has(failure.reason)) return new CapacityError(message, { code, cause: error });
  if (ACCESS_STATUSES.has(failure.status)) return new AccountAccessError(message, { code, cause: error });
  if (TRANSIENT_STATUSES.has(failure.status)) return new TransientError(message, { code, cause: error });
  // NOT_FOUND and ALREADY_EXISTS keep their status as the code, so isNotFound and isAlreadyExists still see them.
  return new PermanentError(message, { code: failure.reason && failure.status !== 'NOT_FOUND' ? failure.reason : failure.status, cause: error });
}

/** Runs one client call and maps what it throws. */
export async function call<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw toProviderError(error, action);
  }
}

/** A get whose NOT_FOUND means there is nothing: undefined then. */
export async function found<T>(action: string, send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(action, send);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A Compute Engine operation's own errors, as they come back in `Operation.error`. */
export interface OperationErrors {
  readonly errors?: readonly { readonly code?: string | null; readonly message?: string | null }[] | null;
}

/** The provider error for an operation that ended with errors; `what` says what it was doing. */
export function operationError(what: string, error: OperationErrors): ProviderError {
  const errors = error.errors ?? [];
  const first = errors[0];
  const code = first?.code ?? 'UNKNOWN';
  const message = `${what} failed: ${errors.map((entry) => `${entry.code ?? 'UNKNOWN'}: ${entry.message ?? ''}`).join('; ') || code}`;
  if (errors.some((entry) => entry.code && CAPACITY_REASONS.has(entry.code))) return new CapacityError(message, { code });
  if (errors.some((entry) => entry.code === 'RATE_LIMIT_EXCEEDED' || entry.code === 'INTERNAL_ERROR')) return new TransientError(message, { code });
  return new PermanentError(message, { code });
}
