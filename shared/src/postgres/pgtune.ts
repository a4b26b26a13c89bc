// A faithful reproduction of pgtune (le0pard/pgtune, Linux). Values must match pgtune's output
// exactly, so the arithmetic mirrors pgtune's (all in kB, rounded down) rather than being "improved".

import { formatKb, KB_PER_GB, KB_PER_MB, parseMemory } from './units.ts';

export { formatKb, parseMemory };

export type Workload = 'web' | 'oltp' | 'dw' | 'desktop' | 'mixed';
export type StorageKind = 'ssd' | 'hdd' | 'san' | 'nvme';
/** Size of the data compared with RAM: below it, between 1× and 3×, above 3×. */
export type DataSize = 'less_ram' | 'mid_ram' | 'greater_ram';

export const workloads: readonly Workload[] = ['web', 'oltp', 'dw', 'desktop', 'mixed'];
export const storageKinds: readonly StorageKind[] = ['ssd', 'hdd', 'san', 'nvme'];
export const dataSizes: readonly DataSize[] = ['less_ram', 'mid_ram', 'greater_ram'];
export const supportedPgMajors: readonly number[] = [13, 14, 15, 16, 17, 18];

export interface TuneInput {
  pgMajor: number;
  memoryKb: number;
  cpus?: number;
  connections?: number;
  workload: Workload;
  storage: StorageKind;
  /** Defaults to 'mid_ram', as in pgtune. */
  dataSize?: DataSize;
}

export interface TuneResult {
  /** postgresql.conf names to values as postgresql.conf takes them, in pgtune's order. */
  settings: Record<string, string>;
  warnings: string[];
}

interface WorkloadProfile {
  defaultConnections: number;
  sharedBuffersDivisor: number;
  /** effective_cache_size = RAM × numerator / 4 */
  cacheQuarters: number;
  maintenanceDivisor: number;
  statisticsTarget: number;
  /** How many shares of the per-connection budget one work_mem gets. */
  workMemDivisor: number;
  minWalKb: number;
  maxWalKb: number;
  jitOff: boolean;
}

const profiles: Readonly<Record<Workload, WorkloadProfile>> = {
  web: {
    defaultConnections: 200,
    sharedBuffersDivisor: 4,
    cacheQuarters: 3,
    maintenanceDivisor: 16,
    statisticsTarget: 100,
    workMemDivisor: 1,
    minWalKb: 1 * KB_PER_GB,
    maxWalKb: 4 * KB_PER_GB,
    jitOff: true,
  },
  oltp: {
    defaultConnections: 300,
    sharedBuffersDivisor: 4,
    cacheQuarters: 3,
    maintenanceDivisor: 16,
    statisticsTarget: 100,
    workMemDivisor: 1,
    minWalKb: 2 * KB_PER_GB,
    maxWalKb: 8 * KB_PER_GB,
    jitOff: true,
  },
  dw: {
    defaultConnections: 40,
    sharedBuffersDivisor: 4,
    cacheQuarters: 3,
    maintenanceDivisor: 8,
    statisticsTarget: 500,
    workMemDivisor: 2,
    minWalKb: 4 * KB_PER_GB,
    maxWalKb: 16 * KB_PER_GB,
    // Analytical queries are where JIT pays off, so pgtune leaves the default alone.
    jitOff: false,
  },
  desktop: {
    defaultConnections: 20,
    sharedBuffersDivisor: 16,
    cacheQuarters: 1,
    maintenanceDivisor: 16,
    statisticsTarget: 100,
    workMemDivisor: 6,
    minWalKb: 100 * KB_PER_MB,
    maxWalKb: 2 * KB_PER_GB,
    jitOff: false,
  },
  mixed: {
    defaultConnections: 100,
    sharedBuffersDivisor: 4,
    cacheQuarters: 3,
    maintenanceDivisor: 16,
    statisticsTarget: 100,
    workMemDivisor: 2,
    minWalKb: 1 * KB_PER_GB,
    maxWalKb: 4 * KB_PER_GB,
    jitOff: true,
  },
};

const ioConcurrency: Readonly<Record<StorageKind, number>> = { hdd: 2, ssd: 200, san: 300, nvme: 1000 };

const storageNames: Readonly<Record<StorageKind, string>> = {
  hdd: 'HDDs',
  ssd: 'SSDs',
  san: 'SAN storage',
  nvme: 'NVMe drives',
};

const MAINTENANCE_WORK_MEM_CAP_KB = 8 * KB_PER_GB;
const AUTOVACUUM_WORK_MEM_KB = 2 * KB_PER_GB;
const HUGE_PAGES_THRESHOLD_KB = 2 * KB_PER_GB;
const WAL_BUFFERS_MAX_KB = 16 * KB_PER_MB;
const WAL_BUFFERS_NEAR_MAX_KB = 14 * KB_PER_MB;
const WAL_BUFFERS_MIN_KB = 32;
const WORK_MEM_MIN_KB = 4 * KB_PER_MB;
// PostgreSQL's own max_worker_processes, which pgtune budgets for when it sets none.
const DEFAULT_WORKER_PROCESSES = 8;
const LOW_MEMORY_KB = 256 * KB_PER_MB;
const HIGH_MEMORY_KB = 100 * KB_PER_GB;

