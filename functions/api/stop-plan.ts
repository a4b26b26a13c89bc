import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';

/**
 * Stops the plan's databases, keeping their data (202; `stopping`, then `stopped`). On a cloud the
 * machines stop and cost only their disks. Scheduled backups, alerts and the health check skip a
 * stopped plan; POST …/start or a deploy starts it again.
 */
export const handler = authedRoute(async ({ user, params }) => {
  const planId = params.id ?? '';
  const { deploymentId } = await deploys.stop(user.sub, planId);
  return json(202, { status: 'stopping', deploymentId }, { location: `/v1/plan/${planId}/deployment` });
});
