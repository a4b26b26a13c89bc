import { X509Certificate } from 'node:crypto';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DescribeVpcsCommand,
  EC2Client,
  EC2ServiceException,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type {
  DescribeInstancesCommandInput,
  Instance,
  IpPermission,
  ModifyInstanceAttributeCommandInput,
  ModifyVolumeCommandInput,
  StartInstancesCommandInput,
  StopInstancesCommandInput,
  Volume,
} from '@aws-sdk/client-ec2';
import {
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  InvocationDoesNotExist,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  IAMClient,
  IAMServiceException,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { NotFound, renderAwsJson, validatePlan } from '@cloudseed/shared';
import type { AwsComponent, Component } from '@cloudseed/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AccountAccessError,
  AWS_PROVIDER_ACTIONS,
  AwsProvider,
  CapacityError,
  clientToken,
  CUSTOMER_ROLE_ACTIONS,
  generatePassword,
  PermanentError,
  roleSessionName,
  TransientError,
} from '../providers/aws/index.ts';
import type { AwsProviderOptions } from '../providers/aws/index.ts';
import { backupScript, restoreScript, validateScript } from '../providers/aws/backup-scripts.ts';
import type { AccountConnection, BackupLocation, BackupResult, CommandRef, DeployTarget, NodeRef, TableFingerprint } from '../providers/provider.ts';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const stsMock = mockClient(STSClient);
const s3Mock = mockClient(S3Client);
const iamMock = mockClient(IAMClient);

const ACCOUNT: AccountConnection = { roleArn: 'arn:aws:iam::123456789012:role/CloudSeedDeploy', externalId: 'cs-ext-4f2a', region: 'eu-central-1' };
const PLAN_ID = 'p-1';
const DEPLOYMENT_ID = 'dep-1';
/** The plan's own node role and instance profile. */
const PROFILE = 'CloudSeedNode-p-1';
const GROUP_ID = 'sg-0123456789abcdef0';
const T0 = Date.parse('2030-01-01T00:00:00Z');
const PASSWORD = 'Sup3rSecretPasswordValue12345678';
const BACKUP_REGION = 'eu-west-1';

const BASE_TAGS = [
  { Key: 'cloudseed:managed', Value: 'true' },
  { Key: 'cloudseed:plan-id', Value: PLAN_ID },
  { Key: 'cloudseed:component', Value: 'db' },
];
const COMPONENT_FILTERS = [
  { Name: 'tag:cloudseed:plan-id', Values: [PLAN_ID] },
  { Name: 'tag:cloudseed:component', Values: ['db'] },
];

const specs = new Map<AwsComponent, Component>();

function render(db: Record<string, unknown> = {}, hardware: Record<string, unknown> = {}): AwsComponent {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'aws', region: 'eu-central-1' },
    components: [{ id: 'db', type: 'postgres', network: { allowedCidrs: ['203.0.113.0/24', '2001:db8::/48'] }, db, hardware }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const component = renderAwsJson(result.plan, { planId: PLAN_ID }).components[0];
  const spec = result.plan.components[0];
  if (!component || !spec) throw new Error('no component rendered');
  specs.set(component, spec);
  return component;
}

const single = render();
const cluster = render({ topology: { mode: 'cluster', replicas: 2 } });

function target(component: AwsComponent = single, overrides: Partial<DeployTarget> = {}): DeployTarget {
  const spec = specs.get(component) ?? specs.get(single)!;
  return { ownerId: 'user-1', planId: PLAN_ID, deploymentId: DEPLOYMENT_ID, component, spec, account: ACCOUNT, ...overrides };
}

const sleep = vi.fn((_ms: number) => Promise.resolve());
let now = T0;

function provider(options: Partial<AwsProviderOptions> = {}): AwsProvider {
  return new AwsProvider({
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (account) => ({
      ec2: new EC2Client({ region: account.region }),
      ssm: new SSMClient({ region: account.region }),
      iam: new IAMClient({ region: account.region }),
      s3: (region) => new S3Client({ region }),
    }),
    clock: { now: () => now, sleep },
    ...options,
  });
}

function ec2Error(code: string, message = `${code} (mocked)`): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

function iamError(code: string, message = `${code} (mocked)`): IAMServiceException {
  return new IAMServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

/** The plan's node role and instance profile exist already (a launch brings the role's policy to the plan and moves on). */
function nodeRoleExists(): void {
  iamMock.on(CreateRoleCommand).rejects(iamError('EntityAlreadyExists'));
  iamMock.on(PutRolePolicyCommand).resolves({});
  iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: PROFILE, Roles: [{ RoleName: PROFILE }] } as never });
}

/** Every IAM call removing the plan's node role succeeds. */
function nodeRoleRemovable(): void {
  iamMock.on(RemoveRoleFromInstanceProfileCommand).resolves({});
  iamMock.on(DeleteInstanceProfileCommand).resolves({});
  iamMock.on(DeleteRolePolicyCommand).resolves({});
  iamMock.on(DeleteRoleCommand).resolves({});
}

function node(name: string, role: 'primary' | 'replica', instanceId: string): NodeRef {
  return { name, role, instanceId, port: 5432 };
}

/** An instance as EC2 describes one the default plan launched (t4g.medium, arm64, root volume on /dev/xvda). */
function instance(id: string, nodeName: string, state: string, extra: Partial<Instance> = {}): Instance {
  return {
    InstanceId: id,
    InstanceType: 't4g.medium',
    Architecture: 'arm64',
    RootDeviceName: '/dev/xvda',
    State: { Name: state as 'running' },
    Tags: [...BASE_TAGS, { Key: 'cloudseed:node', Value: nodeName }],
    ...extra,
  };
}

/** The root volume of an instance: `vol-…` with the instance id's digits. */
function rootVolume(instanceId: string, size: number): Volume {
  return {
    VolumeId: volumeId(instanceId),
    Size: size,
    VolumeType: 'gp3',
    Attachments: [{ InstanceId: instanceId, Device: '/dev/xvda', State: 'attached' }],
  };
}

function volumeId(instanceId: string): string {
  return `vol-${instanceId.slice(2)}`;
}

function reservations(...instances: Instance[]) {
  return { Reservations: instances.length > 0 ? [{ Instances: instances }] : [] };
}

/** The inputs of the given calls, typed by their command: `inputs(ec2Mock.commandCalls(RunInstancesCommand))`. */
function inputs<C extends { readonly input: object }>(calls: ReadonlyArray<{ readonly args: readonly [C] }>): Array<C['input']> {
  return calls.map((call) => call.args[0].input);
}

/** S3 operations IAM authorises under another action's name. */
const S3_ACTIONS: Record<string, string> = { DeleteObjects: 'DeleteObject', HeadObject: 'GetObject' };

/** The commands sent to every mocked client, in the order they were sent, as IAM actions. */
function sentActions(): string[] {
  const calls = [
    ...ec2Mock.calls().map((call) => ({ call, service: 'ec2' })),
    ...ssmMock.calls().map((call) => ({ call, service: 'ssm' })),
    ...stsMock.calls().map((call) => ({ call, service: 'sts' })),
    ...s3Mock.calls().map((call) => ({ call, service: 's3' })),
    ...iamMock.calls().map((call) => ({ call, service: 'iam' })),
  ];
  return calls
    .sort((a, b) => (a.call as unknown as { callId: number }).callId - (b.call as unknown as { callId: number }).callId)
    .map(({ call, service }) => {
      const operation = (call.args[0] as object).constructor.name.replace(/Command$/, '');
      return `${service}:${service === 's3' ? (S3_ACTIONS[operation] ?? operation) : operation}`;
    });
}

function decodedScript(commands: readonly string[]): string {
  const write = commands.find((command) => command.includes('base64 -d'));
  const encoded = /printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d/.exec(write ?? '')?.[1];
  if (!encoded) throw new Error(`no encoded script in ${JSON.stringify(commands)}`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

const everyActionSent = new Set<string>();

beforeEach(() => {
  now = T0;
  sleep.mockClear();
  ec2Mock.reset();
  ssmMock.reset();
  stsMock.reset();
  s3Mock.reset();
  iamMock.reset();
  // Anything a test did not expect fails loudly instead of resolving to undefined.
  ec2Mock.onAnyCommand().rejects(new Error('unexpected EC2 command'));
  ssmMock.onAnyCommand().rejects(new Error('unexpected SSM command'));
  stsMock.onAnyCommand().rejects(new Error('unexpected STS command'));
  s3Mock.onAnyCommand().rejects(new Error('unexpected S3 command'));
  iamMock.onAnyCommand().rejects(new Error('unexpected IAM command'));
  stsMock.on(AssumeRoleCommand).callsFake(() => ({
    Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(now + 900_000) },
  }));
});

afterEach(() => {
  for (const action of sentActions()) everyActionSent.add(action);
});

describe('preflight and the customer account', () => {
  it('refuses a target without an account before calling AWS', async () => {
    const attempt = provider().preflight(target(single, { account: undefined }));

    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(/no AWS account is connected/);
    expect(sentActions()).toEqual([]);
  });

  it('assumes the role with the ExternalId, a named 15-minute session, and finds the default VPC', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', IsDefault: true }] });

    await provider().preflight(target());

    expect(inputs(stsMock.commandCalls(AssumeRoleCommand))).toEqual([
      { RoleArn: ACCOUNT.roleArn, ExternalId: ACCOUNT.externalId, RoleSessionName: 'cloudseed-dep-1', DurationSeconds: 900 },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([{ Filters: [{ Name: 'isDefault', Values: ['true'] }] }]);
  });

  it('maps AccessDenied on AssumeRole to a clear AccountAccessError', async () => {
    stsMock.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'not authorized to perform: sts:AssumeRole',
      }),
    );

    const error: unknown = await provider()
      .preflight(target())
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AccountAccessError);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({
      name: 'AccountAccessError',
      message: `CloudSeed cannot assume ${ACCOUNT.roleArn}; check the trust policy and ExternalId`,
    });
    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([]);
  });

  it('assumes the role again after a refusal, once the customer has fixed the trust policy', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(new STSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }))
      .resolves({
        Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(now + 900_000) },
      });
    const aws = provider();

    await expect(aws.preflight(target())).rejects.toThrow(AccountAccessError);
    await expect(aws.preflight(target())).resolves.toBeUndefined();
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('refuses an account without a default VPC', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });

    await expect(provider().preflight(target())).rejects.toThrow(/no default VPC in eu-central-1/);
  });

  it('refuses a component rendered for another plan', async () => {
    await expect(provider().preflight(target(single, { planId: 'p-other' }))).rejects.toThrow(PermanentError);
    expect(sentActions()).toEqual([]);
  });

  it('uses the VPC of a configured subnet', async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-1', VpcId: 'vpc-9' }] });

    await provider({ subnetId: 'subnet-1' }).preflight(target());

    expect(inputs(ec2Mock.commandCalls(DescribeSubnetsCommand))).toEqual([{ SubnetIds: ['subnet-1'] }]);
    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([]);
  });

  it('reuses the assumed credentials until five minutes before they expire', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    const aws = provider();

    await aws.preflight(target());
    now = T0 + 9 * 60_000;
    await aws.preflight(target());
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);

    now = T0 + 10 * 60_000 + 1;
    await aws.preflight(target());
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('builds real clients in the account region, with standard retries, that sign with the assumed role', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    const aws = new AwsProvider({ sts: new STSClient({ region: 'us-east-1' }), clock: { now: () => now, sleep } });

    await aws.preflight(target());

    const client = ec2Mock.call(0).thisValue as EC2Client;
    expect(await client.config.region()).toBe('eu-central-1');
    expect(await client.config.maxAttempts()).toBe(5);
    expect(client.config.retryMode).toBe('standard');
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('names sessions within what STS accepts', () => {
    expect(roleSessionName('dep/1 x')).toBe('cloudseed-dep-1-x');
    expect(roleSessionName('d'.repeat(100))).toHaveLength(64);
    expect(roleSessionName('d'.repeat(100))).toMatch(/^cloudseed-d+$/);
  });
});

