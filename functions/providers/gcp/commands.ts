import { createHash, randomUUID } from 'node:crypto';
import { COMMAND_METADATA_KEY, commandMetadataValue, commandStateOf } from '@cloudseed/shared/targets/gcp/agent';
import { CA_CERTIFICATE_FILE } from '@cloudseed/shared/targets/aws/scripts';
import { renderNodeScript, shellQuote } from '@cloudseed/shared/targets/node-scripts';
import type { CommandKind, CommandRef, NodeRef, Progress } from '../provider.ts';
import { clusterEnvironments } from '../cluster-environment.ts';
import type { ScriptEnvironment } from '../cluster-environment.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { failureReason, requireIpv4 } from '../command-output.ts';
import type { GcpContext } from './clients.ts';
import { call } from './errors.ts';
import { agentAttributes, nodeLabel } from './nodes.ts';
import { change } from './operations.ts';

// The command channel on Google Cloud: the node's agent (shared/src/targets/sh/gcp-agent.sh). A
// command is the instance metadata key `cloudseed-command` set to its id and script; the agent runs
// it once and answers in guest attributes, which commandStatus reads. An id is derived from the
// deployment, the kind and the node, so a retried step sends the same command and the agent does
// not run it twice. The script's environment (a cluster node's role and peers) is written into the
// script as exports ahead of it: it holds validated IPv4 addresses, a role, a node name and an index.

const VERIFY_POLL_MS = 3_000;
const VERIFY_POLLS = 20;

/** `<label>-<16 hex digits>`: what the agent takes as an id, the same for the same seed. */
export function commandIdFor(label: string, seed: string): string {
  return `${label}-${createHash('sha256').update(seed).digest('hex').slice(0, 16)}`;
}

/** The script with its environment exported ahead of it. */
function withEnvironment(script: string, environment: ScriptEnvironment): string {
  if (environment.length === 0) return script;
  const exports = environment.map(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new PermanentError(`invalid environment variable name ${name}`);
    return `export ${name}=${shellQuote(value)}`;
  });
  return `${exports.join('\n')}\n${script}`;
}

/** Sets the node's command key to `id` and `script`, unless it holds that command already (a retry). */
async function sendToNode(context: GcpContext, node: NodeRef, id: string, script: string): Promise<void> {
  const { project, zone, clients } = context;
  const [instance] = await call('compute.instances.get', () => clients.instances.get({ project, zone, instance: node.nodeId }));
  const items = instance.metadata?.items ?? [];
  const value = commandMetadataValue(id, script);
  if (items.some((item) => item.key === COMMAND_METADATA_KEY && item.value === value)) return;
  const kept = items.filter((item) => item.key !== COMMAND_METADATA_KEY);
  // The fingerprint makes the write fail if the metadata changed since it was read, instead of undoing that change.
  await change(context, 'compute.instances.setMetadata', () =>
    clients.instances.setMetadata({
      project,
      zone,
      instance: node.nodeId,
      metadataResource: { fingerprint: instance.metadata?.fingerprint ?? null, items: [...kept, { key: COMMAND_METADATA_KEY, value }] },
    }),
  );
}

/** `endpointHost`: a Patroni cluster's load balancer, which configure adds to each server's certificate. */
export async function sendCommand(context: GcpContext, nodes: readonly NodeRef[], kind: CommandKind, endpointHost?: string): Promise<CommandRef> {
  const { component, target } = context;
  const script = component.scripts[kind];
  const clustered = component.instances.length > 1;
  const environments =
    kind === 'configure' && clustered
      ? clusterEnvironments(
          { nodeNames: component.instances.map((insert) => nodeNameOf(insert.instanceResource)), patroni: component.patroni !== undefined },
          nodes,
          (node) => requireIpv4(node.host, `node ${nodeLabel(node)}`),
          endpointHost,
        )
      : new Map<string, ScriptEnvironment>();
  const commandIds: string[] = [];
  for (const node of nodes) {
    const id = commandIdFor(kind, `${target.deploymentId}/${component.id}/${node.name}/${kind}`);
    await sendToNode(context, node, id, withEnvironment(script, environments.get(node.nodeId) ?? []));
    commandIds.push(id);
  }
  return { kind, commandIds, nodeIds: nodes.map((node) => node.nodeId) };
}

/** A node's name, as gcp-json labels its instance. */
export function nodeNameOf(resource: Record<string, unknown>): string {
  const labels = resource['labels'] as Record<string, string> | undefined;
  return labels?.['cloudseed-node'] ?? '';
}

