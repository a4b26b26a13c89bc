import { renderCertificateAuthoritySecret, renderGcpComponent, renderGcpNetwork } from '@cloudseed/shared/targets/gcp/index';
import type { GcpComponent } from '@cloudseed/shared/targets/gcp/index';
import type { AuthClient } from 'google-auth-library';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type {
  ArchiveBackupResult,
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
  ProviderMetrics,
  RecoveryTarget,
  RecoveryWindow,
  Switchover,
  ValidationResult,
} from '../provider.ts';
import { AccountAccessError, PermanentError, TransientError } from '../errors.ts';
import { gcpClients, realClock } from './clients.ts';
import type { Clock, GcpClients, GcpContext } from './clients.ts';
import * as archive from '../node-backups/archive.ts';
import * as backups from '../node-backups/backups.ts';
import * as reform from '../node-backups/reform.ts';
import { backupHost, gcsStore } from './backups.ts';
import { readServerLog } from '../node-backups/server-log.ts';
import { readTopQueries, resetTopQueries } from '../node-backups/top-queries.ts';
import { setRolePassword } from '../node-backups/role-password.ts';
import { readStoredMetrics } from '../node-backups/stored-metrics.ts';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import { METRICS_FOLDER } from '@cloudseed/shared/targets/aws/scripts';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import * as commands from './commands.ts';
import * as endpoint from './endpoint.ts';
import * as ha from './ha.ts';
import { call } from './errors.ts';
import * as network from './network.ts';
import * as nodes from './nodes.ts';
import * as secrets from './secrets.ts';

// The Provider port on Google Cloud: Compute Engine instances in the customer's project, with no
// external address and no SSH, taking commands through their agent (metadata in, guest attributes
// out), their secrets in Secret Manager and their backups in Cloud Storage. This class only composes
// the services, one module each: network (the plan's VPC and the component's firewall rules), nodes
// (service account, backup bucket access, instances), endpoint (a Patroni cluster's load balancer),
// secrets, commands, backups (the scripts of ../node-backups on the primary, Cloud Storage). Every
// service finds its resources by the names gcp-json gives them, so a retried step converges instead
// of duplicating.

const MAX_CLIENT_SETS = 16;

export interface GcpProviderOptions {
  /**
   * The credentials of the customer's project for a target (providers/index.ts: Workload Identity
   * Federation trusting the platform's role, then impersonating the customer's service account).
   * Default: none; every call is refused with AccountAccessError.
   */
  readonly authFor?: (target: DeployTarget) => AuthClient;
  /** Builds the clients on the credentials; tests hand in clients whose methods are stubbed. */
  readonly clientsFor?: (auth: AuthClient, project: string) => GcpClients;
  readonly clock?: Clock;
}

const noConnection = (target: DeployTarget): AuthClient => {
  throw new AccountAccessError(
    `no credentials for project ${target.target.cloud === 'gcp' ? target.target.project : '?'} were given: plan ${target.planId} names no connected Google Cloud project`,
  );
};

export class GcpProvider implements Provider {
  readonly #authFor: (target: DeployTarget) => AuthClient;
  readonly #clientsFor: (auth: AuthClient, project: string) => GcpClients;
  readonly #clock: Clock;
  readonly #clients = new Map<string, GcpClients>();
  readonly #contexts = new WeakMap<DeployTarget, GcpContext>();

  constructor(options: GcpProviderOptions = {}) {
    this.#authFor = options.authFor ?? noConnection;
    this.#clientsFor = options.clientsFor ?? gcpClients;
    this.#clock = options.clock ?? realClock;
  }