describe('passwords', () => {
  it('creates the password once as a SecureString that is never overwritten', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    await provider().ensurePassword(target());

    const sent = inputs(ssmMock.commandCalls(PutParameterCommand));
    expect(sent).toEqual([
      {
        Name: '/cloudseed/p-1/db/password',
        Description: 'CloudSeed p-1/db: password of PostgreSQL role app',
        Value: expect.stringMatching(/^[A-Za-z0-9]{32}$/) as unknown,
        Type: 'SecureString',
        Overwrite: false,
        Tags: BASE_TAGS,
      },
      {
        Name: '/cloudseed/p-1/certificate-authority',
        Description: 'CloudSeed p-1/db: certificate authority of the plan (certificate and key)',
        Value: expect.stringMatching(
          /^-{5}BEGIN CERTIFICATE-{5}\n[\s\S]+-{5}END CERTIFICATE-{5}\n-{5}BEGIN RSA PRIVATE KEY-{5}\n[\s\S]+-{5}END RSA PRIVATE KEY-{5}\n$/,
        ) as unknown,
        Type: 'SecureString',
        Overwrite: false,
        Tags: BASE_TAGS,
      },
    ]);
    const authority = sent[1]?.Value ?? '';
    // Within the standard tier's 4 KB, and a CA: the nodes sign their server certificates with it.
    expect(authority.length).toBeLessThan(4096);
    expect(new X509Certificate(authority).ca).toBe(true);
    expect(new X509Certificate(authority).subject).toContain('CloudSeed CA for plan p-1');
  });

  it('reads the CA certificate, never handing out its key', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    await provider().ensurePassword(target());
    const stored = inputs(ssmMock.commandCalls(PutParameterCommand))[1]?.Value ?? '';
    ssmMock
      .on(GetParameterCommand, { Name: '/cloudseed/p-1/certificate-authority', WithDecryption: true })
      .resolves({ Parameter: { Value: stored } });

    const certificate = await provider().readCaCertificate(target());

    expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(certificate).not.toContain('PRIVATE KEY');
    expect(stored.startsWith(certificate)).toBe(true);
  });

  it('also creates the replication password for a cluster', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    await provider().ensurePassword(target(cluster));

    expect(inputs(ssmMock.commandCalls(PutParameterCommand)).map((input) => [input.Name, input.Type, input.Overwrite])).toEqual([
      ['/cloudseed/p-1/db/password', 'SecureString', false],
      ['/cloudseed/p-1/db/replication-password', 'SecureString', false],
      ['/cloudseed/p-1/certificate-authority', 'SecureString', false],
    ]);
  });

  it('keeps a password that already exists', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejects(new ParameterAlreadyExists({ $metadata: { httpStatusCode: 400 }, message: 'The parameter already exists.' }));

    await expect(provider().ensurePassword(target(cluster))).resolves.toBeUndefined();
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(3);
  });

  it('surfaces other SSM errors as permanent', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejects(new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'no' }));

    await expect(provider().ensurePassword(target())).rejects.toMatchObject({ name: 'PermanentError', code: 'AccessDeniedException' });
  });

  it('generates 32 alphanumeric characters, differently each time', () => {
    const passwords = Array.from({ length: 20 }, generatePassword);

    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(passwords).size).toBe(20);
  });

  it('reads the password decrypted, and says NotFound when there is none', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Name: '/cloudseed/p-1/db/password', Value: PASSWORD } })
      .rejectsOnce(new ParameterNotFound({ $metadata: { httpStatusCode: 400 }, message: 'not found' }));
    const aws = provider();

    await expect(aws.readPassword(target())).resolves.toBe(PASSWORD);
    await expect(aws.readPassword(target())).rejects.toThrow(NotFound);
    expect(inputs(ssmMock.commandCalls(GetParameterCommand))).toEqual([
      { Name: '/cloudseed/p-1/db/password', WithDecryption: true },
      { Name: '/cloudseed/p-1/db/password', WithDecryption: true },
    ]);
  });
});

describe('ensureSecurityGroup', () => {
  const lookup = { Filters: [{ Name: 'group-name', Values: ['cloudseed-p-1-db'] }, ...COMPONENT_FILTERS] };
  const planRule: IpPermission = {
    IpProtocol: 'tcp',
    FromPort: 5432,
    ToPort: 5432,
    IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
    Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
  };

  it('creates the group in the default VPC with the plan tags and opens 5432 to the plan CIDRs only', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    const network = await provider().ensureSecurityGroup(target());

    expect(network).toEqual({ securityGroupId: GROUP_ID });
    expect(inputs(ec2Mock.commandCalls(DescribeSecurityGroupsCommand))).toEqual([lookup]);
    expect(inputs(ec2Mock.commandCalls(CreateSecurityGroupCommand))).toEqual([
      {
        GroupName: 'cloudseed-p-1-db',
        Description: "CloudSeed orders/db: PostgreSQL from the plan's allowed networks only",
        VpcId: 'vpc-1',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [...BASE_TAGS, { Key: 'Name', Value: 'orders/db' }] }],
      },
    ]);
    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      { GroupId: GROUP_ID, IpPermissions: [planRule], TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }] },
    ]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('lets a cluster nodes reach each other on 5432 through the group itself', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider().ensureSecurityGroup(target(cluster));

    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))[0]?.IpPermissions).toEqual([
      {
        ...planRule,
        UserIdGroupPairs: [{ GroupId: GROUP_ID, Description: 'PostgreSQL replication between the component nodes' }],
      },
    ]);
  });

  it('converges an existing group: authorises what the plan adds, revokes what it no longer has, opens nothing else', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP_ID,
          GroupName: 'cloudseed-p-1-db',
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 5432,
              ToPort: 5432,
              IpRanges: [{ CidrIp: '203.0.113.0/24' }, { CidrIp: '198.51.100.0/24', Description: 'old plan' }],
              Ipv6Ranges: [],
              UserIdGroupPairs: [],
              PrefixListIds: [],
            },
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: '0.0.0.0/0' }],
              Ipv6Ranges: [],
              UserIdGroupPairs: [],
              PrefixListIds: [],
            },
          ],
          IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        },
      ],
    });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider().ensureSecurityGroup(target());

    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      {
        GroupId: GROUP_ID,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 5432,
            ToPort: 5432,
            Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
          },
        ],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }],
      },
    ]);
    expect(inputs(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand))).toEqual([
      {
        GroupId: GROUP_ID,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '198.51.100.0/24' }] },
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      },
    ]);
    expect(sentActions()).toEqual(['ec2:DescribeSecurityGroups', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress']);
  });

  it('changes nothing when the group already matches the plan', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP_ID,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 5432,
              ToPort: 5432,
              IpRanges: [{ CidrIp: '203.0.113.0/24' }],
              Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48' }],
              UserIdGroupPairs: [{ GroupId: GROUP_ID, UserId: '123456789012' }],
            },
          ],
        },
      ],
    });

    await provider().ensureSecurityGroup(target(cluster));

    expect(sentActions()).toEqual(['ec2:DescribeSecurityGroups']);
  });

  it('uses a configured VPC without looking for the default one', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider({ vpcId: 'vpc-7' }).ensureSecurityGroup(target());

    expect(inputs(ec2Mock.commandCalls(DescribeSecurityGroupsCommand))).toEqual([
      { Filters: [...lookup.Filters, { Name: 'vpc-id', Values: ['vpc-7'] }] },
    ]);
    expect(inputs(ec2Mock.commandCalls(CreateSecurityGroupCommand))[0]?.VpcId).toBe('vpc-7');
    expect(ec2Mock.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
  });

  it('refuses a rendered rule that opens anything but PostgreSQL', async () => {
    const ssh = {
      ...single,
      securityGroup: {
        ...single.securityGroup,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      },
    };
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID, IpPermissions: [] }] });

    await expect(provider().ensureSecurityGroup(target(ssh))).rejects.toThrow(/must open tcp 5432 only/);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });
});

