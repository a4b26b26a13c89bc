import { paginateGetMetricData } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { METRICS } from '@cloudseed/shared/metrics/catalog';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import type { MetricSeries } from '@cloudseed/shared/metrics/series';
import { METRICS_NAMESPACE } from '@cloudseed/shared/targets/aws/scripts';
import type { NodeRef, ProviderMetrics } from '../provider.ts';
import { call } from './errors.ts';

// The metrics a deployment's nodes publish to CloudWatch (sh/collect-metrics.py, every minute, one
// dimension: the instance id), read back with GetMetricData as the metrics API answers them: one
// series per metric and node, one point per step (the average of the minute's values in it), null
// where the node published nothing. CloudWatch keeps these at a minute's resolution, so a step
// shorter than a minute is answered in minutes, and says so.

/** The shortest step CloudWatch answers the nodes' standard-resolution metrics in. */
export const CLOUDWATCH_PERIOD = 60;

export async function readNodeMetrics(cloudwatch: CloudWatchClient, nodes: readonly NodeRef[], query: MetricsQuery): Promise<ProviderMetrics> {
  const step = Math.max(query.step, CLOUDWATCH_PERIOD);
  const from = Math.floor(query.from / step) * step;
  const { to } = query;
  const queries: MetricDataQuery[] = nodes.flatMap((node, n) =>
    query.names.map((name, m) => ({
      Id: `m${n}_${m}`,
      MetricStat: {
        Metric: { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: [{ Name: 'InstanceId', Value: node.nodeId }] },
        Period: step,
        Stat: 'Average',
      },
      ReturnData: true,
    })),
  );
  const buckets = Math.max(0, Math.ceil((to - from) / step));
  const values = new Map<string, (number | null)[]>(queries.map((entry) => [entry.Id!, new Array<number | null>(buckets).fill(null)]));
  if (queries.length > 0) {
    const pages = paginateGetMetricData(
      { client: cloudwatch },
      { MetricDataQueries: queries, StartTime: new Date(from * 1000), EndTime: new Date(to * 1000), ScanBy: 'TimestampAscending' },
    );
    await call('reading the nodes’ metrics from CloudWatch', async () => {
      for await (const page of pages) {
        for (const result of page.MetricDataResults ?? []) {
          const points = values.get(result.Id ?? '');
          if (!points) continue;
          (result.Timestamps ?? []).forEach((at, index) => {
            const bucket = Math.floor((at.getTime() / 1000 - from) / step);
            const value = result.Values?.[index];
            if (bucket >= 0 && bucket < buckets && value !== undefined) points[bucket] = value;
          });
        }
      }
    });
  }
  return {
    from,
    to,
    step,
    nodes: nodes.map((node, n) => ({
      name: node.name,
      series: query.names.map((name, m): MetricSeries => ({
        name,
        unit: METRICS[name].unit,
        points: (values.get(`m${n}_${m}`) ?? []).map((value, index): readonly [number, number | null] => [from + index * step, value]),
      })),
    })),
  };
}
