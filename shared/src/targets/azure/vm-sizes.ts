import type { Architecture } from '../../postgres/os.ts';
import { cheapestMachine } from '../machines.ts';
import type { Machine, MachineRequest } from '../machines.ts';

/**
 * An Azure VM size. `premiumSsdV2`: it can attach a Premium SSD v2 data disk (as a zonal VM).
 * `trustedLaunch`: it boots Gen2 images with Secure Boot and a vTPM.
 */
export type AzureVmSize = Machine & { readonly premiumSsdV2: boolean; readonly trustedLaunch: boolean };

type Row = readonly [name: string, vcpus: number, memoryGiB: number, hourlyUsd: number];

interface FamilySpec {
  readonly family: string;
  readonly architecture: Architecture;
  readonly burstable: boolean;
  readonly premiumSsdV2: boolean;
  readonly trustedLaunch: boolean;
}

function defineFamily(spec: FamilySpec, rows: readonly Row[]): AzureVmSize[] {
  return rows.map(([name, vcpus, memoryGiB, hourlyUsd]) => Object.freeze({ name, vcpus, memoryGiB, hourlyUsd, ...spec }));
}

// Prices: East US (eastus), Linux, pay-as-you-go, USD per hour, the list prices of
// azure.microsoft.com/pricing/details/virtual-machines/linux/ as the Azure Retail Prices API
// (prices.azure.com/api/retail/prices, meter "<size>", priceType Consumption) returns them.
// Compiled 2026-12-05 from those published prices, not pulled live: re-check before quoting
// them to a customer. Literals, as in aws/instances.ts, so the table reads like the published one;
// D, E and Dps v5 are priced per vCPU and B per GiB, so each family is linear.
//
// Families: the classic B-series burstable sizes (B1ms..B16ms; the commonly deployed burstables,
// chosen over Bsv2 for small and dev databases), D v5 (Intel, 4 GiB per vCPU), Dps v5 (Ampere
// Altra Arm64) and E v5 (memory optimised, 8 GiB per vCPU, the usual choice for a buffer-cache-heavy
// database). B1ls and B1s are left out: PostgreSQL plus the OS does not fit in 0.5-1 GiB.
//
// Premium SSD v2 is attachable from D v5, Dps v5 and E v5 (zonal VMs only); the classic B-series is
// given Premium SSD (v1). Trusted Launch: the Trusted Launch size table lists B, Dsv5 and Esv5 as
// supported and the Arm64 Dpsv5/Dpdsv5 as not supported yet, so Dps v5 is marked false: an
// automatic choice never lands on it (cheapestAzureFit skips it) and a plan that names one is
// rendered with a standard security type and the reason beside it (azure-json.ts).
export const azureVmSizes: readonly AzureVmSize[] = Object.freeze([
  ...defineFamily({ family: 'Bs', architecture: 'x86_64', burstable: true, premiumSsdV2: false, trustedLaunch: true }, [
    ['Standard_B1ms', 1, 2, 0.0207],
    ['Standard_B2s', 2, 4, 0.0416],
    ['Standard_B2ms', 2, 8, 0.0832],
    ['Standard_B4ms', 4, 16, 0.166],
    ['Standard_B8ms', 8, 32, 0.333],
    ['Standard_B12ms', 12, 48, 0.499],
    ['Standard_B16ms', 16, 64, 0.666],
  ]),
  ...defineFamily({ family: 'Dsv5', architecture: 'x86_64', burstable: false, premiumSsdV2: true, trustedLaunch: true }, [
    ['Standard_D2s_v5', 2, 8, 0.096],
    ['Standard_D4s_v5', 4, 16, 0.192],
    ['Standard_D8s_v5', 8, 32, 0.384],
    ['Standard_D16s_v5', 16, 64, 0.768],
    ['Standard_D32s_v5', 32, 128, 1.536],
    ['Standard_D48s_v5', 48, 192, 2.304],
    ['Standard_D64s_v5', 64, 256, 3.072],
  ]),
  ...defineFamily({ family: 'Dpsv5', architecture: 'arm64', burstable: false, premiumSsdV2: true, trustedLaunch: false }, [
    ['Standard_D2ps_v5', 2, 8, 0.077],
    ['Standard_D4ps_v5', 4, 16, 0.154],
    ['Standard_D8ps_v5', 8, 32, 0.308],
    ['Standard_D16ps_v5', 16, 64, 0.616],
    ['Standard_D32ps_v5', 32, 128, 1.232],
    ['Standard_D48ps_v5', 48, 192, 1.848],
    // 208 GiB, not 256: the Ampere host caps the largest size.
    ['Standard_D64ps_v5', 64, 208, 2.464],
  ]),
  ...defineFamily({ family: 'Esv5', architecture: 'x86_64', burstable: false, premiumSsdV2: true, trustedLaunch: true }, [
    ['Standard_E2s_v5', 2, 16, 0.126],
    ['Standard_E4s_v5', 4, 32, 0.252],
    ['Standard_E8s_v5', 8, 64, 0.504],
    ['Standard_E16s_v5', 16, 128, 1.008],
    ['Standard_E20s_v5', 20, 160, 1.26],
    ['Standard_E32s_v5', 32, 256, 2.016],
    ['Standard_E48s_v5', 48, 384, 3.024],
    ['Standard_E64s_v5', 64, 512, 4.032],
  ]),
]);

