import type { Architecture } from '../../postgres/os.ts';
import { cents, cheapestMachine, HOURS_PER_MONTH, nodesCost } from '../machines.ts';
import type { CostEstimate, Machine, MachineRequest } from '../machines.ts';

export { HOURS_PER_MONTH };
export type { CostEstimate };

/** An EC2 instance type. */
export type InstanceType = Machine;

type Row = readonly [name: string, vcpus: number, memoryGiB: number, hourlyUsd: number];

function defineFamily(familyName: string, architecture: Architecture, burstable: boolean, rows: readonly Row[]): InstanceType[] {
  return rows.map(([name, vcpus, memoryGiB, hourlyUsd]) =>
    Object.freeze({ name, family: familyName, vcpus, memoryGiB, architecture, hourlyUsd, burstable }),
  );
}

// Prices: us-east-1, Linux, shared tenancy, on-demand, USD per hour, the AWS list
// prices (aws.amazon.com/ec2/pricing/on-demand, mirrored by instances.vantage.sh).
// Compiled 2026-11-24 and cross-checked against several independent public price
// tables, which agreed; not pulled from the live Price List API, so re-check before
// quoting them to a customer.
// Prices are literals rather than derived from the `large` rate so the table reads
// exactly like the published one and no floating-point drift creeps in.
//
// Families are the ones a customer would plausibly pick for PostgreSQL: burstable
// for small/dev databases, general purpose (m), memory optimised (r, the usual
// choice for a buffer-cache-heavy database) and compute optimised Graviton (c7g).
// The nano sizes (0.5 GiB) are left out: PostgreSQL plus the OS does not fit.
export const instanceTypes: readonly InstanceType[] = Object.freeze([
  ...defineFamily('t3', 'x86_64', true, [
    ['t3.micro', 2, 1, 0.0104],
    ['t3.small', 2, 2, 0.0208],
    ['t3.medium', 2, 4, 0.0416],
    ['t3.large', 2, 8, 0.0832],
    ['t3.xlarge', 4, 16, 0.1664],
    ['t3.2xlarge', 8, 32, 0.3328],
  ]),
  ...defineFamily('t4g', 'arm64', true, [
    ['t4g.micro', 2, 1, 0.0084],
    ['t4g.small', 2, 2, 0.0168],
    ['t4g.medium', 2, 4, 0.0336],
    ['t4g.large', 2, 8, 0.0672],
    ['t4g.xlarge', 4, 16, 0.1344],
    ['t4g.2xlarge', 8, 32, 0.2688],
  ]),
  ...defineFamily('m6i', 'x86_64', false, [
    ['m6i.large', 2, 8, 0.096],
    ['m6i.xlarge', 4, 16, 0.192],
    ['m6i.2xlarge', 8, 32, 0.384],
    ['m6i.4xlarge', 16, 64, 0.768],
    ['m6i.8xlarge', 32, 128, 1.536],
    ['m6i.12xlarge', 48, 192, 2.304],
    ['m6i.16xlarge', 64, 256, 3.072],
  ]),
  ...defineFamily('m7i', 'x86_64', false, [
    ['m7i.large', 2, 8, 0.1008],
    ['m7i.xlarge', 4, 16, 0.2016],
    ['m7i.2xlarge', 8, 32, 0.4032],
    ['m7i.4xlarge', 16, 64, 0.8064],
    ['m7i.8xlarge', 32, 128, 1.6128],
    ['m7i.12xlarge', 48, 192, 2.4192],
    ['m7i.16xlarge', 64, 256, 3.2256],
  ]),
  ...defineFamily('m7g', 'arm64', false, [
    ['m7g.medium', 1, 4, 0.0408],
    ['m7g.large', 2, 8, 0.0816],
    ['m7g.xlarge', 4, 16, 0.1632],
    ['m7g.2xlarge', 8, 32, 0.3264],
    ['m7g.4xlarge', 16, 64, 0.6528],
    ['m7g.8xlarge', 32, 128, 1.3056],
    ['m7g.12xlarge', 48, 192, 1.9584],
    ['m7g.16xlarge', 64, 256, 2.6112],
  ]),
  ...defineFamily('r6i', 'x86_64', false, [
    ['r6i.large', 2, 16, 0.126],
    ['r6i.xlarge', 4, 32, 0.252],
    ['r6i.2xlarge', 8, 64, 0.504],
    ['r6i.4xlarge', 16, 128, 1.008],
    ['r6i.8xlarge', 32, 256, 2.016],
    ['r6i.12xlarge', 48, 384, 3.024],
    ['r6i.16xlarge', 64, 512, 4.032],
  ]),
  ...defineFamily('r7i', 'x86_64', false, [
    ['r7i.large', 2, 16, 0.1323],
    ['r7i.xlarge', 4, 32, 0.2646],
    ['r7i.2xlarge', 8, 64, 0.5292],
    ['r7i.4xlarge', 16, 128, 1.0584],
    ['r7i.8xlarge', 32, 256, 2.1168],
    ['r7i.12xlarge', 48, 384, 3.1752],
    ['r7i.16xlarge', 64, 512, 4.2336],
  ]),
  ...defineFamily('r7g', 'arm64', false, [
    ['r7g.medium', 1, 8, 0.0536],
    ['r7g.large', 2, 16, 0.1071],
    ['r7g.xlarge', 4, 32, 0.2142],
    ['r7g.2xlarge', 8, 64, 0.4284],
    ['r7g.4xlarge', 16, 128, 0.8568],
    ['r7g.8xlarge', 32, 256, 1.7136],
    ['r7g.12xlarge', 48, 384, 2.5704],
    ['r7g.16xlarge', 64, 512, 3.4272],
  ]),
  ...defineFamily('c7g', 'arm64', false, [
    ['c7g.medium', 1, 2, 0.0363],
    ['c7g.large', 2, 4, 0.0725],
    ['c7g.xlarge', 4, 8, 0.145],
    ['c7g.2xlarge', 8, 16, 0.29],
    ['c7g.4xlarge', 16, 32, 0.58],
    ['c7g.8xlarge', 32, 64, 1.16],
    ['c7g.12xlarge', 48, 96, 1.74],
    ['c7g.16xlarge', 64, 128, 2.32],
  ]),
]);

