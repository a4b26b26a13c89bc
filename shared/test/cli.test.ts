import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, runCli } from '../src/cli/run.ts';

const files: Record<string, string> = {
  'plan.json': JSON.stringify({ apiVersion: 'cs/v1', name: 'orders', components: [{ id: 'db', type: 'postgres', db: { version: '16' } }] }),
  'shorthand.json': JSON.stringify({
    os: 'linux',
    hardware: { instance_type: 't3.medium', storage: 'ssd' },
    db: { flavor: 'pg', version: '15', backup: 'needed' },
  }),
  'bad.json': JSON.stringify({
    apiVersion: 'cs/v1',
    name: 'orders',
    components: [{ id: 'db', type: 'postgres', hardware: { storage: { sizeGiB: 2 } }, db: { maxConnections: 1 } }],
  }),
  'broken.json': '{"apiVersion": "cs/v1",',
};

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    readFile: (path) => (path in files ? Promise.resolve(files[path]!) : Promise.reject(Object.assign(new Error('missing'), { code: 'ENOENT' }))),
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

describe('cloudseed tune', () => {
  it("prints pgtune's numbers for the worked example", async () => {
    const { code, stdout } = await cli('tune', '--pg', '16', '--memory', '16GB', '--cpus', '4', '--workload', 'web', '--storage', 'ssd');
    expect(code).toBe(EXIT_OK);
    const settings = stdout.split('\n').filter((line) => line.includes(' = ') && !line.startsWith('#'));
    expect(settings).toEqual([
      'max_connections = 200',
      'shared_buffers = 4GB',
      'effective_cache_size = 12GB',
      'maintenance_work_mem = 1GB',
      'checkpoint_completion_target = 0.9',
      'wal_buffers = 16MB',
      'default_statistics_target = 100',
      'random_page_cost = 1.1',
      'effective_io_concurrency = 200',
      'work_mem = 20560kB',
      'huge_pages = try',
      'jit = off',
      'wal_compression = lz4',
      'min_wal_size = 1GB',
      'max_wal_size = 4GB',
      'max_worker_processes = 4',
      'max_parallel_workers_per_gather = 2',
      'max_parallel_workers = 4',
      'max_parallel_maintenance_workers = 2',
    ]);
    expect(stdout).toContain('# DB Version: 16');
  });

  it('writes JSON with --json, values as postgresql.conf takes them', async () => {
    const { code, stdout } = await cli(
      'tune',
      '--pg',
      '13',
      '--memory',
      '2GB',
      '--connections',
      '50',
      '--workload',
      'oltp',
      '--storage',
      'hdd',
      '--json',
    );
    expect(code).toBe(EXIT_OK);
    const parsed = JSON.parse(stdout) as { settings: Record<string, string>; warnings: string[] };
    expect(parsed.settings).toMatchObject({
      max_connections: '50',
      shared_buffers: '512MB',
      effective_io_concurrency: '2',
      random_page_cost: '4',
      wal_compression: 'on',
    });
    expect(parsed.warnings).toEqual([]);
  });

  it.each([
    [['tune', '--memory', '16GB']],
    [['tune', '--pg', '12', '--memory', '16GB']],
    [['tune', '--pg', '16', '--memory', '16 zettabytes']],
    [['tune', '--pg', '16', '--memory', '16GB', '--cpus', 'four']],
    [['tune', '--pg', '16', '--memory', '16GB', '--cpus', '0']],
    [['tune', '--pg', '16', '--memory', '16GB', '--workload', 'batch']],
    [['tune', '--pg', '16', '--memory', '16GB', '--storage', 'tape']],
    [['tune', '--pg', '16', '--memory', '16GB', '--bogus']],
    [['tune', '--pg']],
    [['frobnicate']],
    [[]],
    [['validate']],
    [['validate', 'a.json', 'b.json']],
    [['render', 'plan.json', '--target', 'gcp']],
    [['render', 'plan.json', '--plan-id', 'Not Valid!']],
  ])('answers %j with a usage message and exit 2', async (argv) => {
    const { code, stderr, stdout } = await cli(...argv);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toMatch(/^cloudseed: .+\n\nUsage: cloudseed <command>/);
    expect(stdout).toBe('');
  });
});

