import type { Plan, PlanInput } from '@cloudseed/shared/cs-json/schema';
import type { PlanResource, PlanStatus } from '@cloudseed/shared/plans/plans';
import type { AccountList as AccountListBody, AccountResource, ConnectAccountInput } from '@cloudseed/shared/accounts/accounts';
import type { backupResource } from '@cloudseed/shared/backups/backups';
import type { ConnectionEndpoint } from '@cloudseed/shared/deployments/connection';
import type { MemberStatus } from '@cloudseed/shared/deployments/deployments';
import type { TimelineStep } from '@cloudseed/shared/deployments/timeline';
import type { NodeRole } from '@cloudseed/shared/postgres/config';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type { Alert, AlertRule, AlertSettings } from '@cloudseed/shared/alerts/alerts';
import type { LogEntry } from '@cloudseed/shared/metrics/logs';
import type { QueryOrder, TopQuery } from '@cloudseed/shared/metrics/queries';
import type { MetricSeries } from '@cloudseed/shared/metrics/series';

// What the API answers, as the web app reads it.

export type { Plan, PlanInput, PlanResource, PlanStatus };

export interface PlanList {
  readonly items: readonly PlanResource[];
  readonly nextToken?: string;
}

export type DeploymentStep = TimelineStep;

export interface DeploymentNode {
  readonly component: string;
  readonly name: string;
  readonly role: NodeRole;
  readonly host: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly detail?: string;
  /** A cluster member as Patroni sees it. */
  readonly ha?: MemberStatus;
}

export type Endpoint = ConnectionEndpoint & {
  /** Every database of the plan, the application's first, when it has others. */
  readonly databases?: readonly string[];
  /** The plan's login roles beside the application's. */
  readonly roles?: readonly { readonly name: string; readonly access: 'readonly' | 'readwrite' }[];
};

/** `POST /v1/plan/{id}/roles/{role}/password`: the role's new password, shown once, and its connection string. */
export interface RolePassword {
  readonly component: string;
  readonly role: string;
  readonly access: 'readonly' | 'readwrite';
  readonly password: string;
  readonly databases: readonly string[];
  readonly uri: string;
}

/**
 * A physical backup is a pgBackRest backup set (full, differential or incremental) in the plan's
 * repository; a logical one is a pg_dump export, the only kind that can be downloaded (the API
 * calls the records from before continuous archiving logical too).
 */
export type Backup = LogicalBackup | PhysicalBackup;
type BackupBase = Omit<ReturnType<typeof backupResource>, 'kind' | 'type' | 'label' | 'stoppedAt'>;
export type LogicalBackup = BackupBase & { readonly kind: 'logical' };
export type PhysicalBackup = BackupBase & {
  readonly kind: 'physical';
  readonly type: ArchiveBackupType;
  /** pgBackRest's label of the backup set, e.g. `20261205-083000F`. */
  readonly label: string;
  readonly stoppedAt?: string;
};

/** `POST /v1/plan/{id}/backups`: a physical backup of a type (full by default), or a pg_dump export. */
export type BackupRequest = { readonly type: ArchiveBackupType } | { readonly kind: 'logical' };

/** `GET /v1/plan/{id}/recovery-window`: the times a point-in-time restore can reach; null until the first backup is in the repository. */
export interface RecoveryWindow {
  readonly component: string;
  readonly earliest: string | null;
  readonly latest: string | null;
}

/** `POST /v1/plan/{id}/restore` answered 202: the restore runs; the deployment shows its steps. */
export interface PointInTimeRestoreStarted {
  readonly status: 'restoring';
  readonly component: string;
  readonly targetTime: string;
}

/** What a component's own deployment can be in; a subset of a plan's status words. */
export type ComponentStatus = Extract<PlanStatus, 'not_deployed' | 'deploying' | 'running' | 'failed' | 'stopped'>;

