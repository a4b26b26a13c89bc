import { DescribeTasksCommand, ListTasksCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import type { Task } from '@aws-sdk/client-ecs';
import type { Progress } from '../../app-provider.ts';
import { TransientError } from '../../errors.ts';
import { awsErrorCode, call } from '../errors.ts';
import type { AppContext } from './clients.ts';
import { FAILURE_TAIL, streamTail, withTail } from './logs.ts';
import { LOG_PREFIXES, lowerCaseTags, RELEASE_CONTAINER, token } from './names.ts';
import type { AppNetwork } from './network.ts';

// The release command (migrations) runs once per rollout, before the service is touched: a
// one-off Fargate task of the release's `…_release` revision in the app's cluster, network and
// security group. Only when it exits 0 does the rollout go on; otherwise the old version keeps
// serving and the failure says the exit code and the task's last log lines.

const STARTED_BY = 'cloudseed-release';

/** Starts the release command's task for this deployment and release (a retried call is the same task: RunTask's client token). */
export async function runRelease(
  context: AppContext,
  taskDefinition: string,
  network: AppNetwork,
  appGroupId: string,
  buildId: string,
): Promise<string> {
  const { ecs } = context.clients;
  const output = await call('ecs:RunTask', () =>
    ecs.send(
      new RunTaskCommand({
        cluster: context.names.cluster,
        taskDefinition,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        count: 1,
        networkConfiguration: awsvpc(network, appGroupId),
        startedBy: STARTED_BY,
        enableECSManagedTags: true,
        propagateTags: 'TASK_DEFINITION',
        tags: lowerCaseTags(context.target),
        clientToken: token('release', context.target.deploymentId, buildId),
      }),
    ),
  );
  const arn = output.tasks?.[0]?.taskArn;
  if (!arn) {
    const failure = output.failures?.[0];
    throw new TransientError(
      `ECS could not start the release command's task${failure ? `: ${failure.reason ?? ''} ${failure.detail ?? ''}`.trimEnd() : ''}`,
    );
  }
  return arn;
}

export function awsvpc(network: AppNetwork, appGroupId: string) {
  return {
    awsvpcConfiguration: {
      subnets: [...network.subnetIds],
      securityGroups: [appGroupId],
      assignPublicIp: network.assignPublicIp ? ('ENABLED' as const) : ('DISABLED' as const),
    },
  };
}

/** Where the release command's task is: running (pending), exited 0 (done), or failed with its exit code and last lines. */
export async function releaseStatus(context: AppContext, taskArn: string): Promise<Progress> {
  const task = await describeTask(context, taskArn);
  const command = context.target.component.run.releaseCommand ?? 'the release command';
  if (!task)
    return {
      state: 'failed',
      reason: `the task of the release command \`${command}\` is gone (ECS forgets stopped tasks after an hour); deploy again`,
    };
  if (task.lastStatus !== 'STOPPED')
    return { state: 'pending', detail: `the release command runs (task ${(task.lastStatus ?? 'pending').toLowerCase()})` };
  const container = task.containers?.find((candidate) => candidate.name === RELEASE_CONTAINER);
  const exitCode = container?.exitCode;
  if (exitCode === 0) return { state: 'done' };
  const lines = await streamTail(context, context.names.logGroup, taskStream(LOG_PREFIXES.release, RELEASE_CONTAINER, taskArn), FAILURE_TAIL);
  const reason =
    exitCode === undefined
      ? `the release command \`${command}\` did not run: ${[task.stoppedReason, container?.reason].filter(Boolean).join('; ') || 'its task stopped'}; the old version keeps serving`
      : `the release command \`${command}\` exited with ${exitCode}; the old version keeps serving`;
  return { state: 'failed', reason: withTail(reason, lines, 'last lines of the release command') };
}

export async function describeTask(context: AppContext, taskArn: string): Promise<Task | undefined> {
  const output = await call('ecs:DescribeTasks', () =>
    context.clients.ecs.send(new DescribeTasksCommand({ cluster: context.names.cluster, tasks: [taskArn] })),
  );
  return output.tasks?.[0];
}

/** The awslogs stream of a task's container: `<prefix>/<container>/<task id>`. */
export function taskStream(prefix: string, container: string, taskArn: string): string {
  return `${prefix}/${container}/${taskArn.split('/').pop() ?? taskArn}`;
}

/** Stops a release command still running (teardown): the cluster cannot go while it runs. */
export async function stopReleases(context: AppContext): Promise<void> {
  const { ecs } = context.clients;
  const { cluster, releaseFamily } = context.names;
  let output;
  try {
    output = await call('ecs:ListTasks', () => ecs.send(new ListTasksCommand({ cluster, family: releaseFamily, desiredStatus: 'RUNNING' })));
  } catch (error) {
    if (awsErrorCode(error) === 'ClusterNotFoundException') return;
    throw error;
  }
  for (const task of output.taskArns ?? []) {
    await call('ecs:StopTask', () => ecs.send(new StopTaskCommand({ cluster, task, reason: 'CloudSeed removes the app' })));
  }
}
