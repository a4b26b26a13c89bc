import { STSClient } from '@aws-sdk/client-sts';
import { renderAwsComponent, renderRegion } from '@cloudseed/shared/targets/aws/aws-json';
import type { AwsComponent } from '@cloudseed/shared';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import type {
  ArchiveBackupResult,
  RecoveryTarget,
  RecoveryWindow,
  BackupLocation,
  BackupResult,
  ClusterEndpoint,
  CommandKind,
  CommandRef,
  DeployTarget,
  NetworkRef,
  NodeHealth,
  NodeRef,
  Progress,
  Provider,
  Switchover,
  ValidationResult,
  ProviderMetrics,
} from '../provider.ts';
import { TransientError } from '../errors.ts';
import * as archive from '../node-backups/archive.ts';
import * as backups from '../node-backups/backups.ts';
import { readServerLog } from '../node-backups/server-log.ts';
import { readTopQueries, resetTopQueries } from '../node-backups/top-queries.ts';
import { setRolePassword } from '../node-backups/role-password.ts';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import { backupHost } from './backups.ts';
import { defaultClients, realClock } from './clients.ts';
import type { AwsContext, AwsPlacement } from './clients.ts';
import * as commands from './commands.ts';
import * as endpoint from './endpoint.ts';
import * as ha from './ha.ts';
import { AccountSessions } from './credentials.ts';
import type { ClientsFactory, Clock } from './credentials.ts';
import { desiredIngress, endpointIngress } from './ingress.ts';
import * as instances from './instances.ts';
import { readNodeMetrics } from './metrics.ts';
import * as network from './network.ts';
import * as reform from './reform.ts';
import * as secrets from './secrets.ts';
import { accountOf, checkTags } from './target.ts';

// The Provider port on AWS: EC2 instances with SSM as the only way in, in the customer's own
// account. This class only composes the services, one module each: network (security groups),
// instances (EC2 and the node role), endpoint (a Patroni cluster's load balancer), secrets (SSM Parameter Store), commands (SSM Run Command),
// backups (scripts on the primary, S3), archive (pgBackRest scripts on the nodes). Every service looks before it creates and finds its
// resources again by their tags, so a retried step or a re-run execution converges instead of
// duplicating. Errors are the port's (../errors.ts), mapped from the SDK's by errors.ts.

export interface AwsProviderOptions extends AwsPlacement {
  /** Platform-side STS client that assumes the customer's role. Default: standard retries, 5 attempts, the Lambda's region. */
  readonly sts?: STSClient;
  /** Builds EC2 and SSM clients for an account from the assumed role's credentials. Default: standard retries, 5 attempts, the account's region. */
  readonly clientsFor?: ClientsFactory;
  readonly clock?: Clock;
  /** The aws-json transformer. Tests hand in a tampered one to see what the provider refuses to deploy. */
  readonly render?: typeof renderAwsComponent;
}

export class AwsProvider implements Provider {
  readonly #placement: AwsPlacement;
  readonly #sessions: AccountSessions;
  readonly #clock: Clock;
  readonly #render: typeof renderAwsComponent;
  // A step asks for the component several times; the render is pure, so once per target is enough.
  readonly #rendered = new WeakMap<DeployTarget, AwsComponent>();

  constructor(options: AwsProviderOptions = {}) {
    const { vpcId, subnetId, commandLogGroup } = options;
    this.#placement = { ...(vpcId ? { vpcId } : {}), ...(subnetId ? { subnetId } : {}), ...(commandLogGroup ? { commandLogGroup } : {}) };
    this.#clock = options.clock ?? realClock;
    this.#render = options.render ?? renderAwsComponent;
    const sts = options.sts ?? new STSClient({ retryMode: 'standard', maxAttempts: 5 });
    this.#sessions = new AccountSessions(sts, options.clientsFor ?? defaultClients(), this.#clock);
  }

