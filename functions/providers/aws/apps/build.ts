import { readFileSync } from 'node:fs';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/aws/scripts';
import {
  BatchGetBuildsCommand,
  CreateProjectCommand,
  DeleteProjectCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
  UpdateProjectCommand,
} from '@aws-sdk/client-codebuild';
import type { Build, CreateProjectInput, EnvironmentVariable } from '@aws-sdk/client-codebuild';
import { CreateRepositoryCommand, DeleteRepositoryCommand, DescribeRepositoriesCommand, PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { renderDockerfile } from '@cloudseed/shared/apps/detect';
import type { BuildPlan } from '@cloudseed/shared/apps/detect';
import { parseRepoUrl } from '@cloudseed/shared/cs-json/app-schema';
import type { AppComponent } from '@cloudseed/shared';
import type { BuildProgress, BuildRef } from '../../app-provider.ts';
import { PermanentError, TransientError } from '../../errors.ts';
import { awsErrorCode, call } from '../errors.ts';
import type { AppContext } from './clients.ts';
import { FAILURE_TAIL, streamTail, withTail } from './logs.ts';
import { APP_BUILD_ROLE_NAME, appTags, LOG_PREFIXES, lowerCaseTags, roleArn, token } from './names.ts';

// An app's image on AWS: one CodeBuild project per app clones the repository at the branch (or the
// plan's commit), builds the image with Docker and pushes it to the app's ECR repository, tagged
// with the commit (and a digest of how it was built: tags are immutable). The project has no
// CodeBuild source: GitHub and GitLab sources need a connection to the provider even for public
// repositories, while git in the build clones any public https repository. So the commit comes
// back as an exported variable of the build (resolvedSourceVersion, had there been a source, is
// read first).
//
// Detection on AWS is the plan's, not the repository's: the build uses the repository's own
// Dockerfile when it has one; otherwise CloudSeed writes the Dockerfile (renderDockerfile) from the
// runtime and start command the plan gives (build.runtime, run.startCommand, and the install and
// build commands when given). An app with neither fails its build saying so: the detector reads the
// checked-out files, which only the build has.
//
// The build script is app-build.sh among the node scripts (shared/src/targets/sh/), read once
// when this module loads from SCRIPT_FOLDER, which a Lambda bundle carries beside its entry file.

const SCRIPT = readFileSync(new URL('app-build.sh', SCRIPT_FOLDER), 'utf8');
const SCRIPT_PATH = '/tmp/cloudseed-build.sh';
const STATE_PATH = '/tmp/cloudseed-build.env';

/** Amazon Linux 2023 on Graviton with Docker: the images run on Fargate ARM64. */
export const BUILD_IMAGE = 'aws/codebuild/amazonlinux-aarch64-standard:3.0';
const BUILD_TIMEOUT_MINUTES = 30;
const QUEUED_TIMEOUT_MINUTES = 60;
/** How many of the project's newest builds are looked through for one of the same deployment. */
const JOIN_WINDOW = 10;
/** ECR keeps this many of an app's newest images. */
export const KEPT_IMAGES = 20;

/** What the buildspec exports; buildStatus reads them from BatchGetBuilds. */
const EXPORTED = ['CLOUDSEED_COMMIT', 'CLOUDSEED_IMAGE_TAG', 'CLOUDSEED_DOCKERFILE', 'CLOUDSEED_RUNTIME'] as const;

/** The project's buildspec: the script written from base64 (no YAML quoting to get wrong), then one stage per phase. */
export function renderBuildspec(): string {
  const run = (stage: string) => `bash "$CLOUDSEED_SCRIPT" ${stage}`;
  return JSON.stringify(
    {
      version: '0.2',
      env: { shell: 'bash', variables: { CLOUDSEED_SCRIPT: SCRIPT_PATH, CLOUDSEED_STATE: STATE_PATH }, 'exported-variables': [...EXPORTED] },
      phases: {
        pre_build: {
          'on-failure': 'ABORT',
          commands: [`printf '%s' '${Buffer.from(SCRIPT).toString('base64')}' | base64 -d > "$CLOUDSEED_SCRIPT"`, run('fetch')],
        },
        build: { 'on-failure': 'ABORT', commands: [run('image')] },
        post_build: { commands: [run('push'), 'set -a && . "$CLOUDSEED_STATE" && set +a'] },
      },
    },
    null,
    2,
  );
}

/**
 * The build plan CloudSeed can know without the repository: the plan's runtime and start command
 * (and install and build commands), from which it writes the Dockerfile. Undefined when the plan
 * leaves either out: then the repository must bring its own Dockerfile.
 */
export function plannedBuild(component: AppComponent): BuildPlan | undefined {
  const { build, run } = component;
  if (build.runtime === undefined || run.startCommand === undefined) return undefined;
  const version = build.runtimeVersion === undefined ? '' : ` ${build.runtimeVersion}`;
  return {
    runtime: build.runtime,
    ...(build.runtimeVersion === undefined ? {} : { runtimeVersion: build.runtimeVersion }),
    ...(build.installCommand === undefined ? {} : { installCommand: build.installCommand }),
    ...(build.buildCommand === undefined ? {} : { buildCommand: build.buildCommand }),
    startCommand: run.startCommand,
    dockerfile: false,
    reasons: [
      `runtime: ${build.runtime}${version}, from the plan (build.runtime)`,
      build.installCommand === undefined ? 'install: none given in the plan' : 'install: build.installCommand of the plan',
      build.buildCommand === undefined ? 'build: none given in the plan' : 'build: build.buildCommand of the plan',
      'start: run.startCommand of the plan',
    ],
  };
}

/** What a release built from the repository's own Dockerfile says of itself: the Dockerfile decides, the plan's overrides apply on top. */
function dockerfilePlan(component: AppComponent, detectedRuntime: string | undefined): BuildPlan {
  const { build, run } = component;
  const runtime = build.runtime ?? (detectedRuntime === 'python' ? 'python' : 'node');
  return {
    runtime,
    ...(build.runtimeVersion === undefined ? {} : { runtimeVersion: build.runtimeVersion }),
    ...(build.installCommand === undefined ? {} : { installCommand: build.installCommand }),
    ...(build.buildCommand === undefined ? {} : { buildCommand: build.buildCommand }),
    startCommand: run.startCommand ?? "the Dockerfile's CMD",
    dockerfile: true,
    reasons: [
      "the repository's own Dockerfile, used as is",
      build.runtime === undefined ? `runtime: ${runtime}, as far as the repository's files tell` : 'runtime: build.runtime of the plan',
      run.startCommand === undefined ? "start: the Dockerfile's CMD" : 'start: run.startCommand of the plan, instead of the CMD',
    ],
  };
}

/** Creates the app's ECR repository (or finds it) and keeps its newest images; returns its URI. */
export async function ensureRepository(context: AppContext): Promise<string> {
  const { ecr } = context.clients;
  const repositoryName = context.names.repository;
  let uri: string | undefined;
  try {
    const output = await call('ecr:CreateRepository', () =>
      ecr.send(
        new CreateRepositoryCommand({
          repositoryName,
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfiguration: { encryptionType: 'AES256' },
          tags: appTags(context.target),
        }),
      ),
    );
    uri = output.repository?.repositoryUri;
  } catch (error) {
    if (awsErrorCode(error) !== 'RepositoryAlreadyExistsException') throw error;
    uri = await repositoryUri(context);
  }
  if (!uri) throw new TransientError(`ECR returned no URI for ${repositoryName}`);
  await call('ecr:PutLifecyclePolicy', () =>
    ecr.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText: JSON.stringify(lifecyclePolicy()) })),
  );
  return uri;
}

