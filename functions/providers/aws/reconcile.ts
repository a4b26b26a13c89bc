import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client, Filter, Instance, InstanceStateName, RunInstancesCommandInput, Volume, VolumeModification } from '@aws-sdk/client-ec2';
import type { AwsComponent, AwsNode } from '@cloudseed/shared';
import type { Clock } from './credentials.ts';
import { CapacityError, PermanentError, TransientError } from '../errors.ts';
import { awsErrorCode, call } from './errors.ts';

// A re-deploy brings the nodes that already exist to the plan in place, so the data on their
// disks stays where it is. A root volume that is smaller than the plan grows while the node keeps
// running (the configure script grows the partition and file system). A node of another instance
// type is stopped, changed and started again, one at a time, replicas before the primary, so the
// cluster keeps serving for as long as it can. Everything is read from EC2 before anything is
// changed, so a retry after a partial run picks up where it stopped: a type already changed is not
// changed again, a stopped node is started, a volume already growing is waited for, not modified.

const INSTANCE_POLL_MS = 5_000;
/** About three minutes for a node to stop or to start; Linux usually takes well under one. */
const INSTANCE_POLLS = 36;
const VOLUME_POLL_MS = 5_000;
/** About two minutes for a size change to reach `optimizing`; AWS says it usually takes seconds. */
const VOLUME_POLLS = 24;
/** From these a size increase has taken effect and the file system can be grown. */
const VOLUME_GROWN = new Set(['optimizing', 'completed']);
const VOLUME_CHANGING = new Set(['modifying', 'optimizing', 'completed']);
const GONE = new Set(['shutting-down', 'terminated']);

interface ExistingNode {
  readonly node: AwsNode;
  readonly instance: Instance;
  readonly instanceId: string;
}

interface RootVolume {
  readonly node: AwsNode;
  readonly volumeId: string;
  readonly sizeGiB: number;
  readonly plannedGiB: number;
}

interface PlannedHardware {
  readonly instanceType: string;
  readonly architecture: string;
  readonly rootDevice: string | undefined;
  readonly volumeSizeGiB: number | undefined;
}

/**
 * Brings the nodes that exist to the plan's instance type and disk size, and starts the ones that
 * are stopped. Returns the instances by node name, as EC2 describes them afterwards (a node that
 * was restarted may have a new public address).
 */
export async function reconcileNodes(
  ec2: EC2Client,
  clock: Clock,
  component: AwsComponent,
  existing: ReadonlyMap<string, Instance>,
): Promise<Map<string, Instance>> {
  const result = new Map(existing);
  const nodes = component.nodes.flatMap((node): ExistingNode[] => {
    const instance = existing.get(node.name);
    return instance?.InstanceId ? [{ node, instance, instanceId: instance.InstanceId }] : [];
  });
  if (nodes.length === 0) return result;
  const plan = plannedHardware(component);

  // Everything that cannot be done is refused before anything is changed.
  for (const existingNode of nodes) checkArchitecture(existingNode, plan);
  const disks = plan.volumeSizeGiB === undefined ? { grow: [], inProgress: [] } : await diskChanges(ec2, nodes, plan.rootDevice, plan.volumeSizeGiB);

  for (const volume of disks.grow) await growVolume(ec2, volume);
  const primaryLast = [...nodes.filter(({ node }) => node.role !== 'primary'), ...nodes.filter(({ node }) => node.role === 'primary')];
  for (const existingNode of primaryLast) {
    const restarted = await convergeInstance(ec2, clock, existingNode, plan);
    if (restarted) result.set(existingNode.node.name, restarted);
  }
  // The configure script grows the file system; the new size is there once EC2 says 'optimizing'.
  await waitForVolumes(ec2, clock, [...disks.grow, ...disks.inProgress]);
  return result;
}

/** The root volumes to grow to the plan's size, and those an earlier attempt asked to grow that have not taken the size yet. */
async function diskChanges(
  ec2: EC2Client,
  nodes: readonly ExistingNode[],
  rootDevice: string | undefined,
  plannedGiB: number,
): Promise<{ grow: RootVolume[]; inProgress: RootVolume[] }> {
  const volumes = await rootVolumes(ec2, nodes, rootDevice, plannedGiB);
  for (const volume of volumes) {
    if (volume.sizeGiB > plannedGiB) {
      throw new PermanentError(
        `the disk of node ${volume.node.name} (${volume.volumeId}) is ${volume.sizeGiB} GiB but the plan asks for ${plannedGiB} GiB: disks only grow. Plan at least ${volume.sizeGiB} GiB`,
      );
    }
  }
  const modifications = await latestModifications(
    ec2,
    volumes.map((volume) => volume.volumeId),
  );
  const grow: RootVolume[] = [];
  const inProgress: RootVolume[] = [];
  for (const volume of volumes) {
    const modification = modifications.get(volume.volumeId);
    const state = modification?.ModificationState;
    const requested = state !== undefined && VOLUME_CHANGING.has(state) && (modification?.TargetSize ?? 0) >= plannedGiB;
    if (volume.sizeGiB < plannedGiB && !requested) grow.push(volume);
    else if (state === 'modifying') inProgress.push(volume);
  }
  return { grow, inProgress };
}

