import { METRICS } from './catalog.ts';
import type { MetricName, MetricUnit, MetricValues } from './catalog.ts';
import type { MetricsQuery } from './query.ts';

// A node's samples turned into what the metrics API answers: one series per metric, one point per
// step from `from` to `to`, each the mean of the samples in that step, or null where the node kept
// none (it was down, or not deployed yet): a gap in the chart, never a made-up zero.

export interface MetricPoint {
  /** Seconds since the epoch. */
  readonly at: number;
  readonly values: MetricValues;
}

export interface MetricSeries {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  /** [start of the step, mean or null]. */
  readonly points: ReadonlyArray<readonly [number, number | null]>;
}

export function seriesOf(samples: readonly MetricPoint[], query: MetricsQuery): MetricSeries[] {
  const { from, to, step, names } = query;
  const buckets = Math.max(0, Math.ceil((to - from) / step));
  return names.map((name) => {
    const sums = new Array<number>(buckets).fill(0);
    const counts = new Array<number>(buckets).fill(0);
    for (const sample of samples) {
      const value = sample.values[name];
      if (value === undefined || sample.at < from || sample.at >= to) continue;
      const bucket = Math.floor((sample.at - from) / step);
      sums[bucket]! += value;
      counts[bucket]! += 1;
    }
    const points = sums.map((sum, index): readonly [number, number | null] => [from + index * step, counts[index] ? sum / counts[index] : null]);
    return { name, unit: METRICS[name].unit, points };
  });
}
