import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { METRIC_NAMES, METRICS } from '@cloudseed/shared/metrics/catalog';
import { DATABASE_SAMPLE_SQL } from '@cloudseed/shared/metrics/database-sample';
import { METRICS_NAMESPACE } from '@cloudseed/shared/targets/aws/scripts';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/node-scripts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_BIN, startScratchPostgres } from './support/cloud-fakes.ts';
import type { ScratchPostgres } from './support/cloud-fakes.ts';

// The collector a cloud node runs every minute (sh/collect-metrics.py), run here as postgres against
// a real PostgreSQL 15 server with a stand-in for the AWS CLI that keeps each request: what it
// publishes at its first run (gauges) and its next (rates too, moved by pgbench), in CloudSeed's
// namespace, with the instance as the dimension and CloudWatch's units for the catalog's.

const execFileAsync = promisify(execFile);
const COLLECTOR = fileURLToPath(new URL('collect-metrics.py', SCRIPT_FOLDER));

interface Datum {
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Timestamp: number;
  Value: number;
  Unit: string;
}
interface Request {
  args: string;
  body: { Namespace: string; MetricData: Datum[] };
}

let pg: ScratchPostgres;
let work: string;

beforeAll(async () => {
  pg = await startScratchPostgres();
  work = await mkdtemp(join(tmpdir(), 'cs-collector-'));
  // The AWS CLI's stand-in: keeps its arguments and the request file it was given.
  await writeFile(
    join(work, 'aws'),
    `#!/bin/sh\nn=$(ls "${work}/requests" | wc -l)\nprintf '%s\\n' "$*" > "${work}/requests/$n.args"\nfile=$(printf '%s' "$*" | sed 's|.*file://||')\ncp "$file" "${work}/requests/$n.json"\n`,
  );
  await chmod(join(work, 'aws'), 0o755);
  await execFileAsync('mkdir', ['-p', join(work, 'requests')]);
  await writeFile(
    join(work, 'metrics.json'),
    JSON.stringify({
      region: 'eu-west-1',
      namespace: METRICS_NAMESPACE,
      psql: join(PG_BIN, 'psql'),
      dataDir: pg.dir,
      sampleSql: DATABASE_SAMPLE_SQL,
    }),
  );
  await execFileAsync('chown', ['-R', 'postgres:postgres', work]);
  await chmod(work, 0o755);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function collect(): Promise<Request> {
  await execFileAsync('runuser', ['-u', 'postgres', '--', 'python3', COLLECTOR], {
    cwd: '/',
    env: {
      ...process.env,
      PGHOST: pg.dir,
      PGPORT: String(pg.port),
      CLOUDSEED_METRICS_CONFIG: join(work, 'metrics.json'),
      CLOUDSEED_METRICS_STATE: join(work, 'state', 'metrics-state.json'),
      CLOUDSEED_INSTANCE_ID: 'i-0123456789abcdef0',
      CLOUDSEED_AWS: join(work, 'aws'),
    },
  });
  const names = (await readdir(join(work, 'requests'))).filter((name) => name.endsWith('.json')).sort((a, b) => parseInt(a) - parseInt(b));
  const last = names.at(-1)!.replace('.json', '');
  return {
    args: (await readFile(join(work, 'requests', `${last}.args`), 'utf8')).trim(),
    body: JSON.parse(await readFile(join(work, 'requests', `${last}.json`), 'utf8')) as Request['body'],
  };
}

const valueOf = (request: Request, name: string) => request.body.MetricData.find((datum) => datum.MetricName === name)?.Value;

describe('the node’s metrics collector', () => {
  it('publishes the gauges at its first run, then the rates too, moved by load', async () => {
    const first = await collect();
    expect(first.args).toMatch(/^cloudwatch put-metric-data --region eu-west-1 --cli-input-json file:\/\/\S+\.json$/);
    expect(first.body.Namespace).toBe(METRICS_NAMESPACE);
    expect(valueOf(first, 'connections_max')).toBe(100);
    expect(valueOf(first, 'disk_free_bytes')).toBeGreaterThan(0);
    expect(valueOf(first, 'memory_bytes')).toBeGreaterThan(0);
    // Rates need two samples.
    expect(valueOf(first, 'transactions_per_second')).toBeUndefined();
    expect(valueOf(first, 'cpu_percent')).toBeUndefined();

    await execFileAsync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pgbench`, '-h', pg.dir, '-p', String(pg.port), '-i', '-s', '1', '-q', 'app'], {
      cwd: '/',
    });
    await execFileAsync(
      'runuser',
      ['-u', 'postgres', '--', `${PG_BIN}/pgbench`, '-h', pg.dir, '-p', String(pg.port), '-c', '2', '-T', '2', '-n', 'app'],
      {
        cwd: '/',
      },
    );
    const second = await collect();
    expect(valueOf(second, 'transactions_per_second')).toBeGreaterThan(10);
    expect(valueOf(second, 'wal_bytes_per_second')).toBeGreaterThan(1000);
    expect(valueOf(second, 'cache_hit_ratio')).toBeGreaterThan(0.5);
    expect(valueOf(second, 'cpu_percent')).toBeGreaterThanOrEqual(0);
    expect(valueOf(second, 'cpu_percent')).toBeLessThanOrEqual(100);
    expect(valueOf(second, 'disk_iops')).toBeGreaterThanOrEqual(0);
    for (const datum of second.body.MetricData) {
      expect(datum.Dimensions).toEqual([{ Name: 'InstanceId', Value: 'i-0123456789abcdef0' }]);
      expect(Math.abs(datum.Timestamp - Date.now() / 1000)).toBeLessThan(60);
    }
  }, 60_000);

  it('names only the catalog’s metrics, each in CloudWatch’s unit for the catalog’s', async () => {
    const text = await readFile(COLLECTOR, 'utf8');
    const catalog: Record<string, string | undefined> = Object.fromEntries(
      [...text.matchAll(/^ {4}"([a-z_]+)": "([a-z_]+)",$/gm)].map((match): [string, string] => [match[1] ?? '', match[2] ?? '']),
    );
    const units: Record<string, string> = {
      percent: 'Percent',
      bytes: 'Bytes',
      count: 'Count',
      per_second: 'Count/Second',
      ratio: 'None',
      seconds: 'Seconds',
      bytes_per_second: 'Bytes/Second',
    };
    for (const name of METRIC_NAMES) expect(catalog[name], name).toBe(METRICS[name].unit);
    const published = (await collect()).body.MetricData;
    for (const datum of published) expect(datum.Unit, datum.MetricName).toBe(units[METRICS[datum.MetricName as keyof typeof METRICS].unit]);
  }, 60_000);
});
