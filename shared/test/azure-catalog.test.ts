import { describe, expect, it } from 'vitest';
import { validatePlan } from '../src/cs-json/validate.ts';
import type { PostgresComponent } from '../src/cs-json/schema.ts';
import {
  PREMIUM_SSD_TIERS,
  PREMIUM_SSD_V2_USD_PER_GIB_MONTH,
  azureComponentCost,
  azureDiskFor,
  azureImageReference,
  azureVmSizeFor,
  azureVmSizes,
  cheapestAzureFit,
  findAzureVmSize,
  premiumSsdTier,
} from '../src/targets/azure/index.ts';
import type { AzureVmSize } from '../src/targets/azure/index.ts';

function component(fields: Record<string, unknown> = {}): PostgresComponent {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'azure', subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'cloudseed-prod', region: 'westeurope' },
    components: [{ id: 'db', type: 'postgres', os: { name: 'ubuntu', version: '24.04' }, ...fields }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const [only] = result.plan.components;
  if (only?.type !== 'postgres') throw new Error('fixture has no postgres component');
  return only;
}

function size(name: string): AzureVmSize {
  const found = findAzureVmSize(name);
  if (!found) throw new Error(`${name} is not in the catalog`);
  return found;
}

describe('the Azure VM size catalog', () => {
  it('names every size once, with a positive price and at least 2 GiB', () => {
    const names = azureVmSizes.map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of azureVmSizes) {
      expect(entry.name).toMatch(/^Standard_[A-Za-z0-9_]+$/);
      expect(entry.hourlyUsd).toBeGreaterThan(0);
      expect(entry.memoryGiB).toBeGreaterThanOrEqual(2);
      expect(entry.vcpus).toBeGreaterThanOrEqual(1);
    }
  });

  it('prices D, Dps and E v5 per vCPU and the B-series per GiB, so each family is linear (within a cent per hour of rounding)', () => {
    const families = Map.groupBy(azureVmSizes, (entry) => entry.family);
    expect([...families.keys()]).toEqual(['Bs', 'Dsv5', 'Dpsv5', 'Esv5']);
    for (const [family, members] of families) {
      const unit = (entry: AzureVmSize) => (family === 'Bs' ? entry.memoryGiB : entry.vcpus);
      const [first] = members;
      if (!first) throw new Error(`${family} is empty`);
      const rate = first.hourlyUsd / unit(first);
      for (const member of members) expect(Math.abs(member.hourlyUsd - rate * unit(member)), member.name).toBeLessThan(0.01);
    }
  });

  it('keeps the published anchor prices', () => {
    expect(size('Standard_B2s').hourlyUsd).toBe(0.0416);
    expect(size('Standard_B2ms').hourlyUsd).toBe(0.0832);
    expect(size('Standard_D2s_v5').hourlyUsd).toBe(0.096);
    expect(size('Standard_E2s_v5').hourlyUsd).toBe(0.126);
    expect(size('Standard_D2ps_v5').hourlyUsd).toBe(0.077);
  });

  it('marks Premium SSD v2 on D, Dps and E v5 only, Arm64 on Dps v5 only, and Trusted Launch everywhere but Dps v5', () => {
    for (const entry of azureVmSizes) {
      expect(entry.premiumSsdV2, entry.name).toBe(entry.family !== 'Bs');
      expect(entry.architecture, entry.name).toBe(entry.family === 'Dpsv5' ? 'arm64' : 'x86_64');
      expect(entry.trustedLaunch, entry.name).toBe(entry.family !== 'Dpsv5');
      expect(entry.burstable, entry.name).toBe(entry.family === 'Bs');
    }
  });

  it("finds a size whatever its case and surrounding space, answering with Azure's spelling", () => {
    expect(findAzureVmSize(' standard_d4S_V5 ')?.name).toBe('Standard_D4s_v5');
    expect(findAzureVmSize('Standard_D4s_v6')).toBeUndefined();
  });
});

describe('cheapestAzureFit', () => {
  it('picks the cheapest Trusted Launch size that fits', () => {
    expect(cheapestAzureFit({ cpus: 2, memoryGiB: 4 })?.name).toBe('Standard_B2s');
    expect(cheapestAzureFit({ cpus: 1, memoryGiB: 2 })?.name).toBe('Standard_B1ms');
    expect(cheapestAzureFit({ cpus: 2, memoryGiB: 16 })?.name).toBe('Standard_E2s_v5');
    expect(cheapestAzureFit({ cpus: 64, memoryGiB: 512 })?.name).toBe('Standard_E64s_v5');
    expect(cheapestAzureFit({ cpus: 96, memoryGiB: 8 })).toBeUndefined();
  });

  it('never picks the Arm64 Dps v5 by price, though it is cheaper, because it lacks Trusted Launch', () => {
    // D2ps_v5 ($0.077) undercuts B2ms ($0.0832) for 2 vCPUs and 8 GiB.
    expect(cheapestAzureFit({ cpus: 2, memoryGiB: 8 })?.name).toBe('Standard_B2ms');
    expect(cheapestAzureFit({ cpus: 2, memoryGiB: 8, architecture: 'arm64' })).toBeUndefined();
  });
});

