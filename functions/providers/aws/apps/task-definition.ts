import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import type { ContainerDefinition, KeyValuePair, LogConfiguration, RegisterTaskDefinitionRequest, Secret } from '@aws-sdk/client-ecs';
import type { AppRelease, DatabaseLink } from '../../app-provider.ts';
import { TransientError } from '../../errors.ts';
import { call } from '../errors.ts';
import type { AppContext } from './clients.ts';
import { linkVariables } from './link.ts';
import {
  APP_CONTAINER,
  APP_TASK_EXECUTION_ROLE_NAME,
  CA_CONTAINER,
  LOG_PREFIXES,
  lowerCaseTags,
  parameterArn,
  RELEASE_CONTAINER,
  roleArn,
  SHARED_MOUNT,
  SHARED_VOLUME,
  DATABASE_CA_FILE,
} from './names.ts';

// One task definition revision per release: the image of the build, Fargate ARM64 at the app's
// size, awsvpc, the app's variables (PORT, env, the database link's PG*) and its secrets read by
// ECS from Parameter Store when each task starts, logs to the app's log group. The app has no task
// role: its code gets no AWS credentials. The execution role (the customer template's) is what ECS
// pulls the image, writes the logs and reads the parameters with.
//
// A linked app's tasks start with a small container from the same image that writes the
// database's CA certificate (a parameter) to a volume the app mounts read-only at /cloudseed, and
// exits; the app starts only once it succeeded. It runs as root (the volume belongs to root) and
// needs `sh` in the image.
//
// The release command runs as a revision of its own family (`…_release`) with the same image,
// variables, secrets and network, its container named `release`, logging under `release/`: its
// logs tell apart from the service's, and the service's family holds only what served.

/** Tags that say which deployment and build a revision belongs to: a retried rollout reuses it instead of registering another. */
const DEPLOYMENT_TAG = 'cloudseed:deployment';
const RELEASE_TAG = 'cloudseed:release';

export interface TaskDefinitions {
  readonly app: string;
  readonly release?: string;
}

/** Registers (or finds, for a retried rollout) the revisions of the release: the app's, and the release command's when the app has one. */
export async function ensureTaskDefinitions(
  context: AppContext,
  release: AppRelease,
  imageRepository: string,
  link: DatabaseLink | undefined,
): Promise<TaskDefinitions> {
  const image = `${imageRepository}:${release.buildId}`;
  const app = await ensureRevision(context, release, appTaskDefinition(context, release, image, link));
  const command = context.target.component.run.releaseCommand;
  if (command === undefined) return { app };
  const releaseDefinition = await ensureRevision(context, release, releaseTaskDefinition(context, image, link, command));
  return { app, release: releaseDefinition };
}

export function appTaskDefinition(
  context: AppContext,
  release: AppRelease,
  image: string,
  link: DatabaseLink | undefined,
): RegisterTaskDefinitionRequest {
  const { run } = context.target.component;
  // A repository's own Dockerfile starts the app its way unless the plan says how (a generated one has the plan's command as its CMD).
  const command = release.plan.dockerfile && run.startCommand !== undefined ? { command: ['sh', '-c', run.startCommand] } : {};
  const container: ContainerDefinition = {
    name: APP_CONTAINER,
    image,
    essential: true,
    portMappings: [{ containerPort: run.port, protocol: 'tcp' }],
    ...command,
    ...variables(context, link),
    logConfiguration: logConfiguration(context, LOG_PREFIXES.run),
    ...(link ? linkedMounts() : {}),
  };
  return taskDefinition(context, context.names.family, [...(link ? [caContainer(context, image)] : []), container], link !== undefined);
}

export function releaseTaskDefinition(
  context: AppContext,
  image: string,
  link: DatabaseLink | undefined,
  command: string,
): RegisterTaskDefinitionRequest {
  const container: ContainerDefinition = {
    name: RELEASE_CONTAINER,
    image,
    essential: true,
    command: ['sh', '-c', command],
    ...variables(context, link),
    logConfiguration: logConfiguration(context, LOG_PREFIXES.release),
    ...(link ? linkedMounts() : {}),
  };
  return taskDefinition(context, context.names.releaseFamily, [...(link ? [caContainer(context, image)] : []), container], link !== undefined);
}

function taskDefinition(context: AppContext, family: string, containers: ContainerDefinition[], shared: boolean): RegisterTaskDefinitionRequest {
  const { instances } = context.target.component;
  return {
    family,
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: String(instances.cpu),
    memory: String(instances.memoryMiB),
    runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
    executionRoleArn: roleArn(context.scope, APP_TASK_EXECUTION_ROLE_NAME),
    containerDefinitions: containers,
    ...(shared ? { volumes: [{ name: SHARED_VOLUME }] } : {}),
    tags: lowerCaseTags(context.target),
  };
}

