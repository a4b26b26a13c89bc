import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { METRIC_NAMES } from '@cloudseed/shared/metrics/catalog';
import type { MetricValues } from '@cloudseed/shared/metrics/catalog';
import { seriesOf } from '@cloudseed/shared/metrics/series';
import { LocalMetricsCollector, readPoints, ringFile } from '@cloudseed/functions/providers/local/metrics';
import { readStoredMetrics } from '@cloudseed/functions/providers/node-backups/stored-metrics';
import { metricsObjectKey } from '@cloudseed/shared/targets/aws/scripts';
import { deployLocally, localTarget } from '../functions/test/support/local-targets.ts';

// The metrics' cost: how long a day of one node's 10-s samples takes to answer as series (what
// GET /metrics does per node), the same for a day of a GCP or Azure node's minute samples in their
// hour files (the provider's parsing and series, storage answering at once: a cloud adds its
// reads, 25 at a time per node), and what the local collector costs a server per sample (its wall
// time, and the server processes' CPU time the sample itself takes, over an idle server).

const DAY = 24 * 60 * 60;
const RUNS = 20;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

export interface MetricsBench {
  readonly seriesOfADay: {
    readonly points: number;
    readonly ringMiB: number;
    readonly names: number;
    readonly step: number;
    readonly medianMs: number;
  };
  readonly storedDay: { readonly hourFiles: number; readonly points: number; readonly medianMs: number };
  readonly collector: { readonly statementsPerSample: number; readonly medianSampleMs: number; readonly serverCpuMsPerSample: number };
}

export async function metricsBench(): Promise<MetricsBench> {
  const home = mkdtempSync(join(tmpdir(), 'cs-bench-metrics-'));
  try {
    // A day of 10-s samples, every metric in each, in the ring format the collector writes.
    const now = Math.floor(Date.now() / 1000);
    const file = ringFile(home, 'bench', 'db', 'db-0');
    const lines: string[] = [];
    for (let at = now - DAY; at < now; at += 10) {
      const values: MetricValues = Object.fromEntries(METRIC_NAMES.map((name, index) => [name, (at % 997) * (index + 1)]));
      lines.push(JSON.stringify({ at, values }));
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const names = METRIC_NAMES.slice(0, 12);
    const query = { names, from: Math.floor((now - DAY) / 60) * 60, to: now, step: 60 };
    const timings: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      seriesOf(await readPoints(file, query.from, query.to), query);
      timings.push(performance.now() - started);
    }
    const seriesOfADay = {
      points: lines.length,
      ringMiB: round(Buffer.byteLength(lines.join('\n')) / 2 ** 20, 2),
      names: names.length,
      step: 60,
      medianMs: round(median(timings)),
    };

    // A day of a cloud node's minute samples, in the hour files publish-metrics.sh stores.
    const stored = new Map<string, string>();
    const node = { name: 'db-0', role: 'primary' as const, nodeId: 'cs-bench-db-0', host: '10.0.0.2', port: 5432 };
    let minutes = 0;
    for (let at = Math.floor((now - DAY) / 60) * 60; at < now; at += 60) {
      const key = metricsObjectKey('metrics/', node.nodeId, Math.floor(at / 3600) * 3600);
      const values = Object.fromEntries(METRIC_NAMES.map((name, index) => [name, (at % 997) * (index + 1)]));
      stored.set(key, `${stored.get(key) ?? ''}${JSON.stringify({ at, values })}\n`);
      minutes += 1;
    }
    const store = { find: (_bucket: string, key: string) => Promise.resolve(stored.get(key)) };
    const storedTimings: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      await readStoredMetrics(store, { bucket: 'bench', prefix: 'metrics/' }, [node], query);
      storedTimings.push(performance.now() - started);
    }
    const storedDay = { hourFiles: stored.size, points: minutes, medianMs: round(median(storedTimings)) };

    // The collector over one idle local server.
    const local = await import('@cloudseed/functions/providers/local/index');
    const provider = new local.LocalProvider({ home });
    const target = localTarget('bench-metrics');
    await deployLocally(provider, target);
    const collector = new LocalMetricsCollector(home);
    const ring = ringFile(home, 'bench-metrics', 'db', 'db-0');
    const samples: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      await collector.sampleAll();
      samples.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // cpu_percent between two samples 250 ms apart on an idle server is what sampling itself costs it.
    const points = await readPoints(ring, 0, Date.now() / 1000 + 60);
    const cpu = points.flatMap((point) => (point.values.cpu_percent === undefined ? [] : [point.values.cpu_percent]));
    const interval = (points.at(-1)!.at - points[0]!.at) / (points.length - 1);
    await provider.destroy(target);
    await local.stopAll(home);
    return {
      seriesOfADay,
      storedDay,
      collector: {
        statementsPerSample: 1,
        medianSampleMs: round(median(samples)),
        serverCpuMsPerSample: round((median(cpu) / 100) * interval * 1000),
      },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
