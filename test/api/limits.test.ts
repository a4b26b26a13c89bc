import { describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import type { Session } from '../support/use-local-cloud.ts';

// The per-user limits through the real local cloud (dynalite, cognito-local, real PostgreSQL 15),
// started with small limits from the same environment variables the platform's functions read.

vi.setConfig({ testTimeout: 150_000, hookTimeout: 90_000 });

const LIMITS = { CLOUDSEED_MAX_PLANS: '2', CLOUDSEED_MAX_RUNNING_NODES: '2', CLOUDSEED_MAX_BACKUPS_PER_DAY: '1' };

interface Problem {
  type: string;
  status: number;
  title: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

const cloud = useLocalCloud({ env: LIMITS });

function call(user: Session, method: string, path: string, body?: unknown) {
  return user.api.call<Record<string, unknown>>(method, path, body === undefined ? {} : { body });
}

function planBody(name: string, replicas = 0) {
  return planWith({
    name,
    db: { topology: replicas > 0 ? { mode: 'cluster', replicas } : { mode: 'single', replicas: 0 }, backup: { validate: false } },
  });
}

async function createPlan(user: Session, name: string, replicas = 0): Promise<string> {
  const created = await call(user, 'POST', '/v1/plan', planBody(name, replicas));
  expect(created.status).toBe(201);
  return created.json.id as string;
}

function expectProblem(
  response: { status: number; headers: Headers; json: Record<string, unknown> },
  status: number,
  title: string,
  detail: RegExp,
): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const problem = response.json as unknown as Problem;
  expect(problem).toMatchObject({ type: 'about:blank', status, title });
  expect(problem.detail).toMatch(detail);
}

describe('the plans limit', () => {
  it('refuses a plan past the limit with a 409 problem naming the limit and the count, and stores nothing', async () => {
    const user = await cloud.signUp();
    await createPlan(user, 'one');
    await createPlan(user, 'two');

    const refused = await call(user, 'POST', '/v1/plan', planBody('three'));

    expectProblem(refused, 409, 'Limit Reached', /^You have 2 plans, and an account may have at most 2; delete a plan/);
    const listed = await call(user, 'GET', '/v1/plan');
    expect((listed.json.items as { spec: { name: string } }[]).map((plan) => plan.spec.name).sort()).toEqual(['one', 'two']);
  });

  it('lets exactly the free slots through when one user creates in parallel', async () => {
    const user = await cloud.signUp();

    const statuses = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => (await call(user, 'POST', '/v1/plan', planBody(name))).status));

    expect(statuses.sort()).toEqual([201, 201, 409, 409]);
    expect(((await call(user, 'GET', '/v1/plan')).json.items as unknown[]).length).toBe(2);
  });

  it('frees a deleted plan’s slot, and counts each user on their own', async () => {
    const [user, other] = await Promise.all([cloud.signUp(), cloud.signUp()]);
    const first = await createPlan(user, 'one');
    await createPlan(user, 'two');
    await createPlan(other, 'theirs');

    expect((await call(user, 'DELETE', `/v1/plan/${first}`)).status).toBe(204);
    expect((await call(user, 'POST', '/v1/plan', planBody('three'))).status).toBe(201);
  });
});

describe('the running-nodes and daily backup limits', () => {
  it('refuses deploys past the nodes limit (counting every deployed plan), then backups and restores past the daily limit with Retry-After', async () => {
    const user = await cloud.signUp();
    const cluster = await createPlan(user, 'cluster', 2);

    // 1 + 2 replicas is more than the 2 nodes a user may run: refused before anything starts.
    const tooBig = await call(user, 'POST', `/v1/plan/${cluster}/deploy`);
    expectProblem(tooBig, 409, 'Limit Reached', /^Your deployed plans run 0 nodes, and an account may run at most 2; this plan would add 3 nodes\./);
    expect((await call(user, 'GET', `/v1/plan/${cluster}`)).json.status).toBe('not_deployed');

    const single = await createPlan(user, 'single');
    expect((await call(user, 'POST', `/v1/plan/${single}/deploy`)).status).toBe(202);
    await until(
      async () => (await call(user, 'GET', `/v1/plan/${single}/deployment`)).json,
      (deployment) => deployment.status === 'running',
    );

    // A cluster of two next to the running single node would be three.
    const smaller = await call(user, 'PUT', `/v1/plan/${cluster}`, planBody('cluster', 1));
    expect(smaller.status).toBe(200);
    expectProblem(
      await call(user, 'POST', `/v1/plan/${cluster}/deploy`),
      409,
      'Limit Reached',
      /^Your deployed plans run 1 node, and an account may run at most 2; this plan would add 2 nodes\./,
    );

    // The one on-demand backup of the day…
    const started = await call(user, 'POST', `/v1/plan/${single}/backups`);
    expect(started.status).toBe(202);
    const backupId = started.json.backupId as string;
    await until(
      async () =>
        ((await call(user, 'GET', `/v1/plan/${single}/backups`)).json.items as { backupId: string; status: string }[]).find(
          (backup) => backup.backupId === backupId,
        ),
      (backup) => backup?.status === 'succeeded',
    );

    // …and no second one, nor a restore, until midnight UTC.
    const again = await call(user, 'POST', `/v1/plan/${single}/backups`);
    expectProblem(
      again,
      429,
      'Too Many Requests',
      /^You have started 1 backup or restore today, the most an account may start in a day \(scheduled backups do not count\)/,
    );
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((midnight.getTime() - Date.now()) / 1000) + 5);
    expectProblem(
      await call(user, 'POST', `/v1/plan/${single}/backups/${backupId}/restore`, { confirm: true }),
      429,
      'Too Many Requests',
      /1 backup or restore today/,
    );
    expect(((await call(user, 'GET', `/v1/plan/${single}/backups`)).json.items as unknown[]).length).toBe(1);
    expect((await call(user, 'GET', `/v1/plan/${single}/deployment`)).json.status).toBe('running');

    expect((await call(user, 'DELETE', `/v1/plan/${single}`)).status).toBe(202);
  });
});