describe('cloudseed validate', () => {
  it('accepts a valid plan and the original shorthand', async () => {
    expect(await cli('validate', 'plan.json')).toEqual({
      code: EXIT_OK,
      stdout: 'plan.json: valid cs/v1 plan "orders" with 1 component\n',
      stderr: '',
    });
    expect((await cli('validate', 'shorthand.json')).code).toBe(EXIT_OK);
  });

  it('exits 1 listing every problem with its path', async () => {
    const { code, stderr } = await cli('validate', 'bad.json');
    expect(code).toBe(EXIT_INVALID);
    expect(stderr).toBe(
      'bad.json: 2 problems\n' +
        '  /components/0/hardware/storage/sizeGiB: Too small: expected number to be >=8\n' +
        '  /components/0/db/maxConnections: Too small: expected number to be >=5\n',
    );
  });

  it('exits 1 for a file that is not JSON and 2 for one that cannot be read', async () => {
    const broken = await cli('validate', 'broken.json');
    expect(broken.code).toBe(EXIT_INVALID);
    expect(broken.stderr).toMatch(/^broken\.json: 1 problem\n {2}\/: is not valid JSON/);
    const missing = await cli('validate', 'missing.json');
    expect(missing.code).toBe(EXIT_USAGE);
    expect(missing.stderr).toMatch(/^cloudseed: cannot read missing\.json: ENOENT/);
  });
});

describe('cloudseed render', () => {
  it('prints aws-json for --target aws', async () => {
    const { code, stdout } = await cli('render', 'plan.json', '--target', 'aws', '--plan-id', 'orders-1');
    expect(code).toBe(EXIT_OK);
    const document = JSON.parse(stdout) as {
      apiVersion: string;
      planId: string;
      components: { runInstances: { MetadataOptions: { HttpTokens: string } } }[];
    };
    expect(document.apiVersion).toBe('cs-aws/v1');
    expect(document.planId).toBe('orders-1');
    expect(document.components[0]!.runInstances.MetadataOptions.HttpTokens).toBe('required');
  });

  it("prints the local document for the plan's own local target, identically each time", async () => {
    const first = await cli('render', 'plan.json');
    expect(JSON.parse(first.stdout)).toMatchObject({ apiVersion: 'cs-local/v1', planId: 'preview' });
    expect((await cli('render', 'plan.json')).stdout).toBe(first.stdout);
  });

  it('renders the shorthand for AWS', async () => {
    const { code, stdout } = await cli('render', 'shorthand.json', '--target', 'aws');
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout)).toMatchObject({ apiVersion: 'cs-aws/v1', components: [{ instanceType: 't3.medium' }] });
  });

  it('refuses an invalid plan with exit 1', async () => {
    expect((await cli('render', 'bad.json', '--target', 'aws')).code).toBe(EXIT_INVALID);
  });
});

describe('the installed cloudseed command', () => {
  it('runs through npx on Node 24 and reads plans from files', () => {
    const directory = mkdtempSync(join(tmpdir(), 'cloudseed-cli-'));
    const file = join(directory, 'plan.json');
    writeFileSync(file, files['plan.json']!);
    const result = spawnSync('npx', ['--no-install', 'cloudseed', 'validate', file], { encoding: 'utf8' });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.stdout).toBe(`${file}: valid cs/v1 plan "orders" with 1 component\n`);
    expect(result.status).toBe(EXIT_OK);
    const usage = spawnSync('npx', ['--no-install', 'cloudseed', 'tune', '--pg', '99', '--memory', '1GB'], { encoding: 'utf8' });
    expect(usage.status).toBe(EXIT_USAGE);
  });
});
