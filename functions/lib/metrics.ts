import { CLOUD_NAMES } from '@cloudseed/shared/accounts/accounts';
import { Conflict } from '@cloudseed/shared/errors';
import type { NodeRole } from '@cloudseed/shared';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import { seriesOf } from '@cloudseed/shared/metrics/series';
import type { MetricSeries } from '@cloudseed/shared/metrics/series';
import { requireEnv } from './env.ts';
import { deployments } from './plans.ts';

// A deployed plan's metrics: each database node's series over the range asked, from where its
// collector keeps them. On the local cloud that is the ring each node's samples go to under
// CLOUDSEED_HOME (providers/local/metrics.ts).

export interface NodeMetrics {
  readonly name: string;
  readonly role: NodeRole;
  readonly series: MetricSeries[];
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
  if (cloud !== 'local')
    throw new Conflict(`Metrics of plans on ${CLOUD_NAMES[cloud]} are not collected yet; the local cloud collects them for its plans.`);
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
