import { describe, expect, it } from 'vitest';
import type { InstanceType } from '../src/index.ts';
import {
  amiParameter,
  GP3_USD_PER_GIB_MONTH,
  HOURS_PER_MONTH,
  cheapestFit,
  defaultOs,
  findInstanceType,
  findOs,
  instanceTypes,
  monthlyCost,
  operatingSystems,
} from '../src/index.ts';

function instance(name: string): InstanceType {
  const found = findInstanceType(name);
  if (found === undefined) throw new Error(`${name} missing from the catalog`);
  return found;
}

function os(name: string, version: string) {
  const found = findOs(name, version);
  if (found === undefined) throw new Error(`${name} ${version} missing from the OS table`);
  return found;
}

const sizeOrder = ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];

describe('instance catalog', () => {
  it('gives every type a unique name whose prefix is its family', () => {
    const names = instanceTypes.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of instanceTypes) {
      expect(t.name.split('.')[0]).toBe(t.family);
      expect(sizeOrder).toContain(t.name.split('.')[1]);
    }
  });

  it('has sane positive numbers everywhere', () => {
    const insane = instanceTypes.filter(
      (t) =>
        !Number.isInteger(t.vcpus) ||
        t.vcpus <= 0 ||
        !(t.memoryGiB > 0) ||
        !(t.hourlyUsd > 0) ||
        // Anything outside these bands is a typo (a misplaced decimal point).
        t.hourlyUsd >= 10 ||
        t.memoryGiB / t.vcpus > 8,
    );
    expect(insane.map((t) => t.name)).toEqual([]);
  });

  it('marks Graviton families arm64 and the t families burstable', () => {
    const wrong = instanceTypes.filter(
      (t) => t.architecture !== (t.family.endsWith('g') ? 'arm64' : 'x86_64') || t.burstable !== t.family.startsWith('t'),
    );
    expect(wrong.map((t) => t.name)).toEqual([]);
  });

  it('covers the families a customer would pick, in the expected sizes', () => {
    const families = new Set(instanceTypes.map((t) => t.family));
    for (const f of ['t3', 't4g', 'm6i', 'm7i', 'm7g', 'r6i', 'r7i', 'r7g', 'c7g']) expect(families).toContain(f);
    const wanted = [
      ...['t3', 't4g'].flatMap((f) => ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'].map((s) => `${f}.${s}`)),
      ...['m6i', 'm7i', 'm7g', 'r6i', 'r7i', 'r7g', 'c7g'].flatMap((f) => ['large', 'xlarge', '2xlarge', '4xlarge'].map((s) => `${f}.${s}`)),
    ];
    expect(wanted.filter((name) => findInstanceType(name) === undefined)).toEqual([]);
  });

  it('grows vCPUs, memory and price together within a family', () => {
    const byFamily = Map.groupBy(instanceTypes, (t) => t.family);
    for (const members of byFamily.values()) {
      const sorted = members.toSorted((a, b) => sizeOrder.indexOf(a.name.split('.')[1] ?? '') - sizeOrder.indexOf(b.name.split('.')[1] ?? ''));
      const outOfStep = sorted.filter((larger, i) => {
        const smaller = sorted[i - 1];
        return (
          smaller !== undefined && (larger.vcpus < smaller.vcpus || larger.memoryGiB <= smaller.memoryGiB || larger.hourlyUsd <= smaller.hourlyUsd)
        );
      });
      expect(outOfStep.map((t) => t.name)).toEqual([]);
    }
  });

  it('carries the published prices for a few well-known types', () => {
    expect(instance('t3.micro')).toMatchObject({ vcpus: 2, memoryGiB: 1, hourlyUsd: 0.0104, architecture: 'x86_64' });
    expect(instance('t4g.micro')).toMatchObject({ vcpus: 2, memoryGiB: 1, hourlyUsd: 0.0084, architecture: 'arm64' });
    expect(instance('m7g.large')).toMatchObject({ vcpus: 2, memoryGiB: 8, hourlyUsd: 0.0816 });
    expect(instance('r7g.large')).toMatchObject({ vcpus: 2, memoryGiB: 16, hourlyUsd: 0.1071 });
    expect(instance('r6i.4xlarge')).toMatchObject({ vcpus: 16, memoryGiB: 128, hourlyUsd: 1.008 });
    expect(instance('c7g.large')).toMatchObject({ vcpus: 2, memoryGiB: 4, hourlyUsd: 0.0725 });
  });

  it('finds a type by name, forgiving case and surrounding space', () => {
    expect(findInstanceType('m7i.xlarge')?.name).toBe('m7i.xlarge');
    expect(findInstanceType('  R7G.Large ')?.name).toBe('r7g.large');
    expect(findInstanceType('m7i.huge')).toBeUndefined();
    expect(findInstanceType('')).toBeUndefined();
  });
});

