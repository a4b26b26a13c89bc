import { Logger } from '@aws-lambda-powertools/logger';
import { Conflict } from '@cloudseed/shared/errors';
import { leaderAfter, movedLeaders } from '@cloudseed/shared';
import type { DeployedComponent, DeploymentRecord } from '@cloudseed/shared';
import { startFullBackup } from '../lib/backup-workflow.ts';
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
    const nodes = component.nodes.map((node) => {
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
    });
    const leader = leaderAfter(component, nodes);
    components.push({ ...component, nodes, ...(leader === undefined ? {} : { leader }) });
  }
  // A cluster whose leader answers still serves: orange, not red. Every database must.
  const serving =
    components.length > 0 && components.every((component) => component.nodes.some((node) => node.role === 'primary' && node.healthy === true));
  const degraded =
    problems.length > 0
      ? { step: 'HealthCheck', reason: problems.join('; '), at: new Date().toISOString(), ...(serving ? { serving } : {}) }
      : undefined;
  const unchanged =
    JSON.stringify(components) === JSON.stringify(deployment.components ?? []) &&
    (degraded?.reason ?? '') === (deployment.degraded?.reason ?? '') &&
    degraded?.serving === deployment.degraded?.serving;
  if (unchanged) return;
  // A database whose leader moved (failover or switchover) is on a new timeline: its next backup is a full.
  const newLeaders = movedLeaders(deployment.components ?? [], components).filter((component) => {
    const spec = deployment.spec.components.find((entry) => entry.id === component.id);
    return spec?.type === 'postgres' && spec.db.backup.enabled;
  });
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
    return;
  }
  for (const component of newLeaders) {
    try {
      await startFullBackup(deployment, component.id, 'failover');
      logger.info('full backup after a change of leader', { planId: deployment.planId, component: component.id });
    } catch (error) {
      // Another backup holds the lock: it runs on the new leader, and the scheduled full follows.
      if (!(error instanceof Conflict)) throw error;
      logger.warn('no full backup after a change of leader: another backup runs', { planId: deployment.planId, component: component.id });
    }
  }
}

export async function checkAll(): Promise<number> {
  const running = await deployments.listByStatus(['running']);
  const results = await Promise.allSettled(running.map((deployment) => checkDeployment(deployment)));
  for (const result of results) if (result.status === 'rejected') logger.error('health check failed', result.reason as Error);
  return running.length;
}

export const handler = async (): Promise<{ checked: number }> => ({ checked: await checkAll() });
