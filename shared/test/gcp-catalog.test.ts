import { describe, expect, it } from 'vitest';
import { validatePlan } from '../src/cs-json/validate.ts';
import type { PostgresComponent } from '../src/cs-json/schema.ts';
import { findOs } from '../src/postgres/os.ts';
import {
  GCP_DISK_USD_PER_GIB_MONTH,
  cheapestGcpFit,
  findGcpMachineType,
  gcpComponentCost,
  gcpDiskTypeFor,
  gcpImageFamily,
  gcpMachineFor,
  gcpMachineTypes,
  onHostMaintenanceFor,
} from '../src/targets/gcp/index.ts';
import type { GcpMachineType } from '../src/targets/gcp/index.ts';

function component(fields: Record<string, unknown> = {}): PostgresComponent {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'gcp', project: 'acme-prod-123', region: 'europe-west4' },
    components: [{ id: 'db', type: 'postgres', os: { name: 'debian', version: '12' }, ...fields }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const [only] = result.plan.components;
  if (only?.type !== 'postgres') throw new Error('fixture has no postgres component');
  return only;
}

function machine(name: string): GcpMachineType {
  const found = findGcpMachineType(name);
  if (!found) throw new Error(`${name} is not in the catalog`);
  return found;
}

describe('the Compute Engine machine catalog', () => {
  it('names every machine type once, with a positive price and at least 2 GiB', () => {
    const names = gcpMachineTypes.map((type) => type.name);
    expect(new Set(names).size).toBe(names.length);
    for (const type of gcpMachineTypes) {
      expect(type.hourlyUsd).toBeGreaterThan(0);
      expect(type.memoryGiB).toBeGreaterThanOrEqual(2);
      expect(type.name.startsWith(`${type.family}-`)).toBe(true);
      expect(type.diskTypes).toContain('pd-ssd');
    }
    expect(findGcpMachineType('e2-micro')).toBeUndefined();
    expect(findGcpMachineType('c3-standard-2')).toBeUndefined();
  });

  it('prices each series linearly in its size, so no size is a typo', () => {
    const series = Map.groupBy(gcpMachineTypes, (type) => type.name.replace(/-\d+$/, ''));
    for (const [name, types] of series) {
      if (name === 'e2-small' || name === 'e2-medium') continue;
      const [smallest] = types;
      if (!smallest) continue;
      for (const type of types) {
        const ratio = type.vcpus / smallest.vcpus;
        expect(type.hourlyUsd, type.name).toBeCloseTo(smallest.hourlyUsd * ratio, 5);
        expect(type.memoryGiB, type.name).toBe(smallest.memoryGiB * ratio);
      }
    }
  });

  it('carries the published us-central1 list prices it was compiled from', () => {
    expect(machine('e2-medium')).toMatchObject({ hourlyUsd: 0.033503, vcpus: 2, memoryGiB: 4, burstable: true });
    expect(machine('e2-small')).toMatchObject({ memoryGiB: 2, burstable: true });
    expect(machine('e2-standard-2')).toMatchObject({ hourlyUsd: 0.067006, burstable: false });
    expect(machine('n2-standard-2').hourlyUsd).toBe(0.097118);
    expect(machine('t2a-standard-1')).toMatchObject({ hourlyUsd: 0.0385, architecture: 'arm64' });
    expect(machine('c3-standard-4').hourlyUsd).toBe(0.20888);
    expect(GCP_DISK_USD_PER_GIB_MONTH).toEqual({ 'pd-balanced': 0.1, 'pd-ssd': 0.17, 'hyperdisk-balanced': 0.08 });
  });

  it('finds names however they are typed, and offers Hyperdisk on C3 only', () => {
    expect(findGcpMachineType('  N2-HighMem-4 ')?.name).toBe('n2-highmem-4');
    expect(machine('c3-highmem-8').diskTypes).toEqual(['pd-balanced', 'pd-ssd', 'hyperdisk-balanced']);
    expect(machine('e2-standard-4').diskTypes).toEqual(['pd-balanced', 'pd-ssd']);
  });

  it('picks the cheapest fit, of the asked architecture when one is asked', () => {
    expect(cheapestGcpFit({ cpus: 2, memoryGiB: 4 })?.name).toBe('e2-medium');
    expect(cheapestGcpFit({ cpus: 2, memoryGiB: 2 })?.name).toBe('e2-small');
    expect(cheapestGcpFit({ cpus: 4, memoryGiB: 32 })?.name).toBe('e2-highmem-4');
    expect(cheapestGcpFit({ cpus: 2, memoryGiB: 4, architecture: 'arm64' })?.name).toBe('t2a-standard-2');
    expect(cheapestGcpFit({ cpus: 64, memoryGiB: 512 })?.name).toBe('n2-highmem-64');
    expect(cheapestGcpFit({ cpus: 96, memoryGiB: 8 })).toBeUndefined();
  });

  it('live-migrates every family but Tau T2A', () => {
    expect(onHostMaintenanceFor(machine('n2-standard-4'))).toBe('MIGRATE');
    expect(onHostMaintenanceFor(machine('c3-standard-4'))).toBe('MIGRATE');
    expect(onHostMaintenanceFor(machine('t2a-standard-4'))).toBe('TERMINATE');
  });
});

