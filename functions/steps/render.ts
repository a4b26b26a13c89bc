import { validatePlan } from '@cloudseed/shared/cs-json/validate';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

/** Checks the deployment's plan snapshot once more and lists its components for the Map. */
export const handler = step('Render', async (input: DeploymentInput) => {
  const deployment = await currentDeployment(input);
  const result = validatePlan(deployment.spec);
  if (!result.ok) throw new Error(`the plan is no longer valid: ${result.errors.map((error) => `${error.path} ${error.message}`).join('; ')}`);
  return { componentIds: result.plan.components.map((component) => component.id) };
});
