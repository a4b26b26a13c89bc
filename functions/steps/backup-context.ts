import type { BackupRecord, DeploymentRecord } from '@cloudseed/shared';
import { backups } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
import { providerFor } from '../providers/index.ts';
import type { ArchiveBackupResult, BackupResult, DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { nodeRefOf, targetOf } from './context.ts';

export interface BackupInput {
  readonly ownerId: string;
  readonly planId: string;
  readonly componentId: string;
  /** schedule: the daily backup; incremental: one between (both from the plan's schedules); manual: the API's. */
  readonly trigger: 'schedule' | 'incremental' | 'manual';
  readonly backupId?: string;
  /** Re-validates this existing backup instead of taking a new one. */
  readonly validateOnly?: boolean;
  readonly skipped?: string | false;
  readonly error?: { Error?: string; Cause?: string };
}

export interface BackupContext {
  readonly deployment: DeploymentRecord;
  readonly target: DeployTarget;
  readonly provider: Provider;
  readonly primary: NodeRef;
  readonly record: BackupRecord;
}

/** The running deployment, its primary and the backup record a backup or restore step works on. */
export async function backupContext(ownerId: string, planId: string, componentId: string, backupId: string | undefined): Promise<BackupContext> {
  if (!backupId) throw new Error('the workflow did not pass the backup id');
  const [deployment, record] = await Promise.all([deployments.get(ownerId, planId), backups.get(ownerId, planId, backupId)]);
  if (!deployment) throw new Error('the plan is not deployed');
  if (!record) throw new Error(`there is no backup ${backupId}`);
  const node = deployment.components?.find((component) => component.id === componentId)?.nodes.find((candidate) => candidate.role === 'primary');
  if (!node) throw new Error(`component ${componentId} has no running primary`);
  return {
    deployment,
    target: await targetOf(deployment, componentId),
    provider: await providerFor(deployment.spec.target),
    primary: nodeRefOf(node),
    record,
  };
}

export function recordedResult(record: BackupRecord): BackupResult {
  if (record.sha256 === undefined || record.sizeBytes === undefined || !record.tables)
    throw new Error(`backup ${record.backupId} holds no completed dump`);
  return {
    sizeBytes: record.sizeBytes,
    sha256: record.sha256,
    durationMs: record.durationMs ?? 0,
    serverVersion: record.serverVersion ?? '',
    tables: record.tables,
  };
}

export function recordedArchive(record: BackupRecord): ArchiveBackupResult {
  const { label, type, stoppedAt, restorePoint, tables } = record;
  if (!label || !type || !stoppedAt || !restorePoint || !tables) throw new Error(`backup ${record.backupId} holds no completed pgBackRest backup`);
  return {
    label,
    type,
    startedAt: record.startedAt,
    stoppedAt,
    databaseBytes: record.databaseBytes ?? 0,
    sizeBytes: record.sizeBytes ?? 0,
    durationMs: record.durationMs ?? 0,
    serverVersion: record.serverVersion ?? '',
    restorePoint,
    tables,
  };
}
