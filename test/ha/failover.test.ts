import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import type { Credentials } from '../support/api.ts';
import { clusterMembers, killNode, killPostmaster, leaderOf, psqlClient, WriteLoop } from '../support/ha.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Automatic failover on the local cloud: a three-node cluster (Patroni and a three-member etcd,
// real processes) under a write loop through the credentials route's connection string. The
// leader's postmaster is killed, then its whole node; writes go on through the same string, no
// acknowledged row is lost, and the lost node comes back as a replica.

vi.setConfig({ testTimeout: 150_000, hookTimeout: 120_000 });

const NODES = ['db-0', 'db-1', 'db-2'];

interface Backup {
  trigger: string;
  kind: string;
  type?: string;
  status: string;
  startedAt: string;
}
const cloud = useLocalCloud();
let planId: string;
let creds: Credentials;
let sql: (statement: string, uri?: string) => Promise<string>;
let writes: WriteLoop;

beforeAll(async () => {
  planId = await cloud.api.createPlan(
    planWith({ name: 'ha', db: { topology: { mode: 'cluster', replicas: 2 }, backup: { validate: false, incrementalEveryHours: 0 } } }),
  );
  const { deployment } = await cloud.api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`the cluster did not deploy: ${deployment.reason ?? deployment.status}`);
  creds = await cloud.api.credentials(planId);
  sql = psqlClient(creds);
  await sql('CREATE TABLE acks (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  writes = new WriteLoop(sql);
  writes.start();
  await until(
    () => Promise.resolve(writes.acknowledged.length),
    (count) => count >= 20,
    30_000,
  );
});

afterAll(async () => {
  await writes.stop();
});

/** Every member running, the replicas on the leader's timeline with nothing left to replay. */
const settledCluster = () =>
  until(
    () => clusterMembers(cloud.home, planId, NODES),
    (members) => {
      const timeline = members.find((member) => member.role === 'leader' && member.state === 'running')?.timeline;
      return (
        members.length === NODES.length &&
        timeline !== undefined &&
        members.every((member) => member.state === 'running' && member.timeline === timeline && (member.role === 'leader' || member.lag === 0))
      );
    },
    60_000,
  );

const leader = async (): Promise<string> => {
  const name = await until(
    () => leaderOf(cloud.home, planId, NODES),
    (current) => current !== undefined,
    60_000,
  );
  return name ?? '';
};

