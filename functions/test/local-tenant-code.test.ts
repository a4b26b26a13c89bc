import { execFile, spawnSync } from 'node:child_process';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findOs, renderConfigureScript, validatePlan } from '@cloudseed/shared';
import type { OsImage } from '@cloudseed/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProvider } from '../providers/local/index.ts';
import { scramVerifier } from '../providers/local/secrets.ts';
import type { BackupLocation, DeployTarget, NodeRef } from '../providers/provider.ts';
import { deployLocally, localTarget } from './support/local-targets.ts';
import { newS3rver } from './support/s3rver.ts';
import type { S3rverServer } from './support/s3rver.ts';

// A tenant owns its database and may put functions and operators in it that shadow the catalog's,
// and constraints, defaults, triggers and index expressions that call its own code. The local
// cloud's superuser sessions (backup, validation, restore, fingerprints) must never run any of it
// with superuser rights; and no password the platform sets may end up in pg_stat_statements or
// the server log. Real PostgreSQL 15 and s3rver, no mocks.

const PSQL = '/usr/lib/postgresql/15/bin/psql';
const BUCKET = 'cloudseed-backups';
const PLAN = 'tenant';
const execFileAsync = promisify(execFile);

let home: string;
let s3Dir: string;
let s3rver: S3rverServer | undefined;
let provider: LocalProvider;
let stopAll: (home: string) => Promise<unknown>;
/** The file the tenant's code tries to create through COPY ... TO PROGRAM, which only a superuser may run. */
const marker = join(tmpdir(), `cs-tenant-marker-${randomBytes(6).toString('hex')}`);

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cs-tn-'));
  s3Dir = await mkdtemp(join(tmpdir(), 'cs-tn-s3-'));
  s3rver = newS3rver(s3Dir, BUCKET);
  const { port } = await s3rver.run();
  // lib/s3.ts builds its client when it is first imported: the environment comes first.
  Object.assign(process.env, {
    S3_ENDPOINT: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  });
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
  await rm(marker, { force: true });
});

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

/**
 * What the tenant's code tries whenever it runs: become superuser (after leaving a SET ROLE the
 * platform may have put it under) and run a program on the server. Each attempt swallows its own
 * error, so that the platform's work goes on and only the role and the marker file tell.
 */
const ESCALATE = `
CREATE FUNCTION public.escalate() RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  BEGIN
    RESET ROLE;
    ALTER ROLE app SUPERUSER;
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  BEGIN
    RESET ROLE;
    COPY (SELECT 1) TO PROGRAM 'touch ${marker}';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  RETURN true;
END
$fn$;`;

/** Operators and functions that would win name resolution over pg_catalog's for a session whose search path has public. */
const SHADOWS = `
CREATE FUNCTION public.name_regex_mismatch(name, name) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN NOT pg_catalog.textregexeq($1::text, $2::text); END $fn$;
CREATE OPERATOR public.!~ (LEFTARG = name, RIGHTARG = name, FUNCTION = public.name_regex_mismatch);
CREATE FUNCTION public.name_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.nameeq($1, $2); END $fn$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.name_eq);
CREATE FUNCTION public.oid_eq_regclass(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.oideq($1, $2::oid); END $fn$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.oid_eq_regclass);
CREATE FUNCTION public.md5(record) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.md5($1::text); END $fn$;
CREATE FUNCTION public.md5(name) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.md5($1::text); END $fn$;
CREATE FUNCTION public.format(text, name) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN pg_catalog.format($1::text, $2); END $fn$;
CREATE FUNCTION public.count_step(bigint, boolean) RETURNS bigint LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN $1 + 1; END $fn$;
CREATE AGGREGATE public.count(boolean) (SFUNC = public.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.json_step(json, json) RETURNS json LANGUAGE plpgsql AS $fn$
BEGIN PERFORM public.escalate(); RETURN $2; END $fn$;
CREATE AGGREGATE public.json_agg(json) (SFUNC = public.json_step, STYPE = json);`;

/** The tenant's own code in its tables, which a restore and the statistics after it could run. */
const TENANT_TABLES = `
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
CREATE STATISTICS guarded_stats ON (public.indexed(v)), w FROM public.guarded;
INSERT INTO public.guarded (v) SELECT g FROM generate_series(1, 50) g;`;