describe('launchNodes', () => {
  const network = { securityGroupId: GROUP_ID };
  beforeEach(nodeRoleExists);
  const lookup = {
    Filters: [
      ...COMPONENT_FILTERS,
      { Name: 'tag:cloudseed:node', Values: ['db-0'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ],
  };

  function expectedRunInstances(component: AwsComponent, index: number) {
    const rendered = component.nodes[index]!;
    return {
      ...component.runInstances,
      SecurityGroupIds: [GROUP_ID],
      IamInstanceProfile: { Name: PROFILE },
      ClientToken: clientToken(target(component), rendered.name),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: rendered.tags },
        { ResourceType: 'volume', Tags: rendered.tags },
      ],
    };
  }

  it('launches a missing node with IMDSv2, encrypted gp3, the instance profile, the group and its tags, and no key pair', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a', PrivateIpAddress: '172.31.5.10' }] });

    const nodes = await provider().launchNodes(target(), network);

    expect(nodes).toEqual([{ name: 'db-0', role: 'primary', instanceId: 'i-0000000000000000a', host: '172.31.5.10', port: 5432 }]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([lookup]);
    const [input] = inputs(ec2Mock.commandCalls(RunInstancesCommand));
    expect(input).toEqual(expectedRunInstances(single, 0));
    expect(input).toMatchObject({
      MetadataOptions: { HttpTokens: 'required' },
      BlockDeviceMappings: [{ Ebs: { VolumeType: 'gp3', Encrypted: true, VolumeSize: 20 } }],
      MinCount: 1,
      MaxCount: 1,
    });
    expect(input).not.toHaveProperty('KeyName');
    expect(input?.ClientToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sends the same ClientToken when the launch is retried, and a different one per node and deployment', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded'))
      .resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });
    const aws = provider();

    await expect(aws.launchNodes(target(), network)).rejects.toThrow(TransientError);
    await aws.launchNodes(target(), network);

    const tokens = inputs(ec2Mock.commandCalls(RunInstancesCommand)).map((input) => input.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
    expect(clientToken(target(), 'db-1')).not.toBe(tokens[0]);
    expect(clientToken(target(single, { deploymentId: 'dep-2' }), 'db-0')).not.toBe(tokens[0]);
  });

  it('does not launch a node that already runs, and launches only the missing ones of a cluster', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        reservations(
          instance('i-0000000000000000a', 'db-0', 'running', { PublicIpAddress: '198.51.100.7', PrivateIpAddress: '172.31.5.10' }),
          instance('i-0000000000000000c', 'db-2', 'pending'),
        ),
      );
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [rootVolume('i-0000000000000000a', 20), rootVolume('i-0000000000000000c', 20)] });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000b', PrivateIpAddress: '172.31.5.11' }] });

    const nodes = await provider().launchNodes(target(cluster), network);

    expect(inputs(ec2Mock.commandCalls(RunInstancesCommand))).toEqual([expectedRunInstances(cluster, 1)]);
    expect(nodes).toEqual([
      { name: 'db-0', role: 'primary', instanceId: 'i-0000000000000000a', host: '198.51.100.7', port: 5432 },
      { name: 'db-1', role: 'replica', instanceId: 'i-0000000000000000b', host: '172.31.5.11', port: 5432 },
      { name: 'db-2', role: 'replica', instanceId: 'i-0000000000000000c', port: 5432 },
    ]);
  });

  it('launches nothing on a second run', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations(instance('i-0000000000000000a', 'db-0', 'running')));
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [rootVolume('i-0000000000000000a', 20)] });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });

    await provider().launchNodes(target(), network);

    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('launches into a configured subnet and drops a key pair the rendering might carry', async () => {
    const withKey = { ...single, runInstances: { ...single.runInstances, KeyName: 'my-key' } };
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });

    await provider({ subnetId: 'subnet-1' }).launchNodes(target(withKey), network);

    const [input] = inputs(ec2Mock.commandCalls(RunInstancesCommand));
    expect(input).not.toHaveProperty('KeyName');
    expect(input?.SubnetId).toBe('subnet-1');
  });

  it.each([
    ['InsufficientInstanceCapacity', 'CapacityError', CapacityError],
    ['InsufficientHostCapacity', 'CapacityError', CapacityError],
    ['RequestLimitExceeded', 'TransientError', TransientError],
    ['InvalidParameterValue', 'PermanentError', PermanentError],
  ])('surfaces %s as %s', async (code, name, type) => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error(code));

    const error: unknown = await provider()
      .launchNodes(target(), network)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ name, code, message: `ec2:RunInstances failed: ${code}: ${code} (mocked)` });
  });

  it('surfaces throttling of DescribeInstances and AWS-side faults as TransientError', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded'))
      .rejectsOnce(new EC2ServiceException({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'oops' }));
    const aws = provider();

    await expect(aws.launchNodes(target(), network)).rejects.toMatchObject({ name: 'TransientError', code: 'RequestLimitExceeded' });
    await expect(aws.launchNodes(target(), network)).rejects.toMatchObject({ name: 'TransientError', code: 'InternalError' });
  });
});

describe('launchNodes on a re-deploy: the nodes that exist are brought to the plan in place', () => {
  beforeEach(nodeRoleExists);
  const network = { securityGroupId: GROUP_ID };
  const PRIMARY = 'i-0000000000000000a';
  const REPLICA = 'i-0000000000000000b';
  const pair = { topology: { mode: 'cluster', replicas: 1 } };
  const samePair = render(pair);
  const largerPair = render(pair, { aws: { instanceType: 't4g.large' } });
  const largerSingle = render({}, { aws: { instanceType: 't4g.large' } });
  const x86Pair = render(pair, { aws: { instanceType: 'm6i.xlarge' } });
  const biggerDiskPair = render(pair, { storage: { sizeGiB: 50 } });

  interface Failures {
    stop?: Error[];
    modify?: Error[];
    start?: Error[];
  }

  /**
   * EC2 as far as a resize goes: StopInstances, ModifyInstanceAttribute and StartInstances change
   * the instances, and DescribeInstances shows 'stopping' or 'pending' once before the instance
   * settles. A started instance gets a new public address. `failures` are thrown by the next calls.
   */
  function fleet(initial: Instance[], failures: Failures = {}): void {
    const instances = new Map(initial.map((described) => [described.InstanceId!, described]));
    const settling = new Map<string, 'stopped' | 'running'>();
    let started = 0;
    const set = (id: string, change: Partial<Instance>) => instances.set(id, { ...instances.get(id)!, ...change });
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
      const ids = input.Filters?.find((filter) => filter.Name === 'instance-id')?.Values;
      const shown = [...instances.values()].filter((described) => ids === undefined || ids.includes(described.InstanceId!));
      for (const [id, state] of settling) set(id, { State: { Name: state } });
      settling.clear();
      return reservations(...shown);
    });
    ec2Mock.on(StopInstancesCommand).callsFake((input: StopInstancesCommandInput) => {
      const failure = failures.stop?.shift();
      if (failure) throw failure;
      for (const id of input.InstanceIds ?? []) {
        set(id, { State: { Name: 'stopping' }, StateReason: { Code: 'Client.UserInitiatedShutdown' } });
        settling.set(id, 'stopped');
      }
      return {};
    });
    ec2Mock.on(ModifyInstanceAttributeCommand).callsFake((input: ModifyInstanceAttributeCommandInput) => {
      const failure = failures.modify?.shift();
      if (failure) throw failure;
      set(input.InstanceId!, { InstanceType: input.InstanceType!.Value! as 't4g.large' });
      return {};
    });
    ec2Mock.on(StartInstancesCommand).callsFake((input: StartInstancesCommandInput) => {
      const failure = failures.start?.shift();
      if (failure) throw failure;
      for (const id of input.InstanceIds ?? []) {
        set(id, { State: { Name: 'pending' }, PublicIpAddress: `198.51.100.${100 + started}` });
        settling.set(id, 'running');
        started += 1;
      }
      return {};
    });
  }

  function disks(sizeGiB: number, ...instanceIds: string[]): void {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: instanceIds.map((id) => rootVolume(id, sizeGiB)) });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolves({ VolumesModifications: [] });
  }

  function runningPair(): Instance[] {
    return [
      instance(PRIMARY, 'db-0', 'running', { PublicIpAddress: '198.51.100.7' }),
      instance(REPLICA, 'db-1', 'running', { PublicIpAddress: '198.51.100.8' }),
    ];
  }

  const byId = (id: string) => ({ Filters: [{ Name: 'instance-id', Values: [id] }] });
  const lookup = ['ec2:DescribeInstances', 'ec2:DescribeVolumes', 'ec2:DescribeVolumesModifications'];
  const stopChangeStart = [
    'ec2:StopInstances',
    'ec2:DescribeInstances',
    'ec2:DescribeInstances',
    'ec2:ModifyInstanceAttribute',
    'ec2:StartInstances',
    'ec2:DescribeInstances',
    'ec2:DescribeInstances',
  ];

  it('changes the instance type of the replica, then of the primary: stop, wait until stopped, modify, start, wait until running', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);

    const nodes = await provider().launchNodes(target(largerPair), network);

    expect(sentActions()).toEqual([...lookup, ...stopChangeStart, ...stopChangeStart]);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }, { InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(ModifyInstanceAttributeCommand))).toEqual([
      { InstanceId: REPLICA, InstanceType: { Value: 't4g.large' } },
      { InstanceId: PRIMARY, InstanceType: { Value: 't4g.large' } },
    ]);
    expect(inputs(ec2Mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }, { InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand)).slice(1)).toEqual([
      ...Array.from({ length: 4 }, () => byId(REPLICA)),
      ...Array.from({ length: 4 }, () => byId(PRIMARY)),
    ]);
    expect(sleep.mock.calls).toEqual(Array.from({ length: 8 }, () => [5_000]));
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    // A restarted node has a new public address.
    expect(nodes).toEqual([
      { name: 'db-0', role: 'primary', instanceId: PRIMARY, host: '198.51.100.101', port: 5432 },
      { name: 'db-1', role: 'replica', instanceId: REPLICA, host: '198.51.100.100', port: 5432 },
    ]);
  });

  it('stops nothing when the nodes already have the plan type and disk', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);

    const nodes = await provider().launchNodes(target(samePair), network);

    expect(sentActions()).toEqual(lookup);
    expect(inputs(ec2Mock.commandCalls(DescribeVolumesCommand))).toEqual([
      { Filters: [{ Name: 'attachment.instance-id', Values: [PRIMARY, REPLICA] }] },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeVolumesModificationsCommand))).toEqual([
      { Filters: [{ Name: 'volume-id', Values: [volumeId(PRIMARY), volumeId(REPLICA)] }] },
    ]);
    expect(nodes.map((ref) => ref.host)).toEqual(['198.51.100.7', '198.51.100.8']);
  });

  it('grows each root volume to the plan size without stopping a node, and waits until the size has taken effect', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);
    const modification = (id: string, state: 'modifying' | 'optimizing' | 'completed') => ({
      VolumeId: volumeId(id),
      ModificationState: state,
      OriginalSize: 20,
      TargetSize: 50,
    });
    ec2Mock
      .on(DescribeVolumesModificationsCommand)
      .resolvesOnce({ VolumesModifications: [] })
      .resolvesOnce({ VolumesModifications: [modification(PRIMARY, 'optimizing'), modification(REPLICA, 'modifying')] })
      .resolves({ VolumesModifications: [modification(REPLICA, 'completed')] });
    ec2Mock.on(ModifyVolumeCommand).callsFake((input: ModifyVolumeCommandInput) => ({
      VolumeModification: { VolumeId: input.VolumeId, ModificationState: 'modifying', TargetSize: input.Size },
    }));

    await provider().launchNodes(target(biggerDiskPair), network);

    expect(sentActions()).toEqual([
      ...lookup,
      'ec2:ModifyVolume',
      'ec2:ModifyVolume',
      'ec2:DescribeVolumesModifications',
      'ec2:DescribeVolumesModifications',
    ]);
    expect(inputs(ec2Mock.commandCalls(ModifyVolumeCommand))).toEqual([
      { VolumeId: volumeId(PRIMARY), Size: 50 },
      { VolumeId: volumeId(REPLICA), Size: 50 },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeVolumesModificationsCommand)).at(-1)).toEqual({
      Filters: [{ Name: 'volume-id', Values: [volumeId(REPLICA)] }],
    });
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it('does not ask again for a size change an earlier attempt asked for, but waits for it', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);
    const modifications = (state: 'modifying' | 'optimizing') => ({
      VolumesModifications: [PRIMARY, REPLICA].map((id) => ({ VolumeId: volumeId(id), ModificationState: state, TargetSize: 50 })),
    });
    ec2Mock.on(DescribeVolumesModificationsCommand).resolvesOnce(modifications('modifying')).resolves(modifications('optimizing'));

    await provider().launchNodes(target(biggerDiskPair), network);

    expect(sentActions()).toEqual([...lookup, 'ec2:DescribeVolumesModifications']);
  });

  it('fails when a size change fails', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);
    ec2Mock
      .on(DescribeVolumesModificationsCommand)
      .resolvesOnce({ VolumesModifications: [] })
      .resolves({ VolumesModifications: [{ VolumeId: volumeId(PRIMARY), ModificationState: 'failed', StatusMessage: 'Internal error' }] });
    ec2Mock.on(ModifyVolumeCommand).resolves({});

    await expect(provider().launchNodes(target(biggerDiskPair), network)).rejects.toThrow(
      new PermanentError(`growing the disk of node db-0 (${volumeId(PRIMARY)}) failed: Internal error`),
    );
  });

  it('refuses a plan disk smaller than the volume before changing anything', async () => {
    fleet([instance(PRIMARY, 'db-0', 'running')]);
    disks(100, PRIMARY);

    const attempt = provider().launchNodes(target(largerSingle), network);

    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(
      `the disk of node db-0 (${volumeId(PRIMARY)}) is 100 GiB but the plan asks for 20 GiB: disks only grow. Plan at least 100 GiB`,
    );
    expect(sentActions()).toEqual(['ec2:DescribeInstances', 'ec2:DescribeVolumes']);
  });

  it('refuses another architecture before stopping anything: the system on the disk would not boot', async () => {
    fleet(runningPair());
    disks(20, PRIMARY, REPLICA);

    const attempt = provider().launchNodes(target(x86Pair), network);

    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(
      `node db-0 (${PRIMARY}) runs on arm64 (t4g.medium) but the plan's m6i.xlarge is x86_64: its disk holds an arm64 system that would not boot there. ` +
        'Choose an arm64 instance type, or deploy the new architecture as a new plan and move the data',
    );
    expect(sentActions()).toEqual(['ec2:DescribeInstances']);
  });

  it('converges on a retry after the type was changed but the start failed: it only starts the node', async () => {
    fleet([instance(PRIMARY, 'db-0', 'running')], { start: [ec2Error('InsufficientInstanceCapacity')] });
    disks(20, PRIMARY);
    const aws = provider();

    await expect(aws.launchNodes(target(largerSingle), network)).rejects.toMatchObject({
      name: 'CapacityError',
      code: 'InsufficientInstanceCapacity',
    });
    const firstAttempt = sentActions().length;
    const nodes = await aws.launchNodes(target(largerSingle), network);

    expect(sentActions().slice(firstAttempt)).toEqual([...lookup, 'ec2:StartInstances', 'ec2:DescribeInstances', 'ec2:DescribeInstances']);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }]);
    expect(inputs(ec2Mock.commandCalls(ModifyInstanceAttributeCommand))).toEqual([{ InstanceId: PRIMARY, InstanceType: { Value: 't4g.large' } }]);
    expect(inputs(ec2Mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }, { InstanceIds: [PRIMARY] }]);
    expect(nodes).toEqual([{ name: 'db-0', role: 'primary', instanceId: PRIMARY, host: '198.51.100.100', port: 5432 }]);
  });

  it('leaves the primary serving when the replica does not come back', async () => {
    fleet(runningPair(), { start: [ec2Error('InsufficientInstanceCapacity')] });
    disks(20, PRIMARY, REPLICA);

    await expect(provider().launchNodes(target(largerPair), network)).rejects.toThrow(CapacityError);
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }]);
  });

  it('reports a node that started and stopped again for want of capacity as a CapacityError', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance(PRIMARY, 'db-0', 'stopped', { InstanceType: 't4g.large' })))
      .resolves(
        reservations(
          instance(PRIMARY, 'db-0', 'stopped', {
            InstanceType: 't4g.large',
            StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' },
          }),
        ),
      );
    ec2Mock.on(StartInstancesCommand).resolves({});
    disks(20, PRIMARY);

    await expect(provider().launchNodes(target(largerSingle), network)).rejects.toMatchObject({
      name: 'CapacityError',
      code: 'InsufficientInstanceCapacity',
      message: `node db-0 (${PRIMARY}) could not start: Server.InsufficientInstanceCapacity: Insufficient capacity.`,
    });
  });

  it('surfaces throttling of StopInstances as a TransientError and changes nothing', async () => {
    fleet(runningPair(), { stop: [ec2Error('RequestLimitExceeded')] });
    disks(20, PRIMARY, REPLICA);

    await expect(provider().launchNodes(target(largerPair), network)).rejects.toMatchObject({
      name: 'TransientError',
      code: 'RequestLimitExceeded',
      message: 'ec2:StopInstances failed: RequestLimitExceeded: RequestLimitExceeded (mocked)',
    });
    expect(inputs(ec2Mock.commandCalls(StopInstancesCommand))).toEqual([{ InstanceIds: [REPLICA] }]);
    expect(ec2Mock.commandCalls(ModifyInstanceAttributeCommand)).toHaveLength(0);
  });

  it('starts a node again with its old type when EC2 refuses the new one', async () => {
    fleet([instance(PRIMARY, 'db-0', 'running')], { modify: [ec2Error('InvalidParameterValue', 'not supported')] });
    disks(20, PRIMARY);

    await expect(provider().launchNodes(target(largerSingle), network)).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'InvalidParameterValue',
      message: `ec2:ModifyInstanceAttribute failed: InvalidParameterValue: not supported; node db-0 (${PRIMARY}) was started again as t4g.medium`,
    });
    expect(inputs(ec2Mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [PRIMARY] }]);
  });

  it('gives up with a TransientError when a node takes too long to stop, before changing its type', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance(PRIMARY, 'db-0', 'running')))
      .resolves(reservations(instance(PRIMARY, 'db-0', 'stopping')));
    ec2Mock.on(StopInstancesCommand).resolves({});
    disks(20, PRIMARY);

    await expect(provider().launchNodes(target(largerSingle), network)).rejects.toThrow(
      new TransientError(`node db-0 (${PRIMARY}) did not become stopped within 180 s`),
    );
    expect(sleep).toHaveBeenCalledTimes(36);
    expect(ec2Mock.commandCalls(ModifyInstanceAttributeCommand)).toHaveLength(0);
  });
});

