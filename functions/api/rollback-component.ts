import { NotFound } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';

/**
 * Takes an app back to the version that served before: 202 and an update that builds nothing;
 * 409 while the plan deploys or when the app has no previous version.
 */
export const handler = authedRoute(
  async ({ user, params, body }) => {
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length > 0)) {
      throw badRequest('A rollback takes no body.', [{ path: '/', message: 'must be empty' }]);
    }
    const plan = await plans.get(user.sub, params.id ?? '');
    const componentId = params.componentId ?? '';
    const component = plan.spec.components.find((candidate) => candidate.id === componentId);
    if (!component) throw new NotFound(`The plan has no component ${componentId}.`);
    if (component.type !== 'app') {
      throw badRequest(`${componentId} is a ${component.type} component; only apps roll back (databases restore from backups).`, [
        { path: 'componentId', message: 'must name an app of the plan' },
      ]);
    }
    const result = await deploys.rollback(user.sub, plan.id, componentId);
    return json(202, result, { location: `/v1/plan/${plan.id}/deployment` });
  },
  { body: 'optional' },
);
