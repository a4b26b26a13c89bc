import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProvider } from '../providers/local/index.ts';
import type { BackupLocation, BackupResult, DeployTarget, NodeRef } from '../providers/provider.ts';
import { deployLocally, localTarget, runCommand } from './support/local-targets.ts';
import { newS3rver } from './support/s3rver.ts';
import type { S3rverServer } from './support/s3rver.ts';

// Backups of a local deployment against the real things: a PostgreSQL 15 server run by the
// LocalProvider and an s3rver holding the objects. No mocks. Every server started here is stopped
// in afterAll, pass or fail.

const PSQL = '/usr/lib/postgresql/15/bin/psql';
const BUCKET = 'cloudseed-backups';
const PLAN = 'backups';
const DEPLOY_TIMEOUT = 180_000;
const BIG_ROWS = 800_000;
const execFileAsync = promisify(execFile);

let home: string;
let s3Dir: string;
let s3rver: S3rverServer | undefined;
let s3: S3Client;
let provider: LocalProvider;
let stopAll: (home: string) => Promise<unknown>;
/** Upload ids of the multipart uploads that were aborted. */
const abortedUploads: string[] = [];
/** While set, s3rver refuses every part uploaded to this key, as an S3 that is failing would. */
let failPartsOf: string | undefined;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cs-bk-'));
  s3Dir = await mkdtemp(join(tmpdir(), 'cs-bk-s3-'));
  s3rver = newS3rver(s3Dir, BUCKET);
  // s3rver 3 answers AbortMultipartUpload with 405 MethodNotAllowed and keeps the parts on disk.
  // This stands in for the missing route (drop the upload's directory, answer 204, as S3 does),
  // so the test can see that a failed backup aborts its upload and leaves no parts behind.
  s3rver.middleware.unshift(async (ctx, next) => {
    const uploadId = ctx.query['uploadId'];
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string' || !/^[\w-]+$/.test(uploadId)) return next();
    abortedUploads.push(uploadId);
    await rm(join(s3Dir, BUCKET, '._S3rver_uploads', uploadId), { recursive: true, force: true });
    ctx.status = 204;
  });
  s3rver.middleware.unshift(async (ctx, next) => {
    if (ctx.method !== 'PUT' || ctx.query['partNumber'] === undefined || failPartsOf === undefined || ctx.path !== `/${BUCKET}/${failPartsOf}`)
      return next();
    ctx.status = 500;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>injected by the test</Message></Error>';
    return Promise.resolve();
  });
  const { port } = await s3rver.run();
  // lib/s3.ts builds its client when it is first imported: the environment comes first.
  Object.assign(process.env, {
    S3_ENDPOINT: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  });
  ({ s3 } = await import('../lib/s3.ts'));
  const local = await import('../providers/local/index.ts');
  provider = new local.LocalProvider({ home });
  stopAll = local.stopAll;
});

afterAll(async () => {
  if (home && provider) {
    await provider.destroy(localTarget(PLAN)).catch(() => undefined);
    await stopAll(home);
    await rm(home, { recursive: true, force: true });
  }
  await s3rver?.close();
  if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
});

/** Deploys the plan; its one node. */
async function deploy(target: DeployTarget): Promise<NodeRef> {
  const [node] = await deployLocally(provider, target);
  if (!node) throw new Error('no node was launched');
  return node;
}

function postgresAccount(): { uid: number; gid: number } {
  const fields =
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('postgres:'))
      ?.split(':') ?? [];
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

const location = (name: string): BackupLocation => ({ bucket: BUCKET, key: `plans/${PLAN}/db/${name}.dump` });