describe('nodesReady', () => {
  const nodes = [node('db-0', 'primary', 'i-0000000000000000a'), node('db-1', 'replica', 'i-0000000000000000b')];

  it('is pending until every instance runs and its SSM agent is online', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(reservations(instance('i-0000000000000000a', 'db-0', 'running'), instance('i-0000000000000000b', 'db-1', 'pending')));
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: 'i-0000000000000000a', PingStatus: 'Online' }] });

    await expect(provider().nodesReady(target(cluster), nodes)).resolves.toEqual({ state: 'pending', detail: '1 of 2 nodes online' });
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      { Filters: [{ Name: 'instance-id', Values: ['i-0000000000000000a', 'i-0000000000000000b'] }] },
    ]);
    expect(inputs(ssmMock.commandCalls(DescribeInstanceInformationCommand))).toEqual([
      { Filters: [{ Key: 'InstanceIds', Values: ['i-0000000000000000a', 'i-0000000000000000b'] }] },
    ]);
  });

  it('is done when all are running and online', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(reservations(instance('i-0000000000000000a', 'db-0', 'running'), instance('i-0000000000000000b', 'db-1', 'running')));
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: 'i-0000000000000000a', PingStatus: 'Online' },
        { InstanceId: 'i-0000000000000000b', PingStatus: 'Online' },
      ],
    });

    await expect(provider().nodesReady(target(cluster), nodes)).resolves.toEqual({ state: 'done' });
  });

  it('fails when an instance stopped or was terminated', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(
      reservations(
        instance('i-0000000000000000a', 'db-0', 'running'),
        instance('i-0000000000000000b', 'db-1', 'terminated', {
          StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' },
        }),
      ),
    );

    await expect(provider().nodesReady(target(cluster), nodes)).resolves.toEqual({
      state: 'failed',
      reason: 'node db-1 (i-0000000000000000b) is terminated: Server.InsufficientInstanceCapacity: Insufficient capacity.',
    });
  });
});