const byName: ReadonlyMap<string, InstanceType> = new Map(instanceTypes.map((t) => [t.name, t]));

// Names arrive from the canvas and the CLI, so surrounding space and capitals are
// forgiven; EC2 names themselves are always lower case.
export function findInstanceType(name: string): InstanceType | undefined {
  return byName.get(name.trim().toLowerCase());
}

/** The cheapest type with at least `cpus` vCPUs and `memoryGiB` GiB; `catalog` exists for tests. */
export function cheapestFit(request: MachineRequest, catalog: readonly InstanceType[] = instanceTypes): InstanceType | undefined {
  return cheapestMachine(catalog, request);
}

// us-east-1 gp3 storage; the included 3000 IOPS / 125 MiB/s baseline costs nothing extra.
export const GP3_USD_PER_GIB_MONTH = 0.08;
// us-east-1 Network Load Balancer hour; its capacity units (traffic) come on top.
export const NLB_USD_PER_HOUR = 0.0225;

/** The estimate with a Network Load Balancer's hours added (a Patroni cluster's endpoint). */
export function withLoadBalancer(estimate: CostEstimate): CostEstimate {
  const loadBalancerUsd = cents(NLB_USD_PER_HOUR * HOURS_PER_MONTH);
  return {
    ...estimate,
    loadBalancerUsd,
    totalUsd: cents(estimate.totalUsd + loadBalancerUsd),
    basis: `${estimate.basis}, and a Network Load Balancer at $${NLB_USD_PER_HOUR}/h (capacity units not included)`,
  };
}

/**
 * Monthly on-demand cost of `nodes` identical nodes, each with its own instance
 * and its own gp3 volume of `storageGiB`. Snapshots, data transfer and extra
 * provisioned IOPS/throughput are not included.
 */
export function monthlyCost(instance: InstanceType, storageGiB: number, nodes = 1): CostEstimate {
  const basis = `us-east-1 on-demand, ${HOURS_PER_MONTH} h/month, gp3 at $${GP3_USD_PER_GIB_MONTH}/GiB-month`;
  return nodesCost(instance, { sizeGiB: storageGiB, usdPerGibMonth: GP3_USD_PER_GIB_MONTH }, nodes, basis);
}
