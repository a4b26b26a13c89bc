import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCommandInvocationCommand } from '@aws-sdk/client-ssm';
import type { GetCommandInvocationCommandOutput } from '@aws-sdk/client-ssm';
import { backupBucketRegion } from '@cloudseed/shared/targets/aws/account';
import { findOs } from '@cloudseed/shared/postgres/os';
import { compareFingerprints } from '../fingerprints.ts';
import type { AccountConnection, BackupLocation, BackupResult, NodeRef, ValidationResult } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { backupManifest, backupSummary, restoredFingerprints, restoreOutcome, resultOf, validationOutcome } from './backup-results.ts';
import { backupObjectKeys, backupScript, manifestKey, restoreScript, validateScript, validationKey } from './backup-scripts.ts';
import type { BackupScriptInput } from './backup-scripts.ts';
import type { AwsContext } from './clients.ts';
import { invocationFailure, sendScript } from './commands.ts';
import type { ScriptEnvironment } from './run-command.ts';
import { awsErrorCode, call } from './errors.ts';
import { instanceIds, nodeLabel } from './instances.ts';
import { accountOf } from './target.ts';

// Backups run on the primary (backup-scripts.ts), which streams between PostgreSQL and the
// account's own backup bucket with its instance profile; the provider starts them, waits for
// them, and reads what they stored with the customer's role.

