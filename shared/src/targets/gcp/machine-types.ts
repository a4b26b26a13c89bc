import type { Architecture } from '../../postgres/os.ts';
import { cheapestMachine } from '../machines.ts';
import type { Machine, MachineRequest } from '../machines.ts';

/** The persistent disk types CloudSeed puts a database on; `pd-standard` (HDD) is left out. */
export type GcpDiskType = 'pd-balanced' | 'pd-ssd' | 'hyperdisk-balanced';

/** A Compute Engine machine type, with the disk types its family can attach. */
export type GcpMachineType = Machine & { readonly diskTypes: readonly GcpDiskType[] };

type Row = readonly [name: string, vcpus: number, memoryGiB: number, hourlyUsd: number];

interface Family {
  readonly name: string;
  readonly architecture: Architecture;
  readonly diskTypes: readonly GcpDiskType[];
  /** Google may stop these for host maintenance instead of live-migrating them. */
  readonly liveMigration: boolean;
}

const PERSISTENT_DISKS: readonly GcpDiskType[] = Object.freeze(['pd-balanced', 'pd-ssd']);
const C3_DISKS: readonly GcpDiskType[] = Object.freeze(['pd-balanced', 'pd-ssd', 'hyperdisk-balanced']);

const e2: Family = { name: 'e2', architecture: 'x86_64', diskTypes: PERSISTENT_DISKS, liveMigration: true };
const n2: Family = { name: 'n2', architecture: 'x86_64', diskTypes: PERSISTENT_DISKS, liveMigration: true };
const c3: Family = { name: 'c3', architecture: 'x86_64', diskTypes: C3_DISKS, liveMigration: true };
// Tau T2A (Ampere Altra) is not live-migrated: a host maintenance event stops the VM and, with
// automaticRestart, starts it again afterwards.
const t2a: Family = { name: 't2a', architecture: 'arm64', diskTypes: PERSISTENT_DISKS, liveMigration: false };

function defineFamily(family: Family, burstable: (name: string) => boolean, rows: readonly Row[]): GcpMachineType[] {
  return rows.map(([name, vcpus, memoryGiB, hourlyUsd]) =>
    Object.freeze({
      name,
      family: family.name,
      vcpus,
      memoryGiB,
      architecture: family.architecture,
      hourlyUsd,
      burstable: burstable(name),
      diskTypes: family.diskTypes,
    }),
  );
}

const never = (): boolean => false;

