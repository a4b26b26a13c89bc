import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../providers/certificates.ts';
import { postgresAccount, run } from '../providers/local/exec.ts';
import { ensureDir, readTextIfExists, UnsafePath, writeFileAtomic } from '../providers/local/files.ts';
import { pathsOf } from '../providers/local/paths.ts';
import type { NodePaths } from '../providers/local/paths.ts';
import { emptyPostgresDir, ensureServerCertificate, prepareNodeDirs, removeNodeDir, writeServerConfig } from '../providers/local/server.ts';

// Root never follows a path another user controls. The local cloud runs as root and works inside
// directories the postgres OS user owns; whoever runs as postgres (a server, or code a tenant got
// the server to run) can put a symlink where root is about to write, chmod, chown or read. Each
// test plants one the way postgres could and checks that what it points to is left alone.

const NOBODY = 65534;
let scratch: string;
/** Stands for /etc: root's, with a file only root may read. */
let rootOnly: string;
let secret: string;
let paths: NodePaths;

const ownerOf = (path: string) => lstatSync(path).uid;
const modeOf = (path: string) => statSync(path).mode & 0o7777;

/** What postgres could do on its own: the command runs as the postgres OS user. */
async function asPostgres(command: string, ...args: string[]): Promise<void> {
  const result = await run(command, args, { asPostgres: true });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} as postgres: ${result.stderr.trim()}`);
}

beforeEach(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'cloudseed-files-'));
  chmodSync(scratch, 0o711);
  rootOnly = join(scratch, 'etc');
  mkdirSync(rootOnly, { mode: 0o755 });
  secret = join(rootOnly, 'shadow');
  writeFileSync(secret, 'root:$6$secret-hash:19000::::::\n', { mode: 0o600 });
  paths = pathsOf(join(scratch, 'node'));
  await prepareNodeDirs(paths);
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('a node’s directories', () => {
  it('keep the node’s own directory root’s, so postgres cannot plant anything in it', async () => {
    expect(ownerOf(paths.root)).toBe(0);
    expect(modeOf(paths.root)).toBe(0o711);
    for (const dir of [paths.data, paths.tlsDir, paths.logDir]) {
      expect(ownerOf(dir)).toBe(postgresAccount().uid);
      expect(modeOf(dir)).toBe(0o700);
    }
    await expect(asPostgres('ln', '-s', rootOnly, join(paths.root, 'planted'))).rejects.toThrow(/Permission denied/);
    await expect(asPostgres('mv', paths.tlsDir, join(paths.data, 'moved'))).rejects.toThrow(/Permission denied/);
  });

  it('take back a node directory postgres owned, before anything is done in it', async () => {
    const postgres = postgresAccount();
    chownSync(paths.root, postgres.uid, postgres.gid);
    chmodSync(paths.root, 0o700);
    await prepareNodeDirs(paths);
    expect(ownerOf(paths.root)).toBe(0);
    expect(modeOf(paths.root)).toBe(0o711);
  });

  it('refuse a symlink where a directory belongs, leaving its target’s owner and mode alone', async () => {
    rmSync(paths.tlsDir, { recursive: true });
    symlinkSync(rootOnly, paths.tlsDir);
    await expect(prepareNodeDirs(paths)).rejects.toThrow(UnsafePath);
    expect(ownerOf(rootOnly)).toBe(0);
    expect(modeOf(rootOnly)).toBe(0o755);
  });

  it('refuse a directory somebody else made where one is to be created (a socket directory in /tmp)', async () => {
    const squatted = join(scratch, 'squatted');
    mkdirSync(squatted, { mode: 0o777 });
    chownSync(squatted, NOBODY, NOBODY);
    await expect(ensureDir(squatted, 0o700, postgresAccount())).rejects.toThrow(/belongs to another user/);
    expect(ownerOf(squatted)).toBe(NOBODY);
  });
});

describe('files root writes and reads for postgres', () => {
  it('replace a symlink planted at the file’s name instead of writing through it', async () => {
    await asPostgres('ln', '-s', secret, join(paths.data, 'pg_hba.conf'));
    await writeFileAtomic(join(paths.data, 'pg_hba.conf'), 'local all all peer\n', 0o600, postgresAccount());
    expect(lstatSync(join(paths.data, 'pg_hba.conf')).isSymbolicLink()).toBe(false);
    expect(readFileSync(secret, 'utf8')).toContain('secret-hash');
    expect(ownerOf(secret)).toBe(0);
    expect(modeOf(secret)).toBe(0o600);
  });

  it('are never read through a symlink: a planted postgresql.conf cannot copy a root-only file into the data directory', async () => {
    await asPostgres('ln', '-s', secret, join(paths.data, 'postgresql.conf'));
    await expect(readTextIfExists(join(paths.data, 'postgresql.conf'))).rejects.toThrow(UnsafePath);
    await expect(writeServerConfig(paths, 'port = 5432\n', 'local all all peer\n', '')).rejects.toThrow(UnsafePath);
    const copies = readdirSync(paths.data)
      .map((name) => join(paths.data, name))
      .filter((file) => !lstatSync(file).isSymbolicLink() && readFileSync(file, 'utf8').includes('secret-hash'));
    expect(copies).toEqual([]);
    expect(ownerOf(secret)).toBe(0);
  });

  it('refuse a FIFO in place of a file instead of hanging on it', async () => {
    await asPostgres('mkfifo', join(paths.data, 'PG_VERSION'));
    await expect(readTextIfExists(join(paths.data, 'PG_VERSION'))).rejects.toThrow(UnsafePath);
  });

  it('put the server’s key and certificate in place without following symlinks planted for them', async () => {
    await asPostgres('ln', '-s', secret, paths.keyFile);
    await asPostgres('ln', '-s', join(rootOnly, 'server.crt.target'), paths.certFile);
    await ensureServerCertificate(paths, await createCertificateAuthority('test CA'));
    expect(readFileSync(secret, 'utf8')).toContain('secret-hash');
    expect(existsSync(join(rootOnly, 'server.crt.target'))).toBe(false);
    expect(lstatSync(paths.keyFile).isFile()).toBe(true);
    expect(ownerOf(paths.keyFile)).toBe(postgresAccount().uid);
    expect(modeOf(paths.keyFile)).toBe(0o600);
    expect(readFileSync(paths.certFile, 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});

describe('removing what postgres owns', () => {
  it('empties a data directory as postgres, so a symlink in it cannot lead root to delete elsewhere', async () => {
    await asPostgres('mkdir', '-p', join(paths.data, 'base', '1'));
    await asPostgres('ln', '-s', rootOnly, join(paths.data, 'base', 'escape'));
    await emptyPostgresDir(paths.data);
    expect(readdirSync(paths.data)).toEqual([]);
    expect(readFileSync(secret, 'utf8')).toContain('secret-hash');
  });

  it('removes a node completely and nothing outside it', async () => {
    await asPostgres('ln', '-s', rootOnly, join(paths.data, 'escape'));
    await asPostgres('ln', '-s', secret, join(paths.logDir, 'postgresql.log'));
    await removeNodeDir(paths);
    expect(existsSync(paths.root)).toBe(false);
    expect(readdirSync(rootOnly)).toEqual(['shadow']);
    expect(readFileSync(secret, 'utf8')).toContain('secret-hash');
  });
});
