import { CLEAR_RECOVERY_SQL, HEARTBEAT_SQL, LATEST_RECOVERABLE_SQL } from '@cloudseed/shared/postgres/pgbackrest';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import { ARCHIVE_CONFIG_FILE, renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import type { ScriptCloud } from '@cloudseed/shared/targets/node-scripts';
import type { ShellValues } from '@cloudseed/shared/targets/aws/scripts';
import { FINGERPRINT_VALUES, serverValues } from './backup-scripts.ts';

// The bash scripts a cloud's command channel runs as root on a deployment's primary for continuous archiving
// (shared/src/targets/sh/archive-*.sh, on top of the backup scripts' helpers): a pgBackRest
// backup with the restore point its fingerprints belong to, its proof in a scratch data directory,
// the recovery window, and the point-in-time restore. pgBackRest runs with the node's own config,
// which names the repository; the fingerprints are stored beside the plan's other backup objects,
// `<prefix>archive/<backupId>.fingerprints.json` and `.validation.json`, since they outgrow the
// standard output a command channel keeps.
//
// Like the backup scripts, they take the node's backup lock (the window excepted: it only reads) and
// print one `CLOUDSEED_RESULT {json}` line.

/** Where the scratch data directories of validations go; one per backup, removed when it ends. */
const SCRATCH_ROOT = '/var/lib/cloudseed';
/** The scratch server's port: never the deployment's. */
export const SCRATCH_PORT = 5499;
/** How long a switched WAL segment may take to reach the repository. */
const ARCHIVE_WAIT_SECONDS = 120;
/** How long a restored copy (scratch or in place) may replay WAL before it must be promoted. */
const RECOVERY_SECONDS = 480;
/** The verify output a validation reports at most (SSM keeps 24,000 characters of standard output). */
const VERIFY_LIMIT = 12_000;

export interface ArchiveScriptInput {
  /** The cluster's stanza: the component's id. */
  readonly stanza: string;
  /** The application database, whose tables are fingerprinted. */
  readonly database: string;
  readonly port: number;
  readonly binDir: string;
  /** The cloud whose prelude the script is sent with, and what that prelude reads from the header there (on AWS the plan's region, see renderAwsPgbackrestConf). */
  readonly cloud: ScriptCloud;
  readonly cloudValues: ShellValues;
}

export interface ArchiveBackupInput extends ArchiveScriptInput {
  readonly key: string;
  readonly type: ArchiveBackupType;
  readonly restorePoint: string;
}

export interface ArchiveValidateInput extends ArchiveScriptInput {
  readonly key: string;
  readonly backupId: string;
  readonly label: string;
  readonly restorePoint: string;
}

export interface RestoreToPointInput extends ArchiveScriptInput {
  readonly service: string;
  /** Absolute: where the server writes its log, for a failure's reason. */
  readonly logDir: string;
  readonly target: { readonly type: 'time' | 'name'; readonly target: string; readonly set: string };
  /**
   * A Patroni cluster's leader, with Patroni stopped on every node: the cluster is forgotten in
   * etcd first (patroni-forget.sh), so the restored server's Patroni forms it anew.
   */
  readonly forget?: { readonly etcdClientPort: number; readonly request: string };
}

function scriptValues(task: string, input: ArchiveScriptInput, key: string, values: ShellValues): ShellValues {
  return {
    TASK: task,
    ARCHIVE_CONF_FILE: ARCHIVE_CONFIG_FILE,
    STANZA: input.stanza,
    KEY: key,
    ...input.cloudValues,
    ...values,
    ...serverValues(input),
  };
}

/** pgBackRest backup, restore point, fingerprints in its snapshot, WAL switched and archived (archive-backup.sh). */
export function archiveBackupScript(input: ArchiveBackupInput): string {
  return renderNodeScript(
    'archive-backup: a pgBackRest backup and the restore point its fingerprints belong to.',
    scriptValues('archive-backup', input, input.key, {
      DATABASE: input.database,
      BACKUP_TYPE: input.type,
      RESTORE_POINT: input.restorePoint,
      ARCHIVE_WAIT_SECONDS: String(ARCHIVE_WAIT_SECONDS),
      ...FINGERPRINT_VALUES,
    }),
    ['archive-helpers.sh', 'backup-helpers.sh', 'backup-fingerprints.sh', 'archive-backup.sh'],
    input.cloud,
  );
}

/** Restores a backup set into a scratch data directory to its restore point, fingerprints it, runs verify (archive-validate.sh). */
export function archiveValidateScript(input: ArchiveValidateInput): string {
  return renderNodeScript(
    'archive-validation: restores a pgBackRest backup into a scratch server, fingerprints it and verifies the repository.',
    scriptValues('archive-validation', input, input.key, {
      DATABASE: input.database,
      LABEL: input.label,
      RESTORE_POINT: input.restorePoint,
      SCRATCH_DIR: `${SCRATCH_ROOT}/validate-${input.backupId}`,
      SCRATCH_PORT: String(SCRATCH_PORT),
      START_TIMEOUT_SECONDS: String(RECOVERY_SECONDS),
      VERIFY_LIMIT: String(VERIFY_LIMIT),
      ...FINGERPRINT_VALUES,
    }),
    ['archive-helpers.sh', 'backup-helpers.sh', 'backup-fingerprints.sh', 'archive-validate.sh'],
    input.cloud,
  );
}

/** The stanza's backups and the newest archived heartbeat (archive-window.sh). */
export function recoveryWindowScript(input: ArchiveScriptInput): string {
  return renderNodeScript(
    'recovery-window: the backups in the repository and the newest archived commit.',
    scriptValues('recovery-window', input, '', { LATEST_SQL: LATEST_RECOVERABLE_SQL }),
    ['archive-helpers.sh', 'backup-helpers.sh', 'archive-window.sh'],
    input.cloud,
  );
}

/** Restores the primary in place to a time or a restore point (archive-restore.sh). */
export function restoreToPointScript(input: RestoreToPointInput): string {
  return renderNodeScript(
    'point-in-time-restore: restores the primary in place and promotes it on a new timeline.',
    scriptValues('point-in-time-restore', input, '', {
      SERVICE: input.service,
      LOG_DIR: input.logDir,
      TARGET_TYPE: input.target.type,
      TARGET: input.target.target,
      TARGET_SET: input.target.set,
      PROMOTE_TIMEOUT_SECONDS: String(RECOVERY_SECONDS),
      HEARTBEAT_SQL,
      CLEAR_RECOVERY_SQL,
      ...(input.forget ? { ETCD_CLIENT_PORT: String(input.forget.etcdClientPort), FORGET_REQUEST: input.forget.request } : {}),
    }),
    ['archive-helpers.sh', 'backup-helpers.sh', ...(input.forget ? ['patroni-forget.sh'] : []), 'archive-restore.sh'],
    input.cloud,
  );
}
