import type { AccountConnection, CloudConnection, NodeRole, PostgresComponent, Target } from '@cloudseed/shared';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type { MemberStatus } from '@cloudseed/shared';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import type { MetricSeries } from '@cloudseed/shared/metrics/series';

// The port every deploy, teardown, backup and health-check step talks to. It speaks the domain: a
// cs-json component in, neutral references out; each provider renders its own cloud's document
// from the component (aws/ the aws-json, local/ the local one). AwsProvider does it with EC2 and
// SSM in the customer's account; LocalProvider with real PostgreSQL server processes on this
// machine. Every method is idempotent: a step that is retried, or an execution that is run again,
// converges on the same resources instead of creating new ones. What they throw is in errors.ts.

/** The customer's AWS account, reached by assuming a role that trusts the platform, or their Google Cloud project or Azure resource group (shared/src/accounts). */
export type { AccountConnection, CloudConnection };

/** What one component's steps work on: the component as the deployed plan (normalised cs-json) says it. */
export interface DeployTarget {
  readonly ownerId: string;
  readonly planId: string;
  readonly planName: string;
  /** Stable for one deployment (the create or update it belongs to); used for idempotency tokens. */
  readonly deploymentId: string;
  /** Where the plan deploys (its cs-json `target`). */
  readonly target: Target;
  readonly component: PostgresComponent;
  /** The connection to the customer's account the plan names; absent locally, or when it is not connected (any more). */
  readonly account?: CloudConnection;
  /** The plan's apps that use this database: their network reaches it (on AWS from inside the VPC). */
  readonly linkedApps?: readonly string[];
}

/** The network boundary of one component: a security group on AWS, pg_hba locally. */
export interface NetworkRef {
  readonly networkId: string;
}

/** What `Provider.metrics` answers: the grid of the series (`step` may be longer than asked), and each node's series. */
export interface ProviderMetrics {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly series: readonly MetricSeries[] }>;
}

export interface NodeRef {
  readonly name: string;
  readonly role: NodeRole;
  /** The cloud's id for the node: an EC2 instance id, or the local server's id. */
  readonly nodeId: string;
  /** Address clients use: the public or private IP on AWS, 127.0.0.1 locally. */
  readonly host?: string;
  readonly port: number;
}

/** A load balancer's address in front of a cluster, that forwards to the node that leads. */
export interface ClusterEndpoint {
  readonly host: string;
  readonly port: number;
}

export type Progress =
  { readonly state: 'done' } | { readonly state: 'pending'; readonly detail: string } | { readonly state: 'failed'; readonly reason: string };

export type CommandKind = 'install' | 'configure';

/** A command sent to nodes: one id for all of them, or one per node (then in the order of `nodeIds`). */
export interface CommandRef {
  readonly kind: CommandKind;
  readonly commandIds: readonly string[];
  readonly nodeIds: readonly string[];
}

export interface Switchover {
  readonly from: string;
  readonly to: string;
}

export interface NodeHealth {
  readonly name: string;
  /** The role the node has now: in a cluster the leader may have moved since the deploy. */
  readonly role: NodeRole;
  readonly healthy: boolean;
  readonly detail?: string;
  /** What Patroni says of a cluster member. */
  readonly ha?: MemberStatus;
}

/** Where a backup's object lives. Locally an s3rver bucket; on AWS the platform's backup bucket. */
export interface BackupLocation {
  readonly bucket: string;
  /** `plans/<planId>/<component>/<backupId>.dump`: a pg_dump custom-format archive of the application database, with the globals in `<key>.globals.sql`. */
  readonly key: string;
}

export interface TableFingerprint {
  /** `schema.table` */
  readonly table: string;
  readonly rows: number;
  /** md5 over the table's rows in a fixed order, taken in the same snapshot as the dump. */
  readonly checksum: string;
}

export interface BackupResult {
  readonly sizeBytes: number;
  /** sha256 of the stored object, hex. */
  readonly sha256: string;
  readonly durationMs: number;
  readonly serverVersion: string;
  readonly tables: readonly TableFingerprint[];
}

/** A physical backup in the cluster's pgBackRest repository, and the fingerprints that prove it. */
export interface ArchiveBackupResult {
  /** pgBackRest's label of the backup set, e.g. `20261205-083000F_20261205-120000I`. */
  readonly label: string;
  /** What pgBackRest made: a diff or incr asked for with no full before it becomes a full. */
  readonly type: ArchiveBackupType;
  /** ISO times pgBackRest started and stopped the backup. */
  readonly startedAt: string;
  readonly stoppedAt: string;
  /** The database's size, and what this backup added to the repository (compressed). */
  readonly databaseBytes: number;
  readonly sizeBytes: number;
  readonly durationMs: number;
  readonly serverVersion: string;
  /**
   * A named restore point written right after the backup, while every user table was locked
   * against writes, in the same snapshot the fingerprints were taken in: a restore of the backup
   * replayed to it must hold exactly these rows.
   */
  readonly restorePoint: string;
  readonly tables: readonly TableFingerprint[];
}

/** The times a point-in-time restore can reach (ISO). */
export interface RecoveryWindow {
  readonly earliest: string;
  readonly latest: string;
}

/** Where a point-in-time restore stops: a time in the window, or a backup's restore point. */
export type RecoveryTarget =
  { readonly kind: 'time'; readonly time: string } | { readonly kind: 'restore-point'; readonly name: string; readonly label: string };

export type ValidationResult = { readonly status: 'passed'; readonly detail: string } | { readonly status: 'failed'; readonly detail: string };

