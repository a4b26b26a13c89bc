import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import { BACKUP_BUCKET_PREFIX } from '@cloudseed/shared/targets/aws/account';
import { METRICS_NAMESPACE } from '@cloudseed/shared/targets/aws/scripts';
import { PermanentError, TransientError } from '../errors.ts';
import { awsErrorCode, call } from './errors.ts';

// Each plan's nodes run with a role of their own, so a node can read only its own plan's password
// parameters and backups. EC2 instance-profile sessions carry no instance tags as principal tags,
// so one shared role could not tell plans apart; instead AwsProvider creates, per plan, a role and
// an instance profile under NODE_ROLE_PATH, with an inline policy naming the plan. The customer
// template lets the CloudSeed role create roles only under that path and only with the
// CloudSeedNodeBoundary permissions boundary, whose ceiling is what any node may ever do; the
// effective permissions are the intersection of the two.

/** The IAM path of every node role and instance profile; the customer role may create and pass roles only here. */
export const NODE_ROLE_PATH = '/cloudseed/nodes/';
/** The customer template's managed policy every node role must carry as its permissions boundary. */
export const NODE_BOUNDARY_POLICY_NAME = 'CloudSeedNodeBoundary';
/** The node role's inline policy. */
export const NODE_POLICY_NAME = 'CloudSeedPlan';

/**
 * What the SSM agent needs for Run Command, and no more: registering and reporting its ping
 * (UpdateInstanceInformation, which makes DescribeInstanceInformation answer Online), receiving
 * commands and sending their output (ec2messages, and the ssmmessages control channel newer agents
 * use for the same). Left out of AmazonSSMManagedInstanceCore: ssm:GetParameter(s) on "*" (every
 * SecureString in the account), documents, associations, inventory, patching and compliance, and
 * the Session Manager data channels. None of these actions supports resource-level permissions.
 */
export const NODE_AGENT_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:OpenControlChannel',
] as const;

/** The S3 object actions of the backup scripts and of pgBackRest on a node (see NODE_ROLE_ACTIONS in actions.ts). */
export const NODE_BACKUP_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'] as const;
/** The prefix of every plan's pgBackRest repository in the backup bucket (repoPathFor without its leading slash). */
export const ARCHIVE_PREFIX = 'pgbackrest/';

const ROLE_ARN = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role\//;
const PLAN_ID = /^[A-Za-z0-9-]{1,50}$/;
const PROFILE_PROPAGATION_RETRIES = 12;
const PROFILE_PROPAGATION_MS = 5_000;

/** Where a plan's node role lives, and for which plan. */
export interface NodeRoleScope {
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
  readonly planId: string;
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

/** `CloudSeedNode-<plan id>`: the role and the instance profile share it. */
export function nodeRoleName(planId: string): string {
  // Plan ids are UUIDs; anything else could not be an IAM name of 64 characters or fewer.
  if (!PLAN_ID.test(planId)) throw new PermanentError(`plan id ${JSON.stringify(planId)} cannot name an IAM role`);
  return `CloudSeedNode-${planId}`;
}

/** The partition and account of the customer's role ARN: the node roles go into the same account. */
export function nodeRoleScope(roleArn: string, region: string, planId: string): NodeRoleScope {
  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw new PermanentError(`${roleArn} is not an IAM role ARN`);
  return { partition: match[1]!, accountId: match[2]!, region, planId };
}

export function nodeBoundaryArn(scope: Pick<NodeRoleScope, 'partition' | 'accountId'>): string {
  return `arn:${scope.partition}:iam::${scope.accountId}:policy/${NODE_BOUNDARY_POLICY_NAME}`;
}

export function nodeInstanceProfileArn(scope: NodeRoleScope): string {
  return `arn:${scope.partition}:iam::${scope.accountId}:instance-profile${NODE_ROLE_PATH}${nodeRoleName(scope.planId)}`;
}

/**
 * The node role's inline policy: the SSM agent; the plan's own SecureString parameters, decrypted
 * only by SSM and only for those parameters (SSM puts the parameter's ARN in the KMS encryption
 * context); and the plan's own backups in the account's CloudSeed backup bucket. The bucket's region
 * is the one the customer template was launched in, which the plan does not know, hence the
 * wildcard after the account id; the boundary names the one bucket, and s3:ResourceAccount keeps a
 * bucket of the same name elsewhere out. And its metrics, in CloudSeed's CloudWatch namespace only.
 */
export function nodeRolePolicy(scope: NodeRoleScope): PolicyDocument {
  const { partition, accountId, region, planId } = scope;
  const parameters = `arn:${partition}:ssm:${region}:${accountId}:parameter/cloudseed/${planId}/*`;
  const dnsSuffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  const buckets = `arn:${partition}:s3:::${BACKUP_BUCKET_PREFIX}-${accountId}-*`;
  const inThisAccount = { 's3:ResourceAccount': accountId };
  const repository = `${ARCHIVE_PREFIX}${planId}`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'SsmAgent', Effect: 'Allow', Action: [...NODE_AGENT_ACTIONS], Resource: '*' },
      { Sid: 'ReadPlanParameters', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: parameters },
      {
        Sid: 'DecryptPlanParameters',
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: `arn:${partition}:kms:${region}:${accountId}:key/*`,
        Condition: {
          StringEquals: { 'kms:ViaService': `ssm.${region}.${dnsSuffix}` },
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameters },
        },
      },
      {
        Sid: 'StreamPlanBackups',
        Effect: 'Allow',
        Action: [...NODE_BACKUP_ACTIONS],
        Resource: `${buckets}/plans/${planId}/*`,
        Condition: { StringEquals: inThisAccount },
      },
      {
        Sid: 'ArchivePlanRepository',
        Effect: 'Allow',
        Action: [...NODE_BACKUP_ACTIONS],
        Resource: `${buckets}/${repository}/*`,
        Condition: { StringEquals: inThisAccount },
      },
      {
        Sid: 'PublishMetrics',
        Effect: 'Allow',
        Action: ['cloudwatch:PutMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
      },
      {
        Sid: 'ListPlanRepository',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: buckets,
        Condition: { StringEquals: inThisAccount, StringLike: { 's3:prefix': [repository, `${repository}/*`] } },
      },
    ],
  };
}