describe('sendCommand', () => {
  const primary = node('db-0', 'primary', 'i-0000000000000000a');
  const replicas = [node('db-1', 'replica', 'i-0000000000000000b'), node('db-2', 'replica', 'i-0000000000000000c')];
  const privateIps = reservations(
    instance('i-0000000000000000a', 'db-0', 'running', { PrivateIpAddress: '172.31.5.10', PublicIpAddress: '198.51.100.7' }),
    instance('i-0000000000000000b', 'db-1', 'running', { PrivateIpAddress: '172.31.5.11' }),
    instance('i-0000000000000000c', 'db-2', 'running', { PrivateIpAddress: '172.31.5.12' }),
  );

  function expectedCommands(kind: string, script: string, environment = ''): string[] {
    const encoded = Buffer.from(script).toString('base64');
    return [
      'set -e',
      'umask 077',
      `printf '%s' '${encoded}' | base64 -d > /root/cloudseed-${kind}.sh`,
      `chmod 700 /root/cloudseed-${kind}.sh`,
      `${environment}bash /root/cloudseed-${kind}.sh`,
    ];
  }

  it('runs the install script on every node with AWS-RunShellScript, base64-encoded', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-install' } });

    const command = await provider().sendCommand(target(cluster), [primary, ...replicas], 'install');

    expect(command).toEqual({
      kind: 'install',
      commandId: 'cmd-install',
      instanceIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'],
    });
    const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent).toEqual([
      {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'],
        Parameters: { commands: expectedCommands('install', cluster.scripts.install), executionTimeout: ['1800'] },
        TimeoutSeconds: 1800,
        Comment: 'CloudSeed p-1/db install',
      },
    ]);
    expect(decodedScript(sent[0]!.Parameters!['commands']!)).toBe(cluster.scripts.install);
  });

  it('never sends the script text itself, nor any password: only the parameter name travels, inside the encoded script', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-configure' } });

    await provider().sendCommand(target(), [primary], 'configure');

    const [input] = inputs(ssmMock.commandCalls(SendCommandCommand));
    const text = JSON.stringify(input);
    expect(input).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0000000000000000a'],
      Parameters: { commands: expectedCommands('configure', single.scripts.configure), executionTimeout: ['600'] },
      TimeoutSeconds: 600,
      Comment: 'CloudSeed p-1/db configure',
    });
    expect(single.scripts.configure).toContain('/cloudseed/p-1/db/password');
    expect(text).not.toContain('/cloudseed/p-1/db/password');
    expect(text).not.toContain('PASSWORD');
    expect(text).not.toContain('CREATE ROLE');
    expect(decodedScript(input!.Parameters!['commands']!)).toBe(single.scripts.configure);
  });

  it('configures each cluster node with its role and its peers private addresses, one command each', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(privateIps);
    ssmMock
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'cmd-0' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-1' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-2' } });

    const command = await provider().sendCommand(target(cluster), [primary, ...replicas], 'configure');

    expect(command).toEqual({
      kind: 'configure',
      commandId: 'cmd-0,cmd-1,cmd-2',
      instanceIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'],
    });
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      { Filters: [{ Name: 'instance-id', Values: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'] }] },
    ]);
    const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent.map((input) => input.InstanceIds)).toEqual([['i-0000000000000000a'], ['i-0000000000000000b'], ['i-0000000000000000c']]);
    expect(sent.map((input) => input.Parameters!['commands'])).toEqual([
      expectedCommands('configure', cluster.scripts.configure, "CLOUDSEED_NODE_ROLE='primary' CLOUDSEED_REPLICA_HOSTS='172.31.5.11 172.31.5.12' "),
      expectedCommands('configure', cluster.scripts.configure, "CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_PRIMARY_HOST='172.31.5.10' "),
      expectedCommands('configure', cluster.scripts.configure, "CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_PRIMARY_HOST='172.31.5.10' "),
    ]);
  });

  it.each(['172.31.5.11; reboot', '172.031.5.11', '256.1.1.1', '', undefined])('refuses to put %j in a command as an address', async (address) => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        reservations(
          instance('i-0000000000000000a', 'db-0', 'running', { PrivateIpAddress: '172.31.5.10' }),
          instance('i-0000000000000000b', 'db-1', 'running', address === undefined ? {} : { PrivateIpAddress: address }),
        ),
      );

    await expect(provider().sendCommand(target(cluster), [primary, replicas[0]!], 'configure')).rejects.toThrow(PermanentError);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('refuses a node whose instance id is not an EC2 instance id', async () => {
    await expect(provider().sendCommand(target(), [node('db-0', 'primary', "i-1'; reboot")], 'install')).rejects.toThrow(PermanentError);
    expect(sentActions()).toEqual([]);
  });

  it('sends the output to CloudWatch Logs when configured', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-install' } });

    await provider({ commandLogGroup: '/cloudseed/commands' }).sendCommand(target(), [primary], 'install');

    expect(inputs(ssmMock.commandCalls(SendCommandCommand))[0]?.CloudWatchOutputConfig).toEqual({
      CloudWatchLogGroupName: '/cloudseed/commands',
      CloudWatchOutputEnabled: true,
    });
  });
});

describe('commandStatus', () => {
  const command: CommandRef = { kind: 'install', commandId: 'cmd-1', instanceIds: ['i-0000000000000000a'] };

  it.each([
    ['Success', { state: 'done' }],
    ['Pending', { state: 'pending', detail: '0 of 1 nodes finished install' }],
    ['InProgress', { state: 'pending', detail: '0 of 1 nodes finished install' }],
    ['Delayed', { state: 'pending', detail: '0 of 1 nodes finished install' }],
    [
      'Failed',
      {
        state: 'failed',
        reason: 'install failed on i-0000000000000000a (exit 1): Last metadata expiration check\ndnf: no package postgresql17-server',
      },
    ],
    [
      'TimedOut',
      {
        state: 'failed',
        reason: 'install timed out on i-0000000000000000a (exit 1): Last metadata expiration check\ndnf: no package postgresql17-server',
      },
    ],
    [
      'Cancelled',
      {
        state: 'failed',
        reason: 'install was cancelled on i-0000000000000000a (exit 1): Last metadata expiration check\ndnf: no package postgresql17-server',
      },
    ],
  ] as const)('maps %s to %j', async (status, progress) => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: status,
      ResponseCode: 1,
      StandardErrorContent: '\nLast metadata expiration check\ndnf: no package postgresql17-server\n\n',
    });

    await expect(provider().commandStatus(target(), command)).resolves.toEqual(progress);
    expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual([{ CommandId: 'cmd-1', InstanceId: 'i-0000000000000000a' }]);
  });

  it('is pending while the invocation does not exist yet', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ $metadata: { httpStatusCode: 400 }, message: '' }));

    await expect(provider().commandStatus(target(), command)).resolves.toEqual({ state: 'pending', detail: '0 of 1 nodes finished install' });
  });

  it('keeps the last lines of a long standard error, within 500 characters', async () => {
    const stderr = `${Array.from({ length: 100 }, (_, index) => `line ${index} ${'x'.repeat(40)}`).join('\n')}\nfatal: the last line\n`;
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 2, StandardErrorContent: stderr });

    const progress = await provider().commandStatus(target(), command);

    expect(progress.state).toBe('failed');
    const reason = progress.state === 'failed' ? progress.reason : '';
    expect(reason.length).toBeLessThanOrEqual(500);
    expect(reason).toMatch(/^install failed on i-0000000000000000a \(exit 2\): line \d+ x+\n/);
    expect(reason.endsWith('line 99 ' + 'x'.repeat(40) + '\nfatal: the last line')).toBe(true);
  });

  it('checks each node of a per-node command with its own command id', async () => {
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-0', InstanceId: 'i-0000000000000000a' })
      .resolves({ Status: 'Success' })
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: 'i-0000000000000000b' })
      .resolves({ Status: 'InProgress' });

    const progress = await provider().commandStatus(target(cluster), {
      kind: 'configure',
      commandId: 'cmd-0,cmd-1',
      instanceIds: ['i-0000000000000000a', 'i-0000000000000000b'],
    });

    expect(progress).toEqual({ state: 'pending', detail: '1 of 2 nodes finished configure' });
    expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual([
      { CommandId: 'cmd-0', InstanceId: 'i-0000000000000000a' },
      { CommandId: 'cmd-1', InstanceId: 'i-0000000000000000b' },
    ]);
  });

  it('refuses a command reference whose ids do not match its instances', async () => {
    await expect(provider().commandStatus(target(), { kind: 'install', commandId: 'a,b', instanceIds: ['i-0000000000000000a'] })).rejects.toThrow(
      PermanentError,
    );
  });
});

describe('verify', () => {
  const nodes = [node('db-0', 'primary', 'i-0000000000000000a')];

  it('runs SELECT 1 locally and over TLS as the application role, reading the password inside the script', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-verify' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ $metadata: {}, message: '' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: 'PostgreSQL answers over TLS' });

    await provider().verify(target(), nodes);

    const [input] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0000000000000000a'],
      TimeoutSeconds: 60,
      Comment: 'CloudSeed p-1/db verify',
    });
    const script = decodedScript(input!.Parameters!['commands']!);
    expect(script).toContain("runuser -u postgres -- psql -X -tA -c 'SELECT 1'");
    expect(script).toContain("PGSSLMODE=verify-full PGSSLROOTCERT='/etc/cloudseed/ca.crt'");
    expect(script).toContain("PGUSER='app' PGDATABASE='app'");
    expect(script).toContain("PASSWORD_PARAMETER='/cloudseed/p-1/db/password'");
    expect(script).toContain("REGION='eu-central-1'");
    expect(JSON.stringify(input)).not.toContain('PGPASSWORD');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
    expect(sleep.mock.calls).toEqual([[3000], [3000], [3000]]);
  });

  it('fails with the node and what went wrong', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-verify' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 2,
      StandardErrorContent: 'psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry for host "127.0.0.1"',
    });

    const error: unknown = await provider()
      .verify(target(), nodes)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(
      'verification failed on db-0 (i-0000000000000000a) (exit 2): psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry for host "127.0.0.1"',
    );
  });

  it('gives up after about a minute with a TransientError', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-verify' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });

    await expect(provider().verify(target(), nodes)).rejects.toThrow(TransientError);
    expect(sleep.mock.calls.reduce((total, [ms]) => total + ms, 0)).toBe(60_000);
  });
});

describe('health', () => {
  const nodes = [node('db-0', 'primary', 'i-0000000000000000a'), node('db-1', 'replica', 'i-0000000000000000b')];

  it('reports each node from its instance state and status checks', async () => {
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: [
        {
          InstanceId: 'i-0000000000000000a',
          InstanceState: { Name: 'running', Code: 16 },
          SystemStatus: { Status: 'ok' },
          InstanceStatus: { Status: 'ok' },
        },
        {
          InstanceId: 'i-0000000000000000b',
          InstanceState: { Name: 'running', Code: 16 },
          SystemStatus: { Status: 'ok' },
          InstanceStatus: { Status: 'impaired' },
        },
      ],
    });

    await expect(provider().health(target(cluster), nodes)).resolves.toEqual([
      { name: 'db-0', role: 'primary', healthy: true },
      { name: 'db-1', role: 'replica', healthy: false, detail: 'status checks: system ok, instance impaired' },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstanceStatusCommand))).toEqual([
      { InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'], IncludeAllInstances: true },
    ]);
  });

  it('reports a stopped node and a missing one', async () => {
    ec2Mock
      .on(DescribeInstanceStatusCommand, { InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] })
      .rejects(ec2Error('InvalidInstanceID.NotFound'))
      .on(DescribeInstanceStatusCommand, { InstanceIds: ['i-0000000000000000a'] })
      .resolves({ InstanceStatuses: [{ InstanceId: 'i-0000000000000000a', InstanceState: { Name: 'stopped', Code: 80 } }] })
      .on(DescribeInstanceStatusCommand, { InstanceIds: ['i-0000000000000000b'] })
      .rejects(ec2Error('InvalidInstanceID.NotFound'));

    await expect(provider().health(target(cluster), nodes)).resolves.toEqual([
      { name: 'db-0', role: 'primary', healthy: false, detail: 'the instance is stopped' },
      { name: 'db-1', role: 'replica', healthy: false, detail: 'the instance does not exist' },
    ]);
  });
});