/** What the agents have said of a command on every node: done when each ended with exit 0. */
async function statusOf(context: GcpContext, label: string, nodeIds: readonly string[], commandIds: readonly string[]): Promise<Progress> {
  let ended = 0;
  for (const [index, nodeId] of nodeIds.entries()) {
    const id = commandIds[index] ?? '';
    const state = commandStateOf(await agentAttributes(context, nodeId, id), id);
    if (state.state !== 'ended') continue;
    if (state.exitCode !== 0)
      return { state: 'failed', reason: failureReason(`${label} failed on ${nodeId} (exit ${state.exitCode})`, state.standardError) };
    ended += 1;
  }
  if (ended === nodeIds.length) return { state: 'done' };
  return { state: 'pending', detail: `${label} has ended on ${ended} of ${nodeIds.length} nodes` };
}

export function commandStatus(context: GcpContext, command: CommandRef): Promise<Progress> {
  if (command.commandIds.length !== command.nodeIds.length)
    throw new PermanentError(`a GCP command has one id per node; this one has ${command.commandIds.length} for ${command.nodeIds.length}`);
  return statusOf(context, command.kind, command.nodeIds, command.commandIds);
}

/**
 * Runs `script` (with `environment` exported ahead of it) on one node through its agent under a new
 * id and waits for it to end, polling every `pollMs` at most `polls` times: the result the script
 * reported (report_status, a guest attribute), if any, once it succeeded; a PermanentError with the
 * end of its standard error when it failed; a TransientError when it still runs at the end.
 */
export async function runOnNode(
  context: GcpContext,
  node: NodeRef,
  label: string,
  script: string,
  limits: { readonly pollMs: number; readonly polls: number },
  environment: ScriptEnvironment = [],
): Promise<string | undefined> {
  const { target, component, clock } = context;
  // Each run its own id, even two in the same millisecond (two readers of the top queries at once):
  // the agent answers a known id with that run's result.
  const id = commandIdFor(label, `${target.deploymentId}/${component.id}/${node.name}/${label}/${clock.now()}/${randomUUID()}`);
  await sendToNode(context, node, id, withEnvironment(script, environment));
  for (let poll = 0; poll < limits.polls; poll += 1) {
    await clock.sleep(limits.pollMs);
    const state = commandStateOf(await agentAttributes(context, node.nodeId, id), id);
    if (state.state !== 'ended') continue;
    if (state.exitCode !== 0)
      throw new PermanentError(failureReason(`the ${label} failed on ${node.nodeId} (exit ${state.exitCode})`, state.standardError));
    return state.result;
  }
  throw new TransientError(
    `the ${label} of ${target.planId}/${component.id} on ${nodeLabel(node)} did not finish within ${(limits.pollMs * limits.polls) / 1000} s`,
  );
}

/** Checks every node the way a client would (verify.sh), polling the agents for at most a minute. */
export async function verify(context: GcpContext, nodes: readonly NodeRef[]): Promise<void> {
  const { target, component, project, clock } = context;
  const script = renderNodeScript(
    'verify: PostgreSQL answers locally and to the application role over TLS.',
    {
      PROJECT: project,
      PASSWORD_PARAMETER: `/cloudseed/${target.planId}/${component.id}/password`,
      PGPORT: String(component.postgres.port),
      PGSSLROOTCERT: CA_CERTIFICATE_FILE,
      PGUSER: component.postgres.username,
      PGDATABASE: component.postgres.databaseName,
    },
    ['verify.sh'],
    'gcp',
  );
  // A new id each time: a verification that failed must run again when the step is retried.
  const ids = nodes.map((node) => commandIdFor('verify', `${target.deploymentId}/${component.id}/${node.name}/${clock.now()}`));
  for (const [index, node] of nodes.entries()) await sendToNode(context, node, ids[index]!, script);
  for (let poll = 0; poll < VERIFY_POLLS; poll += 1) {
    await clock.sleep(VERIFY_POLL_MS);
    const progress = await statusOf(
      context,
      'the verification',
      nodes.map((node) => node.nodeId),
      ids,
    );
    if (progress.state === 'done') return;
    if (progress.state === 'failed') throw new PermanentError(progress.reason);
  }
  throw new TransientError(
    `the verification of ${target.planId}/${component.id} on ${nodes.map(nodeLabel).join(', ')} did not finish within ${(VERIFY_POLL_MS * VERIFY_POLLS) / 1000} s`,
  );
}
