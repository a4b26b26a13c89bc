import { quoteIdentifier, quoteLiteral } from '@cloudseed/shared/postgres/sql';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3 } from '../../lib/s3.ts';
import type { BackupLocation, BackupResult, TableFingerprint, ValidationResult } from '../provider.ts';
import { runChecked } from './exec.ts';
import { compareFingerprints, FINGERPRINT_SETTINGS } from '../fingerprints.ts';
import { fingerprintAll, listTables, qualifiedName } from './fingerprints.ts';
import type { TableName } from './fingerprints.ts';
import { failureOf, ownerLogin, SqlSession, startTool, superuserLogin } from './pg-process.ts';
import type { PostgresTool, ToolExit } from './pg-process.ts';
import { adminSql, conninfo } from './server.ts';
import type { Server } from './server.ts';

// Backups of a local deployment, to the local cloud's s3rver (the same S3 API as on AWS):
//
//   <key>               pg_dump --format=custom of the application database, streamed to a multipart
//                       upload while it is hashed and counted, never held in memory whole
//   <key>.globals.sql   pg_dumpall --globals-only: the roles, with their SCRAM verifiers, so that
//                       the backup can rebuild the deployment on a new server (the bucket is private)
//
// The dump and the table fingerprints come from one snapshot: a psql session opens a repeatable
// read transaction, exports its snapshot to pg_dump and fingerprints the tables while pg_dump runs.

/** 8 MiB parts, four in flight: at most ~40 MiB of a dump in memory, and up to 80 GB per object. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/;

/** The application database of one deployment, on its primary's server. */
export interface DatabaseRef {
  readonly server: Server;
  readonly database: string;
  /** The application role: it owns the database and everything a restore puts in it. */
  readonly owner: string;
}

export const globalsKey = (location: BackupLocation): string => `${location.key}.globals.sql`;
const objectUrl = (location: BackupLocation, key = location.key): string => `s3://${location.bucket}/${key}`;

export async function backupDatabase(db: DatabaseRef, location: BackupLocation): Promise<BackupResult> {
  const started = Date.now();
  const session = new SqlSession(db.server, conninfo({ dbname: db.database }));
  let dump: PostgresTool | undefined;
  try {
    await session.query(FINGERPRINT_SETTINGS);
    const serverVersion = (await session.query('SHOW server_version;')).trim();
    await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;');
    const snapshot = (await session.query('SELECT pg_catalog.pg_export_snapshot();')).trim();
    if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`the server exported an unexpected snapshot id ${JSON.stringify(snapshot)}`);
    const tables = await listTables(session);
    // Held until the end: no table can be dropped between the snapshot and pg_dump taking its own locks.
    if (tables.length > 0) await session.query(`LOCK TABLE ${tables.map(qualifiedName).join(', ')} IN ACCESS SHARE MODE;`);

    await uploadGlobals(db.server, location);

    dump = startTool(db.server, 'pg_dump', [
      ...superuserLogin(db.server),
      `--dbname=${conninfo({ dbname: db.database })}`,
      '--format=custom',
      `--snapshot=${snapshot}`,
      // Behind a waiting ACCESS EXCLUSIVE lock pg_dump would wait for this session, which waits for pg_dump.
      '--lock-wait-timeout=60s',
      '--no-password',
    ]);
    const outcome = await dumpAndFingerprint(dump, session, tables, location);

    await session.query('COMMIT;');
    await session.close();
    const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (head.ContentLength !== outcome.sizeBytes) {
      throw new Error(`${objectUrl(location)} holds ${String(head.ContentLength)} bytes but pg_dump wrote ${outcome.sizeBytes}`);
    }
    return { ...outcome, durationMs: Date.now() - started, serverVersion };
  } catch (error) {
    if (dump) {
      dump.child.kill('SIGKILL');
      dump.child.stdout.destroy();
    }
    session.kill();
    // A failed backup leaves nothing: no dump, no globals. (A multipart upload was aborted by Upload itself.)
    await deleteBackupObjects(location).catch(() => undefined);
    throw error;
  }
}

