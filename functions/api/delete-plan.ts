import { alerts } from '../lib/alerts.ts';
import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';

export const handler = authedRoute(async ({ user, params, headers }) => {
  const outcome = await deploys.delete(user.sub, params.id ?? '', headers['if-match']);
  if (outcome === 'deleted') {
    // Never deployed: its alert settings, if any were saved, go with it (a teardown removes them otherwise).
    await alerts.deleteAll(user.sub, params.id ?? '');
    return { status: 204 };
  }
  return json(202, { status: 'deleting' }, { location: `/v1/plan/${params.id ?? ''}/deployment` });
});