const byName: ReadonlyMap<string, AzureVmSize> = new Map(azureVmSizes.map((size) => [size.name.toLowerCase(), size]));

// Names arrive from the canvas and the CLI, so surrounding space and capitals are forgiven; the
// answer carries Azure's own spelling (Standard_D2s_v5), which is what ARM is sent.
export function findAzureVmSize(name: string): AzureVmSize | undefined {
  return byName.get(name.trim().toLowerCase());
}

/**
 * The cheapest Trusted Launch size with at least `cpus` vCPUs and `memoryGiB` GiB. Sizes without
 * Trusted Launch are never picked by price (a plan names one to get it); every request one of
 * them fits, a D v5 of the same vCPUs fits too. `catalog` exists for tests.
 */
export function cheapestAzureFit(request: MachineRequest, catalog: readonly AzureVmSize[] = azureVmSizes): AzureVmSize | undefined {
  return cheapestMachine(
    catalog.filter((size) => size.trustedLaunch),
    request,
  );
}

// Disks, East US, USD, from azure.microsoft.com/pricing/details/managed-disks/ and the Retail
// Prices API (serviceName "Storage", productName "Premium SSD v2 Managed Disks" / "Premium SSD
// Managed Disks"), compiled 2026-12-05; re-check before quoting.
//
// Premium SSD v2 is billed per provisioned GiB; 3000 IOPS and 125 MB/s come with every disk at no
// charge, and CloudSeed provisions nothing above that baseline.
export const PREMIUM_SSD_V2_USD_PER_GIB_MONTH = 0.0812;

/** A Premium SSD (v1) tier: a disk is billed as the smallest tier that holds its size. */
export interface PremiumSsdTier {
  readonly tier: string;
  readonly sizeGiB: number;
  readonly monthlyUsd: number;
}

// P1-P3 (4-16 GiB) are left out: a data disk is at least 8 GiB and is priced at P4 up to 32 GiB,
// an upper bound for the few plans under 16 GiB.
export const PREMIUM_SSD_TIERS: readonly PremiumSsdTier[] = Object.freeze(
  (
    [
      ['P4', 32, 5.28],
      ['P6', 64, 10.21],
      ['P10', 128, 19.71],
      ['P15', 256, 38.01],
      ['P20', 512, 73.22],
      ['P30', 1024, 135.17],
      ['P40', 2048, 259.05],
      ['P50', 4096, 495.57],
      ['P60', 8192, 946.08],
      ['P70', 16384, 1802.06],
    ] as const
  ).map(([tier, sizeGiB, monthlyUsd]) => Object.freeze({ tier, sizeGiB, monthlyUsd })),
);

/** The Premium SSD tier a disk of `sizeGiB` is billed as. */
export function premiumSsdTier(sizeGiB: number): PremiumSsdTier {
  const tier = PREMIUM_SSD_TIERS.find((candidate) => candidate.sizeGiB >= sizeGiB);
  if (!tier) throw new RangeError(`a Premium SSD holds at most 16384 GiB, got ${sizeGiB}`);
  return tier;
}