/** PORT, the plan's env and the link's PG* as plain variables; the link's and the plan's secrets from Parameter Store. Sorted by name. */
function variables(context: AppContext, link: DatabaseLink | undefined): { environment: KeyValuePair[]; secrets?: Secret[] } {
  const { component } = context.target;
  const linked = link ? linkVariables(context, link) : { environment: {}, secrets: {} };
  const environment: Record<string, string> = { ...component.env, ...linked.environment, PORT: String(component.run.port) };
  const secrets: Record<string, string> = {
    ...Object.fromEntries(component.secrets.map((name) => [name, context.names.secretParameter(name)])),
    ...linked.secrets,
  };
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const secretList = Object.keys(secrets)
    .sort(byName)
    .map((name) => ({ name, valueFrom: parameterArn(context.scope, secrets[name]!) }));
  return {
    environment: Object.keys(environment)
      .sort(byName)
      .map((name) => ({ name, value: environment[name]! })),
    ...(secretList.length > 0 ? { secrets: secretList } : {}),
  };
}

function logConfiguration(context: AppContext, prefix: string): LogConfiguration {
  return {
    logDriver: 'awslogs',
    options: { 'awslogs-group': context.names.logGroup, 'awslogs-region': context.scope.region, 'awslogs-stream-prefix': prefix },
  };
}

function linkedMounts(): Pick<ContainerDefinition, 'mountPoints' | 'dependsOn'> {
  return {
    mountPoints: [{ sourceVolume: SHARED_VOLUME, containerPath: SHARED_MOUNT, readOnly: true }],
    dependsOn: [{ containerName: CA_CONTAINER, condition: 'SUCCESS' }],
  };
}

/** Writes the database's CA certificate where PGSSLROOTCERT and the URL's sslrootcert point, then exits. */
function caContainer(context: AppContext, image: string): ContainerDefinition {
  return {
    name: CA_CONTAINER,
    image,
    essential: false,
    user: '0',
    entryPoint: ['sh', '-c'],
    command: [`umask 022 && printf '%s\\n' "$CLOUDSEED_DATABASE_CA" > ${DATABASE_CA_FILE}`],
    secrets: [{ name: 'CLOUDSEED_DATABASE_CA', valueFrom: parameterArn(context.scope, context.names.databaseCaParameter) }],
    mountPoints: [{ sourceVolume: SHARED_VOLUME, containerPath: SHARED_MOUNT, readOnly: false }],
    logConfiguration: logConfiguration(context, LOG_PREFIXES.run),
  };
}

async function ensureRevision(context: AppContext, release: AppRelease, request: RegisterTaskDefinitionRequest): Promise<string> {
  const { ecs } = context.clients;
  const family = request.family!;
  const mine = [
    { key: DEPLOYMENT_TAG, value: context.target.deploymentId },
    { key: RELEASE_TAG, value: release.buildId },
  ];
  const listed = await call('ecs:ListTaskDefinitions', () =>
    ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: 1 })),
  );
  const newest = listed.taskDefinitionArns?.[0];
  if (newest) {
    const described = await call('ecs:DescribeTaskDefinition', () =>
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: newest, include: ['TAGS'] })),
    );
    const tags = described.tags ?? [];
    if (mine.every((tag) => tags.some((candidate) => candidate.key === tag.key && candidate.value === tag.value))) return newest;
  }
  const output = await call('ecs:RegisterTaskDefinition', () =>
    ecs.send(new RegisterTaskDefinitionCommand({ ...request, tags: [...(request.tags ?? []), ...mine] })),
  );
  const arn = output.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new TransientError(`ecs:RegisterTaskDefinition returned no revision of ${family}`);
  return arn;
}

/** Deregisters every revision of the app's two families. */
export async function deregisterTaskDefinitions(context: AppContext): Promise<void> {
  const { ecs } = context.clients;
  for (const family of [context.names.family, context.names.releaseFamily]) {
    let nextToken: string | undefined;
    do {
      const page = await call('ecs:ListTaskDefinitions', () =>
        ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', ...(nextToken ? { nextToken } : {}) })),
      );
      for (const arn of page.taskDefinitionArns ?? []) {
        // familyPrefix is the whole family name, but a family named like another's start must never be touched.
        if (familyOf(arn) !== family) continue;
        await call('ecs:DeregisterTaskDefinition', () => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
}

/** `arn:…:task-definition/<family>:<revision>` → family. */
export function familyOf(arn: string): string | undefined {
  return /:task-definition\/([^:]+):\d+$/.exec(arn)?.[1];
}
