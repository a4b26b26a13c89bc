import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import type { CallOptions, Credentials, Deployment } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Logical exports on the local cloud (pg_dump to s3rver, proven by a restore, downloadable), and the
// plan's schedule firing a pgBackRest backup.

vi.setConfig({ testTimeout: 150_000, hookTimeout: 90_000 });

interface Backup {
  backupId: string;
  status: string;
  trigger: string;
  kind: string;
  type?: string;
  sizeBytes?: number;
  sha256?: string;
  rows?: number;
  validation: { status: string; detail?: string };
  error?: string;
}

const cloud = useLocalCloud();
let planId: string;
let scheduledPlanId: string;
let creds: Credentials;

const call = (method: string, path: string, options: CallOptions = {}) => cloud.api.call<Record<string, unknown>>(method, path, options);

const backupsOf = async (id = planId) => (await call('GET', `/v1/plan/${id}/backups`)).json.items as Backup[];
const backupNamed = async (backupId: string) => (await backupsOf()).find((backup) => backup.backupId === backupId);
const deployment = (id = planId): Promise<Deployment> => cloud.api.deployment(id);

function sql(statement: string): string {
  const result = spawnSync(
    'psql',
    ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', `host=${creds.host} port=${creds.port} dbname=app user=app sslmode=require`, '-c', statement],
    {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: creds.password },
    },
  );
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.trim();
}

const fingerprint = () => sql("SELECT count(*) || ':' || md5(string_agg(id::text || coalesce(note, '∅'), ',' ORDER BY id)) FROM orders");

async function deployPlan(name: string, backup: Record<string, unknown>): Promise<string> {
  const id = await cloud.api.createPlan(planWith({ name, db: { backup } }));
  const { deployment } = await cloud.api.deploy(id);
  expect(deployment.status).toBe('running');
  return id;
}

const LOGICAL = { body: { kind: 'logical' } };

async function runBackup(): Promise<Backup> {
  const started = await call('POST', `/v1/plan/${planId}/backups`, LOGICAL);
  expect(started.status).toBe(202);
  const backupId = started.json.backupId as string;
  return until(
    () => backupNamed(backupId),
    (backup) => backup?.status !== 'running' && backup?.validation.status !== 'pending',
  ) as Promise<Backup>;
}

beforeAll(async () => {
  // A schedule fires at most hourly: this one at the minute that starts 40 to 100 s from now, time
  // enough for the deploy to register it first. Deployed here, beside the plan the other tests
  // use, its wait runs while they do.
  const minute = new Date(Date.now() + 100_000).getUTCMinutes();
  [planId, scheduledPlanId] = await Promise.all([
    deployPlan('orders', { enabled: true, schedule: '0 3 * * *', retentionDays: 7, validate: true }),
    deployPlan('hourly', {
      enabled: true,
      schedule: `${minute} * * * *`,
      timezone: 'UTC',
      retentionDays: 1,
      validate: true,
      incrementalEveryHours: 0,
    }),
  ]);
  creds = await cloud.api.credentials(planId);
  sql(
    "CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE md5(g::text) END FROM generate_series(1, 5000) g; CREATE TABLE events (payload text); INSERT INTO events SELECT 'e' || g FROM generate_series(1, 300) g",
  );
}, 120_000);

