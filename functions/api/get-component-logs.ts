import { parseLogsRequest } from '@cloudseed/shared/metrics/logs';
import { NotFound } from '@cloudseed/shared/errors';
import { appTargetOf } from '../steps/app-context.ts';
import { accounts } from '../lib/accounts.ts';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { serverLog } from '../lib/server-logs.ts';
import { appProviderFor } from '../providers/index.ts';

const DEFAULT_TAIL = 200;
const MAX_TAIL = 2000;

/**
 * A component's logs, oldest first. An app's: the newest lines of its build, release and run logs,
 * `?tail=<1-2000>` (200). A database's: its PostgreSQL log's newest entries, secrets masked,
 * `?node=<name>&tail=<1-2000>&q=<text>` (the primary's, 200, all).
 */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const componentId = params.componentId ?? '';
  const deployment = await deployments.get(user.sub, plan.id);
  const spec = deployment?.spec ?? plan.spec;
  const component = spec.components.find((candidate) => candidate.id === componentId);
  if (!component) throw new NotFound(`The plan has no component ${componentId}.`);
  if (component.type === 'postgres') {
    const parsed = parseLogsRequest(query);
    if (!parsed.ok) throw badRequest(parsed.errors.map((error) => `${error.path.slice(1)} ${error.message}`).join('; '), parsed.errors);
    return json(200, await serverLog(deployment, componentId, parsed.request));
  }
  const tail = parseTail(query.tail);
  if (!deployment || !deployment.spec.components.some((candidate) => candidate.id === componentId)) return json(200, { lines: [] });
  const account = await accounts.connectionFor(deployment.ownerId, deployment.spec.target);
  const apps = await appProviderFor(deployment.spec.target);
  return json(200, { lines: await apps.logs(appTargetOf(deployment, componentId, account), tail) });
});

function parseTail(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_TAIL;
  const tail = Number(text);
  if (!/^\d+$/.test(text) || tail < 1 || tail > MAX_TAIL) {
    throw badRequest('The tail is not valid; see errors.', [{ path: '?tail', message: `must be a whole number from 1 to ${MAX_TAIL}` }]);
  }
  return tail;
}