export interface Provider {
  /** Refuses what cannot be deployed before anything is created (a major not installed, too much memory, no account). */
  preflight(target: DeployTarget): Promise<void>;
  /**
   * Creates the application role's password and the plan's certificate authority once, where only
   * the instances and the credentials route can read them.
   */
  ensurePassword(target: DeployTarget): Promise<void>;
  readPassword(target: DeployTarget): Promise<string>;
  /** The plan's CA certificate (PEM): clients verify the servers with it (`sslmode=verify-full`). */
  readCaCertificate(target: DeployTarget): Promise<string>;
  ensureSecurityGroup(target: DeployTarget): Promise<NetworkRef>;
  /** Reconciles the nodes that exist to the plan (instance type, disk size) and launches the missing ones; returns all of them. */
  launchNodes(target: DeployTarget, network: NetworkRef): Promise<NodeRef[]>;
  /** Running, and the provider's command channel to every node is ready. */
  nodesReady(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress>;
  sendCommand(target: DeployTarget, nodes: readonly NodeRef[], kind: CommandKind): Promise<CommandRef>;
  commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress>;
  /** Connects to every node over TLS as the application role and runs `SELECT 1`. */
  verify(target: DeployTarget, nodes: readonly NodeRef[]): Promise<void>;
  /**
   * The one address that always reaches a cluster's leader, where the cloud has one (AWS: an
   * internal Network Load Balancer checking Patroni's /primary); undefined where the multi-host
   * URI is the endpoint. Creates or converges it to the nodes.
   */
  ensureEndpoint(target: DeployTarget, nodes: readonly NodeRef[]): Promise<ClusterEndpoint | undefined>;
  health(target: DeployTarget, nodes: readonly NodeRef[]): Promise<NodeHealth[]>;
  /**
   * Each node's metrics over the range, read where its collector publishes them (CloudWatch on
   * AWS), in the step asked or the shortest the cloud keeps. Absent where nodes publish none yet.
   */
  metrics?(target: DeployTarget, nodes: readonly NodeRef[], query: MetricsQuery): Promise<ProviderMetrics>;
  /** The newest end of the node's PostgreSQL log, as its files hold it (whole lines, unmasked: the caller masks). */
  serverLog?(target: DeployTarget, node: NodeRef): Promise<string>;
  /** The application role's top statements on the primary (pg_stat_statements), and a reset of their counts. */
  topQueries?(target: DeployTarget, primary: NodeRef, request: TopQueriesRequest): Promise<TopQuery[]>;
  resetTopQueries?(target: DeployTarget, primary: NodeRef): Promise<void>;
  /** Sets one of the plan's roles' password on the node that leads, as the SCRAM verifier (the password never reaches the node). */
  setRolePassword?(target: DeployTarget, primary: NodeRef, role: string, verifier: string): Promise<void>;
  /**
   * Stops the nodes and keeps their disks (a cloud machine stopped costs only its storage; a
   * stopped GCP instance or deallocated Azure VM the same): asks each node not yet stopping to stop,
   * and answers done once every one is stopped. Called again until then. launchNodes starts them again.
   */
  stopNodes(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress>;
  /** Removes every resource of the plan's component: nodes, then the network boundary, then the secrets. */
  destroy(target: DeployTarget): Promise<void>;
  /**
   * Dumps the primary's application database (and the globals) to the location, streaming, and
   * fingerprints every table in the dump's snapshot. A failure leaves no object behind.
   */
  backup(target: DeployTarget, primary: NodeRef, location: BackupLocation): Promise<BackupResult>;
  /** Restores the object into a scratch database and compares it with what was recorded; the scratch database is always dropped. */
  validateBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult>;
  /** Restores the object into the running application database (replacing its contents); checks the object's sha256 first. */
  restoreBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void>;
  /** Removes a backup's objects. */
  deleteBackup(target: DeployTarget, location: BackupLocation): Promise<void>;

  // --- continuous archiving (pgBackRest): every node archives to the cluster's stanza ---------------

  /**
   * Takes a pgBackRest backup of the primary (the stanza is created when missing), expires what
   * retention lets go, then writes the restore point the fingerprints belong to and switches WAL so
   * it is archived. A failed backup leaves no backup set behind.
   */
  archiveBackup(target: DeployTarget, primary: NodeRef, request: { backupId: string; type: ArchiveBackupType }): Promise<ArchiveBackupResult>;
  /**
   * Proves a backup: restores it into a scratch server (never the deployment's), replays WAL to its
   * restore point, runs `pgbackrest verify` and reads its output, and compares the fingerprints.
   * The scratch server is always removed.
   */
  validateArchiveBackup(target: DeployTarget, primary: NodeRef, recorded: ArchiveBackupResult): Promise<ValidationResult>;
  /** The window a restore can reach; undefined while there is no backup in the repository yet. */
  recoveryWindow(target: DeployTarget, primary: NodeRef): Promise<RecoveryWindow | undefined>;
  /**
   * Restores the cluster in place to the target: the primary is stopped, restored with WAL replayed
   * to the target and promoted on a new timeline, then started writable. Replicas are rebuilt
   * separately (rebuildReplicas).
   */
  restoreToPoint(target: DeployTarget, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void>;
  /** Rebuilds every replica from the (restored or new) primary and waits until each streams. */
  rebuildReplicas(target: DeployTarget, primary: NodeRef, replicas: readonly NodeRef[]): Promise<void>;
  /**
   * A planned switchover of a cluster: the leader hands over to `candidate` (a replica's node name)
   * or to the healthiest replica, and answers once the new leader serves writes. A single server,
   * an unknown or unhealthy candidate, or a cluster without a leader is refused (PermanentError).
   */
  switchover(target: DeployTarget, candidate?: string): Promise<Switchover>;
}