describe('cheapestFit', () => {
  it('picks Graviton burstable for a small request', () => {
    expect(cheapestFit({ cpus: 2, memoryGiB: 1 })?.name).toBe('t4g.micro');
    expect(cheapestFit({ cpus: 2, memoryGiB: 1, architecture: 'arm64' })?.name).toBe('t4g.micro');
    expect(cheapestFit({ cpus: 1, memoryGiB: 4, architecture: 'arm64' })?.name).toBe('t4g.medium');
  });

  it('respects the architecture asked for', () => {
    expect(cheapestFit({ cpus: 2, memoryGiB: 1, architecture: 'x86_64' })?.name).toBe('t3.micro');
    expect(cheapestFit({ cpus: 4, memoryGiB: 32 })?.name).toBe('r7g.xlarge');
    expect(cheapestFit({ cpus: 4, memoryGiB: 32, architecture: 'x86_64' })?.name).toBe('r6i.xlarge');
    expect(cheapestFit({ cpus: 16, memoryGiB: 32, architecture: 'arm64' })?.name).toBe('c7g.4xlarge');
    expect(cheapestFit({ cpus: 16, memoryGiB: 32, architecture: 'x86_64' })?.name).toBe('m6i.4xlarge');
  });

  it('returns undefined when nothing fits', () => {
    expect(cheapestFit({ cpus: 1000, memoryGiB: 1 })).toBeUndefined();
    expect(cheapestFit({ cpus: 1, memoryGiB: 100_000 })).toBeUndefined();
    expect(cheapestFit({ cpus: 64, memoryGiB: 512, architecture: 'arm64' })?.name).toBe('r7g.16xlarge');
    expect(cheapestFit({ cpus: 64, memoryGiB: 513, architecture: 'arm64' })).toBeUndefined();
  });

  it('never returns a type that is too small or dearer than another fit', () => {
    for (const cpus of [1, 2, 3, 4, 8, 12, 16, 32, 48, 64]) {
      for (const memoryGiB of [0.5, 1, 2, 4, 6, 8, 16, 24, 32, 64, 128, 256, 512]) {
        for (const architecture of [undefined, 'x86_64', 'arm64'] as const) {
          const request = architecture === undefined ? { cpus, memoryGiB } : { cpus, memoryGiB, architecture };
          const fits = instanceTypes.filter(
            (t) => t.vcpus >= cpus && t.memoryGiB >= memoryGiB && (architecture === undefined || t.architecture === architecture),
          );
          const chosen = cheapestFit(request);
          const expected = fits.length === 0 ? undefined : { fits: true, hourlyUsd: Math.min(...fits.map((t) => t.hourlyUsd)) };
          const actual = chosen === undefined ? undefined : { fits: fits.includes(chosen), hourlyUsd: chosen.hourlyUsd };
          expect(actual).toEqual(expected);
        }
      }
    }
  });

  it('breaks price ties by smaller memory, then by name, whatever the order', () => {
    const base = { vcpus: 4, architecture: 'x86_64', hourlyUsd: 0.2, burstable: false } as const;
    const bigMemory: InstanceType = { ...base, name: 'aa.xlarge', family: 'aa', memoryGiB: 32 };
    const zName: InstanceType = { ...base, name: 'zz.xlarge', family: 'zz', memoryGiB: 16 };
    const yName: InstanceType = { ...base, name: 'yy.xlarge', family: 'yy', memoryGiB: 16 };
    const request = { cpus: 4, memoryGiB: 16 };
    const orders = [
      [bigMemory, zName, yName],
      [yName, zName, bigMemory],
      [zName, bigMemory, yName],
    ];
    for (const catalog of orders) expect(cheapestFit(request, catalog)?.name).toBe('yy.xlarge');
  });

  it('answers identically on repeated calls', () => {
    const request = { cpus: 8, memoryGiB: 64 };
    expect(cheapestFit(request)).toBe(cheapestFit(request));
    expect(cheapestFit(request, instanceTypes.toReversed())).toBe(cheapestFit(request));
  });
});

