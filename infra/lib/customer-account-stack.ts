import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnOutput, CfnParameter, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { backupBucketName } from '@cloudseed/shared/targets/aws/account';
import { METRICS_NAMESPACE } from '@cloudseed/shared/targets/aws/scripts';
import {
  APP_BUILD_ACTIONS,
  APP_TASK_EXECUTION_ACTIONS,
  CUSTOMER_APP_ROLE_ACTIONS,
  CUSTOMER_ROLE_ACTIONS,
  NODE_ROLE_ACTIONS,
} from '@cloudseed/functions/providers/aws/actions';
import {
  APP_BUILD_ROLE_NAME,
  APP_LOG_GROUP_PREFIX,
  APP_NAME_PREFIX,
  APP_REPOSITORY_PREFIX,
  APP_ROLE_PATH,
  APP_TASK_EXECUTION_ROLE_NAME,
  APP_TASK_PARAMETER_PATTERNS,
} from '@cloudseed/functions/providers/aws/apps/names';
import { ARCHIVE_PREFIX, NODE_AGENT_ACTIONS, NODE_BACKUP_ACTIONS } from '@cloudseed/functions/providers/aws/node-role';
import { acknowledge } from './nag.ts';
import {
  BACKUP_OBJECTS,
  CUSTOMER_ROLE_NAME,
  MANAGED_TAG,
  NODE_BOUNDARY_POLICY_NAME,
  NODE_ROLE_PATH,
  PARAMETER_PATH,
  PLATFORM_STACK_ID,
} from './names.ts';

// The template a customer launches in THEIR account to connect it: the role CloudSeed assumes
// (trusting the platform's roles under the customer's ExternalId) with exactly the actions
// AwsProvider calls, the permissions boundary of the nodes' roles, and the bucket their backups go to.
//
// Each plan's nodes get a role of their own (AwsProvider creates it under /cloudseed/nodes/, with an
// inline policy naming the plan: node-role.ts), so a node reads only its own plan's passwords and
// backups. The CloudSeed role may create and change roles only there, only with the
// CloudSeedNodeBoundary boundary attached, and pass them only to EC2: whatever policy it writes, a
// node can never do more than the boundary, which is the SSM agent's Run Command actions, the
// /cloudseed/ parameters (decrypted only by SSM, only for those parameters), the plans/ objects and
// the pgbackrest/ repositories (continuous archiving, which only the nodes read and write).
//
// Apps (AwsAppProvider, functions/providers/aws/apps/) get two more managed policies on the same
// role, and two roles CloudSeed may pass but not change: ECS's task execution role (pull the app's
// image, write its logs, read its /cloudseed/<plan>/<app>/ parameters) and CodeBuild's (push the
// app's image). The apps' own code runs with no AWS credentials at all.
//
// Backups stay in the customer's account: `cloudseed-backups-<account>-<region>`, created in the
// region the template is launched in, under plans/. Its name is derived from the account and that
// region, so the platform finds it from the connection alone. The nodes stream dumps into it and
// back; the role checks and removes them. Both may touch only this bucket's objects, and only while
// it belongs to this account (s3:ResourceAccount), so no bucket of the same name elsewhere could
// receive a dump.
//
// Mutations are tied to the `cloudseed:managed=true` tag: created resources must carry it
// (aws:RequestTag), existing ones must have it (aws:ResourceTag), and tags can only be written
// while creating. Describe* calls do not support resource-level permissions and need "*".

export const CUSTOMER_STACK_ID = 'CloudSeedCustomerAccount';
/** The plans' pgBackRest repositories in the backup bucket, `pgbackrest/<plan>/`: the nodes alone read and write them. */
const ARCHIVE_OBJECTS = `${ARCHIVE_PREFIX}*`;

export class CustomerAccountStack extends Stack {
  readonly deployerRole: iam.Role;
  readonly nodeBoundary: iam.ManagedPolicy;
  readonly backupBucket: s3.Bucket;
  /** What ECS runs an app's tasks with (pull, logs, the app's parameters); never the app's own credentials. */
  readonly appTaskExecutionRole: iam.Role;
  /** What CodeBuild builds an app's image with. */
  readonly appBuildRole: iam.Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    // A plain template: no CDK bootstrap version check in the customer's account (it has no assets).
    super(scope, id, { ...props, synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });
    this.templateOptions.description =
      'CloudSeed account connection: lets the CloudSeed platform deploy PostgreSQL into this account and keep its backups in this account, and nothing else.';

    const platformAccountId = new CfnParameter(this, 'PlatformAccountId', {
      type: 'String',
      description: 'The AWS account id of the CloudSeed platform (shown where you connect the account)',
      allowedPattern: '^\\d{12}$',
      constraintDescription: 'a 12-digit AWS account id',
    });
    // Not NoEcho: the console's launch link can fill in only parameters that show. IAM does not
    // treat an ExternalId as a secret; what makes it work is that CloudSeed issues it, one per customer.
    const externalId = new CfnParameter(this, 'ExternalId', {
      type: 'String',
      description: 'The ExternalId CloudSeed issued to you (shown where you connect the account); the role trusts CloudSeed only with it',
      minLength: 16,
      maxLength: 1224,
      allowedPattern: '^[\\w+=,.@:/-]+$',
    });

    const { partition, account, region } = this;
    const ec2Arn = (resource: string) => `arn:${partition}:ec2:*:${account}:${resource}`;
    const elbArn = (resource: string) => `arn:${partition}:elasticloadbalancing:*:${account}:${resource}`;
    const ssmParameters = `arn:${partition}:ssm:*:${account}:parameter/${PARAMETER_PATH}/*`;
    const managed = 'true';

