import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { until } from '../support/api.ts';
import { clusterMembers, leaderOf, memberDir, psqlClient } from '../support/ha.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// A restart-only setting of the plan's (shared_buffers) on a Patroni cluster: a re-deploy restarts
// every member in place through Patroni, each then runs with the new value, and the leader stays
// the leader (a restart, not a failover). A reload-only change restarts no member.

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

const NODES = ['db-0', 'db-1'];
const isServing = (state: string) => state === 'running' || state === 'streaming';

describe('plan parameters on a cluster', () => {
  const cloud = useLocalCloud();

  it('restart every member for a restart-only setting, and none for a reload-only one', async () => {
    const body = (parameters: Record<string, string>) =>
      planWith({
        name: 'tuned-ha',
        hardware: { cpus: 2, memoryGiB: 1 },
        db: { topology: { mode: 'cluster', replicas: 1 }, backup: { validate: false, incrementalEveryHours: 0 }, parameters },
      });
    const planId = await cloud.api.createPlan(body({ work_mem: '8MB' }));
    const { deployment } = await cloud.api.deploy(planId);
    expect(deployment.status, deployment.reason).toBe('running');
    const credentials = await cloud.api.credentials(planId);
    const sql = psqlClient(credentials);
    // Each member on its own: its port from node.json, any role it has now.
    const onMember = (node: string, query: string) => {
      const { port } = JSON.parse(readFileSync(join(memberDir(cloud.home, planId, node), 'node.json'), 'utf8')) as { port: number };
      const uri = credentials.uri
        .replace(/@[^/]+\//, `@127.0.0.1:${port}/`)
        .replace(/target_session_attrs=[^&]*&?/, '')
        .replace(/[?&]$/, '');
      return sql(query, uri);
    };
    const serving = () =>
      until(
        () => clusterMembers(cloud.home, planId, NODES),
        (members) => NODES.every((name) => members.some((member) => member.name === name && isServing(member.state))),
        60_000,
      );
    await serving();
    const leader = await leaderOf(cloud.home, planId, NODES);
    const started = async () => Promise.all(NODES.map((node) => onMember(node, 'SELECT pg_postmaster_start_time()')));
    const before = await started();
    expect(await Promise.all(NODES.map((node) => onMember(node, 'SHOW work_mem')))).toEqual(['8MB', '8MB']);

    // Reload-only: every member takes it, none restarts.
    expect((await cloud.api.call('PUT', `/v1/plan/${planId}`, { body: body({ work_mem: '16MB' }) })).status).toBe(200);
    expect((await cloud.api.deploy(planId)).deployment.status).toBe('running');
    expect(await Promise.all(NODES.map((node) => onMember(node, 'SHOW work_mem')))).toEqual(['16MB', '16MB']);
    expect(await started()).toEqual(before);

    // Restart-only: every member restarts with it, and the leader still leads.
    const changed = await cloud.api.call('PUT', `/v1/plan/${planId}`, { body: body({ work_mem: '16MB', shared_buffers: '160MB' }) });
    expect(changed.status, changed.text).toBe(200);
    const redeployed = await cloud.api.deploy(planId);
    expect(redeployed.deployment.status, redeployed.deployment.reason).toBe('running');
    await serving();
    expect(await Promise.all(NODES.map((node) => onMember(node, 'SHOW shared_buffers')))).toEqual(['160MB', '160MB']);
    const after = await started();
    NODES.forEach((_, index) => expect(after[index]).not.toBe(before[index]));
    expect(await leaderOf(cloud.home, planId, NODES)).toBe(leader);
  });
});
