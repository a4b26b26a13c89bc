import { PutScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { CreateLogGroupCommand, DescribeLogStreamsCommand, GetLogEventsCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { SecurityGroup } from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { Deployment, Service } from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { NotFound } from '@cloudseed/shared/errors';
import { describe, expect, it } from 'vitest';
import type { AppRelease } from '../../providers/app-provider.ts';
import { plannedBuild } from '../../providers/aws/apps/build.ts';
import type { RolloutState } from '../../providers/aws/apps/service.ts';
import { elbError } from '../support/aws.ts';
import {
  APP_ACTIONS_PROVEN,
  APP_GROUP,
  appComponent,
  appProvider,
  appTarget,
  BALANCER_ARN,
  BALANCER_DNS,
  BASE,
  CA_PEM,
  COMMIT,
  DB_GROUP,
  defaultVpc,
  ec2Mock,
  ecrMock,
  ecsMock,
  elbMock,
  EXECUTION_ROLE,
  IMAGE_TAG,
  inputs,
  itSentOnlyAppActions,
  LB_GROUP,
  LB_NAME,
  LINK,
  LOG_GROUP,
  logsMock,
  LOWER_TAGS,
  mockAppAws,
  OLD_TASK_DEFINITION,
  RELEASE_DEFINITION,
  REPOSITORY_URI,
  scalingMock,
  ssmError,
  ssmMock,
  SUBNETS,
  TAG_MAP,
  TAGS,
  TARGET_GROUP_ARN,
  TASK_DEFINITION,
  time,
} from './apps-fixtures.ts';

// A rollout on AWS: the release command as a one-off task, then the service pointed at the new
// revision behind the app's load balancer; the circuit breaker's rollback is a failure.

mockAppAws();

const linked = appComponent({
  env: { NODE_ENV: 'production' },
  secrets: ['STRIPE_KEY'],
  instances: { count: 2, cpu: 512, memoryMiB: 1024 },
  healthCheck: { path: '/healthz', timeoutSeconds: 3 },
  build: { runtime: 'node' },
  run: { startCommand: 'node server.js' },
});
const withRelease = appComponent({
  build: { runtime: 'node' },
  run: { startCommand: 'node server.js', releaseCommand: 'npm run migrate' },
});
const release: AppRelease = { version: COMMIT, buildId: IMAGE_TAG, plan: plannedBuild(linked)!, builtAt: '2030-01-01T00:05:00.000Z' };
const IMAGE = `${REPOSITORY_URI}:${IMAGE_TAG}`;
const WIRING = {
  network: { vpcId: 'vpc-1', subnetIds: SUBNETS, assignPublicIp: true },
  appGroupId: APP_GROUP,
  targetGroupArn: TARGET_GROUP_ARN,
};
const AWSVPC = { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [APP_GROUP], assignPublicIp: 'ENABLED' } };
const CIRCUIT_BREAKER = { deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 200, minimumHealthyPercent: 100 };

const groupFilters = (name: string, component = 'web') => ({
  Filters: [
    { Name: 'group-name', Values: [name] },
    { Name: 'tag:cloudseed:plan-id', Values: ['p-1'] },
    { Name: 'tag:cloudseed:component', Values: [component] },
  ],
});
const referencing = {
  Filters: [
    { Name: 'ip-permission.group-id', Values: [APP_GROUP] },
    { Name: 'tag:cloudseed:plan-id', Values: ['p-1'] },
  ],
};
const lbRule = {
  IpProtocol: 'tcp',
  FromPort: 80,
  ToPort: 80,
  IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTP from anywhere to the app load balancer' }],
  Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'HTTP from anywhere to the app load balancer' }],
};
const appRule = (port: number) => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  UserIdGroupPairs: [{ GroupId: LB_GROUP, Description: 'The app port from its load balancer only' }],
});
const dbRule = {
  IpProtocol: 'tcp',
  FromPort: 5432,
  ToPort: 5432,
  UserIdGroupPairs: [{ GroupId: APP_GROUP, Description: 'PostgreSQL from app web' }],
};

