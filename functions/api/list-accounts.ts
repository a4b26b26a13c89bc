import { authedRoute } from '../lib/authed-route.ts';
import { accounts } from '../lib/accounts.ts';
import { json } from '../lib/http.ts';

export const handler = authedRoute(async ({ user }) => json(200, await accounts.list(user.sub)));
