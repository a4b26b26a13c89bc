import { beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../providers/errors.ts';
import type { DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { bootInstances, fakeProject, gcpProvider, gcpTarget, googleError, PLAN_ID, PROJECT, sleep, ZONE } from './support/gcp-project.ts';
import type { FakeProject } from './support/gcp-project.ts';

// GcpProvider.stopNodes against the in-memory project (support/gcp-project.ts): each node's
// instance, named as gcp-json names it, is read; a running one is asked to stop (the operation not
// waited for), and the answer is pending until every one is stopped (TERMINATED in Compute
// Engine's words). A suspended instance, or a node with none, fails.

let project: FakeProject;
let provider: Provider;
let target: DeployTarget;
let nodes: NodeRef[];

const instanceOf = (name: string) => `cs-${PLAN_ID}-${name}`;
const PRIMARY = instanceOf('db-0');
const REPLICA = instanceOf('db-1');

beforeEach(async () => {
  sleep.resetHistory();
  project = fakeProject();
  provider = gcpProvider(project);
  target = gcpTarget({ replicas: 1 });
  nodes = await provider.launchNodes(target, await provider.ensureSecurityGroup(target));
  bootInstances(project);
  project.calls.length = 0;
});

const statusOf = (instance: string) => project.instances.get(instance)?.status;
const setStatus = (instance: string, status: string) => {
  project.instances.get(instance)!.status = status;
};

describe('stopNodes', () => {
  it('asks each running node to stop once, with its project, zone and instance, and answers pending without waiting for the stop', async () => {
    project.slowOperations = true;

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 stopping, db-1 stopping' });

    expect(nodes.map((node) => node.nodeId)).toEqual([PRIMARY, REPLICA]);
    expect(project.requestsOf('compute.instances.get')).toEqual([
      { project: PROJECT, zone: ZONE, instance: PRIMARY },
      { project: PROJECT, zone: ZONE, instance: REPLICA },
    ]);
    expect(project.requestsOf('compute.instances.stop')).toEqual([
      { project: PROJECT, zone: ZONE, instance: PRIMARY },
      { project: PROJECT, zone: ZONE, instance: REPLICA },
    ]);
    // The stop's operation is RUNNING: it is not waited for, and nothing else is sent.
    expect(project.requestsOf('compute.zoneOperations.wait')).toEqual([]);
    expect(project.calls.map((call) => call.method)).toEqual([
      'compute.instances.get',
      'compute.instances.stop',
      'compute.instances.get',
      'compute.instances.stop',
    ]);
  });

  it('is done once the stopped instances read TERMINATED, and asks none to stop again', async () => {
    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 stopping, db-1 stopping' });
    expect([statusOf(PRIMARY), statusOf(REPLICA)]).toEqual(['TERMINATED', 'TERMINATED']);

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'done' });

    expect(project.requestsOf('compute.instances.stop')).toHaveLength(2);
  });

  it('stops only the nodes it is given: the replica, not the primary', async () => {
    const replica = nodes.find((node) => node.role === 'replica')!;

    expect(await provider.stopNodes(target, [replica])).toEqual({ state: 'pending', detail: 'db-1 stopping' });

    expect(project.requestsOf('compute.instances.get')).toEqual([{ project: PROJECT, zone: ZONE, instance: REPLICA }]);
    expect(project.requestsOf('compute.instances.stop')).toEqual([{ project: PROJECT, zone: ZONE, instance: REPLICA }]);
    expect([statusOf(PRIMARY), statusOf(REPLICA)]).toEqual(['RUNNING', 'TERMINATED']);
  });

  it('does not ask a stopping node again and stays pending, while it stops the running one beside it', async () => {
    setStatus(PRIMARY, 'STOPPING');

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 stopping, db-1 stopping' });

    expect(project.requestsOf('compute.instances.stop')).toEqual([{ project: PROJECT, zone: ZONE, instance: REPLICA }]);
  });

  it.each(['STOPPING', 'PROVISIONING', 'STAGING', 'REPAIRING'])('sends no stop for an instance %s, and stays pending', async (status) => {
    setStatus(PRIMARY, status);
    setStatus(REPLICA, 'TERMINATED');

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: `db-0 ${status.toLowerCase()}` });

    expect(project.requestsOf('compute.instances.stop')).toEqual([]);
  });

  it.each([
    ['TERMINATED', 'TERMINATED'],
    ['STOPPED', 'STOPPED'],
    ['TERMINATED', 'STOPPED'],
  ])('is done, sending no stop, when the instances are %s and %s', async (primary, replica) => {
    setStatus(PRIMARY, primary);
    setStatus(REPLICA, replica);

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'done' });

    expect(project.requestsOf('compute.instances.stop')).toEqual([]);
    expect(project.requestsOf('compute.instances.get')).toHaveLength(2);
  });

  it.each(['SUSPENDED', 'SUSPENDING'])('fails for an instance %s, which a stop would not stop, and sends no stop', async (status) => {
    setStatus(REPLICA, status);
    setStatus(PRIMARY, 'TERMINATED');

    expect(await provider.stopNodes(target, nodes)).toEqual({
      state: 'failed',
      reason: `instance ${REPLICA} is suspended, not stopped: resume it in the console, then stop the plan again`,
    });

    expect(project.requestsOf('compute.instances.stop')).toEqual([]);
  });

  it('fails, naming the node and its instance, when the node has no instance', async () => {
    project.instances.delete(REPLICA);

    expect(await provider.stopNodes(target, [nodes[1]!])).toEqual({
      state: 'failed',
      reason: `node db-1 has no instance ${REPLICA} to stop`,
    });

    expect(project.requestsOf('compute.instances.get')).toEqual([{ project: PROJECT, zone: ZONE, instance: REPLICA }]);
    expect(project.requestsOf('compute.instances.stop')).toEqual([]);
  });

  it('fails for a node the component does not have, before asking Compute Engine', async () => {
    const stranger: NodeRef = { name: 'db-7', role: 'replica', nodeId: instanceOf('db-7'), port: 5432 };

    expect(await provider.stopNodes(target, [stranger])).toEqual({ state: 'failed', reason: 'node db-7 is not a node of db' });

    expect(project.calls).toEqual([]);
  });

  it('finds the instance by the node’s name in the plan, not by the id the reference carries', async () => {
    const stale: NodeRef = { ...nodes[0]!, nodeId: 'some-other-instance' };

    expect(await provider.stopNodes(target, [stale])).toEqual({ state: 'pending', detail: 'db-0 stopping' });

    expect(project.requestsOf('compute.instances.stop')).toEqual([{ project: PROJECT, zone: ZONE, instance: PRIMARY }]);
  });

  it('is done at once for no nodes, without calling Google', async () => {
    expect(await provider.stopNodes(target, [])).toEqual({ state: 'done' });

    expect(project.calls).toEqual([]);
  });

  it('surfaces an unavailable Compute Engine as a TransientError, which the state machine retries', async () => {
    project.failNext('compute.instances.stop', googleError(14, 503, 'The service is currently unavailable.'));

    const error = await provider.stopNodes(target, nodes).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/^compute\.instances\.stop failed: /);
    expect(statusOf(PRIMARY)).toBe('RUNNING');
  });
});
