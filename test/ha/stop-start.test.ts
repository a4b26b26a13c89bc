import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import type { Deployment } from '../support/api.ts';
import { clusterMembers, leaderOf, memberDir, psqlClient } from '../support/ha.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Stopping a cluster whose leader is not the node deployed as primary: the replica stops first and
// the leader last, so the leader holds every commit, and the start brings it back as the leader
// with the replica following it on the same timeline; the cluster's etcd stops and starts with it.

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

const NODES = ['db-0', 'db-1'];
/** Patroni says `running` of a replica that is up, and `streaming` once newer versions see it receive WAL. */
const isServing = (state: string) => state === 'running' || state === 'streaming';
const settledAs = (status: string) => (deployment: Deployment) => deployment.status === status || deployment.status === 'failed';
const running = (home: string, planId: string, node: string) =>
  JSON.parse(readFileSync(join(memberDir(home, planId, node), 'node.json'), 'utf8')) as { running: boolean; role: string };
const pidAlive = (file: string): boolean => {
  if (!existsSync(file)) return false;
  try {
    process.kill(Number(readFileSync(file, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
};

describe('stopping and starting a cluster', () => {
  const cloud = useLocalCloud();

  it('stops the replica before the leader and starts the same leader again, with every commit', async () => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'nightly-ha', db: { topology: { mode: 'cluster', replicas: 1 }, backup: { validate: false, incrementalEveryHours: 0 } } }),
    );
    const { deployment } = await cloud.api.deploy(planId);
    expect(deployment.status, deployment.reason).toBe('running');
    const sql = psqlClient(await cloud.api.credentials(planId));
    await sql('CREATE TABLE kept (id int PRIMARY KEY)');
    await until(
      () => clusterMembers(cloud.home, planId, NODES),
      (members) => members.some((member) => member.name === 'db-1' && member.role === 'replica' && isServing(member.state)),
      60_000,
    );
    const switched = await cloud.api.call('POST', `/v1/plan/${planId}/switchover`, { body: { candidate: 'db-1' } });
    expect(switched.status, switched.text).toBe(202);
    await sql('INSERT INTO kept SELECT generate_series(1, 500)');
    // The health check has seen db-1 lead.
    await until(
      () => cloud.api.deployment(planId),
      (view) => view.nodes?.some((node) => node.name === 'db-1' && node.role === 'primary') === true,
      30_000,
    );

    // The switchover started a full backup of the new leader: a stop waits for it (409 meanwhile).
    await until(
      () => cloud.api.call<{ items: { status: string }[] }>('GET', `/v1/plan/${planId}/backups`),
      (page) => page.json.items.length > 0 && page.json.items.every((backup) => backup.status !== 'running'),
      120_000,
    );
    const stop = await cloud.api.call('POST', `/v1/plan/${planId}/stop`);
    expect(stop.status, stop.text).toBe(202);
    const stopped = await cloud.api.waitForDeployment(planId, settledAs('stopped'), 120_000);
    expect(stopped.status, stopped.reason).toBe('stopped');
    for (const node of NODES) {
      expect(running(cloud.home, planId, node).running).toBe(false);
      expect(pidAlive(join(memberDir(cloud.home, planId, node), 'patroni.pid'))).toBe(false);
    }
    expect(running(cloud.home, planId, 'db-1').role).toBe('primary');
    expect(running(cloud.home, planId, 'db-0').role).toBe('replica');
    expect(await clusterMembers(cloud.home, planId, NODES)).toEqual([]);

    expect((await cloud.api.call('POST', `/v1/plan/${planId}/start`)).status).toBe(202);
    const started = await cloud.api.waitForDeployment(planId, settledAs('running'), 180_000);
    expect(started.status, started.reason).toBe('running');
    expect(await leaderOf(cloud.home, planId, NODES)).toBe('db-1');
    const members = await until(
      () => clusterMembers(cloud.home, planId, NODES),
      (all) => all.some((member) => member.name === 'db-0' && member.role === 'replica' && isServing(member.state) && member.lag === 0),
      60_000,
    );
    const timelines = new Set(members.map((member) => member.timeline));
    expect(timelines.size).toBe(1);
    expect(await sql('SELECT count(*) FROM kept')).toBe('500');
  });
});
