import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnOutput, CfnParameter, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { backupBucketName } from '@cloudseed/shared/targets/aws/account';
import { CUSTOMER_ROLE_ACTIONS, NODE_ROLE_ACTIONS } from '@cloudseed/functions/providers/aws/actions';
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
      "The SSM agent's actions (ssm:UpdateInstanceInformation, ec2messages:*, ssmmessages control channel) do not support resource-level permissions; this boundary holds only those of AmazonSSMManagedInstanceCore that Run Command needs, and no parameter reads.",
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

    const policy = new iam.ManagedPolicy(this, 'DeployerPolicy', {
      description:
        'What CloudSeed does in this account: EC2 instances and security groups tagged cloudseed:managed, Run Command on them, and its /cloudseed/ parameters',
      statements,
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
      managedPolicies: [policy],
    });
    acknowledgeDeployerWildcards(policy, bucketId);

    const missing = CUSTOMER_ROLE_ACTIONS.filter((action) => !statements.some((statement) => statement.actions.includes(action)));
    if (missing.length > 0) throw new Error(`the customer role's policy lacks ${missing.join(', ')}, which AwsProvider calls`);

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
