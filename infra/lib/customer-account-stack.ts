import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnOutput, CfnParameter, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { backupBucketName } from '@cloudseed/shared/accounts/accounts';
import { CUSTOMER_ROLE_ACTIONS, NODE_ROLE_ACTIONS } from '@cloudseed/functions/providers/aws/actions';
import { acknowledge } from './nag.ts';
import { BACKUP_OBJECTS, CUSTOMER_ROLE_NAME, MANAGED_TAG, NODE_INSTANCE_PROFILE_NAME, NODE_ROLE_NAME, PARAMETER_PATH } from './names.ts';

// The template a customer launches in THEIR account to connect it: the role CloudSeed assumes
// (trusting the platform account under the customer's ExternalId) with exactly the actions
// AwsProvider calls, the role and instance profile the PostgreSQL nodes run with, and the bucket
// their backups go to.
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

export class CustomerAccountStack extends Stack {
  readonly deployerRole: iam.Role;
  readonly nodeRole: iam.Role;
  readonly backupBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    // A plain template: no CDK bootstrap version check in the customer's account (it has no assets).
    super(scope, id, { ...props, synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });
    this.templateOptions.description = 'CloudSeed account connection: lets the CloudSeed platform deploy PostgreSQL into this account and keep its backups in this account, and nothing else.';

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
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1), noncurrentVersionExpiration: Duration.days(7), expiredObjectDeleteMarker: true }],
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

    this.nodeRole = new iam.Role(this, 'NodeRole', {
      roleName: NODE_ROLE_NAME,
      description: "CloudSeed PostgreSQL nodes: SSM agent, their password parameters, and their backups in this account's CloudSeed bucket",
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    const nodeStatements = [
      new iam.PolicyStatement({ sid: 'ReadCloudSeedParameters', actions: ['ssm:GetParameter'], resources: [ssmParameters] }),
      new iam.PolicyStatement({
        sid: 'DecryptParametersThroughSsm',
        actions: ['kms:Decrypt'],
        resources: [`arn:${partition}:kms:*:${account}:key/*`],
        conditions: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com' } },
      }),
      new iam.PolicyStatement({
        sid: 'StreamBackups',
        // pg_dump streams to S3 (a multipart upload, aborted when the dump fails); validation and restore stream it back.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
        resources: [backupObjects],
        conditions: inThisAccount,
      }),
    ];
    for (const statement of nodeStatements) this.nodeRole.addToPolicy(statement);
    const nodeMissing = NODE_ROLE_ACTIONS.filter((action) => !nodeStatements.some((statement) => statement.actions.includes(action)));
    if (nodeMissing.length > 0) throw new Error(`the node role's policy lacks ${nodeMissing.join(', ')}, which the node scripts call`);
    const profile = new iam.CfnInstanceProfile(this, 'NodeInstanceProfile', { instanceProfileName: NODE_INSTANCE_PROFILE_NAME, roles: [this.nodeRole.roleName] });
    acknowledge(
      this.nodeRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for the SSM agent (Run Command is the only way onto the nodes: there is no SSH); AWS keeps it in step with the agent.',
    );
    acknowledge(
      this.nodeRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/${PARAMETER_PATH}/*]`,
      'Nodes read the password parameters CloudSeed keeps under /cloudseed/<plan>/<component>/; plans are created at run time, in any region the customer deploys to.',
    );
    acknowledge(
      this.nodeRole,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${BACKUP_OBJECTS}]`,
      "Backups are keyed by plan, component and backup id at run time; nodes write and read them in this account's backup bucket, under plans/ only.",
    );
    acknowledge(
      this.nodeRole,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
      "SecureString parameters use the account's aws/ssm key, whose id differs per account and region; kms:ViaService limits the decrypts to those SSM makes on the node's behalf.",
    );

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
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'LaunchTaggedInstances',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('instance/*')],
        conditions: {
          StringEquals: {
            [`aws:RequestTag/${MANAGED_TAG}`]: managed,
            'ec2:MetadataHttpTokens': 'required',
            'ec2:InstanceProfile': `arn:${partition}:iam::${account}:instance-profile/${NODE_INSTANCE_PROFILE_NAME}`,
          },
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
          StringEquals: { 'ec2:CreateAction': ['RunInstances', 'CreateSecurityGroup', 'AuthorizeSecurityGroupIngress'], [`aws:RequestTag/${MANAGED_TAG}`]: managed },
        },
      }),
      new iam.PolicyStatement({
        sid: 'PassNodeRoleToEc2',
        actions: ['iam:PassRole'],
        resources: [this.nodeRole.roleArn],
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
      description: 'What CloudSeed does in this account: EC2 instances and security groups tagged cloudseed:managed, Run Command on them, and its /cloudseed/ parameters',
      statements,
    });
    this.deployerRole = new iam.Role(this, 'DeployerRole', {
      roleName: CUSTOMER_ROLE_NAME,
      description: 'Assumed by the CloudSeed platform, with the ExternalId you were given',
      assumedBy: new iam.AccountPrincipal(platformAccountId.valueAsString).withConditions({ StringEquals: { 'sts:ExternalId': externalId.valueAsString } }),
      managedPolicies: [policy],
    });
    acknowledgeDeployerWildcards(policy, bucketId);

    const missing = CUSTOMER_ROLE_ACTIONS.filter((action) => !statements.some((statement) => statement.actions.includes(action)));
    if (missing.length > 0) throw new Error(`the customer role's policy lacks ${missing.join(', ')}, which AwsProvider calls`);

    new CfnOutput(this, 'RoleArn', { description: 'Give this role ARN to CloudSeed to connect the account', value: this.deployerRole.roleArn });
    new CfnOutput(this, 'NodeInstanceProfileName', { description: 'The instance profile CloudSeed nodes run with', value: profile.ref });
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
      'Instances are created per plan at run time; every mutation is conditioned on the cloudseed:managed tag (RequestTag on launch, ResourceTag on stop, start, resize, terminate and Run Command) and launches must use IMDSv2 and the CloudSeedNode profile.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:volume/*': 'Root volumes are created by RunInstances (tagged cloudseed:managed and encrypted) and grown by ModifyVolume only when they carry that tag.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:security-group/*':
      "Security groups are created per plan at run time; creation requires the cloudseed:managed tag and changes require it on the group.",
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:security-group-rule/*': 'Ingress rules are created per plan and tagged cloudseed:managed on creation.',
    'Resource::arn:<AWS::Partition>:ec2:*::image/*': "Nodes launch from AWS's public images (Amazon Linux, Ubuntu, Debian) or an AMI the plan names, owned by other accounts.",
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:subnet/*': "Nodes launch into the region's default VPC subnets, which differ per account and region.",
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:network-interface/*': 'RunInstances creates the network interface of each node; it has no id beforehand.',
    'Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:vpc/*': "Security groups go into the region's default VPC, whose id differs per account and region.",
    [`Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/${PARAMETER_PATH}/*`]: 'Password parameters are created per plan at run time, only under /cloudseed/.',
    [`Resource::<${bucketId}.Arn>/${BACKUP_OBJECTS}`]: "Backups are objects of plans deployed at run time, in this account's backup bucket, under plans/ only.",
    'Resource::arn:<AWS::Partition>:ssm:*:*:parameter/aws/service/*': "The AMI ids come from AWS's public SSM parameters (resolve:ssm: in RunInstances), which AWS owns in every region.",
    'Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunShellScript': 'AWS-RunShellScript is the AWS-owned document in every region; this names that one document only.',
  };
  for (const [finding, reason] of Object.entries(evidence)) acknowledge(policy, `AwsSolutions-IAM5[${finding}]`, reason);
}