export function lifecyclePolicy() {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep the newest ${KEPT_IMAGES} images`,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: KEPT_IMAGES },
        action: { type: 'expire' },
      },
    ],
  };
}

/** The repository's URI, or undefined when it does not exist. */
export async function repositoryUri(context: AppContext): Promise<string | undefined> {
  const { ecr } = context.clients;
  try {
    const output = await call('ecr:DescribeRepositories', () =>
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [context.names.repository] })),
    );
    return output.repositories?.[0]?.repositoryUri;
  } catch (error) {
    if (awsErrorCode(error) === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
}

/** Deletes the repository with its images. */
export async function removeRepository(context: AppContext): Promise<void> {
  // Looked up first: the role may delete only repositories tagged as CloudSeed's, and a missing one has no tags.
  if ((await repositoryUri(context)) === undefined) return;
  const { ecr } = context.clients;
  try {
    await call('ecr:DeleteRepository', () => ecr.send(new DeleteRepositoryCommand({ repositoryName: context.names.repository, force: true })));
  } catch (error) {
    if (awsErrorCode(error) !== 'RepositoryNotFoundException') throw error;
  }
}

/** The project's settings: the same on every call, so a project made by an older CloudSeed converges. */
function projectSettings(context: AppContext): CreateProjectInput {
  const { names, target, scope } = context;
  return {
    name: names.project,
    description: `CloudSeed ${target.planName}/${target.component.id}: builds the app's image and pushes it to ECR ${names.repository}`,
    source: { type: 'NO_SOURCE', buildspec: renderBuildspec() },
    artifacts: { type: 'NO_ARTIFACTS' },
    environment: {
      type: 'ARM_CONTAINER',
      image: BUILD_IMAGE,
      computeType: 'BUILD_GENERAL1_SMALL',
      // Docker builds need the daemon CodeBuild runs only in privileged mode.
      privilegedMode: true,
      imagePullCredentialsType: 'CODEBUILD',
    },
    serviceRole: roleArn(scope, APP_BUILD_ROLE_NAME),
    timeoutInMinutes: BUILD_TIMEOUT_MINUTES,
    queuedTimeoutInMinutes: QUEUED_TIMEOUT_MINUTES,
    logsConfig: {
      cloudWatchLogs: { status: 'ENABLED', groupName: names.logGroup, streamName: LOG_PREFIXES.build },
      s3Logs: { status: 'DISABLED' },
    },
    tags: lowerCaseTags(target),
  };
}

