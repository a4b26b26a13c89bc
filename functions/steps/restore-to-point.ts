import { backups } from '../lib/backups.ts';
import type { RecoveryTarget } from '../providers/provider.ts';
import { recordedArchive } from './backup-context.ts';
import { componentContext, nodeRefOf, required } from './context.ts';
import type { RestoreInput } from './restore.ts';
import { step } from './step.ts';

/**
 * Restores the cluster's primary in place from its pgBackRest repository, to the time asked for or
 * to a physical backup's restore point, and waits until it is promoted and writable.
 */
export const handler = step('RestoreToPoint', async (input: RestoreInput) => {
  const request = required(input.restore, 'the restore request');
  if (request.kind === 'logical') throw new Error('a logical backup is loaded, not restored to a point');
  const { deployment, target, provider } = await componentContext({ ...input, componentId: request.componentId });
  const primary = deployment.components?.find((component) => component.id === request.componentId)?.nodes.find((node) => node.role === 'primary');
  if (!primary) throw new Error(`component ${request.componentId} has no primary`);
  let recoveryTarget: RecoveryTarget;
  if (request.kind === 'point-in-time') {
    recoveryTarget = { kind: 'time', time: request.targetTime };
  } else {
    const record = await backups.get(input.ownerId, input.planId, request.backupId);
    if (!record) throw new Error(`there is no backup ${request.backupId}`);
    const recorded = recordedArchive(record);
    recoveryTarget = { kind: 'restore-point', name: recorded.restorePoint, label: recorded.label };
  }
  await provider.restoreToPoint(target, nodeRefOf(primary), recoveryTarget);
  return { restored: recoveryTarget.kind === 'time' ? recoveryTarget.time : recoveryTarget.name };
});
