import { createHash } from 'node:crypto';
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
import type { LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { ClusterEndpoint, NodeRef } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import type { AwsContext } from './clients.ts';
import { awsErrorCode, call, described } from './errors.ts';
import { endpointGroupId } from './network.ts';

// One address for a Patroni cluster's clients inside the VPC: an internal Network Load Balancer
// with a TCP listener on PostgreSQL's port, forwarding to a target group of the cluster's
// instances whose health check is Patroni's `GET /primary` (200 on the leader only). After a
// failover the new leader turns healthy and the old one unhealthy within two checks, and the
// connections still open to the old one are closed, so clients reconnect to the new leader.
//
// It is made when the nodes are launched, so that configure can put its DNS name in every
// server's certificate (sslmode=verify-full through the load balancer), and converged again when
// the deployment is verified. With every target unhealthy (no leader) an NLB forwards to all of
// them; a replica then refuses writes, which is the truth.
//
// Names are derived from the plan and component (ELB names are at most 32 characters, unique per
// account and region), so every call is idempotent: CreateLoadBalancer, CreateTargetGroup and
// CreateListener return what exists when it has the same settings.

/** `cs-` and 24 hex digits of the plan and component: the load balancer's and its target group's name. */
export function endpointName(planId: string, componentId: string): string {
  return `cs-${createHash('sha256').update(`${planId}/${componentId}`).digest('hex').slice(0, 24)}`;
}

/**
 * Connections to a target that stops being the leader are closed, not left to drain: writes there
 * would fail anyway. A node removed from the plan drains for 10 s.
 */
const TARGET_GROUP_ATTRIBUTES = [
  { Key: 'deregistration_delay.timeout_seconds', Value: '10' },
  { Key: 'deregistration_delay.connection_termination.enabled', Value: 'true' },
  { Key: 'target_health_state.unhealthy.connection_termination.enabled', Value: 'true' },
];

const DELETE_POLL_MS = 10_000;
const DELETE_POLLS = 18;

/** Creates (or finds) the load balancer, its target group and listener, and registers exactly the plan's nodes. */
export async function ensureEndpoint(context: AwsContext, nodes: readonly NodeRef[]): Promise<ClusterEndpoint | undefined> {
  const { component, target } = context;
  const endpoint = component.endpoint;
  if (!endpoint) return undefined;
  const elb = context.clients.elb;
  const name = endpointName(target.planId, component.id);
  const securityGroup = await endpointGroupId(context);
  if (!securityGroup) throw new TransientError(`the security group of ${component.id}'s load balancer does not exist yet`);
  const instances = await instancesOf(context, nodes);
  const subnets = [...new Set(instances.map((instance) => instance.subnetId))];

  const balancer = await created('elasticloadbalancing:CreateLoadBalancer', () =>
    elb.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: 'internal',
        IpAddressType: 'ipv4',
        Subnets: subnets,
        SecurityGroups: [securityGroup],
        Tags: [...endpoint.tags],
      }),
    ),
  ).then((output) => output.LoadBalancers?.[0]);
  const group = await created('elasticloadbalancing:CreateTargetGroup', () =>
    elb.send(
      new CreateTargetGroupCommand({
        Name: name,
        Protocol: 'TCP',
        Port: endpoint.port,
        VpcId: instances[0]!.vpcId,
        TargetType: 'instance',
        ...endpoint.healthCheck,
        HealthCheckEnabled: true,
        Matcher: { ...endpoint.healthCheck.Matcher },
        Tags: [...endpoint.tags],
      }),
    ),
  ).then((output) => output.TargetGroups?.[0]);
  const balancerArn = balancer?.LoadBalancerArn;
  const groupArn = group?.TargetGroupArn;
  if (!balancerArn || !groupArn || !balancer.DNSName) throw new TransientError(`the load balancer of ${component.id} was not returned by AWS`);

  await call('elasticloadbalancing:ModifyTargetGroupAttributes', () =>
    elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: groupArn, Attributes: TARGET_GROUP_ATTRIBUTES })),
  );
  await call('elasticloadbalancing:CreateListener', () =>
    elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: balancerArn,
        Protocol: 'TCP',
        Port: endpoint.port,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: groupArn }],
        Tags: [...endpoint.tags],
      }),
    ),
  );
  await registerExactly(
    context,
    groupArn,
    instances.map((instance) => instance.instanceId),
  );
  return { host: balancer.DNSName, port: endpoint.port };
}

/** The load balancer's address, or undefined when the component has none (yet). */
export async function describeEndpoint(context: AwsContext): Promise<ClusterEndpoint | undefined> {
  const { component, target } = context;
  if (!component.endpoint) return undefined;
  const name = endpointName(target.planId, component.id);
  const balancer = await findLoadBalancer(context, name);
  return balancer?.DNSName ? { host: balancer.DNSName, port: component.endpoint.port } : undefined;
}

