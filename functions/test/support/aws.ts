import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import type { Instance, Volume } from '@aws-sdk/client-ec2';
import {
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
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { renderAwsComponent } from '@cloudseed/shared/targets/aws/aws-json';
import { validatePlan } from '@cloudseed/shared';
import type { AwsComponent, PostgresComponent } from '@cloudseed/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { AWS_PROVIDER_ACTIONS, AwsProvider } from '../../providers/aws/index.ts';
import type { AwsProviderAction, AwsProviderOptions } from '../../providers/aws/index.ts';
import type { AccountConnection, DeployTarget, NodeRef } from '../../providers/provider.ts';

// What every test of the AWS provider shares: the mocked SDK clients (anything a test did not set
// up fails loudly), the plan it deploys, a provider with a fake clock, and what was sent, as IAM
// actions. Each test file proves a part of AWS_PROVIDER_ACTIONS is sent (AWS_ACTIONS_PROVEN);
// aws/actions.test.ts checks that the parts add up to the whole list.

export const ec2Mock = mockClient(EC2Client);
export const ssmMock = mockClient(SSMClient);
export const stsMock = mockClient(STSClient);
export const s3Mock = mockClient(S3Client);
export const iamMock = mockClient(IAMClient);
export const elbMock = mockClient(ElasticLoadBalancingV2Client);
export const cloudwatchMock = mockClient(CloudWatchClient);

export const ACCOUNT: AccountConnection = {
  roleArn: 'arn:aws:iam::123456789012:role/CloudSeedDeploy',
  externalId: 'cs-ext-4f2a',
  region: 'eu-central-1',
};
export const PLAN_ID = 'p-1';
const PLAN_NAME = 'orders';
const DEPLOYMENT_ID = 'dep-1';
/** The plan's own node role and instance profile. */
export const PROFILE = 'CloudSeedNode-p-1';
export const GROUP_ID = 'sg-0123456789abcdef0';
export const T0 = Date.parse('2030-01-01T00:00:00Z');
export const PASSWORD = 'Sup3rSecretPasswordValue12345678';
export const BACKUP_REGION = 'eu-west-1';

export const BASE_TAGS = [
  { Key: 'cloudseed:managed', Value: 'true' },
  { Key: 'cloudseed:plan-id', Value: PLAN_ID },
  { Key: 'cloudseed:component', Value: 'db' },
];
export const COMPONENT_FILTERS = [
  { Name: 'tag:cloudseed:plan-id', Values: [PLAN_ID] },
  { Name: 'tag:cloudseed:component', Values: ['db'] },
];

/** The IAM actions each test file proves the provider sends, by file; together they are AWS_PROVIDER_ACTIONS but the implied ones. */
export const AWS_ACTIONS_PROVEN = {
  account: ['sts:AssumeRole', 'ec2:DescribeVpcs', 'ec2:DescribeSubnets'],
  secrets: ['ssm:PutParameter', 'ssm:GetParameter'],
  network: ['ec2:DescribeSecurityGroups', 'ec2:CreateSecurityGroup', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
  instances: [
    'ec2:DescribeInstances',
    'ec2:RunInstances',
    'ec2:StopInstances',
    'ec2:StartInstances',
    'ec2:ModifyInstanceAttribute',
    'ec2:DescribeVolumes',
    'ec2:ModifyVolume',
    'ec2:DescribeVolumesModifications',
    'ec2:DescribeInstanceStatus',
    'iam:CreateRole',
    'iam:PutRolePolicy',
    'iam:CreateInstanceProfile',
    'iam:GetInstanceProfile',
    'iam:AddRoleToInstanceProfile',
  ],
  commands: ['ssm:DescribeInstanceInformation', 'ssm:SendCommand', 'ssm:GetCommandInvocation'],
  provider: [
    'ec2:TerminateInstances',
    'ec2:DeleteSecurityGroup',
    'ssm:DeleteParameters',
    'iam:DeleteRolePolicy',
    'iam:DeleteRole',
    'iam:RemoveRoleFromInstanceProfile',
    'iam:DeleteInstanceProfile',
  ],
  backups: ['s3:GetObject', 's3:DeleteObject'],
  endpoint: [
    'elasticloadbalancing:DescribeLoadBalancers',
    'elasticloadbalancing:DescribeTargetGroups',
    'elasticloadbalancing:DescribeTargetHealth',
    'elasticloadbalancing:CreateLoadBalancer',
    'elasticloadbalancing:CreateTargetGroup',
    'elasticloadbalancing:ModifyTargetGroupAttributes',
    'elasticloadbalancing:CreateListener',
    'elasticloadbalancing:RegisterTargets',
    'elasticloadbalancing:DeregisterTargets',
    'elasticloadbalancing:DeleteLoadBalancer',
    'elasticloadbalancing:DeleteTargetGroup',
  ],
  metrics: ['cloudwatch:GetMetricData'],
} as const satisfies Record<string, readonly AwsProviderAction[]>;

/** A one-component plan for AWS (the component `db`), as cs-json. */
export function plan(db: Record<string, unknown> = {}, hardware: Record<string, unknown> = {}): PostgresComponent {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: PLAN_NAME,
    target: { cloud: 'aws', region: 'eu-central-1' },
    components: [{ id: 'db', type: 'postgres', network: { allowedCidrs: ['203.0.113.0/24', '2001:db8::/48'] }, db, hardware }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const component = postgresComponents(result.plan)[0];
  if (!component) throw new Error('no component');
  return component;
}

/** The component as aws-json, as the provider renders it. */
export function rendered(component: PostgresComponent): AwsComponent {
  return renderAwsComponent(component, { planId: PLAN_ID, planName: PLAN_NAME, region: 'eu-central-1' });
}

export const single = plan();
/** A primary streaming to one replica: too few nodes for an etcd majority, so no Patroni. */
export const cluster = plan({ topology: { mode: 'cluster', replicas: 1 } });
/** Three nodes: Patroni and etcd, automatic failover. */
export const haCluster = plan({ topology: { mode: 'cluster', replicas: 2 } });

export function target(component: PostgresComponent = single, overrides: Partial<DeployTarget> = {}): DeployTarget {
  return {
    ownerId: 'user-1',
    planId: PLAN_ID,
    planName: PLAN_NAME,
    deploymentId: DEPLOYMENT_ID,
    target: { cloud: 'aws', region: 'eu-central-1' },
    component,
    account: ACCOUNT,
    ...overrides,
  };
}

export const sleep = vi.fn((_ms: number) => Promise.resolve());
/** The fake clock's time; a test moves it by assigning `time.now`. */
export const time = { now: T0 };

export function provider(options: Partial<AwsProviderOptions> = {}): AwsProvider {
  return new AwsProvider({
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (account) => ({
      ec2: new EC2Client({ region: account.region }),
      elb: new ElasticLoadBalancingV2Client({ region: account.region }),
      ssm: new SSMClient({ region: account.region }),
      iam: new IAMClient({ region: account.region }),
      cloudwatch: new CloudWatchClient({ region: account.region }),
      s3: (region) => new S3Client({ region }),
    }),
    clock: { now: () => time.now, sleep },
    ...options,
  });
}

export function ec2Error(code: string, message = `${code} (mocked)`): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

export function elbError(code: string, message = `${code} (mocked)`): ElasticLoadBalancingV2ServiceException {
  return new ElasticLoadBalancingV2ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

export function iamError(code: string, message = `${code} (mocked)`): IAMServiceException {
  return new IAMServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

/** The plan's node role and instance profile exist already (a launch brings the role's policy to the plan and moves on). */
export function nodeRoleExists(): void {
  iamMock.on(CreateRoleCommand).rejects(iamError('EntityAlreadyExists'));
  iamMock.on(PutRolePolicyCommand).resolves({});
  iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: PROFILE, Roles: [{ RoleName: PROFILE }] } as never });
}

/** Every IAM call removing the plan's node role succeeds. */
export function nodeRoleRemovable(): void {
  iamMock.on(RemoveRoleFromInstanceProfileCommand).resolves({});
  iamMock.on(DeleteInstanceProfileCommand).resolves({});
  iamMock.on(DeleteRolePolicyCommand).resolves({});
  iamMock.on(DeleteRoleCommand).resolves({});
}

export function node(name: string, role: 'primary' | 'replica', nodeId: string): NodeRef {
  return { name, role, nodeId, port: 5432 };
}

/** An instance as EC2 describes one the default plan launched (t4g.medium, arm64, root volume on /dev/xvda). */
export function instance(id: string, nodeName: string, state: string, extra: Partial<Instance> = {}): Instance {
  return {
    InstanceId: id,
    InstanceType: 't4g.medium',
    Architecture: 'arm64',
    RootDeviceName: '/dev/xvda',
    SubnetId: 'subnet-1',
    VpcId: 'vpc-1',
    State: { Name: state as 'running' },
    Tags: [...BASE_TAGS, { Key: 'cloudseed:node', Value: nodeName }],
    ...extra,
  };
}

/** The root volume of an instance: `vol-…` with the instance id's digits. */
export function rootVolume(instanceId: string, size: number): Volume {
  return {
    VolumeId: volumeId(instanceId),
    Size: size,
    VolumeType: 'gp3',
    Attachments: [{ InstanceId: instanceId, Device: '/dev/xvda', State: 'attached' }],
  };
}

export function volumeId(instanceId: string): string {
  return `vol-${instanceId.slice(2)}`;
}

/** A Patroni cluster's load balancer, its group and target group, as AWS names them. */
export const ENDPOINT_GROUP_ID = 'sg-0fedcba9876543210';
export const ENDPOINT_NAME = 'cs-5d44d2a6628747b5bac226cd';
export const BALANCER_ARN = `arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/net/${ENDPOINT_NAME}/50dc6c495c0c9188`;
export const TARGET_GROUP_ARN = `arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/${ENDPOINT_NAME}/73e2d6bc24d8a067`;
export const BALANCER_DNS = `${ENDPOINT_NAME}-50dc6c495c0c9188.elb.eu-central-1.amazonaws.com`;

/**
 * The load balancer of a Patroni cluster can be made or exists (ELB's create calls return what
 * exists when the settings are equal), with `registered` instances in its target group.
 */
export function balancerReady(registered: readonly string[] = []): void {
  elbMock.on(CreateLoadBalancerCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: BALANCER_ARN, DNSName: BALANCER_DNS }] });
  elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: BALANCER_ARN, DNSName: BALANCER_DNS }] });
  elbMock.on(CreateTargetGroupCommand).resolves({ TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN }] });
  elbMock.on(ModifyTargetGroupAttributesCommand).resolves({});
  elbMock.on(CreateListenerCommand).resolves({});
  elbMock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: registered.map((Id) => ({ Target: { Id, Port: 5432 } })) });
  elbMock.on(RegisterTargetsCommand).resolves({});
  elbMock.on(DeregisterTargetsCommand).resolves({});
}

