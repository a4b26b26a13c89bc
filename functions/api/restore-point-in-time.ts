import type { FieldProblem } from '@cloudseed/shared';
import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { recoveryWindowOf } from '../lib/recovery.ts';
import { quotas } from '../lib/usage.ts';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)$/;

/**
 * Restores the database's cluster in place to `{ "targetTime": "<ISO>", "confirm": true }`: a time
 * in its recovery window. It comes back on a new timeline, its replicas rebuilt (202; the
 * deployment shows the steps).
 */
export const handler = authedRoute(
  async ({ user, params, query, body }) => {
    const targetTime = parseRequest(body);
    const plan = await plans.get(user.sub, params.id ?? '');
    const { componentId, window } = await recoveryWindowOf(user.sub, plan.id, query.component);
    if (!window) {
      throw badRequest('There is nothing to restore to yet: the recovery window opens with the first backup.', [
        { path: '/targetTime', message: 'is outside the recovery window: the database has no backup yet' },
      ]);
    }
    if (targetTime < new Date(window.earliest) || targetTime > new Date(window.latest)) {
      throw badRequest(`${targetTime.toISOString()} is outside the recovery window.`, [
        { path: '/targetTime', message: `must be between ${window.earliest} and ${window.latest} (the recovery window)` },
      ]);
    }
    const iso = targetTime.toISOString();
    const { deploymentId } = await quotas.startBackup(user.sub, () =>
      deploys.restore(user.sub, plan.id, { kind: 'point-in-time', componentId, targetTime: iso }),
    );
    return json(202, { status: 'restoring', component: componentId, targetTime: iso, deploymentId }, { location: `/v1/plan/${plan.id}/deployment` });
  },
  { body: true },
);

function parseRequest(body: unknown): Date {
  const problems: FieldProblem[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('Send { "targetTime": "<ISO 8601 time>", "confirm": true }.', [{ path: '/', message: 'must be an object' }]);
  }
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (name !== 'targetTime' && name !== 'confirm') problems.push({ path: `/${name}`, message: 'is not a field of a restore' });
  }
  const text = fields.targetTime;
  const time = typeof text === 'string' && ISO_TIME.test(text) ? new Date(text) : undefined;
  if (!time || Number.isNaN(time.getTime()))
    problems.push({ path: '/targetTime', message: 'must be an ISO 8601 date and time with its offset, such as 2026-12-05T08:30:00Z' });
  if (fields.confirm !== true)
    problems.push({ path: '/confirm', message: 'must be true: a restore replaces everything written after the target time' });
  if (problems.length > 0 || !time) throw badRequest('The restore request is not valid; see errors.', problems);
  return time;
}