describe('backups', () => {
  let good: Backup;

  it('exports on demand, validated by a restore, and shows it on the deployment', async () => {
    const started = await call('POST', `/v1/plan/${planId}/backups`, LOGICAL);
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ kind: 'logical' });
    expect((await call('POST', `/v1/plan/${planId}/backups`, LOGICAL)).status).toBe(409);
    const backupId = started.json.backupId as string;
    good = (await until(
      () => backupNamed(backupId),
      (backup) => backup?.status !== 'running' && backup?.validation.status !== 'pending',
    )) as Backup;
    expect(good, JSON.stringify(good)).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      kind: 'logical',
      rows: 5300,
      validation: { status: 'passed' },
    });
    expect(good.type).toBeUndefined();
    expect(good.sizeBytes).toBeGreaterThan(1000);
    expect(good.sha256).toMatch(/^[0-9a-f]{64}$/);
    const view = await deployment();
    expect(view.backup).toMatchObject({ schedule: '0 3 * * *', timezone: 'UTC', lastBackup: { backupId } });
    expect(new Date(String((view.backup as { nextRunAt: string }).nextRunAt)).getUTCHours()).toBe(3);
    expect(view.status).toBe('running');
  });

  it('restores every row after a table is dropped', async () => {
    const before = fingerprint();
    sql('DROP TABLE orders');
    const restore = await call('POST', `/v1/plan/${planId}/backups/${good.backupId}/restore`, { body: { confirm: true } });
    expect(restore.status).toBe(202);
    expect((await call('GET', `/v1/plan/${planId}`)).json.status).toBe('deploying');
    await until(
      () => deployment(),
      (current) => current.status !== 'deploying',
    );
    expect((await deployment()).status).toBe('running');
    expect(fingerprint()).toBe(before);
    expect(sql("INSERT INTO orders VALUES (999999, 'after restore') RETURNING id")).toBe('999999');
  });

  it("refuses a restore without confirmation, of another customer's plan, or of an unknown backup", async () => {
    for (const body of [undefined, {}, { confirm: false }, { confirm: 'yes' }, { confirm: true, extra: 1 }]) {
      const response = await call('POST', `/v1/plan/${planId}/backups/${good.backupId}/restore`, { body: body ?? {} });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (await call('POST', `/v1/plan/${planId}/backups/${good.backupId}/restore`, { token: cloud.other.user.accessToken, body: { confirm: true } }))
        .status,
    ).toBe(404);
    expect((await call('GET', `/v1/plan/${planId}/backups`, { token: cloud.other.user.accessToken })).status).toBe(404);
    expect((await call('POST', `/v1/plan/${planId}/backups`, { token: cloud.other.user.accessToken })).status).toBe(404);
    expect((await call('POST', `/v1/plan/${planId}/backups/20260101T000000Z-00000000/restore`, { body: { confirm: true } })).status).toBe(404);
    expect((await call('GET', `/v1/plan/${planId}/backups/${good.backupId}/download`, { token: cloud.other.user.accessToken })).status).toBe(404);
    const refusals: [unknown, string[]][] = [
      [{ kind: 'dump' }, ['/kind']],
      [{ type: 'weekly' }, ['/type']],
      [{ kind: 'logical', type: 'full' }, ['/type']],
      [{ when: 'now' }, ['/when']],
      [[], ['/']],
    ];
    for (const [body, paths] of refusals) {
      const response = await call('POST', `/v1/plan/${planId}/backups`, { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((response.json.errors as { path: string }[]).map((error) => error.path)).toEqual(paths);
    }
    expect(((await call('GET', `/v1/plan/${planId}/backups`)).json.items as Backup[]).filter((backup) => backup.status === 'running')).toEqual([]);
  });

  it('hands out a short-lived download link to the archive', async () => {
    const link = await call('GET', `/v1/plan/${planId}/backups/${good.backupId}/download`);
    expect(link.status).toBe(200);
    const archive = await fetch(String(link.json.url));
    expect(archive.status).toBe(200);
    const bytes = Buffer.from(await archive.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(bytes.length).toBe(good.sizeBytes);
  });

  it('catches a corrupted object: validation fails and the plan turns red until a good backup', async () => {
    const object = join(cloud.home, 's3', 'cloudseed-backups', 'plans', planId, 'db', `${good.backupId}.dump._S3rver_object`);
    const bytes = readFileSync(object);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(object, bytes);
    expect((await call('POST', `/v1/plan/${planId}/backups/${good.backupId}/validate`)).status).toBe(202);
    const checked = (await until(
      () => backupNamed(good.backupId),
      (backup) => backup?.validation.status !== 'pending',
    )) as Backup;
    expect(checked.validation.status).toBe('failed');
    expect(checked.validation.detail).toMatch(/checksum/);
    // The backup's validation is written first, then the plan's status when the workflow releases the backup.
    const red = await until(
      async () => (await call('GET', `/v1/plan/${planId}`)).json,
      (plan) => plan.status !== 'running',
    );
    expect(red.status).toBe('failed');
    expect(String(red.statusReason)).toMatch(/did not validate/);
    expect((await call('POST', `/v1/plan/${planId}/backups/${good.backupId}/restore`, { body: { confirm: true } })).status).toBe(202);
    const refused = await until(
      () => deployment(),
      (current) => current.status !== 'deploying',
    );
    expect(String(refused.reason)).toMatch(/sha256|checksum/);
    expect((await call('POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
    await until(
      () => deployment(),
      (current) => current.status === 'running' || current.status === 'failed',
    );

    const next = await runBackup();
    expect(next).toMatchObject({ status: 'succeeded', validation: { status: 'passed' } });
    expect((await call('GET', `/v1/plan/${planId}`)).json.status).toBe('running');
  });

  it('fails a backup whose server dies mid-dump, leaves no object, and the next backup succeeds', async () => {
    sql('CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 8) AS filler FROM generate_series(1, 400000) g');
    const started = await call('POST', `/v1/plan/${planId}/backups`, LOGICAL);
    expect(started.status).toBe(202);
    const backupId = started.json.backupId as string;
    const pidFile = join(cloud.home, 'instances', planId, 'db-0', 'data', 'postmaster.pid');
    // This server's pg_dump, not another plan's scheduled one (nor another test run's).
    const { port } = await cloud.api.credentials(planId);
    await until(
      () => Promise.resolve(spawnSync('pgrep', ['-f', `pg_dump .*-p ${port} `], { encoding: 'utf8' }).stdout.trim()),
      (pids) => pids !== '',
      20_000,
    );
    process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL');
    const failed = (await until(
      () => backupNamed(backupId),
      (backup) => backup?.status !== 'running',
    )) as Backup;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/DumpBackup: /);
    const prefix = join(cloud.home, 's3', 'cloudseed-backups', 'plans', planId, 'db');
    expect(readdirSync(prefix).filter((file) => file.startsWith(backupId))).toEqual([]);
    expect((await call('GET', `/v1/plan/${planId}`)).json.status).toBe('failed');

    expect((await call('POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
    await until(
      () => deployment(),
      (current) => current.status === 'running',
      60_000,
    );
    const next = await runBackup();
    expect(next).toMatchObject({ status: 'succeeded', validation: { status: 'passed' } });
    expect(existsSync(join(prefix, `${next.backupId}.dump._S3rver_object`))).toBe(true);
  });
});

describe('scheduled backups', () => {
  it("fires the plan's cron schedule and validates what it took", { timeout: 300_000 }, async () => {
    const backup = await until(
      () => backupsOf(scheduledPlanId),
      (items) => items.some((item) => item.trigger === 'schedule' && item.status !== 'running' && item.validation.status !== 'pending'),
      240_000,
    );
    // The first of the daily runs: pgBackRest's full, proven by a scratch restore to its restore point.
    const scheduled = backup.find((item) => item.trigger === 'schedule');
    expect(scheduled).toMatchObject({ kind: 'physical', type: 'full', status: 'succeeded', validation: { status: 'passed' } });
    const download = await call('GET', `/v1/plan/${scheduledPlanId}/backups/${String(scheduled?.backupId)}/download`);
    expect(download.status).toBe(409);
    expect(String(download.json.detail)).toMatch(/restored in place rather than downloaded/);
    expect((await call('DELETE', `/v1/plan/${scheduledPlanId}`)).status).toBe(202);
  });
});
