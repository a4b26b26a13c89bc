import { CLOUD_NAMES } from '@cloudseed/shared/accounts/accounts';
import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import type { LocalDatabase } from '../providers/local/queries.ts';
import { requireEnv } from './env.ts';
import { deployments } from './plans.ts';

// A running database's top queries (shared/src/metrics/queries.ts), read on the node that leads;
// on the local cloud from its server directly.

/** The database `?component=` names (else the plan's first), where it runs now; 409 when it does not. */
async function runningDatabase(ownerId: string, planId: string, component: string | undefined): Promise<LocalDatabase> {
  const deployment = await deployments.get(ownerId, planId);
  if (!deployment) throw new Conflict('The plan is not deployed; its queries are counted once it runs.');
  const spec = databaseComponent(deployment.spec, component, '?component');
  const primary = componentById({ components: deployment.components ?? [] }, spec.id)?.nodes.find((node) => node.role === 'primary');
  if (deployment.status !== 'running' || !primary) throw new Conflict('The plan is not running; its queries are shown while it runs.');
  const { cloud } = deployment.spec.target;
  if (cloud !== 'local')
    throw new Conflict(`Top queries of plans on ${CLOUD_NAMES[cloud]} are not read yet; the local cloud reads them for its plans.`);
  return {
    home: requireEnv('CLOUDSEED_HOME'),
    planId,
    componentId: spec.id,
    node: primary.name,
    database: spec.db.databaseName,
    role: spec.db.username,
  };
}

export async function topQueries(
  ownerId: string,
  planId: string,
  component: string | undefined,
  request: TopQueriesRequest,
): Promise<{ component: string; queries: TopQuery[] }> {
  const where = await runningDatabase(ownerId, planId, component);
  const { localTopQueries } = await import('../providers/local/queries.ts');
  return { component: where.componentId, queries: await localTopQueries(where, request) };
}

export async function resetQueries(ownerId: string, planId: string, component: string | undefined): Promise<{ component: string }> {
  const where = await runningDatabase(ownerId, planId, component);
  const { resetLocalQueries } = await import('../providers/local/queries.ts');
  await resetLocalQueries(where);
  return { component: where.componentId };
}