interface DumpOutcome {
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly tables: TableFingerprint[];
}

/**
 * Streams pg_dump's output to the object while the session fingerprints the tables. The upload only
 * completes when pg_dump has exited 0: the last bytes are held back until then, and a failed dump
 * fails the upload's stream instead, so lib-storage aborts the multipart upload before done()
 * rejects. (Upload.abort() would make done() reject at once while parts are still in flight, and
 * the abort of the multipart upload would race whatever the caller does next.)
 */
async function dumpAndFingerprint(
  dump: PostgresTool,
  session: SqlSession,
  tables: readonly TableName[],
  location: BackupLocation,
): Promise<DumpOutcome> {
  let dumpExit: ToolExit | undefined;
  const dumpExited = dump.exited.then((exit) => (dumpExit = exit));
  const measure = new Measure(async () => {
    const exit = await dumpExited;
    if (exit.code !== 0) throw new Error(`pg_dump failed: ${failureOf(exit)}`);
  });
  dump.child.stdout.on('error', (error) => measure.destroy(error));
  dump.child.stdout.pipe(measure);

  // The first failure is the reason. Once pg_dump is stopped for it, its "terminated by user" is not.
  const failures: string[] = [];
  let stopped = false;
  const fail = (reason: string) => {
    failures.push(reason);
    if (stopped || dumpExit) return;
    stopped = true;
    dump.child.kill('SIGTERM');
    // Unread output would keep pg_dump's stdout open, and with it the wait for pg_dump to be gone.
    dump.child.stdout.destroy();
    measure.destroy(new Error(reason));
  };

  const upload = new Upload({
    client: s3,
    params: { Bucket: location.bucket, Key: location.key, Body: measure, ContentType: 'application/octet-stream' },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
  });
  const uploaded = upload.done().catch((error: unknown) => {
    // A failed pg_dump fails the upload's stream on purpose; that is pg_dump's failure, reported below.
    if (dumpExit && dumpExit.code !== 0) return;
    // Otherwise nobody reads pg_dump's output any more, and it would block on the full pipe.
    fail(`uploading the dump to ${objectUrl(location)} failed: ${messageOf(error)}`);
  });
  // Without its fingerprints the dump cannot be validated: stop it rather than upload it whole.
  const fingerprinted = fingerprintAll(session, tables).catch((error: unknown) => {
    fail(`fingerprinting the tables in the dump's snapshot failed: ${messageOf(error)}`);
    return [];
  });
  const [, fingerprints] = await Promise.all([uploaded, fingerprinted]);
  const exit = await dumpExited;
  if (stopped) throw new Error(failures[0]);
  if (exit.code !== 0) throw new Error(`pg_dump failed: ${failureOf(exit)}`);
  if (failures.length > 0) throw new Error(failures[0]);
  return { sizeBytes: measure.bytes, sha256: measure.sha256(), tables: fingerprints };
}

async function uploadGlobals(server: Server, location: BackupLocation): Promise<void> {
  const globals = await runChecked(
    'pg_dumpall --globals-only',
    join(server.bin, 'pg_dumpall'),
    [...superuserLogin(server), '--globals-only', '--no-password'],
    {
      asPostgres: true,
      binDir: server.bin,
    },
  );
  await s3
    .send(new PutObjectCommand({ Bucket: location.bucket, Key: globalsKey(location), Body: globals, ContentType: 'application/sql' }))
    .catch((error: unknown) => {
      throw new Error(`uploading the globals to ${objectUrl(location, globalsKey(location))} failed: ${messageOf(error)}`);
    });
}

