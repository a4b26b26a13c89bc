import { findOs } from '@cloudseed/shared/postgres/os';
import { compareFingerprints } from '../fingerprints.ts';
import type { BackupLocation, BackupResult, NodeRef, ValidationResult } from '../provider.ts';
import { PermanentError } from '../errors.ts';
import { backupManifest, backupSummary, restoredFingerprints, restoreOutcome, validationOutcome } from './backup-results.ts';
import { backupObjectKeys, backupScript, manifestKey, restoreScript, validateScript, validationKey } from './backup-scripts.ts';
import type { BackupScriptInput } from './backup-scripts.ts';
import type { BackupHost, CommandLimits } from './host.ts';

// Logical backups on a cloud's nodes, the same on every cloud: the primary runs the scripts of
// backup-scripts.ts, streaming between PostgreSQL and the cloud's object storage with the node's
// own identity; the provider starts them through its command channel, waits for them, and reads
// what they stored with the customer's connection (the BackupHost its cloud builds).

/**
 * A backup, validation or restore runs on the primary for at most 12 minutes (a channel with a
 * timeout kills it then) and is polled for 13, so that the Lambda that waits for it (15 minutes at
 * most) sees the channel's own verdict. Databases whose dump takes longer need the script split
 * from its polling (like install).
 */
export const BACKUP_LIMITS: CommandLimits = { commandSeconds: 720, pollMs: 5_000, polls: 156 };
/** A restore swaps its database in only with this much of its time left: a kill would leave the application database closed. */
const SWAP_MARGIN_SECONDS = 60;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export async function backup(host: BackupHost, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
  const input = backupInput(host, primary, location);
  const what = `the backup of ${host.planId}/${host.component.id} on ${host.nodeLabel(primary)}`;
  try {
    const summary = backupSummary(await host.run(primary, 'backup', backupScript(input), what, { limits: BACKUP_LIMITS }), what);
    const manifestUrl = host.store.url(location.bucket, manifestKey(location.key));
    const manifest = backupManifest(
      await host.store.read(location.bucket, manifestKey(location.key), `the backup's manifest ${manifestUrl}`),
      `the manifest ${manifestUrl}`,
    );
    if (manifest.sha256 !== summary.sha256 || manifest.sizeBytes !== summary.sizeBytes || manifest.tables.length !== summary.tableCount) {
      throw new PermanentError(
        `the manifest ${manifestUrl} does not describe the dump ${what} reported (sha256 ${summary.sha256}, ${summary.sizeBytes} bytes, ${summary.tableCount} tables)`,
      );
    }
    return {
      sizeBytes: summary.sizeBytes,
      sha256: summary.sha256,
      durationMs: summary.durationMs,
      serverVersion: summary.serverVersion,
      tables: manifest.tables,
    };
  } catch (error) {
    // The script removes what it stored when it fails, but not when it is killed at its timeout.
    await deleteBackup(host, location).catch(() => undefined);
    throw error;
  }
}

export async function validateBackup(
  host: BackupHost,
  primary: NodeRef,
  location: BackupLocation,
  recorded: BackupResult,
): Promise<ValidationResult> {
  const input = { ...backupInput(host, primary, location), recordedSha256: recordedSha256(recorded) };
  const url = host.store.url(location.bucket, location.key);
  if (!(await host.store.exists(location.bucket, location.key))) return { status: 'failed', detail: `the backup object ${url} does not exist` };
  const what = `the validation of backup ${url} on ${host.nodeLabel(primary)}`;
  const outcome = validationOutcome(await host.run(primary, 'backup-validation', validateScript(input), what, { limits: BACKUP_LIMITS }), what);
  if (outcome.status === 'failed') return outcome;
  const reportUrl = host.store.url(location.bucket, validationKey(location.key));
  const restored = restoredFingerprints(
    await host.store.read(location.bucket, validationKey(location.key), `the fingerprints of the restored copy ${reportUrl}`),
    reportUrl,
  );
  if (restored.length !== outcome.tableCount)
    throw new PermanentError(`${reportUrl} holds ${restored.length} tables, but ${what} fingerprinted ${outcome.tableCount}`);
  return compareFingerprints(recorded.tables, restored);
}

export async function restoreBackup(host: BackupHost, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
  const input = { ...backupInput(host, primary, location), recordedSha256: recordedSha256(recorded) };
  const url = host.store.url(location.bucket, location.key);
  if (!(await host.store.exists(location.bucket, location.key)))
    throw new PermanentError(`the backup object ${url} does not exist; nothing was restored`);
  const what = `the restore of ${url} into ${host.planId}/${host.component.id} on ${host.nodeLabel(primary)}`;
  const script = restoreScript({ ...input, swapDeadlineSeconds: BACKUP_LIMITS.commandSeconds - SWAP_MARGIN_SECONDS });
  const outcome = restoreOutcome(await host.run(primary, 'restore', script, what, { limits: BACKUP_LIMITS }), what);
  if (outcome.sha256 !== recorded.sha256)
    throw new PermanentError(`${what} restored an object with sha256 ${outcome.sha256}, not the recorded ${recorded.sha256}`);
}

export async function deleteBackup(host: Pick<BackupHost, 'store'>, location: BackupLocation): Promise<void> {
  checkLocation(host.store, location);
  await host.store.remove(location.bucket, backupObjectKeys(location.key));
}

/** A bucket the cloud would accept, and a key with room for the longest suffix and nothing a shell or a log line would trip on. */
export function checkLocation(store: Pick<BackupHost['store'], 'checkBucket'>, location: BackupLocation): void {
  store.checkBucket(location.bucket);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (location.key === '' || location.key.length > 1000 || /[\u0000-\u001f\u007f]/.test(location.key))
    throw new PermanentError(`${JSON.stringify(location.key)} is not a backup object key`);
}

/** Everything a backup script needs, checked before anything is sent. */
function backupInput(host: BackupHost, primary: NodeRef, location: BackupLocation): BackupScriptInput {
  checkLocation(host.store, location);
  if (primary.role !== 'primary') throw new PermanentError(`backups run on the primary, not on ${primary.role} ${primary.name}`);
  host.checkNode(primary);
  const { os, postgres } = host.component;
  for (const name of [postgres.databaseName, postgres.username])
    if (!SQL_NAME.test(name)) throw new PermanentError(`${name} is not a database or role name CloudSeed creates`);
  const image = findOs(os.name, os.version);
  if (!image?.pgMajors.includes(postgres.major))
    throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major} for CloudSeed to back up`);
  return {
    cloud: host.cloud,
    cloudValues: host.scriptValues(location.bucket),
    bucket: location.bucket,
    key: location.key,
    database: postgres.databaseName,
    owner: postgres.username,
    port: postgres.port,
    binDir: image.binDir(postgres.major),
  };
}

function recordedSha256(recorded: BackupResult): string {
  if (!SHA256_HEX.test(recorded.sha256)) throw new PermanentError(`the recorded sha256 ${JSON.stringify(recorded.sha256)} is not a sha256`);
  return recorded.sha256;
}
