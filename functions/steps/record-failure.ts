import { deployments } from '../lib/plans.ts';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { failureFromCause, step } from './step.ts';

interface StepErrorOutput {
  readonly Error?: string;
  readonly Cause?: string;
}

/**
 * Red, with the step that failed and why. A failed create keeps nothing (Compensate removes it);
 * a failed update or teardown keeps what runs, so the next deploy reconciles it.
 */
export const handler = step('RecordFailure', async (input: DeploymentInput & { error?: StepErrorOutput; compensationError?: StepErrorOutput }) => {
  const cause = failureFromCause(input.error);
  const cleanup = input.compensationError
    ? `; cleaning up also failed (${failureFromCause(input.compensationError).reason}), delete the plan to retry it`
    : '';
  const failure = {
    step: cause.step,
    reason: `${cause.reason}${cleanup}`,
    at: new Date().toISOString(),
    ...(cause.component ? { component: cause.component } : {}),
  };
  const deployment = await currentDeployment(input);
  await deployments.update(
    input.ownerId,
    input.planId,
    input.deploymentId,
    { status: 'failed', failure, endedAt: failure.at },
    deployment.mode === 'create' ? ['components', 'apps', 'rollback'] : ['rollback'],
  );
  return failure;
});
