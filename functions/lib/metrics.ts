import { CLOUD_NAMES } from '@cloudseed/shared/accounts/accounts';
import { Conflict } from '@cloudseed/shared/errors';
import type { NodeRole } from '@cloudseed/shared';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import { seriesOf } from '@cloudseed/shared/metrics/series';
import type { MetricSeries } from '@cloudseed/shared/metrics/series';
import type { AccountCloud } from '@cloudseed/shared/accounts/accounts';
import type { DeploymentRecord } from '@cloudseed/shared/deployments/deployments';
import { ProviderError } from '../providers/errors.ts';
import { providerFor } from '../providers/index.ts';
import { nodeRefOf, targetOf } from '../steps/context.ts';
import { requireEnv } from './env.ts';
import { deployments } from './plans.ts';

// A deployed plan's metrics: each database node's series over the range asked, from where its
// collector keeps them. On the local cloud that is the ring each node's samples go to under
// CLOUDSEED_HOME (providers/local/metrics.ts); in a cloud, where the provider reads what the nodes
// publish (CloudWatch on AWS, a minute a point: the answer's step says so).

export interface NodeMetrics {
  readonly name: string;
  readonly role: NodeRole;
  readonly series: readonly MetricSeries[];
}

export interface PlanMetrics {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly components: ReadonlyArray<{ readonly id: string; readonly nodes: NodeMetrics[] }>;
}

export async function planMetrics(ownerId: string, planId: string, query: MetricsQuery): Promise<PlanMetrics> {
  const deployment = await deployments.get(ownerId, planId);
  const base = { from: query.from, to: query.to, step: query.step };
  // Nothing deployed, nothing measured: an empty answer, not an error (a plan is often drawn before it runs).
  if (!deployment?.components?.length) return { ...base, components: [] };
  const { cloud } = deployment.spec.target;
  if (cloud !== 'local') return cloudMetrics(deployment, query);
  const { readPoints, ringFile } = await import('../providers/local/metrics.ts');
  const home = requireEnv('CLOUDSEED_HOME');
  const components = [];
  for (const component of deployment.components) {
    const nodes: NodeMetrics[] = [];
    for (const node of component.nodes) {
      const points = await readPoints(ringFile(home, planId, component.id, node.name), query.from, query.to);
      nodes.push({ name: node.name, role: node.role, series: seriesOf(points, query) });
    }
    components.push({ id: component.id, nodes });
  }
  return { ...base, components };
}

/** What the provider reads of the nodes' published metrics; a 409 where they publish none yet. */
async function cloudMetrics(deployment: DeploymentRecord, query: MetricsQuery): Promise<PlanMetrics> {
  const { cloud } = deployment.spec.target;
  const provider = await providerFor(deployment.spec.target);
  if (!provider.metrics) throw new Conflict(`Metrics of plans on ${CLOUD_NAMES[cloud as AccountCloud]} are not collected.`);
  let grid = { from: query.from, to: query.to, step: query.step };
  const components = [];
  for (const component of deployment.components ?? []) {
    let answer;
    try {
      answer = await provider.metrics(await targetOf(deployment, component.id), component.nodes.map(nodeRefOf), query);
    } catch (error) {
      // A refusal (an account whose CloudSeed stack predates metrics may not read them) is the customer's to fix.
      if (error instanceof ProviderError)
        throw new Conflict(
          cloud === 'aws'
            ? `The metrics could not be read: ${error.message}. An account connected before metrics were collected needs its CloudSeed stack updated (cloudwatch:GetMetricData).`
            : `The metrics could not be read: ${error.message}.`,
        );
      throw error;
    }
    grid = { from: answer.from, to: answer.to, step: answer.step };
    components.push({
      id: component.id,
      nodes: component.nodes.map((node) => ({
        name: node.name,
        role: node.role,
        series: answer.nodes.find((entry) => entry.name === node.name)?.series ?? [],
      })),
    });
  }
  return { ...grid, components };
}
