import type { Plan } from '../cs-json/schema.ts';
import type { PlanStatus } from '../plans/plans.ts';
import type { NodeRole } from '../postgres/config.ts';

// A plan's deployment: one item per plan that carries the lock (at most one workflow runs per
// plan), what is running and how to reach it, and why it failed. The plan's status shown on the
// dashboard is derived from it.

/** `stopped`: every database node is stopped (on a cloud its machine is, and costs only its disks); its data stays. */
export type DeploymentStatus = 'deploying' | 'running' | 'failed' | 'deleting' | 'stopped';
export type DeployMode = 'create' | 'update';
/** `stop` stops the database nodes; `start` is an update of the deployed plan that starts them again (and configures them: a cloud machine may come back with a new address). */
export type WorkflowMode = DeployMode | 'teardown' | 'restore' | 'stop' | 'start';

export interface DeployedNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly instanceId: string;
  readonly host: string;
  readonly port: number;
  readonly healthy?: boolean;
  readonly detail?: string;
  /** A cluster member as Patroni last saw it (the health check records it). */
  readonly ha?: MemberStatus;
}

/** A cluster member as its high-availability manager (Patroni) sees it. */
export interface MemberStatus {
  readonly patroniRole: 'leader' | 'replica' | 'sync_standby' | 'standby_leader';
  /** running, streaming, starting, stopped, crashed… */
  readonly state: string;
  readonly timeline?: number;
  /** Bytes of WAL behind the leader. */
  readonly lagBytes?: number;
}

export interface DeployedComponent {
  readonly id: string;
  readonly nodes: readonly DeployedNode[];
  readonly databaseName: string;
  readonly username: string;
  /** A cluster's load balancer, which always forwards to the leader (AWS Patroni clusters; inside the VPC). */
  readonly endpoint?: { readonly host: string; readonly port: number };
  /**
   * The node the health check last saw as a healthy primary. A new one is a new timeline, whose next
   * backup must be a full; a check that catches the handover half-way (the new leader not healthy
   * yet) does not move it.
   */
  readonly leader?: string;
}

/** How one version of an app was installed, built and started (shared/src/apps/detect.ts). */
export interface AppBuildPlan {
  readonly runtime: 'node' | 'python';
  readonly runtimeVersion?: string;
  readonly installCommand?: string;
  readonly buildCommand?: string;
  readonly startCommand: string;
  readonly dockerfile: boolean;
  readonly reasons: readonly string[];
}

/** One built version of an app: what a rollout runs, and what a rollback goes back to. */
export interface AppRelease {
  /** The commit it was built from (40 hex digits). */
  readonly version: string;
  /** The build's id: a directory locally, an image tag on AWS. */
  readonly buildId: string;
  readonly plan: AppBuildPlan;
  readonly builtAt: string;
}

export interface DeployedApp {
  readonly id: string;
  /** The app's stable address. */
  readonly url: string;
  readonly serving: AppRelease & { readonly deployedAt: string };
  /** The version that served before: a rollback goes back to it. */
  readonly previous?: AppRelease & { readonly deployedAt: string };
}

export interface Failure {
  readonly step: string;
  readonly reason: string;
  readonly at: string;
  /** The component whose step failed, when one did. */
  readonly component?: string;
}

export interface DeploymentRecord {
  readonly ownerId: string;
  readonly planId: string;
  readonly status: DeploymentStatus;
  /** The deployment (create, update or teardown) in progress or last finished; the lock's owner. */
  readonly deploymentId: string;
  readonly mode: WorkflowMode;
  readonly planVersion: number;
  /** The plan as it was deployed: every step renders from this snapshot, never from the live plan. */
  readonly spec: Plan;
  readonly executionArn?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly components?: readonly DeployedComponent[];
  /** The plan's apps as they serve. */
  readonly apps?: readonly DeployedApp[];
  /** An update that only takes this app back to its previous version. */
  readonly rollback?: { readonly componentId: string };
  readonly failure?: Failure;
  /** Set by the health check while a running deployment has a node down; `serving` while a cluster's leader still takes writes. */
  readonly degraded?: Failure & { readonly serving?: boolean };
  /** Set while the last backup failed or did not validate; cleared by the next good one. */
  readonly backupFailure?: Failure;
  /** The backup holding the plan's backup lock (two backups of a plan never run at once). */
  readonly backupLock?: string;
  /** Bumped by every write; conditional writes compare it. */
  readonly revision: number;
}

/**
 * The plan status the dashboard shows: grey (not deployed, stopped), orange (deploying, stopping,
 * starting, deleting, or degraded: a cluster whose leader serves writes while a member is down or
 * behind), green or red (nothing serves writes).
 */
export function planStatus(deployment: DeploymentRecord | undefined): PlanStatus {
  if (!deployment) return 'not_deployed';
  if (deployment.status === 'deploying' && deployment.mode === 'stop') return 'stopping';
  if (deployment.status === 'deploying' && deployment.mode === 'start') return 'starting';
  if (deployment.status === 'running' && deployment.degraded) return deployment.degraded.serving === true ? 'degraded' : 'failed';
  if (deployment.status === 'running' && deployment.backupFailure) return 'failed';
  return deployment.status;
}

/** Why the plan is red or degraded, in words a customer can act on. */
export function statusReason(deployment: DeploymentRecord | undefined): string | undefined {
  if (!deployment) return undefined;
  if (deployment.status === 'failed' && deployment.failure) return `${deployment.failure.step}: ${deployment.failure.reason}`;
  if (deployment.status === 'running' && deployment.degraded) return deployment.degraded.reason;
  if (deployment.status === 'running' && deployment.backupFailure) return `${deployment.backupFailure.step}: ${deployment.backupFailure.reason}`;
  return undefined;
}

