import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import { clusterMembers, killNode, leaderOf, psqlClient, WriteLoop } from '../support/ha.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Synchronous replication (`db.topology.synchronous`): a commit is acknowledged only once the
// synchronous standby has it, so losing the leader's node right after an acknowledgement loses
// nothing, and only that standby may take over.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const NODES = ['db-0', 'db-1'];
const cloud = useLocalCloud();
let planId: string;
let sql: (statement: string) => Promise<string>;
let writes: WriteLoop;

beforeAll(async () => {
  planId = await cloud.api.createPlan(
    planWith({ name: 'ledger', db: { topology: { mode: 'cluster', replicas: 1, synchronous: true }, backup: { enabled: false } } }),
  );
  const { deployment } = await cloud.api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`the cluster did not deploy: ${deployment.reason ?? deployment.status}`);
  sql = psqlClient(await cloud.api.credentials(planId));
  await sql('CREATE TABLE acks (id bigint PRIMARY KEY)');
  writes = new WriteLoop(sql);
});

afterAll(async () => {
  await writes.stop();
});

describe('a synchronous cluster', () => {
  it('has a synchronous standby that the leader waits for', async () => {
    const members = await until(
      () => clusterMembers(cloud.home, planId, NODES),
      (current) => current.some((member) => member.role === 'sync_standby'),
      30_000,
    );
    expect(members.map((member) => member.role).sort()).toEqual(['leader', 'sync_standby']);
    expect(await sql('SHOW synchronous_standby_names')).not.toBe('');
    // The deployment shows it from the next health check on.
    await cloud.api.waitForDeployment(
      planId,
      (deployment) => deployment.nodes?.some((node) => node.ha?.patroniRole === 'sync_standby') === true,
      15_000,
    );
  });

  it('loses no acknowledged write when the leader’s node is lost right after an acknowledgement', async () => {
    const before = await leaderOf(cloud.home, planId, NODES);
    if (!before) throw new Error('no leader');
    writes.start();
    const acknowledged = await until(
      () => Promise.resolve(writes.acknowledged.length),
      (count) => count >= 30,
      30_000,
    );
    expect(acknowledged).toBeGreaterThanOrEqual(30);
    // Right after an acknowledgement: the next write may be in flight, the last one is committed on both.
    const last = writes.acknowledged.length;
    await until(
      () => Promise.resolve(writes.acknowledged.length),
      (count) => count > last,
      10_000,
    );
    const lostAt = Date.now();
    killNode(cloud.home, planId, before);
    const resumed = await writes.firstAfter(lostAt, 60_000);
    expect(resumed.at - lostAt).toBeLessThan(30_000);
    expect(await leaderOf(cloud.home, planId, NODES)).not.toBe(before);

    const stored = new Set((await sql('SELECT id FROM acks')).split('\n').map(Number));
    expect(writes.acknowledged.filter((ack) => !stored.has(ack.id)).map((ack) => ack.id)).toEqual([]);
  });
});
