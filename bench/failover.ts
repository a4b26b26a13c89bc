import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startLocalCloud } from '../test/support/local-cloud.ts';
import type { LocalCloud } from '../test/support/local-cloud.ts';
import { clusterMembers, killNode, killPostmaster, leaderOf, psqlClient, WriteLoop } from '../test/support/ha.ts';
import { benchClient } from './client.ts';
import { round } from './harness.ts';

const RUNS = 5;
const NODES = ['db-0', 'db-1', 'db-2'];
const THROUGHPUT_SECONDS = 10;

/**
 * High availability on the local cloud (Patroni, a three-member etcd, real processes): over five
 * runs each, the time from killing the leader's postmaster, or its whole node (Patroni and
 * PostgreSQL), to the first write acknowledged through the same connection string; a planned
 * switchover's time; acknowledged writes lost; and commit throughput with and without
 * synchronous replication (pgbench, 4 clients, one-row inserts).
 */
export async function failoverBench() {
  const cloud = await startLocalCloud();
  try {
    const client = await benchClient(cloud);
    const asyncCluster = await cluster(cloud, client, 'bench-ha', false);
    const crash: number[] = [];
    const nodeLoss: number[] = [];
    const switchover: number[] = [];
    let lost = 0;
    for (let run = 0; run < RUNS; run++) {
      crash.push(await afterLoss(cloud, asyncCluster, (leader) => killPostmaster(cloud.home, asyncCluster.planId, leader)));
    }
    for (let run = 0; run < RUNS; run++) {
      nodeLoss.push(await afterLoss(cloud, asyncCluster, (leader) => killNode(cloud.home, asyncCluster.planId, leader)));
    }
    for (let run = 0; run < RUNS; run++) {
      await settled(cloud, asyncCluster.planId);
      const started = performance.now();
      const answer = await client.call('POST', `/v1/plan/${asyncCluster.planId}/switchover`, {});
      if (answer.status !== 'switched') throw new Error(`switchover refused: ${JSON.stringify(answer)}`);
      switchover.push(performance.now() - started);
    }
    await asyncCluster.writes.stop();
    const stored = new Set((await asyncCluster.sql('SELECT id FROM acks')).split('\n').map(Number));
    lost += asyncCluster.writes.acknowledged.filter((ack) => !stored.has(ack.id)).length;

    const asyncTps = await pgbench(asyncCluster);
    const syncCluster = await cluster(cloud, client, 'bench-ha-sync', true);
    await syncCluster.writes.stop();
    const syncTps = await pgbench(syncCluster);
    const seconds = (values: number[]) => values.map((value) => round(value / 1000, 2));
    return {
      runs: RUNS,
      postmasterKilledSeconds: { median: round(median(crash) / 1000, 2), max: round(Math.max(...crash) / 1000, 2), runs: seconds(crash) },
      nodeLostSeconds: { median: round(median(nodeLoss) / 1000, 2), max: round(Math.max(...nodeLoss) / 1000, 2), runs: seconds(nodeLoss) },
      switchoverSeconds: { median: round(median(switchover) / 1000, 2), max: round(Math.max(...switchover) / 1000, 2), runs: seconds(switchover) },
      acknowledgedWrites: asyncCluster.writes.acknowledged.length,
      acknowledgedWritesLost: lost,
      asyncCommits: asyncTps,
      syncCommits: syncTps,
    };
  } finally {
    await cloud.stop();
  }
}

interface BenchCluster {
  readonly planId: string;
  readonly uri: string;
  readonly clientDir: string;
  readonly sql: (statement: string) => Promise<string>;
  readonly writes: WriteLoop;
}

async function cluster(
  cloud: LocalCloud,
  client: Awaited<ReturnType<typeof benchClient>>,
  name: string,
  synchronous: boolean,
): Promise<BenchCluster> {
  const plan = await client.call('POST', '/v1/plan', {
    apiVersion: 'cs/v1',
    name,
    components: [
      {
        id: 'db',
        type: 'postgres',
        hardware: { memoryGiB: 1 },
        db: { version: '15', topology: { mode: 'cluster', replicas: 2, synchronous }, backup: { enabled: false } },
      },
    ],
  });
  const planId = String(plan.id);
  await client.call('POST', `/v1/plan/${planId}/deploy`);
  const deployment = await client.until(
    () => client.call('GET', `/v1/plan/${planId}/deployment`),
    (current) => current.status === 'running' || current.status === 'failed',
  );
  if (deployment.status !== 'running') throw new Error(`the cluster did not deploy: ${String(deployment.reason)}`);
  const credentials = (await client.call('GET', `/v1/plan/${planId}/deployment/credentials`)) as {
    uri: string;
    caCertificate: string;
    caFileName: string;
  };
  const clientDir = mkdtempSync(join(tmpdir(), 'cloudseed-bench-ha-'));
  writeFileSync(join(clientDir, credentials.caFileName), credentials.caCertificate);
  const sql = psqlClient(credentials);
  await sql('CREATE TABLE acks (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const writes = new WriteLoop(sql);
  writes.start();
  await settled(cloud, planId);
  return { planId, uri: credentials.uri, clientDir, sql, writes };
}

/** Loses the leader as `lose` does, with the write loop running; the time to the first write started after it and acknowledged. */
async function afterLoss(cloud: LocalCloud, cluster: BenchCluster, lose: (leader: string) => void): Promise<number> {
  await settled(cloud, cluster.planId);
  const leader = await leaderOf(cloud.home, cluster.planId, NODES);
  if (!leader) throw new Error('the cluster has no leader');
  const lostAt = Date.now();
  lose(leader);
  const resumed = await cluster.writes.firstAfter(lostAt, 120_000);
  return resumed.at - lostAt;
}

/** Every member running (a lost one back, after the local cloud revived it), replicas on the leader's timeline, caught up. */
async function settled(cloud: LocalCloud, planId: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const members = await clusterMembers(cloud.home, planId, NODES);
    const timeline = members.find((member) => member.role === 'leader' && member.state === 'running')?.timeline;
    const ok =
      members.length === NODES.length &&
      timeline !== undefined &&
      members.every((member) => member.state === 'running' && member.timeline === timeline && (member.role === 'leader' || member.lag === 0));
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not settle: ${JSON.stringify(members)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** pgbench through the cluster's connection string: 4 clients inserting one row per transaction for 10 s. */
async function pgbench(cluster: BenchCluster): Promise<{ tps: number; latencyMsAverage: number }> {
  await cluster.sql('CREATE TABLE IF NOT EXISTS bench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
  const script = join(cluster.clientDir, 'insert.sql');
  writeFileSync(script, 'INSERT INTO bench DEFAULT VALUES;\n');
  const { stdout } = await promisify(execFile)(
    '/usr/lib/postgresql/15/bin/pgbench',
    ['-n', '-c', '4', '-j', '2', '-T', String(THROUGHPUT_SECONDS), '-f', script, cluster.uri],
    { cwd: cluster.clientDir, encoding: 'utf8' },
  );
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(latency)) throw new Error(`pgbench said: ${stdout}`);
  return { tps: round(tps), latencyMsAverage: round(latency, 2) };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
