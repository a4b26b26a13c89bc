import { ApplicationAutoScalingClient, ApplicationAutoScalingServiceException } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchLogsClient, CloudWatchLogsServiceException } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient, CodeBuildServiceException } from '@aws-sdk/client-codebuild';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { ECSClient, ECSServiceException } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { appComponents } from '@cloudseed/shared/cs-json/components';
import { validatePlan } from '@cloudseed/shared';
import type { AppComponent } from '@cloudseed/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AWS_APP_PROVIDER_ACTIONS } from '../../providers/aws/actions.ts';
import type { AwsAppProviderAction } from '../../providers/aws/actions.ts';
import { AwsAppProvider } from '../../providers/aws/apps/index.ts';
import type { AwsAppProviderOptions } from '../../providers/aws/apps/index.ts';
import type { AppTarget, DatabaseLink } from '../../providers/app-provider.ts';
import { ACCOUNT, ec2Mock, elbMock, mockAws, sleep, ssmMock, stsMock, time } from '../support/aws.ts';

// What the tests of AwsAppProvider share: the database side's mocked clients (support/aws.ts: EC2,
// Elastic Load Balancing, SSM, STS) and the apps' own (CodeBuild, ECR, ECS, CloudWatch Logs,
// Application Auto Scaling), every command failing unless a test sets it up; a plan with a database
// `db` and an app `web` linked to it; a provider with a fake clock; and what was sent, as IAM actions.

export const codebuildMock = mockClient(CodeBuildClient);
export const ecrMock = mockClient(ECRClient);
export const ecsMock = mockClient(ECSClient);
export const logsMock = mockClient(CloudWatchLogsClient);
export const scalingMock = mockClient(ApplicationAutoScalingClient);

export { ec2Mock, elbMock, sleep, ssmMock, time };

export const PLAN_ID = 'p-1';
export const BASE = 'cloudseed-p-1-web';
export const REPOSITORY = 'cloudseed/p-1/web';
export const REPOSITORY_URI = `123456789012.dkr.ecr.eu-central-1.amazonaws.com/${REPOSITORY}`;
export const LOG_GROUP = '/cloudseed/apps/p-1/web';
export const LB_NAME = 'cs-d42cdc7fa1d356d54fd63fe0';
export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const IMAGE_TAG = `${COMMIT}-1a2b3c4d5e6f`;
export const BUILD_ID = `${BASE}:4f0c2d6e-1111-2222-3333-444455556666`;
export const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/cloudseed/apps/CloudSeedAppTaskExecution';
export const BUILD_ROLE = 'arn:aws:iam::123456789012:role/cloudseed/apps/CloudSeedAppBuild';
export const APP_GROUP = 'sg-0aaaaaaaaaaaaaaa1';
export const LB_GROUP = 'sg-0bbbbbbbbbbbbbbb2';
export const DB_GROUP = 'sg-0ccccccccccccccc3';
export const TASK_DEFINITION = `arn:aws:ecs:eu-central-1:123456789012:task-definition/${BASE}:7`;
export const OLD_TASK_DEFINITION = `arn:aws:ecs:eu-central-1:123456789012:task-definition/${BASE}:6`;
export const RELEASE_DEFINITION = `arn:aws:ecs:eu-central-1:123456789012:task-definition/${BASE}_release:3`;
export const BALANCER_ARN = `arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/${LB_NAME}/50dc6c495c0c9188`;
export const TARGET_GROUP_ARN = `arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/${LB_NAME}/73e2d6bc24d8a067`;
export const BALANCER_DNS = `${LB_NAME}-1234567890.eu-central-1.elb.amazonaws.com`;
export const SUBNETS = ['subnet-a', 'subnet-b', 'subnet-c'];

export const TAGS = [
  { Key: 'cloudseed:managed', Value: 'true' },
  { Key: 'cloudseed:plan-id', Value: PLAN_ID },
  { Key: 'cloudseed:component', Value: 'web' },
];
export const LOWER_TAGS = TAGS.map((tag) => ({ key: tag.Key, value: tag.Value }));
export const TAG_MAP = { 'cloudseed:managed': 'true', 'cloudseed:plan-id': PLAN_ID, 'cloudseed:component': 'web' };

