import type { NodeRef, RecoveryTarget } from '../provider.ts';
import * as reform from '../node-backups/reform.ts';
import type { PatroniHost } from '../node-backups/reform.ts';
import { backupHost } from './backups.ts';
import type { AwsContext } from './clients.ts';
import { clusterEnvironments } from './commands.ts';
import { describeEndpoint } from './endpoint.ts';
import { clusterState } from './ha.ts';
import type { PatroniComponent } from './ha.ts';
import { runningNodes } from './instances.ts';

// An in-place restore of a Patroni cluster on EC2 (../node-backups/reform.ts): the running
// instances of the component, Patroni's view of who leads (asked over SSM), and configure's
// environment with the addresses EC2 gives and the Network Load Balancer's.

type PatroniContext = AwsContext & { readonly component: PatroniComponent };

export function patroniHost(context: PatroniContext): PatroniHost {
  const { component } = context;
  return {
    ...backupHost(context),
    nodeNames: component.nodes.map((node) => node.name),
    patroni: { scope: component.patroni.scope, etcdClientPort: component.patroni.etcdClientPort },
    runningNodes: () => runningNodes(context),
    leaderName: async (nodes) => (await clusterState(context, nodes))?.leader?.name,
    environments: async (members) => clusterEnvironments(component, context.clients.ec2, members, (await describeEndpoint(context))?.host),
  };
}

export const dissolveScript = (context: Pick<PatroniContext, 'component'>): string => reform.dissolveScript(context.component);

export function restorePatroniCluster(context: PatroniContext, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
  return reform.restorePatroniCluster(patroniHost(context), primary, recoveryTarget);
}

export function rebuildPatroniReplicas(context: PatroniContext, leader: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
  return reform.rebuildPatroniReplicas(patroniHost(context), leader, replicas);
}
