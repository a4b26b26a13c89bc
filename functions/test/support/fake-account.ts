import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Filter, Instance, IpPermission, SecurityGroup, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { DeleteParametersCommand, GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand } from '@aws-sdk/client-ssm';
import { ec2Mock, nodeRoleExists, nodeRoleRemovable, ssmMock } from './aws.ts';

// A small in-memory AWS account behind the mocked EC2 and SSM clients: security groups, instances
// and parameters that the provider's calls create, find by their tags, and remove, so that a test
// can run a step twice and see what the account holds. The plan's node role is taken as existing.

interface FakeState {
  readonly groups: Map<string, SecurityGroup>;
  readonly instances: Map<string, Instance>;
  readonly launchedByToken: Map<string, string>;
  readonly parameters: Map<string, string>;
}

export interface FakeAccount {
  /** What the account holds, one line per security group, live instance and parameter, sorted. */
  resources(): string[];
}

export function fakeAccount(): FakeAccount {
  const state: FakeState = { groups: new Map(), instances: new Map(), launchedByToken: new Map(), parameters: new Map() };
  nodeRoleExists();
  nodeRoleRemovable();
  ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
  ec2Mock
    .on(DescribeSecurityGroupsCommand)
    .callsFake(({ Filters }: { Filters?: Filter[] }) => ({ SecurityGroups: [...state.groups.values()].filter((group) => matches(group, Filters)) }));
  ec2Mock
    .on(CreateSecurityGroupCommand)
    .callsFake(({ GroupName, TagSpecifications }: { GroupName: string; TagSpecifications?: TagSpecification[] }) => {
      const GroupId = `sg-${String(state.groups.size + 1).padStart(17, '0')}`;
      state.groups.set(GroupId, { GroupId, GroupName, VpcId: 'vpc-1', Tags: tagsOf(TagSpecifications, 'security-group'), IpPermissions: [] });
      return { GroupId };
    });
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).callsFake(({ GroupId, IpPermissions }: { GroupId: string; IpPermissions: IpPermission[] }) => {
    const group = state.groups.get(GroupId)!;
    state.groups.set(GroupId, { ...group, IpPermissions: [...(group.IpPermissions ?? []), ...IpPermissions] });
    return { Return: true };
  });
  ec2Mock.on(DeleteSecurityGroupCommand).callsFake(({ GroupId }: { GroupId: string }) => {
    state.groups.delete(GroupId);
    return {};
  });
  ec2Mock.on(DescribeInstancesCommand).callsFake(({ Filters }: { Filters?: Filter[] }) => {
    const found = [...state.instances.values()].filter((instance) => matches(instance, Filters));
    return { Reservations: found.length > 0 ? [{ Instances: found }] : [] };
  });
  ec2Mock.on(RunInstancesCommand).callsFake((input: { ClientToken: string; InstanceType: string; TagSpecifications?: TagSpecification[] }) => {
    // RunInstances is idempotent per ClientToken: the same token returns the instance it started.
    const known = state.launchedByToken.get(input.ClientToken);
    if (known) return { Instances: [state.instances.get(known)] };
    const InstanceId = `i-${String(state.instances.size + 1).padStart(17, '0')}`;
    const instance: Instance = {
      InstanceId,
      InstanceType: input.InstanceType as Instance['InstanceType'],
      Architecture: 'arm64',
      RootDeviceName: '/dev/xvda',
      PrivateIpAddress: `172.31.5.${10 + state.instances.size}`,
      State: { Name: 'running' },
      Tags: tagsOf(input.TagSpecifications, 'instance'),
    };
    state.instances.set(InstanceId, instance);
    state.launchedByToken.set(input.ClientToken, InstanceId);
    return { Instances: [instance] };
  });
  ec2Mock.on(TerminateInstancesCommand).callsFake(({ InstanceIds }: { InstanceIds: string[] }) => {
    for (const id of InstanceIds) {
      const instance = state.instances.get(id);
      if (instance) state.instances.set(id, { ...instance, State: { Name: 'terminated' } });
    }
    return {};
  });
  ec2Mock.on(DescribeVolumesCommand).callsFake(({ Filters }: { Filters?: Filter[] }) => ({
    Volumes: (Filters?.find((filter) => filter.Name === 'attachment.instance-id')?.Values ?? []).map((InstanceId) => ({
      VolumeId: `vol-${InstanceId.slice(2)}`,
      Size: 20,
      VolumeType: 'gp3',
      Attachments: [{ InstanceId, Device: '/dev/xvda', State: 'attached' }],
    })),
  }));
  ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });
  ssmMock.on(PutParameterCommand).callsFake(({ Name, Value }: { Name: string; Value: string }) => {
    if (state.parameters.has(Name)) throw new ParameterAlreadyExists({ message: `${Name} exists`, $metadata: {} });
    state.parameters.set(Name, Value);
    return { Version: 1 };
  });
  ssmMock.on(GetParameterCommand).callsFake(({ Name }: { Name: string }) => {
    const Value = state.parameters.get(Name);
    if (Value === undefined) throw new ParameterNotFound({ message: `${Name} does not exist`, $metadata: {} });
    return { Parameter: { Name, Value } };
  });
  ssmMock.on(DeleteParametersCommand).callsFake(({ Names }: { Names: string[] }) => {
    for (const name of Names) state.parameters.delete(name);
    return { DeletedParameters: Names };
  });
  return {
    resources: () =>
      [
        ...[...state.groups.values()].map((group) => `security group ${group.GroupName}`),
        ...[...state.instances.values()]
          .filter((instance) => instance.State?.Name !== 'terminated')
          .map((instance) => `instance ${instance.Tags?.find((tag) => tag.Key === 'cloudseed:node')?.Value}`),
        ...[...state.parameters.keys()].map((name) => `parameter ${name}`),
      ].sort(),
  };
}

function tagsOf(specifications: TagSpecification[] | undefined, resourceType: string): Tag[] {
  return specifications?.find((specification) => specification.ResourceType === resourceType)?.Tags ?? [];
}

/** EC2's filter semantics for the filters the provider sends: every filter matches one of its values. */
function matches(
  resource: { Tags?: Tag[]; GroupName?: string; VpcId?: string; InstanceId?: string; State?: { Name?: string } },
  filters: Filter[] = [],
): boolean {
  return filters.every(({ Name, Values = [] }) => {
    const value =
      Name === 'group-name'
        ? resource.GroupName
        : Name === 'vpc-id'
          ? resource.VpcId
          : Name === 'instance-id'
            ? resource.InstanceId
            : Name === 'instance-state-name'
              ? resource.State?.Name
              : Name?.startsWith('tag:')
                ? resource.Tags?.find((tag) => tag.Key === Name.slice(4))?.Value
                : undefined;
    return value !== undefined && Values.includes(value);
  });
}
