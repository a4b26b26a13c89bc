import { accountResource } from '@cloudseed/shared/accounts/accounts';
import { authedRoute } from '../lib/authed-route.ts';
import { accounts } from '../lib/accounts.ts';
import { json } from '../lib/http.ts';

export const handler = authedRoute(async ({ user, body }) => json(201, accountResource(await accounts.connect(user.sub, body))), { body: true });
