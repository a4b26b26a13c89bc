import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { validatePlan } from '@cloudseed/shared';
import type { DeploymentRecord, Plan } from '@cloudseed/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '../../infra/local/aws.ts';
import { ensureTables, startDynamo } from '../../infra/local/dynamo.ts';
import type { Dynamo } from '../../infra/local/dynamo.ts';
import { DynamoDeploymentRepository } from '../lib/deployments-repository.ts';
import { positiveIntegerEnv } from '../lib/env.ts';
import { DynamoPlanRepository } from '../lib/plans-repository.ts';
import { LimitReached, Quotas, RateLimited } from '../lib/quotas.ts';
import type { QuotaLimits } from '../lib/quotas.ts';
import { accountsTable, deploymentsTable, plansTable } from '../lib/tables.ts';
import { DynamoUsageRepository } from '../lib/usage-repository.ts';

/** dynalite checks no credentials; the SDK only needs some to sign with. */
const DYNALITE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

// The per-user limits over a real dynalite (no transactions there either): plans and running nodes
// are counted from the tables, a claim on the owner's usage item settles races for the last slot,
// and on-demand backups are a conditional counter per UTC day. Each test uses its own owner.

let home: string;
let dynamo: Dynamo;
let client: DynamoDBDocumentClient;
let plans: DynamoPlanRepository;
let deployments: DynamoDeploymentRepository;
let usage: DynamoUsageRepository;
let owners = 0;

const LIMITS: QuotaLimits = { plans: 3, runningNodes: 5, backupsPerDay: 2 };

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'cloudseed-quotas-'));
  dynamo = await startDynamo(home);
  const env = await ensureTables(dynamo.endpoint, [plansTable, deploymentsTable, accountsTable]);
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: DYNALITE_CREDENTIALS }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  plans = new DynamoPlanRepository(client, env[plansTable.env] ?? '');
  deployments = new DynamoDeploymentRepository(client, env[deploymentsTable.env] ?? '');
  usage = new DynamoUsageRepository(client, env[accountsTable.env] ?? '');
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

const newOwner = () => `owner-${++owners}`;

function quotasAt(now: () => Date = () => new Date()): Quotas {
  return new Quotas({ usage, plans, deployments, limits: LIMITS, now });
}

/**
 * Quotas whose first `racers` counts all return only once every racer has counted: the race for
 * the last slot happens for certain, not only when the scheduler happens to interleave the requests.
 */
function racing(racers: number): Quotas {
  let arrived = 0;
  let release = () => {};
  const together = new Promise<void>((resolve) => (release = resolve));
  const meet = async <T>(value: T): Promise<T> => {
    if (++arrived === racers) release();
    if (arrived <= racers) await together;
    return value;
  };
  return new Quotas({
    usage,
    plans: { count: async (ownerId, atMost) => meet(await plans.count(ownerId, atMost)) },
    deployments: { listDeployedComponents: async (ownerId) => meet(await deployments.listDeployedComponents(ownerId)) },
    limits: LIMITS,
    now: () => new Date(),
  });
}

