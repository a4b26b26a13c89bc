import { CLOUD_NAMES } from '@cloudseed/shared/accounts/accounts';
import { componentById } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import type { LogEntry, LogsRequest } from '@cloudseed/shared/metrics/logs';
import type { DeploymentRecord } from '@cloudseed/shared/deployments/deployments';
import { requireEnv } from './env.ts';
import { badRequest } from './problems.ts';

// A database node's PostgreSQL log (shared/src/metrics/logs.ts), its secrets masked: the node asked
// for, else the one that leads. On the local cloud it is read from the node's log directory.

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
  const { cloud } = deployment.spec.target;
  if (cloud !== 'local')
    throw new Conflict(`Server logs of plans on ${CLOUD_NAMES[cloud]} are not read yet; the local cloud reads them for its plans.`);
  const { nodePaths } = await import('../providers/local/paths.ts');
  const { localServerLog } = await import('../providers/local/server-logs.ts');
  const entries = await localServerLog(nodePaths(requireEnv('CLOUDSEED_HOME'), deployment.planId, node), request);
  return { component: componentId, node, nodes, entries };
}
