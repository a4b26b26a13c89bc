import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { tables } from '@cloudseed/functions/lib/tables';
import { routes } from '@cloudseed/functions/routes';
import { buildFunctionBundle, entryName } from '../infra/lib/function-bundle.ts';
import { repoRoot, startLocalCloud } from '../test/support/local-cloud.ts';
import { signUp } from '../test/support/users.ts';
import { median, round } from './harness.ts';

/** The chunks an entry imports statically (`from"./chunk-….mjs"`), and theirs: what a cold start reads. */
function staticClosure(outDir: string, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const [, chunk] of readFileSync(join(outDir, file), 'utf8').matchAll(/from\s*"\.\/(chunk-[\w-]+\.mjs)"/g)) staticClosure(outDir, chunk!, seen);
  return seen;
}

/**
 * The functions' one bundle, built as it ships to Lambda (infra/lib/function-bundle.ts: code-split,
 * minified ESM for Node 24), and for each route what its cold start loads: its entry and the chunks
 * those import statically.
 */
function bundleHandlers(outDir: string) {
  buildFunctionBundle(outDir);
  return routes.map((route) => {
    const entry = `${entryName(route.module)}.mjs`;
    const loaded = [...staticClosure(outDir, entry)];
    const bytes = loaded.reduce((sum, file) => sum + statSync(join(outDir, file)).size, 0);
    return { route: `${route.method} ${route.path}`, file: join(outDir, entry), sizeKB: round(bytes / 1024) };
  });
}

/** Cold start of a bundle in a fresh process: import, including the JWT verifier's hydrate(). */
function moduleLoadMs(file: string, env: Record<string, string>): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const runs = Array.from({ length: 5 }, () => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`loading ${file} failed: ${result.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
    return Number(result.stdout.trim());
  });
  return round(median(runs));
}

/** Ten connections for ten seconds; the requests take turns among the given users' tokens. */
async function load(url: string, method: 'GET' | 'POST', tokens: readonly string[], body?: unknown) {
  let turn = 0;
  const result = await autocannon({
    url,
    method,
    connections: 10,
    duration: 10,
    headers: body ? { 'content-type': 'application/json' } : {},
    ...(body ? { body: JSON.stringify(body) } : {}),
    requests: [
      {
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[turn++ % tokens.length] ?? ''}` } }),
      },
    ],
  });
  return {
    requestsPerSecond: round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export async function apiBench() {
  // Ten seconds of creates store a few hundred plans per user: lift the per-user plans limit.
  const cloud = await startLocalCloud({ env: { CLOUDSEED_MAX_PLANS: '100000' } });
  try {
    const user = await signUp(cloud.config);
    // Creates come from ten users at once, as they would: one user's creates take turns on their usage item.
    const creators = [user, ...(await Promise.all(Array.from({ length: 9 }, () => signUp(cloud.config))))];
    const plan = { apiVersion: 'cs/v1', name: 'bench', components: [{ id: 'db', type: 'postgres' }] };
    for (let index = 0; index < 20; index++) {
      await fetch(`${cloud.url}/v1/plan`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(plan),
      });
    }
    const listPlans = await load(`${cloud.url}/v1/plan?limit=20`, 'GET', [user.accessToken]);
    const createPlan = await load(
      `${cloud.url}/v1/plan`,
      'POST',
      creators.map((creator) => creator.accessToken),
      plan,
    );

    // Inside the repository, as the bundle's modules are resolved relative to it.
    const outDir = mkdtempSync(join(repoRoot, 'node_modules', '.cloudseed-bundles-'));
    const env = {
      CLOUDSEED_MODE: 'local',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      USER_POOL_ID: cloud.config.userPoolId,
      USER_POOL_CLIENT_ID: cloud.config.userPoolClientId,
      COGNITO_ISSUER: `${cloud.config.cognitoEndpoint}/${cloud.config.userPoolId}`,
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
      ...Object.fromEntries(tables.map((table) => [table.env, `cloudseed-${table.logicalName}`])),
      STEPFUNCTIONS_ENDPOINT: 'http://127.0.0.1:9',
      SCHEDULER_ENDPOINT: 'http://127.0.0.1:9',
      S3_ENDPOINT: 'http://127.0.0.1:9',
      BACKUP_BUCKET: 'cloudseed-backups',
      ...Object.fromEntries(
        ['deploy', 'teardown', 'backup', 'restore'].map((name) => [
          `${name.toUpperCase()}_STATE_MACHINE_ARN`,
          `arn:aws:states:us-east-1:000000000000:stateMachine:cloudseed-${name}`,
        ]),
      ),
      CLOUDSEED_HOME: cloud.home,
    };
    try {
      const bundles = bundleHandlers(outDir).map((bundle) => ({
        route: bundle.route,
        sizeKB: bundle.sizeKB,
        coldLoadMs: moduleLoadMs(bundle.file, env),
      }));
      return { listPlans, createPlan, bundles };
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  } finally {
    await cloud.stop();
  }
}
