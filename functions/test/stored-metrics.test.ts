import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { MetricsQuery } from '@cloudseed/shared/metrics/query';
import { METRICS_RETENTION_HOURS } from '@cloudseed/shared/targets/aws/scripts';
import { renderAzureComponent } from '@cloudseed/shared/targets/azure/azure-json';
import { renderGcpComponent } from '@cloudseed/shared/targets/gcp/index';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/node-scripts';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplesOf } from '../providers/node-backups/stored-metrics.ts';
import type { NodeRef, ProviderMetrics } from '../providers/provider.ts';
import {
  azureProvider,
  azureTarget,
  blobStorage,
  REGION as AZURE_REGION,
  RESOURCE_GROUP,
  seededArm,
  SUBSCRIPTION_ID,
} from './support/azure-fixtures.ts';
import { lintRendered, nodeTools, PG_BIN, startAzureFake, startGcpFake, startScratchPostgres } from './support/cloud-fakes.ts';
import type { AzureFake, GcpFake, ScratchPostgres, StoredObject } from './support/cloud-fakes.ts';
import { fakeProject, gcpProvider, gcpTarget, PROJECT, REGION, ZONE } from './support/gcp-project.ts';

// Metrics where the cloud has no metrics service CloudSeed may write to (GCP, Azure), end to end:
// the metrics script configure installs on a node (rendered from the plan, run as postgres against a
// real PostgreSQL 15 server and loopback fakes of the metadata service and object storage) stores
// each hour of samples beside the component's backups; the provider reads them back as the metrics
// API answers them, an hour without a file as a gap.

const execFileAsync = promisify(execFile);
const COLLECTOR = fileURLToPath(new URL('collect-metrics.py', SCRIPT_FOLDER));
const HOUR = 3600;

let pg: ScratchPostgres;
let work: string;
let tools: string;
let gcp: GcpFake;
let azure: AzureFake;

