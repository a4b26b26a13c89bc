import { validatePlan } from '@cloudseed/shared';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import type { PlanInput } from '@cloudseed/shared';
import type { DeployTarget, NodeRef, Provider } from '../../providers/provider.ts';

// The plan the local provider's tests deploy (one PostgreSQL 15 component, a small machine), and
// the deploy workflow's steps in the order the local cloud runs them.

export interface LocalComponentOptions {
  readonly version?: string;
  readonly memoryGiB?: number;
  readonly maxConnections?: number;
  readonly replicas?: number;
  readonly allowedCidrs?: string[];
}

export function localTarget(planId: string, options: LocalComponentOptions = {}): DeployTarget {
  const replicas = options.replicas ?? 0;
  const input: PlanInput = {
    apiVersion: 'cs/v1',
    name: planId,
    target: { cloud: 'local' },
    components: [
      {
        id: 'db',
        type: 'postgres',
        hardware: { cpus: 2, memoryGiB: options.memoryGiB ?? 1 },
        db: {
          version: options.version ?? '15',
          maxConnections: options.maxConnections ?? 50,
          topology: replicas > 0 ? { mode: 'cluster', replicas } : { mode: 'single', replicas: 0 },
        },
        network: { allowedCidrs: options.allowedCidrs ?? [] },
      },
    ],
  };
  const result = validatePlan(input);
  if (!result.ok) throw new Error(`invalid test plan: ${JSON.stringify(result.errors)}`);
  const [component] = postgresComponents(result.plan);
  if (!component) throw new Error('the test plan has no component');
  return { ownerId: 'owner-1', planId, planName: result.plan.name, deploymentId: `dep-${planId}`, target: result.plan.target, component };
}

/** Runs a command on the nodes and fails with its reason unless it is done. */
export async function runCommand(provider: Provider, target: DeployTarget, nodes: readonly NodeRef[], kind: 'install' | 'configure'): Promise<void> {
  const command = await provider.sendCommand(target, nodes, kind);
  const progress = await provider.commandStatus(target, command);
  if (progress.state !== 'done') throw new Error(`${kind} did not finish: ${JSON.stringify(progress)}`);
}

/** The deploy workflow's steps in order, as the local cloud runs them; returns the nodes. */
export async function deployLocally(provider: Provider, target: DeployTarget): Promise<NodeRef[]> {
  await provider.preflight(target);
  await provider.ensurePassword(target);
  const nodes = await provider.launchNodes(target, await provider.ensureSecurityGroup(target));
  const ready = await provider.nodesReady(target, nodes);
  if (ready.state !== 'done') throw new Error(`the nodes are not ready: ${JSON.stringify(ready)}`);
  for (const kind of ['install', 'configure'] as const) await runCommand(provider, target, nodes, kind);
  await provider.verify(target, nodes);
  return nodes;
}
