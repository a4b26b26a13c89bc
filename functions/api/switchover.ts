import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { checkDeployment } from '../jobs/health-check.ts';
import { ProviderError } from '../providers/errors.ts';
import { providerFor } from '../providers/index.ts';
import { targetOf } from '../steps/context.ts';

/**
 * A planned switchover of the cluster `?component=<id>` names (else the plan's first): the leader
 * hands over to `{ "candidate": "<node>" }`, or to the replica furthest ahead, in a few seconds;
 * clients on the cluster's connection string reconnect to the new leader. 202 once the new leader
 * serves writes; the deployment shows the new roles. 409 for a single server, a plan that is not
 * running, or a candidate that is not a healthy replica in step with the leader.
 */
export const handler = authedRoute(
  async ({ user, params, query, body }) => {
    const candidate = parseRequest(body);
    const plan = await plans.get(user.sub, params.id ?? '');
    const deployment = await deployments.get(user.sub, plan.id);
    const componentId = databaseComponent(deployment?.spec ?? plan.spec, query.component, '?component').id;
    const deployed = componentById({ components: deployment?.components ?? [] }, componentId);
    if (deployment?.status !== 'running' || !deployed)
      throw new Conflict(
        deployment?.status === 'stopped'
          ? 'The plan is stopped; start it before switching over.'
          : 'The plan is not running; deploy it before switching over.',
      );
    if (deployed.nodes.length < 2) throw new Conflict(`${componentId} is a single server: a switchover needs a cluster with replicas.`);
    if (candidate !== undefined && !deployed.nodes.some((node) => node.name === candidate)) {
      throw badRequest(`${candidate} is not a node of ${componentId}.`, [
        { path: '/candidate', message: `must be one of ${deployed.nodes.map((node) => node.name).join(', ')}` },
      ]);
    }
    const provider = await providerFor(deployment.spec.target);
    let result;
    try {
      result = await provider.switchover(await targetOf(deployment, componentId), candidate);
    } catch (error) {
      if (error instanceof ProviderError) throw new Conflict(`The switchover did not happen: ${error.message}`);
      throw error;
    }
    // The roles the deployment shows follow at once, not at the next health check.
    await checkDeployment((await deployments.get(user.sub, plan.id)) ?? deployment);
    return json(202, { status: 'switched', component: componentId, ...result }, { location: `/v1/plan/${plan.id}/deployment` });
  },
  { body: 'optional' },
);

function parseRequest(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('Send nothing, or { "candidate": "<node name>" }.', [{ path: '/', message: 'must be an object' }]);
  }
  const fields = body as Record<string, unknown>;
  const problems = Object.keys(fields)
    .filter((name) => name !== 'candidate')
    .map((name) => ({ path: `/${name}`, message: 'is not a field of a switchover' }));
  if (fields.candidate !== undefined && (typeof fields.candidate !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(fields.candidate))) {
    problems.push({ path: '/candidate', message: 'must be a node name such as db-1' });
  }
  if (problems.length > 0) throw badRequest('The switchover request is not valid; see errors.', problems);
  return fields.candidate as string | undefined;
}
