import { readFileSync } from 'node:fs';
import {
  BatchGetBuildsCommand,
  CreateProjectCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  UpdateProjectCommand,
} from '@aws-sdk/client-codebuild';
import type { Build } from '@aws-sdk/client-codebuild';
import { CreateLogGroupCommand, GetLogEventsCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { renderDockerfile } from '@cloudseed/shared/apps/detect';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../providers/errors.ts';
import { BUILD_IMAGE, plannedBuild, renderBuildspec } from '../../providers/aws/apps/build.ts';
import { appNames, loadBalancerName } from '../../providers/aws/apps/names.ts';
import {
  APP_ACTIONS_PROVEN,
  appComponent,
  appProvider,
  appSentActions,
  appTarget,
  BASE,
  BUILD_ID,
  BUILD_ROLE,
  codebuildError,
  codebuildMock,
  COMMIT,
  defaultVpc,
  ec2Mock,
  ecrError,
  ecrMock,
  IMAGE_TAG,
  inputs,
  itSentOnlyAppActions,
  LB_NAME,
  LOG_GROUP,
  LOWER_TAGS,
  logsError,
  logsMock,
  mockAppAws,
  REPOSITORY,
  REPOSITORY_URI,
  TAG_MAP,
  TAGS,
} from './apps-fixtures.ts';

// An app's image on AWS: a CodeBuild project per app clones the repository, writes the Dockerfile
// CloudSeed rendered from the plan when the repository has none, builds it and pushes it to the
// app's ECR repository tagged with the commit.

mockAppAws();

/** The plan says how to run the app: CloudSeed writes the Dockerfile. */
const planned = appComponent({
  build: { runtime: 'node', runtimeVersion: '22', installCommand: 'npm ci --omit=dev' },
  run: { startCommand: 'node server.js', port: 3000 },
});
/** The plan says nothing: the repository must bring a Dockerfile. */
const bare = appComponent();

function buildReady(): void {
  logsMock.on(CreateLogGroupCommand).resolves({});
  logsMock.on(PutRetentionPolicyCommand).resolves({});
  ecrMock.on(CreateRepositoryCommand).resolves({ repository: { repositoryName: REPOSITORY, repositoryUri: REPOSITORY_URI } });
  ecrMock.on(PutLifecyclePolicyCommand).resolves({});
  codebuildMock.on(ListBuildsForProjectCommand).rejects(codebuildError('ResourceNotFoundException'));
  codebuildMock.on(CreateProjectCommand).resolves({});
  codebuildMock.on(StartBuildCommand).resolves({ build: { id: BUILD_ID } });
}

function variable(name: string): string | undefined {
  const [start] = inputs(codebuildMock.commandCalls(StartBuildCommand));
  return start?.environmentVariablesOverride?.find((candidate) => candidate.name === name)?.value;
}

describe('names', () => {
  it('derives every resource of an app from the plan and the app, and the ALB’s within 32 characters', () => {
    const names = appNames('p-1', 'web');
    expect(names).toMatchObject({
      cluster: BASE,
      service: BASE,
      family: BASE,
      releaseFamily: `${BASE}_release`,
      project: BASE,
      repository: REPOSITORY,
      logGroup: LOG_GROUP,
      loadBalancer: LB_NAME,
      appSecurityGroup: `${BASE}_app`,
      loadBalancerSecurityGroup: `${BASE}_lb`,
      databaseUrlParameter: '/cloudseed/p-1/web/database-url',
      databaseCaParameter: '/cloudseed/p-1/web/database-ca',
      scalableResource: `service/${BASE}/${BASE}`,
    });
    expect(loadBalancerName('3f6c1a0e-6d1b-4a57-9d0c-2b4f1e7a9c11', 'a-component-id-of-31-characters')).toMatch(/^cs-[0-9a-f]{24}$/);
    expect(() => appNames('P 1', 'web')).toThrow(PermanentError);
  });
});

describe('the buildspec', () => {
  it('writes the build script verbatim and runs one stage per phase, aborting on the first failure and exporting what the build found', () => {
    const spec = JSON.parse(renderBuildspec()) as {
      env: { shell: string; 'exported-variables': string[] };
      phases: Record<string, { 'on-failure'?: string; commands: string[] }>;
    };
    expect(spec.env.shell).toBe('bash');
    expect(spec.env['exported-variables']).toEqual(['CLOUDSEED_COMMIT', 'CLOUDSEED_IMAGE_TAG', 'CLOUDSEED_DOCKERFILE', 'CLOUDSEED_RUNTIME']);
    const written = /^printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d > "\$CLOUDSEED_SCRIPT"$/.exec(spec.phases.pre_build!.commands[0]!)?.[1];
    expect(Buffer.from(written!, 'base64').toString('utf8')).toBe(
      readFileSync(new URL('../../../shared/src/targets/sh/app-build.sh', import.meta.url), 'utf8'),
    );
    expect(spec.phases.pre_build).toMatchObject({ 'on-failure': 'ABORT', commands: [expect.any(String), 'bash "$CLOUDSEED_SCRIPT" fetch'] });
    expect(spec.phases.build).toEqual({ 'on-failure': 'ABORT', commands: ['bash "$CLOUDSEED_SCRIPT" image'] });
    expect(spec.phases.post_build!.commands).toEqual(['bash "$CLOUDSEED_SCRIPT" push', 'set -a && . "$CLOUDSEED_STATE" && set +a']);
  });
});

describe('startBuild', () => {
  it('makes the log group, an immutable scanned ECR repository and the project, and builds the branch with the Dockerfile written from the plan', async () => {
    buildReady();

    await expect(appProvider().startBuild(appTarget(planned))).resolves.toEqual({ buildId: BUILD_ID });

    expect(inputs(logsMock.commandCalls(CreateLogGroupCommand))).toEqual([{ logGroupName: LOG_GROUP, tags: TAG_MAP }]);
    expect(inputs(logsMock.commandCalls(PutRetentionPolicyCommand))).toEqual([{ logGroupName: LOG_GROUP, retentionInDays: 30 }]);
    expect(inputs(ecrMock.commandCalls(CreateRepositoryCommand))).toEqual([
      {
        repositoryName: REPOSITORY,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: 'AES256' },
        tags: TAGS,
      },
    ]);
    const [lifecycle] = inputs(ecrMock.commandCalls(PutLifecyclePolicyCommand));
    expect(lifecycle?.repositoryName).toBe(REPOSITORY);
    expect(JSON.parse(lifecycle!.lifecyclePolicyText!)).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: 'Keep the newest 20 images',
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 20 },
          action: { type: 'expire' },
        },
      ],
    });
    expect(inputs(codebuildMock.commandCalls(CreateProjectCommand))).toEqual([
      {
        name: BASE,
        description: `CloudSeed orders/web: builds the app's image and pushes it to ECR ${REPOSITORY}`,
        source: { type: 'NO_SOURCE', buildspec: renderBuildspec() },
        artifacts: { type: 'NO_ARTIFACTS' },
        environment: {
          type: 'ARM_CONTAINER',
          image: BUILD_IMAGE,
          computeType: 'BUILD_GENERAL1_SMALL',
          privilegedMode: true,
          imagePullCredentialsType: 'CODEBUILD',
        },
        serviceRole: BUILD_ROLE,
        timeoutInMinutes: 30,
        queuedTimeoutInMinutes: 60,
        logsConfig: { cloudWatchLogs: { status: 'ENABLED', groupName: LOG_GROUP, streamName: 'build' }, s3Logs: { status: 'DISABLED' } },
        tags: LOWER_TAGS,
      },
    ]);
    const [start] = inputs(codebuildMock.commandCalls(StartBuildCommand));
    expect(start?.projectName).toBe(BASE);
    expect(start?.idempotencyToken).toMatch(/^[0-9a-f]{32}$/);
    const dockerfile = renderDockerfile(plannedBuild(planned)!);
    expect(start?.environmentVariablesOverride).toEqual([
      { name: 'CLOUDSEED_DEPLOYMENT_ID', value: 'dep-1', type: 'PLAINTEXT' },
      { name: 'CLOUDSEED_REPO_URL', value: 'https://github.com/acme/shop.git', type: 'PLAINTEXT' },
      { name: 'CLOUDSEED_BRANCH', value: 'main', type: 'PLAINTEXT' },
      { name: 'CLOUDSEED_COMMIT_WANTED', value: '', type: 'PLAINTEXT' },
      { name: 'CLOUDSEED_ROOT_DIR', value: '', type: 'PLAINTEXT' },
      { name: 'CLOUDSEED_IMAGE_REPO', value: REPOSITORY_URI, type: 'PLAINTEXT' },
      { name: 'CLOUDSEED_DOCKERFILE_B64', value: Buffer.from(dockerfile).toString('base64'), type: 'PLAINTEXT' },
    ]);
    expect(dockerfile).toContain('node:22');
    expect(dockerfile).toContain('RUN ["sh","-c","npm ci --omit=dev"]');
    expect(dockerfile).toContain('CMD ["sh","-c","node server.js"]');
  });

  it('leaves the Dockerfile to the repository when the plan gives no runtime and start command, and converges a project and repository that exist', async () => {
    buildReady();
    ecrMock.on(CreateRepositoryCommand).rejects(ecrError('RepositoryAlreadyExistsException'));
    ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: REPOSITORY, repositoryUri: REPOSITORY_URI }] });
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    codebuildMock.on(CreateProjectCommand).rejects(codebuildError('ResourceAlreadyExistsException'));
    codebuildMock.on(UpdateProjectCommand).resolves({});
    logsMock.on(CreateLogGroupCommand).rejects(logsError('ResourceAlreadyExistsException'));
    const component = appComponent({
      source: { repoUrl: 'https://codeberg.org/acme/shop', branch: 'release', commit: 'abc1234', rootDir: 'services/api' },
    });

    await appProvider().startBuild(appTarget(component));

    expect(inputs(ecrMock.commandCalls(DescribeRepositoriesCommand))).toEqual([{ repositoryNames: [REPOSITORY] }]);
    const [update] = inputs(codebuildMock.commandCalls(UpdateProjectCommand));
    expect(update).toEqual(inputs(codebuildMock.commandCalls(CreateProjectCommand))[0]);
    expect(variable('CLOUDSEED_DOCKERFILE_B64')).toBe('');
    expect(variable('CLOUDSEED_REPO_URL')).toBe('https://codeberg.org/acme/shop');
    expect(variable('CLOUDSEED_BRANCH')).toBe('release');
    expect(variable('CLOUDSEED_COMMIT_WANTED')).toBe('abc1234');
    expect(variable('CLOUDSEED_ROOT_DIR')).toBe('services/api');
    expect(inputs(logsMock.commandCalls(PutRetentionPolicyCommand))).toHaveLength(1);
  });

  it('joins the build its deployment started rather than starting another', async () => {
    buildReady();
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: [`${BASE}:newer`, BUILD_ID] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        { id: `${BASE}:newer`, environment: { environmentVariables: [{ name: 'CLOUDSEED_DEPLOYMENT_ID', value: 'dep-2' }] } } as Build,
        { id: BUILD_ID, environment: { environmentVariables: [{ name: 'CLOUDSEED_DEPLOYMENT_ID', value: 'dep-1' }] } } as Build,
      ],
    });

    await expect(appProvider().startBuild(appTarget(bare))).resolves.toEqual({ buildId: BUILD_ID });

    expect(inputs(codebuildMock.commandCalls(ListBuildsForProjectCommand))).toEqual([{ projectName: BASE, sortOrder: 'DESCENDING' }]);
    expect(inputs(codebuildMock.commandCalls(BatchGetBuildsCommand))).toEqual([{ ids: [`${BASE}:newer`, BUILD_ID] }]);
    expect(codebuildMock.commandCalls(StartBuildCommand)).toHaveLength(0);
    expect(codebuildMock.commandCalls(CreateProjectCommand)).toHaveLength(0);
  });
});

