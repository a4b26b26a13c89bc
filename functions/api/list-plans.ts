import { MAX_PAGE_SIZE, toResource } from '@cloudseed/shared/plans/plans';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { decodeNextToken, encodeNextToken, parseLimit } from '../lib/pagination.ts';
import { deployments, plans } from '../lib/plans.ts';

export const handler = authedRoute(async ({ user, query }) => {
  const limit = parseLimit(query.limit, MAX_PAGE_SIZE);
  const afterId = decodeNextToken(query.nextToken);
  const [page, deployed] = await Promise.all([
    plans.list(user.sub, { ...(limit ? { limit } : {}), ...(afterId ? { afterId } : {}) }),
    deployments.listByOwner(user.sub),
  ]);
  const deploymentOf = new Map(deployed.map((deployment) => [deployment.planId, deployment]));
  const nextToken = encodeNextToken(page.lastId);
  return json(200, { items: page.items.map((plan) => toResource(plan, deploymentOf.get(plan.id))), ...(nextToken ? { nextToken } : {}) });
});
