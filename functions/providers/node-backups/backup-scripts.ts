import { PINNED_SEARCH_PATH_OPTIONS } from '@cloudseed/shared/postgres/admin-session';
import { renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import type { ScriptCloud } from '@cloudseed/shared/targets/node-scripts';
import type { ShellValues } from '@cloudseed/shared/targets/aws/scripts';
import { FINGERPRINT_SETTINGS, rowHashesOf, USER_TABLES_FROM } from '../fingerprints.ts';

// The bash scripts a cloud's command channel (SSM Run Command, the GCP agent, Azure Run Command) runs
// as root on a deployment's primary to back it up, to prove a backup by restoring it into a scratch
// database, and to restore it into the application database (shared/src/targets/sh/: backup.sh,
// validate.sh, restore.sh and the backup-*.sh they share), each with its cloud's prelude. The node
// streams everything between PostgreSQL and object storage itself (its own identity may write the
// backup objects and read them back); nothing passes through the Lambda.
//
// Next to `<key>`, the pg_dump --format=custom archive, a backup has:
//   <key>.globals.sql       pg_dumpall --globals-only (roles with their SCRAM verifiers, tablespaces)
//   <key>.manifest.json     what the backup script measured: size, sha256, server version, and every
//                           table's row count and checksum in the dump's snapshot
//   <key>.validation.json   the same fingerprints of the latest restored copy
//
// A script prints exactly one line to standard output, `CLOUDSEED_RESULT {json}`; everything else
// goes to standard error, and stays short, since a channel keeps little of either (SSM the first
// 24,000 characters of standard output and the first 8,000 of standard error). The fingerprints do
// not fit that for a database of a few hundred tables, so they travel through object storage and the
// result line carries counts the provider checks them against.
//
// The three scripts take one lock per node, so a backup, a validation and a restore never overlap;
// with it held, the scratch databases of a run that was killed can be dropped safely.
//
// Fingerprints are the local provider's (../fingerprints.ts): the same table list, session settings
// and row hashes, handed to the scripts as values.

export const RESULT_MARKER = 'CLOUDSEED_RESULT';
/** The file the three scripts lock, one at a time per node. */
export const LOCK_FILE = '/run/cloudseed-backup.lock';
/** libpq application_name of every session the scripts open, so a failed run can end its own sessions. */
export const APPLICATION_NAME = 'cloudseed-backup';

const SUFFIXES = { globals: '.globals.sql', manifest: '.manifest.json', validation: '.validation.json' } as const;

export const globalsKey = (key: string): string => `${key}${SUFFIXES.globals}`;
export const manifestKey = (key: string): string => `${key}${SUFFIXES.manifest}`;
export const validationKey = (key: string): string => `${key}${SUFFIXES.validation}`;
/** Every object a backup consists of, the archive first. */
export const backupObjectKeys = (key: string): string[] => [key, globalsKey(key), manifestKey(key), validationKey(key)];

export interface BackupScriptInput {
  /** The cloud whose prelude the script is sent with: the scripts themselves are the same on every cloud. */
  readonly cloud: ScriptCloud;
  /** What that prelude reads from the header: the bucket's region on AWS, the project on GCP, the storage account on Azure. */
  readonly cloudValues: ShellValues;
  readonly bucket: string;
  readonly key: string;
  /** The application database. */
  readonly database: string;
  /** The application role: it owns the database and everything a restore creates. */
  readonly owner: string;
  readonly port: number;
  /** Where this image keeps psql, pg_dump and pg_restore of the installed major. */
  readonly binDir: string;
}

export interface RestoreScriptInput extends BackupScriptInput {
  /** The sha256 the backup recorded; the object must still have it. */
  readonly recordedSha256: string;
}

export interface SwapInput extends RestoreScriptInput {
  /**
   * Seconds after its start past which the restore gives up rather than swap the databases: SSM
   * kills a script at its timeout without a trap, and a restore killed between refusing new
   * sessions and the renames would leave the application database refusing them.
   */
  readonly swapDeadlineSeconds: number;
}

/** The values every one of the three scripts starts from; `values` come between the object's and PostgreSQL's. */
function scriptValues(task: string, input: BackupScriptInput, values: ShellValues): ShellValues {
  return { TASK: task, BUCKET: input.bucket, KEY: input.key, ...input.cloudValues, ...values, ...serverValues(input) };
}

/** How every backup and archive script reaches the server, and the result marker and lock they share. */
export function serverValues(input: { readonly binDir: string; readonly port: number }): ShellValues {
  return {
    PG_BIN: input.binDir,
    PGPORT: String(input.port),
    PGAPPNAME: APPLICATION_NAME,
    PGOPTIONS: PINNED_SEARCH_PATH_OPTIONS,
    RESULT_MARKER,
    LOCK_FILE,
  };
}

/** What the fingerprint functions (backup-fingerprints.sh) are given: the local provider's queries. */
export const FINGERPRINT_VALUES: ShellValues = {
  USER_TABLES_FROM: USER_TABLES_FROM.join('\n'),
  FINGERPRINT_SETTINGS,
  // format()'s template: the table's schema and name replace the two %I.
  ROW_HASHES_COPY: `COPY (SELECT h FROM (${rowHashesOf('%I.%I')}) AS hashed ORDER BY h) TO STDOUT`,
};

/**
 * pg_dump of the application database streamed to `<key>`, the globals to `<key>.globals.sql`, and
 * the manifest with every table's fingerprint to `<key>.manifest.json`, all in one snapshot (backup.sh).
 */
export function backupScript(input: BackupScriptInput): string {
  return renderNodeScript(
    'backup: pg_dump of the application database to object storage, with its tables fingerprinted in the same snapshot.',
    scriptValues('backup', input, {
      DATABASE: input.database,
      GLOBALS_SUFFIX: SUFFIXES.globals,
      MANIFEST_SUFFIX: SUFFIXES.manifest,
      VALIDATION_SUFFIX: SUFFIXES.validation,
      ...FINGERPRINT_VALUES,
    }),
    ['backup-helpers.sh', 'backup-fingerprints.sh', 'backup.sh'],
    input.cloud,
  );
}

/**
 * Restores the backup into a scratch database and stores every restored table's fingerprint in
 * `<key>.validation.json` for the provider to compare with the recorded ones (validate.sh).
 */
export function validateScript(input: RestoreScriptInput): string {
  return renderNodeScript(
    'backup-validation: restores a backup into a scratch database and fingerprints what it restored.',
    scriptValues('backup-validation', input, {
      OWNER: input.owner,
      RECORDED_SHA256: input.recordedSha256,
      VALIDATION_SUFFIX: SUFFIXES.validation,
      ...FINGERPRINT_VALUES,
    }),
    ['backup-helpers.sh', 'backup-fingerprints.sh', 'backup-databases.sh', 'validate.sh'],
    input.cloud,
  );
}

/** Restores the backup into a new database and swaps it in under the application database's name (restore.sh). */
export function restoreScript(input: SwapInput): string {
  return renderNodeScript(
    'restore: replaces the application database with a backup.',
    scriptValues('restore', input, {
      DATABASE: input.database,
      OWNER: input.owner,
      RECORDED_SHA256: input.recordedSha256,
      SWAP_DEADLINE_SECONDS: String(input.swapDeadlineSeconds),
    }),
    ['backup-helpers.sh', 'backup-databases.sh', 'restore.sh'],
    input.cloud,
  );
}