/** Security groups: none but the database's (which admits nobody yet), unless `groups` says otherwise. */
function groupsExist(groups: { app?: SecurityGroup; lb?: SecurityGroup; db?: SecurityGroup } = {}): void {
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ec2Mock.on(DescribeSecurityGroupsCommand, groupFilters(`${BASE}_lb`)).resolves({ SecurityGroups: groups.lb ? [groups.lb] : [] });
  ec2Mock.on(DescribeSecurityGroupsCommand, groupFilters(`${BASE}_app`)).resolves({ SecurityGroups: groups.app ? [groups.app] : [] });
  ec2Mock
    .on(DescribeSecurityGroupsCommand, groupFilters('cloudseed-p-1-db', 'db'))
    .resolves({ SecurityGroups: [groups.db ?? { GroupId: DB_GROUP, GroupName: 'cloudseed-p-1-db', VpcId: 'vpc-1', IpPermissions: [] }] });
  ec2Mock.on(CreateSecurityGroupCommand, { GroupName: `${BASE}_lb` }).resolves({ GroupId: LB_GROUP });
  ec2Mock.on(CreateSecurityGroupCommand, { GroupName: `${BASE}_app` }).resolves({ GroupId: APP_GROUP });
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
}

/** Everything a first rollout makes can be made; no service exists yet. */
function rolloutReady(): void {
  defaultVpc();
  groupsExist();
  logsMock.on(CreateLogGroupCommand).resolves({});
  logsMock.on(PutRetentionPolicyCommand).resolves({});
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryUri: REPOSITORY_URI }] });
  ecsMock.on(CreateClusterCommand).resolves({ cluster: { clusterName: BASE } });
  ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  ecsMock.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TASK_DEFINITION } });
  ecsMock.on(RegisterTaskDefinitionCommand, { family: `${BASE}_release` }).resolves({ taskDefinition: { taskDefinitionArn: RELEASE_DEFINITION } });
  ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });
  ecsMock.on(CreateServiceCommand).resolves({});
  ecsMock.on(UpdateServiceCommand).resolves({});
  elbMock.on(CreateLoadBalancerCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: BALANCER_ARN, DNSName: BALANCER_DNS }] });
  elbMock.on(ModifyLoadBalancerAttributesCommand).resolves({});
  elbMock.on(DescribeTargetGroupsCommand).rejects(elbError('TargetGroupNotFound'));
  elbMock.on(CreateTargetGroupCommand).resolves({ TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN }] });
  elbMock.on(ModifyTargetGroupCommand).resolves({});
  elbMock.on(ModifyTargetGroupAttributesCommand).resolves({});
  elbMock.on(CreateListenerCommand).resolves({});
  scalingMock.on(RegisterScalableTargetCommand).resolves({});
  scalingMock.on(PutScalingPolicyCommand).resolves({});
}

const logs = (prefix: string) => ({
  logDriver: 'awslogs',
  options: { 'awslogs-group': LOG_GROUP, 'awslogs-region': 'eu-central-1', 'awslogs-stream-prefix': prefix },
});
const parameter = (name: string) => `arn:aws:ssm:eu-central-1:123456789012:parameter/cloudseed/p-1/web/${name}`;
const CA_CONTAINER = {
  name: 'cloudseed-ca',
  image: IMAGE,
  essential: false,
  user: '0',
  entryPoint: ['sh', '-c'],
  command: [`umask 022 && printf '%s\\n' "$CLOUDSEED_DATABASE_CA" > /cloudseed/database-ca.pem`],
  secrets: [{ name: 'CLOUDSEED_DATABASE_CA', valueFrom: parameter('database-ca') }],
  mountPoints: [{ sourceVolume: 'cloudseed', containerPath: '/cloudseed', readOnly: false }],
  logConfiguration: logs('run'),
};
const LINKED_MOUNTS = {
  mountPoints: [{ sourceVolume: 'cloudseed', containerPath: '/cloudseed', readOnly: true }],
  dependsOn: [{ containerName: 'cloudseed-ca', condition: 'SUCCESS' }],
};
const REVISION_TAGS = [...LOWER_TAGS, { key: 'cloudseed:deployment', value: 'dep-1' }, { key: 'cloudseed:release', value: IMAGE_TAG }];

