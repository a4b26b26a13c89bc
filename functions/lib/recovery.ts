import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import type { DeploymentRecord } from '@cloudseed/shared';
import { ProviderError } from '../providers/errors.ts';
import { providerFor } from '../providers/index.ts';
import type { RecoveryWindow } from '../providers/provider.ts';
import { nodeRefOf, targetOf } from '../steps/context.ts';
import { deployments } from './plans.ts';

// The recovery window of a running database, as its provider reads it from the cluster's pgBackRest
// repository and primary: what GET /recovery-window shows and POST /restore checks a time against.

export interface DatabaseWindow {
  readonly componentId: string;
  readonly deployment: DeploymentRecord;
  /** Undefined until the first backup is in the repository and a later heartbeat is archived. */
  readonly window: RecoveryWindow | undefined;
}

/** The window of the database `?component=` names (else the plan's first); 409 when it does not run. */
export async function recoveryWindowOf(ownerId: string, planId: string, component: string | undefined): Promise<DatabaseWindow> {
  const deployment = await deployments.get(ownerId, planId);
  if (!deployment) throw new Conflict('The plan is not deployed; deploy it to archive its WAL.');
  const componentId = databaseComponent(deployment.spec, component, '?component').id;
  const deployed = componentById({ components: deployment.components ?? [] }, componentId);
  const primary = deployed?.nodes.find((node) => node.role === 'primary');
  if (deployment.status !== 'running' || !primary)
    throw new Conflict(
      `The plan is ${deployment.status === 'deploying' ? 'deploying or restoring' : 'not running'}; its recovery window is shown while it runs.`,
    );
  const provider = await providerFor(deployment.spec.target);
  try {
    return { componentId, deployment, window: await provider.recoveryWindow(await targetOf(deployment, componentId), nodeRefOf(primary)) };
  } catch (error) {
    if (error instanceof ProviderError) throw new Conflict(`The recovery window cannot be read now: ${error.message}`);
    throw error;
  }
}