describe('destroy', () => {
  const liveFilter = [...COMPONENT_FILTERS, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }];
  const planFilter = [
    { Name: 'tag:cloudseed:plan-id', Values: [PLAN_ID] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
  ];
  const nodeRoleRemoval = ['iam:RemoveRoleFromInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:DeleteRolePolicy', 'iam:DeleteRole'];
  beforeEach(nodeRoleRemovable);

  it('terminates the nodes, waits for them, deletes the group (retrying while ENIs detach), then the passwords', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations(instance('i-0000000000000000a', 'db-0', 'running'), instance('i-0000000000000000b', 'db-1', 'stopped')))
      .resolvesOnce(reservations(instance('i-0000000000000000a', 'db-0', 'shutting-down')))
      .resolves(reservations());
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock
      .on(DeleteSecurityGroupCommand)
      .rejectsOnce(ec2Error('DependencyViolation', 'resource sg-0123456789abcdef0 has a dependent object'))
      .rejectsOnce(ec2Error('DependencyViolation', 'resource sg-0123456789abcdef0 has a dependent object'))
      .resolves({ Return: true });
    ssmMock
      .on(DeleteParametersCommand)
      .resolves({ DeletedParameters: ['/cloudseed/p-1/db/password'], InvalidParameters: ['/cloudseed/p-1/db/replication-password'] });

    await provider().destroy(target(cluster));

    expect(sentActions()).toEqual([
      'ec2:DescribeInstances',
      'ec2:TerminateInstances',
      'ec2:DescribeInstances',
      'ec2:DescribeInstances',
      'ec2:DescribeSecurityGroups',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSecurityGroup',
      'ssm:DeleteParameters',
      'ec2:DescribeInstances',
      ...nodeRoleRemoval,
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      { Filters: liveFilter },
      { Filters: liveFilter },
      { Filters: liveFilter },
      { Filters: planFilter },
    ]);
    expect(inputs(ec2Mock.commandCalls(TerminateInstancesCommand))).toEqual([{ InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] }]);
    expect(inputs(ec2Mock.commandCalls(DeleteSecurityGroupCommand))).toEqual([{ GroupId: GROUP_ID }, { GroupId: GROUP_ID }, { GroupId: GROUP_ID }]);
    expect(inputs(ssmMock.commandCalls(DeleteParametersCommand))).toEqual([
      { Names: ['/cloudseed/p-1/db/password', '/cloudseed/p-1/db/replication-password', '/cloudseed/p-1/certificate-authority'] },
    ]);
  });

  it('is a no-op apart from the parameters when nothing is there', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock
      .on(DeleteParametersCommand)
      .resolves({ DeletedParameters: [], InvalidParameters: ['/cloudseed/p-1/db/password', '/cloudseed/p-1/db/replication-password'] });

    await provider().destroy(target());

    expect(sentActions()).toEqual([
      'ec2:DescribeInstances',
      'ec2:DescribeSecurityGroups',
      'ssm:DeleteParameters',
      'ec2:DescribeInstances',
      ...nodeRoleRemoval,
    ]);
  });

  it('treats a group deleted in the meantime as deleted', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(ec2Error('InvalidGroup.NotFound'));
    ssmMock.on(DeleteParametersCommand).resolves({});

    await expect(provider().destroy(target())).resolves.toBeUndefined();
  });

  it('gives up with a TransientError when the group stays in use', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(ec2Error('DependencyViolation'));

    await expect(provider().destroy(target())).rejects.toMatchObject({ name: 'TransientError', code: 'DependencyViolation' });
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(13);
    expect(ssmMock.commandCalls(DeleteParametersCommand)).toHaveLength(0);
  });

  it('gives up with a TransientError when instances take too long to terminate', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations(instance('i-0000000000000000a', 'db-0', 'shutting-down')));
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    await expect(provider().destroy(target())).rejects.toThrow(TransientError);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });
});

describe('a whole deployment and teardown', () => {
  it('goes through every step against a fresh account', async () => {
    const ids = ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'];
    const running = reservations(...ids.map((id, index) => instance(id, `db-${index}`, 'running', { PrivateIpAddress: `172.31.5.${10 + index}` })));
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({ SecurityGroups: [] })
      .resolves({ SecurityGroups: [{ GroupId: GROUP_ID }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations())
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolves(reservations());
    ec2Mock
      .on(RunInstancesCommand)
      .resolvesOnce({ Instances: [{ InstanceId: ids[0] }] })
      .resolvesOnce({ Instances: [{ InstanceId: ids[1] }] })
      .resolvesOnce({ Instances: [{ InstanceId: ids[2] }] });
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: ids.map((id) => ({
        InstanceId: id,
        InstanceState: { Name: 'running' as const, Code: 16 },
        SystemStatus: { Status: 'ok' as const },
        InstanceStatus: { Status: 'ok' as const },
      })),
    });
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: PASSWORD } });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: ids.map((id) => ({ InstanceId: id, PingStatus: 'Online' as const })) });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success' });
    ssmMock.on(DeleteParametersCommand).resolves({});
    nodeRoleExists();
    nodeRoleRemovable();
    const aws = provider();
    const deployment = target(cluster);

    await aws.preflight(deployment);
    await aws.ensurePassword(deployment);
    const network = await aws.ensureSecurityGroup(deployment);
    const nodes = await aws.launchNodes(deployment, network);
    await expect(aws.nodesReady(deployment, nodes)).resolves.toEqual({ state: 'done' });
    for (const kind of ['install', 'configure'] as const) {
      const command = await aws.sendCommand(deployment, nodes, kind);
      await expect(aws.commandStatus(deployment, command)).resolves.toEqual({ state: 'done' });
    }
    await aws.verify(deployment, nodes);
    await expect(aws.health(deployment, nodes)).resolves.toEqual(nodes.map((ref) => ({ name: ref.name, role: ref.role, healthy: true })));
    await expect(aws.readPassword(deployment)).resolves.toBe(PASSWORD);
    await aws.destroy(deployment);

    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(nodes.map((ref) => ref.instanceId)).toEqual(ids);
    expect(inputs(ec2Mock.commandCalls(RunInstancesCommand)).map((input) => input.IamInstanceProfile)).toEqual(ids.map(() => ({ Name: PROFILE })));
    expect(iamMock.commandCalls(DeleteRoleCommand)).toHaveLength(1);
  });
});