export async function validateBackupObject(db: DatabaseRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult> {
  const stored = await storedSha256(location);
  if (stored === undefined) return { status: 'failed', detail: `the backup object ${objectUrl(location)} does not exist` };
  if (stored !== recorded.sha256) return { status: 'failed', detail: checksumMismatch(stored, recorded.sha256) };

  const scratch = `cloudseed_validate_${randomBytes(6).toString('hex')}`;
  await createDatabase(db, scratch);
  try {
    const restored = await restoreInto(db, scratch, location);
    if (restored.exit.code !== 0) return { status: 'failed', detail: `pg_restore failed: ${failureOf(restored.exit)}` };
    if (restored.sha256 !== recorded.sha256) return { status: 'failed', detail: checksumMismatch(restored.sha256, recorded.sha256) };
    const session = new SqlSession(db.server, conninfo({ dbname: scratch }));
    try {
      await session.query(FINGERPRINT_SETTINGS);
      return compareFingerprints(recorded.tables, await fingerprintAll(session, await listTables(session)));
    } finally {
      await session.close();
    }
  } finally {
    await dropDatabase(db.server, scratch);
  }
}

/**
 * Restores into a new database and swaps it in under the application database's name, so that the
 * running database stays whole until the restore has succeeded, and clients see the old contents or
 * the new ones, never a half-restored mix. Sessions still open on the old database are ended at the
 * swap (a database in use cannot be renamed). Everything restored is created by the application
 * role, logged in as itself (--no-owner), so it owns the tables whatever roles owned them when the
 * dump was made.
 * Database-level properties (ALTER DATABASE ... SET, CONNECTION LIMIT) are the deployment's, not the
 * backup's; CloudSeed sets none, and the new database starts without any.
 */
export async function restoreBackupObject(db: DatabaseRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
  const stored = await storedSha256(location);
  if (stored === undefined) throw new Error(`the backup object ${objectUrl(location)} does not exist; nothing was restored`);
  if (stored !== recorded.sha256) throw new Error(`${checksumMismatch(stored, recorded.sha256)}; nothing was restored`);

  const suffix = randomBytes(6).toString('hex');
  const incoming = `cloudseed_restore_${suffix}`;
  const replaced = `cloudseed_replaced_${suffix}`;
  await createDatabase(db, incoming);
  try {
    const restored = await restoreInto(db, incoming, location);
    if (restored.exit.code !== 0) throw new Error(`pg_restore failed: ${failureOf(restored.exit)}; ${db.database} was left as it was`);
    if (restored.sha256 !== recorded.sha256)
      throw new Error(`${checksumMismatch(restored.sha256, recorded.sha256)}; ${db.database} was left as it was`);
    // pg_restore brings no planner statistics; the application should not start without them. The
    // tenant's index and statistics expressions run as the table's owner in a security-restricted
    // operation (SET ROLE refused), not as the superuser who asks.
    await adminSql(db.server, 'ANALYZE;\n', incoming);
    await swapIn(db, incoming, replaced);
  } catch (error) {
    await dropDatabase(db.server, incoming).catch(() => undefined);
    throw error;
  }
  await dropDatabase(db.server, replaced).catch((error: unknown) => {
    throw new Error(
      `the backup was restored into ${db.database}, but the database it replaced (${replaced}) could not be dropped: ${messageOf(error)}`,
    );
  });
}

async function swapIn(db: DatabaseRef, incoming: string, replaced: string): Promise<void> {
  const name = quoteIdentifier(db.database);
  const exists =
    (await adminSql(db.server, `SELECT count(*) FROM pg_catalog.pg_database WHERE datname = ${quoteLiteral(db.database)};\n`)).trim() === '1';
  if (!exists) {
    await adminSql(db.server, `ALTER DATABASE ${quoteIdentifier(incoming)} RENAME TO ${name};\n`);
    return;
  }
  // From here on new sessions are refused, so the ones ended now cannot be replaced before the rename.
  await adminSql(db.server, `ALTER DATABASE ${name} ALLOW_CONNECTIONS false;\n`);
  const swap = [
    `SELECT count(pg_catalog.pg_terminate_backend(pid, 10000)) FROM pg_catalog.pg_stat_activity WHERE datname = ${quoteLiteral(db.database)} AND pid <> pg_catalog.pg_backend_pid();`,
    'BEGIN;',
    `ALTER DATABASE ${name} RENAME TO ${quoteIdentifier(replaced)};`,
    `ALTER DATABASE ${quoteIdentifier(incoming)} RENAME TO ${name};`,
    'COMMIT;',
  ].join('\n');
  for (let attempt = 1; ; attempt += 1) {
    try {
      await adminSql(db.server, `${swap}\n`);
      return;
    } catch (error) {
      // A terminated session can take a moment to go; after three tries the old database is opened again.
      if (attempt < 3) continue;
      await adminSql(db.server, `ALTER DATABASE ${name} ALLOW_CONNECTIONS true;\n`).catch(() => undefined);
      throw error;
    }
  }
}

export async function deleteBackupObjects(location: BackupLocation): Promise<void> {
  // DeleteObject of a key that is not there succeeds: deleting twice is harmless.
  await Promise.all([location.key, globalsKey(location)].map((Key) => s3.send(new DeleteObjectCommand({ Bucket: location.bucket, Key }))));
}

// --- objects and streams --------------------------------------------------------------------------

/** Passes bytes through while hashing and counting them; `beforeEnd` may still fail the stream at its end. */
class Measure extends Transform {
  readonly #hash = createHash('sha256');
  readonly #beforeEnd: (() => Promise<void>) | undefined;
  bytes = 0;

  constructor(beforeEnd?: () => Promise<void>) {
    super();
    this.#beforeEnd = beforeEnd;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#beforeEnd) {
      callback();
      return;
    }
    this.#beforeEnd().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  sha256(): string {
    return this.#hash.copy().digest('hex');
  }
}

