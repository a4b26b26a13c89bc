import type { DeployedComponent } from '@cloudseed/shared';
import { deleteBackupSchedule, incrementalCron, putBackupSchedule } from '../lib/schedules.ts';
import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

/**
 * Enrols the component in health checks (the deployment record lists its nodes) and backups (its
 * schedule follows the plan: created, updated or removed). The result is the deployed component,
 * which the Map collects one per component.
 */
export const handler = step('RegisterMonitoring', async (input: ComponentInput): Promise<DeployedComponent> => {
  const { target } = await componentContext(input);
  const { backup } = target.component.db;
  if (backup.enabled) {
    const schedule = { ownerId: input.ownerId, planId: input.planId, componentId: target.component.id, timezone: backup.timezone };
    await putBackupSchedule({ ...schedule, cron: backup.schedule });
    if (backup.incrementalEveryHours > 0) {
      await putBackupSchedule({ ...schedule, cron: incrementalCron(backup.schedule, backup.incrementalEveryHours), trigger: 'incremental' });
    } else {
      await deleteBackupSchedule(input.planId, target.component.id, 'incremental');
    }
  } else {
    await deleteBackupSchedule(input.planId, target.component.id);
  }
  const nodes = required(input.nodes, 'the nodes').map((node) => ({
    name: node.name,
    role: node.role,
    instanceId: node.nodeId,
    host: required(node.host, `the address of ${node.name}`),
    port: node.port,
    healthy: true,
  }));
  const endpoint = input.verified?.endpoint;
  return {
    id: target.component.id,
    nodes,
    databaseName: target.component.db.databaseName,
    username: target.component.db.username,
    ...(endpoint ? { endpoint } : {}),
  };
});
