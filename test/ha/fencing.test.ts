import { beforeAll, describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import { clusterMembers, leaderOf, patroniPid, postmasterPid, psqlClient, WriteLoop } from '../support/ha.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Fencing without a watchdog: when only the leader's Patroni dies, its PostgreSQL would go on
// taking writes while a replica is promoted in its place (two writable primaries). The local
// cloud stops such a server at once, as a watchdog would reset its machine, and the node rejoins
// as a replica when its Patroni comes back.

vi.setConfig({ testTimeout: 150_000, hookTimeout: 120_000 });

const NODES = ['db-0', 'db-1'];
const cloud = useLocalCloud();
let planId: string;
let sql: (statement: string) => Promise<string>;

beforeAll(async () => {
  planId = await cloud.api.createPlan(planWith({ name: 'fenced', db: { topology: { mode: 'cluster', replicas: 1 }, backup: { enabled: false } } }));
  const { deployment } = await cloud.api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`the cluster did not deploy: ${deployment.reason ?? deployment.status}`);
  sql = psqlClient(await cloud.api.credentials(planId));
  await sql('CREATE TABLE acks (id bigint PRIMARY KEY)');
});

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a leader whose Patroni dies', () => {
  it('stops taking writes within seconds, a replica takes over, and it comes back demoted', async () => {
    const before = await leaderOf(cloud.home, planId, NODES);
    if (!before) throw new Error('no leader');
    const postmaster = postmasterPid(cloud.home, planId, before);
    const writes = new WriteLoop(sql);
    writes.start();
    try {
      await until(
        () => Promise.resolve(writes.acknowledged.length),
        (count) => count >= 10,
        30_000,
      );
      const lostAt = Date.now();
      process.kill(patroniPid(cloud.home, planId, before), 'SIGKILL');
      // Fenced: the old leader's server is stopped well before the lock expires (ttl 20 s).
      await until(
        () => Promise.resolve(isAlive(postmaster)),
        (alive) => !alive,
        15_000,
      );
      const fencedAt = Date.now();
      expect(fencedAt - lostAt).toBeLessThan(15_000);
      // The replica takes over once the old leader's lock expires; writes go on there.
      const after = await until(
        () => leaderOf(cloud.home, planId, NODES),
        (current) => current !== undefined && current !== before,
        40_000,
      );
      expect(after).toBeDefined();
      const resumed = await writes.firstAfter(fencedAt, 30_000);
      expect(resumed.at - lostAt).toBeLessThan(30_000);
    } finally {
      await writes.stop();
    }
    const stored = new Set((await sql('SELECT id FROM acks')).split('\n').map(Number));
    expect(writes.acknowledged.filter((ack) => !stored.has(ack.id)).map((ack) => ack.id)).toEqual([]);
    // Its Patroni comes back and the node rejoins as a replica (rewound), not as a second leader.
    const members = await until(
      () => clusterMembers(cloud.home, planId, NODES),
      (current) => current.some((member) => member.name === before && member.role === 'replica' && member.state === 'running'),
      90_000,
    );
    expect(members.filter((member) => member.role === 'leader')).toHaveLength(1);
  });
});
