import type { DeployedComponent } from '@cloudseed/shared';
import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

/** The deployed component as the health check and the API see it; the Map collects one per component. */
export const handler = step('RegisterMonitoring', async (input: ComponentInput): Promise<DeployedComponent> => {
  const { target } = await componentContext(input);
  const nodes = required(input.nodes, 'the nodes').map((node) => ({
    name: node.name,
    role: node.role,
    instanceId: node.instanceId,
    host: required(node.host, `the address of ${node.name}`),
    port: node.port,
    healthy: true,
  }));
  return { id: target.spec.id, nodes, databaseName: target.spec.db.databaseName, username: target.spec.db.username };
});