function plannedHardware(component: AwsComponent): PlannedHardware {
  const rendered = component.runInstances as Pick<RunInstancesCommandInput, 'InstanceType' | 'BlockDeviceMappings'>;
  if (typeof rendered.InstanceType !== 'string') throw new PermanentError(`component ${component.id} was rendered without an instance type`);
  const root = rendered.BlockDeviceMappings?.[0];
  return {
    instanceType: rendered.InstanceType,
    architecture: component.architecture,
    rootDevice: root?.DeviceName,
    volumeSizeGiB: root?.Ebs?.VolumeSize,
  };
}

function nodeLabel({ node, instanceId }: ExistingNode): string {
  return `node ${node.name} (${instanceId})`;
}

function checkArchitecture(existing: ExistingNode, plan: PlannedHardware): void {
  const { Architecture: architecture, InstanceType: instanceType } = existing.instance;
  if (architecture === undefined || architecture === plan.architecture) return;
  throw new PermanentError(
    `${nodeLabel(existing)} runs on ${architecture} (${instanceType ?? 'unknown type'}) but the plan's ${plan.instanceType} is ${plan.architecture}: ` +
      `its disk holds an ${architecture} system that would not boot there. Choose an ${architecture} instance type, or deploy the new architecture as a new plan and move the data`,
  );
}

async function rootVolumes(
  ec2: EC2Client,
  nodes: readonly ExistingNode[],
  rootDevice: string | undefined,
  plannedGiB: number,
): Promise<RootVolume[]> {
  const volumes = await paginate(
    (NextToken) =>
      call('ec2:DescribeVolumes', () =>
        ec2.send(
          new DescribeVolumesCommand({
            Filters: [{ Name: 'attachment.instance-id', Values: nodes.map(({ instanceId }) => instanceId) }],
            ...(NextToken ? { NextToken } : {}),
          }),
        ),
      ),
    (page) => page.Volumes,
  );
  return nodes.flatMap((existing): RootVolume[] => {
    const device = existing.instance.RootDeviceName ?? rootDevice;
    const volume = volumes.find((candidate: Volume) =>
      candidate.Attachments?.some((attachment) => attachment.InstanceId === existing.instanceId && attachment.Device === device),
    );
    if (volume?.VolumeId && volume.Size !== undefined) return [{ node: existing.node, volumeId: volume.VolumeId, sizeGiB: volume.Size, plannedGiB }];
    // Only a node launched moments ago (by an earlier attempt, from the plan) does not show its root volume yet.
    if (existing.instance.State?.Name === 'pending') return [];
    throw new TransientError(`the root volume (${device ?? 'unknown device'}) of ${nodeLabel(existing)} is not visible`);
  });
}

/** The most recent modification of each volume that has one. */
async function latestModifications(ec2: EC2Client, volumeIds: readonly string[]): Promise<Map<string, VolumeModification>> {
  const latest = new Map<string, VolumeModification>();
  if (volumeIds.length === 0) return latest;
  // A filter, not VolumeIds: a volume that was never modified is then missing from the answer instead of failing it.
  const filters: Filter[] = [{ Name: 'volume-id', Values: [...volumeIds] }];
  const modifications = await paginate(
    (NextToken) =>
      call('ec2:DescribeVolumesModifications', () =>
        ec2.send(new DescribeVolumesModificationsCommand({ Filters: filters, ...(NextToken ? { NextToken } : {}) })),
      ),
    (page) => page.VolumesModifications,
  );
  for (const modification of modifications) {
    const volumeId = modification.VolumeId;
    if (volumeId === undefined) continue;
    const known = latest.get(volumeId);
    if (!known || (modification.StartTime?.getTime() ?? 0) >= (known.StartTime?.getTime() ?? 0)) latest.set(volumeId, modification);
  }
  return latest;
}

async function growVolume(ec2: EC2Client, volume: RootVolume): Promise<void> {
  try {
    // Only the size: the volume stays gp3 with its IOPS and throughput.
    await call('ec2:ModifyVolume', () => ec2.send(new ModifyVolumeCommand({ VolumeId: volume.volumeId, Size: volume.plannedGiB })));
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'IncorrectModificationState') {
      throw new TransientError(`the disk of node ${volume.node.name} (${volume.volumeId}) is still being modified; it grows once that is done`, {
        code,
        cause: error,
      });
    }
    throw error;
  }
}

