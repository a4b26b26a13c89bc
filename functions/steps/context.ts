import type { DeployedNode, DeploymentRecord, WorkflowMode } from '@cloudseed/shared';
import { appComponents, postgresComponents } from '@cloudseed/shared/cs-json/components';
import { accounts } from '../lib/accounts.ts';
import { deployments } from '../lib/plans.ts';
import { providerFor } from '../providers/index.ts';
import type { ClusterEndpoint, CommandRef, DeployTarget, NetworkRef, NodeRef, Provider } from '../providers/provider.ts';

// What the workflow passes between steps: ids and small results. Everything else each step
// re-derives from the deployment's plan snapshot, which renders the same every time.

export interface DeploymentInput {
  readonly ownerId: string;
  readonly planId: string;
  readonly deploymentId: string;
  readonly mode?: WorkflowMode;
}

export interface PollState {
  readonly state: 'done' | 'pending';
  readonly polls: number;
  /** JSON { step, reason } for the Fail state when polling gives up. */
  readonly reason: string;
  readonly detail?: string;
}

export interface ComponentInput extends DeploymentInput {
  readonly componentId: string;
  readonly network?: NetworkRef;
  readonly nodes?: NodeRef[];
  readonly command?: CommandRef;
  readonly poll?: PollState;
  /** What Verify found: the cluster's load balancer, where the cloud has one. */
  readonly verified?: { readonly endpoint?: ClusterEndpoint };
}

/** The deployment this execution belongs to; refuses when another deployment has taken the plan since. */
export async function currentDeployment(input: DeploymentInput): Promise<DeploymentRecord> {
  const deployment = await deployments.get(input.ownerId, input.planId);
  if (!deployment || deployment.deploymentId !== input.deploymentId) {
    throw new Error(`deployment ${input.deploymentId} is no longer the plan's current deployment`);
  }
  return deployment;
}

/**
 * What the provider works on for one component of a deployment: the component as the deployed plan
 * says it (each provider renders its own cloud's document from it). On AWS that includes the
 * connection to the account the deployed plan names, in the plan's region; when that account is
 * not connected (any more) there is none, and AwsProvider refuses with a message that says so.
 */
export async function targetOf(deployment: DeploymentRecord, componentId: string): Promise<DeployTarget> {
  const component = postgresComponents(deployment.spec).find((candidate) => candidate.id === componentId);
  if (!component) throw new Error(`the plan has no database component ${componentId}`);
  const account = await accounts.connectionFor(deployment.ownerId, deployment.spec.target);
  const linkedApps = appComponents(deployment.spec)
    .filter((app) => app.database?.component === componentId)
    .map((app) => app.id);
  return {
    ownerId: deployment.ownerId,
    planId: deployment.planId,
    planName: deployment.spec.name,
    deploymentId: deployment.deploymentId,
    target: deployment.spec.target,
    component,
    ...(account ? { account } : {}),
    ...(linkedApps.length > 0 ? { linkedApps } : {}),
  };
}

/** A node as the deployment record keeps it, as the provider addresses it. */
export function nodeRefOf({ name, role, instanceId, host, port }: DeployedNode): NodeRef {
  return { name, role, nodeId: instanceId, ...(host ? { host } : {}), port };
}

export async function componentContext(input: ComponentInput): Promise<{ deployment: DeploymentRecord; target: DeployTarget; provider: Provider }> {
  const deployment = await currentDeployment(input);
  return { deployment, target: await targetOf(deployment, input.componentId), provider: await providerFor(deployment.spec.target) };
}

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the workflow did not pass ${what}`);
  return value;
}
