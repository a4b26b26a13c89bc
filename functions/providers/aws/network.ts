import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { Filter, IpPermission, SecurityGroup } from '@aws-sdk/client-ec2';
import type { Tag } from '@cloudseed/shared';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ETCD_CLIENT_PORT } from '@cloudseed/shared/targets/aws/patroni';
import type { NetworkRef } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import type { AwsContext } from './clients.ts';
import { awsErrorCode, call } from './errors.ts';
import { desiredIngress, endpointIngress, ingressChanges, withoutAppRules } from './ingress.ts';
import { accountOf, baseTags, componentFilters } from './target.ts';

// The component's network boundary on AWS: one security group in the account's default VPC (or the
// configured one) that opens PostgreSQL to the plan's allowed networks, and, in a cluster, to the
// group's own members for replication. Its id is the NetworkRef's networkId. A Patroni cluster's
// load balancer (endpoint.ts) has a second group, which the first admits.

const DEPENDENCY_RETRY_MS = 10_000;
const DEPENDENCY_RETRIES = 12;

export async function ensureSecurityGroup(context: AwsContext): Promise<NetworkRef> {
  const nodes = context.component.securityGroup;
  const group = (await findSecurityGroup(context, nodes.GroupName)) ?? (await createSecurityGroup(context, { ...nodes, Tags: nodes.tags }));
  const groupId = group.GroupId!;
  refuseLeavingPatroni(context, group);
  // A Patroni cluster's load balancer has a group of its own, which the nodes' group admits.
  const endpointGroupId = await ensureEndpointGroup(context);
  await convergeIngress(context, group, desiredIngress(context.component, groupId, endpointGroupId));
  return { networkId: groupId };
}

/** The group of a Patroni cluster's load balancer: the plan's networks to PostgreSQL's port, as the nodes' group. */
async function ensureEndpointGroup(context: AwsContext): Promise<string | undefined> {
  const endpoint = context.component.endpoint;
  if (!endpoint) return undefined;
  const spec = { ...endpoint.securityGroup, Tags: endpoint.tags };
  const group = (await findSecurityGroup(context, spec.GroupName)) ?? (await createSecurityGroup(context, spec));
  await convergeIngress(context, group, endpointIngress(context.component));
  return group.GroupId!;
}

/** The group of the cluster's load balancer, for the load balancer itself; undefined until ensureSecurityGroup made it. */
export async function endpointGroupId(context: AwsContext): Promise<string | undefined> {
  const endpoint = context.component.endpoint;
  return endpoint ? (await findSecurityGroup(context, endpoint.securityGroup.GroupName))?.GroupId : undefined;
}

async function convergeIngress(context: AwsContext, group: SecurityGroup, desired: readonly IpPermission[]): Promise<void> {
  const { ec2 } = context.clients;
  const groupId = group.GroupId!;
  // The rules that admit the plan's apps are theirs (apps/network.ts adds them when an app deploys): a database deploy keeps them.
  const { authorize, revoke } = ingressChanges(withoutAppRules(group.IpPermissions ?? []), desired);
  // Authorise before revoking, so a client that stays allowed is never cut off in between.
  if (authorize.length > 0) {
    await convergeRule(
      'ec2:AuthorizeSecurityGroupIngress',
      () =>
        ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: authorize,
            TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: baseTags(context.component) }],
          }),
        ),
      'InvalidPermission.Duplicate',
    );
  }
  if (revoke.length > 0) {
    await convergeRule(
      'ec2:RevokeSecurityGroupIngress',
      () => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revoke })),
      'InvalidPermission.NotFound',
    );
  }
}

/**
 * A component whose group opens etcd to itself runs Patroni on its nodes; a plan with fewer than
 * three nodes would configure them as a streaming pair beside Patroni, which still runs the
 * servers. Checked on the group the deploy reads anyway, before anything changes.
 */
function refuseLeavingPatroni({ component }: AwsContext, group: SecurityGroup): void {
  if (component.patroni !== undefined) return;
  const patroni = (group.IpPermissions ?? []).some(
    (permission) =>
      permission.FromPort !== undefined &&
      permission.ToPort !== undefined &&
      permission.FromPort <= ETCD_CLIENT_PORT &&
      ETCD_CLIENT_PORT <= permission.ToPort &&
      (permission.UserIdGroupPairs ?? []).some((pair) => pair.GroupId === group.GroupId),
  );
  if (patroni)
    throw new PermanentError(
      `${component.id} runs Patroni (automatic failover), which on AWS needs at least 2 replicas; keep 2 or more, or remove the component and deploy it again`,
    );
}

