import type { Plan, PlanInput } from '@cloudseed/shared/cs-json/schema';
import type { PlanResource, PlanStatus } from '@cloudseed/shared/plans/plans';
import type { AccountList as AccountListBody, AccountResource, ConnectAccountInput } from '@cloudseed/shared/accounts/accounts';
import type { backupResource } from '@cloudseed/shared/backups/backups';
import type { ConnectionEndpoint } from '@cloudseed/shared/deployments/connection';
import type { TimelineStep } from '@cloudseed/shared/deployments/timeline';
import type { NodeRole } from '@cloudseed/shared/postgres/config';

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
}

export type Endpoint = ConnectionEndpoint;

export type Backup = ReturnType<typeof backupResource>;

export interface Deployment {
  readonly status: PlanStatus;
  readonly reason?: string;
  readonly deploymentId?: string;
  readonly mode?: 'create' | 'update' | 'teardown' | 'restore';
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly steps: readonly DeploymentStep[];
  readonly endpoint?: Endpoint;
  readonly nodes?: readonly DeploymentNode[];
  readonly backup?: { readonly schedule: string; readonly timezone?: string; readonly nextRunAt?: string; readonly lastBackup?: Backup };
  readonly executionArn?: string;
}

export interface Credentials extends Endpoint {
  readonly password: string;
  readonly uri: string;
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