function findLoadBalancer({ clients: { elb } }: AwsContext, name: string): Promise<LoadBalancer | undefined> {
  return described('elasticloadbalancing:DescribeLoadBalancers', 'LoadBalancerNotFound', () =>
    elb.send(new DescribeLoadBalancersCommand({ Names: [name] })).then((output) => output.LoadBalancers?.[0]),
  );
}

/** Deletes the load balancer (its listener with it) and then its target group, which AWS keeps in use until the balancer is gone. */
export async function removeEndpoint(context: AwsContext): Promise<void> {
  const { component, target } = context;
  if (!component.endpoint) return;
  const elb = context.clients.elb;
  const name = endpointName(target.planId, component.id);
  const balancer = await findLoadBalancer(context, name);
  if (balancer?.LoadBalancerArn) {
    const arn = balancer.LoadBalancerArn;
    await call('elasticloadbalancing:DeleteLoadBalancer', () => elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })));
  }
  const group = await described('elasticloadbalancing:DescribeTargetGroups', 'TargetGroupNotFound', () =>
    elb.send(new DescribeTargetGroupsCommand({ Names: [name] })).then((output) => output.TargetGroups?.[0]),
  );
  const groupArn = group?.TargetGroupArn;
  if (!groupArn) return;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await call('elasticloadbalancing:DeleteTargetGroup', () => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: groupArn })));
      return;
    } catch (error) {
      if (awsErrorCode(error) !== 'ResourceInUse') throw error;
      if (attempt === DELETE_POLLS)
        throw new TransientError(`target group ${name} is still in use by its load balancer`, { code: 'ResourceInUse', cause: error });
      await context.clock.sleep(DELETE_POLL_MS);
    }
  }
}

interface EndpointInstance {
  readonly instanceId: string;
  readonly subnetId: string;
  readonly vpcId: string;
}

/** Where the nodes run: the load balancer goes in their subnets, the target group in their VPC. */
async function instancesOf({ clients: { ec2 }, component }: AwsContext, nodes: readonly NodeRef[]): Promise<EndpointInstance[]> {
  const ids = nodes.map((node) => node.nodeId);
  let output;
  try {
    output = await call('ec2:DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })));
  } catch (error) {
    // EC2 is eventually consistent: an instance launched a moment ago may not be described yet.
    if (awsErrorCode(error) === 'InvalidInstanceID.NotFound')
      throw new TransientError(`the instances of ${component.id} are not visible yet`, { code: 'InvalidInstanceID.NotFound', cause: error });
    throw error;
  }
  const instances = (output.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []);
  return ids.map((id) => {
    const instance = instances.find((candidate) => candidate.InstanceId === id);
    if (!instance) throw new TransientError(`instance ${id} of ${component.id} is not visible yet`);
    if (!instance.SubnetId || !instance.VpcId) throw new PermanentError(`instance ${id} of ${component.id} is not in a VPC subnet`);
    return { instanceId: id, subnetId: instance.SubnetId, vpcId: instance.VpcId };
  });
}

/** Registers the plan's instances and deregisters any other (a node the plan no longer has). */
async function registerExactly(context: AwsContext, groupArn: string, instanceIds: readonly string[]): Promise<void> {
  const elb = context.clients.elb;
  const health = await call('elasticloadbalancing:DescribeTargetHealth', () =>
    elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn })),
  );
  const registered = new Set(
    (health.TargetHealthDescriptions ?? []).flatMap((description) => (description.Target?.Id ? [description.Target.Id] : [])),
  );
  const missing = instanceIds.filter((id) => !registered.has(id));
  const extra = [...registered].filter((id) => !instanceIds.includes(id));
  if (missing.length > 0) {
    await call('elasticloadbalancing:RegisterTargets', () =>
      elb.send(new RegisterTargetsCommand({ TargetGroupArn: groupArn, Targets: missing.map((Id) => ({ Id })) })),
    );
  }
  if (extra.length > 0) {
    await call('elasticloadbalancing:DeregisterTargets', () =>
      elb.send(new DeregisterTargetsCommand({ TargetGroupArn: groupArn, Targets: extra.map((Id) => ({ Id })) })),
    );
  }
}

/** A create call that returns what exists when it has the same settings; other settings are a clear error. */
async function created<R>(action: string, send: () => Promise<R>): Promise<R> {
  try {
    return await call(action, send);
  } catch (error) {
    if (awsErrorCode(error) === 'DuplicateLoadBalancerName' || awsErrorCode(error) === 'DuplicateTargetGroupName')
      throw new PermanentError(`${action}: a load balancer resource of this plan exists with other settings; remove it and deploy again`, {
        code: awsErrorCode(error)!,
        cause: error,
      });
    throw error;
  }
}
