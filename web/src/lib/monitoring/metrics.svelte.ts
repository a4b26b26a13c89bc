import type { MetricName, MetricUnit } from '@cloudseed/shared/metrics/catalog';
import { ApiError, SignedOut } from '../api/client.ts';
import type { ApiClient } from '../api/client.ts';
import type { PlanMetrics } from '../api/types.ts';
import { describeError } from '../deployment/format.ts';
import { Poller, type VisibilityTarget } from '../poller.ts';

// The Monitoring tab's charts: one node's metrics over the last hour, 6 hours or day, fetched in
// one request and again every 10 s while the tab is open and in view (the local collector samples
// every 10 s; on a cloud a point is a minute).

export const METRICS_POLL_MS = 10_000;
/** A cloud's nodes publish a point a minute. */
export const CLOUD_METRICS_POLL_MS = 60_000;

export const RANGES = {
  '1h': { seconds: 3600, step: 10, label: '1 hour' },
  '6h': { seconds: 6 * 3600, step: 60, label: '6 hours' },
  '24h': { seconds: 24 * 3600, step: 300, label: '24 hours' },
} as const;
export type RangeKey = keyof typeof RANGES;

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly unit: MetricUnit;
  readonly series: ReadonlyArray<{ readonly name: MetricName; readonly label: string }>;
  /** Only on a node of a cluster (a single server has nothing to lag behind). */
  readonly clusterOnly?: boolean;
}

export const CHARTS: readonly ChartSpec[] = [
  { id: 'cpu', title: 'CPU', unit: 'percent', series: [{ name: 'cpu_percent', label: 'CPU' }] },
  { id: 'memory', title: 'Memory', unit: 'bytes', series: [{ name: 'memory_bytes', label: 'Resident' }] },
  {
    id: 'connections',
    title: 'Connections',
    unit: 'count',
    series: [
      { name: 'connections_active', label: 'Active' },
      { name: 'connections_idle', label: 'Idle' },
      { name: 'connections_max', label: 'Max' },
    ],
  },
  { id: 'transactions', title: 'Transactions', unit: 'per_second', series: [{ name: 'transactions_per_second', label: 'Transactions' }] },
  { id: 'cache', title: 'Cache hit ratio', unit: 'ratio', series: [{ name: 'cache_hit_ratio', label: 'Hit ratio' }] },
  { id: 'disk', title: 'Disk free', unit: 'bytes', series: [{ name: 'disk_free_bytes', label: 'Free' }] },
  { id: 'iops', title: 'Disk IOPS', unit: 'per_second', series: [{ name: 'disk_iops', label: 'IOPS' }] },
  { id: 'wal', title: 'WAL generated', unit: 'bytes_per_second', series: [{ name: 'wal_bytes_per_second', label: 'WAL' }] },
  {
    id: 'oldest',
    title: 'Oldest transaction',
    unit: 'seconds',
    series: [{ name: 'oldest_transaction_seconds', label: 'Age' }],
  },
  {
    id: 'lag',
    title: 'Replication lag',
    unit: 'bytes',
    series: [{ name: 'replication_lag_bytes', label: 'Lag' }],
    clusterOnly: true,
  },
];

/** Every metric the charts draw: at most the API's 12 in one request. */
export const CHART_METRICS: readonly MetricName[] = CHARTS.flatMap((chart) => chart.series.map((series) => series.name));

export interface ChartData {
  /** Seconds since the epoch, one per step. */
  readonly times: readonly number[];
  readonly series: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<number | null> }>;
}

export type MetricsClient = Pick<ApiClient, 'metrics'>;

export class MetricsView {
  range = $state<RangeKey>('1h');
  /** The database component and node shown; unset: the first, and its primary. */
  component = $state<string | undefined>();
  node = $state<string | undefined>();
  data = $state.raw<PlanMetrics | undefined>();
  loaded = $state(false);
  error = $state<string | undefined>();

