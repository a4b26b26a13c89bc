import type { AppComponent, AppRelease, DeployedComponent, DeploymentRecord } from '@cloudseed/shared';
import { appComponents } from '@cloudseed/shared/cs-json/components';
import { membersOf } from '@cloudseed/shared/deployments/connection';
import { accounts } from '../lib/accounts.ts';
import type { AppProvider, AppTarget, BuildRef, DatabaseLink, RolloutRef } from '../providers/app-provider.ts';
import { PermanentError } from '../providers/errors.ts';
import { appProviderFor, providerFor } from '../providers/index.ts';
import { currentDeployment, targetOf } from './context.ts';
import type { DeploymentInput, PollState } from './context.ts';

// What the app steps pass between them, and what each re-derives from the deployment's plan
// snapshot: the app, and the database it is linked to (from what the databases' Map just
// deployed, or from the record when this update deploys no database).

export interface AppInput extends DeploymentInput {
  readonly componentId: string;
  /** What the databases' Map deployed in this execution. */
  readonly components?: readonly DeployedComponent[];
  /** A build started, or (rollback) the release to go back to. */
  readonly build?: BuildRef & { readonly release?: AppRelease };
  readonly poll?: PollState & { readonly release?: AppRelease };
  readonly rollout?: RolloutRef & { readonly release: AppRelease };
}

export function appTargetOf(deployment: DeploymentRecord, componentId: string, account: AppTarget['account']): AppTarget {
  const component = appComponents(deployment.spec).find((candidate) => candidate.id === componentId);
  if (!component) throw new Error(`the plan has no app ${componentId}`);
  return {
    ownerId: deployment.ownerId,
    planId: deployment.planId,
    planName: deployment.spec.name,
    deploymentId: deployment.deploymentId,
    target: deployment.spec.target,
    component,
    ...(account ? { account } : {}),
  };
}

export async function appContext(input: AppInput): Promise<{ deployment: DeploymentRecord; target: AppTarget; apps: AppProvider }> {
  const deployment = await currentDeployment(input);
  const account = await accounts.connectionFor(deployment.ownerId, deployment.spec.target);
  return { deployment, target: appTargetOf(deployment, input.componentId, account), apps: await appProviderFor(deployment.spec.target) };
}

/** The deployed database the app names, or undefined when it names none. */
export function linkedDatabase(input: AppInput, deployment: DeploymentRecord, component: AppComponent): DeployedComponent | undefined {
  const name = component.database?.component;
  if (name === undefined) return undefined;
  const deployed = input.components?.find((candidate) => candidate.id === name) ?? deployment.components?.find((candidate) => candidate.id === name);
  if (!deployed) throw new PermanentError(`${component.id} uses database ${name}, which is not deployed`);
  return deployed;
}

/** The link as the app reaches it: the leader (or the load balancer) first, the role's password and the plan's CA. */
export async function databaseLinkOf(input: AppInput, deployment: DeploymentRecord, component: AppComponent): Promise<DatabaseLink | undefined> {
  const deployed = linkedDatabase(input, deployment, component);
  if (!deployed) return undefined;
  const provider = await providerFor(deployment.spec.target);
  const target = await targetOf(deployment, deployed.id);
  return {
    componentId: deployed.id,
    hosts: deployed.endpoint ? [deployed.endpoint, ...membersOf(deployed.nodes)] : membersOf(deployed.nodes),
    database: deployed.databaseName,
    username: deployed.username,
    password: await provider.readPassword(target),
    caCertificatePem: await provider.readCaCertificate(target),
  };
}
