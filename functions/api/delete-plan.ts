import { authedRoute } from '../lib/authed-route.ts';
import { plans } from '../lib/plans.ts';

export const handler = authedRoute(async ({ user, params, headers }) => {
  await plans.delete(user.sub, params.id ?? '', headers['if-match']);
  return { status: 204 };
});
