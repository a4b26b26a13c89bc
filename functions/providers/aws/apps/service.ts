import {
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteClusterCommand,
  DeleteServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { Deployment, DeploymentConfiguration, Service, Task } from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancer, TargetGroup } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Progress } from '../../app-provider.ts';
import { PermanentError, TransientError } from '../../errors.ts';
import { awsErrorCode, call, described } from '../errors.ts';
import type { AppContext } from './clients.ts';
import { FAILURE_TAIL, streamTail, withTail } from './logs.ts';
import { APP_CONTAINER, appTags, LOG_PREFIXES, lowerCaseTags, tagMap, token } from './names.ts';
import type { AppNetwork } from './network.ts';
import { awsvpc, releaseStatus, taskStream } from './release.ts';

// What serves an app: an ECS cluster of its own with one Fargate service behind an internet-facing
// Application Load Balancer (HTTP on port 80, forwarding to an IP target group that health-checks
// the app's path every few seconds). A rollout points the service at the release's revision: ECS
// starts the new tasks beside the old ones (maximum 200 %, minimum healthy 100 %), sends traffic to
// them once the target group finds them healthy and drains the old ones. The deployment circuit
// breaker stops a release whose tasks keep failing and rolls back to the one before, which a
// rollout reports as failed, never done.
//
// Each app has its own cluster and load balancer: without a domain, only a port or a path could
// tell a plan's apps apart on one load balancer, and both change the app's address; and a
// teardown then removes only what the app made, with no count of who else uses a shared one while
// another app of the plan deploys beside it. An idle cluster costs nothing; a load balancer about
// 16 USD a month.
//
// Application Auto Scaling keeps the service between instances.count and three times that, aiming
// at 60 % average CPU (scale out after 1 minute, in after 5).

const HTTP_PORT = 80;
const DEREGISTRATION_DELAY_SECONDS = '30';
const SCALING_POLICY = 'cloudseed-cpu-60';
export const TARGET_CPU_PERCENT = 60;
export const SCALE_FACTOR = 3;
const SCALABLE_DIMENSION = 'ecs:service:DesiredCount';
const DELETE_POLL_MS = 10_000;
const DELETE_POLLS = 12;

export const DEPLOYMENT_CONFIGURATION: DeploymentConfiguration = {
  deploymentCircuitBreaker: { enable: true, rollback: true },
  maximumPercent: 200,
  minimumHealthyPercent: 100,
};

/** How the service is wired: where its tasks go and what it registers them with. */
export interface ServiceWiring {
  readonly network: AppNetwork;
  readonly appGroupId: string;
  readonly targetGroupArn: string;
}

/** What rolloutStatus needs to follow a rollout from startRollout on. */
export interface RolloutState {
  readonly taskDefinition: string;
  readonly releaseTask?: string;
  /** When the rollout started (ms): a primary deployment made after it, of another revision, is a rollback. */
  readonly startedAt: number;
  readonly wiring: ServiceWiring;
}

// --- the cluster ---------------------------------------------------------------------------------

export async function ensureCluster(context: AppContext): Promise<void> {
  // CreateCluster returns the cluster that exists under the name.
  await call('ecs:CreateCluster', () =>
    context.clients.ecs.send(new CreateClusterCommand({ clusterName: context.names.cluster, tags: lowerCaseTags(context.target) })),
  );
}

export async function removeCluster(context: AppContext): Promise<void> {
  const { ecs } = context.clients;
  const cluster = context.names.cluster;
  // Looked up first: the role may delete only tagged clusters, and one that is gone has no tags.
  const described = await call('ecs:DescribeClusters', () => ecs.send(new DescribeClustersCommand({ clusters: [cluster] })));
  if (!described.clusters?.some((candidate) => candidate.status === 'ACTIVE')) return;
  try {
    await call('ecs:DeleteCluster', () => ecs.send(new DeleteClusterCommand({ cluster })));
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'ClusterNotFoundException') return;
    if (code === 'ClusterContainsServicesException' || code === 'ClusterContainsTasksException')
      throw new TransientError(`cluster ${cluster} still has tasks stopping`, { code, cause: error });
    throw error;
  }
}

// --- the load balancer ---------------------------------------------------------------------------

