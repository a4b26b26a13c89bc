import { execFile, spawnSync } from 'node:child_process';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { promisify } from 'node:util';
import { renderAwsJson, renderPgHba, renderPgIdent, validatePlan } from '@cloudseed/shared';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/node-scripts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_ROLE_ACTIONS } from '../providers/aws/actions.ts';
import { backupManifest, restoredFingerprints, resultOf, validationOutcome } from '../providers/node-backups/backup-results.ts';
import { APPLICATION_NAME, backupScript, RESULT_MARKER, restoreScript, validateScript } from '../providers/node-backups/backup-scripts.ts';
import type { BackupScriptInput } from '../providers/node-backups/backup-scripts.ts';
import { verifyScript } from '../providers/aws/run-command.ts';
import { compareFingerprints } from '../providers/fingerprints.ts';

// The scripts AwsProvider runs on a primary to back it up, prove a backup and restore one: lint,
// what they may call in AWS, and a run of each against a real PostgreSQL 15 server on this machine,
// as root like SSM runs them, with an `aws` on PATH that keeps the bucket in a directory.

const PG_BIN = '/usr/lib/postgresql/15/bin';
const execFileAsync = promisify(execFile);

const hostile: BackupScriptInput = {
  bucket: 'cloudseed-backups',
  key: 'plans/p-1/db/it\'s $(reboot) `id` "x".dump',
  cloud: 'aws',
  cloudValues: { REGION: 'eu-west-1' },
  database: 'app',
  owner: 'app',
  port: 5432,
  binDir: '/usr/lib/postgresql/16/bin',
};

/** What the provider renders for a real backup (shellcheck rightly flags `$(...)` inside quotes, which `hostile` has on purpose). */
const realistic: BackupScriptInput = { ...hostile, key: 'plans/p-1/db/01J8Z6Q0M5.dump' };

const scripts = {
  backup: (input: BackupScriptInput) => backupScript(input),
  validation: (input: BackupScriptInput, sha256 = 'a'.repeat(64)) => validateScript({ ...input, recordedSha256: sha256 }),
  restore: (input: BackupScriptInput, sha256 = 'a'.repeat(64)) => restoreScript({ ...input, recordedSha256: sha256, swapDeadlineSeconds: 660 }),
};

