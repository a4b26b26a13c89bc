import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupsCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteRoleCommand } from '@aws-sdk/client-iam';
import { beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../providers/errors.ts';
import {
  AWS_ACTIONS_PROVEN,
  BALANCER_ARN,
  BALANCER_DNS,
  balancerReady,
  elbMock,
  ENDPOINT_GROUP_ID,
  TARGET_GROUP_ARN,
  cluster,
  haCluster,
  COMPONENT_FILTERS,
  ec2Error,
  ec2Mock,
  GROUP_ID,
  iamMock,
  inputs,
  instance,
  itSentOnlyListedActions,
  mockAws,
  nodeRoleExists,
  nodeRoleRemovable,
  PASSWORD,
  PLAN_ID,
  PROFILE,
  provider,
  reservations,
  sentActions,
  ssmMock,
  stsMock,
  target,
} from '../support/aws.ts';

mockAws();

describe('destroy', () => {
  const liveFilter = [...COMPONENT_FILTERS, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }];
  const planFilter = [
    { Name: 'tag:cloudseed:plan-id', Values: [PLAN_ID] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
  ];
  const nodeRoleRemoval = ['iam:RemoveRoleFromInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:DeleteRolePolicy', 'iam:DeleteRole'];
  beforeEach(nodeRoleRemovable);

  it('terminates the nodes, waits for them, deletes the group (retrying while ENIs detach), then the passwords', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance('i-0000000000000000a', 'db-0', 'running'), instance('i-0000000000000000b', 'db-1', 'stopped')))
      .resolvesOnce(reservations(instance('i-0000000000000000a', 'db-0', 'shutting-down')))
      .resolves(reservations());
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock
      .on(DeleteSecurityGroupCommand)
      .rejectsOnce(ec2Error('DependencyViolation', 'resource sg-0123456789abcdef0 has a dependent object'))
      .rejectsOnce(ec2Error('DependencyViolation', 'resource sg-0123456789abcdef0 has a dependent object'))
      .resolves({ Return: true });
    ssmMock
      .on(DeleteParametersCommand)
      .resolves({ DeletedParameters: ['/cloudseed/p-1/db/password'], InvalidParameters: ['/cloudseed/p-1/db/replication-password'] });

    await provider().destroy(target(cluster));

    expect(sentActions()).toEqual([
      'ec2:DescribeInstances',
      'ec2:TerminateInstances',
      'ec2:DescribeInstances',
      'ec2:DescribeInstances',
      'ec2:DescribeSecurityGroups',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSecurityGroup',
      'ssm:DeleteParameters',
      'ec2:DescribeInstances',
      ...nodeRoleRemoval,
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      { Filters: liveFilter },
      { Filters: liveFilter },
      { Filters: liveFilter },
      { Filters: planFilter },
    ]);
    expect(inputs(ec2Mock.commandCalls(TerminateInstancesCommand))).toEqual([{ InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] }]);
    expect(inputs(ec2Mock.commandCalls(DeleteSecurityGroupCommand))).toEqual([{ GroupId: GROUP_ID }, { GroupId: GROUP_ID }, { GroupId: GROUP_ID }]);
    expect(inputs(ssmMock.commandCalls(DeleteParametersCommand))).toEqual([
      {
        Names: [
          '/cloudseed/p-1/db/password',
          '/cloudseed/p-1/db/replication-password',
          '/cloudseed/p-1/certificate-authority',
          '/cloudseed/p-1/db/archive-cipher-pass',
          '/cloudseed/p-1/db/rewind-password',
          '/cloudseed/p-1/db/patroni-password',
        ],
      },
    ]);
  });

  it('is a no-op apart from the parameters when nothing is there', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock
      .on(DeleteParametersCommand)
      .resolves({ DeletedParameters: [], InvalidParameters: ['/cloudseed/p-1/db/password', '/cloudseed/p-1/db/replication-password'] });

    await provider().destroy(target());

    expect(sentActions()).toEqual([
      'ec2:DescribeInstances',
      'ec2:DescribeSecurityGroups',
      'ssm:DeleteParameters',
      'ec2:DescribeInstances',
      ...nodeRoleRemoval,
    ]);
  });

  it('treats a group deleted in the meantime as deleted', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(ec2Error('InvalidGroup.NotFound'));
    ssmMock.on(DeleteParametersCommand).resolves({});

    await expect(provider().destroy(target())).resolves.toBeUndefined();
  });

  it('gives up with a TransientError when the group stays in use', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(ec2Error('DependencyViolation'));

    await expect(provider().destroy(target())).rejects.toMatchObject({ name: 'TransientError', code: 'DependencyViolation' });
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(13);
    expect(ssmMock.commandCalls(DeleteParametersCommand)).toHaveLength(0);
  });

  it('gives up with a TransientError when instances take too long to terminate', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations(instance('i-0000000000000000a', 'db-0', 'shutting-down')));
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    await expect(provider().destroy(target())).rejects.toThrow(TransientError);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });
});
describe('a whole deployment and teardown', () => {
  it('goes through every step against a fresh account', async () => {
    const ids = ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'];
    const running = reservations(...ids.map((id, index) => instance(id, `db-${index}`, 'running', { PrivateIpAddress: `172.31.5.${10 + index}` })));
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({ SecurityGroups: [] })
      .resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock
      .on(DescribeSecurityGroupsCommand, { Filters: [{ Name: 'group-name', Values: ['cloudseed-p-1-db-endpoint'] }, ...COMPONENT_FILTERS] })
      .resolvesOnce({ SecurityGroups: [] })
      .resolves({ SecurityGroups: [{ GroupId: ENDPOINT_GROUP_ID }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(CreateSecurityGroupCommand, { GroupName: 'cloudseed-p-1-db-endpoint' }).resolves({ GroupId: ENDPOINT_GROUP_ID });
    balancerReady();
    elbMock.on(DeleteLoadBalancerCommand).resolves({});
    elbMock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN }] });
    elbMock.on(DeleteTargetGroupCommand).resolves({});
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations())
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolves(reservations());
    ec2Mock
      .on(RunInstancesCommand)
      .resolvesOnce({ Instances: [{ InstanceId: ids[0] }] })
      .resolvesOnce({ Instances: [{ InstanceId: ids[1] }] })
      .resolvesOnce({ Instances: [{ InstanceId: ids[2] }] });
    // The load balancer describes the nodes it forwards to by their ids.
    ec2Mock.on(DescribeInstancesCommand, { InstanceIds: ids }).resolves(running);
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: ids.map((id) => ({
        InstanceId: id,
        InstanceState: { Name: 'running' as const, Code: 16 },
        SystemStatus: { Status: 'ok' as const },
        InstanceStatus: { Status: 'ok' as const },
      })),
    });
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: PASSWORD } });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: ids.map((id) => ({ InstanceId: id, PingStatus: 'Online' as const })) });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    // Every command succeeds; the one that asks Patroni prints its GET /cluster answer.
    const patroniAnswer = {
      members: [
        { name: 'db-0', role: 'leader', state: 'running', host: '172.31.5.10', port: 5432, timeline: 1 },
        { name: 'db-1', role: 'replica', state: 'streaming', host: '172.31.5.11', port: 5432, timeline: 1, lag: 0 },
        { name: 'db-2', role: 'replica', state: 'streaming', host: '172.31.5.12', port: 5432, timeline: 1, lag: 0 },
      ],
    };
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: JSON.stringify(patroniAnswer) });
    ssmMock.on(DeleteParametersCommand).resolves({});
    nodeRoleExists();
    nodeRoleRemovable();
    const aws = provider();
    const deployment = target(haCluster);

    await aws.preflight(deployment);
    await aws.ensurePassword(deployment);
    const network = await aws.ensureSecurityGroup(deployment);
    const nodes = await aws.launchNodes(deployment, network);
    await expect(aws.nodesReady(deployment, nodes)).resolves.toEqual({ state: 'done' });
    for (const kind of ['install', 'configure'] as const) {
      const command = await aws.sendCommand(deployment, nodes, kind);
      await expect(aws.commandStatus(deployment, command)).resolves.toEqual({ state: 'done' });
    }
    await aws.verify(deployment, nodes);
    await expect(aws.ensureEndpoint(deployment, nodes)).resolves.toEqual({ host: BALANCER_DNS, port: 5432 });
    await expect(aws.health(deployment, nodes)).resolves.toEqual(
      nodes.map((ref) => ({
        name: ref.name,
        role: ref.role,
        healthy: true,
        ha:
          ref.role === 'primary'
            ? { patroniRole: 'leader', state: 'running', timeline: 1 }
            : { patroniRole: 'replica', state: 'streaming', timeline: 1, lagBytes: 0 },
      })),
    );
    await expect(aws.readPassword(deployment)).resolves.toBe(PASSWORD);
    await aws.destroy(deployment);

    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(nodes.map((ref) => ref.nodeId)).toEqual(ids);
    expect(inputs(ec2Mock.commandCalls(RunInstancesCommand)).map((input) => input.IamInstanceProfile)).toEqual(ids.map(() => ({ Name: PROFILE })));
    expect(iamMock.commandCalls(DeleteRoleCommand)).toHaveLength(1);
    expect(inputs(elbMock.commandCalls(RegisterTargetsCommand)).map((input) => input.Targets)).toEqual([
      ids.map((Id) => ({ Id })),
      ids.map((Id) => ({ Id })),
    ]);
    expect(inputs(elbMock.commandCalls(DeleteLoadBalancerCommand))).toEqual([{ LoadBalancerArn: BALANCER_ARN }]);
    expect(inputs(ec2Mock.commandCalls(DeleteSecurityGroupCommand))).toEqual([{ GroupId: GROUP_ID }, { GroupId: ENDPOINT_GROUP_ID }]);
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.provider);
