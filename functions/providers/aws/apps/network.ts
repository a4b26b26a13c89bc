import {
  AuthorizeSecurityGroupIngressCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { Filter, IpPermission, SecurityGroup, Subnet } from '@aws-sdk/client-ec2';
import { PermanentError, TransientError } from '../../errors.ts';
import { awsErrorCode, call } from '../errors.ts';
import { APP_RULE_PREFIX, ingressChanges } from '../ingress.ts';
import { createTaggedGroup } from '../network.ts';
import type { AppContext } from './clients.ts';
import { appTags } from './names.ts';

// An app's network: its tasks and its ALB go in the account's default VPC (public subnets, so the
// tasks reach ECR without a NAT gateway) or the configured subnets. Two security groups of its own:
// the load balancer's admits HTTP on port 80 from anywhere; the tasks' admits the app's port from
// the load balancer's group only. A linked database's group (and a Patroni cluster's load balancer
// group in front of it) admits PostgreSQL from the tasks' group: a rule this module adds, tagged
// as CloudSeed's, and takes away again when the link goes or the app does.

/** Where the app's tasks and load balancer go. */
export interface AppNetwork {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly assignPublicIp: boolean;
}

export interface AppGroups {
  readonly appGroupId: string;
  readonly loadBalancerGroupId: string;
}

const HTTP_PORT = 80;
const DEPENDENCY_RETRY_MS = 10_000;
const DEPENDENCY_RETRIES = 12;
export const LOAD_BALANCER_RULE = 'HTTP from anywhere to the app load balancer';
export const APP_RULE = 'The app port from its load balancer only';
export const DATABASE_RULE_PREFIX = APP_RULE_PREFIX;

/** The subnets the plan's apps go in: the configured ones, or the default VPC's default subnets; at least two Availability Zones. */
export async function appNetwork(context: AppContext): Promise<AppNetwork> {
  const { ec2 } = context.clients;
  const { placement } = context;
  const region = context.scope.region;
  let subnets: Subnet[];
  if (placement.subnetIds && placement.subnetIds.length > 0) {
    const subnetIds = [...placement.subnetIds];
    const output = await call('ec2:DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds })));
    subnets = output.Subnets ?? [];
    if (subnets.length !== subnetIds.length) throw new PermanentError(`the configured subnets ${subnetIds.join(', ')} do not all exist in ${region}`);
  } else {
    const vpcs = await call('ec2:DescribeVpcs', () => ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })));
    const vpcId = vpcs.Vpcs?.[0]?.VpcId;
    if (!vpcId)
      throw new PermanentError(
        `the account has no default VPC in ${region}; create one (aws ec2 create-default-vpc) or configure subnets for CloudSeed apps`,
      );
    const output = await call('ec2:DescribeSubnets', () =>
      ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpcId] },
            { Name: 'default-for-az', Values: ['true'] },
          ],
        }),
      ),
    );
    subnets = output.Subnets ?? [];
  }
  const vpcIds = new Set(subnets.map((subnet) => subnet.VpcId));
  const zones = new Set(subnets.map((subnet) => subnet.AvailabilityZone));
  if (vpcIds.size !== 1 || [...vpcIds][0] === undefined) throw new PermanentError(`an app's subnets must all be in one VPC`);
  if (zones.size < 2)
    throw new PermanentError(`an app's load balancer needs subnets in at least two Availability Zones of ${region}; found ${zones.size}`);
  const subnetIds = subnets.map((subnet) => subnet.SubnetId!).sort();
  return { vpcId: [...vpcIds][0]!, subnetIds, assignPublicIp: placement.assignPublicIp ?? true };
}

/** The load balancer's and the tasks' groups, created when missing, their rules made exactly what the app needs. */
export async function ensureAppGroups(context: AppContext, network: AppNetwork): Promise<AppGroups> {
  const { names, target } = context;
  const what = `CloudSeed ${target.planName}/${target.component.id}`;
  const balancer =
    (await findGroup(context, names.loadBalancerSecurityGroup)) ??
    (await createGroup(context, network.vpcId, names.loadBalancerSecurityGroup, `${what} load balancer: HTTP from anywhere`));
  const loadBalancerGroupId = balancer.GroupId!;
  await converge(context, balancer, [
    {
      IpProtocol: 'tcp',
      FromPort: HTTP_PORT,
      ToPort: HTTP_PORT,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: LOAD_BALANCER_RULE }],
      Ipv6Ranges: [{ CidrIpv6: '::/0', Description: LOAD_BALANCER_RULE }],
    },
  ]);
  const app =
    (await findGroup(context, names.appSecurityGroup)) ??
    (await createGroup(context, network.vpcId, names.appSecurityGroup, `${what} tasks: the app port from its load balancer only`));
  const port = target.component.run.port;
  await converge(context, app, [
    { IpProtocol: 'tcp', FromPort: port, ToPort: port, UserIdGroupPairs: [{ GroupId: loadBalancerGroupId, Description: APP_RULE }] },
  ]);
  return { appGroupId: app.GroupId!, loadBalancerGroupId };
}

/** The tasks' group, or undefined before the first rollout made it. */
export async function appGroupId(context: AppContext): Promise<string | undefined> {
  return (await findGroup(context, context.names.appSecurityGroup))?.GroupId;
}

/**
 * Lets the app's tasks reach the linked database: its nodes' group, and a Patroni cluster's load
 * balancer group when it has one, admit `ports` from the tasks' group. Only what is missing is added.
 */
