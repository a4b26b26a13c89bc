import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { apiBench } from './api.ts';
import { appsBench, printAppsBench } from './apps.ts';
import { backupBench } from './backups.ts';
import { deployBench } from './deploy.ts';
import { pointInTimeBench } from './point-in-time.ts';
import { failoverBench } from './failover.ts';
import { knowledgeBaseBench } from './knowledge-base.ts';
import { metricsBench } from './metrics.ts';
import { requireWebBuild } from '../test/support/local-cloud.ts';
import { printWebBench, webBench } from './web.ts';

// `npm run bench`: measures CloudSeed on this machine and writes the figures to
// bench/results/latest.json (and prints them). Benchmarks, not tests: nothing here passes or fails.
// `npm run bench -- apps` (or `-- knowledge-base`, `-- metrics`) measures only that part and replaces it in latest.json.

const latest = new URL('results/latest.json', import.meta.url);
mkdirSync(new URL('results/', import.meta.url), { recursive: true });
if (process.argv[2] === 'knowledge-base') {
  const knowledgeBase = knowledgeBaseBench();
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify({ ...previous, knowledgeBase }, null, 2)}\n`);
  console.log(JSON.stringify(knowledgeBase, null, 2));
  console.log('Written to bench/results/latest.json (knowledgeBase)');
  process.exit(0);
}
if (process.argv[2] === 'metrics') {
  const metrics = await metricsBench();
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify({ ...previous, metrics }, null, 2)}\n`);
  console.log(JSON.stringify(metrics, null, 2));
  console.log('Written to bench/results/latest.json (metrics)');
  process.exit(0);
}
if (process.argv[2] === 'apps') {
  const apps = await appsBench();
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify({ ...previous, apps }, null, 2)}\n`);
  printAppsBench(apps);
  console.log('Written to bench/results/latest.json (apps)');
  process.exit(0);
}

requireWebBuild(); // the web bench comes last: say so before the long ones, not after
const knowledgeBase = knowledgeBaseBench();
const api = await apiBench();
const deploy = await deployBench();
const backups = await backupBench();
const pointInTime = await pointInTimeBench();
const failover = await failoverBench();
const apps = await appsBench();
const metrics = await metricsBench();
const web = await webBench();
const results = {
  measuredAt: new Date().toISOString(),
  machine: {
    platform: platform(),
    arch: arch(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  knowledgeBase,
  api,
  deploy,
  backups,
  pointInTime,
  failover,
  apps,
  metrics,
  web,
};

writeFileSync(latest, `${JSON.stringify(results, null, 2)}\n`);

console.log('Metrics');
console.log(JSON.stringify(metrics, null, 2));
console.log('Knowledge base');
console.table(knowledgeBase.measurements.map((m) => ({ case: m.name, 'ops/s': m.opsPerSecond, 'p50 µs': m.p50Micros, 'p99 µs': m.p99Micros })));
console.log(`cloudseed tune via npx, median of 7 cold starts: ${knowledgeBase.cliTuneMedianMs} ms`);
console.log('\nAPI on the local cloud (autocannon, 10 connections, 10 s)');
console.table({ 'GET /v1/plan': api.listPlans, 'POST /v1/plan': api.createPlan });
console.log(
  "Lambda functions: what each route's cold start loads from the one code-split bundle, and its module load time (median of 5 fresh processes)",
);
console.table(api.bundles);
console.log('\nDeploy on the local cloud: POST deploy to running (median of 5)');
for (const [topology, figures] of Object.entries(deploy)) {
  console.log(`${topology}: median ${figures.medianMs} ms (runs ${figures.runsMs.join(', ')})`);
  console.table(figures.stepsMedianMs);
}
console.log('\nBackups on the local cloud (200 MB database): a logical export, and a scheduled pgBackRest backup');
console.table(backups);
console.log('\nContinuous archiving and point-in-time recovery on the local cloud (pgBackRest to s3rver over TLS)');
console.table(pointInTime);
console.log('\nHigh availability on the local cloud (Patroni + three-member etcd; 5 runs each; writes through the cluster connection string)');
console.table({
  'postmaster killed → writes (s)': failover.postmasterKilledSeconds,
  'node lost → writes (s)': failover.nodeLostSeconds,
  'switchover (s)': failover.switchoverSeconds,
});
console.log(`acknowledged writes lost: ${failover.acknowledgedWritesLost} of ${failover.acknowledgedWrites}`);
console.table({ asynchronous: failover.asyncCommits, synchronous: failover.syncCommits });
printAppsBench(apps);
printWebBench(web);
console.log('Written to bench/results/latest.json');
