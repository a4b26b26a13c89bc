import { Logger } from '@aws-lambda-powertools/logger';
import { Conflict } from '@cloudseed/shared/errors';
import type { DeployedComponent, DeploymentRecord } from '@cloudseed/shared';
import { deployments } from '../lib/plans.ts';
import { providerFor } from '../providers/index.ts';
import { nodeRefOf, targetOf } from '../steps/context.ts';

// Asks every node of every running deployment (a cluster's Patroni answers for its members). A
// node down turns the deployment red with the reason; when every node answers again it turns
// green. A cluster's roles are recorded as they are now, so a failover moves the primary. Runs on a schedule: EventBridge on
// AWS, a timer in the local cloud.

const logger = new Logger({ serviceName: 'cloudseed-health' });

export async function checkDeployment(deployment: DeploymentRecord): Promise<void> {
  const provider = await providerFor(deployment.spec.target);
  const components: DeployedComponent[] = [];
  const problems: string[] = [];
  for (const component of deployment.components ?? []) {
    const health = await provider.health(await targetOf(deployment, component.id), component.nodes.map(nodeRefOf));
    components.push({
      ...component,
      nodes: component.nodes.map((node) => {
        const { detail: _previous, ha: _before, ...rest } = node;
        const result = health.find((candidate) => candidate.name === node.name);
        const healthy = result?.healthy ?? false;
        if (!healthy) problems.push(`${node.name}: ${result?.detail ?? 'no health report'}`);
        return {
          ...rest,
          // A cluster's leader moves on failover: the deployment records who leads now.
          role: result?.role ?? node.role,
          healthy,
          ...(!healthy ? { detail: result?.detail ?? 'no health report' } : {}),
          ...(result?.ha ? { ha: result.ha } : {}),
        };
      }),
    });
  }
  const degraded = problems.length > 0 ? { step: 'HealthCheck', reason: problems.join('; '), at: new Date().toISOString() } : undefined;
  const unchanged =
    JSON.stringify(components) === JSON.stringify(deployment.components ?? []) && (degraded?.reason ?? '') === (deployment.degraded?.reason ?? '');
  if (unchanged) return;
  try {
    await deployments.update(
      deployment.ownerId,
      deployment.planId,
      deployment.deploymentId,
      { components, ...(degraded ? { degraded } : {}) },
      degraded ? [] : ['degraded'],
    );
    logger.info(degraded ? 'deployment degraded' : 'deployment recovered', { planId: deployment.planId, reason: degraded?.reason });
  } catch (error) {
    // A deployment started since we read it: its own workflow decides the status now.
    if (!(error instanceof Conflict)) throw error;
  }
}

export async function checkAll(): Promise<number> {
  const running = await deployments.listByStatus(['running']);
  const results = await Promise.allSettled(running.map((deployment) => checkDeployment(deployment)));
  for (const result of results) if (result.status === 'rejected') logger.error('health check failed', result.reason as Error);
  return running.length;
}

export const handler = async (): Promise<{ checked: number }> => ({ checked: await checkAll() });