export async function ensureProject(context: AppContext): Promise<void> {
  const { codebuild } = context.clients;
  const settings = projectSettings(context);
  try {
    await call('codebuild:CreateProject', () => codebuild.send(new CreateProjectCommand(settings)));
  } catch (error) {
    if (awsErrorCode(error) !== 'ResourceAlreadyExistsException') throw error;
    await call('codebuild:UpdateProject', () => codebuild.send(new UpdateProjectCommand(settings)));
  }
}

/** The variables one build runs with: what to build, and the deployment it belongs to (how a retried step finds it again). */
function buildVariables(context: AppContext, imageRepository: string): EnvironmentVariable[] {
  const { component, deploymentId } = context.target;
  const location = parseRepoUrl(component.source.repoUrl);
  if (typeof location === 'string' || location.kind !== 'https')
    throw new PermanentError(`app ${component.id}: AWS builds clone an https:// repository URL, not ${component.source.repoUrl}`);
  const plan = plannedBuild(component);
  const variables: Record<string, string> = {
    CLOUDSEED_DEPLOYMENT_ID: deploymentId,
    CLOUDSEED_REPO_URL: component.source.repoUrl,
    CLOUDSEED_BRANCH: component.source.branch,
    CLOUDSEED_COMMIT_WANTED: component.source.commit ?? '',
    CLOUDSEED_ROOT_DIR: component.source.rootDir,
    CLOUDSEED_IMAGE_REPO: imageRepository,
    CLOUDSEED_DOCKERFILE_B64: plan ? Buffer.from(renderDockerfile(plan)).toString('base64') : '',
  };
  return Object.entries(variables).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' }));
}

/** Joins the build this deployment started, or makes sure of the repository and project and starts one. */
export async function startBuild(context: AppContext, imageRepository: string): Promise<BuildRef> {
  const joined = await buildOfDeployment(context);
  if (joined) return { buildId: joined };
  const { codebuild } = context.clients;
  await ensureProject(context);
  const output = await call('codebuild:StartBuild', () =>
    codebuild.send(
      new StartBuildCommand({
        projectName: context.names.project,
        environmentVariablesOverride: buildVariables(context, imageRepository),
        idempotencyToken: token('build', context.target.deploymentId),
      }),
    ),
  );
  const id = output.build?.id;
  if (!id) throw new TransientError(`codebuild:StartBuild returned no build for ${context.names.project}`);
  return { buildId: id };
}