describe('startRollout', () => {
  it('makes the groups, the link, the cluster, the load balancer and the service of a first rollout, scaling with CPU', async () => {
    rolloutReady();

    const ref = await appProvider().startRollout(appTarget(linked), release, LINK);

    expect(JSON.parse(ref.rolloutId)).toEqual({ taskDefinition: TASK_DEFINITION, startedAt: time.now, wiring: WIRING });

    // The load balancer admits HTTP from anywhere; the tasks only the app's port from the load balancer; the database the tasks.
    expect(inputs(ec2Mock.commandCalls(CreateSecurityGroupCommand))).toEqual([
      {
        GroupName: `${BASE}_lb`,
        Description: 'CloudSeed orders/web load balancer: HTTP from anywhere',
        VpcId: 'vpc-1',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [...TAGS, { Key: 'Name', Value: 'orders/web' }] }],
      },
      {
        GroupName: `${BASE}_app`,
        Description: 'CloudSeed orders/web tasks: the app port from its load balancer only',
        VpcId: 'vpc-1',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [...TAGS, { Key: 'Name', Value: 'orders/web' }] }],
      },
    ]);
    const ruleTags = [{ ResourceType: 'security-group-rule', Tags: TAGS }];
    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      { GroupId: LB_GROUP, IpPermissions: [lbRule], TagSpecifications: ruleTags },
      { GroupId: APP_GROUP, IpPermissions: [appRule(8080)], TagSpecifications: ruleTags },
      { GroupId: DB_GROUP, IpPermissions: [dbRule], TagSpecifications: ruleTags },
    ]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);

    // The link: what is secret as SecureStrings, the CA as a String, each created with the app's tags.
    expect(inputs(ssmMock.commandCalls(PutParameterCommand))).toEqual([
      {
        Name: '/cloudseed/p-1/web/database-url',
        Description: 'CloudSeed p-1/web: database db, DATABASE_URL',
        Value: 'postgresql://app_user:p%40ss%2Fword%3A1@172.31.5.10:5432/app?sslmode=verify-full&sslrootcert=%2Fcloudseed%2Fdatabase-ca.pem',
        Type: 'SecureString',
        Overwrite: false,
        Tags: TAGS,
      },
      {
        Name: '/cloudseed/p-1/web/database-password',
        Description: 'CloudSeed p-1/web: database db, PGPASSWORD',
        Value: 'p@ss/word:1',
        Type: 'SecureString',
        Overwrite: false,
        Tags: TAGS,
      },
      {
        Name: '/cloudseed/p-1/web/database-ca',
        Description: 'CloudSeed p-1/web: database db, CA certificate (PEM)',
        Value: CA_PEM,
        Type: 'String',
        Overwrite: false,
        Tags: TAGS,
      },
    ]);

    expect(inputs(ecsMock.commandCalls(CreateClusterCommand))).toEqual([{ clusterName: BASE, tags: LOWER_TAGS }]);
    expect(inputs(elbMock.commandCalls(CreateLoadBalancerCommand))).toEqual([
      {
        Name: LB_NAME,
        Type: 'application',
        Scheme: 'internet-facing',
        IpAddressType: 'ipv4',
        Subnets: SUBNETS,
        SecurityGroups: [LB_GROUP],
        Tags: TAGS,
      },
    ]);
    expect(inputs(elbMock.commandCalls(ModifyLoadBalancerAttributesCommand))).toEqual([
      { LoadBalancerArn: BALANCER_ARN, Attributes: [{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }] },
    ]);
    expect(inputs(elbMock.commandCalls(CreateTargetGroupCommand))).toEqual([
      {
        Name: LB_NAME,
        Protocol: 'HTTP',
        ProtocolVersion: 'HTTP1',
        Port: 8080,
        VpcId: 'vpc-1',
        TargetType: 'ip',
        IpAddressType: 'ipv4',
        HealthCheckEnabled: true,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: 'traffic-port',
        HealthCheckPath: '/healthz',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 3,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: '200-399' },
        Tags: TAGS,
      },
    ]);
    expect(inputs(elbMock.commandCalls(ModifyTargetGroupAttributesCommand))).toEqual([
      { TargetGroupArn: TARGET_GROUP_ARN, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] },
    ]);
    expect(inputs(elbMock.commandCalls(CreateListenerCommand))).toEqual([
      {
        LoadBalancerArn: BALANCER_ARN,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: TARGET_GROUP_ARN }],
        Tags: TAGS,
      },
    ]);

    expect(inputs(ecsMock.commandCalls(ListTaskDefinitionsCommand))).toEqual([{ familyPrefix: BASE, status: 'ACTIVE', sort: 'DESC', maxResults: 1 }]);
    expect(inputs(ecsMock.commandCalls(RegisterTaskDefinitionCommand))).toEqual([
      {
        family: BASE,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '512',
        memory: '1024',
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
        executionRoleArn: EXECUTION_ROLE,
        containerDefinitions: [
          CA_CONTAINER,
          {
            name: 'app',
            image: IMAGE,
            essential: true,
            portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
            environment: [
              { name: 'NODE_ENV', value: 'production' },
              { name: 'PGDATABASE', value: 'app' },
              { name: 'PGHOST', value: '172.31.5.10' },
              { name: 'PGPORT', value: '5432' },
              { name: 'PGSSLMODE', value: 'verify-full' },
              { name: 'PGSSLROOTCERT', value: '/cloudseed/database-ca.pem' },
              { name: 'PGUSER', value: 'app_user' },
              { name: 'PORT', value: '8080' },
            ],
            secrets: [
              { name: 'DATABASE_URL', valueFrom: parameter('database-url') },
              { name: 'PGPASSWORD', valueFrom: parameter('database-password') },
              { name: 'STRIPE_KEY', valueFrom: parameter('secrets/STRIPE_KEY') },
            ],
            logConfiguration: logs('run'),
            ...LINKED_MOUNTS,
          },
        ],
        volumes: [{ name: 'cloudseed' }],
        tags: REVISION_TAGS,
      },
    ]);

    expect(inputs(ecsMock.commandCalls(DescribeServicesCommand))).toEqual([{ cluster: BASE, services: [BASE] }]);
    expect(inputs(ecsMock.commandCalls(CreateServiceCommand))).toEqual([
      {
        cluster: BASE,
        taskDefinition: TASK_DEFINITION,
        platformVersion: 'LATEST',
        networkConfiguration: AWSVPC,
        loadBalancers: [{ targetGroupArn: TARGET_GROUP_ARN, containerName: 'app', containerPort: 8080 }],
        healthCheckGracePeriodSeconds: 30,
        deploymentConfiguration: CIRCUIT_BREAKER,
        serviceName: BASE,
        desiredCount: 2,
        launchType: 'FARGATE',
        schedulingStrategy: 'REPLICA',
        deploymentController: { type: 'ECS' },
        enableECSManagedTags: true,
        propagateTags: 'SERVICE',
        tags: LOWER_TAGS,
        clientToken: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
      },
    ]);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);

    expect(inputs(scalingMock.commandCalls(RegisterScalableTargetCommand))).toEqual([
      {
        ServiceNamespace: 'ecs',
        ResourceId: `service/${BASE}/${BASE}`,
        ScalableDimension: 'ecs:service:DesiredCount',
        MinCapacity: 2,
        MaxCapacity: 6,
        Tags: TAG_MAP,
      },
    ]);
    expect(inputs(scalingMock.commandCalls(PutScalingPolicyCommand))).toEqual([
      {
        PolicyName: 'cloudseed-cpu-60',
        ServiceNamespace: 'ecs',
        ResourceId: `service/${BASE}/${BASE}`,
        ScalableDimension: 'ecs:service:DesiredCount',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 60,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          ScaleOutCooldown: 60,
          ScaleInCooldown: 300,
        },
      },
    ]);
  });

  it('updates the service of a later rollout within the new bounds, overwrites the link and converges what exists', async () => {
    rolloutReady();
    groupsExist({
      lb: { GroupId: LB_GROUP, IpPermissions: [lbRule] },
      // The app listened on 3000 before; it listens on 8080 now.
      app: { GroupId: APP_GROUP, IpPermissions: [appRule(3000)] },
      db: { GroupId: DB_GROUP, VpcId: 'vpc-1', IpPermissions: [dbRule] },
    });
    ssmMock.on(PutParameterCommand, { Overwrite: false }).rejects(ssmError('ParameterAlreadyExists'));
    ssmMock.on(PutParameterCommand, { Overwrite: true }).resolves({ Version: 2 });
    elbMock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN }] });
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [OLD_TASK_DEFINITION] });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ tags: [{ key: 'cloudseed:deployment', value: 'dep-0' }] });
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ status: 'ACTIVE', desiredCount: 9, deployments: [] }] });

    await appProvider().startRollout(appTarget(linked), release, LINK);

    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      { GroupId: APP_GROUP, IpPermissions: [appRule(8080)], TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: TAGS }] },
    ]);
    expect(inputs(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand))).toEqual([
      { GroupId: APP_GROUP, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3000, ToPort: 3000, UserIdGroupPairs: [{ GroupId: LB_GROUP }] }] },
    ]);
    const puts = inputs(ssmMock.commandCalls(PutParameterCommand));
    expect(puts.filter((put) => put.Overwrite).map(({ Name, Type, Tags }) => ({ Name, Type, Tags }))).toEqual([
      { Name: '/cloudseed/p-1/web/database-url', Type: 'SecureString', Tags: undefined },
      { Name: '/cloudseed/p-1/web/database-password', Type: 'SecureString', Tags: undefined },
      { Name: '/cloudseed/p-1/web/database-ca', Type: 'String', Tags: undefined },
    ]);
    expect(inputs(elbMock.commandCalls(ModifyTargetGroupCommand))).toEqual([
      {
        TargetGroupArn: TARGET_GROUP_ARN,
        HealthCheckEnabled: true,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: 'traffic-port',
        HealthCheckPath: '/healthz',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 3,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: '200-399' },
      },
    ]);
    expect(elbMock.commandCalls(CreateTargetGroupCommand)).toHaveLength(0);
    expect(inputs(ecsMock.commandCalls(DescribeTaskDefinitionCommand))).toEqual([{ taskDefinition: OLD_TASK_DEFINITION, include: ['TAGS'] }]);
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(CreateServiceCommand)).toHaveLength(0);
    // Scaled out to 9 since: the new bounds are 2 to 6.
    expect(inputs(ecsMock.commandCalls(UpdateServiceCommand))).toEqual([
      {
        cluster: BASE,
        service: BASE,
        taskDefinition: TASK_DEFINITION,
        platformVersion: 'LATEST',
        networkConfiguration: AWSVPC,
        loadBalancers: [{ targetGroupArn: TARGET_GROUP_ARN, containerName: 'app', containerPort: 8080 }],
        healthCheckGracePeriodSeconds: 30,
        deploymentConfiguration: CIRCUIT_BREAKER,
        desiredCount: 6,
      },
    ]);
    expect(scalingMock.commandCalls(RegisterScalableTargetCommand)).toHaveLength(1);
  });

  it('reuses the revision a retried rollout of the same deployment registered', async () => {
    rolloutReady();
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [TASK_DEFINITION] });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ tags: REVISION_TAGS });

    const ref = await appProvider().startRollout(appTarget(linked), release, LINK);

    expect(JSON.parse(ref.rolloutId)).toMatchObject({ taskDefinition: TASK_DEFINITION });
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('runs the release command as a one-off task of its own revision and leaves the service alone until it succeeded', async () => {
    rolloutReady();
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/0f1e2d3c4b5a` }] });
    const releaseOf = { ...release, plan: plannedBuild(withRelease)! };

    const ref = await appProvider().startRollout(appTarget(withRelease), releaseOf, undefined);

    expect(JSON.parse(ref.rolloutId)).toEqual({
      taskDefinition: TASK_DEFINITION,
      startedAt: time.now,
      wiring: WIRING,
      releaseTask: `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/0f1e2d3c4b5a`,
    });
    const [app, releaseDefinition] = inputs(ecsMock.commandCalls(RegisterTaskDefinitionCommand));
    // Not linked: no CA container, no volume, no PG* and no DATABASE_URL.
    expect(app?.containerDefinitions?.map((container) => container.name)).toEqual(['app']);
    expect(app?.volumes).toBeUndefined();
    expect(releaseDefinition).toEqual({
      family: `${BASE}_release`,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '256',
      memory: '512',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      executionRoleArn: EXECUTION_ROLE,
      containerDefinitions: [
        {
          name: 'release',
          image: IMAGE,
          essential: true,
          command: ['sh', '-c', 'npm run migrate'],
          environment: [{ name: 'PORT', value: '8080' }],
          logConfiguration: logs('release'),
        },
      ],
      tags: REVISION_TAGS,
    });
    expect(inputs(ecsMock.commandCalls(RunTaskCommand))).toEqual([
      {
        cluster: BASE,
        taskDefinition: RELEASE_DEFINITION,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        count: 1,
        networkConfiguration: AWSVPC,
        startedBy: 'cloudseed-release',
        enableECSManagedTags: true,
        propagateTags: 'TASK_DEFINITION',
        tags: LOWER_TAGS,
        clientToken: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
      },
    ]);
    expect(ecsMock.commandCalls(CreateServiceCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
  });
});

describe('rolloutStatus', () => {
  const RELEASE_TASK = `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/0f1e2d3c4b5a`;
  const NEW_TASK = `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/9a8b7c6d5e4f`;
  const ref = (state: Partial<RolloutState> = {}) => ({
    rolloutId: JSON.stringify({ taskDefinition: TASK_DEFINITION, startedAt: time.now, wiring: WIRING, ...state }),
  });
  const at = (offsetMs: number) => new Date(time.now + offsetMs);
  const deployment = (taskDefinition: string, extra: Partial<Deployment>): Deployment => ({ taskDefinition, desiredCount: 2, ...extra });
  const serviceWith = (deployments: Deployment[], extra: Partial<Service> = {}): void => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ status: 'ACTIVE', desiredCount: 2, deployments, ...extra }] });
  };
  const serving = () => deployment(OLD_TASK_DEFINITION, { status: 'PRIMARY', rolloutState: 'COMPLETED', createdAt: at(-86_400_000) });

  it('waits for the release command before the service changes', async () => {
    serviceWith([serving()]);
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: RELEASE_TASK, lastStatus: 'RUNNING' }] });

    await expect(appProvider().rolloutStatus(appTarget(withRelease), ref({ releaseTask: RELEASE_TASK }))).resolves.toEqual({
      state: 'pending',
      detail: 'the release command runs (task running)',
    });
    expect(inputs(ecsMock.commandCalls(DescribeTasksCommand))).toEqual([{ cluster: BASE, tasks: [RELEASE_TASK] }]);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('points the service at the new revision once the release command exited 0', async () => {
    serviceWith([serving()]);
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [{ taskArn: RELEASE_TASK, lastStatus: 'STOPPED', containers: [{ name: 'release', exitCode: 0 }] }],
    });
    ecsMock.on(UpdateServiceCommand).resolves({});
    scalingMock.on(RegisterScalableTargetCommand).resolves({});
    scalingMock.on(PutScalingPolicyCommand).resolves({});

    await expect(appProvider().rolloutStatus(appTarget(withRelease), ref({ releaseTask: RELEASE_TASK }))).resolves.toEqual({
      state: 'pending',
      detail: 'the new version starts beside the one that serves',
    });
    expect(inputs(ecsMock.commandCalls(UpdateServiceCommand))).toEqual([
      expect.objectContaining({ cluster: BASE, service: BASE, taskDefinition: TASK_DEFINITION, desiredCount: 2 }),
    ]);
  });

  it('fails with the exit code and the last lines of a release command that failed, and leaves the service alone', async () => {
    serviceWith([serving()]);
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: RELEASE_TASK,
          lastStatus: 'STOPPED',
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'release', exitCode: 3 }],
        },
      ],
    });
    logsMock.on(GetLogEventsCommand).resolves({
      events: [
        { timestamp: 1, message: '> migrate\n' },
        { timestamp: 2, message: 'error: relation "orders" already exists\n' },
      ],
    });

    await expect(appProvider().rolloutStatus(appTarget(withRelease), ref({ releaseTask: RELEASE_TASK }))).resolves.toEqual({
      state: 'failed',
      reason:
        'the release command `npm run migrate` exited with 3; the old version keeps serving\n' +
        'last lines of the release command:\n  > migrate\n  error: relation "orders" already exists',
    });
    expect(inputs(logsMock.commandCalls(GetLogEventsCommand))).toEqual([
      { logGroupName: LOG_GROUP, logStreamName: 'release/release/0f1e2d3c4b5a', limit: 20, startFromHead: false },
    ]);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('is pending while the new tasks start, and done when ECS completed the primary deployment, after which unlinked databases stop admitting the app', async () => {
    serviceWith([deployment(TASK_DEFINITION, { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', runningCount: 1, createdAt: at(1000) }), serving()]);
    await expect(appProvider().rolloutStatus(appTarget(linked), ref())).resolves.toEqual({
      state: 'pending',
      detail: '1 of 2 tasks of the new version running; traffic moves once they pass the health check',
    });

    serviceWith([deployment(TASK_DEFINITION, { status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 2, createdAt: at(1000) })]);
    groupsExist({ app: { GroupId: APP_GROUP } });
    // The app was linked to `olddb` before: its group admits the app's on 5432, which goes; `db`'s stays.
    ec2Mock.on(DescribeSecurityGroupsCommand, referencing).resolves({
      SecurityGroups: [
        { GroupId: DB_GROUP, GroupName: 'cloudseed-p-1-db', IpPermissions: [dbRule] },
        { GroupId: 'sg-0old', GroupName: 'cloudseed-p-1-olddb', IpPermissions: [dbRule] },
      ],
    });

    await expect(appProvider().rolloutStatus(appTarget(linked), ref())).resolves.toEqual({ state: 'done' });
    expect(inputs(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand))).toEqual([
      { GroupId: 'sg-0old', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: APP_GROUP }] }] },
    ]);
  });

  it('fails, never done, when the circuit breaker rolled the service back: with the reason, what ECS said and the new version’s last lines', async () => {
    serviceWith(
      [
        deployment(OLD_TASK_DEFINITION, { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', createdAt: at(300_000) }),
        deployment(TASK_DEFINITION, {
          status: 'ACTIVE',
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          createdAt: at(1000),
        }),
      ],
      {
        events: [
          { createdAt: at(301_000), message: `(service ${BASE}) rolling back to deployment ecs-svc/111.` },
          { createdAt: at(299_000), message: `(service ${BASE}) (deployment ecs-svc/222) deployment failed: tasks failed to start.` },
          { createdAt: at(200_000), message: `(service ${BASE}) has started 2 tasks: (task 9a8b7c6d5e4f).` },
          { createdAt: at(-5000), message: `(service ${BASE}) was unable to place a task long ago.` },
        ],
      },
    );
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [NEW_TASK, `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/old`] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/old`, taskDefinitionArn: OLD_TASK_DEFINITION, stoppedAt: at(250_000) },
        {
          taskArn: NEW_TASK,
          taskDefinitionArn: TASK_DEFINITION,
          stoppedAt: at(200_000),
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'app', exitCode: 1 }],
        },
      ],
    });
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ timestamp: 5, message: 'Error: Cannot find module express' }] });
    time.now += 400_000;

    const progress = await appProvider().rolloutStatus(appTarget(linked), ref({ startedAt: time.now - 400_000 }));

    expect(progress).toEqual({
      state: 'failed',
      reason:
        'the new version did not become healthy and ECS rolled the service back to the version before, which keeps serving; ' +
        'ECS deployment circuit breaker: tasks failed to start.; ' +
        `(service ${BASE}) (deployment ecs-svc/222) deployment failed: tasks failed to start.; ` +
        `(service ${BASE}) rolling back to deployment ecs-svc/111.; ` +
        'task 9a8b7c6d5e4f stopped: Essential container in task exited, the app exited with 1\n' +
        'last lines of the new version:\n  Error: Cannot find module express',
    });
    expect(inputs(ecsMock.commandCalls(ListTasksCommand))).toEqual([{ cluster: BASE, serviceName: BASE, desiredStatus: 'STOPPED' }]);
    expect(inputs(logsMock.commandCalls(GetLogEventsCommand))).toEqual([
      { logGroupName: LOG_GROUP, logStreamName: 'run/app/9a8b7c6d5e4f', limit: 20, startFromHead: false },
    ]);
  });

  it('fails when the old version took over again after the rollout started, even once ECS forgot the failed deployment', async () => {
    serviceWith([deployment(OLD_TASK_DEFINITION, { status: 'PRIMARY', rolloutState: 'COMPLETED', createdAt: at(300_000) })]);
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });

    await expect(appProvider().rolloutStatus(appTarget(linked), ref())).resolves.toEqual({
      state: 'failed',
      reason: 'the new version did not become healthy and ECS rolled the service back to the version before, which keeps serving',
    });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('fails a first rollout whose deployment failed with nothing to roll back to', async () => {
    serviceWith([
      deployment(TASK_DEFINITION, { status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'tasks failed to start', createdAt: at(1000) }),
    ]);
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });

    await expect(appProvider().rolloutStatus(appTarget(linked), ref())).resolves.toEqual({
      state: 'failed',
      reason: 'the new version did not become healthy; tasks failed to start',
    });
  });
});

