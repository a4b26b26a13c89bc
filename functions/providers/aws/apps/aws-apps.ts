import { STSClient } from '@aws-sdk/client-sts';
import { NotFound } from '@cloudseed/shared/errors';
import { parseRepoUrl } from '@cloudseed/shared/cs-json/app-schema';
import type {
  AppEndpoint,
  AppProvider,
  AppRelease,
  AppTarget,
  BuildProgress,
  BuildRef,
  DatabaseLink,
  LogLine,
  Progress,
  RolloutRef,
} from '../../app-provider.ts';
import { PermanentError } from '../../errors.ts';
import { defaultClients, realClock } from '../clients.ts';
import { AccountSessions } from '../credentials.ts';
import type { ClientsFactory, Clock } from '../credentials.ts';
import * as build from './build.ts';
import { AppSessions, defaultAppClients } from './clients.ts';
import type { AppClientsFactory, AppContext, AppPlacement } from './clients.ts';
import * as link from './link.ts';
import * as logs from './logs.ts';
import { accountScope, appNames } from './names.ts';
import * as network from './network.ts';
import * as release from './release.ts';
import * as service from './service.ts';
import type { RolloutState } from './service.ts';
import * as taskDefinitions from './task-definition.ts';

// The AppProvider port on AWS, in the customer's account through the role CloudSeed assumes:
// CodeBuild builds the image into ECR (build.ts), a release command runs as a one-off Fargate task
// (release.ts), an ECS Fargate service behind an Application Load Balancer serves it, with a
// deployment circuit breaker and CPU target tracking (service.ts, task-definition.ts), a link to a
// database becomes parameters, variables and a security group rule (link.ts, network.ts), and the
// logs of all three are one log group (logs.ts). This class only composes them; each looks before
// it creates and finds its resources again by name, so a retried step converges.
//
// The address is http:// on the load balancer's DNS name: HTTPS needs a certificate for a domain
// the customer owns (ACM), which a plan cannot name yet.

export interface AwsAppProviderOptions extends AppPlacement {
  /** Platform-side STS client that assumes the customer's role. Default: standard retries, 5 attempts, the Lambda's region. */
  readonly sts?: STSClient;
  /** Builds the EC2, Elastic Load Balancing and SSM clients for an account (the database side's factory). */
  readonly clientsFor?: ClientsFactory;
  /** Builds the CodeBuild, ECR, ECS, CloudWatch Logs and Application Auto Scaling clients for an account. */
  readonly appClientsFor?: AppClientsFactory;
  readonly clock?: Clock;
}

export class AwsAppProvider implements AppProvider {
  readonly #placement: AppPlacement;
  readonly #sessions: AccountSessions;
  readonly #apps: AppSessions;
  readonly #clock: Clock;