async function buildOfDeployment(context: AppContext): Promise<string | undefined> {
  const { codebuild } = context.clients;
  let ids: string[];
  try {
    const output = await call('codebuild:ListBuildsForProject', () =>
      codebuild.send(new ListBuildsForProjectCommand({ projectName: context.names.project, sortOrder: 'DESCENDING' })),
    );
    ids = (output.ids ?? []).slice(0, JOIN_WINDOW);
  } catch (error) {
    if (awsErrorCode(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
  if (ids.length === 0) return undefined;
  const builds = await batchGetBuilds(context, ids);
  const deployment = context.target.deploymentId;
  return builds.find((build) => variableOf(build.environment?.environmentVariables, 'CLOUDSEED_DEPLOYMENT_ID') === deployment)?.id;
}

async function batchGetBuilds(context: AppContext, ids: string[]): Promise<Build[]> {
  const output = await call('codebuild:BatchGetBuilds', () => context.clients.codebuild.send(new BatchGetBuildsCommand({ ids })));
  return output.builds ?? [];
}

function variableOf(variables: readonly { name?: string | undefined; value?: string | undefined }[] | undefined, name: string) {
  return variables?.find((variable) => variable.name === name)?.value;
}

const FAILED = new Set(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED']);
const SCRIPT_ERROR = /^cloudseed: error: (.*)$/;

export async function buildStatus(context: AppContext, ref: BuildRef): Promise<BuildProgress> {
  const [build] = await batchGetBuilds(context, [ref.buildId]);
  // Just started builds can take a moment to be described.
  if (!build) throw new TransientError(`CodeBuild does not know build ${ref.buildId} (yet)`);
  const status = build.buildStatus;
  if (status === 'IN_PROGRESS' || status === undefined) {
    return { state: 'pending', detail: `building: ${describePhase(build.currentPhase)}` };
  }
  if (status === 'SUCCEEDED') return { state: 'done', release: releaseOf(context, build) };
  if (FAILED.has(status)) {
    const lines =
      build.logs?.groupName && build.logs.streamName ? await streamTail(context, build.logs.groupName, build.logs.streamName, FAILURE_TAIL) : [];
    // What the build script said went wrong says more than "exit status 1" in a phase.
    const said = lines
      .map((line) => SCRIPT_ERROR.exec(line)?.[1])
      .filter((text) => text !== undefined)
      .pop();
    const reason = said === undefined ? failureOf(build) : `the build failed: ${said}`;
    return { state: 'failed', reason: withTail(reason, lines, 'last lines of the build log') };
  }
  return { state: 'pending', detail: `building: ${status}` };
}

function describePhase(phase: string | undefined): string {
  switch (phase) {
    case 'PRE_BUILD':
      return 'cloning the repository';
    case 'BUILD':
      return 'building the image';
    case 'POST_BUILD':
      return 'pushing the image';
    case undefined:
      return 'queued';
    default:
      return phase.toLowerCase().replaceAll('_', ' ');
  }
}

/** The failing phase and what CodeBuild says of it. */
function failureOf(build: Build): string {
  const phase = (build.phases ?? []).find((candidate) => candidate.phaseStatus !== undefined && candidate.phaseStatus !== 'SUCCEEDED');
  const context = (phase?.contexts ?? [])
    .map((item) => [item.statusCode, item.message].filter(Boolean).join(': '))
    .filter((text) => text !== '')
    .join('; ');
  const what =
    build.buildStatus === 'TIMED_OUT'
      ? `the build took longer than ${build.timeoutInMinutes ?? BUILD_TIMEOUT_MINUTES} minutes`
      : build.buildStatus === 'STOPPED'
        ? 'the build was stopped'
        : `the build ${build.buildStatus === 'FAULT' ? 'faulted' : 'failed'}`;
  if (!phase) return what;
  return `${what} in its ${phase.phaseType ?? 'unknown'} phase${context === '' ? '' : `: ${context}`}`;
}

function releaseOf(context: AppContext, build: Build) {
  const exported = build.exportedEnvironmentVariables;
  const commit = build.resolvedSourceVersion ?? variableOf(exported, 'CLOUDSEED_COMMIT');
  const tag = variableOf(exported, 'CLOUDSEED_IMAGE_TAG');
  if (!commit || !/^[0-9a-f]{40}$/.test(commit) || !tag)
    throw new PermanentError(`build ${build.id ?? ''} succeeded but did not report the commit and image it built`);
  const { component } = context.target;
  const generated = variableOf(exported, 'CLOUDSEED_DOCKERFILE') === 'generated';
  const plan = (generated ? plannedBuild(component) : undefined) ?? dockerfilePlan(component, variableOf(exported, 'CLOUDSEED_RUNTIME'));
  return { version: commit, buildId: tag, plan, builtAt: (build.endTime ?? new Date(context.clock.now())).toISOString() };
}

/** Stops the project's builds still running, then deletes the project (its builds' logs go with the log group). */
export async function removeProject(context: AppContext): Promise<void> {
  const { codebuild } = context.clients;
  const project = context.names.project;
  let ids: string[];
  try {
    const output = await call('codebuild:ListBuildsForProject', () =>
      codebuild.send(new ListBuildsForProjectCommand({ projectName: project, sortOrder: 'DESCENDING' })),
    );
    ids = (output.ids ?? []).slice(0, JOIN_WINDOW);
  } catch (error) {
    // No project: nothing runs, nothing to delete.
    if (awsErrorCode(error) !== 'ResourceNotFoundException') throw error;
    return;
  }
  const running = ids.length === 0 ? [] : (await batchGetBuilds(context, ids)).filter((build) => build.buildStatus === 'IN_PROGRESS');
  for (const build of running) {
    await call('codebuild:StopBuild', () => codebuild.send(new StopBuildCommand({ id: build.id! })));
  }
  try {
    await call('codebuild:DeleteProject', () => codebuild.send(new DeleteProjectCommand({ name: project })));
  } catch (error) {
    if (awsErrorCode(error) !== 'ResourceNotFoundException') throw error;
  }
}
