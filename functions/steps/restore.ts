import type { RestoreRequest } from '@cloudseed/shared';
import { backups } from '../lib/backups.ts';
import { backupContext, recordedResult } from './backup-context.ts';
import { currentDeployment, required } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

export interface RestoreInput extends DeploymentInput {
  readonly restore?: RestoreRequest;
}

/** Restores a logical backup into the running application database, after checking the object's checksum. */
export const handler = step('RestoreBackup', async (input: RestoreInput) => {
  await currentDeployment(input);
  const request = required(input.restore, 'the restore request');
  if (request.kind !== 'logical') throw new Error(`a ${request.kind} restore is not a logical one`);
  const record = await backups.get(input.ownerId, input.planId, request.backupId);
  if (!record) throw new Error(`there is no backup ${request.backupId}`);
  const context = await backupContext(input.ownerId, input.planId, record.componentId, record.backupId);
  await context.provider.restoreBackup(context.target, context.primary, record.location, recordedResult(record));
  return { restored: record.backupId };
});
