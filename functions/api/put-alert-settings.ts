import { parseAlertSettings } from '@cloudseed/shared/alerts/alerts';
import { alerts } from '../lib/alerts.ts';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';

/**
 * Replaces a plan's alert settings: `{ email?, rules: { disk, connections, replication_lag,
 * backup_failed, node_down } }`. A 400 names each field it cannot take and stores nothing. The next
 * evaluation uses them: an incident of a rule turned off closes.
 */
export const handler = authedRoute(
  async ({ user, params, body }) => {
    const plan = await plans.get(user.sub, params.id ?? '');
    const parsed = parseAlertSettings(body);
    if (!parsed.ok) throw badRequest('The alert settings are not valid; see errors.', parsed.errors);
    await alerts.putSettings(user.sub, plan.id, parsed.settings, new Date().toISOString());
    return json(200, { settings: parsed.settings });
  },
  { body: true },
);
