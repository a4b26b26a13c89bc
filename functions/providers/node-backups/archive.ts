import { earliestRecoverable, pgbackrestTime, verifyProblems } from '@cloudseed/shared/postgres/pgbackrest';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import { findOs } from '@cloudseed/shared/postgres/os';
import type { OsImage } from '@cloudseed/shared/postgres/os';
import { awsServerLayout } from '@cloudseed/shared/targets/aws/scripts';
import { compareFingerprints } from '../fingerprints.ts';
import type { ArchiveBackupResult, NodeRef, RecoveryTarget, RecoveryWindow, TableFingerprint, ValidationResult } from '../provider.ts';
import { PermanentError } from '../errors.ts';
import { archiveBackupReport, archiveValidationReport, recoveryWindowReport, restoredTimeline } from './archive-results.ts';
import { archiveBackupScript, archiveValidateScript, recoveryWindowScript, restoreToPointScript } from './archive-scripts.ts';
import type { ArchiveScriptInput, RestoreToPointInput } from './archive-scripts.ts';
import { restoredFingerprints } from './backup-results.ts';
import { BACKUP_LIMITS } from './backups.ts';
import type { ArchiveHost } from './host.ts';

// Continuous archiving, the same on every cloud: every node archives its WAL with pgBackRest to the
// plan's repository in the account's backup bucket (configure.sh sets that up); the provider runs
// the scripts of archive-scripts.ts on the primary and reads their one result line. A replica is
// rebuilt by the configure script itself, told to clone its primary again.

const BACKUP_TYPES: readonly ArchiveBackupType[] = ['full', 'diff', 'incr'];
const BACKUP_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,50}$/;
const RESTORE_POINT_PREFIX = 'cloudseed-';
const LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** The window is read for an API request: answered within API Gateway's 29 s, or not at all. */
const WINDOW_LIMITS = { commandSeconds: 30, pollMs: 1_000, polls: 20 };

/** The restore point a backup's fingerprints belong to. */
export const restorePointOf = (backupId: string): string => `${RESTORE_POINT_PREFIX}${backupId}`;

export async function archiveBackup(
  host: ArchiveHost,
  primary: NodeRef,
  request: { backupId: string; type: ArchiveBackupType },
): Promise<ArchiveBackupResult> {
  const backupId = checkBackupId(request.backupId);
  if (!BACKUP_TYPES.includes(request.type)) throw new PermanentError(`${JSON.stringify(request.type)} is not a pgBackRest backup type`);
  const input = archiveInput(host, primary);
  const key = archiveKey(host, backupId, 'fingerprints');
  const restorePoint = restorePointOf(backupId);
  const what = `the pgBackRest backup ${backupId} of ${host.planId}/${host.component.id} on ${host.nodeLabel(primary)}`;
  const script = archiveBackupScript({ ...input, key, type: request.type, restorePoint });
  const report = archiveBackupReport(await host.run(primary, 'archive-backup', script, what, { limits: BACKUP_LIMITS }), input.stanza, what);
  if (report.restorePoint !== restorePoint) throw new PermanentError(`${what} wrote restore point ${report.restorePoint}, not ${restorePoint}`);
  const backup = report.info.backups.find((candidate) => candidate.label === report.label);
  if (!backup) throw new PermanentError(`${what} reported backup set ${report.label}, which pgbackrest info does not list`);
  const tables = await storedFingerprints(host, report.bucket, key, report.tableCount, what);
  return {
    label: backup.label,
    type: backup.type,
    startedAt: backup.startedAt,
    stoppedAt: backup.stoppedAt,
    databaseBytes: backup.databaseBytes,
    sizeBytes: backup.repositoryBytes,
    durationMs: report.durationMs,
    serverVersion: report.serverVersion,
    restorePoint,
    tables,
  };
}

