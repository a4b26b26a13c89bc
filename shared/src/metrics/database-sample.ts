import type { MetricValues } from './catalog.ts';

// What a node's collector asks PostgreSQL at each sample: one statement, run as the superuser over
// the local socket, that prints one JSON object of the server's counters and gauges. Counters are
// cumulative (since the statistics were last reset); the metrics are the rates between two samples
// (databaseMetrics). The statement reads catalog views only and takes no lock a client waits on.

/** The sample as JSON on one line: `psql -XAt -c` prints it as it is. */
export const DATABASE_SAMPLE_SQL = `
WITH activity AS (
  SELECT state, xact_start FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
), databases AS (
  SELECT sum(xact_commit + xact_rollback) AS xacts, sum(tup_fetched) AS rows_read,
         sum(tup_inserted + tup_updated + tup_deleted) AS rows_written, sum(blks_hit) AS blocks_hit,
         sum(blks_read) AS blocks_read, sum(deadlocks) AS deadlocks, sum(temp_bytes) AS temp_bytes
    FROM pg_stat_database
), lag AS (
  SELECT CASE WHEN pg_is_in_recovery()
           THEN greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)
           ELSE (SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) FROM pg_stat_replication) END AS bytes,
         CASE WHEN pg_is_in_recovery()
           THEN CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END
           ELSE (SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication) END AS seconds
)
SELECT json_build_object(
  'at', extract(epoch FROM clock_timestamp()),
  'inRecovery', pg_is_in_recovery(),
  'connectionsActive', (SELECT count(*) FROM activity WHERE state = 'active'),
  'connectionsIdle', (SELECT count(*) FROM activity WHERE state LIKE 'idle%'),
  'connectionsMax', current_setting('max_connections')::int,
  'xacts', (SELECT xacts FROM databases),
  'rowsRead', (SELECT rows_read FROM databases),
  'rowsWritten', (SELECT rows_written FROM databases),
  'blocksHit', (SELECT blocks_hit FROM databases),
  'blocksRead', (SELECT blocks_read FROM databases),
  'deadlocks', (SELECT deadlocks FROM databases),
  'tempBytes', (SELECT temp_bytes FROM databases),
  'walBytes', pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, '0/0'),
  'lagBytes', (SELECT bytes FROM lag),
  'lagSeconds', (SELECT seconds FROM lag),
  'oldestTransactionSeconds', coalesce((SELECT extract(epoch FROM clock_timestamp() - min(xact_start)) FROM activity), 0),
  'archiveAgeSeconds', (SELECT extract(epoch FROM clock_timestamp() - last_archived_time) FROM pg_stat_archiver
                         WHERE current_setting('archive_mode') <> 'off')
)`;

/** What DATABASE_SAMPLE_SQL prints, read back; counters as numbers (exact up to 2^53). */
export interface DatabaseSample {
  /** Seconds since the epoch, at the server. */
  readonly at: number;
  readonly inRecovery: boolean;
  readonly connectionsActive: number;
  readonly connectionsIdle: number;
  readonly connectionsMax: number;
  readonly xacts: number;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly blocksHit: number;
  readonly blocksRead: number;
  readonly deadlocks: number;
  readonly tempBytes: number;
  readonly walBytes: number;
  /** Undefined on a primary without replicas. */
  readonly lagBytes?: number;
  readonly lagSeconds?: number;
  readonly oldestTransactionSeconds: number;
  /** Undefined when archiving is off or nothing was archived yet. */
  readonly archiveAgeSeconds?: number;
}

const REQUIRED = [
  'at',
  'connectionsActive',
  'connectionsIdle',
  'connectionsMax',
  'xacts',
  'rowsRead',
  'rowsWritten',
  'blocksHit',
  'blocksRead',
  'deadlocks',
  'tempBytes',
  'walBytes',
  'oldestTransactionSeconds',
] as const;
const OPTIONAL = ['lagBytes', 'lagSeconds', 'archiveAgeSeconds'] as const;

/** The sample in `text` (DATABASE_SAMPLE_SQL's output); a RangeError naming the field that is not what it should be. */
export function parseDatabaseSample(text: string): DatabaseSample {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RangeError(`the sample is not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RangeError('the sample is not a JSON object');
  const raw = parsed as Record<string, unknown>;
  const number = (field: string): number => {
    const value = Number(raw[field]);
    if (raw[field] === null || raw[field] === undefined || !Number.isFinite(value) || value < 0)
      throw new RangeError(`the sample's ${field} is not a number of 0 or more (${JSON.stringify(raw[field])})`);
    return value;
  };
  if (typeof raw['inRecovery'] !== 'boolean') throw new RangeError("the sample's inRecovery is not true or false");
  const sample: Record<string, unknown> = { inRecovery: raw['inRecovery'] };
  for (const field of REQUIRED) sample[field] = number(field);
  for (const field of OPTIONAL) if (raw[field] !== null && raw[field] !== undefined) sample[field] = number(field);
  return sample as unknown as DatabaseSample;
}

/**
 * The metrics between two samples of one server: gauges from the later one, rates from the
 * difference over the time between them. A counter that went down (statistics reset, a restart)
 * gives no rate for that interval rather than a negative one.
 */
export function databaseMetrics(previous: DatabaseSample | undefined, current: DatabaseSample): MetricValues {
  const values: MetricValues = {
    connections_active: current.connectionsActive,
    connections_idle: current.connectionsIdle,
    connections_max: current.connectionsMax,
    oldest_transaction_seconds: current.oldestTransactionSeconds,
    ...(current.lagBytes === undefined ? {} : { replication_lag_bytes: current.lagBytes }),
    ...(current.lagSeconds === undefined ? {} : { replication_lag_seconds: current.lagSeconds }),
    ...(current.archiveAgeSeconds === undefined ? {} : { archive_age_seconds: current.archiveAgeSeconds }),
  };
  const seconds = previous ? current.at - previous.at : 0;
  if (!previous || seconds <= 0) return values;
  const rate = (field: 'xacts' | 'rowsRead' | 'rowsWritten' | 'deadlocks' | 'tempBytes' | 'walBytes'): number | undefined => {
    const delta = current[field] - previous[field];
    return delta < 0 ? undefined : delta / seconds;
  };
  const put = (name: keyof MetricValues, value: number | undefined) => {
    if (value !== undefined) values[name] = value;
  };
  put('transactions_per_second', rate('xacts'));
  put('rows_read_per_second', rate('rowsRead'));
  put('rows_written_per_second', rate('rowsWritten'));
  put('deadlocks_per_second', rate('deadlocks'));
  put('temp_bytes_per_second', rate('tempBytes'));
  put('wal_bytes_per_second', rate('walBytes'));
  const hit = current.blocksHit - previous.blocksHit;
  const read = current.blocksRead - previous.blocksRead;
  if (hit >= 0 && read >= 0 && hit + read > 0) values.cache_hit_ratio = hit / (hit + read);
  return values;
}