describe('the backup scripts', () => {
  it.each(Object.entries(scripts))('are shellcheck-clean: %s', (_name, render) => {
    const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: render(realistic), encoding: 'utf8' });

    expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(Object.entries(scripts))('assign every value once, single-quoted, at the top: %s', (_name, render) => {
    const script = render(hostile);

    expect(script).toContain(`KEY='plans/p-1/db/it'\\''s $(reboot) \`id\` "x".dump'\n`);
    expect(script).toContain("\nBUCKET='cloudseed-backups'\n");
    expect(script).toContain("PG_BIN='/usr/lib/postgresql/16/bin'\n");
    // The header assigns, then the prelude and the files run with errexit, nounset and pipefail.
    expect(script).toMatch(/^#!\/usr\/bin\/env bash\n# CloudSeed [a-z-]+: .*\nTASK='/);
    expect(script).toContain('\nset -euo pipefail\n');
    // The values appear nowhere else: the rest of the script expands the variables.
    expect(script.split("it'\\''s $(reboot)")).toHaveLength(2);
  });

  it.each(Object.entries(scripts))('pin the search path of every psql, pg_dump, pg_dumpall and pg_restore to pg_catalog: %s', (_name, render) => {
    const lines = render(realistic).split('\n');
    expect(lines).toContain("PGOPTIONS='-c search_path=pg_catalog'");
    const pinned = lines.indexOf('export PGPORT PGAPPNAME PGOPTIONS');
    expect(pinned).toBeGreaterThan(lines.indexOf("PGOPTIONS='-c search_path=pg_catalog'"));
    const direct = lines.filter((line) => /(^\s*|[|;&]\s*|\$\(\s*)(psql|pg_dump|pg_dumpall|pg_restore)\b/.test(line) && !/^\s*#/.test(line));
    expect(direct).toEqual([]);
    const uses = lines.flatMap((line, index) => (/\bas_postgres (psql|pg_dump|pg_dumpall|pg_restore)\b/.test(line) ? [index] : []));
    expect(uses.length).toBeGreaterThan(0);
    for (const index of uses) expect(index).toBeGreaterThan(pinned);
    // as_postgres runs them through runuser, which keeps the environment; nothing starts them with another.
    expect(lines.join('\n')).not.toMatch(/env -i|PGOPTIONS=(?!'-c search_path=pg_catalog')|runuser -l|--login/);
    expect(lines.filter((line) => line.includes('runuser') && !/^\s*#/.test(line))).toEqual(['  runuser -u postgres -- "$tool" "$@"']);
  });

  it('stream to S3 with server-side encryption and print nothing but the result line to standard output', () => {
    for (const script of Object.values(scripts).map((render) => render(hostile))) {
      for (const upload of script.split('\n').filter((line) => /\bs3 cp - /.test(line))) expect(upload).toContain('--sse AES256');
      expect(script).toContain('exec 3>&1 1>&2');
      expect(script.match(/>&3/g)).toHaveLength(1);
    }
  });

  it('are, with the install, configure and verify scripts, shellcheck-clean as an instance receives them: header, prelude and files', () => {
    const result = validatePlan({
      apiVersion: 'cs/v1',
      name: 'orders',
      target: { cloud: 'aws', region: 'eu-central-1' },
      components: [{ id: 'db', type: 'postgres', db: { topology: { mode: 'cluster', replicas: 1 } } }],
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const component = renderAwsJson(result.plan, { planId: 'p-1' }).components[0]!;
    const rendered = {
      install: component.scripts.install,
      configure: component.scripts.configure,
      verify: verifyScript(component, 'eu-central-1'),
      ...Object.fromEntries(Object.entries(scripts).map(([name, render]) => [name, render(realistic)])),
    };
    for (const [name, script] of Object.entries(rendered)) {
      expect(script, name).toMatch(/^#!\/usr\/bin\/env bash\n/);
      expect(script, name).toContain('\nread_secret() {');
      const lint = spawnSync('shellcheck', ['-s', 'bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
      expect(lint.stdout, name).toBe('');
      expect(lint.status, name).toBe(0);
    }
  });

  it('call AWS only with what NODE_ROLE_ACTIONS allows the nodes, and the nodes need all of it', () => {
    const result = validatePlan({
      apiVersion: 'cs/v1',
      name: 'orders',
      target: { cloud: 'aws', region: 'eu-central-1' },
      components: [{ id: 'db', type: 'postgres' }],
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const component = renderAwsJson(result.plan, { planId: 'p-1' }).components[0]!;
    const nodeScripts = [
      component.scripts.install,
      component.scripts.configure,
      verifyScript(component, 'eu-central-1'),
      ...Object.values(scripts).map((render) => render(hostile)),
    ];
    const used = new Set<string>();
    for (const line of nodeScripts.join('\n').split('\n')) {
      if (/\baws ssm get-parameter\b/.test(line)) used.add('ssm:GetParameter').add('kms:Decrypt');
      if (/\bs3 cp - /.test(line)) used.add('s3:PutObject').add('s3:AbortMultipartUpload');
      if (/\bs3 cp "\$1" - /.test(line)) used.add('s3:GetObject');
      if (/\bs3 rm /.test(line)) used.add('s3:DeleteObject');
      const other = /(?<!command -v )\baws (?!ssm get-parameter\b|--region "\$REGION" s3 )\S+/.exec(line);
      expect(other, `an aws call NODE_ROLE_ACTIONS does not cover: ${line}`).toBeNull();
    }
    // The metrics collector configure.sh installs (base64 in its header) calls the CLI itself, and only this.
    const collector = readFileSync(new URL('collect-metrics.py', SCRIPT_FOLDER), 'utf8');
    expect(component.scripts.configure).toContain(`METRICS_COLLECTOR_BASE64='${Buffer.from(collector).toString('base64')}'`);
    expect([...collector.matchAll(/\[AWS, "([a-z0-9-]+)", "([a-z0-9-]+)"/g)].map((call) => `${call[1]} ${call[2]}`)).toEqual([
      'cloudwatch put-metric-data',
    ]);
    used.add('cloudwatch:PutMetricData');

    expect([...used].sort()).toEqual([...NODE_ROLE_ACTIONS].sort());
  });
});

// --- against a real server -------------------------------------------------------------------------

const FAKE_AWS = `#!/usr/bin/env bash
# aws --region R s3 cp|rm ..., kept under $FAKE_S3_ROOT; FAKE_S3_FAIL_DUMP_UPLOAD makes uploads of *.dump fail.
set -euo pipefail
[ "$1" = --region ] && shift 2
[ "$1" = s3 ] || { echo "fake aws: $*" >&2; exit 2; }
command=$2
shift 2
file_of() { printf '%s/%s' "$FAKE_S3_ROOT" "\${1#s3://}"; }
case $command in
  cp)
    if [ "$1" = - ]; then
      if [ -n "\${FAKE_S3_FAIL_DUMP_UPLOAD:-}" ] && [[ $2 == *.dump ]]; then head -c 4096 >/dev/null; echo "upload failed: connection reset" >&2; exit 1; fi
      mkdir -p "$(dirname "$(file_of "$2")")"
      cat >"$(file_of "$2").part"
      mv "$(file_of "$2").part" "$(file_of "$2")"
    else
      [ -f "$(file_of "$1")" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Not Found" >&2; exit 1; }
      cat "$(file_of "$1")"
    fi ;;
  rm) rm -f "$(file_of "$1")" ;;
  *) echo "fake aws: s3 $command" >&2; exit 2 ;;
esac
`;

const KEY = "plans/p-1/db/bk-1's.dump";

/** Code of the tenant's that tries to make it superuser and run a program; each attempt swallows its error. */
const tenantCode = (marker: string) => `
CREATE FUNCTION public.escalate() RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  BEGIN RESET ROLE; ALTER ROLE app SUPERUSER; EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN RESET ROLE; COPY (SELECT 1) TO PROGRAM 'touch ${marker}'; EXCEPTION WHEN OTHERS THEN NULL; END;
  RETURN true;
END $fn$;
CREATE FUNCTION public.name_regex_mismatch(name, name) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN NOT pg_catalog.textregexeq($1::text, $2::text); END $fn$;
CREATE OPERATOR public.!~ (LEFTARG = name, RIGHTARG = name, FUNCTION = public.name_regex_mismatch);
CREATE FUNCTION public.oid_eq_regclass(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.oideq($1, $2::oid); END $fn$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.oid_eq_regclass);
CREATE FUNCTION public.format(text, name, name) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.format($1, $2, $3); END $fn$;
CREATE FUNCTION public.count_step(bigint, boolean) RETURNS bigint LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN $1 + 1; END $fn$;
CREATE AGGREGATE public.count(boolean) (SFUNC = public.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.checked(v int) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN v IS NOT NULL; END $fn$;
CREATE FUNCTION public.defaulted() RETURNS int LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN 7; END $fn$;
CREATE FUNCTION public.on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN NEW; END $fn$;
CREATE FUNCTION public.indexed(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN PERFORM public.escalate(); RETURN v; END $fn$;
CREATE TABLE public.guarded (v int CHECK (public.checked(v)), w int DEFAULT public.defaulted());
CREATE TRIGGER guarded_insert BEFORE INSERT ON public.guarded FOR EACH ROW EXECUTE FUNCTION public.on_insert();
CREATE INDEX guarded_expression ON public.guarded (public.indexed(v));
INSERT INTO public.guarded (v) SELECT g FROM generate_series(1, 50) g;`;
let dir: string;
let port: number;
let input: BackupScriptInput;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function asPostgres(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('runuser', ['-u', 'postgres', '--', join(PG_BIN, command), ...args], {
    cwd: '/',
    env: { ...process.env, PGHOST: dir, PGPORT: String(port) },
  });
  return stdout;
}

async function psql(database: string, sql: string): Promise<string> {
  return (await asPostgres('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql])).trim();
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(script: string, env: Record<string, string> = {}): Promise<Run> {
  const file = join(dir, 'script.sh');
  await writeFile(file, script, { mode: 0o700 });
  try {
    const { stdout, stderr } = await execFileAsync('bash', [file], {
      cwd: '/',
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? ''}`, PGHOST: dir, FAKE_S3_ROOT: join(dir, 's3'), ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const stored = (key: string) => readFile(join(dir, 's3', input.bucket, key), 'utf8');
const storedKeys = async () => (await readdir(join(dir, 's3', input.bucket, 'plans/p-1/db')).catch(() => [])).sort();
const databases = async () => (await psql('postgres', "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")).split(',');

beforeAll(async () => {
  // Short: the server's Unix socket lives in it.
  dir = await mkdtemp(join(tmpdir(), 'cs-bs-'));
  await execFileAsync('chown', ['postgres:postgres', dir]);
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin', 'aws'), FAKE_AWS);
  await chmod(join(dir, 'bin', 'aws'), 0o755);
  port = await freePort();
  input = {
    bucket: 'cloudseed-backups',
    key: KEY,
    cloud: 'aws',
    cloudValues: { REGION: 'eu-west-1' },
    database: 'app',
    owner: 'app',
    port,
    binDir: PG_BIN,
  };
  await asPostgres('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth-local=peer', '--auth-host=scram-sha-256']);
  // The access rules configure writes: peer for postgres, and for postgres as the owner (restores log in as it).
  const plan = validatePlan({
    apiVersion: 'cs/v1',
    name: 'p',
    target: { cloud: 'aws', region: 'eu-west-1' },
    components: [{ id: 'db', type: 'postgres' }],
  });
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const [component] = postgresComponents(plan.plan);
  if (!component) throw new Error('no component');
  await writeFile(join(dir, 'data', 'pg_hba.conf'), renderPgHba(component), { mode: 0o644 });
  await writeFile(join(dir, 'data', 'pg_ident.conf'), renderPgIdent(component), { mode: 0o644 });
  await asPostgres('pg_ctl', [
    '-D',
    join(dir, 'data'),
    '-w',
    '-l',
    join(dir, 'server.log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=''`,
    'start',
  ]);
  await psql('postgres', 'CREATE ROLE app LOGIN');
  await psql('postgres', 'CREATE DATABASE app OWNER app');
  await asPostgres('psql', [
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-d',
    'app',
    '-c',
    [
      'SET ROLE app;',
      'CREATE TABLE orders (id int PRIMARY KEY, note text, at timestamptz, amount numeric, ratio float8, raw bytea);',
      "INSERT INTO orders SELECT g, 'note ' || g, timestamptz '2030-01-01' + g * interval '1 minute', g * 1.5, g / 3.0, decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;",
      'CREATE TABLE "odd|name" (v text);',
      "INSERT INTO \"odd|name\" VALUES ('a'), ('a'), (NULL);",
      'CREATE TABLE empty (v int);',
      'CREATE SCHEMA sales;',
      'CREATE TABLE sales.parted (k int, v text) PARTITION BY RANGE (k);',
      'CREATE TABLE sales.parted_low PARTITION OF sales.parted FOR VALUES FROM (0) TO (100);',
      'CREATE TABLE sales.parted_high PARTITION OF sales.parted FOR VALUES FROM (100) TO (200);',
      'INSERT INTO sales.parted SELECT g, g::text FROM generate_series(0, 199) g;',
    ].join('\n'),
  ]);
}, 60_000);

afterAll(async () => {
  if (!dir) return;
  await asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('the backup scripts on a real server', () => {
  let manifest: ReturnType<typeof backupManifest>;

  it("backs up: the dump, the globals and a manifest whose fingerprints are the local provider's", async () => {
    const result = await run(scripts.backup(input));

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = resultOf(result.stdout, 'backup');
    expect(result.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${RESULT_MARKER} \\{`)) as unknown]);
    manifest = backupManifest(await stored(`${KEY}.manifest.json`), 'manifest');
    expect(manifest).toMatchObject({
      sha256: summary['sha256'],
      sizeBytes: summary['sizeBytes'],
      serverVersion: expect.stringMatching(/^15\./) as unknown,
    });
    const dump = await readFile(join(dir, 's3', input.bucket, KEY));
    expect(dump.subarray(0, 5).toString()).toBe('PGDMP');
    expect(dump.length).toBe(manifest.sizeBytes);
    expect(await stored(`${KEY}.globals.sql`)).toContain('CREATE ROLE app;');
    expect(manifest.tables.map((table) => [table.table, table.rows])).toEqual([
      ['public.empty', 0],
      ['public.odd|name', 3],
      ['public.orders', 20000],
      ['sales.parted_high', 100],
      ['sales.parted_low', 100],
    ]);
    // The same md5 over the sorted row md5s that local/fingerprints.ts takes in SQL.
    const local = await psql(
      'app',
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; " +
        "SELECT coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM (SELECT md5(ROW(r.*)::text) AS h FROM ONLY public.orders AS r) AS hashed",
    );
    expect(manifest.tables.find((table) => table.table === 'public.orders')?.checksum).toBe(local.split('\n').at(-1));
    expect(manifest.tables.find((table) => table.table === 'public.empty')?.checksum).toBe('');
  }, 60_000);

  it('validates: restores into a scratch database, fingerprints it, and drops it', async () => {
    const result = await run(scripts.validation(input, manifest.sha256));

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const outcome = validationOutcome(resultOf(result.stdout, 'validation'), 'validation');
    expect(outcome).toEqual({ status: 'restored', sha256: manifest.sha256, tableCount: 5 });
    const restored = restoredFingerprints(await stored(`${KEY}.validation.json`), 'report');
    expect(compareFingerprints(manifest.tables, restored)).toEqual({ status: 'passed', detail: '5 tables, 20203 rows match' });
    expect(await databases()).toEqual(['app', 'postgres', 'template0', 'template1']);
  }, 60_000);

  it('reports a backup whose object is not what was recorded as failed, and drops what a killed run left', async () => {
    await psql('postgres', 'CREATE DATABASE cloudseed_validate_0123456789ab');

    const result = await run(scripts.validation(input, 'b'.repeat(64)));

    expect(result.code).toBe(0);
    expect(validationOutcome(resultOf(result.stdout, 'validation'), 'validation')).toEqual({
      status: 'failed',
      detail: `the stored object does not match its checksum (sha256 ${manifest.sha256}, recorded ${'b'.repeat(64)})`,
    });
    expect(await databases()).toEqual(['app', 'postgres', 'template0', 'template1']);
  }, 60_000);

  it('restores: replaces the contents, ends open sessions, and the application role owns what it restored', async () => {
    await psql('app', 'DELETE FROM orders WHERE id > 10; CREATE TABLE made_later (v int);');
    const session = asPostgres('psql', ['-X', '-d', 'app', '-c', 'SELECT pg_sleep(60)']).catch((error: unknown) => error);
    while ((await psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)' AND datname = 'app'")) !== '1')
      await setTimeout(50);

    const result = await run(scripts.restore(input, manifest.sha256));

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(resultOf(result.stdout, 'restore')).toEqual({ status: 'restored', sha256: manifest.sha256 });
    expect(await psql('app', 'SELECT count(*) FROM orders')).toBe('20000');
    expect(
      await psql(
        'app',
        "SELECT string_agg(tablename || ':' || tableowner, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname IN ('public', 'sales')",
      ),
    ).toBe('empty:app,odd|name:app,orders:app,parted:app,parted_high:app,parted_low:app');
    expect(await psql('postgres', "SELECT pg_get_userbyid(datdba) || ':' || datallowconn FROM pg_database WHERE datname = 'app'")).toBe('app:true');
    expect(await databases()).toEqual(['app', 'postgres', 'template0', 'template1']);
    expect(String(await session)).toMatch(/terminat/);
  }, 60_000);

  it('refuses to restore an object that is not what was recorded, leaving the database as it was', async () => {
    await psql('app', 'DELETE FROM orders WHERE id > 10');

    const result = await run(scripts.restore(input, 'b'.repeat(64)));

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(
      `cloudseed restore: the stored object does not match its checksum (sha256 ${manifest.sha256}, recorded ${'b'.repeat(64)}); nothing was restored`,
    );
    expect(await psql('app', 'SELECT count(*) FROM orders')).toBe('10');
  }, 60_000);

  it('does not swap the databases so close to its time limit that SSM could kill it half-way', async () => {
    const result = await run(restoreScript({ ...input, recordedSha256: manifest.sha256, swapDeadlineSeconds: 0 }));

    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'cloudseed restore: the restore took longer than 0 s, too close to its time limit to swap the databases safely; app was left as it was',
    );
    expect(await psql('app', 'SELECT count(*) FROM orders')).toBe('10');
    expect(await databases()).toEqual(['app', 'postgres', 'template0', 'template1']);
  }, 60_000);

  it('leaves nothing in S3, and no session behind, when the upload fails', async () => {
    const result = await run(scripts.backup(input), { FAKE_S3_FAIL_DUMP_UPLOAD: '1' });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`cloudseed backup: uploading the dump to s3://cloudseed-backups/${KEY} failed\n`);
    expect(await storedKeys()).toEqual([]);
    expect(await psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${APPLICATION_NAME}'`)).toBe('0');
  }, 60_000);

  it("runs none of the tenant's code as the superuser: shadowing operators and functions, a CHECK constraint, a trigger, an index", async () => {
    const marker = join(dir, 'escalated');
    // Logged in as app (not SET ROLE in a superuser session, out of which the CHECK constraint's code would RESET ROLE).
    await asPostgres('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', 'app', '-d', 'app', '-c', tenantCode(marker)]);
    const isSuperuser = () => psql('postgres', "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'app'");

    const backup = await run(scripts.backup(input));
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const tenantManifest = backupManifest(await stored(`${KEY}.manifest.json`), 'manifest');
    expect(tenantManifest.tables.find((table) => table.table === 'public.guarded')?.rows).toBe(50);
    expect(await isSuperuser()).toBe('f');
    expect(existsSync(marker)).toBe(false);

    const validation = await run(scripts.validation(input, tenantManifest.sha256));
    expect(validation.stderr).toBe('');
    expect(validationOutcome(resultOf(validation.stdout, 'validation'), 'validation')).toMatchObject({ status: 'restored' });
    expect(compareFingerprints(tenantManifest.tables, restoredFingerprints(await stored(`${KEY}.validation.json`), 'report')).status).toBe('passed');
    expect(await isSuperuser()).toBe('f');
    expect(existsSync(marker)).toBe(false);

    await psql('app', 'DELETE FROM public.guarded');
    const restore = await run(scripts.restore(input, tenantManifest.sha256));
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(await psql('app', 'SELECT count(*) FROM public.guarded')).toBe('50');
    expect(await isSuperuser()).toBe('f');
    expect(existsSync(marker)).toBe(false);
  }, 120_000);

  it('fails with a clear line when the database is not there', async () => {
    const result = await run(scripts.backup({ ...input, database: 'missing' }));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^cloudseed backup: could not open a snapshot of database missing: .*database "missing" does not exist/m);
  }, 60_000);
});
