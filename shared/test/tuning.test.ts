import { describe, expect, it } from 'vitest';
import { tune } from '../src/postgres/index.ts';
import type { TuneInput } from '../src/postgres/index.ts';

// Every expected value below was worked out by hand from pgtune's rules (le0pard/pgtune, Linux).
// Notation: R = RAM in kB, sb = shared_buffers, W = workers counted in work_mem,
// 1GB = 1048576 kB, 1MB = 1024 kB. Expected objects are written in pgtune's output order,
// and each test also compares the key order.

const GB = 1048576;
const MB = 1024;

// Warnings are checked by their gist, not their exact wording.
const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;
const warn = {
  low: matching(/not optimal.*low-memory/),
  high: matching(/not optimal.*high-memory/),
  lz4: matching(/lz4/),
  ioUring: matching(/io_uring.*liburing/),
  dw: (storage: string) => matching(new RegExp(`data warehouse on ${storage}.*defaults`)),
};

interface Profile {
  name: string;
  input: TuneInput;
  settings: Record<string, string>;
  warnings: string[];
}

const profiles: Profile[] = [
  {
    // pgtune's own worked example (16 GB, 4 CPUs, web, SSD). R = 16777216.
    // sb = R/4 = 4194304 = 4GB; ecs = 3R/4 = 12582912 = 12GB; mwm = R/16 = 1048576 = 1GB
    // wal_buffers: 3*4194304/100 = 125829 > 16384 -> 16MB
    // W = 4 (cpus 4); work_mem: (16777216-4194304)/((200+4)*3) = 12582912/612 = 20560.6 -> 20560kB
    // huge_pages: 4GB >= 2GB -> try; parallel: 4, ceil(4/2)=2, 4, min(4,2)=2
    name: 'worked example: PG 16, 16GB, 4 CPUs, web, ssd, mid_ram',
    input: { pgMajor: 16, memoryKb: 16 * GB, cpus: 4, workload: 'web', storage: 'ssd', dataSize: 'mid_ram' },
    settings: {
      max_connections: '200',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '1GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '20560kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '4',
      max_parallel_workers_per_gather: '2',
      max_parallel_workers: '4',
      max_parallel_maintenance_workers: '2',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 524288 (512MB). sb = 131072 = 128MB; ecs = 393216 = 384MB; mwm = 32768 = 32MB
    // wal_buffers: 3*131072/100 = 3932.16 -> 3932kB (not a whole MB)
    // W = 8 (no cpus); work_mem: (524288-131072)/((200+8)*3) = 393216/624 = 630.2 -> 630 -> floor 4MB
    // huge_pages: 128MB < 2GB -> off
    name: '512MB of RAM, no CPU count',
    input: { pgMajor: 16, memoryKb: 512 * MB, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '128MB',
      effective_cache_size: '384MB',
      maintenance_work_mem: '32MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '3932kB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '4MB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 8388608 (8GB), oltp, 1 CPU. sb = 2097152 = 2GB; ecs = 6291456 = 6GB; mwm = 524288 = 512MB
    // wal_buffers: 3*2097152/100 = 62914 -> 16MB; nvme -> 1000
    // W = 8 (1 CPU < 4: no parallel settings); work_mem: 6291456/((300+8)*3) = 6291456/924 = 6808.9 -> 6808kB
    // huge_pages: sb exactly 2GB -> try (the boundary is inclusive)
    name: '1 CPU: oltp, nvme, 8GB, PG 17 (huge_pages boundary: shared_buffers exactly 2GB)',
    input: { pgMajor: 17, memoryKb: 8 * GB, cpus: 1, workload: 'oltp', storage: 'nvme' },
    settings: {
      max_connections: '300',
      shared_buffers: '2GB',
      effective_cache_size: '6GB',
      maintenance_work_mem: '512MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '1000',
      work_mem: '6808kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '2GB',
      max_wal_size: '8GB',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 4194304 (4GB), 5000 connections. sb = 1048576 = 1GB; ecs = 3145728 = 3GB; mwm = 262144 = 256MB
    // wal_buffers: 3*1048576/100 = 31457 -> 16MB
    // W = 4; work_mem: 3145728/((5000+4)*3) = 3145728/15012 = 209.5 -> 209 -> floor 4096 = 4MB
    // huge_pages: 1GB < 2GB -> off
    name: '5000 connections: work_mem floored at 4MB',
    input: { pgMajor: 16, memoryKb: 4 * GB, cpus: 4, connections: 5000, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '5000',
      shared_buffers: '1GB',
      effective_cache_size: '3GB',
      maintenance_work_mem: '256MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '4MB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '4',
      max_parallel_workers_per_gather: '2',
      max_parallel_workers: '4',
      max_parallel_maintenance_workers: '2',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 33554432 (32GB), oltp, 16 CPUs. sb = 8388608 = 8GB; ecs = 25165824 = 24GB
    // mwm = R/16 = 2097152 = 2GB -> autovacuum_work_mem 2GB (mwm >= 2GB)
    // W = 16; work_mem: 25165824/((300+16)*3) = 25165824/948 = 26546.2 -> 26546kB
    // autovacuum_max_workers: 16 >= 16 -> 4; per_gather ceil(16/2)=8 capped at 4; maintenance min(4,8)=4
    name: 'oltp with 16 CPUs, 32GB, ssd',
    input: { pgMajor: 16, memoryKb: 32 * GB, cpus: 16, workload: 'oltp', storage: 'ssd' },
    settings: {
      max_connections: '300',
      shared_buffers: '8GB',
      effective_cache_size: '24GB',
      maintenance_work_mem: '2GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '26546kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      autovacuum_max_workers: '4',
      autovacuum_work_mem: '2GB',
      min_wal_size: '2GB',
      max_wal_size: '8GB',
      max_worker_processes: '16',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '16',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 134217728 (128GB), dw, 64 CPUs, san. sb = 33554432 = 32GB; ecs = 100663296 = 96GB
    // mwm = R/8 = 16777216 = 16GB -> capped at 8GB; autovacuum_work_mem 2GB
    // statistics 500; random_page_cost: mid_ram, san, dw -> 4; san -> 300
    // W = 64; work_mem: 100663296/((40+64)*3) = 322638.8, /2 -> 100663296/624 = 161319.4 -> 161319kB
    // autovacuum_max_workers: 64 >= 32 -> 5; per_gather ceil(64/2) = 32 (no cap for dw); maintenance 4
    // no jit for dw; RAM > 100GB -> high-memory warning; dw on san with data >= RAM -> cost note
    name: 'dw with 64 CPUs, 128GB, san, PG 17',
    input: { pgMajor: 17, memoryKb: 128 * GB, cpus: 64, workload: 'dw', storage: 'san' },
    settings: {
      max_connections: '40',
      shared_buffers: '32GB',
      effective_cache_size: '96GB',
      maintenance_work_mem: '8GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '4',
      effective_io_concurrency: '300',
      work_mem: '161319kB',
      huge_pages: 'try',
      wal_compression: 'lz4',
      autovacuum_max_workers: '5',
      autovacuum_work_mem: '2GB',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
      max_worker_processes: '64',
      max_parallel_workers_per_gather: '32',
      max_parallel_workers: '64',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.high, warn.lz4, warn.dw('SAN storage')],
  },
  {
    // R = 8388608 (8GB), desktop. sb = R/16 = 524288 = 512MB; ecs = R/4 = 2097152 = 2GB; mwm = R/16 = 512MB
    // wal_buffers: 3*524288/100 = 15728 (> 14336 and < 16384) -> rounded up to 16MB
    // W = 8; work_mem: 7864320/((20+8)*3) = 93622.9, /6 -> 7864320/504 = 15603.8 -> 15603kB
    // huge_pages: 512MB -> off; no jit for desktop; wal_level minimal, max_wal_senders 0
    name: 'desktop, 8GB, ssd (wal_buffers 15MB rounded to 16MB)',
    input: { pgMajor: 16, memoryKb: 8 * GB, workload: 'desktop', storage: 'ssd' },
    settings: {
      max_connections: '20',
      shared_buffers: '512MB',
      effective_cache_size: '2GB',
      maintenance_work_mem: '512MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '15603kB',
      huge_pages: 'off',
      wal_compression: 'lz4',
      min_wal_size: '100MB',
      max_wal_size: '2GB',
      wal_level: 'minimal',
      max_wal_senders: '0',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 16777216 (16GB), mixed, 8 CPUs. sb 4GB, ecs 12GB, mwm 1GB, wal_buffers 16MB
    // W = 8; work_mem: 12582912/((100+8)*3) = 38836.1, /2 -> 12582912/648 = 19418.1 -> 19418kB
    // parallel: 8, ceil(8/2)=4, 8, 4; no autovacuum_max_workers (8 < 16)
    name: 'mixed, 16GB, 8 CPUs, ssd',
    input: { pgMajor: 16, memoryKb: 16 * GB, cpus: 8, workload: 'mixed', storage: 'ssd' },
    settings: {
      max_connections: '100',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '1GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '19418kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '8',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '8',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 16777216 (16GB), dw, hdd, 8 CPUs. sb 4GB, ecs 12GB, mwm = R/8 = 2097152 = 2GB -> autovacuum_work_mem 2GB
    // random_page_cost: mid_ram on hdd -> 4; hdd -> 2
    // W = 8; work_mem: 12582912/((40+8)*3) = 87381.3, /2 -> 12582912/288 = 43690.7 -> 43690kB
    // per_gather ceil(8/2) = 4; hdd -> no data-warehouse cost note
    name: 'dw, hdd, 16GB, 8 CPUs',
    input: { pgMajor: 16, memoryKb: 16 * GB, cpus: 8, workload: 'dw', storage: 'hdd' },
    settings: {
      max_connections: '40',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '2GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '4',
      effective_io_concurrency: '2',
      work_mem: '43690kB',
      huge_pages: 'try',
      wal_compression: 'lz4',
      autovacuum_work_mem: '2GB',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
      max_worker_processes: '8',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '8',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4],
  },
  {
    // PG 15 -> lz4. R = 2097152 (2GB), web, hdd. sb = 524288 = 512MB; ecs = 1572864 = 1536MB; mwm = 131072 = 128MB
    // wal_buffers: 3*524288/100 = 15728 -> 16MB; random_page_cost: hdd, mid_ram -> 4
    // W = 8; work_mem: 1572864/624 = 2520.6 -> 2520 -> floor 4MB; huge_pages off
    name: 'PG 15, web, hdd, 2GB (lz4)',
    input: { pgMajor: 15, memoryKb: 2 * GB, workload: 'web', storage: 'hdd', dataSize: 'mid_ram' },
    settings: {
      max_connections: '200',
      shared_buffers: '512MB',
      effective_cache_size: '1536MB',
      maintenance_work_mem: '128MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '4',
      effective_io_concurrency: '2',
      work_mem: '4MB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [warn.lz4],
  },
  {
    // PG 14 -> wal_compression on. R = 33554432 (32GB), web, hdd, less_ram, 8 CPUs
    // sb 8GB, ecs 24GB, mwm 2GB -> autovacuum_work_mem 2GB; random_page_cost: less_ram -> 1.1 even on hdd
    // W = 8; work_mem: 25165824/((200+8)*3) = 25165824/624 = 40329.8 -> 40329; *1.3 = 52427.7 -> 52427kB
    name: 'PG 14, web, hdd, less_ram, 32GB, 8 CPUs (no warnings)',
    input: { pgMajor: 14, memoryKb: 32 * GB, cpus: 8, workload: 'web', storage: 'hdd', dataSize: 'less_ram' },
    settings: {
      max_connections: '200',
      shared_buffers: '8GB',
      effective_cache_size: '24GB',
      maintenance_work_mem: '2GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '2',
      work_mem: '52427kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'on',
      autovacuum_work_mem: '2GB',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '8',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '8',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [],
  },
  {
    // R = 67108864 (64GB), dw, ssd, less_ram, 32 CPUs. sb = 16GB; ecs = 48GB
    // mwm = R/8 = 8388608 = exactly the 8GB cap; autovacuum_work_mem 2GB
    // random_page_cost: less_ram -> 1.1 (even for dw)
    // W = 32; work_mem: 50331648/((40+32)*3) = 233016.9, /2 -> 50331648/432 = 116508.4 -> 116508;
    //   *1.3 = 151460.4 -> 151460kB
    // autovacuum_max_workers: 32 -> 5; per_gather ceil(32/2) = 16 (dw); no cost note (data < RAM)
    name: 'dw, ssd, less_ram, 64GB, 32 CPUs',
    input: { pgMajor: 16, memoryKb: 64 * GB, cpus: 32, workload: 'dw', storage: 'ssd', dataSize: 'less_ram' },
    settings: {
      max_connections: '40',
      shared_buffers: '16GB',
      effective_cache_size: '48GB',
      maintenance_work_mem: '8GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '151460kB',
      huge_pages: 'try',
      wal_compression: 'lz4',
      autovacuum_max_workers: '5',
      autovacuum_work_mem: '2GB',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
      max_worker_processes: '32',
      max_parallel_workers_per_gather: '16',
      max_parallel_workers: '32',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4],
  },
  {
    // PG 18, R = 16777216 (16GB), dw, nvme, greater_ram, 4 CPUs
    // sb 4GB, ecs 12GB, mwm = R/8 = 2GB -> autovacuum_work_mem 2GB; random_page_cost: dw, nvme, data > RAM -> 4
    // W = 4; work_mem: 12582912/((40+4)*3) = 95325.1, /2 -> 12582912/264 = 47662.5 -> 47662;
    //   *0.9 = 42895.8 -> 42895kB
    // io_method io_uring (PG 18); io_workers never on Linux
    name: 'PG 18, dw, nvme, greater_ram, 16GB, 4 CPUs',
    input: { pgMajor: 18, memoryKb: 16 * GB, cpus: 4, workload: 'dw', storage: 'nvme', dataSize: 'greater_ram' },
    settings: {
      max_connections: '40',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '2GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '4',
      effective_io_concurrency: '1000',
      work_mem: '42895kB',
      huge_pages: 'try',
      wal_compression: 'lz4',
      autovacuum_work_mem: '2GB',
      io_method: 'io_uring',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
      max_worker_processes: '4',
      max_parallel_workers_per_gather: '2',
      max_parallel_workers: '4',
      max_parallel_maintenance_workers: '2',
    },
    warnings: [warn.lz4, warn.ioUring, warn.dw('NVMe drives')],
  },
  {
    // The worked example with greater_ram: random_page_cost stays 1.1 (web on ssd)
    // work_mem: 20560 (as in the worked example) * 0.9 = 18504.0 -> 18504kB
    name: 'web, ssd, greater_ram, 16GB, 4 CPUs',
    input: { pgMajor: 16, memoryKb: 16 * GB, cpus: 4, workload: 'web', storage: 'ssd', dataSize: 'greater_ram' },
    settings: {
      max_connections: '200',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '1GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '18504kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '4',
      max_parallel_workers_per_gather: '2',
      max_parallel_workers: '4',
      max_parallel_maintenance_workers: '2',
    },
    warnings: [warn.lz4],
  },
  {
    // PG 13 -> wal_compression on. R = 4194304 (4GB), web, ssd, 2 CPUs
    // sb 1GB, ecs 3GB, mwm 256MB, wal_buffers 31457 -> 16MB
    // W = 8 (2 CPUs < 4: no parallel settings); work_mem: 3145728/624 = 5041.2 -> 5041kB
    name: 'PG 13, web, ssd, 4GB, 2 CPUs',
    input: { pgMajor: 13, memoryKb: 4 * GB, cpus: 2, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '1GB',
      effective_cache_size: '3GB',
      maintenance_work_mem: '256MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '5041kB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'on',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [],
  },
  {
    // PG 18, R = 67108864 (64GB), web, nvme, 16 CPUs. sb 16GB, ecs 48GB
    // mwm = R/16 = 4194304 = 4GB -> autovacuum_work_mem 2GB
    // W = 16; work_mem: 50331648/((200+16)*3) = 50331648/648 = 77672.3 -> 77672kB
    // autovacuum_max_workers 4; io_method io_uring; no io_workers even with 16 CPUs
    name: 'PG 18, web, nvme, 64GB, 16 CPUs (io_uring, no io_workers)',
    input: { pgMajor: 18, memoryKb: 64 * GB, cpus: 16, workload: 'web', storage: 'nvme' },
    settings: {
      max_connections: '200',
      shared_buffers: '16GB',
      effective_cache_size: '48GB',
      maintenance_work_mem: '4GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '1000',
      work_mem: '77672kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      autovacuum_max_workers: '4',
      autovacuum_work_mem: '2GB',
      io_method: 'io_uring',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '16',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '16',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4, warn.ioUring],
  },
  {
    // huge_pages boundary from below: R = 8388607 (8GB - 1kB)
    // sb = floor(8388607/4) = 2097151 kB (< 2097152) -> off
    // ecs = floor(8388607*3/4) = floor(6291455.25) = 6291455kB; mwm = floor(8388607/16) = 524287kB
    // wal_buffers: floor(3*2097151/100) = 62914 -> 16MB
    // W = 8; work_mem: (8388607-2097151)/624 = 6291456/624 = 10082.5 -> 10082kB
    name: 'huge_pages boundary: shared_buffers 1kB under 2GB',
    input: { pgMajor: 16, memoryKb: 8 * GB - 1, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '2097151kB',
      effective_cache_size: '6291455kB',
      maintenance_work_mem: '524287kB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '10082kB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 33554432 (32GB), desktop, hdd, less_ram, 4 CPUs, PG 15
    // sb = R/16 = 2097152 = exactly 2GB -> huge_pages try; ecs = R/4 = 8GB; mwm = R/16 = 2GB -> autovacuum_work_mem 2GB
    // random_page_cost: less_ram -> 1.1 on hdd; hdd -> 2
    // W = 4; work_mem: 31457280/((20+4)*3) = 436906.7, /6 -> 31457280/432 = 72817.8 -> 72817;
    //   *1.3 = 94662.1 -> 94662kB
    name: 'desktop, hdd, less_ram, 32GB, 4 CPUs, PG 15 (huge_pages try at exactly 2GB)',
    input: { pgMajor: 15, memoryKb: 32 * GB, cpus: 4, workload: 'desktop', storage: 'hdd', dataSize: 'less_ram' },
    settings: {
      max_connections: '20',
      shared_buffers: '2GB',
      effective_cache_size: '8GB',
      maintenance_work_mem: '2GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '2',
      work_mem: '94662kB',
      huge_pages: 'try',
      wal_compression: 'lz4',
      autovacuum_work_mem: '2GB',
      min_wal_size: '100MB',
      max_wal_size: '2GB',
      max_worker_processes: '4',
      max_parallel_workers_per_gather: '2',
      max_parallel_workers: '4',
      max_parallel_maintenance_workers: '2',
      wal_level: 'minimal',
      max_wal_senders: '0',
    },
    warnings: [warn.lz4],
  },
  {
    // wal_buffers minimum: R = 4096 (4MB). sb = 1024 = 1MB; ecs = 3072 = 3MB; mwm = 256 -> 256kB
    // wal_buffers: 3*1024/100 = 30.7 -> 30 < 32 -> 32kB
    // W = 8; work_mem: 3072/624 = 4.9 -> 4 -> floor 4MB; RAM < 256MB -> low-memory warning
    name: 'tiny RAM (4MB): wal_buffers raised to 32kB',
    input: { pgMajor: 16, memoryKb: 4 * MB, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '1MB',
      effective_cache_size: '3MB',
      maintenance_work_mem: '256kB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '32kB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '4MB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [warn.low, warn.lz4],
  },
  {
    // R = 1048576 (1GB), mixed, san, less_ram, 3 CPUs, 50 connections, PG 17
    // sb = 262144 = 256MB; ecs = 786432 = 768MB; mwm = 65536 = 64MB
    // wal_buffers: 3*262144/100 = 7864.3 -> 7864kB (below 14MB: not rounded)
    // W = 8 (3 CPUs < 4); work_mem: 786432/((50+8)*3) = 4519.7, /2 -> 786432/348 = 2259.9 -> 2259;
    //   *1.3 = 2936.7 -> 2936 -> floor 4MB (the floor comes after the data-size factor)
    name: 'mixed, san, less_ram, 1GB, 3 CPUs, 50 connections',
    input: {
      pgMajor: 17,
      memoryKb: 1 * GB,
      cpus: 3,
      connections: 50,
      workload: 'mixed',
      storage: 'san',
      dataSize: 'less_ram',
    },
    settings: {
      max_connections: '50',
      shared_buffers: '256MB',
      effective_cache_size: '768MB',
      maintenance_work_mem: '64MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '7864kB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '300',
      work_mem: '4MB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [warn.lz4],
  },
  {
    // PG 13, R = 67108864 (64GB), oltp, hdd, greater_ram, 24 CPUs, 500 connections
    // sb 16GB, ecs 48GB, mwm = R/16 = 4GB -> autovacuum_work_mem 2GB; random_page_cost: hdd -> 4
    // W = 24; work_mem: 50331648/((500+24)*3) = 50331648/1572 = 32017.6 -> 32017; *0.9 = 28815.3 -> 28815kB
    // autovacuum_max_workers: 24 -> 4; per_gather ceil(24/2) = 12 capped at 4
    name: 'PG 13, oltp, hdd, greater_ram, 64GB, 24 CPUs, 500 connections',
    input: {
      pgMajor: 13,
      memoryKb: 64 * GB,
      cpus: 24,
      connections: 500,
      workload: 'oltp',
      storage: 'hdd',
      dataSize: 'greater_ram',
    },
    settings: {
      max_connections: '500',
      shared_buffers: '16GB',
      effective_cache_size: '48GB',
      maintenance_work_mem: '4GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '4',
      effective_io_concurrency: '2',
      work_mem: '28815kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'on',
      autovacuum_max_workers: '4',
      autovacuum_work_mem: '2GB',
      min_wal_size: '2GB',
      max_wal_size: '8GB',
      max_worker_processes: '24',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '24',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [],
  },
  {
    // PG 18, R = 268435456 (256GB), mixed, san, greater_ram, 31 CPUs
    // sb = 64GB; ecs = 192GB; mwm = R/16 = 16GB -> capped at 8GB; autovacuum_work_mem 2GB
    // random_page_cost: mixed on san -> 1.1
    // W = 31; work_mem: 201326592/((100+31)*3) = 512281.4, /2 -> 201326592/786 = 256140.7 -> 256140;
    //   *0.9 = 230526.0 -> 230526kB
    // autovacuum_max_workers: 31 < 32 -> 4; per_gather ceil(31/2) = 16 capped at 4
    name: 'PG 18, mixed, san, greater_ram, 256GB, 31 CPUs',
    input: { pgMajor: 18, memoryKb: 256 * GB, cpus: 31, workload: 'mixed', storage: 'san', dataSize: 'greater_ram' },
    settings: {
      max_connections: '100',
      shared_buffers: '64GB',
      effective_cache_size: '192GB',
      maintenance_work_mem: '8GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '300',
      work_mem: '230526kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      autovacuum_max_workers: '4',
      autovacuum_work_mem: '2GB',
      io_method: 'io_uring',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '31',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '31',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.high, warn.lz4, warn.ioUring],
  },
  {
    // PG 14, R = 8388608 (8GB), dw, hdd, greater_ram, no CPUs
    // sb 2GB (-> try), ecs 6GB, mwm = R/8 = 1GB (< 2GB: no autovacuum_work_mem); random_page_cost: hdd -> 4
    // W = 8; work_mem: 6291456/((40+8)*3) = 43690.7, /2 -> 6291456/288 = 21845.3 -> 21845;
    //   *0.9 = 19660.5 -> 19660kB
    name: 'PG 14, dw, hdd, greater_ram, 8GB',
    input: { pgMajor: 14, memoryKb: 8 * GB, workload: 'dw', storage: 'hdd', dataSize: 'greater_ram' },
    settings: {
      max_connections: '40',
      shared_buffers: '2GB',
      effective_cache_size: '6GB',
      maintenance_work_mem: '1GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '4',
      effective_io_concurrency: '2',
      work_mem: '19660kB',
      huge_pages: 'try',
      wal_compression: 'on',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
    },
    warnings: [],
  },
  {
    // PG 15, R = 4194304 (4GB), dw, ssd, mid_ram
    // sb 1GB, ecs 3GB, mwm = R/8 = 524288 = 512MB; random_page_cost: dw, ssd, data >= RAM -> 4
    // W = 8; work_mem: 3145728/((40+8)*3) = 21845.3, /2 -> 3145728/288 = 10922.7 -> 10922kB
    name: 'PG 15, dw, ssd, mid_ram, 4GB (cost note)',
    input: { pgMajor: 15, memoryKb: 4 * GB, workload: 'dw', storage: 'ssd' },
    settings: {
      max_connections: '40',
      shared_buffers: '1GB',
      effective_cache_size: '3GB',
      maintenance_work_mem: '512MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '4',
      effective_io_concurrency: '200',
      work_mem: '10922kB',
      huge_pages: 'off',
      wal_compression: 'lz4',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
    },
    warnings: [warn.lz4, warn.dw('SSDs')],
  },
  {
    // PG 13, R = 2097152 (2GB), desktop, nvme, 1 CPU
    // sb = R/16 = 131072 = 128MB; ecs = R/4 = 524288 = 512MB; mwm = R/16 = 128MB
    // wal_buffers: 3*131072/100 = 3932.2 -> 3932kB
    // W = 8; work_mem: 1966080/((20+8)*3) = 23405.7, /6 -> 1966080/504 = 3900.9 -> 3900 -> floor 4MB
    name: 'PG 13, desktop, nvme, 2GB, 1 CPU',
    input: { pgMajor: 13, memoryKb: 2 * GB, cpus: 1, workload: 'desktop', storage: 'nvme' },
    settings: {
      max_connections: '20',
      shared_buffers: '128MB',
      effective_cache_size: '512MB',
      maintenance_work_mem: '128MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '3932kB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '1000',
      work_mem: '4MB',
      huge_pages: 'off',
      wal_compression: 'on',
      min_wal_size: '100MB',
      max_wal_size: '2GB',
      wal_level: 'minimal',
      max_wal_senders: '0',
    },
    warnings: [],
  },
  {
    // R = 104857600 (exactly 100GB: not "over 100GB"), web, ssd, 16 CPUs, 1000 connections, PG 17
    // sb = 26214400 = 25GB; ecs = 78643200 = 75GB; mwm = R/16 = 6553600 = 6400MB (not a whole GB)
    //   -> autovacuum_work_mem 2GB
    // W = 16; work_mem: 78643200/((1000+16)*3) = 78643200/3048 = 25801.6 -> 25801kB
    name: 'exactly 100GB, web, 16 CPUs, 1000 connections, PG 17',
    input: { pgMajor: 17, memoryKb: 100 * GB, cpus: 16, connections: 1000, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '1000',
      shared_buffers: '25GB',
      effective_cache_size: '75GB',
      maintenance_work_mem: '6400MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '25801kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      autovacuum_max_workers: '4',
      autovacuum_work_mem: '2GB',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '16',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '16',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 262144 (exactly 256MB: not "under 256MB"), web, ssd, PG 14
    // sb = 65536 = 64MB; ecs = 196608 = 192MB; mwm = 16384 = 16MB; wal_buffers: 3*65536/100 = 1966.1 -> 1966kB
    // W = 8; work_mem: 196608/624 = 315 -> floor 4MB
    name: 'exactly 256MB, web, PG 14',
    input: { pgMajor: 14, memoryKb: 256 * MB, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '64MB',
      effective_cache_size: '192MB',
      maintenance_work_mem: '16MB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '1966kB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '4MB',
      huge_pages: 'off',
      jit: 'off',
      wal_compression: 'on',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    },
    warnings: [],
  },
  {
    // R = 16777216 (16GB), oltp, ssd, 4 CPUs, 1 connection
    // sb 4GB, ecs 12GB, mwm 1GB; W = 4; work_mem: 12582912/((1+4)*3) = 12582912/15 = 838860.8 -> 838860kB
    name: 'oltp with a single connection',
    input: { pgMajor: 16, memoryKb: 16 * GB, cpus: 4, connections: 1, workload: 'oltp', storage: 'ssd' },
    settings: {
      max_connections: '1',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '1GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '838860kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '2GB',
      max_wal_size: '8GB',
      max_worker_processes: '4',
      max_parallel_workers_per_gather: '2',
      max_parallel_workers: '4',
      max_parallel_maintenance_workers: '2',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 16777216 (16GB), web, ssd, 5 CPUs: per_gather = maintenance = ceil(5/2) = 3
    // W = 5; work_mem: 12582912/((200+5)*3) = 12582912/615 = 20460.02 -> 20460kB
    name: 'odd CPU count (5): ceil(CPUs/2)',
    input: { pgMajor: 16, memoryKb: 16 * GB, cpus: 5, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '4GB',
      effective_cache_size: '12GB',
      maintenance_work_mem: '1GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '20460kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '5',
      max_parallel_workers_per_gather: '3',
      max_parallel_workers: '5',
      max_parallel_maintenance_workers: '3',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 33554432 (32GB), dw, hdd, less_ram, 9 CPUs, PG 17
    // sb 8GB, ecs 24GB, mwm = R/8 = 4GB -> autovacuum_work_mem 2GB; random_page_cost: less_ram -> 1.1
    // W = 9; work_mem: 25165824/((40+9)*3) = 171196.1, /2 -> 25165824/294 = 85598.04 -> 85598;
    //   *1.3 = 111277.4 -> 111277kB
    // per_gather ceil(9/2) = 5 (> 4, kept for dw); maintenance min(4, 5) = 4
    name: 'dw, hdd, less_ram, 32GB, 9 CPUs (per_gather 5 is not capped)',
    input: { pgMajor: 17, memoryKb: 32 * GB, cpus: 9, workload: 'dw', storage: 'hdd', dataSize: 'less_ram' },
    settings: {
      max_connections: '40',
      shared_buffers: '8GB',
      effective_cache_size: '24GB',
      maintenance_work_mem: '4GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '500',
      random_page_cost: '1.1',
      effective_io_concurrency: '2',
      work_mem: '111277kB',
      huge_pages: 'try',
      wal_compression: 'lz4',
      autovacuum_work_mem: '2GB',
      min_wal_size: '4GB',
      max_wal_size: '16GB',
      max_worker_processes: '9',
      max_parallel_workers_per_gather: '5',
      max_parallel_workers: '9',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.lz4],
  },
  {
    // R = 1073741824 (1TB), web, ssd, 64 CPUs
    // sb = 268435456 = 256GB; ecs = 805306368 = 768GB; mwm = R/16 = 64GB -> capped at 8GB; autovacuum_work_mem 2GB
    // W = 64; work_mem: 805306368/((200+64)*3) = 805306368/792 = 1016800.97 -> 1016800kB
    // autovacuum_max_workers 5; per_gather ceil(64/2) = 32 capped at 4 (web)
    name: '1TB, web, 64 CPUs (per_gather capped at 4 outside dw)',
    input: { pgMajor: 16, memoryKb: 1024 * GB, cpus: 64, workload: 'web', storage: 'ssd' },
    settings: {
      max_connections: '200',
      shared_buffers: '256GB',
      effective_cache_size: '768GB',
      maintenance_work_mem: '8GB',
      checkpoint_completion_target: '0.9',
      wal_buffers: '16MB',
      default_statistics_target: '100',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      work_mem: '1016800kB',
      huge_pages: 'try',
      jit: 'off',
      wal_compression: 'lz4',
      autovacuum_max_workers: '5',
      autovacuum_work_mem: '2GB',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
      max_worker_processes: '64',
      max_parallel_workers_per_gather: '4',
      max_parallel_workers: '64',
      max_parallel_maintenance_workers: '4',
    },
    warnings: [warn.high, warn.lz4],
  },
];

describe('tune: hand-computed profiles', () => {
  it('has at least 30 profiles', () => {
    expect(profiles.length).toBeGreaterThanOrEqual(30);
  });

  it.each(profiles)('$name', ({ input, settings, warnings }) => {
    const result = tune(input);
    expect(result.settings).toEqual(settings);
    expect(Object.keys(result.settings)).toEqual(Object.keys(settings));
    expect(result.warnings).toEqual(warnings);
  });
});

describe('tune: defaults', () => {
  it('treats a missing dataSize as mid_ram', () => {
    const base: TuneInput = { pgMajor: 17, memoryKb: 24 * GB, cpus: 12, workload: 'dw', storage: 'nvme' };
    expect(tune(base)).toEqual(tune({ ...base, dataSize: 'mid_ram' }));
  });

  it('uses pgtune default connections per workload', () => {
    const connections = (workload: TuneInput['workload']) =>
      tune({ pgMajor: 16, memoryKb: 4 * GB, workload, storage: 'ssd' }).settings['max_connections'];
    expect(['web', 'oltp', 'dw', 'desktop', 'mixed'].map((w) => connections(w as TuneInput['workload']))).toEqual(['200', '300', '40', '20', '100']);
  });

  it('never emits io_workers on Linux', () => {
    const settings = tune({ pgMajor: 18, memoryKb: 64 * GB, cpus: 128, workload: 'dw', storage: 'nvme' }).settings;
    expect(settings).not.toHaveProperty('io_workers');
    expect(settings['io_method']).toBe('io_uring');
  });

  it('emits io_method only from PG 18', () => {
    const ioMethod = (pgMajor: number) => tune({ pgMajor, memoryKb: 4 * GB, workload: 'web', storage: 'ssd' }).settings['io_method'];
    expect([13, 14, 15, 16, 17, 18].map(ioMethod)).toEqual([undefined, undefined, undefined, undefined, undefined, 'io_uring']);
  });
});

describe('tune: random_page_cost', () => {
  // Rule: 1.1 if data < RAM; else 4 on hdd; else 4 for dw; else 1.1.
  const cost = (input: Pick<TuneInput, 'workload' | 'storage' | 'dataSize'>) =>
    tune({ pgMajor: 16, memoryKb: 8 * GB, ...input }).settings['random_page_cost'];

  it('is 1.1 whenever the data fits in RAM, even on hdd or for dw', () => {
    expect(cost({ workload: 'web', storage: 'hdd', dataSize: 'less_ram' })).toBe('1.1');
    expect(cost({ workload: 'dw', storage: 'hdd', dataSize: 'less_ram' })).toBe('1.1');
    expect(cost({ workload: 'dw', storage: 'nvme', dataSize: 'less_ram' })).toBe('1.1');
  });

  it('is 4 on hdd when the data does not fit in RAM', () => {
    expect(cost({ workload: 'web', storage: 'hdd', dataSize: 'mid_ram' })).toBe('4');
    expect(cost({ workload: 'oltp', storage: 'hdd', dataSize: 'greater_ram' })).toBe('4');
  });

  it('is 4 for dw on fast storage when the data does not fit in RAM', () => {
    expect(cost({ workload: 'dw', storage: 'ssd', dataSize: 'mid_ram' })).toBe('4');
    expect(cost({ workload: 'dw', storage: 'san', dataSize: 'greater_ram' })).toBe('4');
  });

  it('is 1.1 otherwise', () => {
    expect(cost({ workload: 'web', storage: 'ssd', dataSize: 'greater_ram' })).toBe('1.1');
    expect(cost({ workload: 'mixed', storage: 'nvme', dataSize: 'mid_ram' })).toBe('1.1');
    expect(cost({ workload: 'desktop', storage: 'san', dataSize: 'greater_ram' })).toBe('1.1');
  });
});

describe('tune: warnings', () => {
  const warningsFor = (input: Partial<TuneInput>) => tune({ pgMajor: 14, memoryKb: 8 * GB, workload: 'web', storage: 'ssd', ...input }).warnings;

  it('gives none for an ordinary PG 14 server', () => {
    expect(warningsFor({})).toEqual([]);
  });

  it('warns about RAM under 256MB but not at exactly 256MB', () => {
    expect(warningsFor({ memoryKb: 256 * MB - 1 })).toEqual([warn.low]);
    expect(warningsFor({ memoryKb: 256 * MB })).toEqual([]);
  });

  it('warns about RAM over 100GB but not at exactly 100GB', () => {
    expect(warningsFor({ memoryKb: 100 * GB + 1 })).toEqual([warn.high]);
    expect(warningsFor({ memoryKb: 100 * GB })).toEqual([]);
  });

  it('warns that lz4 needs a server built with lz4 from PG 15', () => {
    expect(warningsFor({ pgMajor: 15 })).toEqual([warn.lz4]);
    expect(warningsFor({ pgMajor: 13 })).toEqual([]);
  });

  it('warns that io_uring needs liburing on PG 18', () => {
    expect(warningsFor({ pgMajor: 18 })).toEqual([warn.lz4, warn.ioUring]);
  });

  it('notes dw cost defaults on non-hdd storage when data >= RAM', () => {
    expect(warningsFor({ workload: 'dw', storage: 'ssd', dataSize: 'mid_ram' })).toEqual([warn.dw('SSDs')]);
    expect(warningsFor({ workload: 'dw', storage: 'nvme', dataSize: 'greater_ram' })).toEqual([warn.dw('NVMe drives')]);
    expect(warningsFor({ workload: 'dw', storage: 'hdd', dataSize: 'greater_ram' })).toEqual([]);
    expect(warningsFor({ workload: 'dw', storage: 'ssd', dataSize: 'less_ram' })).toEqual([]);
    expect(warningsFor({ workload: 'oltp', storage: 'ssd', dataSize: 'greater_ram' })).toEqual([]);
  });

  it('writes warnings as plain sentences', () => {
    const warnings = warningsFor({ pgMajor: 18, memoryKb: 128 * MB, workload: 'dw', storage: 'san' });
    expect(warnings).toHaveLength(4);
    for (const warning of warnings) expect(warning).toMatch(/^[A-Za-z].*\.$/);
  });
});

describe('tune: input validation', () => {
  const valid: TuneInput = { pgMajor: 16, memoryKb: 4 * GB, workload: 'web', storage: 'ssd' };

  it.each([12, 19, 16.5, Number.NaN])('rejects PostgreSQL major %s', (pgMajor) => {
    expect(() => tune({ ...valid, pgMajor })).toThrow(RangeError);
  });

  it('accepts every supported major', () => {
    for (const pgMajor of [13, 14, 15, 16, 17, 18]) expect(() => tune({ ...valid, pgMajor })).not.toThrow();
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects memory %s kB', (memoryKb) => {
    expect(() => tune({ ...valid, memoryKb })).toThrow(RangeError);
  });

  it.each([0, -4, 2.5, Number.NaN])('rejects %s CPUs', (cpus) => {
    expect(() => tune({ ...valid, cpus })).toThrow(RangeError);
  });

  it.each([0, -10, 20.5])('rejects %s connections', (connections) => {
    expect(() => tune({ ...valid, connections })).toThrow(RangeError);
  });

  it('rejects unknown workloads, storage kinds and data sizes from unchecked callers', () => {
    expect(() => tune({ ...valid, workload: 'batch' as TuneInput['workload'] })).toThrow(RangeError);
    expect(() => tune({ ...valid, storage: 'tape' as TuneInput['storage'] })).toThrow(RangeError);
    expect(() => tune({ ...valid, dataSize: 'huge' as TuneInput['dataSize'] })).toThrow(RangeError);
  });

  it('names the problem in the message', () => {
    expect(() => tune({ ...valid, pgMajor: 12 })).toThrow(/PostgreSQL major version 12/);
    expect(() => tune({ ...valid, cpus: 0 })).toThrow(/CPU count 0/);
  });
});
