import {
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteParametersCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../providers/errors.ts';
import { endpointName } from '../../providers/aws/endpoint.ts';
import {
  AWS_ACTIONS_PROVEN,
  BALANCER_ARN,
  BALANCER_DNS,
  balancerReady,
  BASE_TAGS,
  cluster,
  COMPONENT_FILTERS,
  ec2Mock,
  elbError,
  elbMock,
  ENDPOINT_GROUP_ID,
  ENDPOINT_NAME,
  GROUP_ID,
  haCluster,
  inputs,
  instance,
  itSentOnlyListedActions,
  mockAws,
  nodeRoleRemovable,
  provider,
  reservations,
  rootVolume,
  sentActions,
  sleep,
  ssmMock,
  TARGET_GROUP_ARN,
  target,
  HA_IDS,
  haNodes,
  haRunning,
} from '../support/aws.ts';

// A Patroni cluster on AWS has one address for clients inside the VPC: an internal Network Load
// Balancer whose target group health-checks Patroni's /primary, so it forwards to the leader only.

mockAws();

const ids = [...HA_IDS];
const nodes = haNodes();
const running = haRunning();
const endpointGroupLookup = { Filters: [{ Name: 'group-name', Values: ['cloudseed-p-1-db-endpoint'] }, ...COMPONENT_FILTERS] };
const TAGS = [...BASE_TAGS, { Key: 'Name', Value: 'orders/db' }];

function endpointGroupExists(): void {
  ec2Mock.on(DescribeSecurityGroupsCommand, endpointGroupLookup).resolves({ SecurityGroups: [{ GroupId: ENDPOINT_GROUP_ID }] });
}

describe('the load balancer of a Patroni cluster', () => {
  it('is named from the plan and component within the 32 characters ELB allows', () => {
    expect(endpointName('p-1', 'db')).toBe(ENDPOINT_NAME);
    expect(endpointName('3f6c1a0e-6d1b-4a57-9d0c-2b4f1e7a9c11', 'a-component-id-of-31-characters')).toMatch(/^cs-[0-9a-f]{24}$/);
    expect(endpointName('p-1', 'db')).not.toBe(endpointName('p-1', 'db2'));
  });

  it('is an internal NLB in the nodes’ subnet behind its own group, forwarding 5432 to the instance Patroni’s /primary says leads', async () => {
    endpointGroupExists();
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady();

    await expect(provider().ensureEndpoint(target(haCluster), nodes)).resolves.toEqual({ host: BALANCER_DNS, port: 5432 });

    expect(inputs(ec2Mock.commandCalls(DescribeSecurityGroupsCommand))).toEqual([endpointGroupLookup]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([{ InstanceIds: ids }]);
    expect(inputs(elbMock.commandCalls(CreateLoadBalancerCommand))).toEqual([
      {
        Name: ENDPOINT_NAME,
        Type: 'network',
        Scheme: 'internal',
        IpAddressType: 'ipv4',
        Subnets: ['subnet-1'],
        SecurityGroups: [ENDPOINT_GROUP_ID],
        Tags: TAGS,
      },
    ]);
    expect(inputs(elbMock.commandCalls(CreateTargetGroupCommand))).toEqual([
      {
        Name: ENDPOINT_NAME,
        Protocol: 'TCP',
        Port: 5432,
        VpcId: 'vpc-1',
        TargetType: 'instance',
        HealthCheckEnabled: true,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: '8008',
        HealthCheckPath: '/primary',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: '200' },
        Tags: TAGS,
      },
    ]);
    expect(inputs(elbMock.commandCalls(ModifyTargetGroupAttributesCommand))).toEqual([
      {
        TargetGroupArn: TARGET_GROUP_ARN,
        Attributes: [
          { Key: 'deregistration_delay.timeout_seconds', Value: '10' },
          { Key: 'deregistration_delay.connection_termination.enabled', Value: 'true' },
          { Key: 'target_health_state.unhealthy.connection_termination.enabled', Value: 'true' },
        ],
      },
    ]);
    expect(inputs(elbMock.commandCalls(CreateListenerCommand))).toEqual([
      {
        LoadBalancerArn: BALANCER_ARN,
        Protocol: 'TCP',
        Port: 5432,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: TARGET_GROUP_ARN }],
        Tags: TAGS,
      },
    ]);
    expect(inputs(elbMock.commandCalls(RegisterTargetsCommand))).toEqual([{ TargetGroupArn: TARGET_GROUP_ARN, Targets: ids.map((Id) => ({ Id })) }]);
    expect(elbMock.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
  });

  it('spans every subnet the nodes run in', async () => {
    endpointGroupExists();
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        reservations(
          instance(ids[0]!, 'db-0', 'running', { SubnetId: 'subnet-a' }),
          instance(ids[1]!, 'db-1', 'running', { SubnetId: 'subnet-b' }),
          instance(ids[2]!, 'db-2', 'running', { SubnetId: 'subnet-a' }),
        ),
      );
    balancerReady();

    await provider().ensureEndpoint(target(haCluster), nodes);

    expect(inputs(elbMock.commandCalls(CreateLoadBalancerCommand))[0]?.Subnets).toEqual(['subnet-a', 'subnet-b']);
  });

  it('registers a node the plan gained and deregisters one it no longer has, and leaves the others', async () => {
    endpointGroupExists();
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady([ids[0]!, ids[1]!, 'i-0000000000000000d']);

    await provider().ensureEndpoint(target(haCluster), nodes);

    expect(inputs(elbMock.commandCalls(DescribeTargetHealthCommand))).toEqual([{ TargetGroupArn: TARGET_GROUP_ARN }]);
    expect(inputs(elbMock.commandCalls(RegisterTargetsCommand))).toEqual([{ TargetGroupArn: TARGET_GROUP_ARN, Targets: [{ Id: ids[2] }] }]);
    expect(inputs(elbMock.commandCalls(DeregisterTargetsCommand))).toEqual([
      { TargetGroupArn: TARGET_GROUP_ARN, Targets: [{ Id: 'i-0000000000000000d' }] },
    ]);
  });

  it('is not made for a single server or a primary with one replica, which have no Patroni', async () => {
    await expect(provider().ensureEndpoint(target(), [nodes[0]!])).resolves.toBeUndefined();
    await expect(provider().ensureEndpoint(target(cluster), nodes.slice(0, 2))).resolves.toBeUndefined();
    expect(elbMock.calls()).toHaveLength(0);
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('waits for its security group rather than make a load balancer open to anything', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });

    await expect(provider().ensureEndpoint(target(haCluster), nodes)).rejects.toThrow(TransientError);
    expect(elbMock.calls()).toHaveLength(0);
  });

  it('says which resource clashes when one of the same name exists with other settings', async () => {
    endpointGroupExists();
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    elbMock.on(CreateLoadBalancerCommand).rejects(elbError('DuplicateLoadBalancerName'));

    await expect(provider().ensureEndpoint(target(haCluster), nodes)).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'DuplicateLoadBalancerName',
      message:
        'elasticloadbalancing:CreateLoadBalancer: a load balancer resource of this plan exists with other settings; remove it and deploy again',
    });
    expect(elbMock.commandCalls(CreateTargetGroupCommand)).toHaveLength(0);
  });

  it('is made when the nodes are launched, before configure puts its name in their certificates', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    endpointGroupExists();
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: ids.map((id) => rootVolume(id, 20)) });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });
    balancerReady(ids);

    const launched = await provider().launchNodes(target(haCluster), { networkId: GROUP_ID });

    expect(launched.map((ref) => ref.nodeId)).toEqual(ids);
    expect(elbMock.commandCalls(CreateLoadBalancerCommand)).toHaveLength(1);
    expect(elbMock.commandCalls(RegisterTargetsCommand)).toHaveLength(0);
  });

  it('must exist before configure: a missing one is a TransientError and no command is sent', async () => {
    elbMock.on(DescribeLoadBalancersCommand).rejects(elbError('LoadBalancerNotFound'));

    await expect(provider().sendCommand(target(haCluster), nodes, 'configure')).rejects.toThrow(TransientError);
    expect(inputs(elbMock.commandCalls(DescribeLoadBalancersCommand))).toEqual([{ Names: [ENDPOINT_NAME] }]);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe('tearing down a Patroni cluster', () => {
  it('deletes the load balancer after the nodes, its target group once AWS lets go of it, then the nodes’ group and the load balancer’s', async () => {
    nodeRoleRemovable();
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(running).resolves(reservations());
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    endpointGroupExists();
    ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: BALANCER_ARN, DNSName: BALANCER_DNS }] });
    elbMock.on(DeleteLoadBalancerCommand).resolves({});
    elbMock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN }] });
    elbMock.on(DeleteTargetGroupCommand).rejectsOnce(elbError('ResourceInUse')).resolves({});
    ssmMock.on(DeleteParametersCommand).resolves({});

    await provider().destroy(target(haCluster));

    const sent = sentActions();
    const order = [
      'ec2:TerminateInstances',
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:DeleteTargetGroup',
      'ec2:DeleteSecurityGroup',
      'ssm:DeleteParameters',
    ].map((action) => sent.indexOf(action));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(inputs(elbMock.commandCalls(DescribeLoadBalancersCommand))).toEqual([{ Names: [ENDPOINT_NAME] }]);
    expect(inputs(elbMock.commandCalls(DeleteLoadBalancerCommand))).toEqual([{ LoadBalancerArn: BALANCER_ARN }]);
    expect(inputs(elbMock.commandCalls(DescribeTargetGroupsCommand))).toEqual([{ Names: [ENDPOINT_NAME] }]);
    expect(inputs(elbMock.commandCalls(DeleteTargetGroupCommand))).toEqual([
      { TargetGroupArn: TARGET_GROUP_ARN },
      { TargetGroupArn: TARGET_GROUP_ARN },
    ]);
    expect(sleep).toHaveBeenCalledWith(10_000);
    expect(inputs(ec2Mock.commandCalls(DeleteSecurityGroupCommand))).toEqual([{ GroupId: GROUP_ID }, { GroupId: ENDPOINT_GROUP_ID }]);
  });

  it('goes on when the load balancer and target group are gone already', async () => {
    nodeRoleRemovable();
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    elbMock.on(DescribeLoadBalancersCommand).rejects(elbError('LoadBalancerNotFound'));
    elbMock.on(DescribeTargetGroupsCommand).rejects(elbError('TargetGroupNotFound'));
    ssmMock.on(DeleteParametersCommand).resolves({});

    await expect(provider().destroy(target(haCluster))).resolves.toBeUndefined();
    expect(elbMock.commandCalls(DeleteLoadBalancerCommand)).toHaveLength(0);
    expect(elbMock.commandCalls(DeleteTargetGroupCommand)).toHaveLength(0);
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.endpoint);