/** A Patroni cluster's three instances as launched (db-0 was the deploy's primary), and EC2 describing them running at 172.31.5.10-12. */
export const HA_IDS = ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'] as const;
export const haNodes = (): NodeRef[] => HA_IDS.map((id, index) => node(`db-${index}`, index === 0 ? 'primary' : 'replica', id));
export const haRunning = () =>
  reservations(...HA_IDS.map((id, index) => instance(id, `db-${index}`, 'running', { PrivateIpAddress: `172.31.5.${10 + index}` })));

export function reservations(...instances: Instance[]) {
  return { Reservations: instances.length > 0 ? [{ Instances: instances }] : [] };
}

/** The inputs of the given calls, typed by their command: `inputs(ec2Mock.commandCalls(RunInstancesCommand))`. */
export function inputs<C extends { readonly input: object }>(calls: ReadonlyArray<{ readonly args: readonly [C] }>): Array<C['input']> {
  return calls.map((call) => call.args[0].input);
}

/** S3 operations IAM authorises under another action's name. */
const S3_ACTIONS: Record<string, string> = { DeleteObjects: 'DeleteObject', HeadObject: 'GetObject' };

/** The commands sent to every mocked client, in the order they were sent, as IAM actions. */
export function sentActions(): string[] {
  const calls = [
    ...ec2Mock.calls().map((call) => ({ call, service: 'ec2' })),
    ...ssmMock.calls().map((call) => ({ call, service: 'ssm' })),
    ...stsMock.calls().map((call) => ({ call, service: 'sts' })),
    ...s3Mock.calls().map((call) => ({ call, service: 's3' })),
    ...iamMock.calls().map((call) => ({ call, service: 'iam' })),
    ...elbMock.calls().map((call) => ({ call, service: 'elasticloadbalancing' })),
    ...cloudwatchMock.calls().map((call) => ({ call, service: 'cloudwatch' })),
  ];
  return calls
    .sort((a, b) => (a.call as unknown as { callId: number }).callId - (b.call as unknown as { callId: number }).callId)
    .map(({ call, service }) => {
      const operation = (call.args[0] as object).constructor.name.replace(/Command$/, '');
      return `${service}:${service === 's3' ? (S3_ACTIONS[operation] ?? operation) : operation}`;
    });
}