describe('buildStatus', () => {
  const ref = { buildId: BUILD_ID };
  const logs = { groupName: LOG_GROUP, streamName: 'build/4f0c2d6e-1111-2222-3333-444455556666' };

  it('is pending while the build runs, saying what it does', async () => {
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [{ id: BUILD_ID, buildStatus: 'IN_PROGRESS', currentPhase: 'BUILD' }] });

    await expect(appProvider().buildStatus(appTarget(planned), ref)).resolves.toEqual({ state: 'pending', detail: 'building: building the image' });
    expect(inputs(codebuildMock.commandCalls(BatchGetBuildsCommand))).toEqual([{ ids: [BUILD_ID] }]);
  });

  it('gives the release of a build that succeeded: the commit it resolved, the image tag, and the plan it was built with', async () => {
    const exported = (dockerfile: string) => [
      { name: 'CLOUDSEED_COMMIT', value: COMMIT },
      { name: 'CLOUDSEED_IMAGE_TAG', value: IMAGE_TAG },
      { name: 'CLOUDSEED_DOCKERFILE', value: dockerfile },
      { name: 'CLOUDSEED_RUNTIME', value: 'node' },
    ];
    const endTime = new Date('2030-01-01T00:05:00Z');
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [{ id: BUILD_ID, buildStatus: 'SUCCEEDED', endTime, exportedEnvironmentVariables: exported('generated') }],
    });

    await expect(appProvider().buildStatus(appTarget(planned), ref)).resolves.toEqual({
      state: 'done',
      release: { version: COMMIT, buildId: IMAGE_TAG, plan: plannedBuild(planned), builtAt: '2030-01-01T00:05:00.000Z' },
    });

    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [{ id: BUILD_ID, buildStatus: 'SUCCEEDED', endTime, exportedEnvironmentVariables: exported('repository') }],
    });
    const progress = await appProvider().buildStatus(appTarget(bare), ref);
    expect(progress).toMatchObject({
      state: 'done',
      release: { version: COMMIT, buildId: IMAGE_TAG, plan: { runtime: 'node', dockerfile: true, startCommand: "the Dockerfile's CMD" } },
    });
  });

  it('fails with what the build script said, and the last lines of the build log', async () => {
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: BUILD_ID,
          buildStatus: 'FAILED',
          logs,
          phases: [
            { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' },
            {
              phaseType: 'PRE_BUILD',
              phaseStatus: 'FAILED',
              contexts: [
                {
                  statusCode: 'COMMAND_EXECUTION_ERROR',
                  message: 'Error while executing command: bash "$CLOUDSEED_SCRIPT" fetch. Reason: exit status 1',
                },
              ],
            },
          ],
        },
      ],
    });
    logsMock.on(GetLogEventsCommand).resolves({
      events: [
        { timestamp: 1, message: 'cloudseed: cloning https://github.com/acme/shop.git, branch main\n' },
        {
          timestamp: 2,
          message:
            'cloudseed: error: the repository has no Dockerfile in its root; on AWS give the app build.runtime and run.startCommand (CloudSeed then writes the Dockerfile) or add a Dockerfile\n',
        },
      ],
    });

    const progress = await appProvider().buildStatus(appTarget(bare), ref);

    expect(inputs(logsMock.commandCalls(GetLogEventsCommand))).toEqual([
      { logGroupName: LOG_GROUP, logStreamName: logs.streamName, limit: 20, startFromHead: false },
    ]);
    expect(progress).toEqual({
      state: 'failed',
      reason:
        'the build failed: the repository has no Dockerfile in its root; on AWS give the app build.runtime and run.startCommand (CloudSeed then writes the Dockerfile) or add a Dockerfile\n' +
        'last lines of the build log:\n' +
        '  cloudseed: cloning https://github.com/acme/shop.git, branch main\n' +
        '  cloudseed: error: the repository has no Dockerfile in its root; on AWS give the app build.runtime and run.startCommand (CloudSeed then writes the Dockerfile) or add a Dockerfile',
    });
  });

  it('fails with the failing phase and its context when the script said nothing, and says a timeout or a stop in words', async () => {
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ timestamp: 1, message: 'Step 4/7 : RUN npm ci\nnpm ERR! code E404' }] });
    const failedPhase = {
      phaseType: 'BUILD' as const,
      phaseStatus: 'FAILED' as const,
      contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: 'exit status 1' }],
    };
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [{ id: BUILD_ID, buildStatus: 'FAILED', logs, phases: [failedPhase] }] });

    await expect(appProvider().buildStatus(appTarget(bare), ref)).resolves.toEqual({
      state: 'failed',
      reason:
        'the build failed in its BUILD phase: COMMAND_EXECUTION_ERROR: exit status 1\nlast lines of the build log:\n  Step 4/7 : RUN npm ci\nnpm ERR! code E404',
    });

    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [{ id: BUILD_ID, buildStatus: 'TIMED_OUT', timeoutInMinutes: 30, phases: [{ phaseType: 'BUILD', phaseStatus: 'TIMED_OUT' }] }],
    });
    await expect(appProvider().buildStatus(appTarget(bare), ref)).resolves.toEqual({
      state: 'failed',
      reason: 'the build took longer than 30 minutes in its BUILD phase',
    });
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [{ id: BUILD_ID, buildStatus: 'STOPPED' }] });
    await expect(appProvider().buildStatus(appTarget(bare), ref)).resolves.toEqual({ state: 'failed', reason: 'the build was stopped' });
  });
});

