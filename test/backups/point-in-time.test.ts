import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { settled, until } from '../support/api.ts';
import type { CallOptions, Credentials, Deployment } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Point-in-time recovery on the local cloud: a primary and a replica archiving WAL with pgBackRest
// to s3rver over TLS, restored in place to a second in the window, twice across timelines.

vi.setConfig({ testTimeout: 150_000, hookTimeout: 120_000 });

interface Backup {
  backupId: string;
  kind: string;
  type?: string;
  label?: string;
  trigger: string;
  status: string;
  stoppedAt?: string;
  rows?: number;
  validation: { status: string; detail?: string };
  error?: string;
}

interface Window {
  component: string;
  earliest: string | null;
  latest: string | null;
}

const cloud = useLocalCloud();
let planId: string;
let creds: Credentials;

const call = (method: string, path: string, options: CallOptions = {}) => cloud.api.call<Record<string, unknown>>(method, path, options);
const deployment = (): Promise<Deployment> => cloud.api.deployment(planId);
const recoveryWindow = async (): Promise<Window> => {
  const response = await call('GET', `/v1/plan/${planId}/recovery-window`);
  expect(response.status, response.text).toBe(200);
  return response.json as unknown as Window;
};

function sql(statement: string, port = creds.port): string {
  const result = spawnSync(
    'psql',
    ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', `host=${creds.host} port=${port} dbname=app user=app sslmode=require`, '-c', statement],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: creds.password } },
  );
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.trim();
}

/** The database's clock, after the statements before it committed: a time the restore can stop at. */
function noteTime(): string {
  const time = sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  // A commit in the same millisecond as the time would be on the wrong side of it.
  spawnSync('sleep', ['0.05']);
  return time;
}

async function backUp(body?: Record<string, unknown>): Promise<Backup> {
  const started = await until(
    () => call('POST', `/v1/plan/${planId}/backups`, body ? { body } : {}),
    (response) => response.status !== 409,
  );
  expect(started.status, started.text).toBe(202);
  const backupId = started.json.backupId as string;
  return until(
    async () => ((await call('GET', `/v1/plan/${planId}/backups`)).json.items as Backup[]).find((backup) => backup.backupId === backupId),
    (backup) => backup?.status !== 'running' && backup?.validation.status !== 'pending',
  ) as Promise<Backup>;
}

async function restoreTo(targetTime: string): Promise<Deployment> {
  const response = await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime, confirm: true } });
  expect(response.status, response.text).toBe(202);
  expect(response.json).toMatchObject({ status: 'restoring', component: 'db', targetTime: new Date(targetTime).toISOString() });
  expect(response.headers.get('location')).toBe(`/v1/plan/${planId}/deployment`);
  return untilRestored();
}

/** The window once it reaches past `time`: the server counts a backup's last segment as archived a moment after pgBackRest has it. */
const windowPast = (time: string): Promise<Window> =>
  until(recoveryWindow, (current) => Date.parse(String(current.latest)) > Date.parse(time), 10_000);

/** The restore's execution has ended: the plan settled and, after a good restore, the full backup it starts has started. */
const untilRestored = (): Promise<Deployment> =>
  until(
    deployment,
    (current) =>
      settled(current) && (current.status === 'failed' || current.steps.some((step) => step.name === 'StartFullBackup' && step.status !== 'running')),
    120_000,
  );

/** Waits for the full backup a restore starts, so that the next operation does not meet its lock. */
async function afterRestoreBackup(): Promise<Backup> {
  return until(
    async () => ((await call('GET', `/v1/plan/${planId}/backups`)).json.items as Backup[]).find((backup) => backup.trigger === 'restore'),
    (backup) => backup !== undefined && backup.status !== 'running' && backup.validation.status !== 'pending',
  ) as Promise<Backup>;
}

const replicaPort = async (): Promise<number> => {
  const replica = (await deployment()).nodes?.find((node) => node.role === 'replica');
  if (!replica) throw new Error('the cluster has no replica');
  return replica.port;
};

beforeAll(async () => {
  // Validation is proven in archive-validation.test.ts; here it would only add a scratch restore to every backup.
  planId = await cloud.api.createPlan(
    planWith({ name: 'ledger', db: { topology: { mode: 'cluster', replicas: 1 }, backup: { validate: false, incrementalEveryHours: 0 } } }),
  );
  const { deployment: deployed } = await cloud.api.deploy(planId);
  if (deployed.status !== 'running') throw new Error(`the cluster did not deploy: ${deployed.reason ?? deployed.status}`);
  creds = await cloud.api.credentials(planId);
});