const EC2_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/**
 * Creates the plan's node role and instance profile, or brings existing ones to the plan's policy.
 * Every call is safe to repeat: what exists already is kept, and the inline policy is overwritten.
 * Returns the instance profile's name.
 */
export async function ensureNodeRole(iam: IAMClient, scope: NodeRoleScope): Promise<string> {
  const name = nodeRoleName(scope.planId);
  await ignoring('EntityAlreadyExists', () =>
    call('iam:CreateRole', () =>
      iam.send(
        new CreateRoleCommand({
          RoleName: name,
          Path: NODE_ROLE_PATH,
          AssumeRolePolicyDocument: EC2_TRUST,
          PermissionsBoundary: nodeBoundaryArn(scope),
          Description: `CloudSeed PostgreSQL nodes of plan ${scope.planId}: SSM agent, the plan's password parameters and backups`,
        }),
      ),
    ),
  );
  await call('iam:PutRolePolicy', () =>
    iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: NODE_POLICY_NAME, PolicyDocument: JSON.stringify(nodeRolePolicy(scope)) })),
  );

  let roles: string[];
  try {
    const output = await call('iam:GetInstanceProfile', () => iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })));
    roles = (output.InstanceProfile?.Roles ?? []).flatMap((role) => (role.RoleName ? [role.RoleName] : []));
  } catch (error) {
    if (awsErrorCode(error) !== 'NoSuchEntity') throw error;
    await ignoring('EntityAlreadyExists', () =>
      call('iam:CreateInstanceProfile', () => iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: NODE_ROLE_PATH }))),
    );
    roles = [];
  }
  if (roles.includes(name)) return name;
  if (roles.length > 0) throw new PermanentError(`instance profile ${name} holds ${roles.join(', ')}, not the plan's node role ${name}`);
  try {
    await call('iam:AddRoleToInstanceProfile', () => iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })));
  } catch (error) {
    // An instance profile holds one role: a concurrent run added it first. Look again on the retry.
    if (awsErrorCode(error) === 'LimitExceeded')
      throw new TransientError(`instance profile ${name} changed while CloudSeed added its role`, { code: 'LimitExceeded', cause: error });
    throw error;
  }
  return name;
}

/** Removes the plan's node role and instance profile; what is gone already counts as removed. */
export async function deleteNodeRole(iam: IAMClient, planId: string): Promise<void> {
  const name = nodeRoleName(planId);
  await ignoring('NoSuchEntity', () =>
    call('iam:RemoveRoleFromInstanceProfile', () =>
      iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })),
    ),
  );
  await ignoring('NoSuchEntity', () =>
    call('iam:DeleteInstanceProfile', () => iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: name }))),
  );
  await ignoring('NoSuchEntity', () =>
    call('iam:DeleteRolePolicy', () => iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: NODE_POLICY_NAME }))),
  );
  try {
    await call('iam:DeleteRole', () => iam.send(new DeleteRoleCommand({ RoleName: name })));
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'NoSuchEntity') return;
    // IAM lets go of a profile's role a little after RemoveRoleFromInstanceProfile.
    if (code === 'DeleteConflict')
      throw new TransientError(`node role ${name} is still attached; deleting it again on the retry`, { code, cause: error });
    throw error;
  }
}

/**
 * A new instance profile takes a few seconds to reach EC2 (IAM is eventually consistent), and
 * RunInstances refuses it until then with InvalidParameterValue "Invalid IAM Instance Profile".
 */
export function isProfileNotYetVisible(error: unknown): boolean {
  return awsErrorCode(error) === 'InvalidParameterValue' && error instanceof Error && /Invalid IAM Instance Profile/i.test(error.message);
}

export const PROFILE_PROPAGATION = { retries: PROFILE_PROPAGATION_RETRIES, delayMs: PROFILE_PROPAGATION_MS } as const;

async function ignoring(code: string, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (awsErrorCode(error) !== code) throw error;
  }
}
