import { clusterEnvironments } from '../cluster-environment.ts';
import type { ScriptEnvironment } from '../cluster-environment.ts';
import type { VirtualMachineRunCommand } from '@azure/arm-compute';
import { CA_CERTIFICATE_FILE } from '@cloudseed/shared/targets/aws/scripts';
import { usesPatroni } from '@cloudseed/shared/targets/aws/patroni';
import { renderNodeScript } from '@cloudseed/shared/targets/node-scripts';
import type { CommandKind, CommandRef, NodeRef, Progress } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { failureReason, requireIpv4 } from '../command-output.ts';
import type { AzureContext } from './clients.ts';
import { call, found } from './errors.ts';
import { nameOf, vmOf } from './target.ts';

// The command channel on Azure: managed Run Command (virtualMachines/runCommands), one resource per
// VM and script, named as azure-json names them. A command is created and left to run: the step
// returns once Azure has taken it, and commandStatus reads its instance view (execution state, exit
// code, the end of its standard error). The script goes as the document renders it; what differs
// from node to node in a cluster (its role, its peers' addresses) goes as run command parameters,
// which the VM agent hands to the script as environment variables.

const VERIFY_COMMAND = 'cloudseed-verify';
const VERIFY_TIMEOUT_SECONDS = 60;
const VERIFY_POLL_MS = 3_000;
const VERIFY_POLLS = 20;

type Parameters = ReadonlyArray<{ readonly name: string; readonly value: string }>;

/** `endpointHost`: a Patroni cluster's load balancer address, which configure adds to each server's certificate. */
export async function sendCommand(context: AzureContext, nodes: readonly NodeRef[], kind: CommandKind, endpointHost?: string): Promise<CommandRef> {
  const { component } = context;
  const name = component.commands.names.find((candidate) => candidate.endsWith(`-${kind}`));
  if (!name) throw new PermanentError(`azure-json names no run command for ${kind}`);
  const clustered = kind === 'configure' && component.nodes.length > 1;
  const parameters = clustered ? clusterParameters(context, nodes, endpointHost) : new Map<string, Parameters>();
  const commandIds: string[] = [];
  for (const node of nodes) {
    commandIds.push(
      await startScript(context, node, name, component.scripts[kind], component.commands.settings.timeoutInSeconds, parameters.get(node.nodeId)),
    );
  }
  return { kind, commandIds, nodeIds: nodes.map((node) => node.nodeId) };
}

export async function commandStatus(context: AzureContext, command: CommandRef): Promise<Progress> {
  if (command.commandIds.length !== command.nodeIds.length || command.nodeIds.length === 0) {
    throw new PermanentError(`command reference ${command.commandIds.join(',')} does not match its ${command.nodeIds.length} node(s)`);
  }
  return runsStatus(context, command.kind, command.commandIds);
}

/**
 * Checks every node the way a client would (verify.sh): the local superuser runs `SELECT 1`, then
 * the application role connects over TCP with `sslmode=verify-full` against the plan's CA. The
 * password is read from the vault inside the script, never sent.
 */
export async function verify(context: AzureContext, nodes: readonly NodeRef[]): Promise<void> {
  const { target, component, clock } = context;
  const script = verifyScript(context);
  const runs: string[] = [];
  for (const node of nodes) runs.push(await startScript(context, node, VERIFY_COMMAND, script, VERIFY_TIMEOUT_SECONDS));
  for (let poll = 0; poll < VERIFY_POLLS; poll += 1) {
    await clock.sleep(VERIFY_POLL_MS);
    const progress = await runsStatus(context, 'verification', runs);
    if (progress.state === 'done') return;
    if (progress.state === 'failed') throw new PermanentError(progress.reason);
  }
  throw new TransientError(`the verification of ${target.planId}/${component.id} did not finish within ${(VERIFY_POLL_MS * VERIFY_POLLS) / 1000} s`);
}

/**
 * Runs `script` on one node as the run command `name` (`environment` as its parameters) and waits for it, polling every `pollMs` at
 * most `polls` times: its standard output once it succeeded, a PermanentError with the end of its
 * standard error when it failed, a TransientError when it still runs at the end.
 */
export async function runOnNode(
  context: AzureContext,
  node: NodeRef,
  name: string,
  script: string,
  limits: { readonly timeoutSeconds: number; readonly pollMs: number; readonly polls: number },
  environment: ScriptEnvironment = [],
): Promise<string> {
  const parameters = environment.map(([parameter, value]) => ({ name: parameter, value }));
  const runId = await startScript(context, node, name, script, limits.timeoutSeconds, parameters.length > 0 ? parameters : undefined);
  const { resourceGroup, name: vmName } = vmOf(context.where, node);
  for (let poll = 0; poll < limits.polls; poll += 1) {
    await context.clock.sleep(limits.pollMs);
    const run = await found(`Microsoft.Compute/virtualMachines/runCommands/read ${vmName}/${name}`, () =>
      context.clients.compute.virtualMachineRunCommands.getByVirtualMachine(resourceGroup, vmName, name, { expand: 'instanceView' }),
    );
    if (!run) continue;
    const failure = runFailure(name, run, vmName);
    if (failure) throw new PermanentError(failure);
    if (run.instanceView?.executionState === 'Succeeded') return run.instanceView.output ?? '';
  }
  throw new TransientError(`${name} on ${vmName} did not finish within ${(limits.pollMs * limits.polls) / 1000} s (${runId})`);
}

