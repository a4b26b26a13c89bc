import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  baseBackupFor,
  CLEAR_RECOVERY_SQL,
  earliestRecoverable,
  HEARTBEAT_SQL,
  LATEST_RECOVERABLE_SQL,
  parseStanzaInfo,
  parseTimelineHistory,
  pgbackrestTime,
  renderPgbackrestConf,
  repoPathFor,
  verifyProblems,
} from '@cloudseed/shared/postgres/pgbackrest';
import type { ArchiveBackupType, StanzaInfo, TimelineHistory } from '@cloudseed/shared/postgres/pgbackrest';
import { quoteLiteral } from '@cloudseed/shared/postgres/sql';
import { s3 } from '../../lib/s3.ts';
import { compareFingerprints, FINGERPRINT_SETTINGS } from '../fingerprints.ts';
import { PermanentError } from '../errors.ts';
import type { ArchiveBackupResult, RecoveryTarget, RecoveryWindow, ValidationResult } from '../provider.ts';
import type { DatabaseRef } from './backup.ts';
import { postgresAccount, rootAccount, run } from './exec.ts';
import type { RunResult } from './exec.ts';
import { ensureDir, writeFileAtomic } from './files.ts';
import { fingerprintAll, listTables, qualifiedName } from './fingerprints.ts';
import type { NodePaths } from './paths.ts';
import { pathsOf } from './paths.ts';
import { SqlSession } from './pg-process.ts';
import { adminSql, conninfo, emptyPostgresDir, isRunning, startServer, stopServer } from './server.ts';
import type { Server } from './server.ts';

// Continuous archiving of a local deployment with pgBackRest, to the local cloud's s3rver bucket
// over TLS. Every node has its own config (<node>/pgbackrest/pgbackrest.conf, postgres' 0600: it
// holds the repository's key) naming the cluster's stanza (the component id) in the plan's
// repository path; the servers archive through it (archive_command) and fetch from it in recovery.
// Backups, their validation in a scratch server, the recovery window and point-in-time restores
// run pgBackRest as the postgres OS user.

/** Where the repository is: the local cloud's S3 over TLS, and the key pair that may write it. */
export interface ArchiveRepository {
  readonly host: string;
  readonly port: number;
  readonly caFile: string;
  readonly bucket: string;
  readonly key: string;
  readonly secret: string;
}