  async preflight(target: DeployTarget): Promise<void> {
    const account = accountOf(target);
    const component = this.#component(target);
    checkTags(target, component);
    desiredIngress(component, undefined);
    endpointIngress(component);
    await this.#sessions.credentials(account, target.deploymentId);
    await network.vpcIdOf(this.#context(target));
  }

  ensurePassword(target: DeployTarget): Promise<void> {
    return secrets.ensurePassword(this.#context(target));
  }

  readPassword(target: DeployTarget): Promise<string> {
    return secrets.readPassword(this.#context(target));
  }

  readCaCertificate(target: DeployTarget): Promise<string> {
    return secrets.readCaCertificate(this.#context(target));
  }

  ensureSecurityGroup(target: DeployTarget): Promise<NetworkRef> {
    return network.ensureSecurityGroup(this.#context(target));
  }

  async launchNodes(target: DeployTarget, networkRef: NetworkRef): Promise<NodeRef[]> {
    const context = this.#context(target);
    const nodes = await instances.launchNodes(context, networkRef);
    // Before configure: the servers' certificates name the load balancer.
    await endpoint.ensureEndpoint(context, nodes);
    return nodes;
  }

  nodesReady(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress> {
    return commands.nodesReady(this.#context(target), nodes);
  }

  async sendCommand(target: DeployTarget, nodes: readonly NodeRef[], kind: CommandKind): Promise<CommandRef> {
    const context = this.#context(target);
    const balancer = kind === 'configure' && context.component.endpoint ? await endpoint.describeEndpoint(context) : undefined;
    if (kind === 'configure' && context.component.endpoint && !balancer)
      throw new TransientError(`the load balancer of ${context.component.id} does not exist yet; launching the nodes makes it`);
    return commands.sendCommand(context, nodes, kind, balancer?.host);
  }

  commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress> {
    return commands.commandStatus(this.#context(target), command);
  }

  verify(target: DeployTarget, nodes: readonly NodeRef[]): Promise<void> {
    return commands.verify(this.#context(target), nodes);
  }

  ensureEndpoint(target: DeployTarget, nodes: readonly NodeRef[]): Promise<ClusterEndpoint | undefined> {
    return endpoint.ensureEndpoint(this.#context(target), nodes);
  }

  async topQueries(target: DeployTarget, primary: NodeRef, request: TopQueriesRequest): Promise<TopQuery[]> {
    const context = this.#context(target);
    return readTopQueries(
      backupHost(context),
      await writerOf(context, primary),
      { database: target.component.db.databaseName, role: target.component.db.username },
      request,
    );
  }

  async resetTopQueries(target: DeployTarget, primary: NodeRef): Promise<void> {
    const context = this.#context(target);
    await resetTopQueries(backupHost(context), await writerOf(context, primary), {
      database: target.component.db.databaseName,
      role: target.component.db.username,
    });
  }

  serverLog(target: DeployTarget, node: NodeRef): Promise<string> {
    return readServerLog(backupHost(this.#context(target)), node);
  }

  metrics(target: DeployTarget, nodes: readonly NodeRef[], query: MetricsQuery): Promise<ProviderMetrics> {
    return readNodeMetrics(this.#context(target).clients.cloudwatch, nodes, query);
  }

  health(target: DeployTarget, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
    const context = this.#context(target);
    const { component } = context;
    // A Patroni cluster's roles move by themselves: Patroni says who leads and who streams.
    if (ha.isPatroniCluster(component)) return ha.clusterHealth({ ...context, component }, nodes);
    return instances.health(context, nodes);
  }

  async setRolePassword(target: DeployTarget, primary: NodeRef, role: string, verifier: string): Promise<void> {
    const context = this.#context(target);
    await setRolePassword(backupHost(context), await writerOf(context, primary), role, verifier);
  }

  stopNodes(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress> {
    return instances.stopNodes(this.#context(target), nodes);
  }

  async destroy(target: DeployTarget): Promise<void> {
    const context = this.#context(target);
    await instances.terminateNodes(context);
    await endpoint.removeEndpoint(context);
    await network.removeSecurityGroup(context);
    await secrets.deleteSecrets(context);
    await instances.removeNodeRoleIfUnused(context);
  }

  async backup(target: DeployTarget, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
    const context = this.#context(target);
    return backups.backup(backupHost(context), await writerOf(context, primary), location);
  }

  async validateBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult> {
    const context = this.#context(target);
    return backups.validateBackup(backupHost(context), await writerOf(context, primary), location, recorded);
  }

  async restoreBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
    const context = this.#context(target);
    await backups.restoreBackup(backupHost(context), await writerOf(context, primary), location, recorded);
  }

  async deleteBackup(target: DeployTarget, location: BackupLocation): Promise<void> {
    await backups.deleteBackup(backupHost(this.#context(target)), location);
  }
  // --- continuous archiving: pgBackRest ------------------------------------------------------------

  async archiveBackup(target: DeployTarget, primary: NodeRef, request: { backupId: string; type: ArchiveBackupType }): Promise<ArchiveBackupResult> {
    const context = this.#context(target);
    return archive.archiveBackup(backupHost(context), await writerOf(context, primary), request);
  }

  async validateArchiveBackup(target: DeployTarget, primary: NodeRef, recorded: ArchiveBackupResult): Promise<ValidationResult> {
    const context = this.#context(target);
    return archive.validateArchiveBackup(backupHost(context), await writerOf(context, primary), recorded);
  }

  async recoveryWindow(target: DeployTarget, primary: NodeRef): Promise<RecoveryWindow | undefined> {
    const context = this.#context(target);
    return archive.recoveryWindow(backupHost(context), await writerOf(context, primary));
  }

  async restoreToPoint(target: DeployTarget, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
    const context = this.#context(target);
    const { component } = context;
    // Under Patroni the cluster is dissolved, its leader restored and the cluster formed again.
    if (ha.isPatroniCluster(component)) return reform.restorePatroniCluster({ ...context, component }, primary, recoveryTarget);
    await archive.restoreToPoint(backupHost(context), primary, recoveryTarget);
  }

  async rebuildReplicas(target: DeployTarget, primary: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
    const context = this.#context(target);
    const { component } = context;
    if (ha.isPatroniCluster(component)) {
      const patroniContext = { ...context, component };
      return reform.rebuildPatroniReplicas(patroniContext, await ha.leaderNode(patroniContext), replicas);
    }
    await archive.rebuildReplicas(backupHost(context), primary, replicas);
  }

  switchover(target: DeployTarget, candidate?: string): Promise<Switchover> {
    return ha.switchover(this.#context(target), candidate);
  }

  /** The target's account clients (refusing a target with no account), its aws-json component, the clock and where things go. */
  #context(target: DeployTarget): AwsContext {
    const clients = this.#sessions.clients(accountOf(target), target.deploymentId);
    return { target, component: this.#component(target), clients, clock: this.#clock, placement: this.#placement };
  }

  /** The target's component as aws-json, rendered for the plan's region. */
  #component(target: DeployTarget): AwsComponent {
    let component = this.#rendered.get(target);
    if (!component) {
      component = this.#render(target.component, {
        planId: target.planId,
        planName: target.planName,
        region: renderRegion(target.target),
        ...(target.linkedApps?.length ? { linkedApps: target.linkedApps } : {}),
      });
      this.#rendered.set(target, component);
    }
    return component;
  }
}

/** Where backups, validations and restores run: a Patroni cluster's leader now, else the primary the deployment gave. */
function writerOf(context: AwsContext, primary: NodeRef): Promise<NodeRef> {
  const { component } = context;
  return ha.isPatroniCluster(component) ? ha.leaderNode({ ...context, component }) : Promise.resolve(primary);
}