// A backup, validation or restore runs on the primary for at most 12 minutes (SSM kills it then),
// and is polled for 13, so that the Lambda that waits for it (15 minutes at most) sees SSM's own
// verdict. Databases whose dump takes longer need the script split from its polling (like install).
const BACKUP_COMMAND_SECONDS = 720;
const BACKUP_POLL_MS = 5_000;
const BACKUP_POLLS = 156;
/** A restore swaps its database in only with this much of its time left: SSM's kill would leave the application database closed. */
const SWAP_MARGIN_SECONDS = 60;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export async function backup(context: AwsContext, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
  const input = backupInput(context, primary, location);
  const s3 = s3For(context, location);
  const what = `the backup of ${context.target.planId}/${context.component.id} on ${nodeLabel(primary)}`;
  try {
    const summary = backupSummary(resultOf(await runOnNode(context, primary, 'backup', backupScript(input)), what), what);
    const manifestUrl = objectUrl(location.bucket, manifestKey(location.key));
    const manifest = backupManifest(
      await readObject(s3, location.bucket, manifestKey(location.key), `the backup's manifest ${manifestUrl}`),
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
    // The script removes what it stored when it fails, but not when SSM kills it at its timeout.
    await deleteObjects(s3, location).catch(() => undefined);
    throw error;
  }
}

export async function validateBackup(
  context: AwsContext,
  primary: NodeRef,
  location: BackupLocation,
  recorded: BackupResult,
): Promise<ValidationResult> {
  const input = { ...backupInput(context, primary, location), recordedSha256: recordedSha256(recorded) };
  const s3 = s3For(context, location);
  if (!(await objectExists(s3, location.bucket, location.key)))
    return { status: 'failed', detail: `the backup object ${objectUrl(location.bucket, location.key)} does not exist` };
  const what = `the validation of backup ${objectUrl(location.bucket, location.key)} on ${nodeLabel(primary)}`;
  const outcome = validationOutcome(resultOf(await runOnNode(context, primary, 'backup-validation', validateScript(input)), what), what);
  if (outcome.status === 'failed') return outcome;
  const reportUrl = objectUrl(location.bucket, validationKey(location.key));
  const restored = restoredFingerprints(
    await readObject(s3, location.bucket, validationKey(location.key), `the fingerprints of the restored copy ${reportUrl}`),
    reportUrl,
  );
  if (restored.length !== outcome.tableCount)
    throw new PermanentError(`${reportUrl} holds ${restored.length} tables, but ${what} fingerprinted ${outcome.tableCount}`);
  return compareFingerprints(recorded.tables, restored);
}

export async function restoreBackup(context: AwsContext, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
  const input = { ...backupInput(context, primary, location), recordedSha256: recordedSha256(recorded) };
  const s3 = s3For(context, location);
  const url = objectUrl(location.bucket, location.key);
  if (!(await objectExists(s3, location.bucket, location.key)))
    throw new PermanentError(`the backup object ${url} does not exist; nothing was restored`);
  const what = `the restore of ${url} into ${context.target.planId}/${context.component.id} on ${nodeLabel(primary)}`;
  const script = restoreScript({ ...input, swapDeadlineSeconds: BACKUP_COMMAND_SECONDS - SWAP_MARGIN_SECONDS });
  const outcome = restoreOutcome(resultOf(await runOnNode(context, primary, 'restore', script), what), what);
  if (outcome.sha256 !== recorded.sha256)
    throw new PermanentError(`${what} restored an object with sha256 ${outcome.sha256}, not the recorded ${recorded.sha256}`);
}

export async function deleteBackup(context: AwsContext, location: BackupLocation): Promise<void> {
  await deleteObjects(s3For(context, location), location);
}

/** A bucket S3 would accept, and a key with room for the longest suffix and nothing a shell or a log line would trip on. */
export function checkLocation(location: BackupLocation): void {
  if (!BUCKET_NAME.test(location.bucket)) throw new PermanentError(`${JSON.stringify(location.bucket)} is not an S3 bucket name`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (location.key === '' || location.key.length > 1000 || /[\u0000-\u001f\u007f]/.test(location.key))
    throw new PermanentError(`${JSON.stringify(location.key)} is not a backup object key`);
}

/** The account's backup bucket says its region in its name; any other bucket is looked for in the plan's region. */
function bucketRegion(location: BackupLocation, account: AccountConnection): string {
  return backupBucketRegion(location.bucket) ?? account.region;
}

/** S3 with the customer's role, in the region of the bucket the backup is in. */
function s3For({ target, clients }: AwsContext, location: BackupLocation): S3Client {
  return clients.s3(bucketRegion(location, accountOf(target)));
}

/** Everything a backup script needs, checked before anything is sent. */
function backupInput({ target, component }: AwsContext, primary: NodeRef, location: BackupLocation): BackupScriptInput {
  const account = accountOf(target);
  checkLocation(location);
  if (primary.role !== 'primary') throw new PermanentError(`backups run on the primary, not on ${primary.role} ${primary.name}`);
  instanceIds([primary]);
  const { os, postgres } = component;
  for (const name of [postgres.databaseName, postgres.username])
    if (!SQL_NAME.test(name)) throw new PermanentError(`${name} is not a database or role name CloudSeed creates`);
  const image = findOs(os.name, os.version);
  if (!image?.pgMajors.includes(postgres.major))
    throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major} for CloudSeed to back up`);
  return {
    bucket: location.bucket,
    key: location.key,
    region: bucketRegion(location, account),
    database: postgres.databaseName,
    owner: postgres.username,
    port: postgres.port,
    binDir: image.binDir(postgres.major),
  };
}

/**
 * Runs a script on one node (the primary, for backups) and waits for it; its standard output, or a
 * PermanentError with the end of its standard error.
 */
const waited = (ms: number): string => (ms >= 60_000 ? `${ms / 60_000} minutes` : `${ms / 1000} s`);

/** How long SSM lets a script run, and how often and how many times the provider asks how it went. */
export interface CommandLimits {
  readonly commandSeconds: number;
  readonly pollMs: number;
  readonly polls: number;
}

export async function runOnNode(
  context: AwsContext,
  node: NodeRef,
  label: string,
  script: string,
  environment: ScriptEnvironment = [],
  limits: CommandLimits = { commandSeconds: BACKUP_COMMAND_SECONDS, pollMs: BACKUP_POLL_MS, polls: BACKUP_POLLS },
): Promise<string | undefined> {
  const { ssm } = context.clients;
  const commandId = await sendScript(context, [node.nodeId], label, script, environment, limits.commandSeconds);
  for (let poll = 0; poll < limits.polls; poll += 1) {
    await context.clock.sleep(limits.pollMs);
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await call('ssm:GetCommandInvocation', () =>
        ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: node.nodeId })),
      );
    } catch (error) {
      // Not visible yet right after SendCommand; throttled: the script runs on regardless, ask again.
      if (awsErrorCode(error) === 'InvocationDoesNotExist' || error instanceof TransientError) continue;
      throw error;
    }
    if (invocation.Status === 'Success') return invocation.StandardOutputContent;
    const failure = invocationFailure(label, invocation, nodeLabel(node));
    if (failure) throw new PermanentError(failure);
  }
  throw new PermanentError(
    `the ${label} of ${context.target.planId}/${context.component.id} on ${nodeLabel(node)} took longer than ${waited(limits.pollMs * limits.polls)} (command ${commandId})`,
  );
}

async function deleteObjects(s3: S3Client, location: BackupLocation): Promise<void> {
  const output = await call('s3:DeleteObject', () =>
    s3.send(
      new DeleteObjectsCommand({
        Bucket: location.bucket,
        Delete: { Objects: backupObjectKeys(location.key).map((Key) => ({ Key })), Quiet: true },
      }),
    ),
  );
  // Keys that do not exist are deleted all the same; what comes back is what could not be.
  const failed = output.Errors?.[0];
  if (!failed) return;
  const code = failed.Code ?? 'unknown';
  const message = `could not delete ${objectUrl(location.bucket, failed.Key ?? location.key)}: ${code}: ${failed.Message ?? ''}`.trim();
  if (code === 'InternalError' || code === 'SlowDown' || code === 'ServiceUnavailable') throw new TransientError(message, { code });
  throw new PermanentError(message, { code });
}

function objectUrl(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

function recordedSha256(recorded: BackupResult): string {
  if (!SHA256_HEX.test(recorded.sha256)) throw new PermanentError(`the recorded sha256 ${JSON.stringify(recorded.sha256)} is not a sha256`);
  return recorded.sha256;
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await call('s3:GetObject', () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    return true;
  } catch (error) {
    if (awsErrorCode(error) === 'NotFound' || awsErrorCode(error) === 'NoSuchKey') return false;
    throw error;
  }
}

export async function readObject(s3: S3Client, bucket: string, key: string, what: string): Promise<string> {
  try {
    const output = await call('s3:GetObject', () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    if (!output.Body) throw new PermanentError(`${what} is empty`);
    return await output.Body.transformToString('utf8');
  } catch (error) {
    if (awsErrorCode(error) === 'NoSuchKey') throw new PermanentError(`${what} does not exist`, { code: 'NoSuchKey', cause: error });
    throw error;
  }
}
