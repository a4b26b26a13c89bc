import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { caFileName, connectionUri, loadBalancerUri, membersOf } from '@cloudseed/shared/deployments/connection';
import { Conflict } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { providerFor } from '../providers/index.ts';
import { targetOf } from '../steps/context.ts';

/**
 * The only place the application role's password leaves its secret store. With it comes the plan's
 * CA certificate, which the connection string tells clients to verify the server against. The
 * database is `?component=<id>`, else the plan's first. A cluster's string names every member and
 * asks for the writable one; `readOnlyUri` prefers a replica; `loadBalancerUri` (AWS clusters with
 * automatic failover) goes through the internal load balancer, inside the VPC.
 */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const deployment = await deployments.get(user.sub, plan.id);
  const database = databaseComponent(deployment?.spec ?? plan.spec, query.component, '?component');
  const component = componentById({ components: deployment?.components ?? [] }, database.id);
  const primary = component?.nodes.find((node) => node.role === 'primary');
  if (!deployment || !component || !primary?.host) throw new Conflict('The plan has no running deployment yet; deploy it first.');
  const provider = await providerFor(deployment.spec.target);
  const target = await targetOf(deployment, component.id);
  const [password, caCertificate] = await Promise.all([provider.readPassword(target), provider.readCaCertificate(target)]);
  const endpoint = { host: primary.host, port: primary.port, database: component.databaseName, username: component.username };
  const members = membersOf(component.nodes);
  const clustered = { ...endpoint, members, ...(component.endpoint ? { loadBalancer: component.endpoint } : {}) };
  const throughBalancer = loadBalancerUri(clustered, plan.id, password);
  return json(200, {
    ...endpoint,
    password,
    uri: connectionUri(clustered, plan.id, password),
    ...(members.length > 1 ? { readOnlyUri: connectionUri(clustered, plan.id, password, 'prefer-standby') } : {}),
    ...(throughBalancer ? { loadBalancerUri: throughBalancer } : {}),
    caCertificate,
    caFileName: caFileName(plan.id),
  });
});
