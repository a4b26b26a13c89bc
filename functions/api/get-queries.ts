import { parseTopQueriesRequest } from '@cloudseed/shared/metrics/queries';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { topQueries } from '../lib/queries.ts';

/** A database's top statements, from pg_stat_statements: `?component=<id>&order=<total_time|mean_time|calls|rows|shared_blocks_read>&limit=<1-100>`. */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const parsed = parseTopQueriesRequest(query);
  if (!parsed.ok) throw badRequest(parsed.errors.map((error) => `${error.path.slice(1)} ${error.message}`).join('; '), parsed.errors);
  return json(200, await topQueries(user.sub, plan.id, query.component, parsed.request));
});
