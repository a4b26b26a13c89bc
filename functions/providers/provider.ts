import type { AwsComponent, Component, NodeRole } from '@cloudseed/shared';

// The port every deploy, teardown and health-check step talks to. AwsProvider does it with EC2 and
// SSM in the customer's account; LocalProvider with real PostgreSQL server processes on this
// machine. Every method is idempotent: a step that is retried, or an execution that is run again,
// converges on the same resources instead of creating new ones.

/** The customer's AWS account, reached by assuming a role that trusts the platform. */
export interface AccountConnection {
  readonly roleArn: string;
  readonly externalId: string;
  readonly region: string;
}

/** What one component's steps work on. `component` is the transformer's output for it. */
export interface DeployTarget {
  readonly ownerId: string;
  readonly planId: string;
  /** Stable for one deployment (the create or update it belongs to); used for idempotency tokens. */
  readonly deploymentId: string;
  readonly component: AwsComponent;
  /** The same component as the plan (normalised cs-json) says it; the local provider renders its config from it. */
  readonly spec: Component;
  readonly account?: AccountConnection;
}

export interface NetworkRef {
  readonly securityGroupId: string;
}

export interface NodeRef {
  readonly name: string;
  readonly role: NodeRole;
  /** EC2 instance id, or the local server's id. */
  readonly instanceId: string;
  /** Address clients use: the public or private IP on AWS, 127.0.0.1 locally. */
  readonly host?: string;
  readonly port: number;
}

export type Progress = { readonly state: 'done' } | { readonly state: 'pending'; readonly detail: string } | { readonly state: 'failed'; readonly reason: string };

export type CommandKind = 'install' | 'configure';

export interface CommandRef {
  readonly kind: CommandKind;
  readonly commandId: string;
  readonly instanceIds: readonly string[];
}

export interface NodeHealth {
  readonly name: string;
  readonly role: NodeRole;
  readonly healthy: boolean;
  readonly detail?: string;
}

export interface Provider {
  /** Refuses what cannot be deployed before anything is created (a major not installed, too much memory, no account). */
  preflight(target: DeployTarget): Promise<void>;
  /** Creates the application role's password once, where only the instance and the credentials route can read it. */
  ensurePassword(target: DeployTarget): Promise<void>;
  readPassword(target: DeployTarget): Promise<string>;
  ensureSecurityGroup(target: DeployTarget): Promise<NetworkRef>;
  /** Launches the component's nodes that do not exist yet; returns all of them. */
  launchNodes(target: DeployTarget, network: NetworkRef): Promise<NodeRef[]>;
  /** Running, and reachable by the provider's command channel (SSM agent online). */
  nodesReady(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress>;
  sendCommand(target: DeployTarget, nodes: readonly NodeRef[], kind: CommandKind): Promise<CommandRef>;
  commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress>;
  /** Connects to every node over TLS as the application role and runs `SELECT 1`. */
  verify(target: DeployTarget, nodes: readonly NodeRef[]): Promise<void>;
  health(target: DeployTarget, nodes: readonly NodeRef[]): Promise<NodeHealth[]>;
  /** Removes every resource tagged with the plan and component: nodes, then the security group, then the password. */
  destroy(target: DeployTarget): Promise<void>;
}
