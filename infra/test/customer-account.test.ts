import { beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_ROLE_ACTIONS, NODE_ROLE_ACTIONS } from '@cloudseed/functions/providers/aws/index';
import { backupBucketName } from '@cloudseed/shared/accounts/accounts';
import { CUSTOMER_ROLE_NAME, NODE_INSTANCE_PROFILE_NAME, NODE_ROLE_NAME } from '../lib/names.ts';
import { actionsOf, flat, json, list, pathOf, props, record, referencedId, resourcesOfType } from './synth.ts';
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

function deployerStatements(): Statement[] {
  const [, policy] = resourceAt('DeployerPolicy/Resource');
  return record(props(policy).PolicyDocument).Statement as Statement[];
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

  it('creates the CloudSeed role, trusting only the platform account under the ExternalId, and outputs its ARN', () => {
    const [roleId, role] = resourceAt('DeployerRole/Resource');
    expect(props(role).RoleName).toBe(CUSTOMER_ROLE_NAME);
    const trust = record(props(role).AssumeRolePolicyDocument).Statement as Statement[];
    expect(trust).toHaveLength(1);
    expect(actionsOf(trust[0]!)).toEqual(['sts:AssumeRole']);
    expect(flat(record(trust[0]!.Principal).AWS)).toBe('arn:${AWS::Partition}:iam::${PlatformAccountId}:root');
    expect(trust[0]!.Condition).toEqual({ StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } });
    expect(referencedId(json(app.customerTemplate).Outputs?.RoleArn?.Value)).toBe(roleId);
  });

  it('allows every action AwsProvider calls, and no other', () => {
    const granted = new Set(deployerStatements().flatMap(actionsOf));
    for (const action of CUSTOMER_ROLE_ACTIONS) expect(granted.has(action), action).toBe(true);
    expect([...granted].sort()).toEqual([...new Set(CUSTOMER_ROLE_ACTIONS)].sort());
    for (const action of granted) expect(action).not.toMatch(/\*/);
  });

  it('allows "*" only for calls that have no resource-level permissions', () => {
    for (const statement of deployerStatements().filter((candidate) => list(candidate.Resource).includes('*'))) {
      for (const action of actionsOf(statement)) expect(action).toMatch(/^(ec2:Describe\w+|ssm:DescribeInstanceInformation|ssm:GetCommandInvocation)$/);
    }
  });

  it('ties EC2 changes to the cloudseed:managed tag, except on what a launch uses but cannot tag', () => {
    const untaggable = /:(image|subnet|network-interface|vpc)\/\*$/;
    const mutating = (statement: Statement) => actionsOf(statement).filter((action) => action.startsWith('ec2:') && !action.startsWith('ec2:Describe'));
    const onUntaggable = (statement: Statement) => list(statement.Resource).every((resource) => untaggable.test(flat(resource)));
    const changes = deployerStatements().filter((statement) => mutating(statement).length > 0);
    for (const statement of changes.filter(onUntaggable)) {
      expect(mutating(statement).every((action) => /^ec2:(RunInstances|CreateSecurityGroup)$/.test(action)), statement.Sid).toBe(true);
    }
    for (const statement of changes.filter((candidate) => !onUntaggable(candidate))) {
      expect(conditionKeys(statement).some((key) => /^aws:(RequestTag|ResourceTag)\/cloudseed:managed$/.test(key)), statement.Sid).toBe(true);
    }
    const tagging = deployerStatements().find((statement) => actionsOf(statement).includes('ec2:CreateTags'))!;
    expect(conditionKeys(tagging)).toContain('ec2:CreateAction');
  });

  it('launches only with IMDSv2, the nodes’ profile and encrypted volumes', () => {
    const launches = deployerStatements().filter((statement) => actionsOf(statement).includes('ec2:RunInstances'));
    expect(launches.flatMap(conditionKeys)).toEqual(expect.arrayContaining(['ec2:MetadataHttpTokens', 'ec2:InstanceProfile', 'ec2:Encrypted']));
  });

  it('runs only AWS-RunShellScript, only on managed instances', () => {
    const commands = deployerStatements().filter((statement) => actionsOf(statement).includes('ssm:SendCommand'));
    const resources = commands.flatMap((statement) => list(statement.Resource).map(flat));
    expect(resources.sort()).toEqual(['arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*', 'arn:${AWS::Partition}:ssm:*::document/AWS-RunShellScript']);
    const onInstances = commands.find((statement) => list(statement.Resource).map(flat).some((resource) => resource.includes(':instance/')))!;
    expect(conditionKeys(onInstances)).toContain('ssm:resourceTag/cloudseed:managed');
  });

  it('keeps parameters under /cloudseed/ and passes only the node role, only to EC2', () => {
    const parameters = deployerStatements().filter((statement) => actionsOf(statement).includes('ssm:PutParameter'));
    expect(parameters.flatMap((statement) => list(statement.Resource).map(flat))).toEqual(['arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/cloudseed/*']);
    const [nodeRoleId] = resourceAt('NodeRole/Resource');
    const passRole = deployerStatements().filter((statement) => actionsOf(statement).includes('iam:PassRole'));
    expect(passRole).toHaveLength(1);
    expect(referencedId(passRole[0]!.Resource)).toBe(nodeRoleId);
    expect(passRole[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
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
    expect(props(bucket).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(props(bucket).BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(props(bucket).OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(props(bucket).VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(record(props(bucket).LifecycleConfiguration).Rules).toEqual([
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, NoncurrentVersionExpiration: { NoncurrentDays: 7 }, ExpiredObjectDeleteMarker: true, Status: 'Enabled' }),
    ]);
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');

    const policies = resourcesOfType(app.customerTemplate, 'AWS::S3::BucketPolicy').filter(([, policy]) => referencedId(props(policy).Bucket) === bucketId);
    expect(policies).toHaveLength(1);
    const statements = record(props(policies[0]![1]).PolicyDocument).Statement as Statement[];
    expect(statements).toEqual([expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
    expect(referencedId(json(app.customerTemplate).Outputs?.BackupBucketName?.Value)).toBe(bucketId);
  });

  it('gives the nodes SSM, their parameters, decryption through SSM only, and their backups', () => {
    const [nodeRoleId, nodeRole] = resourceAt('NodeRole/Resource');
    expect(props(nodeRole).RoleName).toBe(NODE_ROLE_NAME);
    expect(flat(list(props(nodeRole).ManagedPolicyArns)[0])).toBe('arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore');
    const [[, profile] = []] = resourcesOfType(app.customerTemplate, 'AWS::IAM::InstanceProfile');
    expect(props(profile!).InstanceProfileName).toBe(NODE_INSTANCE_PROFILE_NAME);
    expect(list(props(profile!).Roles).map(referencedId)).toEqual([nodeRoleId]);
    const statements = resourcesOfType(app.customerTemplate, 'AWS::IAM::Policy')
      .filter(([, policy]) => list(props(policy).Roles).some((role) => referencedId(role) === nodeRoleId))
      .flatMap(([, policy]) => record(props(policy).PolicyDocument).Statement as Statement[]);
    const [bucketId] = resourceAt('BackupBucket/Resource');
    expect(statements.map((statement) => [actionsOf(statement), flat(statement.Resource)])).toEqual([
      [['ssm:GetParameter'], 'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/cloudseed/*'],
      [['kms:Decrypt'], 'arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*'],
      [['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'], `\${${bucketId}.Arn}/plans/*`],
    ]);
    expect(statements[2]!.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } } });
    const granted = new Set(statements.flatMap(actionsOf));
    for (const action of NODE_ROLE_ACTIONS) expect(granted.has(action), action).toBe(true);
    expect(statements[1]!.Condition).toEqual({ StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com' } });
  });
});