/** One component of the plan as deployed: `components` of `GET /v1/plan/{id}/deployment`. */
export interface DeployedComponent {
  readonly id: string;
  readonly type: 'postgres' | 'app';
  readonly status: ComponentStatus;
  readonly reason?: string;
  /** An app's address. */
  readonly url?: string;
  /** The commit an app serves. */
  readonly servingVersion?: string;
  /** The commit the last deploy asked for: the serving one once it took over. */
  readonly requestedVersion?: string;
  /** The names of an app's secrets; their values are never shown. */
  readonly secrets?: readonly string[];
}

/** `PUT …/components/{componentId}/secrets` answered: the secrets whose values were set. */
export interface SecretsSet {
  readonly names: readonly string[];
}

export interface Deployment {
  readonly status: PlanStatus;
  readonly reason?: string;
  readonly deploymentId?: string;
  readonly mode?: 'create' | 'update' | 'teardown' | 'restore' | 'stop' | 'start';
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly steps: readonly DeploymentStep[];
  readonly endpoint?: Endpoint;
  readonly nodes?: readonly DeploymentNode[];
  readonly backup?: { readonly schedule: string; readonly timezone?: string; readonly nextRunAt?: string; readonly lastBackup?: Backup };
  readonly executionArn?: string;
  /** Each component's own state; older servers leave it out. */
  readonly components?: readonly DeployedComponent[];
}

/** Where an app's log line comes from: its build, its release command, or the running app. */
export type LogSource = 'build' | 'release' | 'run';

export interface LogLine {
  readonly time: string;
  readonly source: LogSource;
  readonly text: string;
}

/** `GET /v1/plan/{id}/components/{componentId}/logs?tail=N`: the newest lines, oldest first. */
export interface ComponentLogs {
  readonly lines: readonly LogLine[];
}

/** `GET /v1/plan/{id}/metrics`: each database node's series over the range, one point per step. */
export interface PlanMetrics {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly components: ReadonlyArray<{
    readonly id: string;
    readonly nodes: ReadonlyArray<{ readonly name: string; readonly role: NodeRole; readonly series: readonly MetricSeries[] }>;
  }>;
}

export interface MetricsRequest {
  readonly names: readonly string[];
  /** Seconds since the epoch. */
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

export type { Alert, AlertRule, AlertSettings, LogEntry, MetricSeries, QueryOrder, TopQuery };

/** `GET /v1/plan/{id}/alerts`: the owner's settings, the incidents firing and those that cleared (newest first). */
export interface PlanAlerts {
  readonly settings: AlertSettings;
  readonly firing: readonly Alert[];
  readonly cleared: readonly Alert[];
}

/** `GET /v1/plan/{id}/queries`: a database's top statements. */
export interface TopQueries {
  readonly component: string;
  readonly queries: readonly TopQuery[];
}

/** `GET /v1/plan/{id}/components/{db}/logs`: a database node's PostgreSQL log, passwords masked. */
export interface ServerLog {
  readonly component: string;
  readonly node?: string;
  readonly nodes: readonly string[];
  readonly entries: readonly LogEntry[];
}

export interface ServerLogRequest {
  readonly node?: string | undefined;
  readonly tail: number;
  readonly search?: string | undefined;
}

/** `POST /v1/plan/{id}/components/{componentId}/rollback` answered 202: an update brings the previous version back. */
export interface RollbackStarted {
  readonly deploymentId: string;
  readonly mode: 'update';
}

export interface Credentials extends Endpoint {
  readonly password: string;
  readonly uri: string;
  readonly readOnlyUri?: string;
  readonly loadBalancerUri?: string;
  /** PEM of the plan's CA; `uri` expects it saved as `caFileName`. */
  readonly caCertificate: string;
  readonly caFileName: string;
}

export interface DeployStarted {
  readonly deploymentId: string;
  readonly mode: 'create' | 'update';
}

export type Account = AccountResource;

/** `GET /v1/accounts`: the accounts, and what the CloudSeed template needs to trust the platform. */
export type AccountList = AccountListBody;

/** `POST /v1/accounts`: `{ roleArn, region, name? }`. */
export type { ConnectAccountInput };