describe('choosing and pricing a component on Google Cloud', () => {
  it('takes the cheapest fit and says why', () => {
    const { machine: chosen, choice } = gcpMachineFor(component({ hardware: { cpus: 2, memoryGiB: 4 } }));
    expect(chosen.name).toBe('e2-medium');
    expect(choice).toEqual({ name: 'e2-medium', reason: 'the cheapest in the catalog with at least 2 vCPUs and 4 GiB ($0.033503/h on demand)' });
  });

  it('respects a hint and says it was named', () => {
    const { choice } = gcpMachineFor(component({ hardware: { cpus: 4, memoryGiB: 32, gcp: { machineType: 'n2-highmem-4' } } }));
    expect(choice).toEqual({ name: 'n2-highmem-4', reason: 'named by hardware.gcp.machineType' });
  });

  it('puts the data on pd-ssd, or on Hyperdisk Balanced where the family takes it', () => {
    expect(gcpDiskTypeFor(machine('e2-medium'))).toBe('pd-ssd');
    expect(gcpDiskTypeFor(machine('t2a-standard-2'))).toBe('pd-ssd');
    expect(gcpDiskTypeFor(machine('c3-standard-4'))).toBe('hyperdisk-balanced');
  });

  it('prices machine, data disk and boot disk per node, and the load balancer of a Patroni cluster', () => {
    const single = gcpComponentCost(component({ hardware: { cpus: 2, memoryGiB: 4, storage: { sizeGiB: 100 } } }));
    // e2-medium 0.033503 * 730 = 24.46; 100 GiB pd-ssd 17.00 + 20 GiB pd-balanced 2.00.
    expect(single).toMatchObject({ instanceUsd: 24.46, storageUsd: 19, totalUsd: 43.46, currency: 'USD' });
    expect(single.loadBalancerUsd).toBeUndefined();
    expect(single.basis).toMatch(/^us-central1 on-demand, 730 h\/month, pd-ssd at \$0\.17\/GiB-month, plus a 20 GiB pd-balanced boot disk/);

    const cluster = gcpComponentCost(
      component({ hardware: { cpus: 2, memoryGiB: 4, storage: { sizeGiB: 100 } }, db: { topology: { mode: 'cluster', replicas: 2 } } }),
    );
    expect(cluster).toMatchObject({ instanceUsd: 73.37, storageUsd: 57, loadBalancerUsd: 18.25, totalUsd: 148.62 });
    expect(cluster.basis).toContain('3 nodes');
    expect(cluster.basis).toContain('internal passthrough Network Load Balancer forwarding rule at $0.025/h');

    const pair = gcpComponentCost(component({ hardware: { cpus: 2, memoryGiB: 4 }, db: { topology: { mode: 'cluster', replicas: 1 } } }));
    expect(pair.loadBalancerUsd).toBeUndefined();
  });
});

describe('Compute Engine images', () => {
  it('boots from the vendor image family for the architecture', () => {
    const debian = findOs('debian', '12')!;
    const ubuntu = findOs('ubuntu', '24.04')!;
    expect(gcpImageFamily(debian, 'x86_64')).toBe('projects/debian-cloud/global/images/family/debian-12');
    expect(gcpImageFamily(debian, 'arm64')).toBe('projects/debian-cloud/global/images/family/debian-12-arm64');
    expect(gcpImageFamily(ubuntu, 'x86_64')).toBe('projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64');
    expect(gcpImageFamily(ubuntu, 'arm64')).toBe('projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64');
  });

  it('refuses Amazon Linux', () => {
    expect(() => gcpImageFamily(findOs('amazon-linux', '2023')!, 'x86_64')).toThrow(RangeError);
  });
});
