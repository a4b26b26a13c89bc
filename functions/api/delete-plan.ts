import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';

export const handler = authedRoute(async ({ user, params, headers }) => {
  const outcome = await deploys.delete(user.sub, params.id ?? '', headers['if-match']);
  if (outcome === 'deleted') return { status: 204 };
  return json(202, { status: 'deleting' }, { location: `/v1/plan/${params.id ?? ''}/deployment` });
});