/** Whether a deployment is somewhere a new create/update may start. */
export function isBusy(deployment: DeploymentRecord | undefined): boolean {
  return deployment?.status === 'deploying' || deployment?.status === 'deleting';
}

/** A new deploy updates what runs, or creates it when nothing runs (never deployed, torn down, or a failed create). */
export function deployModeFor(deployment: DeploymentRecord | undefined): DeployMode {
  if (!deployment) return 'create';
  // A stopped plan's nodes are started by the update (launchNodes starts a stopped node).
  if (deployment.status === 'running' || deployment.status === 'stopped') return 'update';
  if (deployment.status === 'failed' && deployment.components && deployment.components.length > 0) return 'update';
  return 'create';
}

export interface DeploymentRepository {
  get(ownerId: string, planId: string): Promise<DeploymentRecord | undefined>;
  /** The owner's deployments with their status fields and, of the spec, only `spec.target`. */
  listByOwner(ownerId: string): Promise<DeploymentRecord[]>;
  /** Every deployment in the given statuses, across owners (health checks, recovery after a restart). */
  listByStatus(statuses: readonly DeploymentStatus[]): Promise<DeploymentRecord[]>;
  /**
   * Takes the plan's lock for a new deployment: succeeds only when nothing is deploying or
   * deleting and the item is still at `expectedRevision` (undefined: no item yet). Conflict otherwise.
   */
  start(record: DeploymentRecord, expectedRevision: number | undefined): Promise<void>;
  /** Changes fields of the current deployment; refused (Conflict) when another deployment holds the item now. */
  update(
    ownerId: string,
    planId: string,
    deploymentId: string,
    changes: Partial<Omit<DeploymentRecord, 'ownerId' | 'planId' | 'deploymentId' | 'revision'>>,
    remove?: readonly (keyof DeploymentRecord)[],
  ): Promise<DeploymentRecord>;
  delete(ownerId: string, planId: string, deploymentId: string): Promise<void>;
  /** Takes the plan's backup lock; Conflict while another backup holds it or the deployment is not running. */
  claimBackup(ownerId: string, planId: string, backupId: string): Promise<void>;
  /** Releases the lock and records the backup's outcome for the plan's status. */
  releaseBackup(ownerId: string, planId: string, backupId: string, failure: Failure | undefined): Promise<void>;
}

export type ComponentStatus = 'not_deployed' | 'deploying' | 'running' | 'failed' | 'deleting' | 'stopped';

export interface ComponentSummary {
  readonly id: string;
  readonly type: Plan['components'][number]['type'];
  readonly status: ComponentStatus;
  readonly reason?: string;
  /** An app's stable address. */
  readonly url?: string;
  /** The commit an app serves. */
  readonly servingVersion?: string;
  /** The commit the plan pins an app to, when it pins one (else it follows `branch`). */
  readonly requestedVersion?: string;
  readonly branch?: string;
  /** The version a rollback would go back to. */
  readonly previousVersion?: string;
  /** The database an app uses. */
  readonly database?: string;
  /** The names of an app's secrets (their values are set apart and never shown). */
  readonly secrets?: readonly string[];
}

/**
 * Each component's own status: a failed update leaves what served serving (green), the component
 * whose step failed red with the reason; a rollback deploys one app while the others keep theirs.
 */
export function componentSummaries(spec: Plan, deployment: DeploymentRecord | undefined): ComponentSummary[] {
  return spec.components.map((component) => {
    const app = component.type === 'app' ? deployment?.apps?.find((entry) => entry.id === component.id) : undefined;
    const deployed = component.type === 'app' ? app !== undefined : (deployment?.components ?? []).some((entry) => entry.id === component.id);
    const status = componentStatus(component.id, deployed, deployment);
    const failure = deployment?.status === 'failed' ? deployment.failure : undefined;
    const reason = status === 'failed' && failure ? `${failure.step}: ${failure.reason}` : undefined;
    return {
      id: component.id,
      type: component.type,
      status,
      ...(reason ? { reason } : {}),
      ...(component.type === 'app'
        ? {
            branch: component.source.branch,
            ...(component.source.commit ? { requestedVersion: component.source.commit } : {}),
            ...(component.database ? { database: component.database.component } : {}),
            ...(component.secrets.length > 0 ? { secrets: component.secrets } : {}),
            ...(app ? { url: app.url, servingVersion: app.serving.version } : {}),
            ...(app?.previous ? { previousVersion: app.previous.version } : {}),
          }
        : {}),
    };
  });
}

function componentStatus(id: string, deployed: boolean, deployment: DeploymentRecord | undefined): ComponentStatus {
  if (!deployment) return 'not_deployed';
  if (deployment.status === 'deleting') return 'deleting';
  // Only the databases stop: an app keeps serving (and fails to reach its database meanwhile).
  if (deployment.status === 'stopped') return deployed ? (deployment.apps?.some((app) => app.id === id) ? 'running' : 'stopped') : 'not_deployed';
  if (deployment.status === 'deploying') {
    const touched = deployment.rollback === undefined || deployment.rollback.componentId === id;
    return touched || !deployed ? 'deploying' : 'running';
  }
  if (deployment.status === 'failed') {
    const blamed = deployment.failure?.component === undefined || deployment.failure.component === id;
    if (blamed) return 'failed';
    return deployed ? 'running' : 'not_deployed';
  }
  return deployed ? 'running' : 'not_deployed';
}