async function waitForVolumes(ec2: EC2Client, clock: Clock, volumes: readonly RootVolume[]): Promise<void> {
  let waiting = volumes;
  for (let poll = 0; waiting.length > 0; poll += 1) {
    if (poll === VOLUME_POLLS) {
      throw new TransientError(
        `the disk(s) ${waiting.map((volume) => volume.volumeId).join(', ')} did not take their new size within ${(VOLUME_POLL_MS * VOLUME_POLLS) / 1000} s`,
      );
    }
    await clock.sleep(VOLUME_POLL_MS);
    const modifications = await latestModifications(
      ec2,
      waiting.map((volume) => volume.volumeId),
    );
    for (const volume of waiting) {
      const modification = modifications.get(volume.volumeId);
      if (modification?.ModificationState === 'failed') {
        throw new PermanentError(
          `growing the disk of node ${volume.node.name} (${volume.volumeId}) failed${modification.StatusMessage ? `: ${modification.StatusMessage}` : ''}`,
        );
      }
    }
    waiting = waiting.filter((volume) => !VOLUME_GROWN.has(modifications.get(volume.volumeId)?.ModificationState ?? ''));
  }
}

/** Changes the node's instance type if it is not the plan's, and starts it if it is stopped. Returns the instance if it was (re)started. */
async function convergeInstance(ec2: EC2Client, clock: Clock, existing: ExistingNode, plan: PlannedHardware): Promise<Instance | undefined> {
  const { instance, instanceId } = existing;
  let state = instance.State?.Name;
  const retype = instance.InstanceType !== plan.instanceType;
  if (!retype && state !== 'stopping' && state !== 'stopped') return undefined;

  if (retype && state === 'pending') state = (await waitForState(ec2, clock, existing, ['running', 'stopped'])).State?.Name;
  if (retype && state === 'running') {
    await instanceCall('ec2:StopInstances', () => ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
  }
  if (state !== 'stopped') await waitForState(ec2, clock, existing, ['stopped']);
  if (retype) await changeType(ec2, existing, plan.instanceType);

  await instanceCall('ec2:StartInstances', () => ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));
  // Running again before the next node stops; a node that did not come back stops the resize here.
  return waitForState(ec2, clock, existing, ['running']);
}

async function changeType(ec2: EC2Client, existing: ExistingNode, instanceType: string): Promise<void> {
  const { instance, instanceId } = existing;
  try {
    await instanceCall('ec2:ModifyInstanceAttribute', () =>
      ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, InstanceType: { Value: instanceType } })),
    );
  } catch (error) {
    if (!(error instanceof PermanentError)) throw error;
    // EC2 refused the new type for this instance: bring the node back as it was rather than leave it down.
    const previous = instance.InstanceType ?? 'its old type';
    try {
      await call('ec2:StartInstances', () => ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));
    } catch (startError) {
      const why = startError instanceof Error ? startError.message : String(startError);
      throw new PermanentError(`${error.message}; starting ${nodeLabel(existing)} again as ${previous} failed too, it is stopped: ${why}`, {
        code: error.code,
        cause: error,
      });
    }
    throw new PermanentError(`${error.message}; ${nodeLabel(existing)} was started again as ${previous}`, { code: error.code, cause: error });
  }
}

/** An instance call that raced with a state change EC2 had not shown yet is retried, not failed. */
async function instanceCall<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await call(action, send);
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'IncorrectInstanceState')
      throw new TransientError(`${action} found the instance in another state than expected`, { code, cause: error });
    throw error;
  }
}

async function waitForState(ec2: EC2Client, clock: Clock, existing: ExistingNode, wanted: readonly InstanceStateName[]): Promise<Instance> {
  const { instanceId } = existing;
  for (let poll = 0; poll < INSTANCE_POLLS; poll += 1) {
    await clock.sleep(INSTANCE_POLL_MS);
    const output = await call('ec2:DescribeInstances', () =>
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [instanceId] }] })),
    );
    const instance = output.Reservations?.flatMap((reservation) => reservation.Instances ?? []).find(
      (candidate) => candidate.InstanceId === instanceId,
    );
    const state = instance?.State?.Name;
    if (instance && state && wanted.includes(state)) return instance;
    if (state && GONE.has(state))
      throw new PermanentError(`${nodeLabel(existing)} is ${state}; CloudSeed was stopping or starting it to match the plan`);
    const reason = instance?.StateReason;
    if (wanted.includes('running') && state === 'stopped' && reason?.Code?.includes('InsufficientInstanceCapacity')) {
      // Started, then stopped again for want of capacity: retried like a launch that found none.
      throw new CapacityError(`${nodeLabel(existing)} could not start: ${reason.Message ?? reason.Code}`, { code: 'InsufficientInstanceCapacity' });
    }
  }
  throw new TransientError(`${nodeLabel(existing)} did not become ${wanted.join(' or ')} within ${(INSTANCE_POLL_MS * INSTANCE_POLLS) / 1000} s`);
}

async function paginate<P extends { NextToken?: string | undefined }, T>(
  fetch: (token: string | undefined) => Promise<P>,
  items: (page: P) => readonly T[] | undefined,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    all.push(...(items(page) ?? []));
    token = page.NextToken;
  } while (token);
  return all;
}