  constructor(options: AwsAppProviderOptions = {}) {
    const { subnetIds, assignPublicIp } = options;
    this.#placement = {
      ...(subnetIds && subnetIds.length > 0 ? { subnetIds: [...subnetIds] } : {}),
      ...(assignPublicIp === undefined ? {} : { assignPublicIp }),
    };
    this.#clock = options.clock ?? realClock;
    const sts = options.sts ?? new STSClient({ retryMode: 'standard', maxAttempts: 5 });
    this.#sessions = new AccountSessions(sts, options.clientsFor ?? defaultClients(), this.#clock);
    this.#apps = new AppSessions(this.#sessions, options.appClientsFor ?? defaultAppClients());
  }

  async preflightApp(target: AppTarget): Promise<void> {
    const context = this.#context(target);
    const { component } = target;
    const location = parseRepoUrl(component.source.repoUrl);
    if (typeof location === 'string' || location.kind !== 'https')
      throw new PermanentError(`app ${component.id}: AWS builds clone a public https:// repository, not ${component.source.repoUrl}`);
    await this.#sessions.credentials(accountOf(target), target.deploymentId);
    await network.appNetwork(context);
  }

  async startBuild(target: AppTarget): Promise<BuildRef> {
    const context = this.#context(target);
    await logs.ensureLogGroup(context);
    const repository = await build.ensureRepository(context);
    return build.startBuild(context, repository);
  }

  buildStatus(target: AppTarget, ref: BuildRef): Promise<BuildProgress> {
    return build.buildStatus(this.#context(target), ref);
  }

  async startRollout(target: AppTarget, built: AppRelease, database: DatabaseLink | undefined): Promise<RolloutRef> {
    const context = this.#context(target);
    const startedAt = this.#clock.now();
    await logs.ensureLogGroup(context);
    const where = await network.appNetwork(context);
    const groups = await network.ensureAppGroups(context, where);
    const linked = target.component.database?.component;
    if (database) {
      if (linked !== undefined && database.componentId !== linked)
        throw new PermanentError(`app ${target.component.id} is linked to ${linked}, not to ${database.componentId}`);
      await link.writeLinkParameters(context, database);
      // Before the new version starts: it must reach the database from its first request.
      const ports = database.hosts.map((host) => host.port);
      await network.admitToDatabase(context, database.componentId, groups.appGroupId, where.vpcId, ports);
    }
    const repository = await build.repositoryUri(context);
    if (!repository) throw new PermanentError(`the image repository of ${target.component.id} does not exist; build the app first`);
    await service.ensureCluster(context);
    const targetGroupArn = await service.ensureLoadBalancer(context, where, groups.loadBalancerGroupId);
    const revisions = await taskDefinitions.ensureTaskDefinitions(context, built, repository, database);
    const wiring = { network: where, appGroupId: groups.appGroupId, targetGroupArn };
    let state: RolloutState = { taskDefinition: revisions.app, startedAt, wiring };
    if (revisions.release) {
      const task = await release.runRelease(context, revisions.release, where, groups.appGroupId, built.buildId);
      state = { ...state, releaseTask: task };
    } else {
      await service.ensureService(context, revisions.app, wiring);
    }
    return { rolloutId: JSON.stringify(state) };
  }

  async rolloutStatus(target: AppTarget, rollout: RolloutRef): Promise<Progress> {
    const context = this.#context(target);
    const progress = await service.rolloutStatus(context, parseRollout(rollout));
    if (progress.state === 'done') await this.#forgetOldLinks(context);
    return progress;
  }

  async endpoint(target: AppTarget): Promise<AppEndpoint> {
    const balancer = await service.findLoadBalancer(this.#context(target));
    if (!balancer?.DNSName) throw new NotFound(`app ${target.component.id} of plan ${target.planId} has no address yet (not rolled out?)`);
    return { url: `http://${balancer.DNSName}` };
  }

  logs(target: AppTarget, tail: number): Promise<LogLine[]> {
    return logs.appLogs(this.#context(target), tail);
  }

  /** Dependents before what they depend on, as the database side's teardown: scaling, service, tasks, cluster, balancer, rules, groups, images, builds, parameters, logs. */
  async destroyApp(target: AppTarget): Promise<void> {
    const context = this.#context(target);
    await service.removeScaling(context);
    await service.removeService(context);
    await release.stopReleases(context);
    await taskDefinitions.deregisterTaskDefinitions(context);
    await service.removeCluster(context);
    await service.removeLoadBalancer(context);
    const appGroup = await network.appGroupId(context);
    if (appGroup) await network.revokeDatabaseAccess(context, appGroup);
    await network.removeAppGroups(context);
    await build.removeRepository(context);
    await build.removeProject(context);
    await link.deleteParameters(context, { secrets: true });
    await logs.removeLogGroup(context);
  }

  /** After a rollout: databases the app is no longer linked to stop admitting it, and an unlinked app's link parameters go. */
  async #forgetOldLinks(context: AppContext): Promise<void> {
    const linked = context.target.component.database?.component;
    const appGroup = await network.appGroupId(context);
    if (appGroup) {
      const keep = linked === undefined ? [] : [context.names.databaseSecurityGroup(linked), context.names.databaseEndpointSecurityGroup(linked)];
      await network.revokeDatabaseAccess(context, appGroup, keep);
    }
    if (linked === undefined) await link.deleteParameters(context, { secrets: false });
  }

  putSecrets(target: AppTarget, values: Readonly<Record<string, string>>): Promise<void> {
    return link.putSecrets(this.#context(target), values);
  }

  #context(target: AppTarget): AppContext {
    const account = accountOf(target);
    return {
      target,
      names: appNames(target.planId, target.component.id),
      scope: accountScope(account),
      clients: this.#apps.clients(account, target.deploymentId),
      clock: this.#clock,
      placement: this.#placement,
    };
  }
}

function accountOf(target: AppTarget) {
  if (!target.account || 'cloud' in target.account) {
    throw new PermanentError(
      `plan ${target.planId} deploys to AWS but no AWS account is connected; connect the account (role ARN and ExternalId) and deploy again`,
    );
  }
  return target.account;
}

function parseRollout(rollout: RolloutRef): RolloutState {
  try {
    const state = JSON.parse(rollout.rolloutId) as RolloutState;
    if (typeof state.taskDefinition === 'string' && typeof state.startedAt === 'number' && typeof state.wiring === 'object') return state;
  } catch {
    // Reported below.
  }
  throw new PermanentError(`rollout ${rollout.rolloutId.slice(0, 80)} was not started by this provider`);
}