/** Creates (or finds) the ALB, its target group and its HTTP listener; returns the target group. */
export async function ensureLoadBalancer(context: AppContext, network: AppNetwork, loadBalancerGroupId: string): Promise<string> {
  const { elb } = context.clients;
  const { names, target } = context;
  const name = names.loadBalancer;
  const tags = appTags(target);
  const balancer = await created('elasticloadbalancing:CreateLoadBalancer', () =>
    elb.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'application',
        Scheme: 'internet-facing',
        IpAddressType: 'ipv4',
        Subnets: [...network.subnetIds],
        SecurityGroups: [loadBalancerGroupId],
        Tags: tags,
      }),
    ),
  ).then((output) => output.LoadBalancers?.[0]);
  const balancerArn = balancer?.LoadBalancerArn;
  if (!balancerArn) throw new TransientError(`the load balancer of ${target.component.id} was not returned by AWS`);
  await call('elasticloadbalancing:ModifyLoadBalancerAttributes', () =>
    elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: balancerArn,
        Attributes: [{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }],
      }),
    ),
  );
  const groupArn = await ensureTargetGroup(context, network);
  await call('elasticloadbalancing:ModifyTargetGroupAttributes', () =>
    elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: groupArn,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: DEREGISTRATION_DELAY_SECONDS }],
      }),
    ),
  );
  // CreateListener returns the listener that exists with the same settings.
  await call('elasticloadbalancing:CreateListener', () =>
    elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: balancerArn,
        Protocol: 'HTTP',
        Port: HTTP_PORT,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: groupArn }],
        Tags: tags,
      }),
    ),
  );
  return groupArn;
}

/** The health check the app's component asks for: its path, interval and timeout, two checks either way. */
export function healthCheck(context: AppContext) {
  const check = context.target.component.healthCheck;
  return {
    HealthCheckEnabled: true,
    HealthCheckProtocol: 'HTTP' as const,
    HealthCheckPort: 'traffic-port',
    HealthCheckPath: check.path,
    HealthCheckIntervalSeconds: check.intervalSeconds,
    HealthCheckTimeoutSeconds: check.timeoutSeconds,
    HealthyThresholdCount: 2,
    UnhealthyThresholdCount: 2,
    Matcher: { HttpCode: '200-399' },
  };
}

/** The target group: created once (its port is only the default; ECS registers each task with the container's port), its health check converged. */
async function ensureTargetGroup(context: AppContext, network: AppNetwork): Promise<string> {
  const { elb } = context.clients;
  const existing = await findTargetGroup(context);
  if (existing?.TargetGroupArn) {
    const arn = existing.TargetGroupArn;
    await call('elasticloadbalancing:ModifyTargetGroup', () =>
      elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...healthCheck(context) })),
    );
    return arn;
  }
  const output = await created('elasticloadbalancing:CreateTargetGroup', () =>
    elb.send(
      new CreateTargetGroupCommand({
        Name: context.names.loadBalancer,
        Protocol: 'HTTP',
        ProtocolVersion: 'HTTP1',
        Port: context.target.component.run.port,
        VpcId: network.vpcId,
        TargetType: 'ip',
        IpAddressType: 'ipv4',
        ...healthCheck(context),
        Tags: appTags(context.target),
      }),
    ),
  );
  const arn = output.TargetGroups?.[0]?.TargetGroupArn;
  if (!arn) throw new TransientError(`the target group of ${context.target.component.id} was not returned by AWS`);
  return arn;
}

/** The ALB's address, or undefined before the first rollout made it. */
export async function findLoadBalancer(context: AppContext): Promise<LoadBalancer | undefined> {
  return described('elasticloadbalancing:DescribeLoadBalancers', 'LoadBalancerNotFound', () =>
    context.clients.elb.send(new DescribeLoadBalancersCommand({ Names: [context.names.loadBalancer] })).then((output) => output.LoadBalancers?.[0]),
  );
}

function findTargetGroup(context: AppContext): Promise<TargetGroup | undefined> {
  return described('elasticloadbalancing:DescribeTargetGroups', 'TargetGroupNotFound', () =>
    context.clients.elb.send(new DescribeTargetGroupsCommand({ Names: [context.names.loadBalancer] })).then((output) => output.TargetGroups?.[0]),
  );
}

/** Deletes the load balancer (its listener with it), then the target group, which AWS keeps in use until the balancer is gone. */
export async function removeLoadBalancer(context: AppContext): Promise<void> {
  const { elb } = context.clients;
  const balancer = await findLoadBalancer(context);
  if (balancer?.LoadBalancerArn) {
    const arn = balancer.LoadBalancerArn;
    await call('elasticloadbalancing:DeleteLoadBalancer', () => elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })));
  }
  const group = await findTargetGroup(context);
  const groupArn = group?.TargetGroupArn;
  if (!groupArn) return;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await call('elasticloadbalancing:DeleteTargetGroup', () => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: groupArn })));
      return;
    } catch (error) {
      if (awsErrorCode(error) !== 'ResourceInUse') throw error;
      if (attempt === DELETE_POLLS)
        throw new TransientError(`target group ${context.names.loadBalancer} is still in use by its load balancer`, {
          code: 'ResourceInUse',
          cause: error,
        });
      await context.clock.sleep(DELETE_POLL_MS);
    }
  }
}

