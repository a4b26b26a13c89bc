import { GetObjectCommand } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { backupKey } from '@cloudseed/shared/backups/backups';
import type { BackupKind, BackupRecord, BackupTrigger } from '@cloudseed/shared/backups/backups';
import { repoPathFor } from '@cloudseed/shared/postgres/pgbackrest';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import { Conflict } from '@cloudseed/shared/errors';
import type { Target } from '@cloudseed/shared';
import { CLOUD_NAMES } from '@cloudseed/shared/accounts/accounts';
import { AccountAccessError } from '../providers/errors.ts';
import { azureAppIdFrom, federationRoleFrom } from '../providers/federation.ts';
import { BackupLinks } from '../providers/aws/backup-links.ts';
import type { BackupLocation } from '../providers/provider.ts';
import { accounts } from './accounts.ts';
import { DynamoBackupRepository } from './backups-repository.ts';
import { documentClient } from './dynamo.ts';
import { requireEnv } from './env.ts';
import { localBackupBucket, s3 } from './s3.ts';
import { backupsTable } from './tables.ts';

// Backup records, and where their objects live: a local plan's in the local cloud's s3rver bucket,
// an AWS plan's in the bucket the CloudSeed template created in the customer's own account (named
// after the connected account and the region it was connected in), which only the customer's roles
// can reach: download links there are signed with the customer role. A Google Cloud plan's go to
// its project's backup bucket in the plan's region, an Azure plan's to the backup container of its
// subscription's backup account in the plan's region (the provider names that account); their
// links are a V4 signed URL signed by the project's deployer account, and a user delegation SAS.

export const backups = new DynamoBackupRepository(documentClient, requireEnv(backupsTable.env));

const links = new BackupLinks(new STSClient({ retryMode: 'standard', maxAttempts: 3 }));

/**
 * Where a new backup of the deployed target goes: a logical export's object, or the stanza's
 * folder of the cluster's pgBackRest repository (the label is added once pgBackRest has made it).
 */
export async function backupLocationFor(
  ownerId: string,
  target: Target,
  ids: { planId: string; componentId: string; backupId: string },
  kind: BackupKind = 'logical',
): Promise<BackupLocation> {
  const key = kind === 'logical' ? backupKey(ids.planId, ids.componentId, ids.backupId) : archiveBackupKey(ids.planId, ids.componentId);
  if (target.cloud === 'local') return { bucket: localBackupBucket(), key };
  if (target.cloud === 'aws') {
    const bucket = await accounts.backupBucketFor(ownerId, target);
    if (!bucket) throw new Conflict('The AWS account this plan is deployed to is not connected any more; connect it again to back the plan up.');
    return { bucket, key };
  }
  if (!(await accounts.connectionFor(ownerId, target)))
    throw new Conflict(
      `The ${CLOUD_NAMES[target.cloud]} account this plan is deployed to is not connected any more; connect it again to back the plan up.`,
    );
  // Each cloud's document module loads only for its plans (the functions are one code-split bundle).
  if (target.cloud === 'gcp')
    return { bucket: (await import('@cloudseed/shared/targets/gcp/gcp-json')).backupBucketName(target.project, target.region), key };
  return { bucket: (await import('@cloudseed/shared/targets/azure/azure-json')).BACKUP_CONTAINER, key };
}

export const archiveBackupKey = (planId: string, componentId: string, label?: string): string =>
  `${repoPathFor(planId).slice(1)}/backup/${componentId}/${label ?? ''}`;

export interface BackupOpening {
  readonly ownerId: string;
  readonly planId: string;
  readonly componentId: string;
  readonly backupId: string;
  readonly trigger: BackupTrigger;
  readonly kind: BackupKind;
  /** Physical backups: what to ask pgBackRest for. */
  readonly type?: ArchiveBackupType;
  readonly now: Date;
}

/** Opens the record of a backup whose lock the caller holds: running, validation pending. */
export async function openBackup(target: Target, opening: BackupOpening): Promise<BackupRecord> {
  const { ownerId, planId, componentId, backupId, trigger, kind, type, now } = opening;
  const record: BackupRecord = {
    ownerId,
    planId,
    backupId,
    componentId,
    trigger,
    kind,
    ...(kind === 'physical' ? { type: type ?? 'full' } : {}),
    status: 'running',
    startedAt: now.toISOString(),
    location: await backupLocationFor(ownerId, target, { planId, componentId, backupId }, kind),
    validation: { status: 'pending' },
  };
  await backups.create(record);
  return record;
}

/** A link that downloads the object for `expiresIn` seconds, saved as `filename`. */
export async function backupDownloadUrl(
  ownerId: string,
  target: Target,
  location: BackupLocation,
  options: { filename: string; expiresIn: number },
): Promise<string> {
  const disposition = `attachment; filename="${options.filename}"`;
  if (target.cloud === 'local') {
    return getSignedUrl(s3, new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ResponseContentDisposition: disposition }), {
      expiresIn: options.expiresIn,
    });
  }
  const connection = await accounts.connectionFor(ownerId, target);
  if (!connection)
    throw new Conflict(
      `The ${CLOUD_NAMES[target.cloud]} account this backup is stored in is not connected any more; connect it again to download the backup.`,
    );
  if (!('cloud' in connection)) {
    try {
      return await links.downloadUrl(connection, location, options);
    } catch (error) {
      if (error instanceof AccountAccessError)
        throw new Conflict('CloudSeed cannot assume the role of the AWS account this backup is stored in; check the CloudSeed stack there.');
      throw error;
    }
  }
  if (connection.cloud === 'gcp' && target.cloud === 'gcp') {
    const [{ gcpAuthFor }, { gcsDownloadUrl }] = await Promise.all([
      import('../providers/gcp/connection.ts'),
      import('../providers/gcp/backup-links.ts'),
    ]);
    try {
      return await gcsDownloadUrl(gcpAuthFor(connection, federationRoleFrom(process.env)), connection.projectId, location, options);
    } catch (error) {
      if (error instanceof AccountAccessError)
        throw new Conflict(
          `CloudSeed cannot sign a download link as the deployer service account of project ${connection.projectId}: it needs Service Account Token Creator on itself (the last gcloud step on the accounts page).`,
        );
      throw error;
    }
  }
  if (connection.cloud === 'azure' && target.cloud === 'azure') {
    const federation = federationRoleFrom(process.env);
    const appId = azureAppIdFrom(process.env);
    if (!federation || !appId)
      throw new Conflict('This CloudSeed platform has no Entra app to sign in to Azure with; its operator sets AZURE_APP_ID.');
    const [{ azureCredentialFor }, { blobDownloadUrl }, { backupStorageAccountName }] = await Promise.all([
      import('../providers/azure/connection.ts'),
      import('../providers/azure/backup-links.ts'),
      import('@cloudseed/shared/targets/azure/azure-json'),
    ]);
    const account = backupStorageAccountName(connection.subscriptionId, target.region);
    try {
      return await blobDownloadUrl(azureCredentialFor(connection, appId, federation.stsClient()), account, location, options);
    } catch (error) {
      if (error instanceof AccountAccessError)
        throw new Conflict(
          `CloudSeed cannot sign a download link for storage account ${account}: its role on resource group cloudseed-backups needs to be the one the accounts page shows.`,
        );
      throw error;
    }
  }
  throw new Conflict(`The account this backup is stored in does not connect ${CLOUD_NAMES[target.cloud]}.`);
}