describe('monthlyCost', () => {
  it('uses the AWS conventions for a month and gp3', () => {
    expect(HOURS_PER_MONTH).toBe(730);
    expect(GP3_USD_PER_GIB_MONTH).toBe(0.08);
  });

  it('prices a single small node', () => {
    // 0.0084 × 730 = 6.132 → 6.13; 20 × 0.08 = 1.60
    expect(monthlyCost(instance('t4g.micro'), 20)).toEqual({
      instanceUsd: 6.13,
      storageUsd: 1.6,
      totalUsd: 7.73,
      currency: 'USD',
      basis: 'us-east-1 on-demand, 730 h/month, gp3 at $0.08/GiB-month',
    });
  });

  it('rounds each figure to the nearest cent', () => {
    // 0.0816 × 730 = 59.568 → 59.57 (binary floating point makes it 59.567999…)
    const cost = monthlyCost(instance('m7g.large'), 100);
    expect(cost.instanceUsd).toBe(59.57);
    expect(cost.storageUsd).toBe(8);
    expect(cost.totalUsd).toBe(67.57);
    // 0.0363 × 730 = 26.499 → 26.50; 12.5 × 0.08 = 1.00
    expect(monthlyCost(instance('c7g.medium'), 12.5)).toMatchObject({ instanceUsd: 26.5, storageUsd: 1, totalUsd: 27.5 });
  });

  it('charges an instance and a volume per node', () => {
    // 0.2142 × 730 × 3 = 469.098 → 469.10; 500 × 0.08 × 3 = 120
    const cost = monthlyCost(instance('r7g.xlarge'), 500, 3);
    expect(cost).toMatchObject({ instanceUsd: 469.1, storageUsd: 120, totalUsd: 589.1, currency: 'USD' });
    expect(cost.basis).toContain('3 nodes');
  });

  it('makes the total equal the sum of the parts', () => {
    for (const t of instanceTypes) {
      const cost = monthlyCost(t, 333, 2);
      expect(Math.round(cost.totalUsd * 100)).toBe(Math.round(cost.instanceUsd * 100) + Math.round(cost.storageUsd * 100));
    }
  });

  it('refuses nonsense inputs', () => {
    const t = instance('m7g.large');
    expect(() => monthlyCost(t, -1)).toThrow(RangeError);
    expect(() => monthlyCost(t, Number.NaN)).toThrow(RangeError);
    expect(() => monthlyCost(t, 10, 0)).toThrow(RangeError);
    expect(() => monthlyCost(t, 10, 1.5)).toThrow(RangeError);
    expect(monthlyCost(t, 0).storageUsd).toBe(0);
  });
});