/** The repository the local cloud's environment names, or undefined where there is none (a provider built without the local cloud). */
export function archiveRepositoryFrom(env: NodeJS.ProcessEnv): ArchiveRepository | undefined {
  const { ARCHIVE_S3_HOST, ARCHIVE_S3_PORT, ARCHIVE_S3_CA_FILE, BACKUP_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = env;
  if (!ARCHIVE_S3_HOST || !ARCHIVE_S3_PORT || !ARCHIVE_S3_CA_FILE || !BACKUP_BUCKET || !AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    host: ARCHIVE_S3_HOST,
    port: Number(ARCHIVE_S3_PORT),
    caFile: ARCHIVE_S3_CA_FILE,
    bucket: BACKUP_BUCKET,
    key: AWS_ACCESS_KEY_ID,
    secret: AWS_SECRET_ACCESS_KEY,
  };
}

/** A node's archiving: its config file and the cluster's stanza. */
export interface Archive {
  readonly configFile: string;
  readonly stanza: string;
}

const BACKUP_TIMEOUT_MS = 60 * 60 * 1000;
const RESTORE_TIMEOUT_MS = 60 * 60 * 1000;
/** How long a restored server may take to replay WAL to its target and be promoted. */
const RECOVERY_TIMEOUT_MS = 30 * 60 * 1000;

export const restorePointName = (backupId: string): string => `cloudseed-${backupId}`;

/** Writes the node's pgBackRest config and makes its spool, log and lock directories. */
export async function writeArchiveConfig(
  paths: NodePaths,
  options: {
    readonly planId: string;
    readonly stanza: string;
    readonly port: number;
    readonly retentionDays: number;
    readonly repository: ArchiveRepository;
  },
): Promise<Archive> {
  const postgres = postgresAccount();
  await ensureDir(paths.pgbackrestDir, 0o700, postgres);
  const dirs = { spool: join(paths.pgbackrestDir, 'spool'), log: join(paths.pgbackrestDir, 'log'), lock: join(paths.pgbackrestDir, 'lock') };
  for (const dir of Object.values(dirs)) await ensureDir(dir, 0o700, postgres);
  const { repository } = options;
  const conf = renderPgbackrestConf({
    stanza: options.stanza,
    repoPath: repoPathFor(options.planId),
    repository: {
      bucket: repository.bucket,
      endpoint: repository.host,
      port: repository.port,
      region: 'us-east-1',
      keyType: 'shared',
      key: repository.key,
      keySecret: repository.secret,
      caFile: repository.caFile,
      uriStyle: 'path',
    },
    dataDir: paths.data,
    port: options.port,
    socketDir: paths.socketDir,
    spoolPath: dirs.spool,
    logPath: dirs.log,
    lockPath: dirs.lock,
    retentionDays: options.retentionDays,
    processMax: 2,
  });
  await writeFileAtomic(paths.pgbackrestConf, conf, 0o600, postgres);
  return { configFile: paths.pgbackrestConf, stanza: options.stanza };
}

async function pgbackrest(archive: Archive, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return run('pgbackrest', [`--config=${archive.configFile}`, `--stanza=${archive.stanza}`, ...args], { asPostgres: true, timeoutMs });
}

async function pgbackrestChecked(archive: Archive, what: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await pgbackrest(archive, args, timeoutMs);
  if (result.code !== 0) throw new PermanentError(`${what} failed: ${pgbackrestFailure(result)}`);
  return result.stdout;
}

/** pgBackRest's own error line ("ERROR: [055]: ..."), else the tail of what it printed. */
function pgbackrestFailure(result: RunResult): string {
  const output = `${result.stdout}\n${result.stderr}`;
  const errors = output
    .split('\n')
    .map((line) => /\bERROR: \[\d+\]: (.*)$/.exec(line)?.[1]?.trim())
    .filter((line): line is string => line !== undefined);
  if (errors.length > 0) return errors.slice(-2).join(' | ');
  const tail = output.trim().split('\n').slice(-3).join(' | ');
  return tail === '' ? `exit code ${String(result.code)}` : tail;
}

/** Removes the stanza's backups and WAL from the repository (the plan's component is gone). */
export async function removeStanza(repository: ArchiveRepository, planId: string, stanza: string): Promise<void> {
  const base = repoPathFor(planId).slice(1);
  for (const prefix of [`${base}/archive/${stanza}/`, `${base}/backup/${stanza}/`]) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: repository.bucket, Prefix: prefix, ContinuationToken: token }));
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
      // One at a time: s3rver's DeleteObjects wants a Content-MD5 the SDK no longer sends, and
      // concurrent deletes in one folder race over removing it once empty (an internal error).
      for (const Key of keys) await s3.send(new DeleteObjectCommand({ Bucket: repository.bucket, Key }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

/** pgBackRest's info status codes for a stanza that is not there (yet): no stanza path, no stanza data. */
const MISSING_STANZA = new Set([1, 3]);

/** stanza-create found the archive lock held (pgBackRest's LockAcquireError). */
const LOCK_BUSY = /unable to acquire lock/;
const STANZA_ATTEMPTS = 10;
const STANZA_RETRY_MS = 1_000;

/**
 * Creates the stanza when it is not there. Only then: stanza-create takes the archive lock, which
 * the asynchronous archive-push of a running server holds whenever it is pushing (it retries a
 * segment it could not push yet): a busy lock is waited out, a second at a time.
 */
export async function ensureStanza(archive: Archive): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    if (!MISSING_STANZA.has((await stanzaInfo(archive)).status.code)) return;
    const result = await pgbackrest(archive, ['stanza-create']);
    if (result.code === 0) return;
    const failure = pgbackrestFailure(result);
    if (!LOCK_BUSY.test(failure) || attempt === STANZA_ATTEMPTS)
      throw new PermanentError(`creating pgBackRest stanza ${archive.stanza} failed: ${failure}`);
    await delay(STANZA_RETRY_MS);
  }
}

/**
 * Commits a heartbeat, switches WAL and waits until the segment is in the repository: the recovery
 * window then reaches to now.
 */
export async function checkArchiving(primary: Server, archive: Archive): Promise<void> {
  await adminSql(primary, HEARTBEAT_SQL);
  await pgbackrestChecked(archive, 'archiving the current WAL segment (pgbackrest check)', ['check']);
}

