import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, SignedOut } from '../api/client.ts';
import type { PlanList as PlanPage, PlanResource, PlanStatus } from '../api/types.ts';
import { FakeDocument } from '../test-fakes.ts';
import { describePlan, FAST_POLL_MS, PlanList, SLOW_POLL_MS, type PlanSource } from './plan-list.svelte.ts';

function plan(id: string, status: PlanStatus = 'not_deployed', overrides: Partial<PlanResource['spec']> = {}): PlanResource {
  return {
    id,
    version: 1,
    createdAt: '2026-01-05T10:00:00.000Z',
    updatedAt: '2026-01-05T10:00:00.000Z',
    status,
    spec: {
      apiVersion: 'cs/v1',
      name: `plan-${id}`,
      target: { cloud: 'local' },
      components: [
        {
          id: 'db',
          type: 'postgres',
          position: { x: 80, y: 80 },
          os: { name: 'amazon-linux', version: '2023' },
          hardware: { cpus: 2, memoryGiB: 4, storage: { type: 'ssd', sizeGiB: 20 }, aws: { instanceType: 't3.medium' } },
          db: {
            engine: 'postgres',
            version: '16',
            maxConnections: 100,
            workload: 'web',
            dataSize: 'mid_ram',
            databaseName: 'app',
            username: 'app',
            topology: { mode: 'single', replicas: 0, synchronous: false },
            backup: {
              enabled: true,
              schedule: '0 3 * * *',
              timezone: 'UTC',
              retentionDays: 7,
              validate: true,
              fullEveryDays: 7,
              incrementalEveryHours: 4,
            },
          },
          network: { allowedCidrs: [] },
        },
      ],
      ...overrides,
    },
  };
}

/** A PlanSource whose answers the test sets, counting the calls. */
function source(
  ...pages: PlanPage[]
): PlanSource & { calls: (string | undefined)[]; answer: (page: PlanPage) => void; fail: (error: Error) => void } {
  let next: () => Promise<PlanPage> = () => Promise.resolve(pages.shift() ?? { items: [] });
  const calls: (string | undefined)[] = [];
  return {
    calls,
    listPlans(nextToken) {
      calls.push(nextToken);
      return pages.length > 0 ? Promise.resolve(pages.shift() as PlanPage) : next();
    },
    answer(page) {
      next = () => Promise.resolve(page);
    },
    fail(error) {
      next = () => Promise.reject(error);
    },
  };
}

