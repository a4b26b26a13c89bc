import { randomBytes } from 'node:crypto';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { newBackupId } from '@cloudseed/shared/backups/backups';
import type { BackupTrigger } from '@cloudseed/shared/backups/backups';
import type { DeploymentRecord } from '@cloudseed/shared';
import { openBackup } from './backups.ts';
import { requireEnv } from './env.ts';
import { deployments } from './plans.ts';

// Starting the backup workflow, on its own: the functions that start backups (the API, the restore
// workflow's last step, the health check after a failover) need only the backup workflow's ARN.

const endpoint = process.env.STEPFUNCTIONS_ENDPOINT;
const client = new SFNClient(endpoint ? { endpoint } : {});
const backupArn = requireEnv('BACKUP_STATE_MACHINE_ARN');

/** Starts a backup the API has already locked and recorded; the execution is named after it. */
export async function startBackup(input: {
  ownerId: string;
  planId: string;
  componentId: string;
  backupId: string;
  validateOnly?: boolean;
}): Promise<string> {
  const { executionArn } = await client.send(
    new StartExecutionCommand({
      stateMachineArn: backupArn,
      name: input.validateOnly ? `${input.backupId}-validate-${Date.now()}` : input.backupId,
      input: JSON.stringify({ ...input, trigger: 'manual' }),
    }),
  );
  if (!executionArn) throw new Error('StartExecution returned no executionArn');
  return executionArn;
}

/**
 * A full pgBackRest backup of the database, started now under the plan's backup lock (Conflict
 * while another backup holds it): after a restore or a failover, the new timeline's first, so
 * that the window and the incrementals after it do not lean on the history left behind.
 */
export async function startFullBackup(
  deployment: Pick<DeploymentRecord, 'ownerId' | 'planId' | 'spec'>,
  componentId: string,
  trigger: Extract<BackupTrigger, 'restore' | 'failover'>,
): Promise<string> {
  const { ownerId, planId } = deployment;
  const now = new Date();
  const backupId = newBackupId(now, randomBytes(4).toString('hex'));
  await deployments.claimBackup(ownerId, planId, backupId);
  try {
    await openBackup(deployment.spec.target, { ownerId, planId, componentId, backupId, now, trigger, kind: 'physical', type: 'full' });
    await startBackup({ ownerId, planId, componentId, backupId });
  } catch (error) {
    await deployments.releaseBackup(ownerId, planId, backupId, undefined);
    throw error;
  }
  return backupId;
}