// --- the service ---------------------------------------------------------------------------------

/** The service, unless it does not exist or was deleted (INACTIVE). */
export async function describeService(context: AppContext): Promise<Service | undefined> {
  const { ecs } = context.clients;
  const { cluster, service } = context.names;
  try {
    const output = await call('ecs:DescribeServices', () => ecs.send(new DescribeServicesCommand({ cluster, services: [service] })));
    return output.services?.find((candidate) => candidate.status !== 'INACTIVE');
  } catch (error) {
    if (awsErrorCode(error) === 'ClusterNotFoundException') return undefined;
    throw error;
  }
}

/**
 * Points the service at the revision (creating it on the first rollout) and keeps its scaling
 * between instances.count and three times that. A running service keeps its current count within
 * those bounds: Application Auto Scaling owns it between rollouts.
 */
export async function ensureService(context: AppContext, taskDefinition: string, wiring: ServiceWiring): Promise<void> {
  const { ecs } = context.clients;
  const { names, target } = context;
  const { run, healthCheck: check, instances } = target.component;
  const common = {
    cluster: names.cluster,
    taskDefinition,
    platformVersion: 'LATEST',
    networkConfiguration: awsvpc(wiring.network, wiring.appGroupId),
    loadBalancers: [{ targetGroupArn: wiring.targetGroupArn, containerName: APP_CONTAINER, containerPort: run.port }],
    healthCheckGracePeriodSeconds: check.startPeriodSeconds,
    deploymentConfiguration: DEPLOYMENT_CONFIGURATION,
  };
  const existing = await describeService(context);
  if (existing?.status === 'DRAINING') throw new TransientError(`service ${names.service} is still being deleted`);
  if (existing) {
    const current = existing.desiredCount ?? instances.count;
    const desiredCount = Math.min(Math.max(current, instances.count), instances.count * SCALE_FACTOR);
    await call('ecs:UpdateService', () => ecs.send(new UpdateServiceCommand({ ...common, service: names.service, desiredCount })));
  } else {
    await call('ecs:CreateService', () =>
      ecs.send(
        new CreateServiceCommand({
          ...common,
          serviceName: names.service,
          desiredCount: instances.count,
          launchType: 'FARGATE',
          schedulingStrategy: 'REPLICA',
          deploymentController: { type: 'ECS' },
          enableECSManagedTags: true,
          propagateTags: 'SERVICE',
          tags: lowerCaseTags(target),
          clientToken: token('service', target.planId, target.component.id),
        }),
      ),
    );
  }
  await ensureScaling(context);
}

async function ensureScaling(context: AppContext): Promise<void> {
  const { autoscaling } = context.clients;
  const { count } = context.target.component.instances;
  const ResourceId = context.names.scalableResource;
  await call('application-autoscaling:RegisterScalableTarget', () =>
    autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ResourceId,
        ScalableDimension: SCALABLE_DIMENSION,
        MinCapacity: count,
        MaxCapacity: count * SCALE_FACTOR,
        Tags: tagMap(context.target),
      }),
    ),
  );
  await call('application-autoscaling:PutScalingPolicy', () =>
    autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: SCALING_POLICY,
        ServiceNamespace: 'ecs',
        ResourceId,
        ScalableDimension: SCALABLE_DIMENSION,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: TARGET_CPU_PERCENT,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          ScaleOutCooldown: 60,
          ScaleInCooldown: 300,
        },
      }),
    ),
  );
}

/** Removes the scaling target (and its policy and alarms with it), when there is one. */
export async function removeScaling(context: AppContext): Promise<void> {
  const { autoscaling } = context.clients;
  const ResourceId = context.names.scalableResource;
  const described = await call('application-autoscaling:DescribeScalableTargets', () =>
    autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [ResourceId], ScalableDimension: SCALABLE_DIMENSION }),
    ),
  );
  if ((described.ScalableTargets ?? []).length === 0) return;
  try {
    await call('application-autoscaling:DeregisterScalableTarget', () =>
      autoscaling.send(new DeregisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId, ScalableDimension: SCALABLE_DIMENSION })),
    );
  } catch (error) {
    if (awsErrorCode(error) !== 'ObjectNotFoundException') throw error;
  }
}

/** Deletes the service (stopping its tasks) and waits until ECS let go of it, so its target group and groups can go too. */
export async function removeService(context: AppContext): Promise<void> {
  const { ecs } = context.clients;
  const { cluster, service } = context.names;
  const existing = await describeService(context);
  if (!existing) return;
  if (existing.status === 'ACTIVE') {
    try {
      await call('ecs:DeleteService', () => ecs.send(new DeleteServiceCommand({ cluster, service, force: true })));
    } catch (error) {
      const code = awsErrorCode(error);
      if (code !== 'ServiceNotFoundException' && code !== 'ServiceNotActiveException') throw error;
    }
  }
  for (let poll = 0; poll < DELETE_POLLS; poll += 1) {
    await context.clock.sleep(DELETE_POLL_MS);
    if (!(await describeService(context))) return;
  }
  throw new TransientError(`service ${service} is still stopping its tasks`);
}

