import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { GetCommandInvocationCommandOutput, InstanceInformationStringFilter, SSMClient } from '@aws-sdk/client-ssm';
import type { AwsComponent } from '@cloudseed/shared';
import type { CommandKind, CommandRef, NodeRef, Progress } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import type { AwsContext } from './clients.ts';
import { awsErrorCode, call } from './errors.ts';
import { describeInstances, instanceIds, nodeLabel } from './instances.ts';
import { commandComment, failureReason, requireIpv4, shellCommands, verifyScript } from './run-command.ts';
import { clusterEnvironments as neutralClusterEnvironments } from '../cluster-environment.ts';
import type { ScriptEnvironment } from '../cluster-environment.ts';
import { accountOf, isCluster } from './target.ts';

// The command channel on AWS: SSM Run Command (AWS-RunShellScript) is the only way onto the
// instances. A node's channel is ready when its instance runs and its SSM agent is online.

const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
export const COMMAND_TIMEOUT_SECONDS: Record<CommandKind, number> = { install: 1800, configure: 600 };
const VERIFY_TIMEOUT_SECONDS = 60;
const VERIFY_POLL_MS = 3_000;
const VERIFY_POLLS = 20;
const GONE_OR_GOING = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

export async function nodesReady({ clients: { ec2, ssm } }: AwsContext, nodes: readonly NodeRef[]): Promise<Progress> {
  if (nodes.length === 0) return { state: 'failed', reason: 'there are no nodes to wait for' };
  const ids = instanceIds(nodes);
  const instances = new Map(
    (await describeInstances(ec2, [{ Name: 'instance-id', Values: ids }])).map((instance) => [instance.InstanceId, instance]),
  );
  for (const node of nodes) {
    const instance = instances.get(node.nodeId);
    const state = instance?.State?.Name;
    if (state !== undefined && GONE_OR_GOING.has(state)) {
      const why = instance?.StateReason?.Message;
      return { state: 'failed', reason: `node ${nodeLabel(node)} is ${state}${why ? `: ${why}` : ''}` };
    }
  }
  const agents = await agentPingStatus(ssm, ids);
  const online = nodes.filter((node) => instances.get(node.nodeId)?.State?.Name === 'running' && agents.get(node.nodeId) === 'Online').length;
  if (online === nodes.length) return { state: 'done' };
  return { state: 'pending', detail: `${online} of ${nodes.length} nodes online` };
}

/** `endpointHost`: a Patroni cluster's load balancer, which configure adds to each server's certificate. */
export async function sendCommand(context: AwsContext, nodes: readonly NodeRef[], kind: CommandKind, endpointHost?: string): Promise<CommandRef> {
  const ids = instanceIds(nodes);
  const script = context.component.scripts[kind];
  const timeout = COMMAND_TIMEOUT_SECONDS[kind];
  if (kind === 'install' || !isCluster(context.component)) {
    return { kind, commandIds: [await sendScript(context, ids, kind, script, [], timeout)], nodeIds: ids };
  }
  // A cluster's nodes are told their role and their peers' private addresses, one command each.
  const environments = await clusterEnvironments(context.component, context.clients.ec2, nodes, endpointHost);
  const commandIds: string[] = [];
  for (const node of nodes) {
    commandIds.push(await sendScript(context, [node.nodeId], kind, script, environments.get(node.nodeId) ?? [], timeout));
  }
  return { kind, commandIds, nodeIds: ids };
}

export async function commandStatus({ clients: { ssm } }: AwsContext, command: CommandRef): Promise<Progress> {
  return invocationsStatus(ssm, command.kind, invocationsOf(command), (instanceId) => instanceId);
}

export async function verify(context: AwsContext, nodes: readonly NodeRef[]): Promise<void> {
  const { target, component, clients, clock } = context;
  const account = accountOf(target);
  const ids = instanceIds(nodes);
  const commandId = await sendScript(context, ids, 'verify', verifyScript(component, account.region), [], VERIFY_TIMEOUT_SECONDS);
  const names = new Map(nodes.map((node) => [node.nodeId, nodeLabel(node)]));
  const pairs = ids.map((instanceId) => ({ commandId, instanceId }));
  for (let poll = 0; poll < VERIFY_POLLS; poll += 1) {
    await clock.sleep(VERIFY_POLL_MS);
    const progress = await invocationsStatus(clients.ssm, 'verification', pairs, (instanceId) => names.get(instanceId) ?? instanceId);
    if (progress.state === 'done') return;
    if (progress.state === 'failed') throw new PermanentError(progress.reason);
  }
  throw new TransientError(`the verification of ${target.planId}/${component.id} did not finish within ${(VERIFY_POLL_MS * VERIFY_POLLS) / 1000} s`);
}

