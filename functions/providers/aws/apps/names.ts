import { createHash } from 'node:crypto';
import type { Tag } from '@cloudseed/shared';
import type { AccountConnection } from '../../provider.ts';
import type { AppTarget } from '../../app-provider.ts';
import { PermanentError } from '../../errors.ts';

// What an app's resources are called in the customer's account. Everything an app has is its own
// (an ECS cluster, an ALB, two security groups, an ECR repository, a CodeBuild project, a log group,
// parameters), named from the plan and the app so every call finds it again without a lookup table:
//
//   cloudseed-<plan>-<app>           ECS cluster, service, task definition family, CodeBuild project
//   cloudseed-<plan>-<app>_release   the release command's task definition family
//   cloudseed-<plan>-<app>_app|_lb   the tasks' and the load balancer's security groups
//   cloudseed/<plan>/<app>           ECR repository
//   /cloudseed/apps/<plan>/<app>     log group: build/…, release/… and run/… streams
//   /cloudseed/<plan>/<app>/…        parameters: database-url, database-password, database-ca, secrets/<NAME>
//   cs-<24 hex>                      ALB and target group (ELB names are at most 32 characters)
//
// Component ids are lower-case letters, digits and hyphens, so a suffix after `_` can never be
// another component's name (a database `web-lb` beside an app `web`). The customer template grants
// the CloudSeed role these prefixes only, and the roles below.

/** The IAM path of the roles the customer template creates for apps; CloudSeed may pass them, never change them. */
export const APP_ROLE_PATH = '/cloudseed/apps/';
/** What ECS uses to pull an app's image, write its logs and read its parameters (never given to the app's own code). */
export const APP_TASK_EXECUTION_ROLE_NAME = 'CloudSeedAppTaskExecution';
/** What CodeBuild builds and pushes an app's image with. */
export const APP_BUILD_ROLE_NAME = 'CloudSeedAppBuild';

/** Every app resource's name starts with this (the customer template scopes the CloudSeed role to it). */
export const APP_NAME_PREFIX = 'cloudseed-';
/** ECR repositories of apps: `cloudseed/<plan>/<app>`. */
export const APP_REPOSITORY_PREFIX = 'cloudseed/';
/** Log groups of apps: `/cloudseed/apps/<plan>/<app>`. */
export const APP_LOG_GROUP_PREFIX = '/cloudseed/apps/';
/** The parameters of an app that its tasks read (the execution role may read only these under /cloudseed/). */
export const APP_TASK_PARAMETER_PATTERNS = ['cloudseed/*/*/database-*', 'cloudseed/*/*/secrets/*'] as const;

/** The container that serves, and the one that runs the release command. */
export const APP_CONTAINER = 'app';
export const RELEASE_CONTAINER = 'release';
/** A linked app's tasks: this container writes the database's CA certificate into the shared volume first. */
export const CA_CONTAINER = 'cloudseed-ca';
export const SHARED_VOLUME = 'cloudseed';
export const SHARED_MOUNT = '/cloudseed';
export const DATABASE_CA_FILE = `${SHARED_MOUNT}/database-ca.pem`;

/** Log stream prefixes, and the source each stands for. */
export const LOG_PREFIXES = { build: 'build', release: 'release', run: 'run' } as const;

const PLAN_ID = /^[a-z0-9][a-z0-9-]{0,49}$/;
const APP_ID = /^[a-z][a-z0-9-]{0,30}$/;
const ROLE_ARN = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role\//;

export interface AppNames {
  readonly base: string;
  readonly cluster: string;
  readonly service: string;
  readonly family: string;
  readonly releaseFamily: string;
  readonly project: string;
  readonly repository: string;
  readonly logGroup: string;
  /** The ALB's and its target group's name. */
  readonly loadBalancer: string;
  readonly appSecurityGroup: string;
  readonly loadBalancerSecurityGroup: string;
  readonly databaseUrlParameter: string;
  readonly databasePasswordParameter: string;
  readonly databaseCaParameter: string;
  /** Where the value of the app's secret `name` is kept (SecureString); whoever sets secrets writes it there. */
  secretParameter(name: string): string;
  /** The database component's security group (network.ts of the database side names it so). */
  databaseSecurityGroup(databaseId: string): string;
  /** A Patroni cluster's load balancer group, in front of the database's own. */
  databaseEndpointSecurityGroup(databaseId: string): string;
  /** Application Auto Scaling's id of the service. */
  readonly scalableResource: string;
}