export async function stanzaInfo(archive: Archive): Promise<StanzaInfo> {
  return parseStanzaInfo(await pgbackrestChecked(archive, 'pgbackrest info', ['--output=json', 'info']), archive.stanza);
}

/**
 * A pgBackRest backup of the primary, then the restore point its validation replays to, written
 * in the snapshot the fingerprints are taken in while every user table is locked against writes.
 */
export async function takeArchiveBackup(
  db: DatabaseRef,
  archive: Archive,
  request: { readonly backupId: string; readonly type: ArchiveBackupType },
): Promise<ArchiveBackupResult> {
  const started = Date.now();
  await ensureStanza(archive);
  const before = new Set((await stanzaInfo(archive)).backups.map((backup) => backup.label));
  // A leader promoted moments ago has not yet written its new timeline into pg_control (the
  // checkpoint after promotion runs in the background); pgBackRest refuses to back it up until then.
  await adminSql(db.server, 'CHECKPOINT;');
  await pgbackrestChecked(archive, `the ${request.type} backup`, [`--type=${request.type}`, 'backup'], BACKUP_TIMEOUT_MS);
  const made = (await stanzaInfo(archive)).backups.filter((backup) => !before.has(backup.label)).at(-1);
  if (!made) throw new PermanentError('pgbackrest backup ended without a new backup in the repository');
  try {
    const restorePoint = restorePointName(request.backupId);
    const { tables, serverVersion } = await fingerprintAtRestorePoint(db, restorePoint);
    // The window opens a second after the backup's (whole-second) stop time: the heartbeat that
    // ends it comes after that, or the window would stay shut until the next one is archived.
    const opens = Date.parse(made.stoppedAt) + 1100;
    if (Date.now() < opens) await new Promise((resolve) => setTimeout(resolve, opens - Date.now()));
    // The restore point's segment in the repository: `check` switches WAL and waits for it.
    await checkArchiving(db.server, archive);
    return {
      label: made.label,
      type: made.type,
      startedAt: made.startedAt,
      stoppedAt: made.stoppedAt,
      databaseBytes: made.databaseBytes,
      sizeBytes: made.repositoryBytes,
      durationMs: Date.now() - started,
      serverVersion,
      restorePoint,
      tables,
    };
  } catch (error) {
    // A backup that cannot be proven is not kept.
    await pgbackrest(archive, [`--set=${made.label}`, 'expire']).catch(() => undefined);
    throw error;
  }
}

/**
 * Writers wait only for the instant between the lock and the restore point; the fingerprints are
 * taken afterwards, in a second session that imported the first one's snapshot.
 */
async function fingerprintAtRestorePoint(
  db: DatabaseRef,
  restorePoint: string,
): Promise<{ tables: ArchiveBackupResult['tables']; serverVersion: string }> {
  const dbname = conninfo({ dbname: db.database });
  const marker = new SqlSession(db.server, dbname);
  const reader = new SqlSession(db.server, dbname);
  try {
    const serverVersion = (await marker.query('SHOW server_version;')).trim();
    const tables = await listTables(marker);
    await marker.query(`SET lock_timeout = '60s'; BEGIN ISOLATION LEVEL REPEATABLE READ;`);
    if (tables.length > 0) await marker.query(`LOCK TABLE ${tables.map(qualifiedName).join(', ')} IN SHARE MODE;`);
    const [snapshot] = (
      await marker.query(`SELECT pg_catalog.pg_export_snapshot(), pg_catalog.pg_create_restore_point(${quoteLiteral(restorePoint)});`)
    )
      .trim()
      .split('|');
    if (!snapshot) throw new Error('the server exported no snapshot for the restore point');
    await reader.query(
      `${FINGERPRINT_SETTINGS} BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)};`,
    );
    await marker.query('COMMIT;');
    const fingerprints = await fingerprintAll(reader, tables);
    await reader.query('COMMIT;');
    return { tables: fingerprints, serverVersion };
  } finally {
    await Promise.all([marker.close().catch(() => marker.kill()), reader.close().catch(() => reader.kill())]);
  }
}

/** The window a restore can reach, from the repository's oldest backup to the newest archived heartbeat. */
export async function recoveryWindowOf(primary: Server, archive: Archive): Promise<RecoveryWindow | undefined> {
  const earliest = earliestRecoverable(await stanzaInfo(archive));
  if (earliest === undefined) return undefined;
  const latest = (await adminSql(primary, LATEST_RECOVERABLE_SQL)).trim();
  if (latest === '' || latest < earliest) return undefined;
  return { earliest, latest };
}