  readonly #client: MetricsClient;
  readonly #planId: string;
  readonly #now: () => number;
  readonly #poller: Poller;
  /** Answers to an older request (a range since changed) are dropped. */
  #request = 0;

  constructor(client: MetricsClient, planId: string, options: { now?: () => number; pollMs?: number; document?: VisibilityTarget } = {}) {
    this.#client = client;
    this.#planId = planId;
    this.#now = options.now ?? Date.now;
    const pollMs = options.pollMs ?? METRICS_POLL_MS;
    this.#poller = new Poller(
      () => this.refresh(),
      () => pollMs,
      options.document,
    );
  }

  readonly components = $derived(this.data?.components ?? []);
  readonly shownComponent = $derived(this.components.find((entry) => entry.id === this.component) ?? this.components[0]);
  readonly nodes = $derived(this.shownComponent?.nodes ?? []);
  readonly shownNode = $derived(
    this.nodes.find((entry) => entry.name === this.node) ?? this.nodes.find((entry) => entry.role === 'primary') ?? this.nodes[0],
  );
  readonly clustered = $derived(this.nodes.length > 1);

  start(): () => void {
    this.#poller.start();
    return () => this.stop();
  }

  stop(): void {
    this.#poller.stop();
  }

  /** Shows another range now (and keeps it fresh). */
  async show(range: RangeKey): Promise<void> {
    this.range = range;
    await this.#poller.runNow();
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    const { seconds, step } = RANGES[this.range];
    const to = Math.floor(this.#now() / 1000);
    try {
      const data = await this.#client.metrics(this.#planId, { names: CHART_METRICS, from: to - seconds, to, step });
      if (request !== this.#request) return;
      this.data = data;
      this.error = undefined;
    } catch (error) {
      if (request !== this.#request) return;
      if (error instanceof SignedOut) this.stop();
      this.error = error instanceof ApiError && error.status === 409 ? error.message : describeError(error, 'Loading the metrics');
    } finally {
      if (request === this.#request) this.loaded = true;
    }
  }

  /** The shown node's points of one chart. */
  chart(spec: ChartSpec): ChartData | undefined {
    const node = this.shownNode;
    if (!node) return undefined;
    const series = spec.series.map(({ name, label }) => ({ label, found: node.series.find((entry) => entry.name === name) }));
    const first = series.find((entry) => entry.found)?.found;
    if (!first) return undefined;
    return {
      times: first.points.map(([at]) => at),
      series: series.map(({ label, found }) => ({ label, values: found ? found.points.map(([, value]) => value) : first.points.map(() => null) })),
    };
  }
}

/** The newest value of a series, and its highest, skipping gaps. */
export function latestAndPeak(values: ReadonlyArray<number | null>): { latest?: number; peak?: number } {
  let latest: number | undefined;
  let peak: number | undefined;
  for (const value of values) {
    if (value === null) continue;
    latest = value;
    peak = peak === undefined ? value : Math.max(peak, value);
  }
  return { ...(latest === undefined ? {} : { latest }), ...(peak === undefined ? {} : { peak }) };
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function bytes(value: number): string {
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(scaled) : scaled.toFixed(scaled < 10 ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

function number(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2).replace(/\.?0+$/, '');
}

/** A metric's value in words: 12.5 %, 1.2 GiB, 34/s, 3.4 s… */
export function formatMetric(value: number, unit: MetricUnit): string {
  switch (unit) {
    case 'percent':
      return `${number(value)} %`;
    case 'ratio':
      return `${number(value * 100)} %`;
    case 'bytes':
      return bytes(value);
    case 'bytes_per_second':
      return `${bytes(value)}/s`;
    case 'per_second':
      return `${number(value)}/s`;
    case 'seconds':
      return value >= 120 ? `${number(value / 60)} min` : `${number(value)} s`;
    case 'count':
      return number(value);
  }
}
