import { performance } from 'node:perf_hooks';
import { startLocalCloud } from '../test/support/local-cloud.ts';
import { signUp } from '../test/support/users.ts';
import { median, round } from './harness.ts';

interface Step {
  name: string;
  startedAt: string;
  endedAt?: string;
}

/** POST deploy → `running` on the local cloud, median of 5, with the median time of each step. */
export async function deployBench(runs = 5) {
  const cloud = await startLocalCloud();
  try {
    const user = await signUp(cloud.config);
    const headers = { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' };
    const call = async (method: string, path: string, body?: unknown) =>
      (await fetch(`${cloud.url}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) }).then((response) =>
        response.json(),
      )) as Record<string, unknown>;

    const measure = async (topology: { mode: string; replicas: number }) => {
      const totals: number[] = [];
      const stepTimes = new Map<string, number[]>();
      for (let run = 0; run < runs; run++) {
        const plan = await call('POST', '/v1/plan', {
          apiVersion: 'cs/v1',
          name: `bench-${topology.mode}-${run}`,
          components: [{ id: 'db', type: 'postgres', hardware: { memoryGiB: 1 }, db: { version: '15', maxConnections: 50, topology } }],
        });
        const planId = String(plan.id);
        const started = performance.now();
        await call('POST', `/v1/plan/${planId}/deploy`);
        let deployment: Record<string, unknown>;
        do {
          await new Promise((resolve) => setTimeout(resolve, 20));
          deployment = await call('GET', `/v1/plan/${planId}/deployment`);
        } while (deployment.status === 'deploying');
        if (deployment.status !== 'running') throw new Error(`deploy failed: ${JSON.stringify(deployment)}`);
        totals.push(performance.now() - started);
        for (const step of deployment.steps as Step[]) {
          if (!step.endedAt) continue;
          const times = stepTimes.get(step.name) ?? [];
          times.push(new Date(step.endedAt).getTime() - new Date(step.startedAt).getTime());
          stepTimes.set(step.name, times);
        }
        await call('DELETE', `/v1/plan/${planId}`);
      }
      return {
        medianMs: round(median(totals)),
        runsMs: totals.map((total) => round(total)),
        stepsMedianMs: Object.fromEntries([...stepTimes].map(([name, times]) => [name, round(median(times))])),
      };
    };
    return { single: await measure({ mode: 'single', replicas: 0 }), cluster: await measure({ mode: 'cluster', replicas: 1 }) };
  } finally {
    await cloud.stop();
  }
}
