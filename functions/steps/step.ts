import { Logger } from '@aws-lambda-powertools/logger';
import { retryableName } from '../providers/errors.ts';
import { findError } from './errors.ts';

// Every workflow step runs through here. Errors leave as { name, message } that Step Functions
// (and the local runner) match on: a provider error of a kind the workflow retries keeps its name
// (TransientError, CapacityError: ../providers/errors.ts), everything else becomes StepFailed; the
// message is JSON naming the step and the reason, which RecordFailure turns into the red status a
// customer reads.

export const logger = new Logger({ serviceName: 'cloudseed-steps' });

export interface StepFailure {
  readonly step: string;
  readonly reason: string;
  /** The component the step worked on, when it worked on one. */
  readonly component?: string;
}

export class StepError extends Error {
  constructor(name: string, failure: StepFailure) {
    super(JSON.stringify(failure));
    this.name = name;
  }
}

export function step<Input, Output>(name: string, fn: (input: Input) => Promise<Output>): (input: Input) => Promise<Output> {
  return async (input) => {
    logger.appendKeys({ step: name });
    try {
      return await fn(input);
    } catch (error) {
      if (error instanceof StepError) throw error;
      const { name: errorName, message } = findError(error);
      logger.warn('step failed', { error: errorName, reason: message });
      const component = componentOf(input);
      throw new StepError(retryableName(error) ?? 'StepFailed', { step: name, reason: message, ...(component ? { component } : {}) });
    }
  };
}

function componentOf(input: unknown): string | undefined {
  const id = typeof input === 'object' && input !== null ? (input as { componentId?: unknown }).componentId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** Reads the step and reason back from a caught error's Cause (locally the message; on AWS Lambda's JSON envelope). */
export function failureFromCause(error: { Error?: string; Cause?: string } | undefined): StepFailure {
  const cause = error?.Cause ?? '';
  for (const candidate of [cause, unwrapLambdaCause(cause)]) {
    try {
      const parsed = JSON.parse(candidate) as Partial<StepFailure>;
      if (typeof parsed.step === 'string' && typeof parsed.reason === 'string') {
        return { step: parsed.step, reason: parsed.reason, ...(typeof parsed.component === 'string' ? { component: parsed.component } : {}) };
      }
    } catch {
      // not JSON: fall through
    }
  }
  return { step: 'workflow', reason: cause || error?.Error || 'the workflow failed' };
}

function unwrapLambdaCause(cause: string): string {
  try {
    const envelope = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof envelope.errorMessage === 'string' ? envelope.errorMessage : '';
  } catch {
    return '';
  }
}