beforeAll(async () => {
  pg = await startScratchPostgres();
  work = await mkdtemp(join(tmpdir(), 'cs-stored-metrics-'));
  await chmod(work, 0o755);
  const curlLog = join(work, 'curl-argv.log');
  tools = await nodeTools(join(work, 'bin'), curlLog);
  await writeFile(curlLog, '');
  await chmod(curlLog, 0o666);
  [gcp, azure] = await Promise.all([startGcpFake(), startAzureFake()]);
  // Load for the rates to move: pgbench's tables in the server's database.
  await execFileAsync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pgbench`, '-h', pg.dir, '-p', String(pg.port), '-i', '-s', '1', '-q', 'app'], {
    cwd: '/',
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), gcp?.close(), azure?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** A value of the header of a rendered script (`NAME='…'`). */
function headerValue(script: string, name: string): string {
  const line = script.split('\n').find((entry) => entry.startsWith(`${name}='`));
  if (!line) throw new Error(`the script sets no ${name}`);
  return line.slice(name.length + 2, -1).replaceAll(`'\\''`, `'`);
}

interface Node {
  readonly dir: string;
  readonly metricsDir: string;
  readonly publisher: string;
  readonly header: string;
  readonly config: Record<string, unknown>;
}

/**
 * The node's side of a configure script: its metrics script and the collector's settings as
 * configure installs them, with the node's paths (the collector, its hour files) moved into a
 * scratch directory and the server this machine runs.
 */
async function nodeOf(name: string, configure: string): Promise<Node> {
  const dir = join(work, name);
  const metricsDir = join(dir, 'metrics');
  await mkdir(metricsDir, { recursive: true });
  const publisher = Buffer.from(headerValue(configure, 'METRICS_PUBLISHER_BASE64'), 'base64').toString('utf8');
  const config = JSON.parse(Buffer.from(headerValue(configure, 'METRICS_CONFIG_BASE64'), 'base64').toString('utf8')) as Record<string, unknown>;
  const moved = publisher
    .replace(/^METRICS_COLLECTOR='[^']*'$/m, `METRICS_COLLECTOR='${COLLECTOR}'`)
    .replace(/^METRICS_DIR='[^']*'$/m, `METRICS_DIR='${metricsDir}'`);
  await writeFile(join(dir, 'publish-metrics.sh'), moved);
  await writeFile(join(dir, 'metrics.json'), JSON.stringify({ ...config, psql: join(PG_BIN, 'psql'), dataDir: pg.dir, dir: metricsDir }));
  await execFileAsync('chown', ['-R', 'postgres:postgres', dir]);
  return { dir, metricsDir, publisher, header: publisher.slice(0, publisher.indexOf('\n\n')), config };
}

/** One run of the metrics timer: the script as postgres, with the fake's endpoints and a node's tools. */
async function publish(node: Node, env: Readonly<Record<string, string>>): Promise<void> {
  await execFileAsync('runuser', ['-u', 'postgres', '--', 'bash', join(node.dir, 'publish-metrics.sh')], {
    cwd: '/',
    env: {
      ...process.env,
      ...env,
      PATH: `${tools}:${process.env['PATH'] ?? ''}`,
      PGHOST: pg.dir,
      PGPORT: String(pg.port),
      CLOUDSEED_METRICS_CONFIG: join(node.dir, 'metrics.json'),
      CLOUDSEED_METRICS_STATE: join(node.dir, 'state.json'),
    },
  });
}

async function load(): Promise<void> {
  await execFileAsync(
    'runuser',
    ['-u', 'postgres', '--', `${PG_BIN}/pgbench`, '-h', pg.dir, '-p', String(pg.port), '-c', '2', '-T', '2', '-n', 'app'],
    { cwd: '/' },
  );
}

/** An hour file of three days ago and one of two hours ago, on the node and in storage. */
async function oldHours(node: Node, objects: Map<string, StoredObject>, keyOf: (hour: string) => string): Promise<void> {
  for (const [hour, hoursAgo] of [
    ['2030-01-01T00', 72],
    ['2030-01-03T22', 2],
  ] as const) {
    const file = join(node.metricsDir, `${hour}.jsonl`);
    await writeFile(file, '{"at":1893456000,"values":{"connections_max":100}}\n');
    const when = new Date(Date.now() - hoursAgo * HOUR * 1000);
    await utimes(file, when, when);
    objects.set(keyOf(`${hour}.jsonl`), { body: Buffer.from('{}\n'), contentType: 'application/x-ndjson' });
  }
}

const pointAt = (answer: ProviderMetrics, name: string, at: number): number | null | undefined => {
  const series = answer.nodes[0]?.series.find((entry) => entry.name === name);
  return series?.points.find(([start]) => start <= at && at < start + answer.step)?.[1];
};

const hourOf = (at: number): string => new Date(at * 1000).toISOString().slice(0, 13);

/** The hours a query touches, as the provider reads them. */
function hoursOf(query: MetricsQuery): string[] {
  const hours: string[] = [];
  for (let hour = Math.floor(query.from / HOUR) * HOUR; hour < query.to; hour += HOUR) hours.push(hourOf(hour));
  return hours;
}

/**
 * The two samples a node stored: the first run's (gauges only) and the second's, after load (rates
 * too); usually in one hour's file, in two when the runs straddle an hour. Each file is named for
 * the UTC hour of its samples, and stored as newline-delimited JSON.
 */
function storedSamples(objects: Map<string, StoredObject>, folder: string) {
  const files = [...objects.entries()].filter(([key]) => key.startsWith(folder) && !key.includes('/2030-'));
  const samples = files.flatMap(([key, object]) => {
    const inFile = samplesOf(object.body.toString('utf8'));
    for (const sample of inFile) expect(key).toBe(`${folder}${hourOf(sample.at)}.jsonl`);
    expect(object.contentType).toBe('application/x-ndjson');
    return inFile;
  });
  samples.sort((a, b) => a.at - b.at);
  expect(samples).toHaveLength(2);
  return { samples, hours: [...new Set(samples.map((sample) => hourOf(sample.at)))] };
}

function queryAround(at: number): MetricsQuery {
  // From the hour before the samples' (no file: a gap), to a minute after them, asked in 10-s steps.
  return { names: ['connections_max', 'transactions_per_second'], from: Math.floor(at / HOUR) * HOUR - HOUR, to: at + 60, step: 10 };
}

describe('metrics stored beside the backups', () => {
  it('on GCP: the node stores each hour of samples under its instance name, and the provider reads them back in minutes', async () => {
    const target = gcpTarget();
    const document = renderGcpComponent(target.component, {
      planId: target.planId,
      planName: 'orders',
      project: PROJECT,
      region: REGION,
      zone: ZONE,
    });
    const node = await nodeOf('gcp', document.scripts.configure);
    const { name: bucket, prefix } = document.backup.bucket;
    const folder = `${bucket}/${prefix}metrics/${gcp.instanceName}/`;
    expect(node.config).toMatchObject({ sink: 'hourly', dir: '/var/lib/cloudseed/metrics' });
    expect(node.header).toContain(`BUCKET='${bucket}'`);
    expect(node.header).toContain(`METRICS_RETENTION_HOURS='${METRICS_RETENTION_HOURS}'`);
    expect(lintRendered(node.publisher)).toEqual([]);
    await oldHours(node, gcp.objects, (file) => `${folder}${file}`);

    await publish(node, gcp.env);
    await load();
    await publish(node, gcp.env);

    const { samples, hours } = storedSamples(gcp.objects, folder);
    expect(samples[0]!.values.connections_max).toBe(100);
    expect(samples[0]!.values.transactions_per_second).toBeUndefined();
    expect(samples[1]!.values.transactions_per_second).toBeGreaterThan(10);
    // Past the retention: gone from the node and from storage; within it: kept.
    expect((await readdir(node.metricsDir)).sort()).toEqual(['2030-01-03T22.jsonl', ...hours.map((hour) => `${hour}.jsonl`)].sort());
    expect(gcp.objects.has(`${folder}2030-01-01T00.jsonl`)).toBe(false);
    expect(gcp.objects.has(`${folder}2030-01-03T22.jsonl`)).toBe(true);
    // Every write went with the instance's own token.
    expect(
      gcp.requests
        .filter((request) => request.method === 'PUT' && request.path.includes('/storage/'))
        .every((request) => request.bearer === 'default'),
    ).toBe(true);

    // The provider, with the customer's connection, reads the object the node stored.
    const project = fakeProject();
    for (const [key, object] of gcp.objects) project.objects.set(`gs://${key}`, object.body.toString('utf8'));
    const ref: NodeRef = { name: 'db-0', role: 'primary', nodeId: gcp.instanceName, host: '10.0.0.2', port: 5432 };
    const query = queryAround(samples[1]!.at);
    const answer = await gcpProvider(project).metrics(target, [ref], query);

    expect(answer.step).toBe(60);
    expect(answer.from).toBe(query.from);
    expect(answer.nodes.map((entry) => entry.name)).toEqual(['db-0']);
    expect(pointAt(answer, 'connections_max', samples[0]!.at)).toBe(100);
    expect(pointAt(answer, 'transactions_per_second', samples[1]!.at)).toBeGreaterThan(10);
    expect(pointAt(answer, 'connections_max', query.from)).toBeNull();
    expect(answer.nodes[0]!.series[0]!.points).toHaveLength(Math.ceil((query.to - query.from) / 60));
    expect(project.requestsOf('storage.objects.get')).toEqual(
      hoursOf(query).map((hour) => ({ bucket, key: `${prefix}metrics/${gcp.instanceName}/${hour}.jsonl` })),
    );
  }, 60_000);

  it('on Azure: the VM stores its samples under its name in the backup container, and the provider reads them through Blob Storage', async () => {
    const target = azureTarget('7d1c2a4e-5b6f-4c3d-9e8f-0a1b2c3d4e60');
    const document = renderAzureComponent(target.component, {
      planId: target.planId,
      planName: target.planName,
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: RESOURCE_GROUP,
      region: AZURE_REGION,
    });
    const node = await nodeOf('azure', document.scripts.configure);
    const { container, prefix, storageAccount } = document.backup;
    const folder = `${container}/${prefix}metrics/${azure.vmName}/`;
    expect(node.header).toContain(`STORAGE_ACCOUNT='${storageAccount.name}'`);
    expect(node.header).toContain(`BUCKET='${container}'`);
    expect(lintRendered(node.publisher)).toEqual([]);
    await oldHours(node, azure.objects, (file) => `${folder}${file}`);

    await publish(node, azure.env);
    await load();
    await publish(node, azure.env);

    const { samples } = storedSamples(azure.objects, folder);
    expect(samples[1]!.values.transactions_per_second).toBeGreaterThan(10);
    expect(azure.objects.has(`${folder}2030-01-01T00.jsonl`)).toBe(false);
    expect(azure.objects.has(`${folder}2030-01-03T22.jsonl`)).toBe(true);

    // The provider reads the blobs with the customer's connection; the VM's id ends in its name.
    const blobHost = `https://${storageAccount.name}.blob.core.windows.net`;
    const read: string[] = [];
    nock.disableNetConnect();
    try {
      // The container's blobs as the node stored them, keyed by their path in it.
      const stored = new Map([...azure.objects].map(([path, object]): [string, Buffer] => [path.slice(container.length + 1), object.body]));
      blobStorage(blobHost, container, stored, read);
      const vmId = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/${azure.vmName}`;
      const ref: NodeRef = { name: 'db-0', role: 'primary', nodeId: vmId, host: '10.20.1.4', port: 5432 };
      const query = queryAround(samples[1]!.at);
      const answer = await azureProvider(seededArm()).metrics(target, [ref], query);

      expect(answer.step).toBe(60);
      expect(pointAt(answer, 'connections_max', samples[0]!.at)).toBe(100);
      expect(pointAt(answer, 'transactions_per_second', samples[1]!.at)).toBe(samples[1]!.values.transactions_per_second);
      expect(pointAt(answer, 'connections_max', query.from)).toBeNull();
      // Every hour's properties are asked for; only an hour with a blob is downloaded.
      expect(read.filter((entry) => entry.startsWith('GET '))).toEqual(
        hoursOf(query)
          .filter((hour) => azure.objects.has(`${folder}${hour}.jsonl`))
          .map((hour) => `GET ${prefix}metrics/${azure.vmName}/${hour}.jsonl`),
      );
      expect(read.filter((entry) => entry.startsWith('HEAD '))).toEqual(
        hoursOf(query).map((hour) => `HEAD ${prefix}metrics/${azure.vmName}/${hour}.jsonl`),
      );
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  }, 60_000);
});

describe('an hour file as the provider reads it', () => {
  it('keeps the samples and passes over lines that are not one, and values that are not a catalogued number', () => {
    const file = [
      '{"at":1893456000,"values":{"connections_max":100,"cpu_percent":12.5}}',
      '{"at":1893456060,"values":{"connections_max":"100","made_up":3,"cpu_percent":14}}',
      '{"at":"soon","values":{}}',
      '{"at":1893456120,"val',
      '',
      'null',
    ].join('\n');
    expect(samplesOf(file)).toEqual([
      { at: 1893456000, values: { connections_max: 100, cpu_percent: 12.5 } },
      { at: 1893456060, values: { cpu_percent: 14 } },
    ]);
    expect(samplesOf(undefined)).toEqual([]);
  });
});