describe('the plans on the dashboard, kept fresh', () => {
  let page: FakeDocument;

  beforeEach(() => {
    vi.useFakeTimers();
    page = new FakeDocument();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('loads at once, then every 15 s while nothing is in progress', async () => {
    const plans = source();
    plans.answer({ items: [plan('a', 'running')] });
    const list = new PlanList(plans, { document: page });

    const stop = list.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(plans.calls).toHaveLength(1);
    expect(list.loaded).toBe(true);
    expect(list.rows.map((row) => row.name)).toEqual(['plan-a']);

    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS - 1);
    expect(plans.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(plans.calls).toHaveLength(2);
    stop();
  });

  it('polls every 2 s while a plan deploys or is deleted, and slows down once it settles', async () => {
    const plans = source();
    plans.answer({ items: [plan('a', 'deploying')] });
    const list = new PlanList(plans, { document: page });

    list.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(list.busy).toBe(true);
    expect(list.interval).toBe(FAST_POLL_MS);

    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(plans.calls).toHaveLength(2);

    plans.answer({ items: [plan('a', 'deleting')] });
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(plans.calls).toHaveLength(3);

    plans.answer({ items: [plan('a', 'running')] });
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(plans.calls).toHaveLength(4);
    expect(list.rows[0]?.status).toBe('running');
    expect(list.interval).toBe(SLOW_POLL_MS);

    await vi.advanceTimersByTimeAsync(FAST_POLL_MS * 3);
    expect(plans.calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS);
    expect(plans.calls).toHaveLength(5);
    list.stop();
  });

  it('stops polling when the page goes away', async () => {
    const plans = source();
    plans.answer({ items: [plan('a', 'deploying')] });
    const list = new PlanList(plans, { document: page });

    const stop = list.start();
    await vi.advanceTimersByTimeAsync(0);
    stop();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 4);

    expect(plans.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('pauses while the tab is hidden and refreshes as soon as it is shown again', async () => {
    const plans = source();
    plans.answer({ items: [plan('a', 'deploying')] });
    const list = new PlanList(plans, { document: page });

    list.start();
    await vi.advanceTimersByTimeAsync(0);
    page.become('hidden');
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 4);
    expect(plans.calls).toHaveLength(1);

    page.become('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(plans.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(plans.calls).toHaveLength(3);
    list.stop();
  });

  it('does not start polling in a tab that is hidden from the start', async () => {
    const plans = source();
    page.visibilityState = 'hidden';
    const list = new PlanList(plans, { document: page });

    list.start();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 2);
    expect(plans.calls).toHaveLength(0);

    page.become('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(plans.calls).toHaveLength(1);
    list.stop();
  });

  it('follows nextToken until every page is loaded', async () => {
    const plans = source({ items: [plan('a')], nextToken: 'page-2' }, { items: [plan('b')] });
    const list = new PlanList(plans, { document: page });

    await list.refresh();

    expect(plans.calls).toEqual([undefined, 'page-2']);
    expect(list.rows.map((row) => row.id)).toEqual(['a', 'b']);
  });

  it('keeps the plans it has and says what went wrong when a refresh fails, then recovers', async () => {
    const plans = source({ items: [plan('a', 'running')] });
    const list = new PlanList(plans, { document: page });
    list.start();
    await vi.advanceTimersByTimeAsync(0);

    plans.fail(new ApiError(503, 'Service Unavailable', 'The plans table is not reachable.'));
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS);
    expect(list.error).toBe('Your plans could not be loaded: The plans table is not reachable.');
    expect(list.rows).toHaveLength(1);

    plans.answer({ items: [plan('a', 'running'), plan('b')] });
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS);
    expect(list.error).toBeUndefined();
    expect(list.rows).toHaveLength(2);
    list.stop();
  });

  it('stops and hands over to log in when the session has ended', async () => {
    const plans = source();
    plans.fail(new SignedOut('Your session has ended. Log in again.'));
    const onSignedOut = vi.fn();
    const list = new PlanList(plans, { document: page, onSignedOut });

    list.start();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 3);

    expect(onSignedOut).toHaveBeenCalledOnce();
    expect(plans.calls).toHaveLength(1);
    expect(list.error).toBeUndefined();
  });

  it('lists the newest plan first', async () => {
    const older = { ...plan('a'), createdAt: '2026-01-01T00:00:00.000Z' };
    const newer = { ...plan('b'), createdAt: '2026-02-01T00:00:00.000Z' };
    const list = new PlanList(source({ items: [older, newer] }), { document: page });

    await list.refresh();

    expect(list.rows.map((row) => row.id)).toEqual(['b', 'a']);
  });

  it('shares one request between concurrent refreshes', async () => {
    const plans = source({ items: [plan('a')] });
    const list = new PlanList(plans, { document: page });

    await Promise.all([list.refresh(), list.refresh()]);

    expect(plans.calls).toHaveLength(1);
  });
});

describe('a plan as a dashboard row', () => {
  it('shows the target, the instance type and the monthly AWS estimate', () => {
    const row = describePlan(plan('a', 'running', { target: { cloud: 'aws', region: 'eu-west-1' } }));

    expect(row).toMatchObject({
      name: 'plan-a',
      href: '/plans/a',
      target: 'AWS eu-west-1',
      instance: 't3.medium',
      detail: 'PostgreSQL 16 · 1 node',
      status: 'running',
    });
    // t3.medium: 0.0416 $/h × 730 h = 30.37, plus 20 GiB of gp3 at 0.08 = 1.60.
    expect(row.monthlyUsd).toBe(31.97);
  });

  it('shows the size when CloudSeed picks the instance type, and counts every node of a cluster', () => {
    const base = plan('b');
    const [component] = base.spec.components;
    if (component?.type !== 'postgres') throw new Error('fixture has a postgres component');
    const clustered = describePlan({
      ...base,
      spec: {
        ...base.spec,
        components: [
          {
            ...component,
            hardware: { cpus: 2, memoryGiB: 4, storage: { type: 'ssd', sizeGiB: 20 } },
            db: { ...component.db, topology: { mode: 'cluster', replicas: 2, synchronous: false } },
          },
        ],
      },
    });

    expect(clustered.target).toBe('Local cloud');
    expect(clustered.instance).toBe('2 vCPU · 4 GiB');
    expect(clustered.detail).toBe('PostgreSQL 16 · 3 nodes');
    // Three nodes of the cheapest fit (t4g.medium, 0.0336 $/h × 730 h × 3 = 73.58) with 20 GiB of gp3 each (4.80),
    // and the Network Load Balancer of a cluster that fails over by itself (0.0225 $/h × 730 h = 16.43).
    expect(clustered.monthlyUsd).toBe(94.81);
  });

  it('gives no price rather than a wrong one when the catalog cannot price the instance', () => {
    const base = plan('c');
    const [component] = base.spec.components;
    if (component?.type !== 'postgres') throw new Error('fixture has a postgres component');
    const row = describePlan({
      ...base,
      spec: { ...base.spec, components: [{ ...component, hardware: { ...component.hardware, aws: { instanceType: 'x9.huge' } } }] },
    });

    expect(row.instance).toBe('x9.huge');
    expect(row.monthlyUsd).toBeUndefined();
  });

  it('counts the apps beside the database, and gives no price for the Fargate tasks the catalog does not hold', () => {
    const base = plan('d');
    const row = describePlan({
      ...base,
      spec: {
        ...base.spec,
        components: [
          ...base.spec.components,
          {
            id: 'web',
            type: 'app',
            position: { x: 80, y: 80 },
            source: { repoUrl: 'https://github.com/acme/shop.git', branch: 'main', rootDir: '' },
            build: {},
            run: { port: 8080 },
            healthCheck: { path: '/', startPeriodSeconds: 30, intervalSeconds: 5, timeoutSeconds: 2 },
            env: {},
            secrets: [],
            instances: { count: 1, cpu: 256, memoryMiB: 512 },
            database: { component: 'db' },
          },
        ],
      },
    });

    expect(row.instance).toBe('t3.medium');
    expect(row.detail).toBe('PostgreSQL 16 · 1 node · 1 app');
    expect(row.monthlyUsd).toBeUndefined();
  });
});
