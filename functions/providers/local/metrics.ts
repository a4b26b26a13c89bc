import { appendFile, mkdir, readFile, rename, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { databaseMetrics, DATABASE_SAMPLE_SQL, parseDatabaseSample } from '@cloudseed/shared/metrics/database-sample';
import type { DatabaseSample } from '@cloudseed/shared/metrics/database-sample';
import type { MetricValues } from '@cloudseed/shared/metrics/catalog';
import type { MetricPoint } from '@cloudseed/shared/metrics/series';
import { listNodes } from './nodes.ts';
import { safeName } from './paths.ts';
import { adminSql, binDirOf, DEFAULT_POSTGRES_ROOT, isRunning, postmasterPid } from './server.ts';
import type { Server } from './server.ts';

// The local cloud's metrics collector: every LOCAL_SAMPLE_SECONDS it samples each running server
// (the collector's statement over the Unix socket, and its processes from /proc: CPU, memory and
// I/O operations of the postmaster and its children, space on the data directory's file system)
// and appends the metrics to a ring under CLOUDSEED_HOME/metrics/<plan>/<component>/<node>.jsonl,
// one JSON line a sample, which keeps the last RETENTION_SECONDS. A node's first sample after a
// start has gauges only: rates need two.

export const LOCAL_SAMPLE_SECONDS = 10;
export const RETENTION_SECONDS = 24 * 60 * 60;
/** The ring is trimmed once its oldest line is this much past the retention, so trimming is rare. */
const TRIM_SLACK_SECONDS = 60 * 60;
/** Linux's clock ticks per second (USER_HZ), in which /proc counts CPU time. */
const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

interface ProcessCounters {
  readonly cpuTicks: number;
  readonly rssBytes: number;
  readonly ioOperations: number;
}

interface Previous {
  readonly at: number;
  readonly database: DatabaseSample;
  readonly processes?: ProcessCounters;
}

export const metricsRoot = (home: string): string => join(home, 'metrics');

/** The ring file of one node. */
export function ringFile(home: string, planId: string, componentId: string, node: string): string {
  return join(metricsRoot(home), safeName('plan id', planId), safeName('component id', componentId), `${safeName('node name', node)}.jsonl`);
}

export class LocalMetricsCollector {
  readonly #home: string;
  readonly #postgresRoot: string;
  readonly #previous = new Map<string, Previous>();
  /** The oldest point each ring holds, read once per file: trimming needs no read of the ring at each sample. */
  readonly #oldest = new Map<string, number>();

  constructor(home: string, options: { readonly postgresRoot?: string } = {}) {
    this.#home = home;
    this.#postgresRoot = options.postgresRoot ?? DEFAULT_POSTGRES_ROOT;
  }

  /** Samples every running server once; answers how many it sampled. A server that cannot answer now (starting, stopping) is skipped. */
  async sampleAll(): Promise<number> {
    let sampled = 0;
    for (const { record, paths } of await listNodes(this.#home)) {
      if (!record.running || !(await isRunning(paths))) continue;
      const server: Server = { name: record.name, paths, port: record.port, bin: binDirOf(this.#postgresRoot, record.major) };
      const file = ringFile(this.#home, record.planId, record.componentId, record.name);
      let database: DatabaseSample;
      try {
        database = parseDatabaseSample(await adminSql(server, DATABASE_SAMPLE_SQL));
      } catch {
        continue;
      }
      const pid = await postmasterPid(paths);
      const processes = pid === undefined ? undefined : await processCounters(pid);
      const disk = await statfs(paths.data);
      const previous = this.#previous.get(file);
      const values: MetricValues = {
        ...databaseMetrics(previous?.database, database),
        disk_used_bytes: (disk.blocks - disk.bfree) * disk.bsize,
        disk_free_bytes: disk.bavail * disk.bsize,
        ...(processes ? { memory_bytes: processes.rssBytes } : {}),
      };
      const seconds = previous ? database.at - previous.at : 0;
      if (processes && previous?.processes && seconds > 0) {
        const ticks = processes.cpuTicks - previous.processes.cpuTicks;
        const operations = processes.ioOperations - previous.processes.ioOperations;
        // A backend that ended takes its I/O count with it (its CPU time goes to the postmaster's): a drop gives no value.
        if (ticks >= 0) values.cpu_percent = (ticks / CLOCK_TICKS / seconds) * 100;
        if (operations >= 0) values.disk_iops = operations / seconds;
      }
      this.#previous.set(file, { at: database.at, database, ...(processes ? { processes } : {}) });
      await this.#append(file, { at: database.at, values });
      sampled += 1;
    }
    return sampled;
  }

  /** Appends the point; once the oldest point is well past the retention, rewrites the ring without what it no longer keeps. */
  async #append(file: string, point: MetricPoint): Promise<void> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    if (!this.#oldest.has(file)) {
      const text = await readFile(file, 'utf8').catch(() => '');
      // A line a crash cut short ends there: the next point starts a line of its own.
      if (text !== '' && !text.endsWith('\n')) await appendFile(file, '\n');
      this.#oldest.set(file, oldestOf(text) ?? point.at);
    }
    await appendFile(file, `${JSON.stringify(point)}\n`, { mode: 0o600 });
    if (this.#oldest.get(file)! >= point.at - RETENTION_SECONDS - TRIM_SLACK_SECONDS) return;
    const kept = (await readFile(file, 'utf8')).split('\n').filter((line) => Number(AT.exec(line)?.[1]) >= point.at - RETENTION_SECONDS);
    // Written aside and renamed: a reader sees the old ring or the new one, never half of one.
    await writeFile(`${file}.trim`, `${kept.join('\n')}\n`, { mode: 0o600 });
    await rename(`${file}.trim`, file);
    this.#oldest.set(file, Number(AT.exec(kept[0] ?? '')?.[1] ?? point.at));
  }
}

/** The time of a ring's oldest point, or undefined for an empty ring. */
function oldestOf(text: string): number | undefined {
  const at = Number(AT.exec(text)?.[1]);
  return Number.isFinite(at) ? at : undefined;
}

const AT = /^\{"at":([0-9.]+)/;

/** One node's points from `from` (inclusive) to `to` (exclusive), seconds since the epoch. */
export async function readPoints(file: string, from: number, to: number): Promise<MetricPoint[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const points: MetricPoint[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const point = JSON.parse(line) as MetricPoint;
      if (point.at >= from && point.at < to) points.push(point);
    } catch {
      // A line cut short by a crash mid-append: the ring goes on after it.
    }
  }
  return points;
}

/** CPU ticks, resident memory and I/O operations of the postmaster and its children, from /proc. */
async function processCounters(postmaster: number): Promise<ProcessCounters | undefined> {
  const stat = await readFile(`/proc/${postmaster}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The postmaster's children, as the kernel lists them (CONFIG_PROC_CHILDREN): no walk of all of /proc.
  const children = await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').catch(() => '');
  const pids = [
    postmaster,
    ...children
      .split(' ')
      .filter((pid) => /^\d+$/.test(pid))
      .map(Number),
  ];
  let cpuTicks = 0;
  let rssBytes = 0;
  let ioOperations = 0;
  for (const pid of pids) {
    const text = pid === postmaster ? stat : await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    // The command name may hold spaces and parentheses: the fields after it start at the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime; the postmaster's also cutime and cstime, the time of the backends it reaped.
    cpuTicks += Number(fields[11]) + Number(fields[12]) + (pid === postmaster ? Number(fields[13]) + Number(fields[14]) : 0);
    rssBytes += Number(fields[21]) * PAGE_BYTES;
    const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
    ioOperations += Number(/^syscr: (\d+)$/m.exec(io)?.[1] ?? 0) + Number(/^syscw: (\d+)$/m.exec(io)?.[1] ?? 0);
  }
  return { cpuTicks, rssBytes, ioOperations };
}