/** The VPC the security group goes in: the configured one, the configured subnet's, or the account's default VPC. */
export async function vpcIdOf({ target, clients: { ec2 }, placement }: AwsContext): Promise<string> {
  if (placement.vpcId) return placement.vpcId;
  const region = accountOf(target).region;
  const subnetId = placement.subnetId;
  if (subnetId) {
    const output = await call('ec2:DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })));
    const vpcId = output.Subnets?.[0]?.VpcId;
    if (!vpcId) throw new PermanentError(`subnet ${subnetId} does not exist in ${region}`);
    return vpcId;
  }
  const output = await call('ec2:DescribeVpcs', () => ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })));
  const vpcId = output.Vpcs?.[0]?.VpcId;
  if (!vpcId)
    throw new PermanentError(`the account has no default VPC in ${region}; create one (aws ec2 create-default-vpc) or configure a VPC for CloudSeed`);
  return vpcId;
}

/**
 * Deletes the component's security groups (the nodes' first: it admits the load balancer's),
 * waiting for terminated instances and a deleted load balancer to let go of them; gone already is fine.
 */
export async function removeSecurityGroup(context: AwsContext): Promise<void> {
  await removeGroup(context, context.component.securityGroup.GroupName);
  const endpoint = context.component.endpoint;
  if (endpoint) await removeGroup(context, endpoint.securityGroup.GroupName);
}

async function removeGroup(context: AwsContext, groupName: string): Promise<void> {
  const group = await findSecurityGroup(context, groupName);
  if (!group?.GroupId) return;
  const groupId = group.GroupId;
  const { ec2 } = context.clients;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await call('ec2:DeleteSecurityGroup', () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })));
      return;
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'InvalidGroup.NotFound') return;
      // The terminated instances' (and a deleted load balancer's) network interfaces take a while to let go of the group.
      if (code !== 'DependencyViolation') throw error;
      if (attempt === DEPENDENCY_RETRIES) throw new TransientError(`security group ${groupId} is still in use`, { code, cause: error });
      await context.clock.sleep(DEPENDENCY_RETRY_MS);
    }
  }
}

interface GroupSpec {
  readonly GroupName: string;
  readonly Description: string;
  readonly Tags: readonly Tag[];
}

async function findSecurityGroup({ target, clients: { ec2 }, placement }: AwsContext, groupName: string): Promise<SecurityGroup | undefined> {
  const filters: Filter[] = [{ Name: 'group-name', Values: [groupName] }, ...componentFilters(target)];
  if (placement.vpcId) filters.push({ Name: 'vpc-id', Values: [placement.vpcId] });
  const output = await call('ec2:DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters })));
  return output.SecurityGroups?.find((group) => group.GroupId !== undefined);
}

async function createSecurityGroup(context: AwsContext, { GroupName, Description, Tags }: GroupSpec): Promise<SecurityGroup> {
  const vpcId = await vpcIdOf(context);
  return createTaggedGroup(context.clients.ec2, { groupName: GroupName, description: Description, vpcId, tags: Tags }, () =>
    findSecurityGroup(context, GroupName),
  );
}

/**
 * Creates a security group with its tags; when one of that name exists (made concurrently, or by
 * an earlier run) `find` looks for it among the tagged ones, and only a tagged one is ours.
 */
export async function createTaggedGroup(
  ec2: EC2Client,
  group: { readonly groupName: string; readonly description: string; readonly vpcId: string; readonly tags: readonly Tag[] },
  find: () => Promise<SecurityGroup | undefined>,
): Promise<SecurityGroup> {
  try {
    const output = await call('ec2:CreateSecurityGroup', () =>
      ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: group.groupName,
          Description: group.description,
          VpcId: group.vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: [...group.tags] }],
        }),
      ),
    );
    if (!output.GroupId) throw new TransientError(`ec2:CreateSecurityGroup returned no group id for ${group.groupName}`);
    // A new group has no ingress rules (and the default egress, which stays).
    return { GroupId: output.GroupId, VpcId: group.vpcId, IpPermissions: [] };
  } catch (error) {
    if (awsErrorCode(error) !== 'InvalidGroup.Duplicate') throw error;
    const found = await find();
    if (!found)
      throw new PermanentError(`a security group named ${group.groupName} exists in ${group.vpcId} but is not tagged as this plan's`, {
        code: 'InvalidGroup.Duplicate',
        cause: error,
      });
    return found;
  }
}

async function convergeRule(action: string, send: () => Promise<unknown>, raceCode: string): Promise<void> {
  try {
    await call(action, send);
  } catch (error) {
    // Someone changed the group between our read and this write: read again on the retry.
    if (awsErrorCode(error) === raceCode)
      throw new TransientError(`${action} raced with another change to the security group`, { code: raceCode, cause: error });
    throw error;
  }
}
