import { DeregisterScalableTargetCommand, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, DeleteProjectCommand, ListBuildsForProjectCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import { DeleteSecurityGroupCommand, DescribeSecurityGroupsCommand, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { DeleteRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  DeleteClusterCommand,
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteParametersCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../providers/errors.ts';
import { ec2Error, elbError } from '../support/aws.ts';
import {
  APP_ACTIONS_PROVEN,
  APP_GROUP,
  appComponent,
  appProvider,
  appSentActions,
  appTarget,
  BALANCER_ARN,
  BASE,
  BUILD_ID,
  codebuildError,
  codebuildMock,
  DB_GROUP,
  ec2Mock,
  ecrError,
  ecrMock,
  ecsError,
  ecsMock,
  elbMock,
  inputs,
  itSentOnlyAppActions,
  LB_GROUP,
  LB_NAME,
  LOG_GROUP,
  logsError,
  logsMock,
  mockAppAws,
  OLD_TASK_DEFINITION,
  RELEASE_DEFINITION,
  REPOSITORY,
  scalingMock,
  sleep,
  ssmMock,
  TARGET_GROUP_ARN,
  TASK_DEFINITION,
} from './apps-fixtures.ts';

// destroyApp removes what an app made, dependents first (as the database side's teardown), and
// finds nothing to do the second time.

mockAppAws();

const component = appComponent({ secrets: ['STRIPE_KEY'] });
const RELEASE_TASK = `arn:aws:ecs:eu-central-1:123456789012:task/${BASE}/0f1e2d3c4b5a`;
const groupFilters = (name: string) => ({
  Filters: [
    { Name: 'group-name', Values: [name] },
    { Name: 'tag:cloudseed:plan-id', Values: ['p-1'] },
    { Name: 'tag:cloudseed:component', Values: ['web'] },
  ],
});
const dbRule = {
  IpProtocol: 'tcp',
  FromPort: 5432,
  ToPort: 5432,
  UserIdGroupPairs: [{ GroupId: APP_GROUP, Description: 'PostgreSQL from app web' }],
};
const PARAMETERS = [
  '/cloudseed/p-1/web/database-url',
  '/cloudseed/p-1/web/database-password',
  '/cloudseed/p-1/web/database-ca',
  '/cloudseed/p-1/web/secrets/STRIPE_KEY',
];

/** Nothing of the app exists (any more). */
function nothingLeft(): void {
  scalingMock.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
  ecsMock.on(DescribeServicesCommand).rejects(ecsError('ClusterNotFoundException'));
  ecsMock.on(ListTasksCommand).rejects(ecsError('ClusterNotFoundException'));
  ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  ecsMock.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
  elbMock.on(DescribeLoadBalancersCommand).rejects(elbError('LoadBalancerNotFound'));
  elbMock.on(DescribeTargetGroupsCommand).rejects(elbError('TargetGroupNotFound'));
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ecrMock.on(DescribeRepositoriesCommand).rejects(ecrError('RepositoryNotFoundException'));
  codebuildMock.on(ListBuildsForProjectCommand).rejects(codebuildError('ResourceNotFoundException'));
  ssmMock.on(DeleteParametersCommand).resolves({ DeletedParameters: [], InvalidParameters: PARAMETERS });
  logsMock.on(DeleteLogGroupCommand).rejects(logsError('ResourceNotFoundException'));
}

describe('destroyApp', () => {
  it('stops and removes everything, dependents first, waiting for what AWS lets go of slowly', async () => {
    scalingMock.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [{ ResourceId: `service/${BASE}/${BASE}` } as never] });
    scalingMock.on(DeregisterScalableTargetCommand).resolves({});
    ecsMock
      .on(DescribeServicesCommand)
      .resolvesOnce({ services: [{ status: 'ACTIVE' }] })
      .resolvesOnce({ services: [{ status: 'DRAINING' }] })
      .resolves({ services: [{ status: 'INACTIVE' }] });
    ecsMock.on(DeleteServiceCommand).resolves({});
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [RELEASE_TASK] });
    ecsMock.on(StopTaskCommand).resolves({});
    ecsMock.on(ListTaskDefinitionsCommand, { familyPrefix: BASE }).resolves({ taskDefinitionArns: [OLD_TASK_DEFINITION, TASK_DEFINITION] });
    ecsMock.on(ListTaskDefinitionsCommand, { familyPrefix: `${BASE}_release` }).resolves({ taskDefinitionArns: [RELEASE_DEFINITION] });
    ecsMock.on(DeregisterTaskDefinitionCommand).resolves({});
    ecsMock.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: BASE, status: 'ACTIVE' }] });
    ecsMock.on(DeleteClusterCommand).resolves({});
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: BALANCER_ARN }] });
    elbMock.on(DeleteLoadBalancerCommand).resolves({});
    elbMock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN }] });
    elbMock.on(DeleteTargetGroupCommand).rejectsOnce(elbError('ResourceInUse')).resolves({});
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeSecurityGroupsCommand, groupFilters(`${BASE}_app`)).resolves({ SecurityGroups: [{ GroupId: APP_GROUP }] });
    ec2Mock.on(DescribeSecurityGroupsCommand, groupFilters(`${BASE}_lb`)).resolves({ SecurityGroups: [{ GroupId: LB_GROUP }] });
    ec2Mock
      .on(DescribeSecurityGroupsCommand, {
        Filters: [
          { Name: 'ip-permission.group-id', Values: [APP_GROUP] },
          { Name: 'tag:cloudseed:plan-id', Values: ['p-1'] },
        ],
      })
      .resolves({ SecurityGroups: [{ GroupId: DB_GROUP, GroupName: 'cloudseed-p-1-db', IpPermissions: [dbRule] }] });
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock.on(DeleteSecurityGroupCommand).rejectsOnce(ec2Error('DependencyViolation')).resolves({});
    ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: REPOSITORY, repositoryUri: 'uri' }] });
    ecrMock.on(DeleteRepositoryCommand).resolves({});
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: [BUILD_ID, `${BASE}:older`] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        { id: BUILD_ID, buildStatus: 'IN_PROGRESS' },
        { id: `${BASE}:older`, buildStatus: 'SUCCEEDED' },
      ],
    });
    codebuildMock.on(StopBuildCommand).resolves({});
    codebuildMock.on(DeleteProjectCommand).resolves({});
    ssmMock.on(DeleteParametersCommand).resolves({ DeletedParameters: PARAMETERS });
    logsMock.on(DeleteLogGroupCommand).resolves({});

    await appProvider().destroyApp(appTarget(component));

    expect(appSentActions().filter((action) => !/:(Describe|List|BatchGet)/.test(action) && action !== 'sts:AssumeRole')).toEqual([
      'application-autoscaling:DeregisterScalableTarget',
      'ecs:DeleteService',
      'ecs:StopTask',
      'ecs:DeregisterTaskDefinition',
      'ecs:DeregisterTaskDefinition',
      'ecs:DeregisterTaskDefinition',
      'ecs:DeleteCluster',
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:DeleteTargetGroup',
      'elasticloadbalancing:DeleteTargetGroup',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSecurityGroup',
      'ecr:DeleteRepository',
      'codebuild:StopBuild',
      'codebuild:DeleteProject',
      'ssm:DeleteParameters',
      'logs:DeleteLogGroup',
    ]);
    expect(inputs(scalingMock.commandCalls(DeregisterScalableTargetCommand))).toEqual([
      { ServiceNamespace: 'ecs', ResourceId: `service/${BASE}/${BASE}`, ScalableDimension: 'ecs:service:DesiredCount' },
    ]);
    expect(inputs(ecsMock.commandCalls(DeleteServiceCommand))).toEqual([{ cluster: BASE, service: BASE, force: true }]);
    expect(inputs(ecsMock.commandCalls(ListTasksCommand))).toEqual([{ cluster: BASE, family: `${BASE}_release`, desiredStatus: 'RUNNING' }]);
    expect(inputs(ecsMock.commandCalls(StopTaskCommand))).toEqual([{ cluster: BASE, task: RELEASE_TASK, reason: 'CloudSeed removes the app' }]);
    expect(inputs(ecsMock.commandCalls(DeregisterTaskDefinitionCommand))).toEqual([
      { taskDefinition: OLD_TASK_DEFINITION },
      { taskDefinition: TASK_DEFINITION },
      { taskDefinition: RELEASE_DEFINITION },
    ]);
    expect(inputs(ecsMock.commandCalls(DeleteClusterCommand))).toEqual([{ cluster: BASE }]);
    expect(inputs(elbMock.commandCalls(DescribeLoadBalancersCommand))).toEqual([{ Names: [LB_NAME] }]);
    expect(inputs(elbMock.commandCalls(DeleteLoadBalancerCommand))).toEqual([{ LoadBalancerArn: BALANCER_ARN }]);
    expect(inputs(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand))).toEqual([
      { GroupId: DB_GROUP, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: APP_GROUP }] }] },
    ]);
    // The tasks' group first (it admits the load balancer's), retried while its interfaces go.
    expect(inputs(ec2Mock.commandCalls(DeleteSecurityGroupCommand))).toEqual([{ GroupId: APP_GROUP }, { GroupId: APP_GROUP }, { GroupId: LB_GROUP }]);
    expect(inputs(ecrMock.commandCalls(DeleteRepositoryCommand))).toEqual([{ repositoryName: REPOSITORY, force: true }]);
    expect(inputs(codebuildMock.commandCalls(StopBuildCommand))).toEqual([{ id: BUILD_ID }]);
    expect(inputs(codebuildMock.commandCalls(DeleteProjectCommand))).toEqual([{ name: BASE }]);
    expect(inputs(ssmMock.commandCalls(DeleteParametersCommand))).toEqual([{ Names: PARAMETERS }]);
    expect(inputs(logsMock.commandCalls(DeleteLogGroupCommand))).toEqual([{ logGroupName: LOG_GROUP }]);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([10_000, 10_000, 10_000, 10_000]);
  });

  it('finds nothing to remove when the app is gone, and does nothing twice', async () => {
    nothingLeft();

    await appProvider().destroyApp(appTarget(component));
    await appProvider().destroyApp(appTarget(component));

    const deletes = appSentActions().filter((action) => /:(Delete|Deregister|Stop|Revoke)/.test(action));
    expect(deletes).toEqual(['ssm:DeleteParameters', 'logs:DeleteLogGroup', 'ssm:DeleteParameters', 'logs:DeleteLogGroup']);
  });

  it('leaves a service still stopping its tasks to a retry', async () => {
    nothingLeft();
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ status: 'DRAINING' }] });

    await expect(appProvider().destroyApp(appTarget(component))).rejects.toThrow(TransientError);
    expect(ecsMock.commandCalls(DeleteServiceCommand)).toHaveLength(0);
    expect(sleep).toHaveBeenCalledTimes(12);
  });
});

itSentOnlyAppActions(APP_ACTIONS_PROVEN.teardown);
