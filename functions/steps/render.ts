import { appComponents, postgresComponents } from '@cloudseed/shared/cs-json/components';
import { validatePlan } from '@cloudseed/shared/cs-json/validate';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

/**
 * Checks the deployment's plan snapshot once more and lists its components for the Maps: the
 * databases first, then the apps that use them. A teardown removes every component at once; a
 * rollback deploys its one app and nothing else; a start, the databases only.
 */
export const handler = step('Render', async (input: DeploymentInput) => {
  const deployment = await currentDeployment(input);
  const result = validatePlan(deployment.spec);
  if (!result.ok) throw new Error(`the plan is no longer valid: ${result.errors.map((error) => `${error.path} ${error.message}`).join('; ')}`);
  const ids = (components: readonly { readonly id: string }[]) => components.map((component) => component.id);
  if (input.mode === 'teardown') return { componentIds: ids(result.plan.components), appIds: [] };
  if (deployment.rollback) return { componentIds: [], appIds: [deployment.rollback.componentId] };
  // A start brings back the stopped databases; the apps kept serving and are not built again.
  if (input.mode === 'start') return { componentIds: ids(postgresComponents(result.plan)), appIds: [] };
  return { componentIds: ids(postgresComponents(result.plan)), appIds: ids(appComponents(result.plan)) };
});
