// The metrics CloudSeed keeps of every node, the same on every cloud: what each measures and in
// which unit. A node's collector samples them (10 s on the local cloud, 60 s in a cloud); the
// metrics API answers any of them over a time range in steps.

export type MetricUnit = 'percent' | 'bytes' | 'count' | 'per_second' | 'ratio' | 'seconds' | 'bytes_per_second';

export interface MetricDefinition {
  readonly unit: MetricUnit;
  readonly description: string;
}

export const METRICS = {
  cpu_percent: { unit: 'percent', description: 'CPU the server’s processes use, of one core' },
  memory_bytes: { unit: 'bytes', description: 'Memory the server’s processes hold (resident)' },
  disk_used_bytes: { unit: 'bytes', description: 'Used space on the data directory’s file system' },
  disk_free_bytes: { unit: 'bytes', description: 'Free space on the data directory’s file system' },
  disk_iops: { unit: 'per_second', description: 'Reads and writes the server’s processes issue per second' },
  connections_active: { unit: 'count', description: 'Client sessions running a statement' },
  connections_idle: { unit: 'count', description: 'Client sessions waiting for a statement (idle in transaction included)' },
  connections_max: { unit: 'count', description: 'max_connections' },
  transactions_per_second: { unit: 'per_second', description: 'Commits and rollbacks per second' },
  rows_read_per_second: { unit: 'per_second', description: 'Rows fetched per second' },
  rows_written_per_second: { unit: 'per_second', description: 'Rows inserted, updated and deleted per second' },
  cache_hit_ratio: { unit: 'ratio', description: 'Share of block reads served from shared buffers' },
  replication_lag_bytes: { unit: 'bytes', description: 'WAL a replica has not replayed yet (the furthest behind, on a primary)' },
  replication_lag_seconds: { unit: 'seconds', description: 'How far behind a replica’s replay is in time' },
  wal_bytes_per_second: { unit: 'bytes_per_second', description: 'WAL generated per second' },
  oldest_transaction_seconds: { unit: 'seconds', description: 'Age of the oldest open transaction' },
  deadlocks_per_second: { unit: 'per_second', description: 'Deadlocks detected per second' },
  temp_bytes_per_second: { unit: 'bytes_per_second', description: 'Bytes spilled to temporary files per second' },
  archive_age_seconds: { unit: 'seconds', description: 'Time since WAL was last archived (continuous archiving)' },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

export const isMetricName = (name: string): name is MetricName => Object.hasOwn(METRICS, name);

/** One node's values at one instant; a metric the node cannot measure now (a primary's replay lag) is absent. */
export type MetricValues = Partial<Record<MetricName, number>>;
