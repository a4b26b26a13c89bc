import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import type { CallOptions, Credentials } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// The repository as it ages and breaks: the recovery window follows an idle database (heartbeats
// and archive_timeout), and a backup whose object in the repository is damaged fails validation.

vi.setConfig({ testTimeout: 150_000, hookTimeout: 120_000 });

interface Backup {
  backupId: string;
  label?: string;
  status: string;
  validation: { status: string; detail?: string };
}

const cloud = useLocalCloud();
let planId: string;
let creds: Credentials;

const call = (method: string, path: string, options: CallOptions = {}) => cloud.api.call<Record<string, unknown>>(method, path, options);
const backupNamed = async (backupId: string) =>
  ((await call('GET', `/v1/plan/${planId}/backups`)).json.items as Backup[]).find((backup) => backup.backupId === backupId);
const settledBackup = (backup: Backup | undefined) => backup !== undefined && backup.status !== 'running' && backup.validation.status !== 'pending';

function sql(statement: string): string {
  const result = spawnSync(
    'psql',
    ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', `host=${creds.host} port=${creds.port} dbname=app user=app sslmode=require`, '-c', statement],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: creds.password } },
  );
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.trim();
}

/** Every stored object under a folder of the s3rver bucket, largest first. */
function objectsUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('._S3rver_object')) found.push(path);
    }
  };
  walk(dir);
  return found.sort((a, b) => statSync(b).size - statSync(a).size);
}

let full: Backup;

beforeAll(async () => {
  planId = await cloud.api.createPlan(planWith({ name: 'archive', db: { backup: { incrementalEveryHours: 0 } } }));
  const { deployment } = await cloud.api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`the plan did not deploy: ${deployment.reason ?? deployment.status}`);
  creds = await cloud.api.credentials(planId);
  sql(
    'CREATE TABLE readings (id int PRIMARY KEY, body text); INSERT INTO readings SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 20000) g',
  );
  const started = await call('POST', `/v1/plan/${planId}/backups`);
  if (started.status !== 202) throw new Error(`POST backups answered ${started.status}: ${started.text}`);
  full = (await until(() => backupNamed(started.json.backupId as string), settledBackup)) as Backup;
  if (full.status !== 'succeeded' || full.validation.status !== 'passed')
    throw new Error(`the first backup did not validate: ${JSON.stringify(full)}`);
});

describe('the archive over time', () => {
  it('proves a backup by a scratch restore to its restore point, the fingerprints and pgbackrest verify', () => {
    expect(full.validation.detail).toMatch(
      /1 table, 20000 rows match; restored to its restore point and replayed WAL; pgbackrest verify found the repository valid/,
    );
  });

  it('keeps the recovery window within about a minute of now on an idle database', async () => {
    const idleSince = Date.now();
    const window = await until(
      async () => (await call('GET', `/v1/plan/${planId}/recovery-window`)).json as { earliest: string; latest: string },
      (current) => Date.parse(current.latest) > idleSince,
      110_000,
    );
    // archive_timeout (55 s) after a heartbeat (every 15 s): the newest archived commit is at most about 70 s behind.
    expect(Date.now() - idleSince).toBeLessThan(100_000);
    expect(Date.parse(window.latest)).toBeGreaterThan(Date.parse(window.earliest));
  });

  it('fails the validation of a backup whose object in the repository is damaged, with the reason', async () => {
    const backupDir = join(cloud.home, 's3', 'cloudseed-backups', 'pgbackrest', planId, 'backup', 'db', String(full.label));
    const [largest] = objectsUnder(backupDir);
    if (!largest) throw new Error(`no objects under ${backupDir}`);
    const file = openSync(largest, 'r+');
    try {
      writeSync(file, Buffer.alloc(64, 0x5a), 0, 64, Math.floor(statSync(largest).size / 2));
    } finally {
      closeSync(file);
    }
    const started = await call('POST', `/v1/plan/${planId}/backups/${full.backupId}/validate`);
    expect(started.status, started.text).toBe(202);
    const validated = (await until(() => backupNamed(full.backupId), settledBackup)) as Backup;
    expect(validated.validation.status).toBe('failed');
    expect(validated.validation.detail).toMatch(new RegExp(`restoring backup ${String(full.label)} failed: .+`));
    // The plan turns red once the workflow has recorded the failure, a moment after the backup's record.
    const deployment = await cloud.api.waitForDeployment(planId, (current) => current.reason !== undefined, 15_000);
    expect(deployment.reason).toContain(`backup ${full.backupId} did not validate`);
  });

  it('takes the repository of a deleted plan with it', async () => {
    const repository = join(cloud.home, 's3', 'cloudseed-backups', 'pgbackrest', planId);
    expect(objectsUnder(repository).length).toBeGreaterThan(0);
    expect((await call('DELETE', `/v1/plan/${planId}`)).status).toBe(202);
    await until(
      () => call('GET', `/v1/plan/${planId}`),
      (response) => response.status === 404,
    );
    // s3rver drops a folder with its last object.
    expect(existsSync(repository) ? objectsUnder(repository) : []).toEqual([]);
  });
});
