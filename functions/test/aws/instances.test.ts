import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  EC2ServiceException,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import type {
  DescribeInstancesCommandInput,
  Instance,
  ModifyInstanceAttributeCommandInput,
  ModifyVolumeCommandInput,
  StartInstancesCommandInput,
  StopInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { DeleteParametersCommand } from '@aws-sdk/client-ssm';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import type { PostgresComponent } from '@cloudseed/shared';
import { beforeEach, describe, expect, it } from 'vitest';
import { clientToken } from '../../providers/aws/index.ts';
import { CapacityError, PermanentError, TransientError } from '../../providers/errors.ts';
import {
  balancerReady,
  AWS_ACTIONS_PROVEN,
  cluster,
  haCluster,
  COMPONENT_FILTERS,
  ec2Error,
  ec2Mock,
  GROUP_ID,
  iamError,
  iamMock,
  inputs,
  instance,
  itSentOnlyListedActions,
  mockAws,
  node,
  nodeRoleExists,
  nodeRoleRemovable,
  plan,
  PROFILE,
  provider,
  rendered,
  reservations,
  rootVolume,
  sentActions,
  single,
  sleep,
  ssmMock,
  target,
  volumeId,
} from '../support/aws.ts';

mockAws();

describe('launchNodes', () => {
  const network = { networkId: GROUP_ID };
  beforeEach(nodeRoleExists);
  const lookup = {
    Filters: [
      ...COMPONENT_FILTERS,
      { Name: 'tag:cloudseed:node', Values: ['db-0'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ],
  };

  function expectedRunInstances(component: PostgresComponent, index: number) {
    const aws = rendered(component);
    const awsNode = aws.nodes[index]!;
    return {
      ...aws.runInstances,
      SecurityGroupIds: [GROUP_ID],
      IamInstanceProfile: { Name: PROFILE },
      ClientToken: clientToken(target(component), awsNode.name),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: awsNode.tags },
        { ResourceType: 'volume', Tags: awsNode.tags },
      ],
    };
  }

  it('launches a missing node with IMDSv2, encrypted gp3, the instance profile, the group and its tags, and no key pair', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a', PrivateIpAddress: '172.31.5.10' }] });

    const nodes = await provider().launchNodes(target(), network);

    expect(nodes).toEqual([{ name: 'db-0', role: 'primary', nodeId: 'i-0000000000000000a', host: '172.31.5.10', port: 5432 }]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup]);
    const [input] = inputs(ec2Mock.commandCalls(RunInstancesCommand));
    expect(input).toEqual(expectedRunInstances(single, 0));
    expect(input).toMatchObject({
      MetadataOptions: { HttpTokens: 'required' },
      BlockDeviceMappings: [{ Ebs: { VolumeType: 'gp3', Encrypted: true, VolumeSize: 20 } }],
      MinCount: 1,
      MaxCount: 1,
    });
    expect(input).not.toHaveProperty('KeyName');
    expect(input?.ClientToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sends the same ClientToken when the launch is retried, and a different one per node and deployment', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded'))
      .resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });
    const aws = provider();

    await expect(aws.launchNodes(target(), network)).rejects.toThrow(TransientError);
    await aws.launchNodes(target(), network);

    const tokens = inputs(ec2Mock.commandCalls(RunInstancesCommand)).map((input) => input.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
    expect(clientToken(target(), 'db-1')).not.toBe(tokens[0]);
    expect(clientToken(target(single, { deploymentId: 'dep-2' }), 'db-0')).not.toBe(tokens[0]);
  });

  it('does not launch a node that already runs, and launches only the missing ones of a cluster', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        reservations(
          instance('i-0000000000000000a', 'db-0', 'running', { PublicIpAddress: '198.51.100.7', PrivateIpAddress: '172.31.5.10' }),
          instance('i-0000000000000000c', 'db-2', 'pending'),
        ),
      );
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [rootVolume('i-0000000000000000a', 20), rootVolume('i-0000000000000000c', 20)] });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000b', PrivateIpAddress: '172.31.5.11' }] });
    // A Patroni cluster's load balancer comes with its nodes (endpoint.test.ts).
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-0fedcba9876543210' }] });
    ec2Mock
      .on(DescribeInstancesCommand, { InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'] })
      .resolves(reservations(...['a', 'b', 'c'].map((id, index) => instance(`i-0000000000000000${id}`, `db-${index}`, 'running'))));
    balancerReady();

    const nodes = await provider().launchNodes(target(haCluster), network);

    expect(inputs(ec2Mock.commandCalls(RunInstancesCommand))).toEqual([expectedRunInstances(haCluster, 1)]);
    expect(nodes).toEqual([
      { name: 'db-0', role: 'primary', nodeId: 'i-0000000000000000a', host: '198.51.100.7', port: 5432 },
      { name: 'db-1', role: 'replica', nodeId: 'i-0000000000000000b', host: '172.31.5.11', port: 5432 },
      { name: 'db-2', role: 'replica', nodeId: 'i-0000000000000000c', port: 5432 },
    ]);
  });

  it('launches nothing on a second run', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations(instance('i-0000000000000000a', 'db-0', 'running')));
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [rootVolume('i-0000000000000000a', 20)] });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });

    await provider().launchNodes(target(), network);

    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('launches into a configured subnet and drops a key pair the rendering might carry', async () => {
    const withKey = { ...rendered(single), runInstances: { ...rendered(single).runInstances, KeyName: 'my-key' } };
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });

    await provider({ subnetId: 'subnet-1', render: () => withKey }).launchNodes(target(), network);

    const [input] = inputs(ec2Mock.commandCalls(RunInstancesCommand));
    expect(input).not.toHaveProperty('KeyName');
    expect(input?.SubnetId).toBe('subnet-1');
  });

  it.each([
    ['InsufficientInstanceCapacity', 'CapacityError', CapacityError],
    ['InsufficientHostCapacity', 'CapacityError', CapacityError],
    ['RequestLimitExceeded', 'TransientError', TransientError],
    ['InvalidParameterValue', 'PermanentError', PermanentError],
  ])('surfaces %s as %s', async (code, name, type) => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error(code));

    const error: unknown = await provider()
      .launchNodes(target(), network)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ name, code, message: `ec2:RunInstances failed: ${code}: ${code} (mocked)` });
  });

  it('surfaces throttling of DescribeInstances and AWS-side faults as TransientError', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded'))
      .rejectsOnce(new EC2ServiceException({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'oops' }));
    const aws = provider();

    await expect(aws.launchNodes(target(), network)).rejects.toMatchObject({ name: 'TransientError', code: 'RequestLimitExceeded' });
    await expect(aws.launchNodes(target(), network)).rejects.toMatchObject({ name: 'TransientError', code: 'InternalError' });
  });
});
describe('launchNodes on a re-deploy: the nodes that exist are brought to the plan in place', () => {
  beforeEach(nodeRoleExists);
  const network = { networkId: GROUP_ID };
  const PRIMARY = 'i-0000000000000000a';
  const REPLICA = 'i-0000000000000000b';
  const pair = { topology: { mode: 'cluster', replicas: 1 } };
  const samePair = plan(pair);
  const largerPair = plan(pair, { aws: { instanceType: 't4g.large' } });
  const largerSingle = plan({}, { aws: { instanceType: 't4g.large' } });
  const x86Pair = plan(pair, { aws: { instanceType: 'm6i.xlarge' } });
  const biggerDiskPair = plan(pair, { storage: { sizeGiB: 50 } });

  interface Failures {
    stop?: Error[];
    modify?: Error[];
    start?: Error[];
  }

  /**
   * EC2 as far as a resize goes: StopInstances, ModifyInstanceAttribute and StartInstances change
   * the instances, and DescribeInstances shows 'stopping' or 'pending' once before the instance
   * settles. A started instance gets a new public address. `failures` are thrown by the next calls.
   */
  function fleet(initial: Instance[], failures: Failures = {}): void {
    const instances = new Map(initial.map((described) => [described.InstanceId!, described]));
    const settling = new Map<string, 'stopped' | 'running'>();
    let started = 0;
    const set = (id: string, change: Partial<Instance>) => instances.set(id, { ...instances.get(id)!, ...change });
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
      const ids = input.Filters?.find((filter) => filter.Name === 'instance-id')?.Values;
      const shown = [...instances.values()].filter((described) => ids === undefined || ids.includes(described.InstanceId!));
      for (const [id, state] of settling) set(id, { State: { Name: state } });
      settling.clear();
      return reservations(...shown);
    });
    ec2Mock.on(StopInstancesCommand).callsFake((input: StopInstancesCommandInput) => {
      const failure = failures.stop?.shift();
      if (failure) throw failure;
      for (const id of input.InstanceIds ?? []) {
        set(id, { State: { Name: 'stopping' }, StateReason: { Code: 'Client.UserInitiatedShutdown' } });
        settling.set(id, 'stopped');
      }
      return {};
    });
    ec2Mock.on(ModifyInstanceAttributeCommand).callsFake((input: ModifyInstanceAttributeCommandInput) => {
      const failure = failures.modify?.shift();
      if (failure) throw failure;
      set(input.InstanceId!, { InstanceType: input.InstanceType!.Value! as 't4g.large' });
      return {};
    });
    ec2Mock.on(StartInstancesCommand).callsFake((input: StartInstancesCommandInput) => {
      const failure = failures.start?.shift();
      if (failure) throw failure;
      for (const id of input.InstanceIds ?? []) {
        set(id, { State: { Name: 'pending' }, PublicIpAddress: `198.51.100.${100 + started}` });
        settling.set(id, 'running');
        started += 1;
      }
      return {};
    });
  }

  function disks(sizeGiB: number, ...instanceIds: string[]): void {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: instanceIds.map((id) => rootVolume(id, sizeGiB)) });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });
  }

  function runningPair(): Instance[] {
    return [
      instance(PRIMARY, 'db-0', 'running', { PublicIpAddress: '198.51.100.7' }),
      instance(REPLICA, 'db-1', 'running', { PublicIpAddress: '198.51.100.8' }),
    ];
  }

  const byId = (id: string) => ({ Filters: [{ Name: 'instance-id', Values: [id] }] });
  const lookup = ['ec2:DescribeInstances', 'ec2:DescribeVolumes', 'ec2:DescribeVolumesModifications'];
  const stopChangeStart = [
    'ec2:StopInstances',
    'ec2:DescribeInstances',
    'ec2:DescribeInstances',
    'ec2:ModifyInstanceAttribute',
    'ec2:StartInstances',
    'ec2:DescribeInstances',
    'ec2:DescribeInstances',
  ];

  it('changes the instance type of the replica, then of the primary: stop, wait until stopped, modify, start, wait until running', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);

    const nodes = await provider().launchNodes(target(largerPair), network);

    expect(sentActions()).toEqual([...lookup, ...stopChangeStart, ...stopChangeStart]);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }, { InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(ModifyInstanceAttributeCommand))).toEqual([
      { InstanceId: REPLICA, InstanceType: { Value: 't4g.large' } },
      { InstanceId: PRIMARY, InstanceType: { Value: 't4g.large' } },
    ]);
    expect(inputs(ec2Mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }, { InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand)).slice(1)).toEqual([
      ...Array.from({ length: 4 }, () => byId(REPLICA)),
      ...Array.from({ length: 4 }, () => byId(PRIMARY)),
    ]);
    expect(sleep.mock.calls).toEqual(Array.from({ length: 8 }, () => [5_000]));
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    // A restarted node has a new public address.
    expect(nodes).toEqual([
      { name: 'db-0', role: 'primary', nodeId: PRIMARY, host: '198.51.100.101', port: 5432 },
      { name: 'db-1', role: 'replica', nodeId: REPLICA, host: '198.51.100.100', port: 5432 },
    ]);
  });

  it('stops nothing when the nodes already have the plan type and disk', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);

    const nodes = await provider().launchNodes(target(samePair), network);

    expect(sentActions()).toEqual(lookup);
    expect(inputs(ec2Mock.commandCalls(DescribeVolumesCommand))).toEqual([
      { Filters: [{ Name: 'attachment.instance-id', Values: [PRIMARY, REPLICA] }] },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeVolumesModificationsCommand))).toEqual([
      { Filters: [{ Name: 'volume-id', Values: [volumeId(PRIMARY), volumeId(REPLICA)] }] },
    ]);
    expect(nodes.map((ref) => ref.host)).toEqual(['198.51.100.7', '198.51.100.8']);
  });

  it('grows each root volume to the plan size without stopping a node, and waits until the size has taken effect', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);
    const modification = (id: string, state: 'modifying' | 'optimizing' | 'completed') => ({
      VolumeId: volumeId(id),
      ModificationState: state,
      OriginalSize: 20,
      TargetSize: 50,
    });
    ec2Mock
      .on(DescribeVolumesModificationsCommand)
      .resolvesOnce({ VolumesModifications: [] })
      .resolvesOnce({ VolumesModifications: [modification(PRIMARY, 'optimizing'), modification(REPLICA, 'modifying')] })
      .resolves({ VolumesModifications: [modification(REPLICA, 'completed')] });
    ec2Mock.on(ModifyVolumeCommand).callsFake((input: ModifyVolumeCommandInput) => ({
      VolumeModification: { VolumeId: input.VolumeId, ModificationState: 'modifying', TargetSize: input.Size },
    }));

    await provider().launchNodes(target(biggerDiskPair), network);

    expect(sentActions()).toEqual([
      ...lookup,
      'ec2:ModifyVolume',
      'ec2:ModifyVolume',
      'ec2:DescribeVolumesModifications',
      'ec2:DescribeVolumesModifications',
    ]);
    expect(inputs(ec2Mock.commandCalls(ModifyVolumeCommand))).toEqual([
      { VolumeId: volumeId(PRIMARY), Size: 50 },
      { VolumeId: volumeId(REPLICA), Size: 50 },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeVolumesModificationsCommand)).at(-1)).toEqual({
      Filters: [{ Name: 'volume-id', Values: [volumeId(REPLICA)] }],
    });
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('does not ask again for a size change an earlier attempt asked for, but waits for it', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);
    const modifications = (state: 'modifying' | 'optimizing') => ({
      VolumesModifications: [PRIMARY, REPLICA].map((id) => ({ VolumeId: volumeId(id), ModificationState: state, TargetSize: 50 })),
    });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolvesOnce(modifications('modifying')).resolves(modifications('optimizing'));

    await provider().launchNodes(target(biggerDiskPair), network);

    expect(sentActions()).toEqual([...lookup, 'ec2:DescribeVolumesModifications']);
  });

  it('fails when a size change fails', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);
    ec2Mock
      .on(DescribeVolumesModificationsCommand)
      .resolvesOnce({ VolumesModifications: [] })
      .resolves({ VolumesModifications: [{ VolumeId: volumeId(PRIMARY), ModificationState: 'failed', StatusMessage: 'Internal error' }] });
    ec2Mock.on(ModifyVolumeCommand).resolves({});

    await expect(provider().launchNodes(target(biggerDiskPair), network)).rejects.toThrow(
      new PermanentError(`growing the disk of node db-0 (${volumeId(PRIMARY)}) failed: Internal error`),
    );
  });

  it('refuses a plan disk smaller than the volume before changing anything', async () => {
    fleet([instance(PRIMARY, 'db-0', 'running')]);
    disks(100, PRIMARY);

    const attempt = provider().launchNodes(target(largerSingle), network);

    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(
      `the disk of node db-0 (${volumeId(PRIMARY)}) is 100 GiB but the plan asks for 20 GiB: disks only grow. Plan at least 100 GiB`,
    );
    expect(sentActions()).toEqual(['ec2:DescribeInstances', 'ec2:DescribeVolumes']);
  });

  it('refuses another architecture before stopping anything: the system on the disk would not boot', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);

    const attempt = provider().launchNodes(target(x86Pair), network);

    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(
      `node db-0 (${PRIMARY}) runs on arm64 (t4g.medium) but the plan's m6i.xlarge is x86_64: its disk holds an arm64 system that would not boot there. ` +
        'Choose an arm64 instance type, or deploy the new architecture as a new plan and move the data',
    );
    expect(sentActions()).toEqual(['ec2:DescribeInstances']);
  });

  it('converges on a retry after the type was changed but the start failed: it only starts the node', async () => {
    fleet([instance(PRIMARY, 'db-0', 'running')], { start: [ec2Error('InsufficientInstanceCapacity')] });
    disks(20, PRIMARY);
    const aws = provider();

    await expect(aws.launchNodes(target(largerSingle), network)).rejects.toMatchObject({
      name: 'CapacityError',
      code: 'InsufficientInstanceCapacity',
    });
    const firstAttempt = sentActions().length;
    const nodes = await aws.launchNodes(target(largerSingle), network);

    expect(sentActions().slice(firstAttempt)).toEqual([...lookup, 'ec2:StartInstances', 'ec2:DescribeInstances', 'ec2:DescribeInstances']);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(ModifyInstanceAttributeCommand))).toEqual([{ InstanceId: PRIMARY, InstanceType: { Value: 't4g.large' } }]);
    expect(inputs(ec2Mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }, { InstanceIds: [PRIMARY] }]);
    expect(nodes).toEqual([{ name: 'db-0', role: 'primary', nodeId: PRIMARY, host: '198.51.100.100', port: 5432 }]);
  });

  it('leaves the primary serving when the replica does not come back', async () => {
    fleet(runningPair(), { start: [ec2Error('InsufficientInstanceCapacity')] });
    disks(20, PRIMARY, REPLICA);

    await expect(provider().launchNodes(target(largerPair), network)).rejects.toThrow(CapacityError);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }]);
  });

  it('reports a node that started and stopped again for want of capacity as a CapacityError', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance(PRIMARY, 'db-0', 'stopped', { InstanceType: 't4g.large' })))
      .resolves(
        reservations(
          instance(PRIMARY, 'db-0', 'stopped', {
            InstanceType: 't4g.large',
            StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' },
          }),
        ),
      );
    ec2Mock.on(StartInstancesCommand).resolves({});
    disks(20, PRIMARY);

    await expect(provider().launchNodes(target(largerSingle), network)).rejects.toMatchObject({
      name: 'CapacityError',
      code: 'InsufficientInstanceCapacity',
      message: `node db-0 (${PRIMARY}) could not start: Server.InsufficientInstanceCapacity: Insufficient capacity.`,
    });
  });

  it('surfaces throttling of StopInstances as a TransientError and changes nothing', async () => {
    fleet(runningPair(), { stop: [ec2Error('RequestLimitExceeded')] });
    disks(20, PRIMARY, REPLICA);

    await expect(provider().launchNodes(target(largerPair), network)).rejects.toMatchObject({
      name: 'TransientError',
      code: 'RequestLimitExceeded',
      message: 'ec2:StopInstances failed: RequestLimitExceeded: RequestLimitExceeded (mocked)',
    });
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }]);
    expect(ec2Mock.commandCalls(ModifyInstanceAttributeCommand)).toHaveLength(0);
  });

  it('starts a node again with its old type when EC2 refuses the new one', async () => {
    fleet([instance(PRIMARY, 'db-0', 'running')], { modify: [ec2Error('InvalidParameterValue', 'not supported')] });
    disks(20, PRIMARY);

    await expect(provider().launchNodes(target(largerSingle), network)).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'InvalidParameterValue',
      message: `ec2:ModifyInstanceAttribute failed: InvalidParameterValue: not supported; node db-0 (${PRIMARY}) was started again as t4g.medium`,
    });
    expect(inputs(ec2Mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }]);
  });

  it('gives up with a TransientError when a node takes too long to stop, before changing its type', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance(PRIMARY, 'db-0', 'running')))
      .resolves(reservations(instance(PRIMARY, 'db-0', 'stopping')));
    ec2Mock.on(StopInstancesCommand).resolves({});
    disks(20, PRIMARY);

    await expect(provider().launchNodes(target(largerSingle), network)).rejects.toThrow(
      new TransientError(`node db-0 (${PRIMARY}) did not become stopped within 180 s`),
    );
    expect(sleep).toHaveBeenCalledTimes(36);
    expect(ec2Mock.commandCalls(ModifyInstanceAttributeCommand)).toHaveLength(0);
  });
});
describe('health', () => {
  const nodes = [node('db-0', 'primary', 'i-0000000000000000a'), node('db-1', 'replica', 'i-0000000000000000b')];

  it('reports each node from its instance state and status checks', async () => {
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: [
        {
          InstanceId: 'i-0000000000000000a',
          InstanceState: { Name: 'running', Code: 16 },
          SystemStatus: { Status: 'ok' },
          InstanceStatus: { Status: 'ok' },
        },
        {
          InstanceId: 'i-0000000000000000b',
          InstanceState: { Name: 'running', Code: 16 },
          SystemStatus: { Status: 'ok' },
          InstanceStatus: { Status: 'impaired' },
        },
      ],
    });

    await expect(provider().health(target(cluster), nodes)).resolves.toEqual([
      { name: 'db-0', role: 'primary', healthy: true },
      { name: 'db-1', role: 'replica', healthy: false, detail: 'status checks: system ok, instance impaired' },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstanceStatusCommand))).toEqual([
      { InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'], IncludeAllInstances: true },
    ]);
  });

  it('reports a stopped node and a missing one', async () => {
    ec2Mock
      .on(DescribeInstanceStatusCommand, { InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] })
      .rejects(ec2Error('InvalidInstanceID.NotFound'))
      .on(DescribeInstanceStatusCommand, { InstanceIds: ['i-0000000000000000a'] })
      .resolves({ InstanceStatuses: [{ InstanceId: 'i-0000000000000000a', InstanceState: { Name: 'stopped', Code: 80 } }] })
      .on(DescribeInstanceStatusCommand, { InstanceIds: ['i-0000000000000000b'] })
      .rejects(ec2Error('InvalidInstanceID.NotFound'));

    await expect(provider().health(target(cluster), nodes)).resolves.toEqual([
      { name: 'db-0', role: 'primary', healthy: false, detail: 'the instance is stopped' },
      { name: 'db-1', role: 'replica', healthy: false, detail: 'the instance does not exist' },
    ]);
  });
});
describe('the plan’s node role', () => {
  const network = { networkId: GROUP_ID };
  const parameters = 'arn:aws:ssm:eu-central-1:123456789012:parameter/cloudseed/p-1/*';
  const boundary = 'arn:aws:iam::123456789012:policy/CloudSeedNodeBoundary';

  function launchable(): void {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });
  }

  function sentPolicy(): {
    Version: string;
    Statement: Array<{ Sid: string; Action: string[]; Resource: string; Condition?: Record<string, Record<string, string>> }>;
  } {
    const [input] = inputs(iamMock.commandCalls(PutRolePolicyCommand));
    return JSON.parse(input!.PolicyDocument!) as ReturnType<typeof sentPolicy>;
  }

  it('is created in a fresh account, under /cloudseed/nodes/ with the boundary, given the plan’s policy, put in its profile, and launched with', async () => {
    launchable();
    iamMock.on(CreateRoleCommand).resolves({});
    iamMock.on(PutRolePolicyCommand).resolves({});
    iamMock.on(GetInstanceProfileCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(CreateInstanceProfileCommand).resolves({});
    iamMock.on(AddRoleToInstanceProfileCommand).resolves({});

    await provider().launchNodes(target(), network);

    expect(sentActions().filter((action) => !action.startsWith('sts:'))).toEqual([
      'ec2:DescribeInstances',
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'iam:GetInstanceProfile',
      'iam:CreateInstanceProfile',
      'iam:AddRoleToInstanceProfile',
      'ec2:RunInstances',
    ]);
    const [role] = inputs(iamMock.commandCalls(CreateRoleCommand));
    expect({ ...role, AssumeRolePolicyDocument: JSON.parse(role!.AssumeRolePolicyDocument!) as unknown }).toEqual({
      RoleName: PROFILE,
      Path: '/cloudseed/nodes/',
      PermissionsBoundary: boundary,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Description: "CloudSeed PostgreSQL nodes of plan p-1: SSM agent, the plan's password parameters and backups",
    });
    expect(inputs(iamMock.commandCalls(PutRolePolicyCommand)).map(({ RoleName, PolicyName }) => ({ RoleName, PolicyName }))).toEqual([
      { RoleName: PROFILE, PolicyName: 'CloudSeedPlan' },
    ]);
    expect(sentPolicy()).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'SsmAgent',
          Effect: 'Allow',
          Action: [
            'ssm:UpdateInstanceInformation',
            'ec2messages:AcknowledgeMessage',
            'ec2messages:DeleteMessage',
            'ec2messages:FailMessage',
            'ec2messages:GetEndpoint',
            'ec2messages:GetMessages',
            'ec2messages:SendReply',
            'ssmmessages:CreateControlChannel',
            'ssmmessages:OpenControlChannel',
          ],
          Resource: '*',
        },
        { Sid: 'ReadPlanParameters', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: parameters },
        {
          Sid: 'DecryptPlanParameters',
          Effect: 'Allow',
          Action: ['kms:Decrypt'],
          Resource: 'arn:aws:kms:eu-central-1:123456789012:key/*',
          Condition: {
            StringEquals: { 'kms:ViaService': 'ssm.eu-central-1.amazonaws.com' },
            StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameters },
          },
        },
        {
          Sid: 'StreamPlanBackups',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
          Resource: 'arn:aws:s3:::cloudseed-backups-123456789012-*/plans/p-1/*',
          Condition: { StringEquals: { 's3:ResourceAccount': '123456789012' } },
        },
        {
          Sid: 'ArchivePlanRepository',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
          Resource: 'arn:aws:s3:::cloudseed-backups-123456789012-*/pgbackrest/p-1/*',
          Condition: { StringEquals: { 's3:ResourceAccount': '123456789012' } },
        },
        {
          Sid: 'PublishMetrics',
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricData'],
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'CloudSeed/PostgreSQL' } },
        },
        {
          Sid: 'ListPlanRepository',
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: 'arn:aws:s3:::cloudseed-backups-123456789012-*',
          Condition: {
            StringEquals: { 's3:ResourceAccount': '123456789012' },
            StringLike: { 's3:prefix': ['pgbackrest/p-1', 'pgbackrest/p-1/*'] },
          },
        },
      ],
    });
    expect(inputs(iamMock.commandCalls(CreateInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, Path: '/cloudseed/nodes/' }]);
    expect(inputs(iamMock.commandCalls(AddRoleToInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, RoleName: PROFILE }]);
    expect(inputs(ec2Mock.commandCalls(RunInstancesCommand))[0]?.IamInstanceProfile).toEqual({ Name: PROFILE });
  });

  it('lets no statement read parameters on "*" or decrypt without naming the plan’s parameters in the encryption context', async () => {
    launchable();
    nodeRoleExists();

    await provider().launchNodes(target(), network);

    const statements = sentPolicy().Statement;
    const reads = statements.filter((statement) => statement.Action.some((action) => action.startsWith('ssm:GetParameter')));
    const decrypts = statements.filter((statement) => statement.Action.includes('kms:Decrypt'));
    expect(reads.map((statement) => statement.Resource)).toEqual([parameters]);
    expect(decrypts.map((statement) => statement.Condition?.StringLike?.['kms:EncryptionContext:PARAMETER_ARN'])).toEqual([parameters]);
  });

  it('is kept when it exists already: no error, the policy rewritten, nothing created twice', async () => {
    launchable();
    nodeRoleExists();

    await expect(provider().launchNodes(target(), network)).resolves.toHaveLength(1);

    expect(sentActions().filter((action) => action.startsWith('iam:'))).toEqual(['iam:CreateRole', 'iam:PutRolePolicy', 'iam:GetInstanceProfile']);
  });

  it('adds the role to a profile an interrupted run left empty', async () => {
    launchable();
    nodeRoleExists();
    iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: PROFILE, Roles: [] } as never });
    iamMock.on(AddRoleToInstanceProfileCommand).resolves({});

    await provider().launchNodes(target(), network);

    expect(inputs(iamMock.commandCalls(AddRoleToInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, RoleName: PROFILE }]);
    expect(iamMock.commandCalls(CreateInstanceProfileCommand)).toHaveLength(0);
  });

  it('refuses a profile of the plan’s name that holds another role, and launches nothing', async () => {
    launchable();
    nodeRoleExists();
    iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: PROFILE, Roles: [{ RoleName: 'Admin' }] } as never });

    await expect(provider().launchNodes(target(), network)).rejects.toThrow(
      new PermanentError(`instance profile ${PROFILE} holds Admin, not the plan's node role ${PROFILE}`),
    );
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('waits for EC2 to see a new instance profile, launching again with the same ClientToken', async () => {
    launchable();
    nodeRoleExists();
    const notYet = ec2Error(
      'InvalidParameterValue',
      'Value (CloudSeedNode-p-1) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
    );
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(notYet)
      .rejectsOnce(notYet)
      .resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });

    const nodes = await provider().launchNodes(target(), network);

    expect(nodes.map((ref) => ref.nodeId)).toEqual(['i-0000000000000000a']);
    const tokens = inputs(ec2Mock.commandCalls(RunInstancesCommand)).map((input) => input.ClientToken);
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);
    expect(sleep.mock.calls).toEqual([[5_000], [5_000]]);
  });

  it('gives up waiting for the profile with a TransientError, which the state machine retries', async () => {
    launchable();
    nodeRoleExists();
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error('InvalidParameterValue', 'Invalid IAM Instance Profile name'));

    await expect(provider().launchNodes(target(), network)).rejects.toMatchObject({ name: 'TransientError', code: 'InvalidParameterValue' });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(13);
  });

  it('is removed with the plan’s last instance: role out of the profile, profile, policy, role; what is gone already counts as removed', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock.on(DeleteParametersCommand).resolves({});
    iamMock.on(RemoveRoleFromInstanceProfileCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(DeleteInstanceProfileCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(DeleteRolePolicyCommand).resolves({});
    iamMock.on(DeleteRoleCommand).resolves({});

    await provider().destroy(target());

    expect(inputs(iamMock.commandCalls(RemoveRoleFromInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, RoleName: PROFILE }]);
    expect(inputs(iamMock.commandCalls(DeleteInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE }]);
    expect(inputs(iamMock.commandCalls(DeleteRolePolicyCommand))).toEqual([{ RoleName: PROFILE, PolicyName: 'CloudSeedPlan' }]);
    expect(inputs(iamMock.commandCalls(DeleteRoleCommand))).toEqual([{ RoleName: PROFILE }]);

    iamMock.on(DeleteRolePolicyCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(DeleteRoleCommand).rejects(iamError('NoSuchEntity'));
    await expect(provider().destroy(target())).resolves.toBeUndefined();
  });

  it('stays while another component of the plan still has instances', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations())
      .resolves(reservations(instance('i-0000000000000000f', 'cache-0', 'running')));
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock.on(DeleteParametersCommand).resolves({});

    await provider().destroy(target());

    expect(iamMock.calls()).toHaveLength(0);
  });

  it('is retried when IAM still holds it in the profile', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock.on(DeleteParametersCommand).resolves({});
    nodeRoleRemovable();
    iamMock.on(DeleteRoleCommand).rejects(iamError('DeleteConflict'));

    await expect(provider().destroy(target())).rejects.toMatchObject({ name: 'TransientError', code: 'DeleteConflict' });
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.instances);