describe('OS table', () => {
  it('puts Amazon Linux 2023 first, as the default', () => {
    expect(operatingSystems[0]).toBe(defaultOs);
    expect(defaultOs).toMatchObject({ name: 'amazon-linux', version: '2023', label: 'Amazon Linux 2023', packageManager: 'dnf' });
  });

  it('labels every image as people know it', () => {
    expect(operatingSystems.map((o) => [o.name, o.version, o.label, o.packageManager])).toEqual([
      ['amazon-linux', '2023', 'Amazon Linux 2023', 'dnf'],
      ['ubuntu', '24.04', 'Ubuntu 24.04 LTS', 'apt'],
      ['debian', '12', 'Debian 12 (bookworm)', 'apt'],
    ]);
  });

  it('finds an image by name and version only', () => {
    expect(findOs('ubuntu', '24.04')?.label).toBe('Ubuntu 24.04 LTS');
    expect(findOs('debian', '12')?.label).toBe('Debian 12 (bookworm)');
    expect(findOs('ubuntu', '22.04')).toBeUndefined();
    expect(findOs('windows', '2022')).toBeUndefined();
  });

  it('names a distinct public SSM parameter per OS and architecture', () => {
    const all = new Set<string>();
    for (const o of operatingSystems) {
      const x86 = amiParameter(o, 'x86_64');
      const arm = amiParameter(o, 'arm64');
      expect(x86).not.toBe(arm);
      for (const p of [x86, arm]) {
        expect(p).toMatch(/^\/aws\/service\//);
        all.add(p);
      }
    }
    expect(all.size).toBe(operatingSystems.length * 2);
  });

  it('uses the documented SSM parameter paths', () => {
    expect(amiParameter(os('amazon-linux', '2023'), 'x86_64')).toBe('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
    expect(amiParameter(os('amazon-linux', '2023'), 'arm64')).toBe('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
    expect(amiParameter(os('ubuntu', '24.04'), 'x86_64')).toBe('/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id');
    expect(amiParameter(os('ubuntu', '24.04'), 'arm64')).toBe('/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id');
    expect(amiParameter(os('debian', '12'), 'x86_64')).toBe('/aws/service/debian/release/bookworm/latest/amd64');
    expect(amiParameter(os('debian', '12'), 'arm64')).toBe('/aws/service/debian/release/bookworm/latest/arm64');
  });

  it('offers only majors 13..18, ascending, with an answer for each', () => {
    for (const o of operatingSystems) {
      expect(o.pgMajors.length).toBeGreaterThan(0);
      expect(o.pgMajors.toSorted((a, b) => a - b)).toEqual(o.pgMajors);
      expect(new Set(o.pgMajors).size).toBe(o.pgMajors.length);
      for (const major of o.pgMajors) {
        expect(major).toBeGreaterThanOrEqual(13);
        expect(major).toBeLessThanOrEqual(18);
        expect(o.packages(major).length).toBeGreaterThan(0);
        expect(o.binDir(major)).toMatch(/^\//);
        expect(o.dataDir(major)).toMatch(/^\//);
        expect(o.serviceName(major)).not.toBe('');
        expect(typeof o.needsPgdg(major)).toBe('boolean');
      }
    }
  });

  it('refuses a major the image cannot install', () => {
    const al = os('amazon-linux', '2023');
    expect(al.pgMajors).not.toContain(14);
    expect(() => al.packages(14)).toThrow(RangeError);
    expect(() => al.binDir(12)).toThrow(RangeError);
    expect(() => os('debian', '12').serviceName(19)).toThrow(RangeError);
  });

  it('installs the versioned AL2023 packages with single-version paths', () => {
    const al = os('amazon-linux', '2023');
    expect(al.pgMajors).toEqual(expect.arrayContaining([15, 16, 17]));
    expect(al.packages(16)).toEqual(['postgresql16-server', 'postgresql16-contrib']);
    expect(al.packages(17)).toEqual(['postgresql17-server', 'postgresql17-contrib']);
    for (const major of al.pgMajors) {
      expect(al.needsPgdg(major)).toBe(false);
      expect(al.binDir(major)).toBe('/usr/bin');
      expect(al.dataDir(major)).toBe('/var/lib/pgsql/data');
      expect(al.serviceName(major)).toBe('postgresql');
    }
  });

  it('lays out Debian and Ubuntu per major, as postgresql-common does', () => {
    for (const o of [os('ubuntu', '24.04'), os('debian', '12')]) {
      expect(o.pgMajors).toEqual([13, 14, 15, 16, 17, 18]);
      expect(o.packages(17)).toEqual(['postgresql-17']);
      expect(o.binDir(17)).toBe('/usr/lib/postgresql/17/bin');
      expect(o.dataDir(17)).toBe('/var/lib/postgresql/17/main');
      expect(o.serviceName(17)).toBe('postgresql@17-main');
    }
  });

  it('needs PGDG for every major except the one the distribution ships', () => {
    const ubuntu = os('ubuntu', '24.04');
    const debian = os('debian', '12');
    expect(ubuntu.pgMajors.filter((m) => !ubuntu.needsPgdg(m))).toEqual([16]);
    expect(debian.pgMajors.filter((m) => !debian.needsPgdg(m))).toEqual([15]);
  });

  it('hands out lists that cannot be changed under the next caller', () => {
    expect(Object.isFrozen(defaultOs.pgMajors)).toBe(true);
    expect(Object.isFrozen(defaultOs.packages(16))).toBe(true);
    expect(Object.isFrozen(instanceTypes)).toBe(true);
  });
});
