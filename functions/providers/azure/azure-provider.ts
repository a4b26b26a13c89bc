import { readServerLog } from '../node-backups/server-log.ts';
import { readTopQueries, resetTopQueries } from '../node-backups/top-queries.ts';
import { setRolePassword } from '../node-backups/role-password.ts';
import { readStoredMetrics } from '../node-backups/stored-metrics.ts';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import { METRICS_FOLDER } from '@cloudseed/shared/targets/aws/scripts';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient, PipelineRetryOptions } from '@azure/core-rest-pipeline';
import { BACKUP_RESOURCE_GROUP, renderAzureComponent } from '@cloudseed/shared/targets/azure/azure-json';
import type { AzureComponent } from '@cloudseed/shared/targets/azure/azure-json';
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
import { readResource } from './arm.ts';
import { createClients, realClock } from './clients.ts';
import type { AzureClients, AzureContext, Clock, Waits } from './clients.ts';
import * as commands from './commands.ts';
import * as endpoint from './endpoint.ts';
import * as ha from './ha.ts';
import * as network from './network.ts';
import * as nodes from './nodes.ts';
import * as secrets from './secrets.ts';
import * as archive from '../node-backups/archive.ts';
import * as backups from '../node-backups/backups.ts';
import * as reform from '../node-backups/reform.ts';
import { backupHost, blobStore } from './backups.ts';
import { azureTargetOf } from './target.ts';

// The Provider port on Azure: zonal Linux VMs in the customer's resource group, reached only through
// Run Command, as azure-json renders them. This class only composes the modules: network (security
// group, VNet, subnet), secrets (key vault), nodes (identity, NICs, VMs, the backup account),
// endpoint (a Patroni cluster's load balancer), commands (Run Command) and backups (the scripts of
// ../node-backups on the primary, Blob Storage). Every module looks
// before it writes and finds its resources again by the ids the document gives them, so a retried
// step converges instead of duplicating. Errors are the port's, mapped from the SDK's by errors.ts.

export interface AzureProviderOptions {
  /** The credential for the target's subscription. Default: none; every call is refused with AccountAccessError. */
  readonly credentialFor?: (target: DeployTarget) => TokenCredential;
  /** Sends every request of every SDK client (tests answer them in memory). Default: the SDK's own. */
  readonly httpClient?: HttpClient;
  readonly clock?: Clock;
  /** Retries of 429, 5xx and network failures inside the SDK, before a TransientError. Default: 4, from 1 s up to 16 s apart. */
  readonly retry?: PipelineRetryOptions;
  /** Default: 5 s between polls, at most 8 minutes of waiting in one step (destroy's Lambda has 10). */
  readonly waits?: Partial<Waits>;
}

const DEFAULT_RETRY: PipelineRetryOptions = { maxRetries: 4, retryDelayInMs: 1_000, maxRetryDelayInMs: 16_000 };
const DEFAULT_WAITS: Waits = { pollIntervalMs: 5_000, limitMs: 8 * 60_000 };
const RESOURCE_GROUPS_API_VERSION = '2021-04-01';

/** Without credentials (providers/index.ts hands in the connected resource group's), nothing is reached. */
const noConnectedSubscription = (target: DeployTarget): never => {
  throw new AccountAccessError(
    `no credentials for subscription ${azureTargetOf(target).subscriptionId} were given: plan ${target.planId} names no connected Azure resource group`,
  );
};

export class AzureProvider implements Provider {
  readonly #credentialFor: (target: DeployTarget) => TokenCredential;
  readonly #httpClient: HttpClient | undefined;
  readonly #retry: PipelineRetryOptions;
  readonly #clock: Clock;
  readonly #waits: Waits;
  // A step asks for its context several times; rendering and clients are made once per target.
  readonly #contexts = new WeakMap<DeployTarget, AzureContext>();

  constructor(options: AzureProviderOptions = {}) {
    this.#credentialFor = options.credentialFor ?? noConnectedSubscription;
    this.#httpClient = options.httpClient;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#clock = options.clock ?? realClock;
    this.#waits = { ...DEFAULT_WAITS, ...options.waits };
  }