describe('the plan’s node role', () => {
  const network = { securityGroupId: GROUP_ID };
  const parameters = 'arn:aws:ssm:eu-central-1:123456789012:parameter/cloudseed/p-1/*';
  const boundary = 'arn:aws:iam::123456789012:policy/CloudSeedNodeBoundary';

  function launchable(): void {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });
  }

  function sentPolicy(): {
    Version: string;
    Statement: Array<{ Sid: string; Action: string[]; Resource: string; Condition?: Record<string, Record<string, string>> }>;
  } {
    const [input] = inputs(iamMock.commandCalls(PutRolePolicyCommand));
    return JSON.parse(input!.PolicyDocument!) as ReturnType<typeof sentPolicy>;
  }

  it('is created in a fresh account, under /cloudseed/nodes/ with the boundary, given the plan’s policy, put in its profile, and launched with', async () => {
    launchable();
    iamMock.on(CreateRoleCommand).resolves({});
    iamMock.on(PutRolePolicyCommand).resolves({});
    iamMock.on(GetInstanceProfileCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(CreateInstanceProfileCommand).resolves({});
    iamMock.on(AddRoleToInstanceProfileCommand).resolves({});

    await provider().launchNodes(target(), network);

    expect(sentActions().filter((action) => !action.startsWith('sts:'))).toEqual([
      'ec2:DescribeInstances',
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'iam:GetInstanceProfile',
      'iam:CreateInstanceProfile',
      'iam:AddRoleToInstanceProfile',
      'ec2:RunInstances',
    ]);
    const [role] = inputs(iamMock.commandCalls(CreateRoleCommand));
    expect({ ...role, AssumeRolePolicyDocument: JSON.parse(role!.AssumeRolePolicyDocument!) as unknown }).toEqual({
      RoleName: PROFILE,
      Path: '/cloudseed/nodes/',
      PermissionsBoundary: boundary,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Description: "CloudSeed PostgreSQL nodes of plan p-1: SSM agent, the plan's password parameters and backups",
    });
    expect(inputs(iamMock.commandCalls(PutRolePolicyCommand)).map(({ RoleName, PolicyName }) => ({ RoleName, PolicyName }))).toEqual([
      { RoleName: PROFILE, PolicyName: 'CloudSeedPlan' },
    ]);
    expect(sentPolicy()).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'SsmAgent',
          Effect: 'Allow',
          Action: [
            'ssm:UpdateInstanceInformation',
            'ec2messages:AcknowledgeMessage',
            'ec2messages:DeleteMessage',
            'ec2messages:FailMessage',
            'ec2messages:GetEndpoint',
            'ec2messages:GetMessages',
            'ec2messages:SendReply',
            'ssmmessages:CreateControlChannel',
            'ssmmessages:OpenControlChannel',
          ],
          Resource: '*',
        },
        { Sid: 'ReadPlanParameters', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: parameters },
        {
          Sid: 'DecryptPlanParameters',
          Effect: 'Allow',
          Action: ['kms:Decrypt'],
          Resource: 'arn:aws:kms:eu-central-1:123456789012:key/*',
          Condition: {
            StringEquals: { 'kms:ViaService': 'ssm.eu-central-1.amazonaws.com' },
            StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameters },
          },
        },
        {
          Sid: 'StreamPlanBackups',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
          Resource: 'arn:aws:s3:::cloudseed-backups-123456789012-*/plans/p-1/*',
          Condition: { StringEquals: { 's3:ResourceAccount': '123456789012' } },
        },
      ],
    });
    expect(inputs(iamMock.commandCalls(CreateInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, Path: '/cloudseed/nodes/' }]);
    expect(inputs(iamMock.commandCalls(AddRoleToInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, RoleName: PROFILE }]);
    expect(inputs(ec2Mock.commandCalls(RunInstancesCommand))[0]?.IamInstanceProfile).toEqual({ Name: PROFILE });
  });

  it('lets no statement read parameters on "*" or decrypt without naming the plan’s parameters in the encryption context', async () => {
    launchable();
    nodeRoleExists();

    await provider().launchNodes(target(), network);

    const statements = sentPolicy().Statement;
    const reads = statements.filter((statement) => statement.Action.some((action) => action.startsWith('ssm:GetParameter')));
    const decrypts = statements.filter((statement) => statement.Action.includes('kms:Decrypt'));
    expect(reads.map((statement) => statement.Resource)).toEqual([parameters]);
    expect(decrypts.map((statement) => statement.Condition?.StringLike?.['kms:EncryptionContext:PARAMETER_ARN'])).toEqual([parameters]);
  });

  it('is kept when it exists already: no error, the policy rewritten, nothing created twice', async () => {
    launchable();
    nodeRoleExists();

    await expect(provider().launchNodes(target(), network)).resolves.toHaveLength(1);

    expect(sentActions().filter((action) => action.startsWith('iam:'))).toEqual(['iam:CreateRole', 'iam:PutRolePolicy', 'iam:GetInstanceProfile']);
  });

  it('adds the role to a profile an interrupted run left empty', async () => {
    launchable();
    nodeRoleExists();
    iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: PROFILE, Roles: [] } as never });
    iamMock.on(AddRoleToInstanceProfileCommand).resolves({});

    await provider().launchNodes(target(), network);

    expect(inputs(iamMock.commandCalls(AddRoleToInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, RoleName: PROFILE }]);
    expect(iamMock.commandCalls(CreateInstanceProfileCommand)).toHaveLength(0);
  });

  it('refuses a profile of the plan’s name that holds another role, and launches nothing', async () => {
    launchable();
    nodeRoleExists();
    iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: PROFILE, Roles: [{ RoleName: 'Admin' }] } as never });

    await expect(provider().launchNodes(target(), network)).rejects.toThrow(
      new PermanentError(`instance profile ${PROFILE} holds Admin, not the plan's node role ${PROFILE}`),
    );
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('waits for EC2 to see a new instance profile, launching again with the same ClientToken', async () => {
    launchable();
    nodeRoleExists();
    const notYet = ec2Error(
      'InvalidParameterValue',
      'Value (CloudSeedNode-p-1) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
    );
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(notYet)
      .rejectsOnce(notYet)
      .resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }] });

    const nodes = await provider().launchNodes(target(), network);

    expect(nodes.map((ref) => ref.instanceId)).toEqual(['i-0000000000000000a']);
    const tokens = inputs(ec2Mock.commandCalls(RunInstancesCommand)).map((input) => input.ClientToken);
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);
    expect(sleep.mock.calls).toEqual([[5_000], [5_000]]);
  });

  it('gives up waiting for the profile with a TransientError, which the state machine retries', async () => {
    launchable();
    nodeRoleExists();
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error('InvalidParameterValue', 'Invalid IAM Instance Profile name'));

    await expect(provider().launchNodes(target(), network)).rejects.toMatchObject({ name: 'TransientError', code: 'InvalidParameterValue' });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(13);
  });

  it('is removed with the plan’s last instance: role out of the profile, profile, policy, role; what is gone already counts as removed', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock.on(DeleteParametersCommand).resolves({});
    iamMock.on(RemoveRoleFromInstanceProfileCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(DeleteInstanceProfileCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(DeleteRolePolicyCommand).resolves({});
    iamMock.on(DeleteRoleCommand).resolves({});

    await provider().destroy(target());

    expect(inputs(iamMock.commandCalls(RemoveRoleFromInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE, RoleName: PROFILE }]);
    expect(inputs(iamMock.commandCalls(DeleteInstanceProfileCommand))).toEqual([{ InstanceProfileName: PROFILE }]);
    expect(inputs(iamMock.commandCalls(DeleteRolePolicyCommand))).toEqual([{ RoleName: PROFILE, PolicyName: 'CloudSeedPlan' }]);
    expect(inputs(iamMock.commandCalls(DeleteRoleCommand))).toEqual([{ RoleName: PROFILE }]);

    iamMock.on(DeleteRolePolicyCommand).rejects(iamError('NoSuchEntity'));
    iamMock.on(DeleteRoleCommand).rejects(iamError('NoSuchEntity'));
    await expect(provider().destroy(target())).resolves.toBeUndefined();
  });

  it('stays while another component of the plan still has instances', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reservations())
      .resolves(reservations(instance('i-0000000000000000f', 'cache-0', 'running')));
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock.on(DeleteParametersCommand).resolves({});

    await provider().destroy(target());

    expect(iamMock.calls()).toHaveLength(0);
  });

  it('is retried when IAM still holds it in the profile', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reservations());
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ssmMock.on(DeleteParametersCommand).resolves({});
    nodeRoleRemovable();
    iamMock.on(DeleteRoleCommand).rejects(iamError('DeleteConflict'));

    await expect(provider().destroy(target())).rejects.toMatchObject({ name: 'TransientError', code: 'DeleteConflict' });
  });
});