export function appNames(planId: string, appId: string): AppNames {
  // Plan ids are UUIDs; ECR takes lower-case names only, and IAM scopes the role to these shapes.
  if (!PLAN_ID.test(planId)) throw new PermanentError(`plan id ${JSON.stringify(planId)} cannot name an app's resources`);
  if (!APP_ID.test(appId)) throw new PermanentError(`component id ${JSON.stringify(appId)} cannot name an app's resources`);
  const base = `${APP_NAME_PREFIX}${planId}-${appId}`;
  const parameters = `/cloudseed/${planId}/${appId}`;
  return {
    base,
    cluster: base,
    service: base,
    family: base,
    releaseFamily: `${base}_release`,
    project: base,
    repository: `${APP_REPOSITORY_PREFIX}${planId}/${appId}`,
    logGroup: `${APP_LOG_GROUP_PREFIX}${planId}/${appId}`,
    loadBalancer: loadBalancerName(planId, appId),
    appSecurityGroup: `${base}_app`,
    loadBalancerSecurityGroup: `${base}_lb`,
    databaseUrlParameter: `${parameters}/database-url`,
    databasePasswordParameter: `${parameters}/database-password`,
    databaseCaParameter: `${parameters}/database-ca`,
    secretParameter: (name) => `${parameters}/secrets/${name}`,
    databaseSecurityGroup: (databaseId) => `cloudseed-${planId}-${databaseId}`,
    databaseEndpointSecurityGroup: (databaseId) => `cloudseed-${planId}-${databaseId}-endpoint`,
    scalableResource: `service/${base}/${base}`,
  };
}

/** `cs-` and 24 hex digits of the plan and app: never a database endpoint's name, which hashes `<plan>/<component>`. */
export function loadBalancerName(planId: string, appId: string): string {
  return `cs-${createHash('sha256').update(`app/${planId}/${appId}`).digest('hex').slice(0, 24)}`;
}

/** 32 hex digits standing for `parts`: an idempotency token within the limits of every API that takes one. */
export function token(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** Where in the account the app goes: the partition and account of the customer's role, the connection's region. */
export interface AccountScope {
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
}

export function accountScope(account: AccountConnection): AccountScope {
  const match = ROLE_ARN.exec(account.roleArn);
  if (!match) throw new PermanentError(`${account.roleArn} is not an IAM role ARN`);
  return { partition: match[1]!, accountId: match[2]!, region: account.region };
}

export function roleArn(scope: AccountScope, name: string): string {
  return `arn:${scope.partition}:iam::${scope.accountId}:role${APP_ROLE_PATH}${name}`;
}

export function parameterArn(scope: AccountScope, name: string): string {
  return `arn:${scope.partition}:ssm:${scope.region}:${scope.accountId}:parameter${name}`;
}

/** cloudseed:managed, cloudseed:plan-id and cloudseed:component: what the customer role's policy and teardown go by. */
export function appTags(target: AppTarget): Tag[] {
  return [
    { Key: 'cloudseed:managed', Value: 'true' },
    { Key: 'cloudseed:plan-id', Value: target.planId },
    { Key: 'cloudseed:component', Value: target.component.id },
  ];
}

/** The same tags as ECS and CodeBuild spell them. */
export function lowerCaseTags(target: AppTarget): { key: string; value: string }[] {
  return appTags(target).map((tag) => ({ key: tag.Key, value: tag.Value }));
}

/** The same tags as CloudWatch Logs and Application Auto Scaling take them. */
export function tagMap(target: AppTarget): Record<string, string> {
  return Object.fromEntries(appTags(target).map((tag) => [tag.Key, tag.Value]));
}
