import { accountMismatch, CLOUD_NAMES } from '../accounts/accounts.ts';
import type { AccountService } from '../accounts/accounts.ts';
import type { Plan } from '../cs-json/schema.ts';
import { Conflict, ValidationFailed } from '../errors.ts';
import type { FieldProblem } from '../errors.ts';
import type { PlanService } from '../plans/plans.ts';
import { deployModeFor, isBusy, planStatus } from './deployments.ts';
import type { DeployMode, DeploymentRecord, DeploymentRepository, WorkflowMode } from './deployments.ts';
import { redeployProblems } from './redeploy.ts';

// Starting and ending deployments: the rules the API applies before a workflow runs. The lock is
// the deployment item's conditional write; the workflow engine is a port (Step Functions).

export interface WorkflowInput {
  readonly ownerId: string;
  readonly planId: string;
  readonly deploymentId: string;
  readonly mode: WorkflowMode;
  /** Restores only: what is restored. */
  readonly restore?: RestoreRequest;
}

/**
 * A logical backup is loaded into the running database; a point-in-time restore rebuilds the
 * cluster from its pgBackRest repository, to a time or to a physical backup's restore point.
 */
export type RestoreRequest =
  | { readonly kind: 'logical'; readonly componentId: string; readonly backupId: string }
  | { readonly kind: 'point-in-time'; readonly componentId: string; readonly targetTime: string }
  | { readonly kind: 'backup'; readonly componentId: string; readonly backupId: string };

export interface WorkflowEngine {
  /** Starts the workflow named by the input's mode; returns the execution's id (ARN). */
  start(input: WorkflowInput): Promise<string>;
}

export interface DeployServiceDependencies {
  readonly plans: PlanService;
  readonly deployments: DeploymentRepository;
  /** A plan on AWS deploys only into an account its owner has connected. */
  readonly accounts: Pick<AccountService, 'find'>;
  readonly workflows: WorkflowEngine;
  readonly now: () => Date;
  readonly newId: () => string;
}

/** Refuses, before anything is created, what a plan asks of Google Cloud or Azure that CloudSeed does not do there yet: apps. */
function unbuiltProblems(spec: Plan): FieldProblem[] {
  const { target } = spec;
  if (target.cloud !== 'gcp' && target.cloud !== 'azure') return [];
  const cloud = CLOUD_NAMES[target.cloud];
  const problems: FieldProblem[] = [];
  spec.components.forEach((component, index) => {
    if (component.type === 'app')
      problems.push({ path: `/components/${index}`, message: `apps on ${cloud} are not available yet: deploy this app with a plan on AWS` });
  });
  return problems;
}

/** The plan's status as a sentence says it: "deploying", "stopping", "being deleted", "not deployed"… */
function statusWords(deployment: DeploymentRecord | undefined): string {
  const status = planStatus(deployment);
  return status === 'deleting' ? 'being deleted' : status.replace('_', ' ');
}

export class DeployService {
  readonly #deps: DeployServiceDependencies;

  constructor(deps: DeployServiceDependencies) {
    this.#deps = deps;
  }

  /** Takes the plan to what it says: creates what is missing or reconciles what runs. */
  async deploy(ownerId: string, planId: string): Promise<{ deploymentId: string; mode: DeployMode; executionArn: string }> {
    const plan = await this.#deps.plans.get(ownerId, planId);
    const current = await this.#deps.deployments.get(ownerId, planId);
    if (isBusy(current))
      throw new Conflict(`The plan is ${current?.status === 'deleting' ? 'being deleted' : 'already deploying'}; wait for it to finish.`);
    await this.#requireDeployable(ownerId, plan.spec);
    const mode = deployModeFor(current);
    if (mode === 'update' && current) {
      const problems = redeployProblems(current.spec, plan.spec);
      if (problems.length > 0) throw new ValidationFailed(problems, 'This change cannot be applied to the running deployment; see errors.');
    }
    const record: DeploymentRecord = {
      ownerId,
      planId,
      status: 'deploying',
      deploymentId: this.#deps.newId(),
      mode,
      planVersion: plan.version,
      spec: plan.spec,
      startedAt: this.#deps.now().toISOString(),
      revision: (current?.revision ?? 0) + 1,
      ...(mode === 'update' && current?.components ? { components: current.components } : {}),
      ...(mode === 'update' && current?.apps ? { apps: current.apps } : {}),
    };
    await this.#deps.deployments.start(record, current?.revision);
    const executionArn = await this.#startOrRelease(record);
    return { deploymentId: record.deploymentId, mode, executionArn };
  }