describe('tenant code in the application database', () => {
  const target = localTarget(PLAN);
  let node: NodeRef;
  let password: string;

  async function asApp(sql: string, login = password): Promise<string> {
    const connection = `host=127.0.0.1 port=${node.port} dbname=app user=app sslmode=require`;
    const { stdout } = await execFileAsync(PSQL, ['-X', '-A', '-t', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-c', sql, '-d', connection], {
      env: { PATH: '/usr/bin:/bin', PGPASSWORD: login, PGCONNECT_TIMEOUT: '5' },
    });
    return stdout.trim();
  }

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

  const appIsSuperuser = () => asAdmin("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'app'");

  it(
    'deploys a node whose application role fills its database with shadowing operators and functions, and code in its tables',
    { timeout: 180_000 },
    async () => {
      node = await deploy(target);
      password = await provider.readPassword(target);
      await asApp(`${ESCALATE}\n${SHADOWS}\n${TENANT_TABLES}`);
      await asApp('SELECT public.escalate()');
      expect(await appIsSuperuser()).toBe('f');
      expect(existsSync(marker)).toBe(false);
    },
  );

  it("backs up, validates and restores without ever running the tenant's code as the superuser", { timeout: 120_000 }, async () => {
    const backup = await provider.backup(target, node, location('shadowed'));
    expect(backup.tables.map(({ table, rows }) => [table, rows])).toEqual([['public.guarded', 50]]);
    expect(await appIsSuperuser()).toBe('f');
    expect(existsSync(marker)).toBe(false);

    expect(await provider.validateBackup(target, node, location('shadowed'), backup)).toEqual({ status: 'passed', detail: '1 table, 50 rows match' });
    expect(await appIsSuperuser()).toBe('f');
    expect(existsSync(marker)).toBe(false);

    await asApp('DELETE FROM public.guarded WHERE v > 10');
    await provider.restoreBackup(target, node, location('shadowed'), backup);
    expect(await appIsSuperuser()).toBe('f');
    expect(existsSync(marker)).toBe(false);
    expect(await asApp('SELECT count(*), sum(v), min(w) FROM public.guarded')).toBe('50|1275|7');
    // The restored objects are the tenant's, so its code keeps running as the tenant, nothing more.
    expect(
      await asApp(
        "SELECT string_agg(DISTINCT pg_catalog.pg_get_userbyid(proowner), ',') FROM pg_catalog.pg_proc WHERE pronamespace = 'public'::regnamespace",
      ),
    ).toBe('app');
  });

  it("keeps the application role's password out of pg_stat_statements and the server log", { timeout: 60_000 }, async () => {
    expect(await asAdmin('SHOW shared_preload_libraries')).toContain('pg_stat_statements');
    // A second configure sets the password again, now with pg_stat_statements counting.
    await asAdmin('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const command = await provider.sendCommand(target, [node], 'configure');
    expect(await provider.commandStatus(target, command)).toEqual({ state: 'done' });

    const statements = await asAdmin('SELECT query FROM pg_stat_statements');
    expect(statements).toMatch(/ALTER ROLE "app" WITH .*PASSWORD 'SCRAM-SHA-256\$4096:/);
    expect(statements).not.toContain(password);
    const logDir = join(home, 'instances', PLAN, node.name, 'log');
    const logs = readdirSync(logDir).map((name) => readFileSync(join(logDir, name), 'utf8'));
    expect(logs.join('\n')).toContain('connection authorized: user=app');
    expect(logs.join('\n')).not.toContain(password);
  });

  it(
    "accepts the verifier an EC2 node computes with the configure script's own code, and it is the local provider's",
    { timeout: 60_000 },
    async () => {
      const component = validatePlan({
        apiVersion: 'cs/v1',
        name: 'x',
        target: { cloud: 'aws', region: 'eu-west-1' },
        components: [{ id: 'db', type: 'postgres' }],
      });
      if (!component.ok) throw new Error(JSON.stringify(component.errors));
      const [spec] = postgresComponents(component.plan);
      if (!spec) throw new Error('no component');
      const script = renderConfigureScript(spec, findOs('amazon-linux', '2023') as OsImage, {
        planId: 'p',
        region: 'eu-west-1',
        passwordParameter: '/p',
      }).split('\n');
      // The Python program is a quoted value in the script's header; the function that runs it is in configure.sh.
      const valueFrom = script.findIndex((line) => line.startsWith('SCRAM_VERIFIER_PY='));
      const valueTo = script.findIndex((line, index) => index > valueFrom && line.endsWith("'"));
      const functionFrom = script.indexOf('scram_verifier() {');
      const functionTo = script.findIndex((line, index) => index > functionFrom && line === '}');
      expect([valueFrom, functionFrom].every((index) => index >= 0)).toBe(true);
      const helpers = [...script.slice(valueFrom, valueTo + 1), ...script.slice(functionFrom, functionTo + 1)].join('\n');

      const fresh = 'N3wPasswordFromTheNodeOnlyAbc123';
      const computed = spawnSync('bash', ['-c', `set -euo pipefail\n${helpers}\nscram_verifier "$1"`, 'bash', fresh], { encoding: 'utf8' });
      expect(computed.stderr).toBe('');
      const verifier = computed.stdout;
      const salt = /^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(verifier)?.[1] ?? '';
      expect(verifier).toBe(await scramVerifier(fresh, Buffer.from(salt, 'base64')));

      await asAdmin(`ALTER ROLE app PASSWORD '${verifier}'`);
      try {
        expect(await asApp('SELECT current_user', fresh)).toBe('app');
      } finally {
        await asAdmin(`ALTER ROLE app PASSWORD '${await scramVerifier(password)}'`);
      }
    },
  );
});