export async function admitToDatabase(
  context: AppContext,
  databaseId: string,
  appGroup: string,
  vpcId: string,
  ports: readonly number[],
): Promise<void> {
  const { names } = context;
  const nodes = await findGroup(context, names.databaseSecurityGroup(databaseId), databaseId);
  if (!nodes?.GroupId) throw new TransientError(`the security group of database ${databaseId} does not exist yet; deploy the database first`);
  if (nodes.VpcId !== undefined && nodes.VpcId !== vpcId)
    throw new PermanentError(
      `database ${databaseId} is in ${nodes.VpcId} and app ${context.target.component.id} in ${vpcId}; an app reaches only a database in its own VPC`,
    );
  const endpoint = await findGroup(context, names.databaseEndpointSecurityGroup(databaseId), databaseId);
  const description = `${DATABASE_RULE_PREFIX} ${context.target.component.id}`;
  for (const group of [nodes, endpoint]) {
    if (!group?.GroupId) continue;
    const wanted = [...new Set(ports)].map((port): IpPermission => ({
      IpProtocol: 'tcp',
      FromPort: port,
      ToPort: port,
      UserIdGroupPairs: [{ GroupId: appGroup, Description: description }],
    }));
    const { authorize } = ingressChanges(group.IpPermissions ?? [], wanted);
    if (authorize.length === 0) continue;
    const groupId = group.GroupId;
    await tolerating('ec2:AuthorizeSecurityGroupIngress', 'InvalidPermission.Duplicate', () =>
      context.clients.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: authorize,
          TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: appTags(context.target) }],
        }),
      ),
    );
  }
}

/**
 * Takes the app's group out of every group of the plan that admits it, but the linked database's
 * (`keep`, its group names): after a rollout that changed or removed the link, and at teardown.
 */
export async function revokeDatabaseAccess(context: AppContext, appGroup: string, keep: readonly string[] = []): Promise<void> {
  const { ec2 } = context.clients;
  const output = await call('ec2:DescribeSecurityGroups', () =>
    ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'ip-permission.group-id', Values: [appGroup] },
          { Name: 'tag:cloudseed:plan-id', Values: [context.target.planId] },
        ],
      }),
    ),
  );
  for (const group of output.SecurityGroups ?? []) {
    if (!group.GroupId || (group.GroupName !== undefined && keep.includes(group.GroupName))) continue;
    const revoke = (group.IpPermissions ?? []).flatMap((permission): IpPermission[] => {
      const pairs = (permission.UserIdGroupPairs ?? []).filter((pair) => pair.GroupId === appGroup);
      if (pairs.length === 0) return [];
      return [
        { IpProtocol: permission.IpProtocol, FromPort: permission.FromPort, ToPort: permission.ToPort, UserIdGroupPairs: [{ GroupId: appGroup }] },
      ];
    });
    if (revoke.length === 0) continue;
    const groupId = group.GroupId;
    await tolerating('ec2:RevokeSecurityGroupIngress', 'InvalidPermission.NotFound', () =>
      ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revoke })),
    );
  }
}

/** Deletes the tasks' group, then the load balancer's (which the first admits), waiting for their network interfaces to go. */
export async function removeAppGroups(context: AppContext): Promise<void> {
  await removeGroup(context, context.names.appSecurityGroup);
  await removeGroup(context, context.names.loadBalancerSecurityGroup);
}

async function removeGroup(context: AppContext, groupName: string): Promise<void> {
  const group = await findGroup(context, groupName);
  if (!group?.GroupId) return;
  const groupId = group.GroupId;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await call('ec2:DeleteSecurityGroup', () => context.clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })));
      return;
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'InvalidGroup.NotFound') return;
      // Stopped tasks' and a deleted load balancer's network interfaces take a while to let go of the group.
      if (code !== 'DependencyViolation') throw error;
      if (attempt === DEPENDENCY_RETRIES) throw new TransientError(`security group ${groupId} is still in use`, { code, cause: error });
      await context.clock.sleep(DEPENDENCY_RETRY_MS);
    }
  }
}

async function findGroup(context: AppContext, groupName: string, componentId = context.target.component.id): Promise<SecurityGroup | undefined> {
  const filters: Filter[] = [
    { Name: 'group-name', Values: [groupName] },
    { Name: 'tag:cloudseed:plan-id', Values: [context.target.planId] },
    { Name: 'tag:cloudseed:component', Values: [componentId] },
  ];
  const output = await call('ec2:DescribeSecurityGroups', () => context.clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters })));
  return output.SecurityGroups?.find((group) => group.GroupId !== undefined);
}

function createGroup(context: AppContext, vpcId: string, groupName: string, description: string): Promise<SecurityGroup> {
  const tags = [...appTags(context.target), { Key: 'Name', Value: `${context.target.planName}/${context.target.component.id}` }];
  return createTaggedGroup(context.clients.ec2, { groupName, description, vpcId, tags }, () => findGroup(context, groupName));
}

/** Authorises what is missing, then revokes what is no longer wanted (a changed port), so nothing allowed is cut off in between. */
async function converge(context: AppContext, group: SecurityGroup, desired: readonly IpPermission[]): Promise<void> {
  const { ec2 } = context.clients;
  const groupId = group.GroupId!;
  const { authorize, revoke } = ingressChanges(group.IpPermissions ?? [], desired);
  if (authorize.length > 0) {
    await tolerating('ec2:AuthorizeSecurityGroupIngress', 'InvalidPermission.Duplicate', () =>
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: authorize,
          TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: appTags(context.target) }],
        }),
      ),
    );
  }
  if (revoke.length > 0) {
    await tolerating('ec2:RevokeSecurityGroupIngress', 'InvalidPermission.NotFound', () =>
      ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revoke })),
    );
  }
}

/** A rule change that another run made already is done. */
async function tolerating(action: string, code: string, send: () => Promise<unknown>): Promise<void> {
  try {
    await call(action, send);
  } catch (error) {
    if (awsErrorCode(error) !== code) throw error;
  }
}