export const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBcloudseedtestca\n-----END CERTIFICATE-----\n';
export const LINK: DatabaseLink = {
  componentId: 'db',
  hosts: [{ host: '172.31.5.10', port: 5432 }],
  database: 'app',
  username: 'app_user',
  password: 'p@ss/word:1',
  caCertificatePem: CA_PEM,
};

/** A plan with the database `db` and the app `web` linked to it; `app` overrides the app's fields. */
export function appComponent(app: Record<string, unknown> = {}): AppComponent {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'aws', region: 'eu-central-1' },
    components: [
      { id: 'db', type: 'postgres' },
      { id: 'web', type: 'app', source: { repoUrl: 'https://github.com/acme/shop.git' }, database: { component: 'db' }, ...app },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const component = appComponents(result.plan)[0];
  if (!component) throw new Error('no app');
  return component;
}

export function appTarget(component: AppComponent = appComponent(), overrides: Partial<AppTarget> = {}): AppTarget {
  return {
    ownerId: 'user-1',
    planId: PLAN_ID,
    planName: 'orders',
    deploymentId: 'dep-1',
    target: { cloud: 'aws', region: 'eu-central-1' },
    component,
    account: ACCOUNT,
    ...overrides,
  };
}

export function appProvider(options: Partial<AwsAppProviderOptions> = {}): AwsAppProvider {
  return new AwsAppProvider({
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (account) => ({
      ec2: new EC2Client({ region: account.region }),
      elb: new ElasticLoadBalancingV2Client({ region: account.region }),
      ssm: new SSMClient({ region: account.region }),
      iam: new IAMClient({ region: account.region }),
      cloudwatch: new CloudWatchClient({ region: account.region }),
      s3: (region) => new S3Client({ region }),
    }),
    appClientsFor: (account) => ({
      codebuild: new CodeBuildClient({ region: account.region }),
      ecr: new ECRClient({ region: account.region }),
      ecs: new ECSClient({ region: account.region }),
      logs: new CloudWatchLogsClient({ region: account.region }),
      autoscaling: new ApplicationAutoScalingClient({ region: account.region }),
    }),
    clock: { now: () => time.now, sleep },
    ...options,
  });
}

const fault = { $fault: 'client' as const, $metadata: { httpStatusCode: 400 } };
export const codebuildError = (name: string) => new CodeBuildServiceException({ name, ...fault, message: `${name} (mocked)` });
export const ecrError = (name: string) => new ECRServiceException({ name, ...fault, message: `${name} (mocked)` });
export const ecsError = (name: string) => new ECSServiceException({ name, ...fault, message: `${name} (mocked)` });
export const logsError = (name: string) => new CloudWatchLogsServiceException({ name, ...fault, message: `${name} (mocked)` });
export const scalingError = (name: string) => new ApplicationAutoScalingServiceException({ name, ...fault, message: `${name} (mocked)` });
export const ssmError = (name: string) => new SSMServiceException({ name, ...fault, message: `${name} (mocked)` });

const MOCKS = [
  { mock: ec2Mock, service: 'ec2' },
  { mock: elbMock, service: 'elasticloadbalancing' },
  { mock: ssmMock, service: 'ssm' },
  { mock: stsMock, service: 'sts' },
  { mock: codebuildMock, service: 'codebuild' },
  { mock: ecrMock, service: 'ecr' },
  { mock: ecsMock, service: 'ecs' },
  { mock: logsMock, service: 'logs' },
  { mock: scalingMock, service: 'application-autoscaling' },
] as const;

/** The commands sent to every mocked client, in the order they were sent, as IAM actions. */
export function appSentActions(): string[] {
  return MOCKS.flatMap(({ mock, service }) => mock.calls().map((call) => ({ call, service })))
    .sort((a, b) => (a.call as unknown as { callId: number }).callId - (b.call as unknown as { callId: number }).callId)
    .map(({ call, service }) => `${service}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`);
}

const sent = new Set<string>();

/** The database side's mocks (support/aws.ts) and the apps' own, reset before each test; every command fails unless set up. */
export function mockAppAws(): void {
  mockAws();
  beforeEach(() => {
    codebuildMock.reset();
    ecrMock.reset();
    ecsMock.reset();
    logsMock.reset();
    scalingMock.reset();
    codebuildMock.onAnyCommand().rejects(new Error('unexpected CodeBuild command'));
    ecrMock.onAnyCommand().rejects(new Error('unexpected ECR command'));
    ecsMock.onAnyCommand().rejects(new Error('unexpected ECS command'));
    logsMock.onAnyCommand().rejects(new Error('unexpected CloudWatch Logs command'));
    scalingMock.onAnyCommand().rejects(new Error('unexpected Application Auto Scaling command'));
  });
  afterEach(() => {
    for (const action of appSentActions()) sent.add(action);
  });
}

