import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptFile } from '@cloudseed/shared/targets/node-scripts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backupManifest, restoredFingerprints, resultOf, validationOutcome } from '../providers/node-backups/backup-results.ts';
import { backupScript, RESULT_MARKER, restoreScript, validateScript } from '../providers/node-backups/backup-scripts.ts';
import type { BackupScriptInput } from '../providers/node-backups/backup-scripts.ts';
import { archiveScripts } from './support/cloud-fakes.ts';
import { compareFingerprints } from '../providers/fingerprints.ts';
import {
  AZURE_STORAGE_RESOURCE,
  AZURE_VAULT_RESOURCE,
  lintRendered,
  nodeTools,
  PG_BIN,
  runBash,
  startAzureFake,
  startScratchPostgres,
} from './support/cloud-fakes.ts';
import type { AzureFake, Run, ScratchPostgres } from './support/cloud-fakes.ts';

// The Azure prelude (shared/src/targets/sh/prelude-azure.sh): each function against loopback fakes of
// IMDS, Key Vault and Blob Storage, then the shared backup scripts with it against a real PostgreSQL 15
// server on this machine, as root like Run Command runs them.

const PRELUDE = scriptFile('prelude-azure.sh');
const CONTAINER = 'backups';

let fake: AzureFake;
let dir: string;
let spoolDir: string;
let curlLog: string;
let toolsDir: string;

