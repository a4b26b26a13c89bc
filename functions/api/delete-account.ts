import { authedRoute } from '../lib/authed-route.ts';
import { accounts } from '../lib/accounts.ts';

export const handler = authedRoute(async ({ user, params }) => {
  await accounts.disconnect(user.sub, params.id ?? '');
  return { status: 204 };
});