describe('point-in-time recovery', () => {
  let full: Backup;
  let target: string;

  it('has no window before the first backup, then one from the backup to the newest archived commit', async () => {
    expect(await recoveryWindow()).toEqual({ component: 'db', earliest: null, latest: null });
    sql('CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL); INSERT INTO ledger SELECT g, g FROM generate_series(1, 1000) g');
    full = await backUp();
    expect(full, JSON.stringify(full)).toMatchObject({
      kind: 'physical',
      type: 'full',
      trigger: 'manual',
      status: 'succeeded',
      validation: { status: 'skipped' },
    });
    expect(full.label).toMatch(/^\d{8}-\d{6}F$/);
    // The server counts the backup's last segment as archived a moment after pgBackRest has it.
    const window = await until(recoveryWindow, (current) => current.latest !== null, 10_000);
    expect(Date.parse(String(window.earliest))).toBeGreaterThan(Date.parse(String(full.stoppedAt)));
    expect(Date.parse(String(window.latest))).toBeGreaterThan(Date.parse(String(window.earliest)));
    expect(Date.now() - Date.parse(String(window.latest))).toBeLessThan(60_000);
  });

  it('restores the cluster to a second in the window: exactly the rows committed before it, on the replica too', async () => {
    target = noteTime();
    sql('INSERT INTO ledger SELECT g, g FROM generate_series(1001, 1500) g');
    sql('DELETE FROM ledger WHERE id % 2 = 0');
    expect(sql('SELECT count(*) FROM ledger')).toBe('750');
    // An incremental archives what was written since, so the window reaches past the target.
    expect(await backUp({ type: 'incr' })).toMatchObject({ kind: 'physical', type: 'incr', status: 'succeeded' });
    expect(Date.parse(String((await windowPast(target)).latest))).toBeGreaterThan(Date.parse(target));

    const restored = await restoreTo(target);
    expect(restored.status, restored.reason).toBe('running');
    expect(restored.mode).toBe('restore');
    expect(restored.steps.map((step) => step.name)).toEqual(
      expect.arrayContaining(['RestoreToPoint', 'RebuildReplicas', 'FinishRestore', 'StartFullBackup']),
    );
    expect(restored.steps.filter((step) => step.status !== 'succeeded')).toEqual([]);
    expect(sql('SELECT count(*), sum(amount) FROM ledger')).toBe('1000|500500');
    expect(sql('INSERT INTO ledger VALUES (5000, 1) RETURNING id')).toBe('5000');
    // The replica was cloned from the restored primary and streams from it.
    const port = await replicaPort();
    await until(
      () => Promise.resolve(sql('SELECT count(*) FROM ledger', port)),
      (count) => count === '1001',
      20_000,
    );
    expect(sql('SELECT pg_is_in_recovery()', port)).toBe('t');
    expect(await afterRestoreBackup()).toMatchObject({ kind: 'physical', type: 'full', status: 'succeeded' });
  });

  it('restores again across the new timeline', async () => {
    sql('INSERT INTO ledger SELECT g, 2 FROM generate_series(2001, 2200) g');
    const second = noteTime();
    sql('TRUNCATE ledger');
    await backUp({ type: 'incr' });
    await windowPast(second);
    const restored = await restoreTo(second);
    expect(restored.status, restored.reason).toBe('running');
    expect(sql('SELECT count(*) FROM ledger')).toBe('1201');
    await afterRestoreBackup();
  });

  it('restores a physical backup to its end through the backup route', async () => {
    const restore = await call('POST', `/v1/plan/${planId}/backups/${full.backupId}/restore`, { body: { confirm: true } });
    expect(restore.status, restore.text).toBe(202);
    const restored = await untilRestored();
    expect(restored.status, restored.reason).toBe('running');
    expect(sql('SELECT count(*) FROM ledger')).toBe('1000');
    await afterRestoreBackup();
  });

  it('refuses a time outside the window, not a time, or unconfirmed, and touches nothing', async () => {
    const window = await recoveryWindow();
    const before = sql('SELECT count(*), sum(amount) FROM ledger');
    const tooEarly = new Date(Date.parse(String(window.earliest)) - 60_000).toISOString();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    for (const targetTime of [tooEarly, future]) {
      const response = await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime, confirm: true } });
      expect(response.status, response.text).toBe(400);
      const errors = response.json.errors as { path: string; message: string }[];
      expect(errors.map((error) => error.path)).toEqual(['/targetTime']);
      expect(errors[0]?.message).toMatch(/must be between .* \(the recovery window\)/);
    }
    for (const body of [
      { targetTime: 'yesterday', confirm: true },
      { targetTime: 12, confirm: true },
      { targetTime: '2026-13-40T99:00:00Z', confirm: true },
    ]) {
      const response = await call('POST', `/v1/plan/${planId}/restore`, { body });
      expect(response.status, response.text).toBe(400);
      expect((response.json.errors as { path: string }[]).map((error) => error.path)).toEqual(['/targetTime']);
    }
    const unconfirmed = await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime: window.latest } });
    expect(unconfirmed.status).toBe(400);
    expect((unconfirmed.json.errors as { path: string }[]).map((error) => error.path)).toEqual(['/confirm']);
    expect((await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime: window.latest, confirm: true, extra: 1 } })).status).toBe(400);
    expect(
      (await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime: window.latest, confirm: true }, token: cloud.other.user.accessToken }))
        .status,
    ).toBe(404);
    expect(sql('SELECT count(*), sum(amount) FROM ledger')).toBe(before);
    expect((await deployment()).status).toBe('running');
  });

  it('answers 409 while another operation runs', async () => {
    const window = await recoveryWindow();
    const first = await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime: window.latest, confirm: true } });
    expect(first.status, first.text).toBe(202);
    const second = await call('POST', `/v1/plan/${planId}/restore`, { body: { targetTime: window.latest, confirm: true } });
    expect(second.status, second.text).toBe(409);
    expect((await call('GET', `/v1/plan/${planId}/recovery-window`)).status).toBe(409);
    const restored = await untilRestored();
    expect(restored.status, restored.reason).toBe('running');
    await afterRestoreBackup();
  });
});