export async function validateArchiveBackup(host: ArchiveHost, primary: NodeRef, recorded: ArchiveBackupResult): Promise<ValidationResult> {
  if (!LABEL.test(recorded.label)) throw new PermanentError(`${JSON.stringify(recorded.label)} is not a pgBackRest backup label`);
  if (!recorded.restorePoint.startsWith(RESTORE_POINT_PREFIX))
    throw new PermanentError(`${JSON.stringify(recorded.restorePoint)} is not a restore point CloudSeed writes`);
  const backupId = checkBackupId(recorded.restorePoint.slice(RESTORE_POINT_PREFIX.length));
  const input = archiveInput(host, primary);
  const key = archiveKey(host, backupId, 'validation');
  const what = `the validation of backup set ${recorded.label} of ${host.planId}/${host.component.id} on ${host.nodeLabel(primary)}`;
  const script = archiveValidateScript({ ...input, key, backupId, label: recorded.label, restorePoint: recorded.restorePoint });
  const report = archiveValidationReport(await host.run(primary, 'archive-validation', script, what, { limits: BACKUP_LIMITS }), what);
  if (report.status === 'failed') return report;
  const restored = await storedFingerprints(host, report.bucket, key, report.tableCount, what);
  const compared = compareFingerprints(recorded.tables, restored);
  if (compared.status === 'failed') return compared;
  // verify can print an error and still end "completed successfully": its lines are the verdict.
  const problems = verifyProblems(report.verify);
  if (report.verifyExit !== 0 || problems.length > 0) {
    const shown = problems[0] ?? report.verify.trim().split('\n').at(-1)?.trim() ?? '';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    return {
      status: 'failed',
      detail: `pgbackrest verify ${report.verifyExit === 0 ? 'reported' : `exited ${report.verifyExit}:`} ${shown}${more}`.trim(),
    };
  }
  return {
    status: 'passed',
    detail: `backup set ${recorded.label} restored to ${recorded.restorePoint}: ${compared.detail}; pgbackrest verify found no problems`,
  };
}

export async function recoveryWindow(host: ArchiveHost, primary: NodeRef): Promise<RecoveryWindow | undefined> {
  const input = archiveInput(host, primary);
  const what = `the recovery window of ${host.planId}/${host.component.id} on ${host.nodeLabel(primary)}`;
  const report = recoveryWindowReport(
    await host.run(primary, 'recovery-window', recoveryWindowScript(input), what, { limits: WINDOW_LIMITS }),
    input.stanza,
    what,
  );
  const earliest = earliestRecoverable(report.info);
  if (earliest === undefined || report.latest === '') return undefined;
  if (!ISO_TIME.test(report.latest)) throw new PermanentError(`${what} reported ${JSON.stringify(report.latest)}, which is not a time`);
  // Right after the first backup its end may not be archived past a heartbeat yet: nothing to reach.
  if (Date.parse(report.latest) < Date.parse(earliest)) return undefined;
  return { earliest, latest: report.latest };
}

/** A Patroni cluster's leader being restored: the cluster is forgotten in etcd (its members at `etcdHosts`) before the restore. */
export interface PatroniForget {
  readonly forget: NonNullable<RestoreToPointInput['forget']>;
  readonly etcdHosts: readonly string[];
}

/**
 * Restores `primary` in place. `patroni`: a Patroni cluster's leader, Patroni stopped on every
 * node; the script forgets the cluster in etcd before it restores.
 */
export async function restoreToPoint(host: ArchiveHost, primary: NodeRef, recoveryTarget: RecoveryTarget, patroni?: PatroniForget): Promise<void> {
  const input = archiveInput(host, primary);
  const target = scriptTarget(recoveryTarget);
  const image = imageOf(host);
  const { major } = host.component.postgres;
  const layout = awsServerLayout(image, major);
  const dataDir = image.dataDir(major);
  const logDir = layout.logDirectory.startsWith('/') ? layout.logDirectory : `${dataDir}/${layout.logDirectory}`;
  const what = `the point-in-time restore of ${host.planId}/${host.component.id} to ${target.target} on ${host.nodeLabel(primary)}`;
  const script = restoreToPointScript({
    ...input,
    service: image.serviceName(major),
    logDir,
    target,
    ...(patroni ? { forget: patroni.forget } : {}),
  });
  const environment: ReadonlyArray<[string, string]> = patroni ? [['CLOUDSEED_ETCD_HOSTS', patroni.etcdHosts.join(' ')]] : [];
  restoredTimeline(await host.run(primary, 'point-in-time-restore', script, what, { environment, limits: BACKUP_LIMITS }), what);
}