  /**
   * Takes one app back to the version that served before the current one: an update of the
   * deployed plan (not of edits saved since) that builds nothing and touches no other component.
   */
  async rollback(ownerId: string, planId: string, componentId: string): Promise<{ deploymentId: string; mode: DeployMode; version: string }> {
    await this.#deps.plans.get(ownerId, planId);
    const current = await this.#deps.deployments.get(ownerId, planId);
    if (isBusy(current)) throw new Conflict(`The plan is ${current?.status === 'deleting' ? 'being deleted' : 'deploying'}; wait for it to finish.`);
    const app = current?.apps?.find((candidate) => candidate.id === componentId);
    if (!current || !app) {
      const known = current?.spec.components.some((component) => component.id === componentId && component.type === 'app');
      throw new Conflict(
        known ? `${componentId} has not served yet; there is nothing to roll back.` : `The plan has no deployed app ${componentId}.`,
      );
    }
    if (!app.previous) throw new Conflict(`${componentId} has served one version only; there is no previous version to roll back to.`);
    const record: DeploymentRecord = {
      ...current,
      status: 'deploying',
      deploymentId: this.#deps.newId(),
      mode: 'update',
      rollback: { componentId },
      startedAt: this.#deps.now().toISOString(),
      revision: current.revision + 1,
    };
    await this.#deps.deployments.start(record, current.revision);
    await this.#startOrRelease(record);
    return { deploymentId: record.deploymentId, mode: 'update', version: app.previous.version };
  }

  /** Deletes a plan: at once when nothing was deployed, else after a teardown workflow ('tearing_down'). */
  async delete(ownerId: string, planId: string, ifMatch?: string): Promise<'deleted' | 'tearing_down'> {
    const plan = await this.#deps.plans.get(ownerId, planId);
    const current = await this.#deps.deployments.get(ownerId, planId);
    if (isBusy(current))
      throw new Conflict(`The plan is ${current?.status === 'deleting' ? 'already being deleted' : 'deploying'}; wait for it to finish.`);
    const deployed = current !== undefined && (current.status !== 'failed' || (current.components?.length ?? 0) > 0 || current.mode === 'teardown');
    if (!deployed) {
      await this.#deps.plans.delete(ownerId, plan.id, ifMatch);
      if (current) await this.#deps.deployments.delete(ownerId, planId, current.deploymentId);
      return 'deleted';
    }
    const record: DeploymentRecord = {
      ...current,
      status: 'deleting',
      deploymentId: this.#deps.newId(),
      mode: 'teardown',
      startedAt: this.#deps.now().toISOString(),
      revision: current.revision + 1,
    };
    await this.#deps.deployments.start(record, current.revision);
    await this.#startOrRelease(record);
    return 'tearing_down';
  }

  /** Restores into what runs: the plan goes orange, then green (or red with the reason). */
  async restore(ownerId: string, planId: string, request: RestoreRequest): Promise<{ deploymentId: string }> {
    await this.#deps.plans.get(ownerId, planId);
    const current = await this.#deps.deployments.get(ownerId, planId);
    if (!current || current.status !== 'running' || !current.components?.length)
      throw new Conflict('The plan is not running; a backup can only be restored into a running deployment.');
    const record: DeploymentRecord = {
      ...current,
      status: 'deploying',
      deploymentId: this.#deps.newId(),
      mode: 'restore',
      startedAt: this.#deps.now().toISOString(),
      revision: current.revision + 1,
    };
    await this.#deps.deployments.start(record, current.revision);
    await this.#startOrRelease(record, request);
    return { deploymentId: record.deploymentId };
  }