describe('azureVmSizeFor', () => {
  it('says why it chose the size: the cheapest fit', () => {
    expect(azureVmSizeFor(component({ hardware: { cpus: 2, memoryGiB: 4 } })).choice).toEqual({
      name: 'Standard_B2s',
      reason: 'the cheapest in the catalog with at least 2 vCPUs and 4 GiB ($0.0416/h on demand)',
    });
  });

  it('respects the hint, Dps v5 included, and says so', () => {
    const hinted = azureVmSizeFor(component({ hardware: { azure: { vmSize: 'Standard_E4s_v5' } } }));
    expect(hinted.machine.name).toBe('Standard_E4s_v5');
    expect(hinted.choice.reason).toBe('named by hardware.azure.vmSize');
    expect(azureVmSizeFor(component({ hardware: { azure: { vmSize: 'Standard_D4ps_v5' } } })).machine.architecture).toBe('arm64');
  });
});

describe('disks and cost', () => {
  it('puts the data on Premium SSD v2 where the size attaches it, else Premium SSD', () => {
    expect(azureDiskFor(size('Standard_D2s_v5'))).toBe('PremiumV2_LRS');
    expect(azureDiskFor(size('Standard_D2ps_v5'))).toBe('PremiumV2_LRS');
    expect(azureDiskFor(size('Standard_B2s'))).toBe('Premium_LRS');
  });

  it('bills a Premium SSD as the smallest tier that holds it', () => {
    expect(premiumSsdTier(8).tier).toBe('P4');
    expect(premiumSsdTier(32).tier).toBe('P4');
    expect(premiumSsdTier(33).tier).toBe('P6');
    expect(premiumSsdTier(1000).tier).toBe('P30');
    expect(premiumSsdTier(16384).tier).toBe('P70');
    expect(() => premiumSsdTier(16385)).toThrow(RangeError);
    const sizes = PREMIUM_SSD_TIERS.map((tier) => tier.sizeGiB);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
  });

  it('prices a B-series single node: VM, Premium SSD P-tier data disk and P4 OS disk', () => {
    // B2s: 0.0416 * 730 = 30.368; data 100 GiB -> P10 19.71; OS disk P4 5.28.
    expect(azureComponentCost(component({ hardware: { cpus: 2, memoryGiB: 4, storage: { sizeGiB: 100 } } }))).toEqual({
      instanceUsd: 30.37,
      storageUsd: 24.99,
      totalUsd: 55.36,
      currency: 'USD',
      basis: 'eastus pay-as-you-go, 730 h/month, Premium SSD P10 at $19.71/month, a 30 GiB Premium SSD OS disk (P4, $5.28/month) per node',
    });
  });

  it('prices a Patroni cluster on Premium SSD v2 with its internal load balancer', () => {
    const cost = azureComponentCost(
      component({
        hardware: { azure: { vmSize: 'Standard_D2s_v5' }, storage: { sizeGiB: 100 } },
        db: { topology: { mode: 'cluster', replicas: 2 } },
      }),
    );
    // 3 × 0.096 × 730 = 210.24; 3 × 100 × 0.0812 = 24.36 (+ 3 × 5.28 OS disks); LB 0.025 × 730 = 18.25.
    expect(cost.instanceUsd).toBe(210.24);
    expect(cost.storageUsd).toBe(40.2);
    expect(cost.loadBalancerUsd).toBe(18.25);
    expect(cost.totalUsd).toBe(268.69);
    expect(cost.basis).toContain(`Premium SSD v2 at $${PREMIUM_SSD_V2_USD_PER_GIB_MONTH}/GiB-month`);
    expect(cost.basis).toContain('3 nodes');
    expect(cost.basis).toContain('internal Standard Load Balancer at $0.025/h');
  });

  it('adds no load balancer to a two-node cluster (no Patroni)', () => {
    expect(azureComponentCost(component({ db: { topology: { mode: 'cluster', replicas: 1 } } })).loadBalancerUsd).toBeUndefined();
  });
});

describe('azureImageReference', () => {
  it('names the Gen2 Marketplace image for each OS and architecture', () => {
    expect(azureImageReference('ubuntu', '24.04', 'x86_64')).toEqual({
      publisher: 'Canonical',
      offer: 'ubuntu-24_04-lts',
      sku: 'server',
      version: 'latest',
    });
    expect(azureImageReference('ubuntu', '24.04', 'arm64').sku).toBe('server-arm64');
    expect(azureImageReference('debian', '12', 'x86_64')).toEqual({ publisher: 'Debian', offer: 'debian-12', sku: '12-gen2', version: 'latest' });
    expect(azureImageReference('debian', '12', 'arm64').sku).toBe('12-arm64');
  });

  it('refuses Amazon Linux and unknown versions', () => {
    expect(() => azureImageReference('amazon-linux', '2023', 'x86_64')).toThrow(RangeError);
    expect(() => azureImageReference('ubuntu', '22.04', 'x86_64')).toThrow(RangeError);
  });
});