/**
 * The arguments of `pgbackrest restore` that stop recovery at the target and promote. A time is
 * reached from the base backup on the cluster's history (`set`); a restore point on the timeline
 * of its backup, whatever happened since.
 */
function targetArgs(target: RecoveryTarget, set?: string): string[] {
  if (target.kind === 'time')
    return [...(set ? [`--set=${set}`] : []), '--type=time', `--target=${pgbackrestTime(target.time)}`, '--target-action=promote'];
  return [`--set=${target.label}`, '--type=name', `--target=${target.name}`, '--target-timeline=current', '--target-action=promote'];
}

/** The timeline the data directory is on (its newest history file names it) and its history. */
export async function timelineHistoryOf(paths: NodePaths): Promise<TimelineHistory> {
  const wal = join(paths.data, 'pg_wal');
  const newest = (await readdir(wal).catch(() => []))
    .filter((name) => /^[0-9A-F]{8}\.history$/.test(name))
    .sort()
    .at(-1);
  if (!newest) return parseTimelineHistory(1, undefined);
  return parseTimelineHistory(Number.parseInt(newest.slice(0, 8), 16), await readFile(join(wal, newest), 'utf8'));
}

/**
 * Restores the (stopped) server's data directory in place to the target: `--delta` keeps the files
 * that already match. The caller writes the current configuration and starts the server.
 */
export async function restoreDataDir(server: Server, archive: Archive, target: RecoveryTarget, history: TimelineHistory): Promise<void> {
  if (await isRunning(server.paths)) throw new PermanentError(`${server.name} must be stopped before its data directory is restored`);
  let set: string | undefined;
  if (target.kind === 'time') {
    set = baseBackupFor(await stanzaInfo(archive), history, target.time)?.label;
    if (!set) throw new PermanentError(`no backup on the cluster's history stopped before ${target.time}`);
  }
  await pgbackrestChecked(archive, `restoring ${server.name}`, ['--delta', ...targetArgs(target, set), 'restore'], RESTORE_TIMEOUT_MS);
}

/** Drops the recovery settings pgBackRest left in postgresql.auto.conf (CLEAR_RECOVERY_SQL says why). */
export async function clearRecoverySettings(server: Server): Promise<void> {
  await adminSql(server, CLEAR_RECOVERY_SQL);
}