function specWith(replicas: number): Plan {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'local' },
    components: [{ id: 'db', type: 'postgres', db: { topology: replicas > 0 ? { mode: 'cluster', replicas } : { mode: 'single', replicas: 0 } } }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

async function storePlan(ownerId: string, id: string): Promise<void> {
  const at = new Date().toISOString();
  await plans.create({ ownerId, id, version: 1, createdAt: at, updatedAt: at, spec: specWith(0) });
}

async function deployed(
  ownerId: string,
  planId: string,
  replicas: number,
  status: DeploymentRecord['status'] = 'running',
  launched = true,
): Promise<void> {
  await deployments.start(
    {
      ownerId,
      planId,
      status,
      deploymentId: `dep-${planId}`,
      mode: 'create',
      planVersion: 1,
      spec: specWith(replicas),
      startedAt: new Date().toISOString(),
      revision: 1,
      ...(launched ? { components: [{ id: 'db', nodes: [], databaseName: 'app', username: 'app' }] } : {}),
    },
    undefined,
  );
}

/** A create or deploy that takes a while to store its work, as one over the network does. */
const slowly = async (work: () => Promise<void>): Promise<void> => {
  await sleep(100);
  await work();
};

const outcomes = (results: readonly PromiseSettledResult<unknown>[]) => ({
  passed: results.filter((result) => result.status === 'fulfilled').length,
  refusals: results.filter((result): result is PromiseRejectedResult => result.status === 'rejected').map((result) => (result.reason as Error).name),
});

describe('the plans limit', () => {
  it('lets plans be created up to the limit, then refuses with both numbers and stores nothing', async () => {
    const owner = newOwner();
    const quotas = quotasAt();
    for (const id of ['p1', 'p2', 'p3']) await quotas.createPlan(owner, () => storePlan(owner, id));

    let called = false;
    const refusal = await quotas
      .createPlan(owner, async () => {
        called = true;
        await storePlan(owner, 'p4');
      })
      .catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(LimitReached);
    expect((refusal as Error).message).toBe(
      'You have 3 plans, and an account may have at most 3; delete a plan you no longer need to create another.',
    );
    expect(called).toBe(false);
    expect(await plans.count(owner)).toBe(3);
    expect((await usage.get(owner)).claims).toEqual({});
  });

  it('counts an owner’s plans only up to what the limit needs, however many there are', async () => {
    const owner = newOwner();
    for (const id of ['c1', 'c2', 'c3', 'c4', 'c5']) await storePlan(owner, id);

    expect(await plans.count(owner)).toBe(5);
    expect(await plans.count(owner, 3)).toBe(3);
    expect(await plans.count(owner, 8)).toBe(5);
  });

  it('never lets two creates racing for the last slot both take it', async () => {
    const owner = newOwner();
    await storePlan(owner, 'p1');
    await storePlan(owner, 'p2');
    const quotas = racing(2);

    // Both count 2 plans before either claims the last slot.
    const results = await Promise.allSettled(['a', 'b'].map((id) => quotas.createPlan(owner, () => slowly(() => storePlan(owner, id)))));

    expect(outcomes(results)).toEqual({ passed: 1, refusals: ['LimitReached'] });
    expect(await plans.count(owner)).toBe(3);
  });

  it('lets as many parallel creates through as there are free slots, and no more', async () => {
    const owner = newOwner();
    const quotas = racing(5);

    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd', 'e'].map((id) => quotas.createPlan(owner, () => slowly(() => storePlan(owner, id)))),
    );

    expect(outcomes(results)).toEqual({ passed: 3, refusals: ['LimitReached', 'LimitReached'] });
    expect(await plans.count(owner)).toBe(3);
  });

  it('frees the slot of a deleted plan, and of a create that failed', async () => {
    const owner = newOwner();
    const quotas = quotasAt();
    for (const id of ['p1', 'p2']) await quotas.createPlan(owner, () => storePlan(owner, id));
    await expect(quotas.createPlan(owner, () => Promise.reject(new Error('invalid body')))).rejects.toThrow('invalid body');
    await quotas.createPlan(owner, () => storePlan(owner, 'p3'));
    await plans.delete(owner, 'p3');

    await expect(quotas.createPlan(owner, () => storePlan(owner, 'p4'))).resolves.toBeUndefined();
    expect(await plans.count(owner)).toBe(3);
  });

  it('counts only the owner’s own plans', async () => {
    const [alice, bob] = [newOwner(), newOwner()];
    for (const id of ['p1', 'p2', 'p3']) await storePlan(alice, id);

    await expect(quotasAt().createPlan(bob, () => storePlan(bob, 'p1'))).resolves.toBeUndefined();
  });
});

describe('the running-nodes limit', () => {
  it('counts every node of every deployed plan (1 + replicas for a cluster) and refuses a plan that would pass the limit', async () => {
    const owner = newOwner();
    await deployed(owner, 'cluster', 2);
    await deployed(owner, 'red-but-launched', 0, 'failed');
    await deployed(owner, 'never-launched', 3, 'failed', false);
    let called = false;

    const refusal = await quotasAt()
      .deployPlan(owner, 'new', specWith(1), async () => {
        called = true;
        await deployed(owner, 'new', 1);
      })
      .catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(LimitReached);
    expect((refusal as Error).message).toBe(
      'Your deployed plans run 4 nodes, and an account may run at most 5; this plan would add 2 nodes. Delete a deployed plan or deploy fewer replicas.',
    );
    expect(called).toBe(false);
    expect(await deployments.get(owner, 'new')).toBeUndefined();
  });

  it('lets a plan deploy when the total stays within the limit', async () => {
    const owner = newOwner();
    await deployed(owner, 'cluster', 2);

    await expect(quotasAt().deployPlan(owner, 'new', specWith(1), () => deployed(owner, 'new', 1))).resolves.toBeUndefined();
    expect((await usage.get(owner)).claims).toEqual({});
  });

  it('counts a redeploy by what the plan would run instead of what it runs, and never refuses one that does not grow', async () => {
    const owner = newOwner();
    await deployed(owner, 'a', 2);
    await deployed(owner, 'b', 1);
    const quotas = quotasAt();

    await expect(quotas.deployPlan(owner, 'a', specWith(3), () => Promise.resolve())).rejects.toThrow('this plan would go from 3 to 4 nodes');
    await expect(quotas.deployPlan(owner, 'a', specWith(2), () => Promise.resolve('same'))).resolves.toBe('same');
  });

  it('never lets two deploys racing for the last nodes both start', async () => {
    const owner = newOwner();
    await deployed(owner, 'running', 2);
    // Both count 3 running nodes before either claims the last two.
    const quotas = racing(2);

    const results = await Promise.allSettled(
      ['x', 'y'].map((id) => quotas.deployPlan(owner, id, specWith(1), () => slowly(() => deployed(owner, id, 1)))),
    );

    expect(outcomes(results)).toEqual({ passed: 1, refusals: ['LimitReached'] });
    const started = await Promise.all(['x', 'y'].map((id) => deployments.get(owner, id)));
    expect(started.filter((record) => record !== undefined)).toHaveLength(1);
  });
});