describe('preflightApp', () => {
  it('assumes the role and finds subnets in two zones or more', async () => {
    defaultVpc();

    await expect(appProvider().preflightApp(appTarget(bare))).resolves.toBeUndefined();

    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([{ Filters: [{ Name: 'isDefault', Values: ['true'] }] }]);
    expect(inputs(ec2Mock.commandCalls(DescribeSubnetsCommand))).toEqual([
      {
        Filters: [
          { Name: 'vpc-id', Values: ['vpc-1'] },
          { Name: 'default-for-az', Values: ['true'] },
        ],
      },
    ]);
    expect(appSentActions()).toEqual(['sts:AssumeRole', 'ec2:DescribeVpcs', 'ec2:DescribeSubnets']);
  });

  it('refuses configured subnets in a single zone, and a plan with no account', async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-x', VpcId: 'vpc-9', AvailabilityZone: 'eu-central-1a' }] });

    await expect(appProvider({ subnetIds: ['subnet-x'] }).preflightApp(appTarget(bare))).rejects.toThrow(/at least two Availability Zones/);
    expect(inputs(ec2Mock.commandCalls(DescribeSubnetsCommand))).toEqual([{ SubnetIds: ['subnet-x'] }]);
    await expect(appProvider().preflightApp(appTarget(bare, { account: undefined }))).rejects.toThrow(PermanentError);
  });
});

itSentOnlyAppActions(APP_ACTIONS_PROVEN.build);