/** Waits until the restored server has replayed to its target, been promoted and takes a write. */
export async function waitUntilWritable(server: Server): Promise<void> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
  for (;;) {
    if (!(await isRunning(server.paths))) throw new PermanentError(`${server.name} stopped during recovery: ${await recoveryFailure(server)}`);
    const answer = await adminSql(server, 'SELECT pg_is_in_recovery();').catch(() => 't');
    if (answer.trim() === 'f') {
      await adminSql(server, 'CREATE TEMPORARY TABLE cloudseed_writable (x int); DROP TABLE cloudseed_writable;');
      return;
    }
    if (Date.now() > deadline) throw new PermanentError(`${server.name} did not finish recovery within ${RECOVERY_TIMEOUT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The FATAL/PANIC lines the server logged, which say why recovery stopped. */
async function recoveryFailure(server: Server): Promise<string> {
  const lines: string[] = [];
  for (const file of [server.paths.startupLog]) {
    const text = await readFile(file, 'utf8').catch(() => '');
    lines.push(...text.split('\n').filter((line) => /\b(FATAL|PANIC):/.test(line)));
  }
  const reasons = lines.slice(-2).map((line) => line.replace(/^.*?\b(FATAL|PANIC):\s*/, '$1: '));
  return reasons.length > 0 ? reasons.join(' | ') : 'the server exited';
}

// --- validation -----------------------------------------------------------------------------------

/**
 * Restores the backup set into a scratch server under `<home>/scratch/` on its own port (socket
 * only, no TLS, small buffers, archiving off), replays to the backup's restore point, compares
 * the fingerprints, then has pgBackRest verify the repository. The scratch server always goes.
 */
export async function validateArchiveBackup(
  home: string,
  db: DatabaseRef,
  archive: Archive,
  recorded: ArchiveBackupResult,
  scratchPort: number,
): Promise<ValidationResult> {
  const root = join(home, 'scratch', `validate-${randomBytes(6).toString('hex')}`);
  const paths = pathsOf(root);
  const scratch: Server = { name: `the scratch restore of ${recorded.label}`, paths, port: scratchPort, bin: db.server.bin };
  const { database } = db;
  await ensureDir(join(home, 'scratch'), 0o711, rootAccount());
  await ensureDir(root, 0o711, rootAccount());
  const postgres = postgresAccount();
  for (const dir of [paths.data, paths.logDir, paths.socketDir, paths.pgbackrestDir]) await ensureDir(dir, 0o700, postgres);
  try {
    const config = (await readFile(archive.configFile, 'utf8'))
      .replace(/^pg1-path=.*$/m, `pg1-path=${paths.data}`)
      .replace(/^pg1-port=.*$/m, `pg1-port=${scratchPort}`)
      .replace(/^pg1-socket-path=.*$/m, `pg1-socket-path=${paths.socketDir}`)
      .replace(/^(spool|log|lock)-path=.*$/gm, (_line, kind: string) => `${kind}-path=${join(paths.pgbackrestDir, kind)}`);
    for (const kind of ['spool', 'log', 'lock']) await ensureDir(join(paths.pgbackrestDir, kind), 0o700, postgres);
    const scratchArchive: Archive = { configFile: paths.pgbackrestConf, stanza: archive.stanza };
    await writeFileAtomic(paths.pgbackrestConf, config, 0o600, postgres);

    const restored = await pgbackrest(
      scratchArchive,
      [...targetArgs({ kind: 'restore-point', name: recorded.restorePoint, label: recorded.label }), '--archive-mode=off', 'restore'],
      RESTORE_TIMEOUT_MS,
    );
    if (restored.code !== 0) return { status: 'failed', detail: `restoring backup ${recorded.label} failed: ${pgbackrestFailure(restored)}` };
    await appendScratchSettings(paths, scratchPort);
    try {
      await startServer(scratch);
      await waitUntilWritable(scratch);
    } catch (error) {
      return { status: 'failed', detail: `the restored backup ${recorded.label} did not reach its restore point: ${messageOf(error)}` };
    }
    const compared = await compareRestored(scratch, database, recorded);
    if (compared.status === 'failed') return compared;

    const verified = await pgbackrest(archive, ['--output=text', '--verbose', 'verify'], RESTORE_TIMEOUT_MS);
    const problems = verifyProblems(`${verified.stdout}\n${verified.stderr}`);
    if (verified.code !== 0 || problems.length > 0) {
      return {
        status: 'failed',
        detail: `pgbackrest verify found problems in the repository: ${(problems.length > 0 ? problems : [pgbackrestFailure(verified)]).slice(0, 3).join(' | ')}`,
      };
    }
    return {
      status: 'passed',
      detail: `${compared.detail}; restored to its restore point and replayed WAL; pgbackrest verify found the repository valid`,
    };
  } finally {
    await stopServer(scratch).catch(() => undefined);
    for (const dir of [paths.data, paths.logDir, paths.socketDir, paths.pgbackrestDir]) await emptyPostgresDir(dir).catch(() => undefined);
    await run('rm', ['-rf', '--one-file-system', root]);
  }
}

async function appendScratchSettings(paths: NodePaths, port: number): Promise<void> {
  const auto = join(paths.data, 'postgresql.auto.conf');
  const current = await readFile(auto, 'utf8').catch(() => '');
  const settings = [
    `port = ${port}`,
    "listen_addresses = ''",
    `unix_socket_directories = ${quoteLiteral(paths.socketDir)}`,
    'ssl = off',
    'logging_collector = off',
    "shared_buffers = '128MB'",
    "effective_cache_size = '256MB'",
    "maintenance_work_mem = '64MB'",
    'hot_standby = off',
    "archive_mode = 'off'",
    "shared_preload_libraries = ''",
  ];
  await writeFileAtomic(auto, `${current}\n# The scratch restore of a backup being validated\n${settings.join('\n')}\n`, 0o600, postgresAccount());
}

async function compareRestored(scratch: Server, database: string, recorded: ArchiveBackupResult): Promise<ValidationResult> {
  const session = new SqlSession(scratch, conninfo({ dbname: database }));
  try {
    await session.query(FINGERPRINT_SETTINGS);
    return compareFingerprints(recorded.tables, await fingerprintAll(session, await listTables(session)));
  } finally {
    await session.close();
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
