import type { Progress } from '../providers/provider.ts';
import type { PollState } from './context.ts';
import { StepError } from './step.ts';

/** Turns a provider's progress into the Choice state's input; a failure fails the step that polled. */
export function pollState(step: string, progress: Progress, previous: PollState | undefined, waitingFor: string, component?: string): PollState {
  if (progress.state === 'failed') throw new StepError('StepFailed', { step, reason: progress.reason, ...(component ? { component } : {}) });
  const polls = (previous?.state === 'pending' ? previous.polls : 0) + 1;
  const detail = progress.state === 'pending' ? progress.detail : undefined;
  return {
    state: progress.state,
    polls,
    reason: JSON.stringify({
      step,
      reason: `gave up waiting for ${waitingFor} after ${polls} checks${detail ? ` (${detail})` : ''}`,
      ...(component ? { component } : {}),
    }),
    ...(detail ? { detail } : {}),
  };
}
