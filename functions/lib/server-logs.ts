import { componentById } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import { parsePostgresLog, selectEntries } from '@cloudseed/shared/metrics/logs';
import type { LogEntry, LogsRequest } from '@cloudseed/shared/metrics/logs';
import { ProviderError } from '../providers/errors.ts';
import { providerFor } from '../providers/index.ts';
import type { NodeRef } from '../providers/provider.ts';
import { nodeRefOf, targetOf } from '../steps/context.ts';
import type { DeploymentRecord } from '@cloudseed/shared/deployments/deployments';
import { requireEnv } from './env.ts';
import { badRequest } from './problems.ts';

// A database node's PostgreSQL log (shared/src/metrics/logs.ts), its secrets masked: the node asked
// for, else the one that leads. On the local cloud it is read from the node's log directory; in a
// cloud, on the node, through the provider's command channel (node-backups/server-log.ts).

export interface ServerLog {
  readonly component: string;
  /** The node read, and every node of the component (for choosing another). */
  readonly node?: string;
  readonly nodes: readonly string[];
  readonly entries: readonly LogEntry[];
}

export async function serverLog(deployment: DeploymentRecord | undefined, componentId: string, request: LogsRequest): Promise<ServerLog> {
  const deployed = componentById({ components: deployment?.components ?? [] }, componentId);
  const nodes = deployed?.nodes.map((node) => node.name) ?? [];
  if (request.node !== undefined && !nodes.includes(request.node))
    throw badRequest(`${componentId} has no node ${request.node}.`, [
      { path: '?node', message: `must name a node of ${componentId} (${nodes.join(', ') || 'it has none deployed'})` },
    ]);
  // Not deployed yet: there is no log, and nothing is wrong.
  if (!deployment || !deployed) return { component: componentId, nodes, entries: [] };
  const node = request.node ?? deployed.nodes.find((candidate) => candidate.role === 'primary')?.name ?? nodes[0];
  if (node === undefined) return { component: componentId, nodes, entries: [] };
  if (deployment.spec.target.cloud !== 'local') {
    const ref = deployed.nodes.find((candidate) => candidate.name === node);
    return { component: componentId, node, nodes, entries: ref ? await cloudLog(deployment, componentId, nodeRefOf(ref), request) : [] };
  }
  const { nodePaths } = await import('../providers/local/paths.ts');
  const { localServerLog } = await import('../providers/local/server-logs.ts');
  const entries = await localServerLog(nodePaths(requireEnv('CLOUDSEED_HOME'), deployment.planId, node), request);
  return { component: componentId, node, nodes, entries };
}

/** A cloud node's log, read on the node through the provider's command channel; a 409 saying why when it cannot be. */
async function cloudLog(deployment: DeploymentRecord, componentId: string, node: NodeRef, request: LogsRequest): Promise<LogEntry[]> {
  const provider = await providerFor(deployment.spec.target);
  if (!provider.serverLog) throw new Conflict(`Server logs of plans on ${deployment.spec.target.cloud} are not read yet.`);
  let text: string;
  try {
    text = await provider.serverLog(await targetOf(deployment, componentId), node);
  } catch (error) {
    if (error instanceof ProviderError) throw new Conflict(`The log of ${node.name} could not be read: ${error.message}`);
    throw error;
  }
  return selectEntries(parsePostgresLog(text), request);
}