/** Sends a script to the instances as one command; its id. */
export async function sendScript(
  { target, clients: { ssm }, placement }: AwsContext,
  ids: readonly string[],
  label: string,
  script: string,
  environment: ScriptEnvironment,
  timeoutSeconds: number,
): Promise<string> {
  const logGroup = placement.commandLogGroup;
  const output = await call('ssm:SendCommand', () =>
    ssm.send(
      new SendCommandCommand({
        DocumentName: RUN_SHELL_SCRIPT,
        InstanceIds: [...ids],
        Parameters: { commands: shellCommands(label, script, environment), executionTimeout: [String(timeoutSeconds)] },
        TimeoutSeconds: timeoutSeconds,
        Comment: commandComment(target.planId, target.component.id, label),
        ...(logGroup ? { CloudWatchOutputConfig: { CloudWatchLogGroupName: logGroup, CloudWatchOutputEnabled: true } } : {}),
      }),
    ),
  );
  const commandId = output.Command?.CommandId;
  if (!commandId) throw new TransientError(`ssm:SendCommand returned no command id for ${label}`);
  return commandId;
}

/** Why an invocation that ended without success did, with the end of its standard error; undefined while it runs. */
export function invocationFailure(label: string, invocation: GetCommandInvocationCommandOutput, where: string): string | undefined {
  const outcomes: Partial<Record<string, string>> = {
    Failed: 'failed',
    TimedOut: 'timed out',
    Cancelled: 'was cancelled',
    Cancelling: 'was cancelled',
  };
  const outcome = invocation.Status === undefined ? undefined : outcomes[invocation.Status];
  if (!outcome) return undefined;
  const exit = invocation.ResponseCode !== undefined && invocation.ResponseCode >= 0 ? ` (exit ${invocation.ResponseCode})` : '';
  return failureReason(`${label} ${outcome} on ${where}${exit}`, invocation.StandardErrorContent);
}

async function agentPingStatus(ssm: SSMClient, ids: string[]): Promise<Map<string, string>> {
  const filters: InstanceInformationStringFilter[] = [{ Key: 'InstanceIds', Values: ids }];
  const status = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await call('ssm:DescribeInstanceInformation', () =>
      ssm.send(new DescribeInstanceInformationCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) })),
    );
    for (const info of page.InstanceInformationList ?? []) if (info.InstanceId && info.PingStatus) status.set(info.InstanceId, info.PingStatus);
    token = page.NextToken;
  } while (token);
  return status;
}

/** What configure is told on each node of a cluster (../cluster-environment.ts), with the instances' private addresses from EC2. */
export async function clusterEnvironments(
  component: AwsComponent,
  ec2: EC2Client,
  nodes: readonly NodeRef[],
  endpointHost: string | undefined,
): Promise<Map<string, ScriptEnvironment>> {
  const instances = await describeInstances(ec2, [{ Name: 'instance-id', Values: nodes.map((node) => node.nodeId) }]);
  const privateIp = (node: NodeRef) =>
    requireIpv4(instances.find((instance) => instance.InstanceId === node.nodeId)?.PrivateIpAddress, `node ${nodeLabel(node)}`);
  const shape = { nodeNames: component.nodes.map((node) => node.name), patroni: component.patroni !== undefined };
  return neutralClusterEnvironments(shape, nodes, privateIp, endpointHost);
}

/** The private IPv4 address of one node, as its replicas reach it. */
export async function privateAddressOf(ec2: EC2Client, node: NodeRef): Promise<string> {
  const [instance] = await describeInstances(ec2, [{ Name: 'instance-id', Values: [node.nodeId] }]);
  return requireIpv4(instance?.PrivateIpAddress, `node ${nodeLabel(node)}`);
}

/** A CommandRef holds one command id for all its nodes, or one per node. */
function invocationsOf(command: CommandRef): Array<{ commandId: string; instanceId: string }> {
  const ids = command.commandIds;
  if (ids.some((id) => id === '') || (ids.length !== 1 && ids.length !== command.nodeIds.length) || command.nodeIds.length === 0) {
    throw new PermanentError(`command reference ${ids.join(',')} does not match its ${command.nodeIds.length} node(s)`);
  }
  return command.nodeIds.map((instanceId, index) => ({ commandId: ids.length === 1 ? ids[0]! : ids[index]!, instanceId }));
}

async function invocationsStatus(
  ssm: SSMClient,
  label: string,
  invocations: ReadonlyArray<{ commandId: string; instanceId: string }>,
  describe: (instanceId: string) => string,
): Promise<Progress> {
  let finished = 0;
  let pending = false;
  for (const { commandId, instanceId } of invocations) {
    let invocation;
    try {
      invocation = await call('ssm:GetCommandInvocation', () =>
        ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
      );
    } catch (error) {
      // Right after SendCommand the invocation may not be visible yet.
      if (awsErrorCode(error) === 'InvocationDoesNotExist') {
        pending = true;
        continue;
      }
      throw error;
    }
    if (invocation.Status === 'Success') {
      finished += 1;
      continue;
    }
    const failure = invocationFailure(label, invocation, describe(instanceId));
    if (failure) return { state: 'failed', reason: failure };
    // Pending, InProgress, Delayed.
    pending = true;
  }
  if (!pending) return { state: 'done' };
  return { state: 'pending', detail: `${finished} of ${invocations.length} nodes finished ${label}` };
}