  /**
   * Stops the plan's database nodes, keeping their disks (a cloud machine stopped costs only its
   * storage): orange `stopping`, then grey `stopped`. A running plan, or one whose last update
   * failed with its nodes still there, can be stopped; its apps keep serving.
   */
  async stop(ownerId: string, planId: string): Promise<{ deploymentId: string }> {
    await this.#deps.plans.get(ownerId, planId);
    const current = await this.#deps.deployments.get(ownerId, planId);
    if (isBusy(current)) throw new Conflict(`The plan is ${statusWords(current)}; wait for it to finish.`);
    if (current?.status === 'stopped') throw new Conflict('The plan is already stopped.');
    const stoppable = current !== undefined && (current.status === 'running' || current.status === 'failed') && (current.components?.length ?? 0) > 0;
    if (!current || !stoppable) throw new Conflict('The plan has no deployed database to stop; deploy it first.');
    return this.#begin(current, 'stop');
  }

  /**
   * Starts a stopped plan's nodes again as they were deployed (edits saved since are not applied:
   * Deploy does that, and starts the nodes too): orange `starting`, then green.
   */
  async start(ownerId: string, planId: string): Promise<{ deploymentId: string }> {
    await this.#deps.plans.get(ownerId, planId);
    const current = await this.#deps.deployments.get(ownerId, planId);
    if (current?.status !== 'stopped') throw new Conflict(`Only a stopped plan can be started; this one is ${statusWords(current)}.`);
    return this.#begin(current, 'start');
  }

  async #begin(current: DeploymentRecord, mode: 'stop' | 'start'): Promise<{ deploymentId: string }> {
    const record: DeploymentRecord = {
      ...current,
      status: 'deploying',
      deploymentId: this.#deps.newId(),
      mode,
      startedAt: this.#deps.now().toISOString(),
      revision: current.revision + 1,
    };
    await this.#deps.deployments.start(record, current.revision);
    await this.#startOrRelease(record);
    return { deploymentId: record.deploymentId };
  }

  /** A plan on a cloud names an account of its own that can take it, and asks nothing its cloud does not do yet. */
  async #requireDeployable(ownerId: string, spec: Plan): Promise<void> {
    const { target } = spec;
    if (target.cloud === 'local') return;
    const cloud = CLOUD_NAMES[target.cloud];
    const problems = unbuiltProblems(spec);
    const account = target.accountId ? await this.#deps.accounts.find(ownerId, target.accountId) : undefined;
    const mismatch = account ? accountMismatch(account, target) : undefined;
    if (!account || mismatch) {
      const message =
        mismatch ??
        (target.accountId
          ? `no connected account ${target.accountId}: connect the account (POST /v1/accounts) or name one you have connected`
          : `no connected account: a plan on ${cloud} names one of your connected ${cloud} accounts (GET /v1/accounts)`);
      problems.unshift({ path: '/target/accountId', message });
    }
    if (problems.length === 0) return;
    throw new ValidationFailed(
      problems,
      problems[0]!.path === '/target/accountId'
        ? `The plan deploys to ${cloud} but names no ${cloud} account you have connected that can take it; see errors.`
        : `The plan asks ${cloud} for what CloudSeed does not do there yet; see errors.`,
    );
  }

  async #startOrRelease(record: DeploymentRecord, restore?: RestoreRequest): Promise<string> {
    try {
      const executionArn = await this.#deps.workflows.start({
        ownerId: record.ownerId,
        planId: record.planId,
        deploymentId: record.deploymentId,
        mode: record.mode,
        ...(restore ? { restore } : {}),
      });
      await this.#deps.deployments.update(record.ownerId, record.planId, record.deploymentId, { executionArn });
      return executionArn;
    } catch (error) {
      const at = this.#deps.now().toISOString();
      await this.#deps.deployments.update(record.ownerId, record.planId, record.deploymentId, {
        status: 'failed',
        failure: { step: 'StartExecution', reason: 'the workflow could not be started; try again', at },
        endedAt: at,
      });
      throw error;
    }
  }
}