interface ParallelSettings {
  maxWorkerProcesses: number;
  perGather: number;
  maxParallelWorkers: number;
  maintenanceWorkers: number;
}

export function tune(input: TuneInput): TuneResult {
  validate(input);
  const { pgMajor, memoryKb, cpus, storage, workload } = input;
  const dataSize = input.dataSize ?? 'mid_ram';
  const profile = profiles[workload];

  const maxConnections = input.connections ?? profile.defaultConnections;
  const sharedBuffers = Math.floor(memoryKb / profile.sharedBuffersDivisor);
  const maintenanceWorkMem = Math.min(Math.floor(memoryKb / profile.maintenanceDivisor), MAINTENANCE_WORK_MEM_CAP_KB);
  const parallel = parallelSettings(cpus, workload);
  const workMem = workMemKb({
    memoryKb,
    sharedBuffers,
    maxConnections,
    workerProcesses: parallel?.maxWorkerProcesses ?? DEFAULT_WORKER_PROCESSES,
    profile,
    dataSize,
  });
  const walCompression = pgMajor >= 15 ? 'lz4' : 'on';
  const ioMethod = pgMajor >= 18 ? 'io_uring' : undefined;

  const settings: Record<string, string> = {
    max_connections: String(maxConnections),
    shared_buffers: formatKb(sharedBuffers),
    effective_cache_size: formatKb(Math.floor((memoryKb * profile.cacheQuarters) / 4)),
    maintenance_work_mem: formatKb(maintenanceWorkMem),
    checkpoint_completion_target: '0.9',
    wal_buffers: formatKb(walBuffersKb(sharedBuffers)),
    default_statistics_target: String(profile.statisticsTarget),
    random_page_cost: randomPageCost(storage, workload, dataSize),
    effective_io_concurrency: String(ioConcurrency[storage]),
    work_mem: formatKb(workMem),
    huge_pages: sharedBuffers >= HUGE_PAGES_THRESHOLD_KB ? 'try' : 'off',
  };
  if (profile.jitOff) settings['jit'] = 'off';
  settings['wal_compression'] = walCompression;
  const autovacuumWorkers = autovacuumMaxWorkers(cpus);
  if (autovacuumWorkers !== undefined) settings['autovacuum_max_workers'] = String(autovacuumWorkers);
  // Each autovacuum worker may take maintenance_work_mem; 2GB per worker keeps 3–5 of them safe.
  if (maintenanceWorkMem >= AUTOVACUUM_WORK_MEM_KB) {
    settings['autovacuum_work_mem'] = formatKb(AUTOVACUUM_WORK_MEM_KB);
  }
  if (ioMethod !== undefined) settings['io_method'] = ioMethod;
  // io_workers only matters for io_method = worker, which Linux never gets here.
  settings['min_wal_size'] = formatKb(profile.minWalKb);
  settings['max_wal_size'] = formatKb(profile.maxWalKb);
  if (parallel !== undefined) {
    settings['max_worker_processes'] = String(parallel.maxWorkerProcesses);
    settings['max_parallel_workers_per_gather'] = String(parallel.perGather);
    settings['max_parallel_workers'] = String(parallel.maxParallelWorkers);
    settings['max_parallel_maintenance_workers'] = String(parallel.maintenanceWorkers);
  }
  if (workload === 'desktop') {
    // A desktop database needs no replication, and minimal WAL requires no WAL senders.
    settings['wal_level'] = 'minimal';
    settings['max_wal_senders'] = '0';
  }

  return {
    settings,
    warnings: warningsFor({ memoryKb, workload, storage, dataSize, walCompression, ioMethod }),
  };
}

function validate(input: TuneInput): void {
  if (!supportedPgMajors.includes(input.pgMajor)) {
    throw new RangeError(`Unsupported PostgreSQL major version ${input.pgMajor}: expected one of ${supportedPgMajors.join(', ')}`);
  }
  if (!Number.isSafeInteger(input.memoryKb) || input.memoryKb <= 0) {
    throw new RangeError(`Invalid memory ${input.memoryKb} kB: expected a positive whole number of kB`);
  }
  if (input.cpus !== undefined && (!Number.isSafeInteger(input.cpus) || input.cpus < 1)) {
    throw new RangeError(`Invalid CPU count ${input.cpus}: expected a whole number of at least 1`);
  }
  if (input.connections !== undefined && (!Number.isSafeInteger(input.connections) || input.connections < 1)) {
    throw new RangeError(`Invalid connection count ${input.connections}: expected a whole number of at least 1`);
  }
  // The types already forbid these, but callers may hand over unchecked JSON.
  if (!workloads.includes(input.workload)) {
    throw new RangeError(`Unknown workload ${JSON.stringify(input.workload)}: expected one of ${workloads.join(', ')}`);
  }
  if (!storageKinds.includes(input.storage)) {
    throw new RangeError(`Unknown storage ${JSON.stringify(input.storage)}: expected one of ${storageKinds.join(', ')}`);
  }
  if (input.dataSize !== undefined && !dataSizes.includes(input.dataSize)) {
    throw new RangeError(`Unknown data size ${JSON.stringify(input.dataSize)}: expected one of ${dataSizes.join(', ')}`);
  }
}