/** The IAM actions each apps test file proves AwsAppProvider sends; with APP_ACTIONS_IMPLIED they are AWS_APP_PROVIDER_ACTIONS. */
export const APP_ACTIONS_PROVEN = {
  build: [
    'sts:AssumeRole',
    'logs:CreateLogGroup',
    'logs:PutRetentionPolicy',
    'logs:GetLogEvents',
    'ecr:CreateRepository',
    'ecr:DescribeRepositories',
    'ecr:PutLifecyclePolicy',
    'codebuild:CreateProject',
    'codebuild:UpdateProject',
    'codebuild:StartBuild',
    'codebuild:BatchGetBuilds',
    'codebuild:ListBuildsForProject',
    'ec2:DescribeVpcs',
    'ec2:DescribeSubnets',
  ],
  rollout: [
    'ec2:DescribeSecurityGroups',
    'ec2:CreateSecurityGroup',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupIngress',
    'ssm:PutParameter',
    'ecs:CreateCluster',
    'ecs:RegisterTaskDefinition',
    'ecs:DescribeTaskDefinition',
    'ecs:ListTaskDefinitions',
    'ecs:CreateService',
    'ecs:UpdateService',
    'ecs:DescribeServices',
    'ecs:RunTask',
    'ecs:DescribeTasks',
    'ecs:ListTasks',
    'elasticloadbalancing:DescribeLoadBalancers',
    'elasticloadbalancing:DescribeTargetGroups',
    'elasticloadbalancing:CreateLoadBalancer',
    'elasticloadbalancing:ModifyLoadBalancerAttributes',
    'elasticloadbalancing:CreateTargetGroup',
    'elasticloadbalancing:ModifyTargetGroup',
    'elasticloadbalancing:ModifyTargetGroupAttributes',
    'elasticloadbalancing:CreateListener',
    'application-autoscaling:RegisterScalableTarget',
    'application-autoscaling:PutScalingPolicy',
    'logs:DescribeLogStreams',
  ],
  teardown: [
    'application-autoscaling:DescribeScalableTargets',
    'application-autoscaling:DeregisterScalableTarget',
    'ecs:DeleteService',
    'ecs:StopTask',
    'ecs:DeregisterTaskDefinition',
    'ecs:DescribeClusters',
    'ecs:DeleteCluster',
    'elasticloadbalancing:DeleteLoadBalancer',
    'elasticloadbalancing:DeleteTargetGroup',
    'ec2:DeleteSecurityGroup',
    'ecr:DeleteRepository',
    'codebuild:StopBuild',
    'codebuild:DeleteProject',
    'ssm:DeleteParameters',
    'logs:DeleteLogGroup',
  ],
} as const satisfies Record<string, readonly AwsAppProviderAction[]>;

/** The file's last test: what its tests sent is in AWS_APP_PROVIDER_ACTIONS, and includes every action the file proves. */
export function itSentOnlyAppActions(proves: readonly AwsAppProviderAction[]): void {
  it('sent only actions AWS_APP_PROVIDER_ACTIONS lists, among them every one this file proves', () => {
    expect(sent.size).toBeGreaterThan(0);
    for (const action of sent) expect(AWS_APP_PROVIDER_ACTIONS, action).toContain(action);
    for (const action of proves) expect([...sent], action).toContain(action);
  });
}

/** The inputs of the given calls, typed by their command. */
export function inputs<C extends { readonly input: object }>(calls: ReadonlyArray<{ readonly args: readonly [C] }>): Array<C['input']> {
  return calls.map((call) => call.args[0].input);
}

/** The account's default VPC with a default subnet in each of three zones. */
export function defaultVpc(): void {
  ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
  ec2Mock.on(DescribeSubnetsCommand).resolves({
    Subnets: SUBNETS.map((SubnetId, index) => ({ SubnetId, VpcId: 'vpc-1', AvailabilityZone: `eu-central-1${'abc'[index]!}` })),
  });
}
