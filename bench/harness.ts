import { performance } from 'node:perf_hooks';

export interface Measurement {
  readonly name: string;
  readonly iterations: number;
  readonly opsPerSecond: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
}

/** Runs `work` repeatedly for about `seconds` after a warm-up and reports throughput and latency percentiles. */
export function measure(name: string, work: () => unknown, seconds = 1): Measurement {
  for (let warmup = 0; warmup < 200; warmup++) work();
  const samples: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  while (performance.now() < deadline) {
    const before = performance.now();
    work();
    samples.push(performance.now() - before);
  }
  const elapsed = performance.now() - started;
  samples.sort((a, b) => a - b);
  const percentile = (p: number) => round((samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] ?? 0) * 1000);
  return {
    name,
    iterations: samples.length,
    opsPerSecond: Math.round((samples.length / elapsed) * 1000),
    p50Micros: percentile(0.5),
    p99Micros: percentile(0.99),
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