// --- rollouts ------------------------------------------------------------------------------------

/**
 * Follows a rollout: the release command first (when the app has one), then the service. Once the
 * release command succeeded the service is pointed at the revision here, on the poll that sees it.
 */
export async function rolloutStatus(context: AppContext, state: RolloutState): Promise<Progress> {
  const service = await describeService(context);
  const deployments = service?.deployments ?? [];
  const ours = deployments.find((deployment) => deployment.taskDefinition === state.taskDefinition);
  const primary = deployments.find((deployment) => deployment.status === 'PRIMARY');
  const replacedSince = primary?.createdAt !== undefined && primary.createdAt.getTime() > state.startedAt;
  if (!ours && !replacedSince) {
    if (state.releaseTask) {
      const release = await releaseStatus(context, state.releaseTask);
      if (release.state !== 'done') return release;
    }
    await ensureService(context, state.taskDefinition, state.wiring);
    return { state: 'pending', detail: 'the new version starts beside the one that serves' };
  }
  if (ours && ours === primary) {
    if (ours.rolloutState === 'COMPLETED') return { state: 'done' };
    if (ours.rolloutState === 'FAILED') return { state: 'failed', reason: await rolloutFailure(context, state, service!, ours, false) };
    return {
      state: 'pending',
      detail: `${ours.runningCount ?? 0} of ${ours.desiredCount ?? 0} tasks of the new version running; traffic moves once they pass the health check`,
    };
  }
  // Another revision took over after this rollout started: the circuit breaker rolled it back (or another rollout replaced it).
  return { state: 'failed', reason: await rolloutFailure(context, state, service!, ours, true) };
}

const TROUBLE = /unhealthy|fail|rolling back|rolled back|unable|error|stopped/i;
const EVENTS_QUOTED = 3;

async function rolloutFailure(
  context: AppContext,
  state: RolloutState,
  service: Service,
  ours: Deployment | undefined,
  rolledBack: boolean,
): Promise<string> {
  const parts = [
    rolledBack
      ? 'the new version did not become healthy and ECS rolled the service back to the version before, which keeps serving'
      : 'the new version did not become healthy',
  ];
  if (ours?.rolloutStateReason) parts.push(ours.rolloutStateReason);
  const events = (service.events ?? [])
    .filter((event) => (event.createdAt?.getTime() ?? 0) >= state.startedAt && TROUBLE.test(event.message ?? ''))
    .slice(0, EVENTS_QUOTED)
    .reverse()
    .map((event) => event.message!);
  parts.push(...events);
  const task = await lastStoppedTask(context, state.taskDefinition);
  if (!task?.taskArn) return parts.join('; ');
  const container = task.containers?.find((candidate) => candidate.name === APP_CONTAINER);
  const exit = container?.exitCode === undefined ? '' : `, the app exited with ${container.exitCode}`;
  parts.push(`task ${task.taskArn.split('/').pop() ?? ''} stopped: ${task.stoppedReason ?? 'no reason given'}${exit}`);
  const lines = await streamTail(context, context.names.logGroup, taskStream(LOG_PREFIXES.run, APP_CONTAINER, task.taskArn), FAILURE_TAIL);
  return withTail(parts.join('; '), lines, 'last lines of the new version');
}

/** The new revision's task that stopped last: its reason and its log say why the version failed. */
async function lastStoppedTask(context: AppContext, taskDefinition: string): Promise<Task | undefined> {
  const { ecs } = context.clients;
  const { cluster, service } = context.names;
  const listed = await call('ecs:ListTasks', () => ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'STOPPED' })));
  const arns = listed.taskArns ?? [];
  if (arns.length === 0) return undefined;
  const output = await call('ecs:DescribeTasks', () => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(0, 100) })));
  return (output.tasks ?? [])
    .filter((task) => task.taskDefinitionArn === taskDefinition)
    .sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0))[0];
}

// --- helpers -------------------------------------------------------------------------------------

/** A create call that returns what exists when it has the same settings; other settings are a clear error. */
async function created<R>(action: string, send: () => Promise<R>): Promise<R> {
  try {
    return await call(action, send);
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'DuplicateLoadBalancerName' || code === 'DuplicateTargetGroupName')
      throw new PermanentError(`${action}: the app's load balancer exists with other settings (other subnets?); remove the app and deploy again`, {
        code,
        cause: error,
      });
    throw error;
  }
}