// PostgreSQL's own auto-tuning rule (3% of shared_buffers, at most 16MB), rounded up to an
// even 16MB when it lands just below it.
function walBuffersKb(sharedBuffers: number): number {
  const threePercent = Math.min(Math.floor((3 * sharedBuffers) / 100), WAL_BUFFERS_MAX_KB);
  if (threePercent > WAL_BUFFERS_NEAR_MAX_KB) return WAL_BUFFERS_MAX_KB;
  return Math.max(threePercent, WAL_BUFFERS_MIN_KB);
}

function randomPageCost(storage: StorageKind, workload: Workload, dataSize: DataSize): string {
  // Data that fits in RAM is read from the page cache, so the disk's seek time is irrelevant.
  if (dataSize === 'less_ram') return '1.1';
  if (storage === 'hdd') return '4';
  // A cheap random read would make the planner choose index scans for large analytical
  // reads, which are slower than sequential scans even on fast drives.
  if (workload === 'dw') return '4';
  return '1.1';
}

function parallelSettings(cpus: number | undefined, workload: Workload): ParallelSettings | undefined {
  if (cpus === undefined || cpus < 4) return undefined;
  const half = Math.ceil(cpus / 2);
  return {
    maxWorkerProcesses: cpus,
    // Beyond 4 workers per query the gain is unproven, except for analytical scans.
    perGather: workload === 'dw' ? half : Math.min(half, 4),
    maxParallelWorkers: cpus,
    maintenanceWorkers: Math.min(half, 4),
  };
}

interface WorkMemInput {
  memoryKb: number;
  sharedBuffers: number;
  maxConnections: number;
  workerProcesses: number;
  profile: WorkloadProfile;
  dataSize: DataSize;
}

// Memory left after shared_buffers, shared by every backend, each assumed to use work_mem
// about three times at once.
function workMemKb(input: WorkMemInput): number {
  const available = input.memoryKb - input.sharedBuffers;
  const shares = (input.maxConnections + input.workerProcesses) * 3 * input.profile.workMemDivisor;
  // floor(floor(x) / n) = floor(x / n), so dividing once by the whole product is exact.
  let workMem = Math.floor(available / shares);
  // pgtune multiplies by 1.3 and 0.9 in floating point; both doubles lie a hair above the
  // decimal, so its floor equals this exact integer arithmetic.
  if (input.dataSize === 'less_ram') workMem = Math.floor((workMem * 13) / 10);
  if (input.dataSize === 'greater_ram') workMem = Math.floor((workMem * 9) / 10);
  return Math.max(workMem, WORK_MEM_MIN_KB);
}

function autovacuumMaxWorkers(cpus: number | undefined): number | undefined {
  if (cpus === undefined) return undefined;
  if (cpus >= 32) return 5;
  if (cpus >= 16) return 4;
  return undefined;
}

interface WarningInput {
  memoryKb: number;
  workload: Workload;
  storage: StorageKind;
  dataSize: DataSize;
  walCompression: string;
  ioMethod: string | undefined;
}

function warningsFor(input: WarningInput): string[] {
  const warnings: string[] = [];
  if (input.memoryKb < LOW_MEMORY_KB) {
    warnings.push('This tuning is not optimal for low-memory systems (under 256MB of RAM).');
  } else if (input.memoryKb > HIGH_MEMORY_KB) {
    warnings.push('This tuning is not optimal for very high-memory systems (over 100GB of RAM).');
  }
  if (input.walCompression === 'lz4') {
    warnings.push('wal_compression = lz4 requires a PostgreSQL server built with lz4 support (--with-lz4).');
  }
  if (input.ioMethod === 'io_uring') {
    warnings.push('io_method = io_uring requires a PostgreSQL server built with liburing (--with-liburing).');
  }
  if (input.workload === 'dw' && input.storage !== 'hdd' && input.dataSize !== 'less_ram') {
    warnings.push(
      `Cost parameters for a data warehouse on ${storageNames[input.storage]} are left at their defaults ` +
        '(random_page_cost = 4) to avoid poor index scan choices; monitor query plans and adjust random_page_cost if necessary.',
    );
  }
  return warnings;
}