describe('backups', () => {
  const primary = node('db-0', 'primary', 'i-0000000000000000a');
  // The bucket the customer template created in the account, in the region it was launched in.
  const BUCKET = `cloudseed-backups-123456789012-${BACKUP_REGION}`;
  const KEY = 'plans/p-1/db/bk-1.dump';
  const location: BackupLocation = { bucket: BUCKET, key: KEY };
  const SHA = 'c'.repeat(64);
  const tables: TableFingerprint[] = [
    { table: 'public.orders', rows: 3, checksum: '0123456789abcdef0123456789abcdef' },
    { table: 'public.empty', rows: 0, checksum: '' },
  ];
  const recorded: BackupResult = { sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tables };
  const scriptInput = { bucket: BUCKET, key: KEY, region: BACKUP_REGION, database: 'app', owner: 'app', port: 5432, binDir: '/usr/bin' };
  const allKeys = [KEY, `${KEY}.globals.sql`, `${KEY}.manifest.json`, `${KEY}.validation.json`].map((Key) => ({ Key }));
  const deleteAll = { Bucket: BUCKET, Delete: { Objects: allKeys, Quiet: true } };

  function expectedCommands(label: string, script: string): string[] {
    const encoded = Buffer.from(script).toString('base64');
    return [
      'set -e',
      'umask 077',
      `printf '%s' '${encoded}' | base64 -d > /root/cloudseed-${label}.sh`,
      `chmod 700 /root/cloudseed-${label}.sh`,
      `bash /root/cloudseed-${label}.sh`,
    ];
  }

  /** A GetObject answer whose body is `text`. */
  function body(text: string): GetObjectCommandOutput {
    return { $metadata: {}, Body: { transformToString: () => Promise.resolve(text) } as unknown as GetObjectCommandOutput['Body'] };
  }

  function s3Error(code: string, status: number): S3ServiceException {
    return new S3ServiceException({
      name: code,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status },
      message: `${code} (mocked)`,
    });
  }

  function finishes(stdout: string): void {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-backup' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ $metadata: {}, message: '' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: stdout });
  }

  function fails(stderr: string, status: 'Failed' | 'TimedOut' = 'Failed'): void {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-backup' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: status, ResponseCode: status === 'Failed' ? 1 : -1, StandardOutputContent: '', StandardErrorContent: stderr });
  }

  const backupLine = `CLOUDSEED_RESULT {"sizeBytes":4096,"sha256":"${SHA}","durationMs":812,"serverVersion":"16.4","tableCount":2}\n`;
  const manifest = JSON.stringify({ sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tables });

  describe('backup', () => {
    it('runs the backup script on the primary and returns what it measured, with the fingerprints from the manifest', async () => {
      finishes(backupLine);
      s3Mock.on(GetObjectCommand).resolves(body(manifest));

      const result = await provider().backup(target(), primary, location);

      expect(result).toEqual(recorded);
      const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
      expect(sent).toEqual([
        {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0000000000000000a'],
          Parameters: { commands: expectedCommands('backup', backupScript(scriptInput)), executionTimeout: ['720'] },
          TimeoutSeconds: 720,
          Comment: 'CloudSeed p-1/db backup',
        },
      ]);
      const script = decodedScript(sent[0]!.Parameters!['commands']!);
      expect(script).toContain(`BUCKET='${BUCKET}'\nKEY='${KEY}'\nREGION='eu-west-1'\nDATABASE='app'\n`);
      expect(script).toContain('pg_dump --format=custom --snapshot="$SNAPSHOT_ID"');
      expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual(
        Array.from({ length: 3 }, () => ({ CommandId: 'cmd-backup', InstanceId: 'i-0000000000000000a' })),
      );
      expect(sleep.mock.calls).toEqual([[5000], [5000], [5000]]);
      expect(inputs(s3Mock.commandCalls(GetObjectCommand))).toEqual([{ Bucket: BUCKET, Key: `${KEY}.manifest.json` }]);
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    });

    it('quotes a key the shell would otherwise read as code', async () => {
      const key = "plans/p-1/db/it's $(reboot).dump";
      finishes(backupLine);
      s3Mock.on(GetObjectCommand).resolves(body(manifest));

      await provider().backup(target(), primary, { bucket: BUCKET, key });

      const script = decodedScript(inputs(ssmMock.commandCalls(SendCommandCommand))[0]!.Parameters!['commands']!);
      expect(script).toContain(`KEY='plans/p-1/db/it'\\''s $(reboot).dump'\n`);
      expect(script).toBe(backupScript({ ...scriptInput, key }));
    });

    it('fails with the end of the script standard error and removes whatever reached S3', async () => {
      fails(
        'pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout\ncloudseed backup: pg_dump failed: lock timeout\ncloudseed backup: failed; removed what it had stored\n',
      );
      s3Mock.on(DeleteObjectsCommand).resolves({});

      const error: unknown = await provider()
        .backup(target(), primary, location)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PermanentError);
      expect((error as Error).message).toBe(
        'backup failed on db-0 (i-0000000000000000a) (exit 1): pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout\ncloudseed backup: pg_dump failed: lock timeout\ncloudseed backup: failed; removed what it had stored',
      );
      expect(inputs(s3Mock.commandCalls(DeleteObjectsCommand))).toEqual([deleteAll]);
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('cleans up after SSM killed the script at its timeout, which the script cannot do itself', async () => {
      fails('', 'TimedOut');
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow('backup timed out on db-0 (i-0000000000000000a)');
      expect(inputs(s3Mock.commandCalls(DeleteObjectsCommand))).toEqual([deleteAll]);
    });

    it.each([
      ['no result line', 'uploading...\n', /finished but printed no CLOUDSEED_RESULT line; its output began: uploading\.\.\./],
      ['a result that is not JSON', 'CLOUDSEED_RESULT {"sizeBytes":40\n', /printed a result that is not a JSON object: \{"sizeBytes":40/],
      [
        'a result without a sha256',
        'CLOUDSEED_RESULT {"sizeBytes":1,"durationMs":1,"serverVersion":"16","tableCount":0}\n',
        /has no valid sha256 \(undefined\)/,
      ],
    ])('refuses %s', async (_case, stdout, message) => {
      finishes(stdout);
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow(message);
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    });

    it('refuses a manifest that describes another dump than the script reported', async () => {
      finishes(backupLine);
      s3Mock
        .on(GetObjectCommand)
        .resolves(body(JSON.stringify({ sizeBytes: 4096, sha256: 'd'.repeat(64), durationMs: 1, serverVersion: '16.4', tables })));
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow(/does not describe the dump/);
    });

    it('says so when the manifest is missing', async () => {
      finishes(backupLine);
      s3Mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow(
        `the backup's manifest s3://${BUCKET}/${KEY}.manifest.json does not exist`,
      );
    });

    it('keeps waiting through throttling, and gives up after 13 minutes with a PermanentError', async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-backup' } });
      ssmMock
        .on(GetCommandInvocationCommand)
        .rejectsOnce(
          new SSMServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }),
        )
        .resolves({ Status: 'InProgress' });
      s3Mock.on(DeleteObjectsCommand).resolves({});

      const error: unknown = await provider()
        .backup(target(), primary, location)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PermanentError);
      expect((error as Error).message).toBe('the backup of p-1/db on db-0 (i-0000000000000000a) took longer than 13 minutes (command cmd-backup)');
      expect(sleep.mock.calls.reduce((total, [ms]) => total + ms, 0)).toBe(13 * 60_000);
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    });

    it.each([
      ['a replica', node('db-1', 'replica', 'i-0000000000000000b'), location, /backups run on the primary/],
      ['a node without an instance id', node('db-0', 'primary', 'local-1'), location, /has no EC2 instance id/],
      ['a bucket S3 would refuse', primary, { bucket: 'Bad_Bucket', key: KEY }, /is not an S3 bucket name/],
      ['a key with a line break', primary, { bucket: BUCKET, key: 'plans/x\nrm -rf /' }, /is not a backup object key/],
    ])('refuses %s before sending anything', async (_case, ref, where, message) => {
      await expect(provider().backup(target(), ref, where)).rejects.toThrow(message);
      expect(sentActions()).toEqual([]);
    });
  });

  describe('validateBackup', () => {
    const restoredLine = `CLOUDSEED_RESULT {"status":"restored","sha256":"${SHA}","tableCount":2}\n`;

    it('restores the object into a scratch database on the primary and passes when every table matches', async () => {
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 4096 });
      finishes(restoredLine);
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables: [...tables].reverse() })));

      const result = await provider().validateBackup(target(), primary, location, recorded);

      expect(result).toEqual({ status: 'passed', detail: '2 tables, 3 rows match' });
      expect(inputs(s3Mock.commandCalls(HeadObjectCommand))).toEqual([{ Bucket: BUCKET, Key: KEY }]);
      const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
      expect(sent).toEqual([
        {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0000000000000000a'],
          Parameters: {
            commands: expectedCommands('backup-validation', validateScript({ ...scriptInput, recordedSha256: SHA })),
            executionTimeout: ['720'],
          },
          TimeoutSeconds: 720,
          Comment: 'CloudSeed p-1/db backup-validation',
        },
      ]);
      const script = decodedScript(sent[0]!.Parameters!['commands']!);
      expect(script).toContain(`KEY='${KEY}'\nREGION='eu-west-1'\nOWNER='app'\nRECORDED_SHA256='${SHA}'\n`);
      expect(script).toContain('SCRATCH="cloudseed_validate_$(random_suffix)"');
      expect(inputs(s3Mock.commandCalls(GetObjectCommand))).toEqual([{ Bucket: BUCKET, Key: `${KEY}.validation.json` }]);
    });

    it('fails, naming the table, when a restored table differs from the record', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(restoredLine);
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables: [{ ...tables[0], rows: 2 }, tables[1]] })));

      await expect(provider().validateBackup(target(), primary, location, recorded)).resolves.toEqual({
        status: 'failed',
        detail:
          'table public.orders differs: the restored copy has 2 rows (checksum 0123456789abcdef0123456789abcdef), the backup recorded 3 rows (checksum 0123456789abcdef0123456789abcdef)',
      });
    });

    it('reports what the script found wrong with the backup as a failed validation', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(`CLOUDSEED_RESULT {"status":"failed","detail":"pg_restore failed: pg_restore: error: could not read from input file: end of file"}\n`);

      await expect(provider().validateBackup(target(), primary, location, recorded)).resolves.toEqual({
        status: 'failed',
        detail: 'pg_restore failed: pg_restore: error: could not read from input file: end of file',
      });
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('fails without running anything when the object is gone', async () => {
      s3Mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));

      await expect(provider().validateBackup(target(), primary, location, recorded)).resolves.toEqual({
        status: 'failed',
        detail: `the backup object s3://${BUCKET}/${KEY} does not exist`,
      });
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });

    it('throws when the script could not check the backup at all', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      fails(
        'fatal error: An error occurred (403) when calling the GetObject operation: Forbidden\ncloudseed backup-validation: could not read s3://cloudseed-backups-123/plans/p-1/db/bk-1.dump\n',
      );

      await expect(provider().validateBackup(target(), primary, location, recorded)).rejects.toThrow(
        'backup-validation failed on db-0 (i-0000000000000000a) (exit 1): fatal error: An error occurred (403) when calling the GetObject operation: Forbidden\ncloudseed backup-validation: could not read s3://cloudseed-backups-123/plans/p-1/db/bk-1.dump',
      );
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    });

    it('refuses a recorded sha256 that is not one', async () => {
      await expect(provider().validateBackup(target(), primary, location, { ...recorded, sha256: "x'; reboot" })).rejects.toThrow(/is not a sha256/);
      expect(sentActions()).toEqual([]);
    });
  });

  describe('restoreBackup', () => {
    it('runs the restore script on the primary with the recorded sha256', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(`CLOUDSEED_RESULT {"status":"restored","sha256":"${SHA}"}\n`);

      await provider().restoreBackup(target(), primary, location, recorded);

      const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
      expect(sent).toEqual([
        {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0000000000000000a'],
          Parameters: {
            commands: expectedCommands('restore', restoreScript({ ...scriptInput, recordedSha256: SHA, swapDeadlineSeconds: 660 })),
            executionTimeout: ['720'],
          },
          TimeoutSeconds: 720,
          Comment: 'CloudSeed p-1/db restore',
        },
      ]);
      expect(decodedScript(sent[0]!.Parameters!['commands']!)).toContain(
        `DATABASE='app'\nOWNER='app'\nRECORDED_SHA256='${SHA}'\nSWAP_DEADLINE_SECONDS='660'\n`,
      );
    });

    it('fails with the script reason, leaving the database as it was', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      fails(`cloudseed restore: the stored object does not match its checksum (sha256 ${'e'.repeat(64)}, recorded ${SHA}); nothing was restored\n`);

      await expect(provider().restoreBackup(target(), primary, location, recorded)).rejects.toThrow(
        `restore failed on db-0 (i-0000000000000000a) (exit 1): cloudseed restore: the stored object does not match its checksum (sha256 ${'e'.repeat(64)}, recorded ${SHA}); nothing was restored`,
      );
    });

    it('refuses a success that restored another object', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(`CLOUDSEED_RESULT {"status":"restored","sha256":"${'e'.repeat(64)}"}\n`);

      await expect(provider().restoreBackup(target(), primary, location, recorded)).rejects.toThrow(/not the recorded/);
    });

    it('refuses to start when the object is gone', async () => {
      s3Mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));

      await expect(provider().restoreBackup(target(), primary, location, recorded)).rejects.toThrow(
        `the backup object s3://${BUCKET}/${KEY} does not exist; nothing was restored`,
      );
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });
  });

  describe('deleteBackup', () => {
    it('deletes the dump, the globals, the manifest and the validation report in one request', async () => {
      s3Mock.on(DeleteObjectsCommand).resolves({ Deleted: allKeys });

      await provider().deleteBackup(target(), location);

      expect(inputs(s3Mock.commandCalls(DeleteObjectsCommand))).toEqual([deleteAll]);
      expect(sentActions()).toEqual(['s3:DeleteObject']);
    });

    it.each([
      ['AccessDenied', PermanentError],
      ['SlowDown', TransientError],
    ] as const)('maps a key S3 could not delete (%s) to a %o', async (code, type) => {
      s3Mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: `${KEY}.globals.sql`, Code: code, Message: 'mocked' }] });

      const error: unknown = await provider()
        .deleteBackup(target(), location)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toBe(`could not delete s3://${BUCKET}/${KEY}.globals.sql: ${code}: mocked`);
    });

    it('builds the S3 client in the region the bucket’s name gives (not the plan’s), with the assumed role', async () => {
      s3Mock.on(DeleteObjectsCommand).resolves({});
      const aws = new AwsProvider({ sts: new STSClient({ region: 'us-east-1' }), clock: { now: () => now, sleep } });

      await aws.deleteBackup(target(), location);

      const client = s3Mock.call(0).thisValue as S3Client;
      expect(ACCOUNT.region).not.toBe(BACKUP_REGION);
      expect(await client.config.region()).toBe(BACKUP_REGION);
      expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', sessionToken: 'token' });
    });

    it('looks for a bucket whose name gives no region in the plan’s region', async () => {
      s3Mock.on(DeleteObjectsCommand).resolves({});
      const aws = new AwsProvider({ sts: new STSClient({ region: 'us-east-1' }), clock: { now: () => now, sleep } });

      await aws.deleteBackup(target(), { bucket: 'my-own-backups', key: KEY });

      expect(await (s3Mock.call(0).thisValue as S3Client).config.region()).toBe(ACCOUNT.region);
    });
  });
});

// Kept last: it reads what every test above sent.
describe('AWS_PROVIDER_ACTIONS', () => {
  it('lists every API action the provider sent in these tests', () => {
    expect(everyActionSent.size).toBeGreaterThan(0);
    for (const action of everyActionSent) expect(AWS_PROVIDER_ACTIONS).toContain(action);
  });

  it('lists no API action the provider never sends, beyond the ones authorised as part of another call', () => {
    // s3:ListBucket is what makes HeadObject answer 404 rather than 403 for a backup that is gone.
    const impliedByOtherCalls = ['ec2:CreateTags', 'iam:PassRole', 'ssm:GetParameters', 'ssm:AddTagsToResource', 's3:ListBucket'];

    expect([...AWS_PROVIDER_ACTIONS].filter((action) => !impliedByOtherCalls.includes(action)).sort()).toEqual([...everyActionSent].sort());
  });

  it('leaves the platform-side AssumeRole out of what the customer role needs', () => {
    expect(CUSTOMER_ROLE_ACTIONS).not.toContain('sts:AssumeRole');
    expect(CUSTOMER_ROLE_ACTIONS).toHaveLength(AWS_PROVIDER_ACTIONS.length - 1);
  });
});