export function decodedScript(commands: readonly string[]): string {
  const write = commands.find((command) => command.includes('base64 -d'));
  const encoded = /printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d/.exec(write ?? '')?.[1];
  if (!encoded) throw new Error(`no encoded script in ${JSON.stringify(commands)}`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

const sent = new Set<string>();

/** Resets the mocks before each test (STS hands out credentials for 15 minutes; every other command fails unless the test sets it up). */
export function mockAws(): void {
  beforeEach(() => {
    time.now = T0;
    sleep.mockClear();
    ec2Mock.reset();
    ssmMock.reset();
    stsMock.reset();
    s3Mock.reset();
    iamMock.reset();
    elbMock.reset();
    cloudwatchMock.reset();
    cloudwatchMock.onAnyCommand().rejects(new Error('unexpected CloudWatch command'));
    ec2Mock.onAnyCommand().rejects(new Error('unexpected EC2 command'));
    ssmMock.onAnyCommand().rejects(new Error('unexpected SSM command'));
    stsMock.onAnyCommand().rejects(new Error('unexpected STS command'));
    s3Mock.onAnyCommand().rejects(new Error('unexpected S3 command'));
    iamMock.onAnyCommand().rejects(new Error('unexpected IAM command'));
    elbMock.onAnyCommand().rejects(new Error('unexpected Elastic Load Balancing command'));
    stsMock.on(AssumeRoleCommand).callsFake(() => ({
      Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(time.now + 900_000) },
    }));
  });
  afterEach(() => {
    for (const action of sentActions()) sent.add(action);
  });
}

/** The file's last test: what its tests sent is allowed to the customer role, and includes every action the file proves. */
export function itSentOnlyListedActions(proves: readonly AwsProviderAction[]): void {
  it('sent only actions AWS_PROVIDER_ACTIONS lists, among them every one this file proves', () => {
    expect(sent.size).toBeGreaterThan(0);
    for (const action of sent) expect(AWS_PROVIDER_ACTIONS).toContain(action);
    for (const action of proves) expect([...sent]).toContain(action);
  });
}
