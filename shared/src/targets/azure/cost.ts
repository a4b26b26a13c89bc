import type { PostgresComponent } from '../../cs-json/schema.ts';
import { nodeCount } from '../../postgres/nodes.ts';
import { cents, chooseMachine, HOURS_PER_MONTH, nodesCost } from '../machines.ts';
import type { CostEstimate, MachineChoice } from '../machines.ts';
import { usesPatroni } from '../aws/patroni.ts';
import { azureVmSizes, findAzureVmSize, PREMIUM_SSD_V2_USD_PER_GIB_MONTH, premiumSsdTier } from './vm-sizes.ts';
import type { AzureVmSize } from './vm-sizes.ts';

// What a component costs on Azure and which VM size it runs on: questions the editor asks in the
// browser, so this module reaches nothing that reads files and nothing of node:crypto.

export type AzureDiskSku = 'PremiumV2_LRS' | 'Premium_LRS';

/** Every node's OS disk: 30 GiB Premium SSD, billed as a P4. */
export const OS_DISK_GIB = 30;
// East US internal Standard Load Balancer, the first five rules; data processed comes on top.
export const STANDARD_LB_USD_PER_HOUR = 0.025;

// Price ties are broken by cheapestMachine; only Trusted Launch sizes compete (vm-sizes.ts).
const trustedLaunchSizes = azureVmSizes.filter((size) => size.trustedLaunch);

export function azureVmSizeFor(component: PostgresComponent): { readonly machine: AzureVmSize; readonly choice: MachineChoice } {
  return chooseMachine(trustedLaunchSizes, findAzureVmSize, component.hardware, {
    field: 'hardware.azure.vmSize',
    value: component.hardware.azure?.vmSize,
  });
}

/** Premium SSD v2 where the size attaches it (cheaper per GiB and 3000 IOPS at any size), else Premium SSD. */
export function azureDiskFor(machine: AzureVmSize): AzureDiskSku {
  return machine.premiumSsdV2 ? 'PremiumV2_LRS' : 'Premium_LRS';
}

/**
 * Monthly pay-as-you-go cost of a component: each node's VM, its data disk and its OS disk, and
 * for a Patroni cluster the internal load balancer in front of it. Data transfer, snapshots and
 * backup storage are not included.
 */
export function azureComponentCost(component: PostgresComponent): CostEstimate {
  const { machine } = azureVmSizeFor(component);
  const nodes = nodeCount(component);
  const sizeGiB = component.hardware.storage.sizeGiB;
  const osDisk = premiumSsdTier(OS_DISK_GIB);
  const osDisks = `a ${OS_DISK_GIB} GiB Premium SSD OS disk (${osDisk.tier}, $${osDisk.monthlyUsd}/month) per node`;
  const head = `eastus pay-as-you-go, ${HOURS_PER_MONTH} h/month`;
  let data: CostEstimate;
  if (azureDiskFor(machine) === 'PremiumV2_LRS') {
    const basis = `${head}, Premium SSD v2 at $${PREMIUM_SSD_V2_USD_PER_GIB_MONTH}/GiB-month, ${osDisks}`;
    data = nodesCost(machine, { sizeGiB, usdPerGibMonth: PREMIUM_SSD_V2_USD_PER_GIB_MONTH }, nodes, basis);
  } else {
    // A Premium SSD is billed as the smallest P tier that holds it, a flat price per disk: nodesCost
    // prices the VMs (and checks the counts), the disks are added here.
    const tier = premiumSsdTier(sizeGiB);
    const basis = `${head}, Premium SSD ${tier.tier} at $${tier.monthlyUsd}/month, ${osDisks}`;
    const vms = nodesCost(machine, { sizeGiB, usdPerGibMonth: 0 }, nodes, basis);
    data = { ...vms, storageUsd: cents(tier.monthlyUsd * nodes) };
  }
  const storageUsd = cents(data.storageUsd + osDisk.monthlyUsd * nodes);
  const estimate: CostEstimate = { ...data, storageUsd, totalUsd: cents(data.instanceUsd + storageUsd) };
  return usesPatroni(component) ? withLoadBalancer(estimate) : estimate;
}

function withLoadBalancer(estimate: CostEstimate): CostEstimate {
  const loadBalancerUsd = cents(STANDARD_LB_USD_PER_HOUR * HOURS_PER_MONTH);
  return {
    ...estimate,
    loadBalancerUsd,
    totalUsd: cents(estimate.totalUsd + loadBalancerUsd),
    basis: `${estimate.basis}, and an internal Standard Load Balancer at $${STANDARD_LB_USD_PER_HOUR}/h (data processed not included)`,
  };
}