describe('a three-node cluster', () => {
  it('gives one connection string for all members that finds the leader, and one that prefers a replica', async () => {
    const hosts = /^postgresql:\/\/app:[^@]+@([^/]+)\/app\?(.*)$/.exec(creds.uri);
    expect(hosts?.[1]?.split(',')).toHaveLength(3);
    expect(hosts?.[2]).toContain('target_session_attrs=read-write');
    expect(await sql('SELECT pg_is_in_recovery()')).toBe('f');
    const readOnly = creds.readOnlyUri ?? '';
    expect(readOnly).toContain('target_session_attrs=prefer-standby');
    expect(await sql('SELECT pg_is_in_recovery()', readOnly)).toBe('t');
  });

  it('shows every member with its role, state, timeline and lag', async () => {
    const deployment = await cloud.api.waitForDeployment(planId, (current) => current.nodes?.every((node) => node.ha !== undefined) === true);
    const nodes = deployment.nodes ?? [];
    expect(deployment.status).toBe('running');
    expect(nodes.map((node) => node.ha?.patroniRole).sort()).toEqual(['leader', 'replica', 'replica']);
    expect(nodes.find((node) => node.role === 'primary')?.ha).toMatchObject({ patroniRole: 'leader', state: 'running' });
    for (const node of nodes) expect(node.ha?.timeline).toBeGreaterThan(0);
  });

  it('switches over to a chosen replica in under 5 s, writes going on through the same connection string', async () => {
    await settledCluster();
    const before = await leader();
    const candidate = NODES.find((name) => name !== before) ?? '';
    const started = Date.now();
    const response = await cloud.api.call<Record<string, unknown>>('POST', `/v1/plan/${planId}/switchover`, { body: { candidate } });
    const elapsed = Date.now() - started;
    expect(response.status, response.text).toBe(202);
    expect(response.json).toEqual({ status: 'switched', component: 'db', from: before, to: candidate });
    expect(elapsed).toBeLessThan(5_000);
    expect(await leader()).toBe(candidate);
    // The deployment says who leads at once; writes after the switchover land on the new leader.
    const deployment = await cloud.api.deployment(planId);
    expect(deployment.nodes?.find((node) => node.role === 'primary')?.name).toBe(candidate);
    await writes.firstAfter(Date.now(), 10_000);
    // The old leader follows the new one.
    await until(
      () => clusterMembers(cloud.home, planId, NODES),
      (members) => members.some((member) => member.name === before && member.role === 'replica' && member.state === 'running'),
      30_000,
    );
  });

  it('refuses a switchover to a node that is not a replica of the cluster, or with other fields, and changes nothing', async () => {
    const before = await leader();
    for (const [body, path] of [
      [{ candidate: 'db-9' }, '/candidate'],
      [{ candidate: '../db-1' }, '/candidate'],
      [{ candidate: 'db-1', now: true }, '/now'],
    ] as const) {
      const response = await cloud.api.call<{ errors: { path: string }[] }>('POST', `/v1/plan/${planId}/switchover`, { body });
      expect(response.status, response.text).toBe(400);
      expect(response.json.errors.map((error) => error.path)).toContain(path);
    }
    const toLeader = await cloud.api.call('POST', `/v1/plan/${planId}/switchover`, { body: { candidate: before } });
    expect(toLeader.status, toLeader.text).toBe(409);
    const stranger = await cloud.other.api.call('POST', `/v1/plan/${planId}/switchover`, { body: {} });
    expect(stranger.status).toBe(404);
    expect(await leader()).toBe(before);
  });

  it('comes back within 10 s through the same connection string when the leader’s postmaster is killed', async () => {
    await settledCluster();
    const before = await leader();
    const killedAt = Date.now();
    killPostmaster(cloud.home, planId, before);
    const resumed = await writes.firstAfter(killedAt, 30_000);
    expect(resumed.at - killedAt).toBeLessThan(10_000);
  });

  it('fails over to a replica within 30 s when the leader’s whole node is lost, and loses no acknowledged write', async () => {
    // A healthy cluster loses a node: every replica streams from the leader, on its timeline.
    await settledCluster();
    const before = await leader();
    const lostAt = Date.now();
    killNode(cloud.home, planId, before);
    const resumed = await writes.firstAfter(lostAt, 60_000).catch(async (error: unknown) => {
      throw new Error(
        `${String(error)}; Patroni says ${JSON.stringify(await clusterMembers(cloud.home, planId, NODES))}; ${writes.failures} failed writes, last: ${writes.lastError}`,
      );
    });
    expect(resumed.at - lostAt).toBeLessThan(30_000);
    const after = await leader();
    expect(after).not.toBe(before);

    const acknowledged = writes.acknowledged.map((ack) => ack.id);
    const stored = new Set((await sql('SELECT id FROM acks ORDER BY id')).split('\n').map(Number));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);

    // The lost node comes back (the local cloud starts its Patroni again, as a rebooted machine
    // would) and rejoins as a replica of the new leader, rewound onto its timeline.
    const rejoined = await until(
      () => clusterMembers(cloud.home, planId, NODES),
      (members) => members.some((member) => member.name === before && member.role === 'replica' && member.state === 'running'),
      90_000,
    );
    const newTimeline = rejoined.find((member) => member.name === after)?.timeline;
    expect(rejoined.find((member) => member.name === before)?.timeline).toBe(newTimeline);
    // The plan is green again and says who leads now.
    const deployment = await cloud.api.waitForDeployment(
      planId,
      (current) =>
        current.status === 'running' &&
        current.nodes?.find((node) => node.role === 'primary')?.name === after &&
        current.nodes.every((node) => node.healthy),
      60_000,
    );
    expect(deployment.nodes?.find((node) => node.name === before)?.ha?.patroniRole).toBe('replica');

    // The new leader's timeline starts with a full backup of its own.
    const backup = await until(
      async () =>
        ((await cloud.api.call<{ items: Backup[] }>('GET', `/v1/plan/${planId}/backups`)).json.items ?? []).find(
          (item) => item.trigger === 'failover' && Date.parse(item.startedAt) > lostAt,
        ),
      (item) => item !== undefined && item.status !== 'running',
      120_000,
    );
    expect(backup).toMatchObject({ kind: 'physical', type: 'full', status: 'succeeded' });
  });
});

describe('a cluster the plan shrinks', () => {
  it('removes the members beyond the plan’s replicas at the deploy, and keeps serving', async () => {
    await writes.stop();
    await settledCluster();
    const smaller = planWith({
      name: 'ha',
      db: { topology: { mode: 'cluster', replicas: 1 }, backup: { validate: false, incrementalEveryHours: 0 } },
    });
    const updated = await cloud.api.call('PUT', `/v1/plan/${planId}`, { body: smaller });
    expect(updated.status, updated.text).toBe(200);
    const { deployment } = await cloud.api.deploy(planId);
    expect(deployment.status, deployment.reason).toBe('running');
    expect(deployment.nodes?.map((node) => node.name).sort()).toEqual(['db-0', 'db-1']);
    expect(existsSync(join(cloud.home, 'instances', planId, 'db-2'))).toBe(false);
    const members = await clusterMembers(cloud.home, planId, ['db-0', 'db-1']);
    expect(members.map((member) => member.name).sort()).toEqual(['db-0', 'db-1']);
    const acknowledged = writes.acknowledged.map((ack) => ack.id);
    const stored = new Set((await sql('SELECT id FROM acks')).split('\n').map(Number));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});