describe('endpoint and logs', () => {
  it('gives the load balancer’s DNS name over HTTP, and NotFound before the first rollout', async () => {
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: BALANCER_ARN, DNSName: BALANCER_DNS }] });
    await expect(appProvider().endpoint(appTarget(linked))).resolves.toEqual({ url: `http://${BALANCER_DNS}` });
    expect(inputs(elbMock.commandCalls(DescribeLoadBalancersCommand))).toEqual([{ Names: [LB_NAME] }]);

    elbMock.on(DescribeLoadBalancersCommand).rejects(elbError('LoadBalancerNotFound'));
    await expect(appProvider().endpoint(appTarget(linked))).rejects.toThrow(NotFound);
  });

  it('merges the newest lines of the last build, the last release command and the running tasks, oldest first', async () => {
    logsMock.on(DescribeLogStreamsCommand).resolves({
      logStreams: [
        { logStreamName: 'run/app/t2' },
        { logStreamName: 'release/release/r1' },
        { logStreamName: 'run/app/t1' },
        { logStreamName: 'build/b2' },
        { logStreamName: 'build/b1' },
        { logStreamName: 'something-else' },
      ],
    });
    logsMock.on(GetLogEventsCommand, { logStreamName: 'run/app/t2' }).resolves({ events: [{ timestamp: 50, message: 'listening on 8080\n' }] });
    logsMock.on(GetLogEventsCommand, { logStreamName: 'run/app/t1' }).resolves({ events: [{ timestamp: 40, message: 'listening on 8080' }] });
    logsMock.on(GetLogEventsCommand, { logStreamName: 'release/release/r1' }).resolves({ events: [{ timestamp: 30, message: 'migrated' }] });
    logsMock.on(GetLogEventsCommand, { logStreamName: 'build/b2' }).resolves({
      events: [
        { timestamp: 10, message: 'cloudseed: building commit abc' },
        { timestamp: 20, message: 'cloudseed: pushed' },
      ],
    });

    await expect(appProvider().logs(appTarget(linked), 4)).resolves.toEqual([
      { time: new Date(20).toISOString(), source: 'build', text: 'cloudseed: pushed' },
      { time: new Date(30).toISOString(), source: 'release', text: 'migrated' },
      { time: new Date(40).toISOString(), source: 'run', text: 'listening on 8080' },
      { time: new Date(50).toISOString(), source: 'run', text: 'listening on 8080' },
    ]);
    expect(inputs(logsMock.commandCalls(DescribeLogStreamsCommand))).toEqual([
      { logGroupName: LOG_GROUP, orderBy: 'LastEventTime', descending: true, limit: 50 },
    ]);
    expect(
      inputs(logsMock.commandCalls(GetLogEventsCommand))
        .map((input) => input.logStreamName)
        .sort(),
    ).toEqual(['build/b2', 'release/release/r1', 'run/app/t1', 'run/app/t2']);
  });
});

itSentOnlyAppActions(APP_ACTIONS_PROVEN.rollout);
