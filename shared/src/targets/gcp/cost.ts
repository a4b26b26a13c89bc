import type { PostgresComponent } from '../../cs-json/schema.ts';
import { nodeCount } from '../../postgres/nodes.ts';
import { usesPatroni } from '../aws/patroni.ts';
import { cents, chooseMachine, HOURS_PER_MONTH, nodesCost } from '../machines.ts';
import type { CostEstimate, MachineChoice } from '../machines.ts';
import { findGcpMachineType, GCP_DISK_USD_PER_GIB_MONTH, gcpMachineTypes } from './machine-types.ts';
import type { GcpDiskType, GcpMachineType } from './machine-types.ts';

// What a component costs on Google Cloud, and which machine type and disk it runs on: questions the
// editor asks in the browser, so this module reads no files and hashes nothing (gcp-json.ts does).

/** Every node boots from its own disk of this size, beside the data disk; pd-balanced. */
export const BOOT_DISK_GIB = 20;
export const BOOT_DISK_TYPE: GcpDiskType = 'pd-balanced';
// us-central1 internal passthrough Network Load Balancer: the forwarding-rule hour, which covers a
// project's first five rules in a region (each further rule costs less); processed data comes on top.
export const FORWARDING_RULE_USD_PER_HOUR = 0.025;

export function gcpMachineFor(component: PostgresComponent): { readonly machine: GcpMachineType; readonly choice: MachineChoice } {
  return chooseMachine(gcpMachineTypes, findGcpMachineType, component.hardware, {
    field: 'hardware.gcp.machineType',
    value: component.hardware.gcp?.machineType,
  });
}

/**
 * The data disk's type. A database lives on random I/O, so it gets SSD-backed storage with a floor
 * under its performance: pd-ssd (30 IOPS per GiB over a per-disk floor) on families that only take
 * Persistent Disk. Where the family takes Hyperdisk Balanced (C3), that instead: its 3000 IOPS and
 * 140 MiB/s come with any size and cost nothing extra, it is cheaper per GiB than pd-ssd, and
 * more performance can be provisioned later without growing or moving the disk.
 */
export function gcpDiskTypeFor(machine: GcpMachineType): GcpDiskType {
  return machine.diskTypes.includes('hyperdisk-balanced') ? 'hyperdisk-balanced' : 'pd-ssd';
}

export function gcpComponentCost(component: PostgresComponent): CostEstimate {
  const { machine } = gcpMachineFor(component);
  const diskType = gcpDiskTypeFor(machine);
  const dataUsdPerGibMonth = GCP_DISK_USD_PER_GIB_MONTH[diskType];
  const nodes = nodeCount(component);
  const basis = `us-central1 on-demand, ${HOURS_PER_MONTH} h/month, ${diskType} at $${dataUsdPerGibMonth}/GiB-month`;
  const data = nodesCost(machine, { sizeGiB: component.hardware.storage.sizeGiB, usdPerGibMonth: dataUsdPerGibMonth }, nodes, basis);
  const withBootDisks = withBootDisk(data, nodes);
  // A cluster that fails over by itself has an internal passthrough Network Load Balancer in front of it.
  const estimate = usesPatroni(component) ? withLoadBalancer(withBootDisks) : withBootDisks;
  return { ...estimate, basis: `${estimate.basis}; the plan's Cloud NAT, network egress and backup storage not included` };
}

function withBootDisk(estimate: CostEstimate, nodes: number): CostEstimate {
  const bootUsdPerGibMonth = GCP_DISK_USD_PER_GIB_MONTH[BOOT_DISK_TYPE];
  const storageUsd = cents(estimate.storageUsd + BOOT_DISK_GIB * bootUsdPerGibMonth * nodes);
  return {
    ...estimate,
    storageUsd,
    totalUsd: cents(estimate.instanceUsd + storageUsd),
    basis: `${estimate.basis}, plus a ${BOOT_DISK_GIB} GiB ${BOOT_DISK_TYPE} boot disk per node at $${bootUsdPerGibMonth}/GiB-month`,
  };
}

function withLoadBalancer(estimate: CostEstimate): CostEstimate {
  const loadBalancerUsd = cents(FORWARDING_RULE_USD_PER_HOUR * HOURS_PER_MONTH);
  return {
    ...estimate,
    loadBalancerUsd,
    totalUsd: cents(estimate.totalUsd + loadBalancerUsd),
    basis: `${estimate.basis}, and an internal passthrough Network Load Balancer forwarding rule at $${FORWARDING_RULE_USD_PER_HOUR}/h (processed data not included)`,
  };
}