// Prices: us-central1 (Iowa), Linux, on-demand, USD per hour, the list prices Google publishes
// (cloud.google.com/compute/vm-instance-pricing, and the Compute Engine SKUs of the Cloud Billing
// catalog). Compiled 2026-12-05; not pulled from the live Catalog API, so re-check before quoting
// them to a customer. Sustained-use and committed-use discounts are not applied.
// Google prices a machine type as its vCPUs plus its memory, each at the series' rate, so within a
// series the price is linear in the size; the rates behind the literals are
//   e2  $0.021811/vCPU-h + $0.002923/GiB-h (e2-small and e2-medium: 1/4 and 1/2 of e2-standard-2)
//   n2  $0.031611/vCPU-h + $0.004237/GiB-h
//   c3  $0.03398/vCPU-h  + $0.00456/GiB-h
//   t2a $0.0289/vCPU-h   + $0.0024/GiB-h
// Prices are literals rather than computed so the table reads like the published one.
//
// Families are the ones a customer would plausibly pick for PostgreSQL: e2 for small and dev
// databases (e2-small and e2-medium share their cores, the burstable sizes), n2 general purpose and
// memory optimised, c3 for the newest Intel hosts and Hyperdisk, t2a for Arm. e2-micro (1 GiB) is
// left out: PostgreSQL and the OS do not fit. C3 has no 2-vCPU size; it starts at c3-standard-4.
export const gcpMachineTypes: readonly GcpMachineType[] = Object.freeze([
  ...defineFamily(e2, (name) => name === 'e2-small' || name === 'e2-medium', [
    ['e2-small', 2, 2, 0.016751],
    ['e2-medium', 2, 4, 0.033503],
    ['e2-standard-2', 2, 8, 0.067006],
    ['e2-standard-4', 4, 16, 0.134012],
    ['e2-standard-8', 8, 32, 0.268024],
    ['e2-standard-16', 16, 64, 0.536048],
    ['e2-standard-32', 32, 128, 1.072096],
    ['e2-highmem-2', 2, 16, 0.09039],
    ['e2-highmem-4', 4, 32, 0.18078],
    ['e2-highmem-8', 8, 64, 0.36156],
    ['e2-highmem-16', 16, 128, 0.72312],
  ]),
  ...defineFamily(n2, never, [
    ['n2-standard-2', 2, 8, 0.097118],
    ['n2-standard-4', 4, 16, 0.194236],
    ['n2-standard-8', 8, 32, 0.388472],
    ['n2-standard-16', 16, 64, 0.776944],
    ['n2-standard-32', 32, 128, 1.553888],
    ['n2-standard-48', 48, 192, 2.330832],
    ['n2-standard-64', 64, 256, 3.107776],
    ['n2-highmem-2', 2, 16, 0.131014],
    ['n2-highmem-4', 4, 32, 0.262028],
    ['n2-highmem-8', 8, 64, 0.524056],
    ['n2-highmem-16', 16, 128, 1.048112],
    ['n2-highmem-32', 32, 256, 2.096224],
    ['n2-highmem-48', 48, 384, 3.144336],
    ['n2-highmem-64', 64, 512, 4.192448],
  ]),
  ...defineFamily(c3, never, [
    ['c3-standard-4', 4, 16, 0.20888],
    ['c3-standard-8', 8, 32, 0.41776],
    ['c3-standard-22', 22, 88, 1.14884],
    ['c3-standard-44', 44, 176, 2.29768],
    ['c3-standard-88', 88, 352, 4.59536],
    ['c3-highmem-4', 4, 32, 0.28184],
    ['c3-highmem-8', 8, 64, 0.56368],
    ['c3-highmem-22', 22, 176, 1.55012],
    ['c3-highmem-44', 44, 352, 3.10024],
    ['c3-highmem-88', 88, 704, 6.20048],
  ]),
  ...defineFamily(t2a, never, [
    ['t2a-standard-1', 1, 4, 0.0385],
    ['t2a-standard-2', 2, 8, 0.077],
    ['t2a-standard-4', 4, 16, 0.154],
    ['t2a-standard-8', 8, 32, 0.308],
    ['t2a-standard-16', 16, 64, 0.616],
    ['t2a-standard-32', 32, 128, 1.232],
    ['t2a-standard-48', 48, 192, 1.848],
  ]),
]);

const byName: ReadonlyMap<string, GcpMachineType> = new Map(gcpMachineTypes.map((type) => [type.name, type]));
const families: ReadonlyMap<string, Family> = new Map([e2, n2, c3, t2a].map((family) => [family.name, family]));

// Names arrive from the canvas and the CLI, so surrounding space and capitals are forgiven;
// Compute Engine's names themselves are always lower case.
export function findGcpMachineType(name: string): GcpMachineType | undefined {
  return byName.get(name.trim().toLowerCase());
}

/** The cheapest machine type with at least the request's vCPUs and memory; `catalog` exists for tests. */
export function cheapestGcpFit(request: MachineRequest, catalog: readonly GcpMachineType[] = gcpMachineTypes): GcpMachineType | undefined {
  return cheapestMachine(catalog, request);
}

/** What the VM does on host maintenance: live-migrate where its family allows it, else stop and restart. */
export function onHostMaintenanceFor(machine: GcpMachineType): 'MIGRATE' | 'TERMINATE' {
  return families.get(machine.family)?.liveMigration === false ? 'TERMINATE' : 'MIGRATE';
}

// Disk prices: us-central1, USD per GiB-month of provisioned capacity (same source and date as above).
// Hyperdisk Balanced also bills provisioned IOPS and throughput above a free baseline of 3000 IOPS
// and 140 MiB/s; CloudSeed provisions exactly the baseline (see gcp-json.ts), so capacity is the
// whole price. pd-balanced and pd-ssd bill capacity only; their performance grows with their size.
export const GCP_DISK_USD_PER_GIB_MONTH: Readonly<Record<GcpDiskType, number>> = Object.freeze({
  'pd-balanced': 0.1,
  'pd-ssd': 0.17,
  'hyperdisk-balanced': 0.08,
});

/** The IOPS and throughput (MiB/s) Hyperdisk Balanced includes at no charge: what CloudSeed provisions. */
export const HYPERDISK_BALANCED_BASELINE = Object.freeze({ iops: 3000, throughputMiBps: 140 });