  async preflight(target: DeployTarget): Promise<void> {
    const context = this.#context(target);
    const { where } = context;
    for (const group of [where.resourceGroup, BACKUP_RESOURCE_GROUP]) {
      const id = `/subscriptions/${where.subscriptionId}/resourceGroups/${group}`;
      if (!(await readResource(context, id, RESOURCE_GROUPS_API_VERSION))) {
        throw new PermanentError(
          `resource group ${group} does not exist in subscription ${where.subscriptionId}: create it in ${where.region} (CloudSeed deploys into it but does not create it) and deploy again`,
        );
      }
    }
    await network.checkAddressRange(context);
  }

  async ensurePassword(target: DeployTarget): Promise<void> {
    const context = this.#context(target);
    // The vault's network rules name the component's subnet, which must exist first: the network is made here, before its own step.
    await network.ensureNetwork(context);
    await secrets.ensureSecrets(context);
  }

  readPassword(target: DeployTarget): Promise<string> {
    return this.#with(target, (context) => secrets.readPassword(context));
  }

  readCaCertificate(target: DeployTarget): Promise<string> {
    return this.#with(target, (context) => secrets.readCaCertificate(context));
  }

  ensureSecurityGroup(target: DeployTarget): Promise<NetworkRef> {
    return this.#with(target, (context) => network.ensureNetwork(context));
  }

  launchNodes(target: DeployTarget, _network: NetworkRef): Promise<NodeRef[]> {
    return this.#with(target, (context) => nodes.launchNodes(context));
  }

  nodesReady(target: DeployTarget, refs: readonly NodeRef[]): Promise<Progress> {
    return this.#with(target, (context) => nodes.nodesReady(context, refs));
  }

  async sendCommand(target: DeployTarget, refs: readonly NodeRef[], kind: CommandKind): Promise<CommandRef> {
    const context = this.#context(target);
    const patroni = kind === 'configure' && context.component.network.loadBalancer !== undefined;
    const balancer = patroni ? await endpoint.describeEndpoint(context) : undefined;
    if (patroni && !balancer)
      throw new TransientError(`the load balancer of ${context.component.id} does not exist yet; launching the nodes makes it`);
    return commands.sendCommand(context, refs, kind, balancer?.host);
  }

  commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress> {
    return this.#with(target, (context) => commands.commandStatus(context, command));
  }

  verify(target: DeployTarget, refs: readonly NodeRef[]): Promise<void> {
    return this.#with(target, (context) => commands.verify(context, refs));
  }

  ensureEndpoint(target: DeployTarget, _nodes: readonly NodeRef[]): Promise<ClusterEndpoint | undefined> {
    return this.#with(target, (context) => endpoint.ensureEndpoint(context));
  }

  health(target: DeployTarget, refs: readonly NodeRef[]): Promise<NodeHealth[]> {
    // A Patroni cluster's roles move by themselves: Patroni says who leads and who streams.
    return this.#with(target, (context) => (context.component.network.loadBalancer ? ha.clusterHealth(context, refs) : nodes.health(context, refs)));
  }

  stopNodes(target: DeployTarget, refs: readonly NodeRef[]): Promise<Progress> {
    return nodes.stopNodes(this.#context(target), refs);
  }

  /**
   * The nodes (with their disks and NICs), the load balancer, the identity and its role
   * assignments, the vault, then the network. The backup account and its backups stay: they
   * outlive the plan; only this component's subnet leaves its network rules. The whole teardown
   * waits at most the wait limit, then fails as transient and is retried where it stopped.
   */
  async destroy(target: DeployTarget): Promise<void> {
    const context = this.#context(target);
    const signal = AbortSignal.timeout(this.#waits.limitMs);
    await nodes.removeNodes(context, signal);
    await nodes.removeIdentity(context, signal);
    await secrets.removeVault(context, signal);
    await nodes.releaseBackupStorage(context);
    await network.removeNetwork(context, signal);
  }

  backup(target: DeployTarget, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
    return this.#with(target, async (context) => backups.backup(backupHost(context), await ha.writerOf(context, primary), location));
  }

  validateBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult> {
    return this.#with(target, async (context) =>
      backups.validateBackup(backupHost(context), await ha.writerOf(context, primary), location, recorded),
    );
  }

  restoreBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
    return this.#with(target, async (context) => backups.restoreBackup(backupHost(context), await ha.writerOf(context, primary), location, recorded));
  }