async function objectBytes(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  if (!object.Body) throw new Error(`no body for ${key}`);
  return Buffer.from(await object.Body.transformToByteArray());
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

async function pendingUploads(): Promise<string[]> {
  return readdir(join(s3Dir, BUCKET, '._S3rver_uploads')).catch(() => []);
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('backups of a local deployment', () => {
  const target = localTarget(PLAN);
  let node: NodeRef;
  let password: string;
  let first: BackupResult;

  /** SQL as the application role, over TLS with its password: what the customer's application does. */
  async function asApp(sql: string): Promise<string> {
    const connection = `host=127.0.0.1 port=${node.port} dbname=app user=app sslmode=require`;
    const { stdout } = await execFileAsync(PSQL, ['-X', '-A', '-t', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-c', sql, '-d', connection], {
      env: { PATH: '/usr/bin:/bin', PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    });
    return stdout.trim();
  }

  /** What asApp's psql wrote to standard error when it failed. */
  const appError = (sql: string): Promise<string> =>
    asApp(sql).then(
      () => 'psql succeeded',
      (error: unknown) => String((error as { stderr?: unknown }).stderr),
    );

  /** SQL as the local superuser over the node's Unix socket. */
  async function asAdmin(sql: string, database = 'postgres'): Promise<string> {
    const socketDir = join(home, 'instances', PLAN, node.name, 'socket');
    const { stdout } = await execFileAsync(
      PSQL,
      ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(node.port), '-U', 'postgres', '-d', database, '-c', sql],
      {
        ...postgresAccount(),
        cwd: '/',
        env: { PATH: '/usr/bin:/bin' },
      },
    );
    return stdout.trim();
  }

  const workDatabases = () => asAdmin("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'cloudseed\\_%'");

  it('deploys a node and fills it: tables with and without a primary key, NULLs, duplicate rows', { timeout: DEPLOY_TIMEOUT }, async () => {
    node = await deploy(target);
    password = await provider.readPassword(target);
    await asApp(
      [
        'CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text)',
        "INSERT INTO customers SELECT g, 'customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END FROM generate_series(1, 2000) g",
        'CREATE TABLE events (kind text, payload jsonb, amount numeric, at timestamptz)',
        "INSERT INTO events SELECT CASE WHEN g % 3 = 0 THEN NULL ELSE 'kind-' || g % 5 END, jsonb_build_object('n', g % 10), (g % 4) * 1.5, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 3000) g",
        "INSERT INTO events VALUES ('dup', '{}', 1, NULL), ('dup', '{}', 1, NULL)",
        'CREATE SCHEMA billing',
        'CREATE TABLE billing."Invoice Lines" (customer_id int REFERENCES customers, amount double precision, note text)',
        'INSERT INTO billing."Invoice Lines" SELECT g % 2000 + 1, g / 3.0, NULL FROM generate_series(1, 500) g',
        'CREATE TABLE empty_table (x int)',
      ].join(';\n'),
    );
    expect(await asApp('SELECT count(*) FROM events')).toBe('3002');
  });

  it('backs up to the bucket: the object has the recorded size and sha256, the globals sit beside it', async () => {
    first = await provider.backup(target, node, location('first'));

    expect(first.tables.map(({ table, rows }) => [table, rows])).toEqual([
      ['billing.Invoice Lines', 500],
      ['public.customers', 2000],
      ['public.empty_table', 0],
      ['public.events', 3002],
    ]);
    expect(first.tables.find((entry) => entry.table === 'public.empty_table')?.checksum).toBe('');
    for (const entry of first.tables.filter((candidate) => candidate.rows > 0)) expect(entry.checksum).toMatch(/^[0-9a-f]{32}$/);
    expect(first.serverVersion).toMatch(/^15\.\d+/);
    expect(first.durationMs).toBeGreaterThan(0);

    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: location('first').key }));
    expect(head.ContentLength).toBe(first.sizeBytes);
    const bytes = await objectBytes(location('first').key);
    expect(sha256(bytes)).toBe(first.sha256);
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');

    const globals = (await objectBytes(`${location('first').key}.globals.sql`)).toString();
    expect(globals).toMatch(/^CREATE ROLE app;$/m);
    expect(globals).toMatch(/^ALTER ROLE app WITH .*LOGIN.* PASSWORD 'SCRAM-SHA-256\$/m);
    expect(globals).not.toContain(password);
  });

  it('validates by restoring into a scratch database, which is dropped afterwards', { timeout: 60_000 }, async () => {
    expect(await provider.validateBackup(target, node, location('first'), first)).toEqual({ status: 'passed', detail: '4 tables, 5502 rows match' });
    expect(await workDatabases()).toBe('');
  });

  it('fails a validation whose restored tables differ from the record, naming the first one', { timeout: 60_000 }, async () => {
    const tables = first.tables.map((entry) => (entry.table === 'public.customers' ? { ...entry, rows: 1999 } : entry));
    const result = await provider.validateBackup(target, node, location('first'), { ...first, tables });
    expect(result.status).toBe('failed');
    expect(result.detail).toMatch(
      /^table public\.customers differs: the restored copy has 2000 rows \(checksum [0-9a-f]{32}\), the backup recorded 1999 rows/,
    );

    const missing = await provider.validateBackup(target, node, location('first'), {
      ...first,
      tables: [...first.tables, { table: 'public.gone', rows: 1, checksum: 'x' }],
    });
    expect(missing).toEqual({ status: 'failed', detail: 'table public.gone is missing from the restored copy' });
    expect(await workDatabases()).toBe('');
  });

  it("fails a validation when pg_restore cannot read the object, with pg_restore's reason", { timeout: 60_000 }, async () => {
    const garbage = Buffer.from('this is not a pg_dump archive\n'.repeat(100));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: location('garbage').key, Body: garbage }));
    const result = await provider.validateBackup(target, node, location('garbage'), { ...first, sha256: sha256(garbage), sizeBytes: garbage.length });
    expect(result.status).toBe('failed');
    expect(result.detail).toMatch(/^pg_restore failed: .*(does not appear to be a valid archive|did not find magic string).*\(exit code 1\)$/);
    expect(await workDatabases()).toBe('');
    await provider.deleteBackup(target, location('garbage'));
  });

  it('restores over a changed database: every row is back, owned by and usable by the application role', { timeout: 60_000 }, async () => {
    await asApp('DROP TABLE events; DELETE FROM customers WHERE id > 1000; CREATE TABLE after_backup (x int)');
    // A session of the application that is busy when the restore swaps the databases.
    const busy = appError('SELECT pg_sleep(60)');
    await poll(
      () => asAdmin("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'"),
      (count) => count === '1',
    );

    await provider.restoreBackup(target, node, location('first'), first);

    expect(await busy).toMatch(/terminating connection due to administrator command/);

    const again = await provider.backup(target, node, location('after-restore'));
    expect(again.tables).toEqual(first.tables);
    expect(await asApp("SELECT count(*) FROM pg_tables WHERE tablename = 'after_backup'")).toBe('0');
    expect(await asApp("SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname IN ('public', 'billing')")).toBe('app');
    expect(await asApp("INSERT INTO events VALUES ('after restore', '{}', 2, now()); SELECT count(*) FROM events")).toBe('3003');
    expect(await asApp("INSERT INTO customers VALUES (5000, 'new', NULL); SELECT count(*) FROM customers")).toBe('2001');
    expect(await asApp('SELECT count(*) FROM billing."Invoice Lines" l JOIN customers c ON c.id = l.customer_id')).toBe('500');
    expect(await workDatabases()).toBe('');
    await provider.deleteBackup(target, location('after-restore'));
  });

  it('refuses an object whose bytes changed: validation fails on the checksum, restore throws, nothing is left', { timeout: 60_000 }, async () => {
    const bytes = await objectBytes(location('first').key);
    const flipped = Buffer.from(bytes);
    for (let offset = Math.floor(flipped.length / 2); offset < Math.floor(flipped.length / 2) + 16; offset += 1)
      flipped[offset] = (flipped[offset] ?? 0) ^ 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: location('first').key, Body: flipped }));

    const result = await provider.validateBackup(target, node, location('first'), first);
    expect(result).toEqual({
      status: 'failed',
      detail: `the stored object does not match its checksum (sha256 ${sha256(flipped)}, recorded ${first.sha256})`,
    });
    await expect(provider.restoreBackup(target, node, location('first'), first)).rejects.toThrow(
      /does not match its checksum .*; nothing was restored$/,
    );
    expect(await workDatabases()).toBe('');
    expect(await asApp('SELECT count(*) FROM customers')).toBe('2001');
  });

  it('leaves no object and no multipart upload behind when the server is killed during the dump', { timeout: 120_000 }, async () => {
    await asApp(
      `CREATE TABLE big AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b, g % 1000 AS c FROM generate_series(1, ${BIG_ROWS}) g`,
    );
    const key = location('killed').key;

    const backup = provider.backup(target, node, location('killed'));
    const failure = backup.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Once a part of the multipart upload is stored, the dump is well under way.
    const started = await poll(
      async () => {
        for (const upload of await pendingUploads()) if ((await readdir(join(s3Dir, BUCKET, '._S3rver_uploads', upload))).includes('1')) return true;
        return false;
      },
      (found) => found,
    );
    expect(started).toBe(true);
    killServer(join(home, 'instances', PLAN, node.name, 'data'));

    const error = await failure;
    expect(error).toBeInstanceOf(Error);
    // pg_dump and the fingerprinting session both lose the server; whichever notices first is the reason.
    expect((error as Error).message).toMatch(
      /^(pg_dump failed|fingerprinting the tables in the dump's snapshot failed): .*server closed the connection unexpectedly/,
    );
    expect(await objectExists(key)).toBe(false);
    expect(await objectExists(`${key}.globals.sql`)).toBe(false);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
    expect(listed.KeyCount).toBe(0);
    expect(abortedUploads).toHaveLength(1);
    expect(await pendingUploads()).toEqual([]);
  });

  it('backs up again once configure has brought the server back, and the big backup validates', { timeout: 180_000 }, async () => {
    await runCommand(provider, target, [node], 'configure');
    const tableBytes = Number(await asAdmin("SELECT pg_total_relation_size('public.big')", 'app'));

    const result = await provider.backup(target, node, location('big'));
    expect(result.tables.find((entry) => entry.table === 'public.big')?.rows).toBe(BIG_ROWS);
    expect(sha256(await objectBytes(location('big').key))).toBe(result.sha256);

    const validating = Date.now();
    expect(await provider.validateBackup(target, node, location('big'), result)).toEqual({
      status: 'passed',
      detail: `5 tables, ${BIG_ROWS + 5504} rows match`,
    });
    const validateMs = Date.now() - validating;

    const mb = (bytes: number) => bytes / 1e6;
    console.info(
      `backup of a ${mb(tableBytes).toFixed(0)} MB table (dump ${mb(result.sizeBytes).toFixed(1)} MB): ${result.durationMs} ms, ` +
        `${(mb(tableBytes) / (result.durationMs / 1000)).toFixed(1)} MB/s of table; validation ${validateMs} ms, ${(mb(tableBytes) / (validateMs / 1000)).toFixed(1)} MB/s`,
    );
  });

  it('stops pg_dump and leaves nothing behind when the object store fails during the upload', { timeout: 120_000 }, async () => {
    failPartsOf = location('refused').key;
    try {
      await expect(provider.backup(target, node, location('refused'))).rejects.toThrow(
        /^uploading the dump to s3:\/\/cloudseed-backups\/plans\/backups\/db\/refused\.dump failed: injected by the test/,
      );
    } finally {
      failPartsOf = undefined;
    }
    expect(await objectExists(location('refused').key)).toBe(false);
    expect(await objectExists(`${location('refused').key}.globals.sql`)).toBe(false);
    expect(await pendingUploads()).toEqual([]);
    expect(
      await poll(
        () => asAdmin("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '%pg_dump%' OR application_name LIKE 'cloudseed%'"),
        (count) => count === '0',
      ),
    ).toBe('0');
  });

  it('refuses a backup to a bucket that does not exist before dumping anything', async () => {
    await expect(provider.backup(target, node, { bucket: 'no-such-bucket', key: 'x.dump' })).rejects.toThrow(
      /^uploading the globals to s3:\/\/no-such-bucket\/x\.dump\.globals\.sql failed: The specified bucket does not exist/,
    );
  });

  it("deletes a backup's objects, and deleting again is harmless", async () => {
    for (const name of ['first', 'big']) {
      await provider.deleteBackup(target, location(name));
      expect(await objectExists(location(name).key)).toBe(false);
      expect(await objectExists(`${location(name).key}.globals.sql`)).toBe(false);
      await expect(provider.deleteBackup(target, location(name))).resolves.toBeUndefined();
    }
    expect(await provider.validateBackup(target, node, location('big'), first)).toEqual({
      status: 'failed',
      detail: 'the backup object s3://cloudseed-backups/plans/backups/db/big.dump does not exist',
    });
    await expect(provider.restoreBackup(target, node, location('big'), first)).rejects.toThrow(/does not exist; nothing was restored/);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never-there' }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount).toBe(0);
  });
});

/** SIGKILL the postmaster, then every process it had started: the server dies as in a crash of the machine. */
function killServer(dataDir: string): void {
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  // Read before the kill: afterwards the children belong to init.
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // "pid (comm) state ppid ..."
        return Number(/\) \S (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  process.kill(pid, 'SIGKILL');
  for (const child of children) {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