    this.backupBucket = new s3.Bucket(this, 'BackupBucket', {
      bucketName: backupBucketName(account, region),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // CloudSeed deletes backups past their plan's retention; a deleted or overwritten one can still
      // be recovered for a week, after which its versions and then its delete marker go.
      versioned: true,
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(1), noncurrentVersionExpiration: Duration.days(7), expiredObjectDeleteMarker: true },
      ],
      // The backups are the customer's: removing the connection leaves them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.backupBucket,
      'AwsSolutions-S1',
      "Only this account's CloudSeed roles write and read the bucket, through the paths listed in this template; server access logs would need a second bucket in the customer's account, and CloudTrail data events are the account owner's choice.",
    );
    const backupObjects = this.backupBucket.arnForObjects(BACKUP_OBJECTS);
    const inThisAccount = { StringEquals: { 's3:ResourceAccount': account } };
    const bucketId = this.getLogicalId(this.backupBucket.node.defaultChild as CfnElement);

    const nodeStatements = [
      new iam.PolicyStatement({ sid: 'SsmAgent', actions: [...NODE_AGENT_ACTIONS], resources: ['*'] }),
      new iam.PolicyStatement({ sid: 'ReadCloudSeedParameters', actions: ['ssm:GetParameter'], resources: [ssmParameters] }),
      new iam.PolicyStatement({
        sid: 'DecryptCloudSeedParametersThroughSsm',
        actions: ['kms:Decrypt'],
        resources: [`arn:${partition}:kms:*:${account}:key/*`],
        // SSM puts the parameter's ARN in the encryption context of every SecureString it decrypts.
        conditions: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': ssmParameters } },
      }),
      new iam.PolicyStatement({
        sid: 'StreamBackups',
        // pg_dump streams to S3 (a multipart upload, aborted when the dump fails); validation and restore stream it back.
        actions: [...NODE_BACKUP_ACTIONS],
        resources: [backupObjects],
        conditions: inThisAccount,
      }),
      new iam.PolicyStatement({
        sid: 'ArchiveRepositories',
        // pgBackRest pushes WAL and backup sets, reads them back to restore, and expires them.
        actions: [...NODE_BACKUP_ACTIONS],
        resources: [this.backupBucket.arnForObjects(ARCHIVE_OBJECTS)],
        conditions: inThisAccount,
      }),
      new iam.PolicyStatement({
        sid: 'ListArchiveRepositories',
        actions: ['s3:ListBucket'],
        resources: [this.backupBucket.bucketArn],
        conditions: { ...inThisAccount, StringLike: { 's3:prefix': ARCHIVE_OBJECTS } },
      }),
      new iam.PolicyStatement({
        sid: 'PublishMetricsInCloudSeedNamespace',
        // PutMetricData has no resource; the namespace condition is what keeps a node to CloudSeed's.
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
      }),
    ];
    this.nodeBoundary = new iam.ManagedPolicy(this, 'NodeBoundary', {
      managedPolicyName: NODE_BOUNDARY_POLICY_NAME,
      description:
        "The most a CloudSeed node may ever do (the permissions boundary of every node role): SSM agent, /cloudseed/ parameters, and backups in this account's CloudSeed bucket",
      statements: nodeStatements,
    });
    const nodeMissing = NODE_ROLE_ACTIONS.filter((action) => !nodeStatements.some((statement) => statement.actions.includes(action)));
    if (nodeMissing.length > 0) throw new Error(`the node boundary lacks ${nodeMissing.join(', ')}, which the node scripts call`);
    acknowledge(
      this.nodeBoundary,
      'AwsSolutions-IAM5[Resource::*]',
      "The SSM agent's actions (ssm:UpdateInstanceInformation, ec2messages:*, ssmmessages control channel) and cloudwatch:PutMetricData do not support resource-level permissions; this boundary holds only those of AmazonSSMManagedInstanceCore that Run Command needs, and no parameter reads, and metric data only in CloudSeed's namespace (the cloudwatch:namespace condition).",
    );
    acknowledge(
      this.nodeBoundary,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/${PARAMETER_PATH}/*]`,
      "A boundary is the ceiling of every plan's node role; each node role's own policy names only /cloudseed/<its plan>/ in its region, and the effective permission is the intersection.",
    );
    acknowledge(
      this.nodeBoundary,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${BACKUP_OBJECTS}]`,
      "A boundary is the ceiling of every plan's node role; each node role's own policy names only plans/<its plan>/ objects, and the effective permission is the intersection.",
    );
    acknowledge(
      this.nodeBoundary,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ARCHIVE_OBJECTS}]`,
      "A boundary is the ceiling of every plan's node role; each node role's own policy names only pgbackrest/<its plan>/ objects, and the effective permission is the intersection.",
    );
    acknowledge(
      this.nodeBoundary,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
      "SecureString parameters use the account's aws/ssm key, whose id differs per account and region; kms:ViaService limits decrypts to those SSM makes, and the PARAMETER_ARN encryption context to CloudSeed's parameters.",
    );
    const nodeRoles = `arn:${partition}:iam::${account}:role${NODE_ROLE_PATH}*`;
    const nodeProfiles = `arn:${partition}:iam::${account}:instance-profile${NODE_ROLE_PATH}*`;

    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({
        sid: 'DescribeAnything',
        actions: [
          'ec2:DescribeVpcs',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeInstances',
          'ec2:DescribeInstanceStatus',
          'ec2:DescribeVolumes',
          'ec2:DescribeVolumesModifications',
          'ssm:DescribeInstanceInformation',
          'ssm:GetCommandInvocation',
          'elasticloadbalancing:DescribeLoadBalancers',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetHealth',
          // The nodes' metrics; GetMetricData has no resource-level permissions.
          'cloudwatch:GetMetricData',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'LaunchTaggedInstances',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('instance/*')],
        conditions: {
          StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: managed, 'ec2:MetadataHttpTokens': 'required' },
          // A plan's own node profile, under the path where only boundary-capped roles can be.
          StringLike: { 'ec2:InstanceProfile': nodeProfiles },
        },
      }),
      new iam.PolicyStatement({
        sid: 'LaunchTaggedEncryptedVolumes',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('volume/*')],
        conditions: { StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: managed }, Bool: { 'ec2:Encrypted': 'true' } },
      }),
      new iam.PolicyStatement({
        sid: 'LaunchIntoManagedSecurityGroups',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('security-group/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'LaunchFromImagesIntoSubnets',
        actions: ['ec2:RunInstances'],
        // Public AMIs belong to other accounts; the subnet is the default VPC's; the interface is created by the launch.
        resources: [`arn:${partition}:ec2:*::image/*`, ec2Arn('subnet/*'), ec2Arn('network-interface/*')],
      }),
      new iam.PolicyStatement({
        sid: 'ManageTaggedInstances',
        // Resizing a node stops it, changes its type and starts it again; teardown terminates it.
        actions: ['ec2:StopInstances', 'ec2:StartInstances', 'ec2:ModifyInstanceAttribute', 'ec2:TerminateInstances'],
        resources: [ec2Arn('instance/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'GrowTaggedVolumes',
        actions: ['ec2:ModifyVolume'],
        resources: [ec2Arn('volume/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'CreateTaggedSecurityGroups',
        actions: ['ec2:CreateSecurityGroup'],
        resources: [ec2Arn('security-group/*')],
        conditions: { StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'CreateSecurityGroupsInVpcs',
        actions: ['ec2:CreateSecurityGroup'],
        resources: [ec2Arn('vpc/*')],
      }),
      new iam.PolicyStatement({
        sid: 'ManageTaggedSecurityGroups',
        actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:DeleteSecurityGroup'],
        resources: [ec2Arn('security-group/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'CreateTaggedSecurityGroupRules',
        actions: ['ec2:AuthorizeSecurityGroupIngress'],
        resources: [ec2Arn('security-group-rule/*')],
        conditions: { StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'RevokeTaggedSecurityGroupRules',
        actions: ['ec2:RevokeSecurityGroupIngress'],
        resources: [ec2Arn('security-group-rule/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreateOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2Arn('instance/*'), ec2Arn('volume/*'), ec2Arn('security-group/*'), ec2Arn('security-group-rule/*')],
        conditions: {
          StringEquals: {
            'ec2:CreateAction': ['RunInstances', 'CreateSecurityGroup', 'AuthorizeSecurityGroupIngress'],
            [`aws:RequestTag/${MANAGED_TAG}`]: managed,
          },
        },
      }),
      new iam.PolicyStatement({
        sid: 'CreateTaggedLoadBalancers',
        // A Patroni cluster's internal Network Load Balancer, its target group and listener, each created with the tag.
        actions: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:CreateListener'],
        resources: [elbArn('loadbalancer/net/*'), elbArn('targetgroup/*'), elbArn('listener/net/*')],
        conditions: { StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'ListenOnTaggedLoadBalancers',
        actions: ['elasticloadbalancing:CreateListener'],
        resources: [elbArn('loadbalancer/net/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'TagLoadBalancersOnCreateOnly',
        actions: ['elasticloadbalancing:AddTags'],
        resources: [elbArn('loadbalancer/net/*'), elbArn('targetgroup/*'), elbArn('listener/net/*')],
        conditions: {
          StringEquals: {
            'elasticloadbalancing:CreateAction': ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener'],
            [`aws:RequestTag/${MANAGED_TAG}`]: managed,
          },
        },
      }),
      new iam.PolicyStatement({
        sid: 'ChangeTaggedLoadBalancers',
        actions: [
          'elasticloadbalancing:ModifyTargetGroupAttributes',
          'elasticloadbalancing:RegisterTargets',
          'elasticloadbalancing:DeregisterTargets',
          'elasticloadbalancing:DeleteLoadBalancer',
          'elasticloadbalancing:DeleteTargetGroup',
        ],
        resources: [elbArn('loadbalancer/net/*'), elbArn('targetgroup/*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } },
      }),
      new iam.PolicyStatement({
        sid: 'LoadBalancingServiceRole',
        // The first load balancer in an account creates Elastic Load Balancing's service-linked role.
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          `arn:${partition}:iam::${account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`,
        ],
        conditions: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
      }),
      new iam.PolicyStatement({
        sid: 'NodeRolesOnlyWithBoundary',
        // IAM evaluates iam:PermissionsBoundary on these: a role without the boundary (or with another) cannot be created or given a policy.
        actions: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
        resources: [nodeRoles],
        conditions: { StringEquals: { 'iam:PermissionsBoundary': this.nodeBoundary.managedPolicyArn } },
      }),
      new iam.PolicyStatement({
        sid: 'DeleteNodeRoles',
        // DeleteRole has no iam:PermissionsBoundary key; under this path only boundary-capped roles can have been created.
        actions: ['iam:DeleteRole'],
        resources: [nodeRoles],
      }),
      new iam.PolicyStatement({
        sid: 'NodeInstanceProfiles',
        actions: [
          'iam:CreateInstanceProfile',
          'iam:GetInstanceProfile',
          'iam:AddRoleToInstanceProfile',
          'iam:RemoveRoleFromInstanceProfile',
          'iam:DeleteInstanceProfile',
        ],
        resources: [nodeProfiles],
      }),
      new iam.PolicyStatement({
        sid: 'PassNodeRolesToEc2',
        // On RunInstances, and on AddRoleToInstanceProfile (which IAM authorises as passing the role).
        actions: ['iam:PassRole'],
        resources: [nodeRoles],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
      new iam.PolicyStatement({
        sid: 'PasswordParameters',
        actions: ['ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:GetParameter', 'ssm:DeleteParameters'],
        resources: [ssmParameters],
      }),
      new iam.PolicyStatement({
        sid: 'ResolveAmiParameters',
        // RunInstances with ImageId resolve:ssm:/aws/service/... reads AWS's public parameters.
        actions: ['ssm:GetParameters'],
        resources: [`arn:${partition}:ssm:*:*:parameter/aws/service/*`],
      }),
      new iam.PolicyStatement({
        sid: 'RunShellScript',
        actions: ['ssm:SendCommand'],
        resources: [`arn:${partition}:ssm:*::document/AWS-RunShellScript`],
      }),
      new iam.PolicyStatement({
        sid: 'CheckAndRemoveBackups',
        // HeadObject/GetObject: the backup's manifest, its validation report, and download links; DeleteObjects: a failed or expired backup.
        actions: ['s3:GetObject', 's3:DeleteObject'],
        resources: [backupObjects],
        conditions: inThisAccount,
      }),
      new iam.PolicyStatement({
        sid: 'FindBackups',
        // HeadBucket when the account is connected; and HeadObject answers 404 for a backup that is gone only to a caller that may list.
        actions: ['s3:ListBucket'],
        resources: [this.backupBucket.bucketArn],
        conditions: inThisAccount,
      }),
      new iam.PolicyStatement({
        sid: 'RunOnManagedInstances',
        actions: ['ssm:SendCommand'],
        resources: [ec2Arn('instance/*')],
        conditions: { StringEquals: { [`ssm:resourceTag/${MANAGED_TAG}`]: managed } },
      }),
    ];

    // Three managed policies: IAM allows one at most 6,144 characters, and these statements need more.
    const touches = (pattern: RegExp) => (statement: iam.PolicyStatement) => statement.actions.some((action) => pattern.test(action));
    const isCompute = touches(/^ec2:/);
    const isAccess = touches(/^(iam|elasticloadbalancing):/);
    const policy = new iam.ManagedPolicy(this, 'DeployerPolicy', {
      description: 'What CloudSeed does in this account for databases: EC2 instances, volumes and security groups tagged cloudseed:managed',
      statements: statements.filter(isCompute),
    });
    const access = new iam.ManagedPolicy(this, 'DeployerAccessPolicy', {
      description: "What CloudSeed does in this account for databases: its nodes' roles under /cloudseed/nodes/ and its clusters' load balancers",
      statements: statements.filter((statement) => !isCompute(statement) && isAccess(statement)),
    });
    const operations = new iam.ManagedPolicy(this, 'DeployerOperationsPolicy', {
      description: 'What CloudSeed does in this account for databases: Run Command on its instances, its /cloudseed/ parameters and its backups',
      statements: statements.filter((statement) => !isCompute(statement) && !isAccess(statement)),
    });
    this.deployerRole = new iam.Role(this, 'DeployerRole', {
      roleName: CUSTOMER_ROLE_NAME,
      description: 'Assumed by the CloudSeed platform, with the ExternalId you were given',
      // Only the platform stack's own roles (its Lambda functions'), not any principal of the platform
      // account that an administrator there lets assume roles: CloudFormation names them `<stack>-...`.
      assumedBy: new iam.AccountPrincipal(platformAccountId.valueAsString).withConditions({
        StringEquals: { 'sts:ExternalId': externalId.valueAsString },
        ArnLike: { 'aws:PrincipalArn': `arn:${partition}:iam::${platformAccountId.valueAsString}:role/${PLATFORM_STACK_ID}-*` },
      }),
      managedPolicies: [policy, access, operations],
    });
    for (const part of [policy, access, operations]) acknowledgeDeployerWildcards(part, bucketId);

    const missing = CUSTOMER_ROLE_ACTIONS.filter((action) => !statements.some((statement) => statement.actions.includes(action)));
    if (missing.length > 0) throw new Error(`the customer role's policy lacks ${missing.join(', ')}, which AwsProvider calls`);

    const apps = appAccess(this);
    this.appTaskExecutionRole = apps.taskExecutionRole;
    this.appBuildRole = apps.buildRole;
    for (const appPolicy of apps.policies) this.deployerRole.addManagedPolicy(appPolicy);

    new CfnOutput(this, 'RoleArn', { description: 'Give this role ARN to CloudSeed to connect the account', value: this.deployerRole.roleArn });
    new CfnOutput(this, 'NodeBoundaryPolicyArn', {
      description: 'The permissions boundary of every CloudSeed node role (one per plan, under /cloudseed/nodes/)',
      value: this.nodeBoundary.managedPolicyArn,
    });
    new CfnOutput(this, 'BackupBucketName', {
      description: 'Where CloudSeed keeps the backups of your plans; connect the account with this stack’s region',
      value: this.backupBucket.bucketName,
    });
  }
}

/**
 * The customer template as the platform publishes it: the stack synthesized in an app of its own
 * (with an output directory of its own, and without CDK's construct-path metadata), so it is the
 * same template `npm run synth` writes and cdk-nag checks, minus what only CDK reads.
 */
export function synthesizeCustomerTemplate(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'cloudseed-customer-template-'));
  try {
    const app = new App({ outdir, postCliContext: { 'aws:cdk:enable-path-metadata': false, 'aws:cdk:version-reporting': false } });
    new CustomerAccountStack(app, CUSTOMER_STACK_ID);
    return `${JSON.stringify(app.synth().getStackByName(CUSTOMER_STACK_ID).template, null, 2)}\n`;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function acknowledgeDeployerWildcards(policy: iam.ManagedPolicy, bucketId: string): void {
  const evidence: Record<string, string> = {
    'Resource::*': 'ec2:Describe*, ssm:DescribeInstanceInformation and ssm:GetCommandInvocation do not support resource-level permissions.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:instance/*':
      "Instances are created per plan at run time; every mutation is conditioned on the cloudseed:managed tag (RequestTag on launch, ResourceTag on stop, start, resize, terminate and Run Command) and launches must use IMDSv2 and a plan's node profile under /cloudseed/nodes/.",
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:volume/*':
      'Root volumes are created by RunInstances (tagged cloudseed:managed and encrypted) and grown by ModifyVolume only when they carry that tag.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:security-group/*':
      'Security groups are created per plan at run time; creation requires the cloudseed:managed tag and changes require it on the group.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:security-group-rule/*':
      'Ingress rules are created per plan and tagged cloudseed:managed on creation.',
    'Resource::arn:<AWS::Partition>:ec2:*::image/*':
      "Nodes launch from AWS's public images (Amazon Linux, Ubuntu, Debian) or an AMI the plan names, owned by other accounts.",
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:subnet/*':
      "Nodes launch into the region's default VPC subnets, which differ per account and region.",
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:network-interface/*':
      'RunInstances creates the network interface of each node; it has no id beforehand.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:vpc/*':
      "Security groups go into the region's default VPC, whose id differs per account and region.",
    [`Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/${PARAMETER_PATH}/*`]:
      'Password parameters are created per plan at run time, only under /cloudseed/.',
    [`Resource::<${bucketId}.Arn>/${BACKUP_OBJECTS}`]:
      "Backups are objects of plans deployed at run time, in this account's backup bucket, under plans/ only.",
    'Resource::arn:<AWS::Partition>:ssm:*:*:parameter/aws/service/*':
      "The AMI ids come from AWS's public SSM parameters (resolve:ssm: in RunInstances), which AWS owns in every region.",
    'Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunShellScript':
      'AWS-RunShellScript is the AWS-owned document in every region; this names that one document only.',
    [`Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role${NODE_ROLE_PATH}*`]:
      'Node roles are created per plan at run time, only under /cloudseed/nodes/, only with the CloudSeedNodeBoundary permissions boundary (iam:PermissionsBoundary), and passed only to EC2.',
    [`Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile${NODE_ROLE_PATH}*`]:
      'Node instance profiles are created per plan at run time, only under /cloudseed/nodes/; the roles they hold are boundary-capped.',
    'Resource::arn:<AWS::Partition>:elasticloadbalancing:*:<AWS::AccountId>:loadbalancer/net/*':
      "A Patroni cluster's internal Network Load Balancer is created per plan at run time; creation requires the cloudseed:managed tag and every change and deletion requires it on the load balancer.",
    'Resource::arn:<AWS::Partition>:elasticloadbalancing:*:<AWS::AccountId>:targetgroup/*':
      "The load balancer's target group is created per plan at run time; creation requires the cloudseed:managed tag and registering, deregistering, changing and deleting require it on the group.",
    'Resource::arn:<AWS::Partition>:elasticloadbalancing:*:<AWS::AccountId>:listener/net/*':
      "The load balancer's one listener is created per plan at run time, tagged cloudseed:managed on creation.",
  };
  for (const [finding, reason] of Object.entries(evidence)) acknowledge(policy, `AwsSolutions-IAM5[${finding}]`, reason);
}

/**
 * What CloudSeed's apps need in the customer's account: two more managed policies on the CloudSeed
 * role (CodeBuild, ECR, ECS, Application Load Balancers, CloudWatch Logs, Application Auto Scaling),
 * and the two roles it passes to AWS services, which it may pass but never change. Every name is
 * one CloudSeed derives (apps/names.ts: cloudseed-<plan>-<app>, cloudseed/<plan>/<app>,
 * /cloudseed/apps/<plan>/<app>); creations must carry cloudseed:managed=true and changes and
 * deletions need it on the resource, where the service evaluates tags. Security groups, their rules
 * and parameters are the database statements' (the same tags, the same /cloudseed/ path).
 */
function appAccess(stack: Stack): { policies: iam.ManagedPolicy[]; taskExecutionRole: iam.Role; buildRole: iam.Role } {
  const { partition, account } = stack;
  const managed = 'true';
  const requestTagged = { [`aws:RequestTag/${MANAGED_TAG}`]: managed };
  const resourceTagged = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: managed } };
  const ecsArn = (resource: string) => `arn:${partition}:ecs:*:${account}:${resource}`;
  const elbArn = (resource: string) => `arn:${partition}:elasticloadbalancing:*:${account}:${resource}`;
  const clusters = ecsArn(`cluster/${APP_NAME_PREFIX}*`);
  const services = ecsArn(`service/${APP_NAME_PREFIX}*/*`);
  const tasks = ecsArn(`task/${APP_NAME_PREFIX}*/*`);
  const taskDefinitions = ecsArn(`task-definition/${APP_NAME_PREFIX}*:*`);
  const inAppClusters = { ArnLike: { 'ecs:cluster': clusters } };
  const repositories = `arn:${partition}:ecr:*:${account}:repository/${APP_REPOSITORY_PREFIX}*`;
  const projects = `arn:${partition}:codebuild:*:${account}:project/${APP_NAME_PREFIX}*`;
  const builds = `arn:${partition}:codebuild:*:${account}:build/${APP_NAME_PREFIX}*`;
  const logGroups = `arn:${partition}:logs:*:${account}:log-group:${APP_LOG_GROUP_PREFIX}*`;
  const scalableTargets = `arn:${partition}:application-autoscaling:*:${account}:scalable-target/*`;
  const alarms = `arn:${partition}:cloudwatch:*:${account}:alarm:TargetTracking-service/${APP_NAME_PREFIX}*`;
  const parameters = APP_TASK_PARAMETER_PATTERNS.map((pattern) => `arn:${partition}:ssm:*:${account}:parameter/${pattern}`);

  // A service may assume these only for this account's own resources (confused deputy).
  const fromThisAccount = { StringEquals: { 'aws:SourceAccount': account } };
  const taskExecutionRole = new iam.Role(stack, 'AppTaskExecutionRole', {
    roleName: APP_TASK_EXECUTION_ROLE_NAME,
    path: APP_ROLE_PATH,
    description: "ECS pulls a CloudSeed app's image, writes its logs and reads its parameters with this role; the app's own code gets no credentials",
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com').withConditions(fromThisAccount),
  });
  const executionStatements = [
    // GetAuthorizationToken has no resource-level permissions; what it allows is the pulls below.
    new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: 'PullAppImages',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      resources: [repositories],
    }),
    new iam.PolicyStatement({ sid: 'WriteAppLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroups] }),
    new iam.PolicyStatement({ sid: 'ReadAppParameters', actions: ['ssm:GetParameters'], resources: parameters }),
    new iam.PolicyStatement({
      sid: 'DecryptAppParametersThroughSsm',
      actions: ['kms:Decrypt'],
      resources: [`arn:${partition}:kms:*:${account}:key/*`],
      conditions: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': parameters } },
    }),
  ];
  for (const statement of executionStatements) taskExecutionRole.addToPolicy(statement);
  checkCovers('the app task execution role', executionStatements, APP_TASK_EXECUTION_ACTIONS);

  const buildRole = new iam.Role(stack, 'AppBuildRole', {
    roleName: APP_BUILD_ROLE_NAME,
    path: APP_ROLE_PATH,
    description: "CodeBuild builds a CloudSeed app's image and pushes it to the app's ECR repository with this role",
    assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com').withConditions(fromThisAccount),
  });
  const buildRoleStatements = [
    new iam.PolicyStatement({ sid: 'WriteBuildLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroups] }),
    new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: 'PushAppImages',
      actions: [
        'ecr:BatchCheckLayerAvailability',
        'ecr:GetDownloadUrlForLayer',
        'ecr:BatchGetImage',
        'ecr:DescribeImages',
        'ecr:InitiateLayerUpload',
        'ecr:UploadLayerPart',
        'ecr:CompleteLayerUpload',
        'ecr:PutImage',
      ],
      resources: [repositories],
    }),
  ];
  for (const statement of buildRoleStatements) buildRole.addToPolicy(statement);
  checkCovers('the app build role', buildRoleStatements, APP_BUILD_ACTIONS);

  // Two policies: one would pass IAM's 6,144 characters for a managed policy.
  const serviceStatements = [
    new iam.PolicyStatement({
      sid: 'ReadAppDefinitionsAndScaling',
      // None of these supports resource-level permissions.
      actions: [
        'ecs:DescribeTaskDefinition',
        'ecs:ListTaskDefinitions',
        'ecs:DeregisterTaskDefinition',
        'application-autoscaling:DescribeScalableTargets',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'RegisterTaggedTaskDefinitions',
      // RegisterTaskDefinition has no resource-level permissions; the tag is required of what it creates.
      actions: ['ecs:RegisterTaskDefinition'],
      resources: ['*'],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({
      sid: 'ListAppTasks',
      actions: ['ecs:ListTasks'],
      resources: ['*'],
      conditions: inAppClusters,
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedAppClusters',
      actions: ['ecs:CreateCluster'],
      resources: [clusters],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({ sid: 'ReadAppClusters', actions: ['ecs:DescribeClusters'], resources: [clusters] }),
    new iam.PolicyStatement({ sid: 'DeleteTaggedAppClusters', actions: ['ecs:DeleteCluster'], resources: [clusters], conditions: resourceTagged }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedAppServices',
      actions: ['ecs:CreateService'],
      resources: [services],
      conditions: { StringEquals: requestTagged, ...inAppClusters },
    }),
    new iam.PolicyStatement({ sid: 'ReadAppServices', actions: ['ecs:DescribeServices'], resources: [services] }),
    new iam.PolicyStatement({
      sid: 'ChangeTaggedAppServices',
      actions: ['ecs:UpdateService', 'ecs:DeleteService'],
      resources: [services],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'RunTaggedReleaseTasks',
      actions: ['ecs:RunTask'],
      resources: [taskDefinitions],
      conditions: { StringEquals: requestTagged, ...inAppClusters },
    }),
    new iam.PolicyStatement({ sid: 'FollowAndStopAppTasks', actions: ['ecs:DescribeTasks', 'ecs:StopTask'], resources: [tasks] }),
    new iam.PolicyStatement({
      sid: 'TagAppEcsResourcesOnCreateOnly',
      actions: ['ecs:TagResource'],
      resources: [clusters, services, tasks, taskDefinitions],
      conditions: { StringEquals: { 'ecs:CreateAction': ['CreateCluster', 'CreateService', 'RegisterTaskDefinition', 'RunTask'], ...requestTagged } },
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedScalableTargets',
      // Application Auto Scaling authorises the tags of RegisterScalableTarget as TagResource.
      actions: ['application-autoscaling:RegisterScalableTarget', 'application-autoscaling:TagResource'],
      resources: [scalableTargets],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({
      sid: 'ChangeTaggedScalableTargets',
      actions: ['application-autoscaling:PutScalingPolicy', 'application-autoscaling:DeregisterScalableTarget'],
      resources: [scalableTargets],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'TargetTrackingAlarms',
      // Application Auto Scaling makes and removes a target tracking policy's alarms with the caller's permissions.
      actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'],
      resources: [alarms],
    }),
    new iam.PolicyStatement({
      sid: 'PassAppTaskExecutionRoleToEcs',
      actions: ['iam:PassRole'],
      resources: [taskExecutionRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'AppServiceRoles',
      // The account's first ECS cluster and ECS scaling target create these service-linked roles.
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [
        `arn:${partition}:iam::${account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
        `arn:${partition}:iam::${account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
      ],
      conditions: { StringEquals: { 'iam:AWSServiceName': ['ecs.amazonaws.com', 'ecs.application-autoscaling.amazonaws.com'] } },
    }),
  ];
  const buildStatements = [
    new iam.PolicyStatement({
      sid: 'CreateTaggedAppRepositories',
      // ECR authorises the tags of CreateRepository as ecr:TagResource.
      actions: ['ecr:CreateRepository', 'ecr:TagResource'],
      resources: [repositories],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({ sid: 'ReadAppRepositories', actions: ['ecr:DescribeRepositories'], resources: [repositories] }),
    new iam.PolicyStatement({
      sid: 'ChangeTaggedAppRepositories',
      actions: ['ecr:PutLifecyclePolicy', 'ecr:DeleteRepository'],
      resources: [repositories],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedBuildProjects',
      actions: ['codebuild:CreateProject'],
      resources: [projects],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({
      sid: 'ChangeTaggedBuildProjects',
      actions: ['codebuild:UpdateProject', 'codebuild:DeleteProject', 'codebuild:StartBuild'],
      resources: [projects],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'FollowAndStopAppBuilds',
      actions: ['codebuild:BatchGetBuilds', 'codebuild:ListBuildsForProject', 'codebuild:StopBuild'],
      resources: [projects, builds],
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedAppLogGroups',
      // CloudWatch Logs authorises the tags of CreateLogGroup as logs:TagResource.
      actions: ['logs:CreateLogGroup', 'logs:TagResource'],
      resources: [logGroups],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({
      sid: 'ReadAndRemoveAppLogGroups',
      actions: ['logs:PutRetentionPolicy', 'logs:DescribeLogStreams', 'logs:GetLogEvents', 'logs:DeleteLogGroup'],
      resources: [logGroups],
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedAppLoadBalancers',
      // An app's internet-facing Application Load Balancer, its target group and HTTP listener, each created with the tag.
      actions: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:CreateListener'],
      resources: [elbArn('loadbalancer/app/*'), elbArn('targetgroup/*'), elbArn('listener/app/*')],
      conditions: { StringEquals: requestTagged },
    }),
    new iam.PolicyStatement({
      sid: 'ListenOnTaggedAppLoadBalancers',
      actions: ['elasticloadbalancing:CreateListener'],
      resources: [elbArn('loadbalancer/app/*')],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'TagAppLoadBalancersOnCreateOnly',
      actions: ['elasticloadbalancing:AddTags'],
      resources: [elbArn('loadbalancer/app/*'), elbArn('targetgroup/*'), elbArn('listener/app/*')],
      conditions: {
        StringEquals: { 'elasticloadbalancing:CreateAction': ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener'], ...requestTagged },
      },
    }),
    new iam.PolicyStatement({
      sid: 'ChangeTaggedAppLoadBalancers',
      actions: [
        'elasticloadbalancing:ModifyLoadBalancerAttributes',
        'elasticloadbalancing:ModifyTargetGroup',
        'elasticloadbalancing:ModifyTargetGroupAttributes',
        'elasticloadbalancing:DeleteLoadBalancer',
        'elasticloadbalancing:DeleteTargetGroup',
      ],
      resources: [elbArn('loadbalancer/app/*'), elbArn('targetgroup/*')],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'PassAppBuildRoleToCodeBuild',
      actions: ['iam:PassRole'],
      resources: [buildRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'codebuild.amazonaws.com' } },
    }),
  ];
  const policies = [
    new iam.ManagedPolicy(stack, 'AppServicePolicy', {
      description:
        'What CloudSeed does in this account to run apps: ECS clusters, services and tasks named cloudseed-… and tagged cloudseed:managed, and their scaling',
      statements: serviceStatements,
    }),
    new iam.ManagedPolicy(stack, 'AppBuildPolicy', {
      description:
        'What CloudSeed does in this account to build and expose apps: CodeBuild projects, ECR repositories, log groups and load balancers named for CloudSeed and tagged cloudseed:managed',
      statements: buildStatements,
    }),
  ];
  // The database statements grant what apps share with databases (security groups, parameters, Describe calls).
  const statements = [...serviceStatements, ...buildStatements];
  const granted = new Set([...statements.flatMap((statement) => statement.actions), ...CUSTOMER_ROLE_ACTIONS]);
  const missing = CUSTOMER_APP_ROLE_ACTIONS.filter((action) => !granted.has(action));
  if (missing.length > 0) throw new Error(`the customer role's policies lack ${missing.join(', ')}, which AwsAppProvider calls`);
  acknowledgeAppWildcards(policies, taskExecutionRole, buildRole);
  return { policies, taskExecutionRole, buildRole };
}

function checkCovers(what: string, statements: readonly iam.PolicyStatement[], actions: readonly string[]): void {
  const missing = actions.filter((action) => !statements.some((statement) => statement.actions.includes(action)));
  if (missing.length > 0) throw new Error(`${what} lacks ${missing.join(', ')}`);
}

function acknowledgeAppWildcards(policies: readonly iam.ManagedPolicy[], taskExecutionRole: iam.Role, buildRole: iam.Role): void {
  const evidence: Record<string, string> = {
    'Resource::*':
      'ecs:RegisterTaskDefinition (only with the cloudseed:managed tag), ecs:DeregisterTaskDefinition, ecs:DescribeTaskDefinition, ecs:ListTaskDefinitions, ecs:ListTasks (only in cloudseed- clusters) and application-autoscaling:DescribeScalableTargets do not support resource-level permissions.',
    [`Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:cluster/${APP_NAME_PREFIX}*`]:
      "An app's cluster is created per app at run time, named cloudseed-<plan>-<app>; creation requires the cloudseed:managed tag and deletion requires it on the cluster.",
    [`Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:service/${APP_NAME_PREFIX}*/*`]:
      "An app's service is created per app at run time in its cloudseed- cluster; creation requires the cloudseed:managed tag, updates and deletion require it on the service.",
    [`Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:task/${APP_NAME_PREFIX}*/*`]:
      "Tasks (the release command's and the service's) exist only at run time, in an app's cloudseed- cluster; CloudSeed follows and stops them there.",
    [`Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:task-definition/${APP_NAME_PREFIX}*:*`]:
      'Task definition revisions are registered per release at run time in cloudseed- families; a release command runs only from those, only in a cloudseed- cluster and only tagged.',
    [`Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/${APP_REPOSITORY_PREFIX}*`]:
      "An app's image repository is created per app at run time under cloudseed/; creation requires the cloudseed:managed tag, lifecycle changes and deletion require it on the repository.",
    [`Resource::arn:<AWS::Partition>:codebuild:*:<AWS::AccountId>:project/${APP_NAME_PREFIX}*`]:
      "An app's build project is created per app at run time, named cloudseed-<plan>-<app>; creation requires the cloudseed:managed tag, and updates, builds and deletion require it on the project.",
    [`Resource::arn:<AWS::Partition>:codebuild:*:<AWS::AccountId>:build/${APP_NAME_PREFIX}*`]:
      "Builds exist only at run time, in an app's cloudseed- project; CloudSeed follows and stops them.",
    [`Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:${APP_LOG_GROUP_PREFIX}*`]:
      "An app's log group is created per app at run time under /cloudseed/apps/ (creation requires the cloudseed:managed tag); its streams are made by CodeBuild and ECS per build and task.",
    'Resource::arn:<AWS::Partition>:elasticloadbalancing:*:<AWS::AccountId>:loadbalancer/app/*':
      "An app's Application Load Balancer is created per app at run time; creation requires the cloudseed:managed tag and every change and deletion requires it on the load balancer.",
    'Resource::arn:<AWS::Partition>:elasticloadbalancing:*:<AWS::AccountId>:targetgroup/*':
      "The load balancer's target group is created per app at run time; creation requires the cloudseed:managed tag and changes and deletion require it on the group.",
    'Resource::arn:<AWS::Partition>:elasticloadbalancing:*:<AWS::AccountId>:listener/app/*':
      "The load balancer's one HTTP listener is created per app at run time, tagged cloudseed:managed on creation.",
    'Resource::arn:<AWS::Partition>:application-autoscaling:*:<AWS::AccountId>:scalable-target/*':
      "A scalable target's ARN holds a random id given at registration; registration requires the cloudseed:managed tag, and policies and deregistration require it on the target.",
    [`Resource::arn:<AWS::Partition>:cloudwatch:*:<AWS::AccountId>:alarm:TargetTracking-service/${APP_NAME_PREFIX}*`]:
      "The alarms Application Auto Scaling names after a cloudseed- service's target tracking policy, made and removed with the caller's permissions.",
  };
  for (const policy of policies)
    for (const [finding, reason] of Object.entries(evidence)) acknowledge(policy, `AwsSolutions-IAM5[${finding}]`, reason);
  const pull = 'ecr:GetAuthorizationToken does not support resource-level permissions; the images it lets the role reach are only under cloudseed/.';
  const repositories = `Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/${APP_REPOSITORY_PREFIX}*`;
  const logs = `Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:${APP_LOG_GROUP_PREFIX}*`;
  acknowledge(taskExecutionRole, 'AwsSolutions-IAM5[Resource::*]', pull);
  acknowledge(
    taskExecutionRole,
    `AwsSolutions-IAM5[${repositories}]`,
    "Apps' image repositories are created per app at run time, only under cloudseed/.",
  );
  acknowledge(
    taskExecutionRole,
    `AwsSolutions-IAM5[${logs}]`,
    "Apps' log groups are created per app at run time under /cloudseed/apps/; ECS names a stream per task.",
  );
  for (const pattern of APP_TASK_PARAMETER_PATTERNS)
    acknowledge(
      taskExecutionRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/${pattern}]`,
      "An app's link and secret parameters are written per app at run time under /cloudseed/<plan>/<app>/ (database-*, secrets/*); ECS reads them for the tasks it starts, and no database password or CA key matches.",
    );
  acknowledge(
    taskExecutionRole,
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
    "SecureString parameters use the account's aws/ssm key, whose id differs per account and region; kms:ViaService limits decrypts to those SSM makes, and the PARAMETER_ARN encryption context to the apps' parameters.",
  );
  acknowledge(buildRole, 'AwsSolutions-IAM5[Resource::*]', pull);
  acknowledge(buildRole, `AwsSolutions-IAM5[${repositories}]`, "Apps' image repositories are created per app at run time, only under cloudseed/.");
  acknowledge(
    buildRole,
    `AwsSolutions-IAM5[${logs}]`,
    "Apps' log groups are created per app at run time under /cloudseed/apps/; CodeBuild names a stream per build.",
  );
}