  /** What the nodes' collectors stored beside the component's backups (publish-metrics.sh). */
  metrics(target: DeployTarget, nodeRefs: readonly NodeRef[], query: MetricsQuery): Promise<ProviderMetrics> {
    return this.#with(target, (context) => {
      const { container, prefix } = context.component.backup;
      return readStoredMetrics(blobStore(context), { bucket: container, prefix: `${prefix}${METRICS_FOLDER}` }, nodeRefs, query);
    });
  }

  topQueries(target: DeployTarget, primary: NodeRef, request: TopQueriesRequest): Promise<TopQuery[]> {
    return this.#with(target, async (context) =>
      readTopQueries(
        backupHost(context),
        await ha.writerOf(context, primary),
        { database: target.component.db.databaseName, role: target.component.db.username },
        request,
      ),
    );
  }

  resetTopQueries(target: DeployTarget, primary: NodeRef): Promise<void> {
    return this.#with(target, async (context) =>
      resetTopQueries(backupHost(context), await ha.writerOf(context, primary), {
        database: target.component.db.databaseName,
        role: target.component.db.username,
      }),
    );
  }

  setRolePassword(target: DeployTarget, primary: NodeRef, role: string, verifier: string): Promise<void> {
    return this.#with(target, async (context) => setRolePassword(backupHost(context), await ha.writerOf(context, primary), role, verifier));
  }

  serverLog(target: DeployTarget, node: NodeRef): Promise<string> {
    return this.#with(target, (context) => readServerLog(backupHost(context), node));
  }

  deleteBackup(target: DeployTarget, location: BackupLocation): Promise<void> {
    return this.#with(target, (context) => backups.deleteBackup({ store: blobStore(context) }, location));
  }

  archiveBackup(target: DeployTarget, primary: NodeRef, request: { backupId: string; type: ArchiveBackupType }): Promise<ArchiveBackupResult> {
    return this.#with(target, async (context) => archive.archiveBackup(backupHost(context), await ha.writerOf(context, primary), request));
  }

  validateArchiveBackup(target: DeployTarget, primary: NodeRef, recorded: ArchiveBackupResult): Promise<ValidationResult> {
    return this.#with(target, async (context) => archive.validateArchiveBackup(backupHost(context), await ha.writerOf(context, primary), recorded));
  }

  recoveryWindow(target: DeployTarget, primary: NodeRef): Promise<RecoveryWindow | undefined> {
    return this.#with(target, async (context) => archive.recoveryWindow(backupHost(context), await ha.writerOf(context, primary)));
  }

  restoreToPoint(target: DeployTarget, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
    return this.#with(target, (context) =>
      // Under Patroni the cluster is dissolved, its leader restored and the cluster formed again.
      context.component.network.loadBalancer
        ? reform.restorePatroniCluster(ha.patroniHost(context), primary, recoveryTarget)
        : archive.restoreToPoint(backupHost(context), primary, recoveryTarget),
    );
  }

  rebuildReplicas(target: DeployTarget, primary: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
    return this.#with(target, async (context) => {
      if (!context.component.network.loadBalancer) return archive.rebuildReplicas(backupHost(context), primary, replicas);
      const host = ha.patroniHost(context);
      return reform.rebuildPatroniReplicas(host, await reform.leaderNode(host), replicas);
    });
  }

  switchover(target: DeployTarget, candidate?: string): Promise<Switchover> {
    return this.#with(target, (context) => ha.switchover(context, candidate));
  }

  /** Runs `step` on the target's context; a target that has none (no credential, another cloud) rejects instead of throwing. */
  async #with<T>(target: DeployTarget, step: (context: AzureContext) => Promise<T>): Promise<T> {
    return await step(this.#context(target));
  }

  /** The target's subscription and resource group, its azure-json component, clients, clock and waits. */
  #context(target: DeployTarget): AzureContext {
    let context = this.#contexts.get(target);
    if (!context) {
      const where = azureTargetOf(target);
      const component: AzureComponent = renderAzureComponent(target.component, {
        planId: target.planId,
        planName: target.planName,
        ...where,
        ...(target.linkedApps?.length ? { linkedApps: target.linkedApps } : {}),
      });
      const clients: AzureClients = createClients(this.#credentialFor(target), where.subscriptionId, {
        retry: this.#retry,
        ...(this.#httpClient ? { httpClient: this.#httpClient } : {}),
      });
      context = { target, where, component, clients, clock: this.#clock, waits: this.#waits };
      this.#contexts.set(target, context);
    }
    return context;
  }
}
