import { parseMetricsQuery } from '@cloudseed/shared/metrics/query';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { planMetrics } from '../lib/metrics.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';

/** Each database node's metrics over a range, in steps: `?names=<metric,…>&from=<time>&to=<time>&step=<seconds>`. */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const parsed = parseMetricsQuery(query, new Date());
  if (!parsed.ok) throw badRequest(parsed.errors.map((error) => `${error.path.slice(1)} ${error.message}`).join('; '), parsed.errors);
  return json(200, await planMetrics(user.sub, plan.id, parsed.query));
});
