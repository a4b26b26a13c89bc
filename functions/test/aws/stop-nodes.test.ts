import { DescribeInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../providers/errors.ts';
import {
  cluster,
  COMPONENT_FILTERS,
  ec2Error,
  ec2Mock,
  haCluster,
  HA_IDS,
  haNodes,
  inputs,
  instance,
  itSentOnlyListedActions,
  mockAws,
  node,
  provider,
  reservations,
  sentActions,
  single,
  target,
} from '../support/aws.ts';

// stopNodes on AWS: the component's instances found by their node tags, the running ones of the
// nodes asked for stopped in one StopInstances call (never waited for), pending until each is
// stopped, failed for a node with no instance.

mockAws();

const PRIMARY = 'i-0000000000000000a';
const REPLICA = 'i-0000000000000000b';
const primary = node('db-0', 'primary', PRIMARY);
const replica = node('db-1', 'replica', REPLICA);

/** How stopNodes looks the component's instances up: by the plan's and component's tags, every node's tag, the live states. */
const lookup = (names: string[]) => ({
  Filters: [
    ...COMPONENT_FILTERS,
    { Name: 'tag:cloudseed:node', Values: names },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
  ],
});

function described(...instances: Parameters<typeof reservations>): void {
  ec2Mock.on(DescribeInstancesCommand).resolves(reservations(...instances));
  ec2Mock.on(StopInstancesCommand).resolves({});
}

describe('stopNodes', () => {
  it('stops every running node in one StopInstances call and answers pending while they stop', async () => {
    described(instance(PRIMARY, 'db-0', 'running'), instance(REPLICA, 'db-1', 'running'));

    await expect(provider().stopNodes(target(cluster), [primary, replica])).resolves.toEqual({
      state: 'pending',
      detail: 'db-0 stopping, db-1 stopping',
    });

    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup(['db-0', 'db-1'])]);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY, REPLICA] }]);
    expect(sentActions().filter((action) => action.startsWith('ec2:'))).toEqual(['ec2:DescribeInstances', 'ec2:StopInstances']);
  });

  it('stops only the nodes it is given: the replica of a primary and replica, not the primary', async () => {
    described(instance(PRIMARY, 'db-0', 'running'), instance(REPLICA, 'db-1', 'running'));

    await expect(provider().stopNodes(target(cluster), [replica])).resolves.toEqual({ state: 'pending', detail: 'db-1 stopping' });

    // The lookup names every node of the component; only the replica's instance is stopped.
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup(['db-0', 'db-1'])]);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }]);
  });

  it('stops the replicas of a Patroni cluster and leaves its primary running', async () => {
    const [leader, ...followers] = haNodes();
    described(...HA_IDS.map((id, index) => instance(id, `db-${index}`, 'running')));

    await expect(provider().stopNodes(target(haCluster), followers)).resolves.toEqual({
      state: 'pending',
      detail: 'db-1 stopping, db-2 stopping',
    });

    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup(['db-0', 'db-1', 'db-2'])]);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [HA_IDS[1], HA_IDS[2]] }]);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))[0]?.InstanceIds).not.toContain(leader!.nodeId);
  });

  it('asks a node to stop once: while its instance is stopping it stays pending, and is done once stopped', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance(PRIMARY, 'db-0', 'running')))
      .resolvesOnce(reservations(instance(PRIMARY, 'db-0', 'stopping')))
      .resolves(reservations(instance(PRIMARY, 'db-0', 'stopped')));
    ec2Mock.on(StopInstancesCommand).resolves({});
    const aws = provider();

    await expect(aws.stopNodes(target(), [primary])).resolves.toEqual({ state: 'pending', detail: 'db-0 stopping' });
    await expect(aws.stopNodes(target(), [primary])).resolves.toEqual({ state: 'pending', detail: 'db-0 stopping' });
    await expect(aws.stopNodes(target(), [primary])).resolves.toEqual({ state: 'done' });

    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup(['db-0']), lookup(['db-0']), lookup(['db-0'])]);
  });

  it('does not ask a stopping node again, and stops only the running one beside it', async () => {
    described(instance(PRIMARY, 'db-0', 'running'), instance(REPLICA, 'db-1', 'stopping'));

    await expect(provider().stopNodes(target(cluster), [primary, replica])).resolves.toEqual({
      state: 'pending',
      detail: 'db-0 stopping, db-1 stopping',
    });

    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }]);
  });

  it.each([
    ['stopping', 'db-0 stopping, db-1 stopping'],
    ['pending', 'db-0 pending, db-1 pending'],
  ])('sends no StopInstances while every node is %s, and stays pending', async (state, detail) => {
    described(instance(PRIMARY, 'db-0', state), instance(REPLICA, 'db-1', state));

    await expect(provider().stopNodes(target(cluster), [primary, replica])).resolves.toEqual({ state: 'pending', detail });

    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('is done, with no StopInstances, when every node is stopped', async () => {
    described(instance(PRIMARY, 'db-0', 'stopped'), instance(REPLICA, 'db-1', 'stopped'));

    await expect(provider().stopNodes(target(cluster), [primary, replica])).resolves.toEqual({ state: 'done' });

    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup(['db-0', 'db-1'])]);
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('answers pending for a stopped node only while another one is still stopping', async () => {
    described(instance(PRIMARY, 'db-0', 'stopped'), instance(REPLICA, 'db-1', 'stopping'));

    await expect(provider().stopNodes(target(cluster), [primary, replica])).resolves.toEqual({ state: 'pending', detail: 'db-1 stopping' });

    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('fails, naming the node, when a node has no instance, and stops none of the others', async () => {
    described(instance(PRIMARY, 'db-0', 'running'));

    await expect(provider().stopNodes(target(cluster), [primary, replica])).resolves.toEqual({
      state: 'failed',
      reason: 'node db-1 has no instance to stop',
    });

    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('fails for a node whose only instance carries another node’s tag', async () => {
    described(instance(REPLICA, 'db-1', 'running'));

    await expect(provider().stopNodes(target(cluster), [primary])).resolves.toEqual({
      state: 'failed',
      reason: 'node db-0 has no instance to stop',
    });

    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('stops the oldest instance when two carry one node’s tag, as launchNodes takes it for the node', async () => {
    const older = 'i-0000000000000000f';
    described(
      instance(PRIMARY, 'db-0', 'running', { LaunchTime: new Date('2030-01-02T00:00:00Z') }),
      instance(older, 'db-0', 'running', { LaunchTime: new Date('2030-01-01T00:00:00Z') }),
    );

    await expect(provider().stopNodes(target(single), [primary])).resolves.toEqual({ state: 'pending', detail: 'db-0 stopping' });

    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [older] }]);
  });

  it('is done at once for no nodes, without calling EC2', async () => {
    await expect(provider().stopNodes(target(cluster), [])).resolves.toEqual({ state: 'done' });

    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('surfaces a throttled StopInstances as a TransientError, which the state machine retries', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations(instance(PRIMARY, 'db-0', 'running')));
    ec2Mock.on(StopInstancesCommand).rejects(ec2Error('RequestLimitExceeded'));

    const error: unknown = await provider()
      .stopNodes(target(), [primary])
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({
      code: 'RequestLimitExceeded',
      message: 'ec2:StopInstances failed: RequestLimitExceeded: RequestLimitExceeded (mocked)',
    });
  });
});

itSentOnlyListedActions(['ec2:DescribeInstances', 'ec2:StopInstances']);