/** verify.sh with the Azure prelude; the prelude reads the password from the component's vault. */
export function verifyScript(context: AzureContext): string {
  const { component, target, where } = context;
  const { port, databaseName, username } = component.postgres;
  return renderNodeScript(
    'verify: PostgreSQL answers locally and to the application role over TLS.',
    {
      REGION: where.region,
      VAULT: component.keyVault.name,
      PASSWORD_PARAMETER: `/cloudseed/${target.planId}/${component.id}/password`,
      PGPORT: String(port),
      PGSSLROOTCERT: CA_CERTIFICATE_FILE,
      PGUSER: username,
      PGDATABASE: databaseName,
    },
    ['verify.sh'],
    'azure',
  );
}

/** Creates (or replaces, which runs it again) the run command `name` on the node's VM; its id, once Azure has accepted it. */
async function startScript(
  context: AzureContext,
  node: NodeRef,
  name: string,
  script: string,
  timeoutInSeconds: number,
  parameters?: Parameters,
): Promise<string> {
  const { resourceGroup, name: vmName } = vmOf(context.where, node);
  const { settings } = context.component.commands;
  const runCommand: VirtualMachineRunCommand = {
    location: context.where.region,
    source: { script },
    asyncExecution: settings.asyncExecution,
    treatFailureAsDeploymentFailure: settings.treatFailureAsDeploymentFailure,
    timeoutInSeconds,
    ...(parameters ? { parameters: [...parameters] } : {}),
  };
  const id = `${node.nodeId}/runCommands/${name}`;
  await call(`Microsoft.Compute/virtualMachines/runCommands/write ${vmName}/${name}`, async () => {
    // Taken by Azure is enough: the script runs for minutes, and commandStatus follows it.
    const poller = context.clients.compute.virtualMachineRunCommands.createOrUpdate(resourceGroup, vmName, name, runCommand);
    await poller.submitted();
  });
  return id;
}

const RUN_COMMAND_ID = /^(.+\/virtualMachines\/[^/]+)\/runCommands\/([^/]+)$/;

async function runsStatus(context: AzureContext, label: string, runIds: readonly string[]): Promise<Progress> {
  let finished = 0;
  for (const runId of runIds) {
    const match = RUN_COMMAND_ID.exec(runId);
    if (!match) throw new PermanentError(`${runId} is not a run command of a VM`);
    const vmId = match[1]!;
    const name = match[2]!;
    const { resourceGroup, name: vmName } = vmOf(context.where, { nodeId: vmId, name: nameOf(vmId) });
    const run = await found(`Microsoft.Compute/virtualMachines/runCommands/read ${vmName}/${name}`, () =>
      context.clients.compute.virtualMachineRunCommands.getByVirtualMachine(resourceGroup, vmName, name, { expand: 'instanceView' }),
    );
    // Right after it is created the run command may not be readable yet.
    if (!run) continue;
    const failure = runFailure(label, run, vmName);
    if (failure) return { state: 'failed', reason: failure };
    if (run.instanceView?.executionState === 'Succeeded') finished += 1;
  }
  if (finished === runIds.length) return { state: 'done' };
  return { state: 'pending', detail: `${finished} of ${runIds.length} nodes finished ${label}` };
}

/** Why a run that ended without success did, with the end of its standard error; undefined while it runs or once it succeeded. */
export function runFailure(label: string, run: VirtualMachineRunCommand, where: string): string | undefined {
  const view = run.instanceView;
  const exit = view?.exitCode !== undefined ? ` (exit ${view.exitCode})` : '';
  switch (view?.executionState) {
    case 'Succeeded':
      return view.exitCode ? failureReason(`${label} failed on ${where}${exit}`, view.error) : undefined;
    case 'Failed':
      return failureReason(`${label} failed on ${where}${exit}`, view.error || view.executionMessage);
    case 'TimedOut':
      return failureReason(`${label} timed out on ${where}`, view.error);
    case 'Canceled':
      return failureReason(`${label} was cancelled on ${where}`, view.error);
    default:
      // The run command resource itself failed: the VM agent never took it.
      if (run.provisioningState === 'Failed') {
        const why = (view?.statuses ?? [])
          .map((status) => status.message)
          .filter(Boolean)
          .join('; ');
        return failureReason(`${label} could not start on ${where}`, why || view?.executionMessage);
      }
      return undefined;
  }
}

/** What configure is told on each node of a cluster (../cluster-environment.ts), as run command parameters. */
function clusterParameters(context: AzureContext, nodes: readonly NodeRef[], endpointHost: string | undefined): Map<string, Parameters> {
  const shape = { nodeNames: context.component.nodes.map((node) => node.name), patroni: usesPatroni(context.target.component) };
  const environments = clusterEnvironments(shape, nodes, (node) => requireIpv4(node.host, `node ${node.name}`), endpointHost);
  return new Map([...environments].map(([nodeId, environment]) => [nodeId, environment.map(([name, value]) => ({ name, value }))]));
}
