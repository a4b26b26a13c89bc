import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptFile } from '@cloudseed/shared/targets/node-scripts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backupManifest, restoredFingerprints, resultOf, validationOutcome } from '../providers/node-backups/backup-results.ts';
import { backupScript, RESULT_MARKER, restoreScript, validateScript } from '../providers/node-backups/backup-scripts.ts';
import type { BackupScriptInput } from '../providers/node-backups/backup-scripts.ts';
import { archiveScripts } from './support/cloud-fakes.ts';
import { compareFingerprints } from '../providers/fingerprints.ts';
import { lintRendered, nodeTools, PG_BIN, runBash, startGcpFake, startScratchPostgres } from './support/cloud-fakes.ts';
import type { GcpFake, Run, ScratchPostgres } from './support/cloud-fakes.ts';

// The Compute Engine prelude (shared/src/targets/sh/prelude-gcp.sh): each function against loopback
// fakes of the metadata server, Secret Manager and Cloud Storage, then the shared backup scripts with
// it against a real PostgreSQL 15 server on this machine, as root like the agent runs them.

const PRELUDE = scriptFile('prelude-gcp.sh');
const BUCKET = 'cs-backups-test';

let fake: GcpFake;
let dir: string;
let curlLog: string;
let toolsDir: string;

beforeAll(async () => {
  fake = await startGcpFake();
  dir = await mkdtemp(join(tmpdir(), 'cs-gcp-'));
  curlLog = join(dir, 'curl-argv.log');
  toolsDir = await nodeTools(join(dir, 'bin'), curlLog);
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `snippet` after the prelude, with errexit and the header values a script would have, the fake's endpoints and a node's tools. */
function withPrelude(snippet: string, env: Record<string, string> = {}): Promise<Run> {
  return runBash(['-c', `set -euo pipefail\nshopt -s inherit_errexit\n${PRELUDE}\n${snippet}`], {
    ...fake.env,
    PATH: `${toolsDir}:${process.env['PATH'] ?? ''}`,
    PROJECT: fake.project,
    BUCKET,
    RESULT_MARKER,
    ARCHIVE_BUCKET: 'cs-archive-test',
    ...env,
  });
}

describe('the GCP prelude', () => {
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
    expect(PRELUDE.split('\n').filter((line) => /^[^\s#}]/.test(line) && !/^[a-z_0-9]+\(\) [{(]/.test(line))).toEqual([]);
  });

  it('hands the token to curl only through a process substitution, never as an argument', () => {
    const lines = PRELUDE.split('\n').filter((line) => !/^\s*#/.test(line));
    const uses = lines.filter((line) => /Authorization|\$token|\$\{token/.test(line));

    expect(uses).toEqual([`  curl -H @<(printf 'Authorization: Bearer %s\\n' "$token") "$@"`]);
  });

  it('reads a secret exactly as stored, by the name Secret Manager takes, with the service account token kept off every command line', async () => {
    const value = `it's a "quoted" value with  spaces and $HOME\n`;
    fake.secrets.set('cloudseed-p-1-db-password', value);

    const result = await withPrelude('read_secret /cloudseed/p-1/db/password');

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Byte for byte, the trailing newline included: a caller's $(read_secret …) drops it, like any command substitution.
    expect(result.stdout).toBe(value);
    const access = fake.requests.find((request) => request.path.includes('/secrets/'));
    expect(access).toMatchObject({
      method: 'GET',
      path: `/secretmanager/v1/projects/${fake.project}/secrets/cloudseed-p-1-db-password/versions/latest:access`,
      bearer: 'default',
    });
    const argv = await readFile(curlLog, 'utf8');
    expect(argv).toContain('/versions/latest:access');
    expect(argv).not.toContain(fake.token);
    expect(result.stdout + result.stderr).not.toContain(fake.token);
  });

  it('fails with one line naming a missing secret, printing nothing else', async () => {
    const result = await withPrelude('read_secret /cloudseed/p-1/db/missing');

    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('cloudseed: could not read secret cloudseed-p-1-db-missing from Secret Manager (HTTP 404)\n');
  });

  it('streams an object up chunked and back byte for byte, under a key with spaces and quotes', async () => {
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
    expect(fake.objects.get(`${BUCKET}/${key}`)?.contentType).toBe('application/octet-stream');
    expect((await readFile(join(dir, 'fetched'))).equals(payload)).toBe(true);
    const upload = fake.requests.find((request) => request.method === 'PUT');
    expect(upload).toMatchObject({
      path: `/storage/${BUCKET}/plans/p-1/db/it%27s%20a%20%22key%22.dump`,
      bearer: 'default',
      bodyBytes: payload.length,
      headers: expect.objectContaining({ 'transfer-encoding': 'chunked', authorization: '<redacted>' }) as unknown,
    });
    expect(await readFile(curlLog, 'utf8')).not.toContain(fake.token);
  });

  it('removes an object, after which reading it fails; removing it again is no error', async () => {
    const key = 'plans/p-1/db/gone.dump';
    fake.objects.set(`${BUCKET}/${key}`, { body: Buffer.from('dump'), contentType: 'application/octet-stream' });

    const removed = await withPrelude('object_remove "$(object_url "$KEY")"', { KEY: key });
    const read = await withPrelude('object_get "$(object_url "$KEY")"', { KEY: key });
    const again = await withPrelude('object_remove "$(object_url "$KEY")"', { KEY: key });

    expect(removed.code).toBe(0);
    expect(fake.objects.has(`${BUCKET}/${key}`)).toBe(false);
    expect(read.code).not.toBe(0);
    expect(read.stdout).toBe('');
    expect(read.stderr).toContain('404');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  it("prints the instance's private address and host name from the metadata server, and the header's bucket and ranges", async () => {
    const result = await withPrelude(
      // A header assigns arrays, which no environment carries.
      'NETWORK_RANGES=(10.128.0.0/20 10.200.0.0/24); private_ipv4; echo "|$(public_ipv4)|"; node_host_names; archive_bucket; echo; network_ranges; install_cloud_tools; echo done',
    );

    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${fake.ip}||\n${fake.hostname}\ncs-archive-test\n10.128.0.0/20\n10.200.0.0/24\ndone\n`);
  });

  it('fails when the metadata server gives no private address', async () => {
    const result = await withPrelude('private_ipv4', { CLOUDSEED_GCP_METADATA_URL: `${fake.env['CLOUDSEED_GCP_METADATA_URL']!}/nowhere` });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('the metadata server gave no private IPv4 address\n');
  });

  it("reports the result on fd 3 and, for the agent's command, as a guest attribute", async () => {
    const result = await withPrelude('report_status \'{"status":"restored"}\' 3>&1 1>/dev/null', { COMMAND_ID: 'cmd-42' });

    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${RESULT_MARKER} {"status":"restored"}\n`);
    expect(fake.guestAttributes.get('cloudseed/cmd-42')).toBe('{"status":"restored"}');
    expect(fake.requests.find((request) => request.method === 'PUT')?.headers['metadata-flavor']).toBe('Google');
  });

  it('reports on fd 3 alone without a command id, and nothing at all when the guest attribute cannot be written', async () => {
    const plain = await withPrelude('report_status \'{"a":1}\' 3>&1 1>/dev/null');
    const refused = await withPrelude('report_status \'{"a":2}\' 3>&1 1>/dev/null', { COMMAND_ID: 'not/one/key' });

    expect(plain.stdout).toBe(`${RESULT_MARKER} {"a":1}\n`);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('cloudseed: could not write the result to guest attribute cloudseed/not/one/key\n');
    expect(fake.requests.filter((request) => request.method === 'PUT')).toHaveLength(1);
  });
});

// --- the backup scripts, with this prelude, on a real server ----------------------------------------

describe('the backup scripts with the GCP prelude on a real server', () => {
  let pg: ScratchPostgres;
  let input: BackupScriptInput;
  let manifest: ReturnType<typeof backupManifest>;
  const key = "plans/p-1/db/bk 1's.dump";
  const stored = (name: string) => fake.objects.get(`${BUCKET}/${name}`)?.body;

  beforeAll(async () => {
    pg = await startScratchPostgres();
    input = {
      cloud: 'gcp',
      cloudValues: { PROJECT: fake.project },
      bucket: BUCKET,
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

  /** Runs a rendered script as the agent would: as root, with the fake's endpoints in the environment. */
  async function runScript(script: string): Promise<Run> {
    const file = join(dir, 'script.sh');
    await writeFile(file, script, { mode: 0o700 });
    return runBash([file], { ...fake.env, PATH: `${toolsDir}:${process.env['PATH'] ?? ''}`, PGHOST: pg.dir });
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
      expect(script).toContain('\ngcp_api() {');
      expect(lintRendered(script)).toEqual([]);
    }
  });

  it('back up to Cloud Storage: the dump, the globals and the manifest', async () => {
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
    expect(stored(`${key}.globals.sql`)?.toString('utf8')).toContain('CREATE ROLE app;');
    expect(manifest.tables.map((table) => [table.table, table.rows])).toEqual([
      ['public.empty', 0],
      ['public.odd|name', 3],
      ['public.orders', 3000],
    ]);
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