async function download(location: BackupLocation): Promise<Readable | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (!(object.Body instanceof Readable)) throw new Error(`GetObject ${objectUrl(location)} returned no readable stream`);
    return object.Body;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** The stored object's sha256, read as a stream; undefined when there is no object. */
async function storedSha256(location: BackupLocation): Promise<string | undefined> {
  const body = await download(location);
  if (!body) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Restored {
  readonly exit: ToolExit;
  /** Of the bytes that reached pg_restore. */
  readonly sha256: string;
}

/**
 * Pipes the object into pg_restore, logged in as the application role (pg_ident.conf's owner map),
 * which creates everything in `database`. Not the superuser with --role: the tenant's code that a
 * restore runs (CHECK constraints during COPY) could RESET ROLE to the session's superuser.
 */
async function restoreInto(db: DatabaseRef, database: string, location: BackupLocation): Promise<Restored> {
  const body = await download(location);
  if (!body) throw new Error(`the backup object ${objectUrl(location)} does not exist`);
  const restore = startTool(db.server, 'pg_restore', [
    ...ownerLogin(db.server, db.owner),
    `--dbname=${conninfo({ dbname: database })}`,
    '--no-owner',
    '--exit-on-error',
    '--no-password',
  ]);
  const measure = new Measure();
  // A pg_restore that stops early breaks the pipe, and its exit says why; a broken download ends its input early.
  const transfer = pipeline(body, measure, restore.child.stdin).then(
    () => undefined,
    (error: unknown) => error,
  );
  const exit = await restore.exited;
  const transferError = await transfer;
  if (exit.code === 0 && transferError !== undefined) {
    throw new Error(`downloading ${objectUrl(location)} failed: ${messageOf(transferError)}`);
  }
  return { exit, sha256: measure.sha256() };
}

async function createDatabase(db: DatabaseRef, name: string): Promise<void> {
  await adminSql(db.server, `CREATE DATABASE ${quoteIdentifier(name)} OWNER ${quoteIdentifier(db.owner)} TEMPLATE template0;\n`);
}

async function dropDatabase(server: Server, name: string): Promise<void> {
  await adminSql(server, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE);\n`);
}

const checksumMismatch = (actual: string, recorded: string): string =>
  `the stored object does not match its checksum (sha256 ${actual}, recorded ${recorded})`;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
