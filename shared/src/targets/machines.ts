import type { Architecture } from '../postgres/os.ts';

// What every cloud's catalog has in common: a machine is a size a node can run on, with its
// on-demand price in the catalog's reference region. Each cloud lists its own (aws/instances.ts,
// gcp/machine-types.ts, azure/vm-sizes.ts) and picks from it the same way.

export interface Machine {
  /** The cloud's own name: t3.medium, e2-standard-2, Standard_D2s_v5. */
  readonly name: string;
  readonly family: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly architecture: Architecture;
  readonly hourlyUsd: number;
  /** Shares its CPU with credits or a baseline (t3, e2 shared-core, B-series): fine for small and dev databases. */
  readonly burstable: boolean;
}

export interface MachineRequest {
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly architecture?: Architecture;
}

/**
 * The cheapest machine with at least `cpus` vCPUs and `memoryGiB` GiB (and of the given
 * architecture, when one is asked for). Equal prices are broken by the smaller memory, then by
 * name, so the answer never depends on catalog order.
 */
export function cheapestMachine<M extends Machine>(catalog: readonly M[], request: MachineRequest): M | undefined {
  let best: M | undefined;
  for (const candidate of catalog) {
    if (candidate.vcpus < request.cpus || candidate.memoryGiB < request.memoryGiB) continue;
    if (request.architecture !== undefined && candidate.architecture !== request.architecture) continue;
    if (best === undefined || ranksBefore(candidate, best)) best = candidate;
  }
  return best;
}

function ranksBefore(a: Machine, b: Machine): boolean {
  if (a.hourlyUsd !== b.hourlyUsd) return a.hourlyUsd < b.hourlyUsd;
  if (a.memoryGiB !== b.memoryGiB) return a.memoryGiB < b.memoryGiB;
  return a.name < b.name;
}

/** Which machine a rendered document uses, and why: recorded beside it so a reader never has to guess. */
export interface MachineChoice {
  readonly name: string;
  readonly reason: string;
}

/**
 * The machine a component runs on: its hint when it names one (validation has checked it is in
 * the catalog), else the cheapest that fits its vCPUs and memory.
 */
export function chooseMachine<M extends Machine>(
  catalog: readonly M[],
  find: (name: string) => M | undefined,
  hardware: { readonly cpus: number; readonly memoryGiB: number },
  hint: { readonly field: string; readonly value: string | undefined },
): { readonly machine: M; readonly choice: MachineChoice } {
  if (hint.value !== undefined) {
    const machine = find(hint.value);
    if (!machine) throw new RangeError(`${hint.value} is not in the catalog`);
    return { machine, choice: { name: machine.name, reason: `named by ${hint.field}` } };
  }
  const machine = cheapestMachine(catalog, hardware);
  if (!machine) throw new RangeError(`no catalog machine has ${hardware.cpus} vCPUs and ${hardware.memoryGiB} GiB`);
  return {
    machine,
    choice: {
      name: machine.name,
      reason: `the cheapest in the catalog with at least ${hardware.cpus} vCPUs and ${hardware.memoryGiB} GiB ($${machine.hourlyUsd}/h on demand)`,
    },
  };
}

/** A monthly estimate: what the editor, the dashboard and every rendered document show. */
export interface CostEstimate {
  instanceUsd: number;
  storageUsd: number;
  /** A cluster that fails over by itself: its load balancer's hours, where the cloud puts one in front. */
  loadBalancerUsd?: number;
  totalUsd: number;
  currency: 'USD';
  basis: string;
}

// The clouds' common convention for monthly estimates (8760 h / 12).
export const HOURS_PER_MONTH = 730;

// toPrecision first strips binary noise (0.0816 * 730 = 59.567999…) so that
// half-cent values round up as a person would round them.
export function cents(usd: number): number {
  return Math.round(Number((usd * 100).toPrecision(12))) / 100;
}

/**
 * Monthly on-demand cost of `nodes` identical nodes, each with its own machine and its own disk
 * of `storageGiB` at `storageUsdPerGibMonth`. `basis` names the region and the disk; the node
 * count is added to it.
 */
export function nodesCost(
  machine: Machine,
  storage: { readonly sizeGiB: number; readonly usdPerGibMonth: number },
  nodes: number,
  basis: string,
): CostEstimate {
  if (!Number.isFinite(storage.sizeGiB) || storage.sizeGiB < 0) {
    throw new RangeError(`storageGiB must be a non-negative number, got ${storage.sizeGiB}`);
  }
  if (!Number.isInteger(nodes) || nodes < 1) {
    throw new RangeError(`nodes must be a positive integer, got ${nodes}`);
  }
  const instanceUsd = cents(machine.hourlyUsd * HOURS_PER_MONTH * nodes);
  const storageUsd = cents(storage.sizeGiB * storage.usdPerGibMonth * nodes);
  // Summing the rounded parts keeps the total equal to what a reader adds up.
  const totalUsd = cents(instanceUsd + storageUsd);
  return {
    instanceUsd,
    storageUsd,
    totalUsd,
    currency: 'USD',
    basis: nodes === 1 ? basis : `${basis}, ${nodes} nodes each with its own machine and disk`,
  };
}
