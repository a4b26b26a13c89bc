import { describe, expect, it, vi } from 'vitest';
import { settled } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// GET /v1/plan/{id}/metrics against the real local cloud: a deployed server's collector samples it
// (every second here) and the API answers its series; bad parameters are a 400 naming each one,
// another customer's plan is not found, and a plan not deployed has nothing to show.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud({ env: { CLOUDSEED_METRICS_INTERVAL_MS: '1000' } });

interface Series {
  name: string;
  unit: string;
  points: [number, number | null][];
}
interface Metrics {
  from: number;
  to: number;
  step: number;
  components: { id: string; nodes: { name: string; role: string; series: Series[] }[] }[];
}
interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}

const metrics = (planId: string, query: string, token?: string) =>
  cloud.api.call('GET', `/v1/plan/${planId}/metrics?${query}`, token ? { token } : {});

describe('GET /v1/plan/{id}/metrics', () => {
  it('answers each node’s series, in steps, once the collector has sampled the server', async () => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'measured', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15', maxConnections: 40 } }),
    );
    // Not deployed: nothing to show, and no error.
    const before = await metrics(planId, 'names=connections_max');
    expect(before.status).toBe(200);
    expect((before.json as Metrics).components).toEqual([]);

    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    let answer: Metrics | undefined;
    await vi.waitFor(
      async () => {
        const response = await metrics(planId, 'names=connections_max,transactions_per_second,disk_free_bytes&step=10');
        expect(response.status).toBe(200);
        answer = response.json as Metrics;
        const series = answer.components[0]?.nodes[0]?.series ?? [];
        // Rates need two samples: wait until one step holds a transaction rate.
        expect(series.find((entry) => entry.name === 'transactions_per_second')?.points.some(([, value]) => value !== null)).toBe(true);
      },
      { timeout: 30_000, interval: 1000 },
    );
    const node = answer!.components[0]!.nodes[0]!;
    expect(answer!.step).toBe(10);
    expect(answer!.from % 10).toBe(0);
    expect(node.role).toBe('primary');
    expect(node.series.map((entry) => [entry.name, entry.unit])).toEqual([
      ['connections_max', 'count'],
      ['transactions_per_second', 'per_second'],
      ['disk_free_bytes', 'bytes'],
    ]);
    const connections = node.series[0]!.points;
    // An hour in steps of 10 s, from a step's start: 360 steps, and the one now is in.
    expect(connections.length).toBeGreaterThanOrEqual(360);
    expect(connections.length).toBeLessThanOrEqual(361);
    expect(connections.every(([at], index) => at === answer!.from + index * 10)).toBe(true);
    expect(connections.filter(([, value]) => value !== null).every(([, value]) => value === 40)).toBe(true);
    expect(connections.slice(0, 100).every(([, value]) => value === null)).toBe(true);

    // Another customer does not see the plan.
    expect((await metrics(planId, 'names=connections_max', cloud.other.user.accessToken)).status).toBe(404);
  });

  it('answers 400 naming each parameter that is wrong, and reads nothing', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'asked-badly' }));
    const response = await metrics(planId, 'names=cpu_percent,bogus&step=7&from=yesterday');
    expect(response.status).toBe(400);
    expect((response.json as Problem).errors?.map((error) => error.path)).toEqual(['?names', '?step', '?from']);
    expect((await metrics(planId, '')).status).toBe(400);
    expect((await metrics(planId, `names=cpu_percent&from=${Math.floor(Date.now() / 1000) - 3 * 86400}`)).status).toBe(400);
  });
});
