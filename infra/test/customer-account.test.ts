import { beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_ROLE_ACTIONS, NODE_ROLE_ACTIONS } from '@cloudseed/functions/providers/aws/index';
import { APP_BUILD_ACTIONS, APP_TASK_EXECUTION_ACTIONS, CUSTOMER_APP_ROLE_ACTIONS } from '@cloudseed/functions/providers/aws/actions';
import { APP_BUILD_ROLE_NAME, APP_TASK_EXECUTION_ROLE_NAME } from '@cloudseed/functions/providers/aws/apps/index';
import { NODE_AGENT_ACTIONS } from '@cloudseed/functions/providers/aws/node-role';
import { backupBucketName } from '@cloudseed/shared/targets/aws/account';
import { CUSTOMER_ROLE_NAME, NODE_BOUNDARY_POLICY_NAME } from '../lib/names.ts';
import { actionsOf, allStatements, flat, json, list, pathOf, props, record, referencedId, resourcesOfType } from './synth.ts';
import type { Statement, Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

function resourceAt(path: string) {
  const found = Object.entries(json(app.customerTemplate).Resources).find(([, resource]) => pathOf(resource) === `CloudSeedCustomerAccount/${path}`);
  if (!found) throw new Error(`nothing at ${path}`);
  return found;
}

/** The managed policies of the CloudSeed role: the databases', and the apps' two. */
const DEPLOYER_POLICIES = ['DeployerPolicy', 'DeployerAccessPolicy', 'DeployerOperationsPolicy', 'AppServicePolicy', 'AppBuildPolicy'] as const;
const APP_POLICIES = ['AppServicePolicy', 'AppBuildPolicy'] as const;

function policyStatements(name: string): Statement[] {
  const [, policy] = resourceAt(`${name}/Resource`);
  return record(props(policy).PolicyDocument).Statement as Statement[];
}

function deployerStatements(): Statement[] {
  return DEPLOYER_POLICIES.flatMap(policyStatements);
}

function appStatements(): Statement[] {
  return APP_POLICIES.flatMap(policyStatements);
}

/** A statement with its resources and condition values flattened to `${AWS::Partition}`-style strings. */
function flattened(statement: Statement) {
  return JSON.parse(
    JSON.stringify(statement, (_key, value: unknown) =>
      typeof value === 'object' && value !== null && ('Fn::Join' in value || 'Fn::GetAtt' in value) ? flat(value) : value,
    ),
  ) as Statement;
}

function conditionKeys(statement: Statement): string[] {
  return Object.values(statement.Condition ?? {}).flatMap((operator) => Object.keys(operator));
}

describe('the customer account template', () => {
  it('asks for the platform account and an ExternalId of at least 16 characters, both of which a launch link can fill in', () => {
    const parameters = json(app.customerTemplate).Parameters ?? {};
    expect(parameters.PlatformAccountId).toMatchObject({ Type: 'String', AllowedPattern: '^\\d{12}$' });
    expect(parameters.ExternalId).toMatchObject({ Type: 'String', MinLength: 16 });
    // The console's quick-create links ignore NoEcho parameters.
    expect(parameters.PlatformAccountId).not.toHaveProperty('NoEcho');
    expect(parameters.ExternalId).not.toHaveProperty('NoEcho');
  });

  it('needs no CDK bootstrap in the customer account', () => {
    const template = json(app.customerTemplate);
    expect(Object.keys(template.Parameters ?? {})).not.toContain('BootstrapVersion');
    expect(template.Rules).toBeUndefined();
  });

  it('creates the CloudSeed role, trusting only the platform stack’s roles under the ExternalId, and outputs its ARN', () => {
    const [roleId, role] = resourceAt('DeployerRole/Resource');
    expect(props(role).RoleName).toBe(CUSTOMER_ROLE_NAME);
    const trust = record(props(role).AssumeRolePolicyDocument).Statement as Statement[];
    expect(trust).toHaveLength(1);
    expect(actionsOf(trust[0]!)).toEqual(['sts:AssumeRole']);
    expect(flat(record(trust[0]!.Principal).AWS)).toBe('arn:${AWS::Partition}:iam::${PlatformAccountId}:root');
    const { StringEquals, ArnLike, ...others } = trust[0]!.Condition!;
    expect(others).toEqual({});
    expect(StringEquals).toEqual({ 'sts:ExternalId': { Ref: 'ExternalId' } });
    expect(Object.keys(ArnLike!)).toEqual(['aws:PrincipalArn']);
    expect(flat(ArnLike!['aws:PrincipalArn'])).toBe('arn:${AWS::Partition}:iam::${PlatformAccountId}:role/CloudSeedPlatform-*');
    expect(referencedId(json(app.customerTemplate).Outputs?.RoleArn?.Value)).toBe(roleId);
  });

  it('is trusted by every platform role that assumes it: each is named by CloudFormation after the CloudSeedPlatform stack', () => {
    expect(app.platform.stackName).toBe('CloudSeedPlatform');
    const assumers = new Set(
      resourcesOfType(app.platformTemplate, 'AWS::IAM::Policy')
        .filter(([, policy]) =>
          (record(props(policy).PolicyDocument).Statement as Statement[]).some((statement) => actionsOf(statement).includes('sts:AssumeRole')),
        )
        .flatMap(([, policy]) => list(props(policy).Roles).map((role) => referencedId(role))),
    );
    expect(assumers.size).toBeGreaterThan(0);
    for (const roleId of assumers) {
      const role = json(app.platformTemplate).Resources[roleId!]!;
      // No RoleName: CloudFormation names it `<stack name>-<logical id>-<suffix>`, which the trust policy's `CloudSeedPlatform-*` matches.
      expect(props(role).RoleName, roleId).toBeUndefined();
    }
  });

  it('allows every action AwsProvider and AwsAppProvider call, and no other', () => {
    const granted = new Set(deployerStatements().flatMap(actionsOf));
    const called = new Set([...CUSTOMER_ROLE_ACTIONS, ...CUSTOMER_APP_ROLE_ACTIONS]);
    for (const action of called) expect(granted.has(action), action).toBe(true);
    expect([...granted].sort()).toEqual([...called].sort());
    for (const action of granted) expect(action).not.toMatch(/\*/);
  });

  it('allows "*" only for calls that have no resource-level permissions', () => {
    for (const statement of deployerStatements().filter((candidate) => list(candidate.Resource).includes('*'))) {
      for (const action of actionsOf(statement))
        expect(action).toMatch(
          /^(ec2:Describe\w+|elasticloadbalancing:Describe\w+|ssm:DescribeInstanceInformation|ssm:GetCommandInvocation|ecs:(Register|Deregister|Describe)TaskDefinition|ecs:ListTaskDefinitions|ecs:ListTasks|application-autoscaling:DescribeScalableTargets|cloudwatch:GetMetricData)$/,
        );
    }
  });

  it('ties EC2 changes to the cloudseed:managed tag, except on what a launch uses but cannot tag', () => {
    const untaggable = /:(image|subnet|network-interface|vpc)\/\*$/;
    const mutating = (statement: Statement) =>
      actionsOf(statement).filter((action) => action.startsWith('ec2:') && !action.startsWith('ec2:Describe'));
    const onUntaggable = (statement: Statement) => list(statement.Resource).every((resource) => untaggable.test(flat(resource)));
    const changes = deployerStatements().filter((statement) => mutating(statement).length > 0);
    for (const statement of changes.filter(onUntaggable)) {
      expect(
        mutating(statement).every((action) => /^ec2:(RunInstances|CreateSecurityGroup)$/.test(action)),
        statement.Sid,
      ).toBe(true);
    }
    for (const statement of changes.filter((candidate) => !onUntaggable(candidate))) {
      expect(
        conditionKeys(statement).some((key) => /^aws:(RequestTag|ResourceTag)\/cloudseed:managed$/.test(key)),
        statement.Sid,
      ).toBe(true);
    }
    const tagging = deployerStatements().find((statement) => actionsOf(statement).includes('ec2:CreateTags'))!;
    expect(conditionKeys(tagging)).toContain('ec2:CreateAction');
  });

  it('launches only with IMDSv2, a plan’s node profile and encrypted volumes', () => {
    const launches = deployerStatements().filter((statement) => actionsOf(statement).includes('ec2:RunInstances'));
    expect(launches.flatMap(conditionKeys)).toEqual(expect.arrayContaining(['ec2:MetadataHttpTokens', 'ec2:InstanceProfile', 'ec2:Encrypted']));
    const instances = launches.find((statement) => statement.Sid === 'LaunchTaggedInstances')!;
    expect(instances.Condition!.StringEquals).toEqual({ 'aws:RequestTag/cloudseed:managed': 'true', 'ec2:MetadataHttpTokens': 'required' });
    expect(flat(instances.Condition!.StringLike!['ec2:InstanceProfile'])).toBe(
      'arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/cloudseed/nodes/*',
    );
  });

  it('runs only AWS-RunShellScript, only on managed instances', () => {
    const commands = deployerStatements().filter((statement) => actionsOf(statement).includes('ssm:SendCommand'));
    const resources = commands.flatMap((statement) => list(statement.Resource).map(flat));
    expect(resources.sort()).toEqual([
      'arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*',
      'arn:${AWS::Partition}:ssm:*::document/AWS-RunShellScript',
    ]);
    const onInstances = commands.find((statement) =>
      list(statement.Resource)
        .map(flat)
        .some((resource) => resource.includes(':instance/')),
    )!;
    expect(conditionKeys(onInstances)).toContain('ssm:resourceTag/cloudseed:managed');
  });

  it('creates load balancers only tagged, and changes and deletes only the tagged ones', () => {
    const changes = (statement: (typeof statements)[number]) =>
      actionsOf(statement).filter((action) => action.startsWith('elasticloadbalancing:') && !action.startsWith('elasticloadbalancing:Describe'));
    const statements = deployerStatements();
    const elb = statements.filter((statement) => changes(statement).length > 0);
    expect(elb.length).toBeGreaterThan(0);
    for (const statement of elb) {
      const condition = JSON.stringify(statement.Condition ?? {});
      expect(condition, statement.Sid).toMatch(/aws:(RequestTag|ResourceTag)\/cloudseed:managed/);
    }
    // Tags only on the resources being created, never added to anything else (a database's NLB, an app's ALB).
    const tagging = elb.filter((statement) => changes(statement).includes('elasticloadbalancing:AddTags'));
    expect(tagging.map((statement) => JSON.stringify(statement.Condition))).toEqual([
      expect.stringContaining('elasticloadbalancing:CreateAction'),
      expect.stringContaining('elasticloadbalancing:CreateAction'),
    ]);
  });

  it('keeps parameters under /cloudseed/', () => {
    const parameters = deployerStatements().filter((statement) => actionsOf(statement).includes('ssm:PutParameter'));
    expect(parameters.flatMap((statement) => list(statement.Resource).map(flat))).toEqual([
      'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/cloudseed/*',
    ]);
  });

  it('creates and changes node roles only under /cloudseed/nodes/ with the node boundary, and passes them only to EC2', () => {
    const [boundaryId] = resourceAt('NodeBoundary/Resource');
    const iamStatements = (['DeployerPolicy', 'DeployerAccessPolicy', 'DeployerOperationsPolicy'] as const)
      .flatMap(policyStatements)
      .filter((statement) => actionsOf(statement).some((action) => action.startsWith('iam:')))
      .map((statement) => ({ ...statement, Resource: list(statement.Resource).map(flat) }));
    const roles = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cloudseed/nodes/*';
    const profiles = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/cloudseed/nodes/*';
    expect(iamStatements).toEqual([
      {
        Sid: 'LoadBalancingServiceRole',
        Effect: 'Allow',
        Action: 'iam:CreateServiceLinkedRole',
        Resource: [
          'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing',
        ],
        Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
      },
      {
        Sid: 'NodeRolesOnlyWithBoundary',
        Effect: 'Allow',
        Action: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
        Resource: [roles],
        Condition: { StringEquals: { 'iam:PermissionsBoundary': { Ref: boundaryId } } },
      },
      { Sid: 'DeleteNodeRoles', Effect: 'Allow', Action: 'iam:DeleteRole', Resource: [roles] },
      {
        Sid: 'NodeInstanceProfiles',
        Effect: 'Allow',
        Action: [
          'iam:CreateInstanceProfile',
          'iam:GetInstanceProfile',
          'iam:AddRoleToInstanceProfile',
          'iam:RemoveRoleFromInstanceProfile',
          'iam:DeleteInstanceProfile',
        ],
        Resource: [profiles],
      },
      {
        Sid: 'PassNodeRolesToEc2',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [roles],
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      },
    ]);
    // Nothing that could lift or swap a boundary, or attach a managed policy.
    const granted = deployerStatements().flatMap(actionsOf);
    for (const action of [
      'iam:PutRolePermissionsBoundary',
      'iam:DeleteRolePermissionsBoundary',
      'iam:AttachRolePolicy',
      'iam:UpdateAssumeRolePolicy',
      'iam:CreatePolicyVersion',
    ]) {
      expect(granted).not.toContain(action);
    }
  });

  it('reaches on S3 only the backups in this account’s own backup bucket, with exactly the actions the providers use', () => {
    const [bucketId] = resourceAt('BackupBucket/Resource');
    const s3 = deployerStatements().filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
    expect(s3.map((statement) => [actionsOf(statement), list(statement.Resource).map(flat)])).toEqual([
      [['s3:GetObject', 's3:DeleteObject'], [`\${${bucketId}.Arn}/plans/*`]],
      [['s3:ListBucket'], [`\${${bucketId}.Arn}`]],
    ]);
    expect(s3.flatMap(actionsOf).sort()).toEqual(CUSTOMER_ROLE_ACTIONS.filter((action) => action.startsWith('s3:')).sort());
    // Never a bucket of the same name in another account.
    for (const statement of s3) expect(statement.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('creates the backup bucket, named after the account and region as the platform derives it, private, encrypted, TLS-only and kept', () => {
    const [bucketId, bucket] = resourceAt('BackupBucket/Resource');
    expect(flat(props(bucket).BucketName)).toBe(backupBucketName('${AWS::AccountId}', '${AWS::Region}'));
    expect(props(bucket).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props(bucket).BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(props(bucket).OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(props(bucket).VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(record(props(bucket).LifecycleConfiguration).Rules).toEqual([
      expect.objectContaining({
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        NoncurrentVersionExpiration: { NoncurrentDays: 7 },
        ExpiredObjectDeleteMarker: true,
        Status: 'Enabled',
      }),
    ]);
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');

    const policies = resourcesOfType(app.customerTemplate, 'AWS::S3::BucketPolicy').filter(
      ([, policy]) => referencedId(props(policy).Bucket) === bucketId,
    );
    expect(policies).toHaveLength(1);
    const statements = record(props(policies[0]![1]).PolicyDocument).Statement as Statement[];
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    expect(referencedId(json(app.customerTemplate).Outputs?.BackupBucketName?.Value)).toBe(bucketId);
  });

  it('caps every node role with a boundary: the SSM agent, /cloudseed/ parameters decrypted through SSM for those parameters only, backups and pgBackRest repositories', () => {
    const [boundaryId, boundary] = resourceAt('NodeBoundary/Resource');
    const [bucketId] = resourceAt('BackupBucket/Resource');
    expect(boundary.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(props(boundary).ManagedPolicyName).toBe(NODE_BOUNDARY_POLICY_NAME);
    expect(props(boundary).Roles ?? []).toEqual([]);
    const parameters = 'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/cloudseed/*';
    const statements = (record(props(boundary).PolicyDocument).Statement as Statement[]).map((statement) => ({
      ...statement,
      Resource: flat(statement.Resource),
      ...(statement.Condition
        ? {
            Condition: JSON.parse(
              JSON.stringify(statement.Condition, (_key, value: unknown) =>
                typeof value === 'object' && value !== null && 'Fn::Join' in value ? flat(value) : value,
              ),
            ) as unknown,
          }
        : {}),
    }));
    expect(statements).toEqual([
      { Sid: 'SsmAgent', Effect: 'Allow', Action: [...NODE_AGENT_ACTIONS], Resource: '*' },
      { Sid: 'ReadCloudSeedParameters', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameters },
      {
        Sid: 'DecryptCloudSeedParametersThroughSsm',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: 'arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*',
        Condition: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': parameters } },
      },
      {
        Sid: 'StreamBackups',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
        Resource: `\${${bucketId}.Arn}/plans/*`,
        Condition: { StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } } },
      },
      {
        Sid: 'ArchiveRepositories',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
        Resource: `\${${bucketId}.Arn}/pgbackrest/*`,
        Condition: { StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } } },
      },
      {
        Sid: 'ListArchiveRepositories',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: `\${${bucketId}.Arn}`,
        Condition: { StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } }, StringLike: { 's3:prefix': 'pgbackrest/*' } },
      },
      {
        Sid: 'PublishMetricsInCloudSeedNamespace',
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'CloudSeed/PostgreSQL' } },
      },
    ]);
    const granted = new Set(statements.flatMap((statement) => list(statement.Action).map(String)));
    for (const action of NODE_ROLE_ACTIONS) expect(granted.has(action), action).toBe(true);
    expect(flat(json(app.customerTemplate).Outputs?.NodeBoundaryPolicyArn?.Value)).toBe(`\${${boundaryId}}`);
  });

  it('has no shared node role any more: no role trusting EC2, no instance profile, no AWS managed policy', () => {
    expect(resourcesOfType(app.customerTemplate, 'AWS::IAM::InstanceProfile')).toEqual([]);
    const roles = resourcesOfType(app.customerTemplate, 'AWS::IAM::Role');
    expect(roles.map(([, role]) => props(role).RoleName)).toEqual([CUSTOMER_ROLE_NAME, APP_TASK_EXECUTION_ROLE_NAME, APP_BUILD_ROLE_NAME]);
    expect(JSON.stringify(roles.map(([, role]) => props(role).AssumeRolePolicyDocument))).not.toContain('ec2.amazonaws.com');
    expect(JSON.stringify(json(app.customerTemplate))).not.toContain('AmazonSSMManagedInstanceCore');
  });

  it('lets no node statement read every parameter, or decrypt without naming the parameter in the encryption context', () => {
    const [boundaryId] = resourceAt('NodeBoundary/Resource');
    const node = allStatements(app.customerTemplate)
      .filter(({ owner }) => owner === boundaryId)
      .map(({ statement }) => statement);
    expect(node.length).toBeGreaterThan(0);
    const reads = node.filter((statement) => actionsOf(statement).some((action) => /^ssm:GetParameter|^ssm:\*|^\*$/.test(action)));
    expect(reads.flatMap((statement) => list(statement.Resource).map(flat))).toEqual([
      'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/cloudseed/*',
    ]);
    const decrypts = node.filter((statement) => actionsOf(statement).includes('kms:Decrypt'));
    expect(decrypts.map((statement) => Object.keys(statement.Condition?.StringLike ?? {}).sort())).toEqual([
      ['kms:EncryptionContext:PARAMETER_ARN', 'kms:ViaService'],
    ]);
  });
});

describe('what the customer account template lets CloudSeed do for apps', () => {
  function roleAt(path: string) {
    const [, role] = resourceAt(`${path}/Resource`);
    return props(role);
  }

  function rolePolicy(path: string): Statement[] {
    const [, policy] = resourceAt(`${path}/DefaultPolicy/Resource`);
    return (record(props(policy).PolicyDocument).Statement as Statement[]).map(flattened);
  }

  const account = '${AWS::AccountId}';
  const partition = '${AWS::Partition}';
  const repositories = `arn:${partition}:ecr:*:${account}:repository/cloudseed/*`;
  const logGroups = `arn:${partition}:logs:*:${account}:log-group:/cloudseed/apps/*`;

  it('creates the task execution and build roles under /cloudseed/apps/, each trusted only by its service for this account', () => {
    for (const [path, name, service] of [
      ['AppTaskExecutionRole', APP_TASK_EXECUTION_ROLE_NAME, 'ecs-tasks.amazonaws.com'],
      ['AppBuildRole', APP_BUILD_ROLE_NAME, 'codebuild.amazonaws.com'],
    ] as const) {
      const role = roleAt(path);
      expect(role.RoleName).toBe(name);
      expect(role.Path).toBe('/cloudseed/apps/');
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(record(role.AssumeRolePolicyDocument).Statement).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: service },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
    }
  });

  it('lets ECS pull only apps’ images, write only apps’ logs and read only apps’ link and secret parameters, decrypted by SSM for those', () => {
    const parameters = [
      `arn:${partition}:ssm:*:${account}:parameter/cloudseed/*/*/database-*`,
      `arn:${partition}:ssm:*:${account}:parameter/cloudseed/*/*/secrets/*`,
    ];
    const statements = rolePolicy('AppTaskExecutionRole');
    expect(statements).toEqual([
      { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Sid: 'PullAppImages',
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        Resource: repositories,
      },
      { Sid: 'WriteAppLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroups },
      { Sid: 'ReadAppParameters', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: parameters },
      {
        Sid: 'DecryptAppParametersThroughSsm',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: `arn:${partition}:kms:*:${account}:key/*`,
        Condition: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': parameters } },
      },
    ]);
    expect(new Set(statements.flatMap(actionsOf))).toEqual(new Set(APP_TASK_EXECUTION_ACTIONS));
    // Never a database's password, its CA's key or a pgBackRest passphrase.
    for (const name of ['/cloudseed/p-1/db/password', '/cloudseed/p-1/certificate-authority', '/cloudseed/p-1/db/archive-cipher-pass']) {
      const arn = `arn:${partition}:ssm:eu-central-1:${account}:parameter${name}`;
      expect(
        parameters.some((pattern) => new RegExp(`^${pattern.replace(/[.$^{}()|[\]\\+?]/g, '\\$&').replaceAll('*', '.*')}$`).test(arn)),
        name,
      ).toBe(false);
    }
  });

  it('lets CodeBuild write only apps’ build logs and pull and push only apps’ images', () => {
    const statements = rolePolicy('AppBuildRole');
    expect(statements).toEqual([
      { Sid: 'WriteBuildLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroups },
      { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Sid: 'PushAppImages',
        Effect: 'Allow',
        Action: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:BatchGetImage',
          'ecr:DescribeImages',
          'ecr:InitiateLayerUpload',
          'ecr:UploadLayerPart',
          'ecr:CompleteLayerUpload',
          'ecr:PutImage',
        ],
        Resource: repositories,
      },
    ]);
    expect(new Set(statements.flatMap(actionsOf))).toEqual(new Set(APP_BUILD_ACTIONS));
  });

  it('passes each app role only to its service, and creates only the service-linked roles of ECS and its scaling', () => {
    const [executionId] = resourceAt('AppTaskExecutionRole/Resource');
    const [buildId] = resourceAt('AppBuildRole/Resource');
    const iamStatements = appStatements()
      .filter((statement) => actionsOf(statement).some((action) => action.startsWith('iam:')))
      .map(flattened);
    expect(iamStatements).toEqual([
      {
        Sid: 'PassAppTaskExecutionRoleToEcs',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `\${${executionId}.Arn}`,
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      {
        Sid: 'AppServiceRoles',
        Effect: 'Allow',
        Action: 'iam:CreateServiceLinkedRole',
        Resource: [
          `arn:${partition}:iam::${account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
          `arn:${partition}:iam::${account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
        ],
        Condition: { StringEquals: { 'iam:AWSServiceName': ['ecs.amazonaws.com', 'ecs.application-autoscaling.amazonaws.com'] } },
      },
      {
        Sid: 'PassAppBuildRoleToCodeBuild',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `\${${buildId}.Arn}`,
        Condition: { StringEquals: { 'iam:PassedToService': 'codebuild.amazonaws.com' } },
      },
    ]);
  });

  it('reaches only resources named for CloudSeed apps, or load balancers and scaling targets by their tag', () => {
    const allowed =
      /:(cluster|service|task|task-definition)\/cloudseed-|:repository\/cloudseed\/|:(project|build)\/cloudseed-|:log-group:\/cloudseed\/apps\/|:alarm:TargetTracking-service\/cloudseed-|:(loadbalancer|listener)\/app\/\*$|:targetgroup\/\*$|:scalable-target\/\*$|:role\/aws-service-role\/|^\$\{AppTaskExecutionRole|^\$\{AppBuildRole/;
    const statements = appStatements().map(flattened);
    for (const statement of statements) {
      for (const resource of list(statement.Resource)
        .map(String)
        .filter((candidate) => candidate !== '*'))
        expect(resource, statement.Sid).toMatch(allowed);
    }
    // What is not named for CloudSeed is reached only by its tag.
    const byTag = statements.filter((statement) =>
      /:(loadbalancer|listener)\/app\/\*|:targetgroup\/\*|:scalable-target\/\*/.test(JSON.stringify(statement.Resource)),
    );
    expect(byTag.length).toBeGreaterThan(0);
    for (const statement of byTag)
      expect(JSON.stringify(statement.Condition ?? {}), statement.Sid).toMatch(/aws:(RequestTag|ResourceTag)\/cloudseed:managed/);
  });

  it('creates only tagged, and changes and deletes by tag, but for what AWS authorises by name alone', () => {
    // Reads, and the few changes whose service evaluates no resource tag on them: each is named here with its scope.
    const byNameOnly = new Set([
      'ecs:DeregisterTaskDefinition', // cloudseed- families only in practice; no resource-level permissions at all
      'ecs:StopTask', // tasks in cloudseed- clusters
      'codebuild:StopBuild', // builds of cloudseed- projects
      'logs:PutRetentionPolicy', // log groups under /cloudseed/apps/
      'logs:DeleteLogGroup',
      'cloudwatch:PutMetricAlarm', // TargetTracking-service/cloudseed-… alarms, made by Application Auto Scaling
      'cloudwatch:DeleteAlarms',
      'iam:PassRole', // the two app roles, each to its service only
      'iam:CreateServiceLinkedRole',
    ]);
    const reads = /:(Describe|List|Get|BatchGet)\w*$/;
    for (const statement of appStatements()) {
      const changes = actionsOf(statement).filter((action) => !reads.test(action) && !byNameOnly.has(action));
      if (changes.length === 0) continue;
      expect(
        conditionKeys(statement).some((key) => /^aws:(RequestTag|ResourceTag)\/cloudseed:managed$/.test(key)),
        statement.Sid,
      ).toBe(true);
    }
    const tagging = appStatements().filter((statement) => actionsOf(statement).includes('ecs:TagResource'));
    expect(tagging.flatMap(conditionKeys)).toContain('ecs:CreateAction');
  });

  it('keeps each of its policies within the 6,144 characters IAM allows a managed policy', () => {
    for (const name of DEPLOYER_POLICIES) {
      const [, policy] = resourceAt(`${name}/Resource`);
      const document = { ...record(props(policy).PolicyDocument), Statement: policyStatements(name).map(flattened) };
      // Flattened names (${AWS::AccountId}) are longer than what they resolve to: this errs on the safe side.
      expect(JSON.stringify(document).replace(/\s/g, '').length, name).toBeLessThanOrEqual(6_144);
    }
  });
});
