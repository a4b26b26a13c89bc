// The errors every Provider throws, whatever the cloud. Each has a stable `name`, set explicitly so
// that bundling or minifying cannot change it: Lambda reports it as the error type, and the deploy,
// teardown, backup and restore state machines match on it in their Retry blocks.
//
//   transient  CapacityError aside, anything that may go away on its own: throttling that outlasted
//              the SDK's retries, server-side faults, network failures, waits that ran out of time,
//              a local server or port not there yet. Retry with backoff: every step is idempotent.
//   capacity   the cloud has no room for the node right now (EC2 capacity in the AZ). Retry with a
//              long backoff; it usually clears within minutes.
//   permanent  a request the cloud rejects as it stands (bad parameters, missing permissions, no
//              account, a major not installed, a server whose data refuses the change) and deployed
//              PostgreSQL failing verification. Do not retry; fail with the message.
//
// Every error carries `code`, the cloud's own error code when there was one, and `cause`.

type ProviderErrorKind = 'permanent' | 'transient' | 'capacity';

interface ProviderErrorOptions {
  readonly code?: string;
  readonly cause?: unknown;
}

export abstract class ProviderError extends Error {
  abstract readonly kind: ProviderErrorKind;
  readonly code: string | undefined;
  constructor(message: string, options: ProviderErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

export class PermanentError extends ProviderError {
  override readonly name: string = 'PermanentError';
  readonly kind = 'permanent';
}

/** A PermanentError: CloudSeed cannot reach the customer's account (trust policy, ExternalId); the customer has to fix the connection. */
export class AccountAccessError extends PermanentError {
  override readonly name = 'AccountAccessError';
}

export class TransientError extends ProviderError {
  override readonly name = 'TransientError';
  readonly kind = 'transient';
}

export class CapacityError extends ProviderError {
  override readonly name = 'CapacityError';
  readonly kind = 'capacity';
}

/** The error name a workflow retries, by kind; a permanent error is not retried, so it has none. */
export const RETRYABLE_ERRORS = { transient: 'TransientError', capacity: 'CapacityError' } as const satisfies Record<
  Exclude<ProviderErrorKind, 'permanent'>,
  string
>;

/** The name a step leaves with for the workflow to retry on, or undefined when the error is not one to retry. */
export function retryableName(error: unknown): string | undefined {
  if (!(error instanceof ProviderError) || error.kind === 'permanent') return undefined;
  return RETRYABLE_ERRORS[error.kind];
}
