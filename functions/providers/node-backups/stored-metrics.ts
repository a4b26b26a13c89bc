import { isMetricName } from '@cloudseed/shared/metrics/catalog';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import { seriesOf } from '@cloudseed/shared/metrics/series';
import type { MetricPoint } from '@cloudseed/shared/metrics/series';
import { METRICS_INTERVAL_SECONDS, metricsObjectKey } from '@cloudseed/shared/targets/aws/scripts';
import type { NodeRef, ProviderMetrics } from '../provider.ts';
import type { ObjectStore } from './host.ts';

// The metrics of nodes on a cloud whose metrics service CloudSeed may not write to (GCP, Azure): each
// node's collector appends a sample a minute to its UTC hour's file and stores the file beside the
// component's backups (sh/publish-metrics.sh), as <prefix><instance>/<YYYY-MM-DDTHH>.jsonl. A range
// is read as the hours it touches, every node's at once; an hour with no file is a gap, never zeros.
// Samples come a minute apart, so a shorter step is answered in minutes, and says so.

const HOUR = 3600;

export interface StoredMetricsLocation {
  /** The bucket (GCP) or container (Azure) of the component's backups. */
  readonly bucket: string;
  /** The component's backup prefix and METRICS_FOLDER. */
  readonly prefix: string;
}

/** The name a node's files are stored under: what its prelude's instance_name prints, the last segment of the provider's id for it. */
export const instanceOf = (node: NodeRef): string => node.nodeId.split('/').at(-1) ?? node.nodeId;

export async function readStoredMetrics(
  store: Pick<ObjectStore, 'find'>,
  location: StoredMetricsLocation,
  nodes: readonly NodeRef[],
  query: MetricsQuery,
): Promise<ProviderMetrics> {
  const step = Math.max(query.step, METRICS_INTERVAL_SECONDS);
  const from = Math.floor(query.from / step) * step;
  const grid = { ...query, from, step };
  const hours: number[] = [];
  for (let hour = Math.floor(from / HOUR) * HOUR; hour < query.to; hour += HOUR) hours.push(hour);
  const answers = await Promise.all(
    nodes.map(async (node) => {
      const files = await Promise.all(hours.map((hour) => store.find(location.bucket, metricsObjectKey(location.prefix, instanceOf(node), hour))));
      return { name: node.name, series: seriesOf(files.flatMap(samplesOf), grid) };
    }),
  );
  return { from, to: query.to, step, nodes: answers };
}

/**
 * The samples of one hour's file: a line that is not a sample the collector writes (cut short, or
 * written by something else) is passed over, as is a value that is not a catalogued metric's number.
 */
export function samplesOf(file: string | undefined): MetricPoint[] {
  if (file === undefined) return [];
  const samples: MetricPoint[] = [];
  for (const line of file.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null) continue;
    const { at, values } = parsed as { at?: unknown; values?: unknown };
    if (typeof at !== 'number' || !Number.isFinite(at) || typeof values !== 'object' || values === null) continue;
    const kept: Record<string, number> = {};
    for (const [name, value] of Object.entries(values))
      if (isMetricName(name) && typeof value === 'number' && Number.isFinite(value)) kept[name] = value;
    samples.push({ at, values: kept });
  }
  return samples;
}