describe('the daily limit of on-demand backups and restores', () => {
  it('refuses past the limit with the seconds until midnight UTC, stores nothing, and starts again the next day', async () => {
    const owner = newOwner();
    let now = new Date('2030-05-01T21:30:00Z');
    const quotas = quotasAt(() => now);
    await quotas.startBackup(owner, () => Promise.resolve());
    await quotas.startBackup(owner, () => Promise.resolve());
    let called = false;

    const refusal = await quotas
      .startBackup(owner, () => {
        called = true;
        return Promise.resolve();
      })
      .catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(RateLimited);
    expect((refusal as RateLimited).retryAfterSeconds).toBe(2.5 * 3600);
    expect((refusal as Error).message).toBe(
      'You have started 2 backups and restores today, the most an account may start in a day (scheduled backups do not count); the count starts again at midnight UTC, in 2 h 30 min.',
    );
    expect(called).toBe(false);

    now = new Date('2030-05-02T00:00:01Z');
    await expect(quotas.startBackup(owner, () => Promise.resolve('next day'))).resolves.toBe('next day');
  });

  it('does not count a backup that did not start', async () => {
    const owner = newOwner();
    const quotas = quotasAt(() => new Date('2030-05-01T08:00:00Z'));
    await quotas.startBackup(owner, () => Promise.resolve());
    await expect(quotas.startBackup(owner, () => Promise.reject(new Error('a backup is already running')))).rejects.toThrow('already running');

    await expect(quotas.startBackup(owner, () => Promise.resolve('second'))).resolves.toBe('second');
    await expect(quotas.startBackup(owner, () => Promise.resolve())).rejects.toBeInstanceOf(RateLimited);
  });

  it('lets exactly the limit through when many start at once, on a fresh day and on a counted one', async () => {
    const owner = newOwner();
    const quotas = quotasAt(() => new Date('2030-05-01T08:00:00Z'));
    const first = await Promise.allSettled(Array.from({ length: 5 }, () => quotas.startBackup(owner, () => Promise.resolve())));
    expect(outcomes(first)).toEqual({ passed: 2, refusals: ['RateLimited', 'RateLimited', 'RateLimited'] });

    const nextDay = quotasAt(() => new Date('2030-05-02T08:00:00Z'));
    const second = await Promise.allSettled(Array.from({ length: 5 }, () => nextDay.startBackup(owner, () => Promise.resolve())));
    expect(outcomes(second)).toEqual({ passed: 2, refusals: ['RateLimited', 'RateLimited', 'RateLimited'] });
  });
});

describe('limits from the environment', () => {
  it('takes a whole number of at least 1, the default when unset, and stops the cold start on anything else', () => {
    const name = 'CLOUDSEED_TEST_LIMIT';
    try {
      delete process.env[name];
      expect(positiveIntegerEnv(name, 50)).toBe(50);
      process.env[name] = '7';
      expect(positiveIntegerEnv(name, 50)).toBe(7);
      for (const value of ['0', '-1', '1.5', '1e3', 'ten', ' 5']) {
        process.env[name] = value;
        expect(() => positiveIntegerEnv(name, 50)).toThrow(
          `environment variable ${name} must be a whole number of at least 1, not ${JSON.stringify(value)}`,
        );
      }
    } finally {
      delete process.env[name];
    }
  });
});