  async preflight(target: DeployTarget): Promise<void> {
    const context = this.#context(target);
    await call('compute.networks.list', () => context.clients.networks.list({ project: context.project, maxResults: 1 }, { autoPaginate: false }));
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
    return network.ensureNetwork(this.#context(target));
  }

  /** The nodes find their network by its name in gcp-json; the reference ensureSecurityGroup gave is not needed. */
  async launchNodes(target: DeployTarget, _network?: NetworkRef): Promise<NodeRef[]> {
    const context = this.#context(target);
    const launched = await nodes.launchNodes(context);
    // Before configure: the servers' certificates name the load balancer.
    await endpoint.ensureEndpoint(context, launched);
    return launched;
  }

  nodesReady(target: DeployTarget, refs: readonly NodeRef[]): Promise<Progress> {
    return nodes.nodesReady(this.#context(target), refs);
  }

  async sendCommand(target: DeployTarget, refs: readonly NodeRef[], kind: CommandKind): Promise<CommandRef> {
    const context = this.#context(target);
    const balancer = kind === 'configure' && context.component.endpoint ? await endpoint.describeEndpoint(context) : undefined;
    if (kind === 'configure' && context.component.endpoint && !balancer)
      throw new TransientError(`the load balancer of ${context.component.id} does not exist yet; launching the nodes makes it`);
    return commands.sendCommand(context, refs, kind, balancer?.host);
  }

  commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress> {
    return commands.commandStatus(this.#context(target), command);
  }

  verify(target: DeployTarget, refs: readonly NodeRef[]): Promise<void> {
    return commands.verify(this.#context(target), refs);
  }

  ensureEndpoint(target: DeployTarget, refs: readonly NodeRef[]): Promise<ClusterEndpoint | undefined> {
    return endpoint.ensureEndpoint(this.#context(target), refs);
  }

  health(target: DeployTarget, refs: readonly NodeRef[]): Promise<NodeHealth[]> {
    return nodes.health(this.#context(target), refs);
  }

  stopNodes(target: DeployTarget, refs: readonly NodeRef[]): Promise<Progress> {
    return nodes.stopNodes(this.#context(target), refs);
  }

  async destroy(target: DeployTarget): Promise<void> {
    const context = this.#context(target);
    await nodes.deleteNodes(context);
    await endpoint.removeEndpoint(context);
    await network.removeNetwork(context);
    await secrets.deleteSecrets(context);
    await nodes.removeIdentity(context);
  }

  async backup(target: DeployTarget, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
    const context = this.#context(target);
    return backups.backup(backupHost(context), await ha.writerOf(context, primary), location);
  }

  async validateBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult> {
    const context = this.#context(target);
    return backups.validateBackup(backupHost(context), await ha.writerOf(context, primary), location, recorded);
  }

  async restoreBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
    const context = this.#context(target);
    await backups.restoreBackup(backupHost(context), await ha.writerOf(context, primary), location, recorded);
  }

  /** What the nodes' collectors stored beside the component's backups (publish-metrics.sh). */
  metrics(target: DeployTarget, nodeRefs: readonly NodeRef[], query: MetricsQuery): Promise<ProviderMetrics> {
    const context = this.#context(target);
    const { name, prefix } = context.component.backup.bucket;
    return readStoredMetrics(gcsStore(context.clients.storage), { bucket: name, prefix: `${prefix}${METRICS_FOLDER}` }, nodeRefs, query);
  }

  async topQueries(target: DeployTarget, primary: NodeRef, request: TopQueriesRequest): Promise<TopQuery[]> {
    const context = this.#context(target);
    return readTopQueries(
      backupHost(context),
      await ha.writerOf(context, primary),
      { database: target.component.db.databaseName, role: target.component.db.username },
      request,
    );
  }

  async resetTopQueries(target: DeployTarget, primary: NodeRef): Promise<void> {
    const context = this.#context(target);
    await resetTopQueries(backupHost(context), await ha.writerOf(context, primary), {
      database: target.component.db.databaseName,
      role: target.component.db.username,
    });
  }

  async setRolePassword(target: DeployTarget, primary: NodeRef, role: string, verifier: string): Promise<void> {
    const context = this.#context(target);
    await setRolePassword(backupHost(context), await ha.writerOf(context, primary), role, verifier);
  }

  serverLog(target: DeployTarget, node: NodeRef): Promise<string> {
    return readServerLog(backupHost(this.#context(target)), node);
  }

  async deleteBackup(target: DeployTarget, location: BackupLocation): Promise<void> {
    await backups.deleteBackup({ store: gcsStore(this.#context(target).clients.storage) }, location);
  }

  async archiveBackup(target: DeployTarget, primary: NodeRef, request: { backupId: string; type: ArchiveBackupType }): Promise<ArchiveBackupResult> {
    const context = this.#context(target);
    return archive.archiveBackup(backupHost(context), await ha.writerOf(context, primary), request);
  }

  async validateArchiveBackup(target: DeployTarget, primary: NodeRef, recorded: ArchiveBackupResult): Promise<ValidationResult> {
    const context = this.#context(target);
    return archive.validateArchiveBackup(backupHost(context), await ha.writerOf(context, primary), recorded);
  }

  async recoveryWindow(target: DeployTarget, primary: NodeRef): Promise<RecoveryWindow | undefined> {
    const context = this.#context(target);
    return archive.recoveryWindow(backupHost(context), await ha.writerOf(context, primary));
  }

  async restoreToPoint(target: DeployTarget, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
    const context = this.#context(target);
    // Under Patroni the cluster is dissolved, its leader restored and the cluster formed again.
    if (context.component.patroni) return reform.restorePatroniCluster(ha.patroniHost(context), primary, recoveryTarget);
    await archive.restoreToPoint(backupHost(context), primary, recoveryTarget);
  }

  async rebuildReplicas(target: DeployTarget, primary: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
    const context = this.#context(target);
    if (context.component.patroni) {
      const host = ha.patroniHost(context);
      return reform.rebuildPatroniReplicas(host, await reform.leaderNode(host), replicas);
    }
    await archive.rebuildReplicas(backupHost(context), primary, replicas);
  }

  switchover(target: DeployTarget, candidate?: string): Promise<Switchover> {
    return ha.switchover(this.#context(target), candidate);
  }

  /** The target's gcp-json (its component, the plan's network and CA secret) and the project's clients; once per target. */
  #context(target: DeployTarget): GcpContext {
    const known = this.#contexts.get(target);
    if (known) return known;
    if (target.target.cloud !== 'gcp')
      throw new PermanentError(`the Google Cloud provider deploys plans that target gcp, not ${target.target.cloud}`);
    const { project, region, zone } = target.target;
    const where = { planId: target.planId, planName: target.planName, project, region, zone };
    let component: GcpComponent;
    try {
      component = renderGcpComponent(target.component, { ...where, ...(target.linkedApps?.length ? { linkedApps: target.linkedApps } : {}) });
    } catch (error) {
      throw new PermanentError(`${target.planId}/${target.component.id} cannot be rendered for Google Cloud: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const key = `${project}/${target.deploymentId}`;
    let clients = this.#clients.get(key);
    if (!clients) {
      clients = this.#clientsFor(this.#authFor(target), project);
      // The provider lives as long as the Lambda container: keep the clients of the latest deployments only.
      if (this.#clients.size >= MAX_CLIENT_SETS) this.#clients.delete(this.#clients.keys().next().value!);
      this.#clients.set(key, clients);
    }
    const context: GcpContext = {
      target,
      project,
      region,
      zone,
      component,
      network: renderGcpNetwork(where),
      certificateAuthority: renderCertificateAuthoritySecret(where, [component.serviceAccount.email]),
      clients,
      clock: this.#clock,
    };
    this.#contexts.set(target, context);
    return context;
  }
}
