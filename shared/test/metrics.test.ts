import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, METRICS } from '../src/metrics/catalog.ts';
import { databaseMetrics, parseDatabaseSample } from '../src/metrics/database-sample.ts';
import type { DatabaseSample } from '../src/metrics/database-sample.ts';
import { MAX_POINTS, parseMetricsQuery } from '../src/metrics/query.ts';
import { parseTopQueries, parseTopQueriesRequest, resetQueriesSql, topQueriesSql } from '../src/metrics/queries.ts';
import { seriesOf } from '../src/metrics/series.ts';

// The metrics contract every cloud shares: which metrics there are, how a request for them is
// checked, how two samples of a server become rates, and how samples become the API's series.

const NOW = new Date('2030-01-01T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;

describe('a metrics request', () => {
  it('takes names, an ISO or epoch range and a step, and starts the range on a step', () => {
    const result = parseMetricsQuery(
      { names: 'cpu_percent, connections_active,cpu_percent', from: '2030-01-01T11:00:30Z', to: String(NOW_SECONDS), step: '60' },
      NOW,
    );
    expect(result).toEqual({
      ok: true,
      query: { names: ['cpu_percent', 'connections_active'], from: NOW_SECONDS - 3600, to: NOW_SECONDS, step: 60 },
    });
    // Without a range: the last hour, in steps of a minute.
    expect(parseMetricsQuery({ names: 'cache_hit_ratio' }, NOW)).toEqual({
      ok: true,
      query: { names: ['cache_hit_ratio'], from: NOW_SECONDS - 3600, to: NOW_SECONDS, step: 60 },
    });
  });

  it('names the parameter and the reason for each problem', () => {
    const problems = (params: Record<string, string>) => {
      const result = parseMetricsQuery(params, NOW);
      return result.ok ? [] : result.errors.map((error) => `${error.path} ${error.message}`);
    };
    expect(problems({})).toEqual([expect.stringMatching(/^\?names must name one or more metrics: cpu_percent, /)]);
    expect(problems({ names: 'cpu_percent,load_average' })).toEqual([expect.stringMatching(/^\?names load_average is not a metric/)]);
    expect(problems({ names: 'cpu_percent', step: '7' })).toEqual(['?step must be one of 10, 60, 300, 900, 3600 (seconds)']);
    expect(problems({ names: 'cpu_percent', from: 'yesterday' })).toEqual(['?from must be an ISO 8601 time or seconds since the epoch']);
    expect(problems({ names: 'cpu_percent', to: '2030-13-45T99:00:00Z' })).toEqual(['?to must be an ISO 8601 time or seconds since the epoch']);
    expect(problems({ names: 'cpu_percent', from: String(NOW_SECONDS), to: String(NOW_SECONDS - 60) })).toEqual(['?from must be before to']);
    expect(problems({ names: 'cpu_percent', from: String(NOW_SECONDS - 2 * 86400) })).toEqual(['?from must be at most 24 hours before to']);
    expect(problems({ names: 'cpu_percent', from: String(NOW_SECONDS - 86400), step: '10' })).toEqual([
      `?step gives more than ${MAX_POINTS} points over this range; ask for a longer step`,
    ]);
    expect(problems({ names: METRIC_NAMES.join(',') })).toEqual(['?names may name at most 12 metrics']);
  });
});

describe('a database sample', () => {
  const sample = (at: number, changes: Partial<DatabaseSample> = {}): DatabaseSample => ({
    at,
    inRecovery: false,
    connectionsActive: 3,
    connectionsIdle: 5,
    connectionsMax: 100,
    xacts: 1000,
    rowsRead: 5000,
    rowsWritten: 2000,
    blocksHit: 9000,
    blocksRead: 1000,
    deadlocks: 0,
    tempBytes: 0,
    walBytes: 1_000_000,
    oldestTransactionSeconds: 0.5,
    ...changes,
  });

  it('reads what the collector’s statement prints, and refuses what it would not print', () => {
    const printed = JSON.stringify({ ...sample(100), xacts: '1000', lagBytes: null, archiveAgeSeconds: 12.5 });
    expect(parseDatabaseSample(printed)).toEqual({ ...sample(100), archiveAgeSeconds: 12.5 });
    expect(() => parseDatabaseSample('not json')).toThrow(/not JSON/);
    expect(() => parseDatabaseSample(JSON.stringify({ ...sample(1), xacts: null }))).toThrow(/xacts is not a number/);
    expect(() => parseDatabaseSample(JSON.stringify({ ...sample(1), inRecovery: 'f' }))).toThrow(/inRecovery/);
  });

  it('gives gauges from the later sample and rates over the time between them', () => {
    const later = sample(110, {
      xacts: 1500,
      rowsRead: 6000,
      rowsWritten: 2500,
      blocksHit: 9900,
      blocksRead: 1100,
      walBytes: 3_000_000,
      tempBytes: 10_240,
    });
    expect(databaseMetrics(sample(100), later)).toEqual({
      connections_active: 3,
      connections_idle: 5,
      connections_max: 100,
      oldest_transaction_seconds: 0.5,
      transactions_per_second: 50,
      rows_read_per_second: 100,
      rows_written_per_second: 50,
      deadlocks_per_second: 0,
      temp_bytes_per_second: 1024,
      wal_bytes_per_second: 200_000,
      cache_hit_ratio: 0.9,
    });
    // The first sample has no rates; a counter that went back (a reset) gives none for that interval.
    expect(databaseMetrics(undefined, later)).not.toHaveProperty('transactions_per_second');
    expect(databaseMetrics(sample(100), sample(110, { xacts: 10 }))).not.toHaveProperty('transactions_per_second');
    expect(databaseMetrics(sample(100), sample(110, { lagBytes: 4096, lagSeconds: 1.5 }))).toMatchObject({
      replication_lag_bytes: 4096,
      replication_lag_seconds: 1.5,
    });
  });
});

describe('series', () => {
  it('averages the samples of each step and leaves a step without samples empty', () => {
    const query = { names: ['cpu_percent', 'replication_lag_bytes'] as const, from: 600, to: 780, step: 60 };
    const samples = [
      { at: 590, values: { cpu_percent: 99 } },
      { at: 600, values: { cpu_percent: 10 } },
      { at: 630, values: { cpu_percent: 20 } },
      { at: 725, values: { cpu_percent: 40, replication_lag_bytes: 8 } },
      { at: 780, values: { cpu_percent: 99 } },
    ];
    expect(seriesOf(samples, { ...query, names: [...query.names] })).toEqual([
      {
        name: 'cpu_percent',
        unit: METRICS.cpu_percent.unit,
        points: [
          [600, 15],
          [660, null],
          [720, 40],
        ],
      },
      {
        name: 'replication_lag_bytes',
        unit: 'bytes',
        points: [
          [600, null],
          [660, null],
          [720, 8],
        ],
      },
    ]);
  });
});

describe('a top queries request', () => {
  it('takes an order and a limit, naming the parameter of each problem', () => {
    expect(parseTopQueriesRequest({})).toEqual({ ok: true, request: { order: 'total_time', limit: 20 } });
    expect(parseTopQueriesRequest({ order: 'calls', limit: '100' })).toEqual({ ok: true, request: { order: 'calls', limit: 100 } });
    const refused = parseTopQueriesRequest({ order: 'total_exec_time; DROP TABLE x', limit: '0' });
    expect(refused.ok ? [] : refused.errors.map((error) => error.path)).toEqual(['?order', '?limit']);
    expect(parseTopQueriesRequest({ limit: '2.5' }).ok).toBe(false);
  });

  it('reads the role’s statements in its database only, as that role, with names quoted', () => {
    const sql = topQueriesSql('cloudseed_stats', "o'hara", 'app', { order: 'mean_time', limit: 5 });
    expect(sql.startsWith('SET pg_stat_statements.track = \'none\';\nSET ROLE "app";\n')).toBe(true);
    expect(sql).toContain('FROM "cloudseed_stats".pg_stat_statements s');
    expect(sql).toContain("WHERE d.datname = 'o''hara' AND r.rolname = 'app'");
    expect(sql).toContain('ORDER BY s.mean_exec_time DESC, s.queryid');
    expect(sql).toContain('LIMIT 5');
    expect(resetQueriesSql('cloudseed_stats', 'app', "x'y")).toMatch(/^SELECT "cloudseed_stats"\.pg_stat_statements_reset\(.*rolname = 'x''y'/);
    expect(parseTopQueries('[]')).toEqual([]);
    expect(() => parseTopQueries('{}')).toThrow(/not a JSON array/);
  });
});