beforeAll(async () => {
  fake = await startAzureFake();
  dir = await mkdtemp(join(tmpdir(), 'cs-azure-'));
  spoolDir = join(dir, 'tmp');
  await mkdir(spoolDir);
  curlLog = join(dir, 'curl-argv.log');
  toolsDir = await nodeTools(join(dir, 'bin'), curlLog);
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a node would have: the fake's endpoints, its tools, the header values (STORAGE_ACCOUNT and VAULT only name the real endpoints). */
const nodeEnv = (env: Record<string, string> = {}): Record<string, string> => ({
  ...fake.env,
  PATH: `${toolsDir}:${process.env['PATH'] ?? ''}`,
  TMPDIR: spoolDir,
  VAULT: 'cs-vault-test',
  STORAGE_ACCOUNT: 'cstest',
  ...env,
});

/** Runs `snippet` after the prelude, with errexit and the header values a script would have. */
function withPrelude(snippet: string, env: Record<string, string> = {}): Promise<Run> {
  return runBash(
    ['-c', `set -euo pipefail\nshopt -s inherit_errexit\n${PRELUDE}\n${snippet}`],
    nodeEnv({ BUCKET: CONTAINER, RESULT_MARKER, ARCHIVE_BUCKET: 'archive', ...env }),
  );
}

const tokenOf = (resource: string): string => fake.tokens.get(resource) ?? '';

describe('the Azure prelude', () => {
  beforeEach(async () => {
    fake.requests.length = 0;
    await writeFile(curlLog, '');
  });

  it('is shellcheck-clean on its own', () => {
    const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: PRELUDE, encoding: 'utf8' });

    expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('defines functions only: sourcing it runs nothing', async () => {
    const result = await withPrelude('declare -F | cut -d " " -f 3');

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual(
      expect.arrayContaining(['read_secret', 'object_url', 'object_put', 'object_get', 'object_remove', 'report_status', 'private_ipv4']),
    );
    expect(fake.requests).toEqual([]);
    expect(PRELUDE.split('\n').filter((line) => /^[^\s#})]/.test(line) && !/^[a-z_0-9]+\(\) [{(]/.test(line))).toEqual([]);
  });

  it('hands a token to curl only through a process substitution, never as an argument', () => {
    const lines = PRELUDE.split('\n').filter((line) => !/^\s*#/.test(line));
    const uses = lines.filter((line) => /Authorization|\$token|\$\{token/.test(line));

    expect(uses).toEqual([`  curl -H @<(printf 'Authorization: Bearer %s\\n' "$token") "$@"`]);
  });

  it("reads a secret exactly as stored, by the name Key Vault takes, with the vault's token kept off every command line", async () => {
    const value = `it's a "quoted" value with  spaces and $HOME\n`;
    fake.secrets.set('cloudseed-p-1-db-password', value);

    const result = await withPrelude('read_secret /cloudseed/p-1/db/password');

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Byte for byte, the trailing newline included: a caller's $(read_secret …) drops it, like any command substitution.
    expect(result.stdout).toBe(value);
    expect(fake.requests.find((request) => request.path.startsWith('/vault/'))).toMatchObject({
      method: 'GET',
      path: '/vault/secrets/cloudseed-p-1-db-password?api-version=7.4',
      bearer: AZURE_VAULT_RESOURCE,
    });
    expect(fake.requests.find((request) => request.path.startsWith('/metadata/identity/'))?.headers['metadata']).toBe('true');
    const argv = await readFile(curlLog, 'utf8');
    expect(argv).toContain('/vault/secrets/cloudseed-p-1-db-password');
    expect(argv).not.toContain(tokenOf(AZURE_VAULT_RESOURCE));
    expect(result.stdout + result.stderr).not.toContain(tokenOf(AZURE_VAULT_RESOURCE));
  });

  it('fails with one line naming a missing secret, printing nothing else', async () => {
    const result = await withPrelude('read_secret /cloudseed/p-1/db/missing');

    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('cloudseed: could not read secret cloudseed-p-1-db-missing from Key Vault (HTTP 404)\n');
  });

  it('stores a stream that fits one block with one Put Blob of stated length, and reads it back byte for byte', async () => {
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(dir, 'payload'), payload);
    const key = `plans/p-1/db/it's a "key".dump`;

    const put = await withPrelude('object_put "$(object_url "$KEY")" application/octet-stream --expected-size 99 <"$DIR/payload"', {
      KEY: key,
      DIR: dir,
    });
    const get = await withPrelude('object_get "$(object_url "$KEY")" >"$DIR/fetched"', { KEY: key, DIR: dir });

    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect((await readFile(join(dir, 'fetched'))).equals(payload)).toBe(true);
    expect(fake.objects.get(`${CONTAINER}/${key}`)?.contentType).toBe('application/octet-stream');
    const writes = fake.requests.filter((request) => request.method === 'PUT');
    expect(writes).toEqual([
      expect.objectContaining({
        path: `/blob/${CONTAINER}/plans/p-1/db/it%27s%20a%20%22key%22.dump`,
        bearer: AZURE_STORAGE_RESOURCE,
        headers: expect.objectContaining({
          'content-length': String(payload.length),
          'x-ms-blob-type': 'BlockBlob',
          'x-ms-version': '2023-11-03',
        }) as unknown,
      }),
    ]);
    expect(writes[0]?.headers['transfer-encoding']).toBeUndefined();
    expect(await readdir(spoolDir)).toEqual([]);
    const argv = await readFile(curlLog, 'utf8');
    expect(argv).not.toContain(tokenOf(AZURE_STORAGE_RESOURCE));
  });

  it('stores a longer stream as blocks committed by a block list, spooling one block at a time', async () => {
    const payload = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(join(dir, 'payload'), payload);
    const key = 'plans/p-1/db/blocks.dump';

    const put = await withPrelude('object_put "$(object_url "$KEY")" application/octet-stream <"$DIR/payload"', {
      KEY: key,
      DIR: dir,
      CLOUDSEED_AZURE_BLOCK_BYTES: String(1024 * 1024),
    });

    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(fake.objects.get(`${CONTAINER}/${key}`)?.body.equals(payload)).toBe(true);
    expect(fake.objects.get(`${CONTAINER}/${key}`)?.contentType).toBe('application/octet-stream');
    const writes = fake.requests.filter((request) => request.method === 'PUT');
    expect(writes.map((request) => [new URL(request.path, 'http://x').searchParams.get('comp'), request.bodyBytes])).toEqual([
      ['block', 1024 * 1024],
      ['block', 1024 * 1024],
      ['block', 1024 * 1024],
      ['block', 5],
      ['blocklist', expect.any(Number) as unknown],
    ]);
    expect(writes.every((request) => request.bearer === AZURE_STORAGE_RESOURCE && request.headers['transfer-encoding'] === undefined)).toBe(true);
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('stores an empty stream as an empty blob', async () => {
    const put = await withPrelude('object_put "$(object_url empty.json)" application/json </dev/null');

    expect(put.code).toBe(0);
    expect(fake.objects.get(`${CONTAINER}/empty.json`)).toEqual({ body: Buffer.alloc(0), contentType: 'application/json' });
  });

  it('removes a blob, after which reading it fails; removing it again is no error', async () => {
    const key = 'plans/p-1/db/gone.dump';
    fake.objects.set(`${CONTAINER}/${key}`, { body: Buffer.from('dump'), contentType: 'application/octet-stream' });

    const removed = await withPrelude('object_remove "$(object_url "$KEY")"', { KEY: key });
    const read = await withPrelude('object_get "$(object_url "$KEY")"', { KEY: key });
    const again = await withPrelude('object_remove "$(object_url "$KEY")"', { KEY: key });

    expect(removed.code).toBe(0);
    expect(fake.objects.has(`${CONTAINER}/${key}`)).toBe(false);
    expect(read.code).not.toBe(0);
    expect(read.stdout).toBe('');
    expect(read.stderr).toContain('404');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  it("prints the machine's private address from IMDS, its DNS name, and the header's container and ranges", async () => {
    const fqdn = spawnSync('hostname', ['-f'], { encoding: 'utf8' }).stdout;

    const result = await withPrelude(
      // A header assigns arrays, which no environment carries.
      'NETWORK_RANGES=(10.20.0.0/16); private_ipv4; echo "|$(public_ipv4)|"; node_host_names; archive_bucket; echo; network_ranges; install_cloud_tools; echo done',
    );

    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${fake.ip}||\n${fqdn}archive\n10.20.0.0/16\ndone\n`);
  });

  it('fails when IMDS gives no private address', async () => {
    const result = await withPrelude('private_ipv4', { CLOUDSEED_AZURE_IMDS_URL: `${fake.env['CLOUDSEED_AZURE_IMDS_URL']!}/nowhere` });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('the instance metadata service gave no private IPv4 address\n');
  });

  it('reports the result as the one line on fd 3', async () => {
    const result = await withPrelude('report_status \'{"status":"restored"}\' 3>&1 1>/dev/null');

    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${RESULT_MARKER} {"status":"restored"}\n`);
  });

  it('stores a result longer than Run Command keeps as the blob the provider named, and points to it', async () => {
    const long = JSON.stringify({ status: 'restored', verify: 'x'.repeat(5000) });
    const key = 'plans/p-1/db/results/archive-validation-1893456000000.json';
    const result = await withPrelude('report_status "$RESULT" 3>&1 1>/dev/null', { RESULT: long, CLOUDSEED_RESULT_KEY: key });

    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${RESULT_MARKER} {"resultKey":"${key}"}\n`);
    expect(fake.objects.get(`${CONTAINER}/${key}`)?.body.toString('utf8')).toBe(long);
    // Without a key to store it as, the line carries it whole; a key that is not one is refused.
    expect((await withPrelude('report_status "$RESULT" 3>&1 1>/dev/null', { RESULT: long })).stdout).toBe(`${RESULT_MARKER} ${long}\n`);
    const refused = await withPrelude('report_status "$RESULT" 3>&1 1>/dev/null', { RESULT: long, CLOUDSEED_RESULT_KEY: 'a b' });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
  });
});

// --- the backup scripts, with this prelude, on a real server ----------------------------------------

describe('the backup scripts with the Azure prelude on a real server', () => {
  let pg: ScratchPostgres;
  let input: BackupScriptInput;
  let manifest: ReturnType<typeof backupManifest>;
  const key = "plans/p-1/db/bk 1's.dump";
  const stored = (name: string) => fake.objects.get(`${CONTAINER}/${name}`)?.body;

  beforeAll(async () => {
    pg = await startScratchPostgres();
    input = {
      cloud: 'azure',
      cloudValues: { STORAGE_ACCOUNT: 'cstest', VAULT: 'cs-vault-test' },
      bucket: CONTAINER,
      key,
      database: 'app',
      owner: 'app',
      port: pg.port,
      binDir: PG_BIN,
    };
  }, 60_000);

  afterAll(async () => {
    await pg.stop();
  });

  /**
   * Runs a rendered script as Run Command would: as root, with the fake's endpoints in the environment
   * (its blob URL stands in for the storage account's). Blocks of 64 KiB send the dump through Put
   * Block and Put Block List.
   */
  async function runScript(script: string): Promise<Run> {
    const file = join(dir, 'script.sh');
    await writeFile(file, script, { mode: 0o700 });
    return runBash([file], nodeEnv({ PGHOST: pg.dir, CLOUDSEED_AZURE_BLOCK_BYTES: String(64 * 1024) }));
  }

  it('render shellcheck-clean with this prelude', () => {
    const sha256 = 'a'.repeat(64);
    for (const script of [
      backupScript(input),
      validateScript({ ...input, recordedSha256: sha256 }),
      restoreScript({ ...input, recordedSha256: sha256, swapDeadlineSeconds: 660 }),
      // Continuous archiving's scripts too: pgBackRest reaches the bucket itself, the prelude stores the fingerprints.
      ...archiveScripts(input),
    ]) {
      expect(script).toContain('\nazure_api() {');
      expect(lintRendered(script)).toEqual([]);
    }
  });

  it('back up to Blob Storage: the dump, the globals and the manifest', async () => {
    fake.requests.length = 0;

    const result = await runScript(backupScript(input));

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${RESULT_MARKER} \\{`)) as unknown]);
    const summary = resultOf(result.stdout, 'backup');
    manifest = backupManifest(stored(`${key}.manifest.json`)?.toString('utf8') ?? '', 'manifest');
    expect(manifest).toMatchObject({
      sha256: summary['sha256'],
      sizeBytes: summary['sizeBytes'],
      serverVersion: expect.stringMatching(/^15\./) as unknown,
    });
    expect(stored(key)?.subarray(0, 5).toString()).toBe('PGDMP');
    expect(stored(key)?.length).toBe(manifest.sizeBytes);
    expect(manifest.sizeBytes).toBeGreaterThan(64 * 1024);
    expect(fake.requests.some((request) => request.path.endsWith('.dump?comp=blocklist'))).toBe(true);
    expect(stored(`${key}.globals.sql`)?.toString('utf8')).toContain('CREATE ROLE app;');
    expect(manifest.tables.map((table) => [table.table, table.rows])).toEqual([
      ['public.empty', 0],
      ['public.odd|name', 3],
      ['public.orders', 3000],
    ]);
    expect(await readdir(spoolDir)).toEqual([]);
  }, 60_000);

  it('validate the backup: restored, with the fingerprints of the manifest', async () => {
    const result = await runScript(validateScript({ ...input, recordedSha256: manifest.sha256 }));

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(validationOutcome(resultOf(result.stdout, 'validation'), 'validation')).toEqual({
      status: 'restored',
      sha256: manifest.sha256,
      tableCount: 3,
    });
    const restored = restoredFingerprints(stored(`${key}.validation.json`)?.toString('utf8') ?? '', 'report');
    expect(compareFingerprints(manifest.tables, restored)).toEqual({ status: 'passed', detail: '3 tables, 3003 rows match' });
  }, 60_000);

  it('restore the backup: a dropped table is back', async () => {
    await pg.psql('app', 'DROP TABLE orders');

    const result = await runScript(restoreScript({ ...input, recordedSha256: manifest.sha256, swapDeadlineSeconds: 660 }));

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(resultOf(result.stdout, 'restore')).toEqual({ status: 'restored', sha256: manifest.sha256 });
    expect(await pg.psql('app', 'SELECT count(*) FROM orders')).toBe('3000');
  }, 60_000);
});
