import { Conflict } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { providerFor } from '../providers/index.ts';
import { targetOf } from '../steps/context.ts';

/** The only place the application role's password leaves its secret store. */
export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const deployment = await deployments.get(user.sub, plan.id);
  const component = deployment?.components?.[0];
  const primary = component?.nodes.find((node) => node.role === 'primary');
  if (!deployment || !component || !primary) throw new Conflict('The plan has no running deployment yet; deploy it first.');
  const password = await (await providerFor(deployment.spec.target)).readPassword(await targetOf(deployment, component.id));
  const uri = `postgresql://${encodeURIComponent(component.username)}:${encodeURIComponent(password)}@${primary.host}:${primary.port}/${encodeURIComponent(component.databaseName)}?sslmode=require`;
  return json(200, { host: primary.host, port: primary.port, database: component.databaseName, username: component.username, password, uri });
});