/** Each replica cloned from the primary again by its configure script, which waits until it streams. */
export async function rebuildReplicas(host: ArchiveHost, primary: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
  if (replicas.length === 0) return;
  if (primary.role !== 'primary') throw new PermanentError(`replicas are rebuilt from the primary, not from ${primary.role} ${primary.name}`);
  const wrong = replicas.find((node) => node.role !== 'replica');
  if (wrong) throw new PermanentError(`${wrong.role} ${wrong.name} is not a replica to rebuild`);
  for (const node of [primary, ...replicas]) host.checkNode(node);
  const primaryHost = await host.privateAddressOf(primary);
  await Promise.all(
    replicas.map((replica) =>
      host.runScript(replica, 'rebuild-replica', host.configureScript, `the rebuild of replica ${host.nodeLabel(replica)}`, {
        environment: [
          ['CLOUDSEED_NODE_ROLE', 'replica'],
          ['CLOUDSEED_PRIMARY_HOST', primaryHost],
          ['CLOUDSEED_REBUILD_REPLICA', 'yes'],
        ],
        limits: BACKUP_LIMITS,
      }),
    ),
  );
}

/** Everything an archive script needs, checked before anything is sent. */
function archiveInput(host: ArchiveHost, primary: NodeRef): ArchiveScriptInput {
  const { component } = host;
  if (primary.role !== 'primary') throw new PermanentError(`continuous archiving runs on the primary, not on ${primary.role} ${primary.name}`);
  host.checkNode(primary);
  if (!SQL_NAME.test(component.postgres.databaseName))
    throw new PermanentError(`${component.postgres.databaseName} is not a database name CloudSeed creates`);
  const image = imageOf(host);
  return {
    stanza: component.id,
    database: component.postgres.databaseName,
    port: component.postgres.port,
    binDir: image.binDir(component.postgres.major),
    cloud: host.cloud,
    cloudValues: host.archiveValues,
  };
}

function imageOf({ component: { os, postgres } }: ArchiveHost): OsImage {
  const image = findOs(os.name, os.version);
  if (!image?.pgMajors.includes(postgres.major))
    throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major} for CloudSeed to archive`);
  return image;
}

function checkBackupId(backupId: string): string {
  if (!BACKUP_ID.test(backupId)) throw new PermanentError(`${JSON.stringify(backupId)} is not a backup id`);
  return backupId;
}

/** `<prefix>archive/<backupId>.<kind>.json`, beside the plan's other backup objects (the nodes may write only there). */
function archiveKey(host: ArchiveHost, backupId: string, kind: 'fingerprints' | 'validation'): string {
  return `${host.archivePrefix}archive/${backupId}.${kind}.json`;
}

function scriptTarget(recoveryTarget: RecoveryTarget): { type: 'time' | 'name'; target: string; set: string } {
  if (recoveryTarget.kind === 'time') {
    if (!ISO_TIME.test(recoveryTarget.time) || Number.isNaN(Date.parse(recoveryTarget.time)))
      throw new PermanentError(`${JSON.stringify(recoveryTarget.time)} is not an ISO time to restore to`);
    return { type: 'time', target: pgbackrestTime(recoveryTarget.time), set: '' };
  }
  if (!recoveryTarget.name.startsWith(RESTORE_POINT_PREFIX))
    throw new PermanentError(`${JSON.stringify(recoveryTarget.name)} is not a restore point CloudSeed writes`);
  checkBackupId(recoveryTarget.name.slice(RESTORE_POINT_PREFIX.length));
  if (!LABEL.test(recoveryTarget.label)) throw new PermanentError(`${JSON.stringify(recoveryTarget.label)} is not a pgBackRest backup label`);
  return { type: 'name', target: recoveryTarget.name, set: recoveryTarget.label };
}

/**
 * The fingerprints a script stored beside the repository. The bucket comes from the node's own
 * config, so it is checked to be this account's CloudSeed backup bucket before it is read.
 */
async function storedFingerprints(host: ArchiveHost, bucket: string, key: string, tableCount: number, what: string): Promise<TableFingerprint[]> {
  if (!host.ownsBucket(bucket))
    throw new PermanentError(`${what} used bucket ${JSON.stringify(bucket)}, which is not this account's CloudSeed backup bucket`);
  const url = host.store.url(bucket, key);
  const tables = restoredFingerprints(await host.store.read(bucket, key, `the fingerprints ${url}`), url);
  if (tables.length !== tableCount) throw new PermanentError(`${url} holds ${tables.length} tables, but ${what} fingerprinted ${tableCount}`);
  return tables;
}
