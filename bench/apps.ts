import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { startLocalCloud } from '../test/support/local-cloud.ts';
import { appPlan, SampleRepo } from '../test/support/sample-apps.ts';
import { signUp } from '../test/support/users.ts';
import { median, round } from './harness.ts';

// App services on the local cloud: from a git repository to an app that answers (the Node sample:
// clone, npm ci, release command, start, health check, switch), a redeploy of a new commit, and
// what the app's reverse proxy costs: requests per second through it and straight to the app.

interface Deployment {
  status: string;
  reason?: string;
  components?: { id: string; url?: string }[];
}

export async function appsBench(runs = 3) {
  const cloud = await startLocalCloud();
  const repo = new SampleRepo('node-notes');
  try {
    const user = await signUp(cloud.config);
    const headers = { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' };
    const call = async <T>(method: string, path: string, body?: unknown) =>
      (await fetch(`${cloud.url}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) }).then((response) =>
        response.json(),
      )) as T;
    const deployed = async (planId: string): Promise<Deployment> => {
      await call('POST', `/v1/plan/${planId}/deploy`);
      let deployment: Deployment;
      do {
        await new Promise((resolve) => setTimeout(resolve, 20));
        deployment = await call<Deployment>('GET', `/v1/plan/${planId}/deployment`);
      } while (deployment.status === 'deploying');
      if (deployment.status !== 'running') throw new Error(`deploy failed: ${JSON.stringify(deployment)}`);
      return deployment;
    };

    // The first run downloads pg into the local cloud's empty npm cache; the others find it there.
    const toServing: number[] = [];
    const redeploys: number[] = [];
    let kept: { planId: string; url: string } | undefined;
    for (let run = 0; run < runs; run++) {
      const { id: planId } = await call<{ id: string }>(
        'POST',
        '/v1/plan',
        appPlan(`bench-app-${run}`, repo, { run: { releaseCommand: 'node migrate.js' } }),
      );
      const started = performance.now();
      const deployment = await deployed(planId);
      const url = deployment.components?.find((component) => component.id === 'web')?.url ?? '';
      if ((await fetch(url)).status !== 200) throw new Error(`the app at ${url} does not answer`);
      toServing.push(performance.now() - started);

      repo.change('server.js', (text) => text.replace(/const VERSION = '[^']*';/, `const VERSION = 'v${run + 2}';`));
      const again = performance.now();
      await deployed(planId);
      redeploys.push(performance.now() - again);
      if (run === runs - 1) kept = { planId, url };
      else await call('DELETE', `/v1/plan/${planId}`);
    }
    if (!kept) throw new Error('no run');

    const logs = await call<{ lines: { text: string }[] }>('GET', `/v1/plan/${kept.planId}/components/web/logs?tail=2000`);
    const serving = logs.lines.map((line) => /^serving \w+ on \d+ \(→ (\d+)\)$/.exec(line.text)?.[1]).filter((port) => port !== undefined);
    const direct = `http://127.0.0.1:${serving.at(-1) ?? ''}`;
    const throughput = async (url: string) => {
      const result = await autocannon({ url: `${url}/healthz`, connections: 10, duration: 10 });
      return {
        requestsPerSecond: round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        errors: result.errors + result.non2xx,
      };
    };
    const viaProxy = await throughput(kept.url);
    const straight = await throughput(direct);
    await call('DELETE', `/v1/plan/${kept.planId}`);
    return {
      measuredAt: new Date().toISOString(),
      repoToServingMs: {
        firstColdNpmCache: round(toServing[0] ?? 0),
        medianWarm: round(median(toServing.slice(1))),
        runs: toServing.map((ms) => round(ms)),
      },
      redeployMs: { median: round(median(redeploys)), runs: redeploys.map((ms) => round(ms)) },
      healthzThroughput: {
        throughProxy: viaProxy,
        direct: straight,
        proxyCostPercent: round(100 * (1 - viaProxy.requestsPerSecond / straight.requestsPerSecond)),
      },
    };
  } finally {
    repo.remove();
    await cloud.stop();
  }
}

export function printAppsBench(apps: Awaited<ReturnType<typeof appsBench>>): void {
  console.log('\nApp services on the local cloud (Node sample with pg: clone, npm ci, release command, health check, switch)');
  console.table({
    'repo → serving, first (cold npm cache)': apps.repoToServingMs.firstColdNpmCache,
    'repo → serving, median': apps.repoToServingMs.medianWarm,
    'redeploy, median': apps.redeployMs.median,
  });
  console.log('GET /healthz, autocannon 10 connections 10 s: through the app proxy and straight to the app');
  console.table({ proxy: apps.healthzThroughput.throughProxy, direct: apps.healthzThroughput.direct });
}
