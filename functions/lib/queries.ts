import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import type { DeploymentRecord } from '@cloudseed/shared/deployments/deployments';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import type { LocalDatabase } from '../providers/local/queries.ts';
import { ProviderError } from '../providers/errors.ts';
import { providerFor } from '../providers/index.ts';
import type { NodeRef, Provider } from '../providers/provider.ts';
import { nodeRefOf, targetOf } from '../steps/context.ts';
import { requireEnv } from './env.ts';
import { deployments } from './plans.ts';

// A running database's top queries (shared/src/metrics/queries.ts), read on the node that leads:
// on the local cloud from its server directly, in a cloud through the provider's command channel.

export interface RunningDatabase {
  readonly deployment: DeploymentRecord;
  readonly componentId: string;
  readonly primary: NodeRef;
}

/** The database `?component=` names (else the plan's first), where it runs now; 409 when it does not. */
export async function runningDatabase(
  ownerId: string,
  planId: string,
  component: string | undefined,
  whileRunning = 'its queries are shown while it runs',
): Promise<RunningDatabase> {
  const deployment = await deployments.get(ownerId, planId);
  if (!deployment) throw new Conflict(`The plan is not deployed; ${whileRunning}.`);
  const spec = databaseComponent(deployment.spec, component, '?component');
  const primary = componentById({ components: deployment.components ?? [] }, spec.id)?.nodes.find((node) => node.role === 'primary');
  if (deployment.status !== 'running' || !primary)
    throw new Conflict(`The plan is ${deployment.status === 'stopped' ? 'stopped' : 'not running'}; ${whileRunning}.`);
  return { deployment, componentId: spec.id, primary: nodeRefOf(primary) };
}

export function localDatabase({ deployment, componentId, primary }: RunningDatabase): LocalDatabase {
  const spec = databaseComponent(deployment.spec, componentId, '?component');
  return {
    home: requireEnv('CLOUDSEED_HOME'),
    planId: deployment.planId,
    componentId,
    node: primary.name,
    database: spec.db.databaseName,
    role: spec.db.username,
  };
}

/** Runs `work` with the plan's provider and the database's target; a provider's refusal is a 409 saying why. */
export async function inCloud<T>(
  where: RunningDatabase,
  work: (provider: Provider, target: Awaited<ReturnType<typeof targetOf>>) => Promise<T>,
  failed = 'The top queries could not be read',
): Promise<T> {
  const provider = await providerFor(where.deployment.spec.target);
  try {
    return await work(provider, await targetOf(where.deployment, where.componentId));
  } catch (error) {
    if (error instanceof ProviderError) throw new Conflict(`${failed}: ${error.message}`);
    throw error;
  }
}

export async function topQueries(
  ownerId: string,
  planId: string,
  component: string | undefined,
  request: TopQueriesRequest,
): Promise<{ component: string; queries: TopQuery[] }> {
  const where = await runningDatabase(ownerId, planId, component);
  if (where.deployment.spec.target.cloud === 'local') {
    const { localTopQueries } = await import('../providers/local/queries.ts');
    return { component: where.componentId, queries: await localTopQueries(localDatabase(where), request) };
  }
  const queries = await inCloud(where, (provider, target) => {
    if (!provider.topQueries) throw new Conflict('Top queries are not read on this cloud yet.');
    return provider.topQueries(target, where.primary, request);
  });
  return { component: where.componentId, queries };
}

export async function resetQueries(ownerId: string, planId: string, component: string | undefined): Promise<{ component: string }> {
  const where = await runningDatabase(ownerId, planId, component);
  if (where.deployment.spec.target.cloud === 'local') {
    const { resetLocalQueries } = await import('../providers/local/queries.ts');
    await resetLocalQueries(localDatabase(where));
  } else {
    await inCloud(where, (provider, target) => {
      if (!provider.resetTopQueries) throw new Conflict('Top queries are not read on this cloud yet.');
      return provider.resetTopQueries(target, where.primary);
    });
  }
  return { component: where.componentId };
}
