import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuneComponent } from '@cloudseed/shared';
import {
  clearFaults,
  consumeFault,
  injectFault,
  LocalProvider,
  machineMemoryGiB,
  PreflightRefused,
  readFaults,
  startExisting,
  stopAll,
} from '../providers/local/index.ts';
import { committedMemoryGiB } from '../providers/local/local-provider.ts';
import { pathsOf } from '../providers/local/paths.ts';
import type { DeployTarget, NodeRef } from '../providers/provider.ts';
import { deployLocally, localTarget, runCommand } from './support/local-targets.ts';

// The local provider against real PostgreSQL 15 servers on this machine: no mocks. One temporary
// CLOUDSEED_HOME for the file; every server started here is stopped in afterAll, pass or fail.

const PSQL = '/usr/lib/postgresql/15/bin/psql';
const DEPLOY_TIMEOUT = 180_000;
const execFileAsync = promisify(execFile);

let home: string;
let provider: LocalProvider;
const deployed: DeployTarget[] = [];

beforeAll(async () => {
  // Short: the servers' Unix sockets live under it.
  home = await mkdtemp(join(tmpdir(), 'cs-lp-'));
  provider = new LocalProvider({ home });
});

afterAll(async () => {
  if (!home) return;
  for (const target of deployed) await provider.destroy(target).catch(() => undefined);
  await stopAll(home);
  await rm(home, { recursive: true, force: true });
});

/** The workflow's steps in order, remembering the plan so that the file's end destroys it. */
async function deploy(target: DeployTarget): Promise<NodeRef[]> {
  if (!deployed.some((known) => known.planId === target.planId)) deployed.push(target);
  return deployLocally(provider, target);
}

interface Login {
  readonly password: string;
  readonly sslmode?: string;
  readonly user?: string;
}

function psqlArgs(node: NodeRef, sql: string, login: Login) {
  const connection = `host=127.0.0.1 port=${node.port} dbname=app user=${login.user ?? 'app'} sslmode=${login.sslmode ?? 'require'}`;
  return {
    args: ['-X', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-c', sql, '-d', connection],
    options: { env: { PATH: '/usr/bin:/bin', PGPASSWORD: login.password, PGCONNECT_TIMEOUT: '5' } },
  };
}

async function psql(node: NodeRef, sql: string, login: Login): Promise<string> {
  const { args, options } = psqlArgs(node, sql, login);
  const { stdout } = await execFileAsync(PSQL, args, options);
  return stdout.trim();
}

async function psqlError(node: NodeRef, sql: string, login: Login): Promise<string> {
  const { args, options } = psqlArgs(node, sql, login);
  try {
    await execFileAsync(PSQL, args, options);
  } catch (error) {
    return String((error as { stderr?: unknown }).stderr);
  }
  throw new Error('psql succeeded where it should have been refused');
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const nodeDir = (target: DeployTarget, node: NodeRef) => join(home, 'instances', target.planId, node.name);
const postgresUid = () =>
  Number(
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('postgres:'))
      ?.split(':')[2],
  );
const postmasterPid = (target: DeployTarget, node: NodeRef) =>
  Number(readFileSync(join(nodeDir(target, node), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
const mode = async (path: string) => (await stat(path)).mode & 0o777;

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const procStat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return / Z /.test(procStat);
}

describe('a single node', () => {
  const target = localTarget('single');
  let nodes: NodeRef[] = [];
  let node: NodeRef;
  let password: string;

  it('deploys: preflight, password, launch, install, configure, verify', { timeout: DEPLOY_TIMEOUT }, async () => {
    nodes = await deploy(target);
    expect(nodes).toHaveLength(1);
    node = nodes[0] as NodeRef;
    expect(node).toMatchObject({ name: 'db-0', role: 'primary', nodeId: 'local-single-db-0', host: '127.0.0.1' });
    password = await provider.readPassword(target);
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('serves the plan over TLS with the tuned settings', async () => {
    const login = { password };
    expect(await psql(node, 'SHOW max_connections', login)).toBe('50');
    expect(await psql(node, 'SHOW shared_buffers', login)).toBe(tuneComponent(target.component).settings['shared_buffers']);
    expect(await psql(node, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', login)).toBe('t');
    expect(await psql(node, 'SHOW password_encryption', login)).toBe('scram-sha-256');
    expect(
      await psql(
        node,
        "SELECT current_database() || ' ' || pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
        login,
      ),
    ).toBe('app app');
  });

  it('refuses a login without TLS and a wrong password', async () => {
    expect(await psqlError(node, 'SELECT 1', { password, sslmode: 'disable' })).toMatch(/pg_hba\.conf rejects connection.*no encryption/);
    expect(await psqlError(node, 'SELECT 1', { password: 'not-the-password' })).toMatch(/password authentication failed for user "app"/);
    expect(await psqlError(node, 'SELECT 1', { password, user: 'postgres' })).toMatch(/pg_hba\.conf rejects connection/);
  });

  it('keeps the password and the server private', async () => {
    const secrets = join(home, 'secrets', 'single');
    expect(await mode(secrets)).toBe(0o700);
    expect(await mode(join(secrets, 'db.password'))).toBe(0o600);
    expect((await stat(join(secrets, 'db.password'))).uid).toBe(0);
    expect(await mode(join(secrets, 'ca.pem'))).toBe(0o600);
    expect((await stat(join(secrets, 'ca.pem'))).uid).toBe(0);
    // The node's directory is root's, so postgres cannot swap what is in it for a symlink;
    // the directories the server writes are postgres' and closed to everyone else.
    const dir = nodeDir(target, node);
    expect(await mode(dir)).toBe(0o711);
    expect((await stat(dir)).uid).toBe(0);
    for (const owned of ['data', 'tls', 'log']) {
      expect(await mode(join(dir, owned))).toBe(0o700);
      expect((await stat(join(dir, owned))).uid).toBe(postgresUid());
    }
    expect(await mode(join(dir, 'tls', 'server.key'))).toBe(0o600);
    expect((await stat(join(dir, 'tls', 'server.key'))).uid).toBe(postgresUid());
    // Only SCRAM verifiers reached the server, so the password is in no log.
    for (const file of await readdir(join(dir, 'log'))) expect(readFileSync(join(dir, 'log', file), 'utf8')).not.toContain(password);
  });

  it('is idempotent: the same password, nodes and port again', async () => {
    await provider.ensurePassword(target);
    expect(await provider.readPassword(target)).toBe(password);
    expect(await provider.ensureSecurityGroup(target)).toEqual({ networkId: 'local-single-db' });
    expect(await provider.launchNodes(target, { networkId: 'local-single-db' })).toEqual(nodes);
  });

  it('restarts for a changed max_connections and keeps the data', { timeout: DEPLOY_TIMEOUT }, async () => {
    const login = { password };
    await psql(node, 'CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 100)', login);
    const before = postmasterPid(target, node);
    await runCommand(provider, localTarget('single', { maxConnections: 60 }), nodes, 'configure');
    expect(postmasterPid(target, node)).not.toBe(before);
    expect(await psql(node, 'SHOW max_connections', login)).toBe('60');
    expect(await psql(node, 'SELECT count(*) FROM orders', login)).toBe('100');
  });

  it('reloads without a restart when only pg_hba changes', { timeout: DEPLOY_TIMEOUT }, async () => {
    const before = postmasterPid(target, node);
    await runCommand(provider, localTarget('single', { maxConnections: 60, allowedCidrs: ['203.0.113.0/24'] }), nodes, 'configure');
    expect(postmasterPid(target, node)).toBe(before);
    expect(readFileSync(join(nodeDir(target, node), 'data', 'pg_hba.conf'), 'utf8')).toMatch(
      /^hostssl\s+app\s+app\s+203\.0\.113\.0\/24\s+scram-sha-256$/m,
    );
    expect(await psql(node, 'SELECT 1', { password })).toBe('1');
  });

  it('reports a killed server unhealthy with the reason, and configure brings it back', { timeout: DEPLOY_TIMEOUT }, async () => {
    expect(await provider.health(target, nodes)).toEqual([{ name: 'db-0', role: 'primary', healthy: true }]);
    const pid = postmasterPid(target, node);
    process.kill(pid, 'SIGKILL');
    await poll(
      () => Promise.resolve(processGone(pid)),
      (gone) => gone,
    );
    expect(await provider.health(target, nodes)).toEqual([
      { name: 'db-0', role: 'primary', healthy: false, detail: 'server process is not running' },
    ]);

    await runCommand(provider, localTarget('single', { maxConnections: 60 }), nodes, 'configure');
    expect(await provider.health(target, nodes)).toEqual([{ name: 'db-0', role: 'primary', healthy: true }]);
    expect(await psql(node, 'SELECT count(*) FROM orders', { password })).toBe('100');
  });

  it('stops with the local cloud and starts again with it', { timeout: DEPLOY_TIMEOUT }, async () => {
    const stopped = await stopAll(home);
    expect(stopped.filter((outcome) => outcome.planId === 'single')).toEqual([{ planId: 'single', name: 'db-0', port: node.port, ok: true }]);
    expect(await isListening(node.port)).toBe(false);
    expect((await provider.health(target, nodes))[0]?.healthy).toBe(false);

    const started = await startExisting(home);
    expect(started.filter((outcome) => outcome.planId === 'single')).toEqual([{ planId: 'single', name: 'db-0', port: node.port, ok: true }]);
    expect((await provider.health(target, nodes))[0]?.healthy).toBe(true);
    expect(await psql(node, 'SELECT count(*) FROM orders', { password })).toBe('100');
  });

  it('is destroyed completely, and destroying again is harmless', { timeout: DEPLOY_TIMEOUT }, async () => {
    await provider.destroy(target);
    expect(await isListening(node.port)).toBe(false);
    expect(existsSync(join(home, 'instances', 'single'))).toBe(false);
    expect(existsSync(join(home, 'secrets', 'single'))).toBe(false);
    await expect(provider.destroy(target)).resolves.toBeUndefined();
    expect((await provider.health(target, nodes))[0]).toMatchObject({ healthy: false, detail: 'the node has not been launched' });
  });
});

describe('a cluster with one replica', () => {
  const target = localTarget('cluster', { replicas: 1 });

  it('streams a write from the primary to the read-only replica', { timeout: DEPLOY_TIMEOUT }, async () => {
    const nodes = await deploy(target);
    expect(nodes.map((node) => [node.name, node.role])).toEqual([
      ['db-0', 'primary'],
      ['db-1', 'replica'],
    ]);
    const [primary, replica] = nodes as [NodeRef, NodeRef];
    expect(replica.port).not.toBe(primary.port);
    const login = { password: await provider.readPassword(target) };

    await psql(primary, "CREATE TABLE events (note text); INSERT INTO events VALUES ('replicated')", login);
    const seen = await poll(
      () => psql(replica, 'SELECT note FROM events', login).catch(() => ''),
      (note) => note === 'replicated',
    );
    expect(seen).toBe('replicated');
    expect(await psql(replica, 'SELECT pg_is_in_recovery()', login)).toBe('t');
    expect(await psql(primary, 'SELECT pg_is_in_recovery()', login)).toBe('f');
    expect(await psql(replica, 'SHOW max_connections', login)).toBe('50');
    expect((await provider.health(target, nodes)).map((health) => health.healthy)).toEqual([true, true]);
    // The replication password stays in the secrets directory, not in the standby's settings.
    const replicationPassword = readFileSync(join(home, 'secrets', 'cluster', 'db.replication-password'), 'utf8').trim();
    expect(readFileSync(join(nodeDir(target, replica), 'data', 'postgresql.auto.conf'), 'utf8')).not.toContain(replicationPassword);
  });

  it('takes a raised max_connections on both nodes and keeps replicating', { timeout: DEPLOY_TIMEOUT }, async () => {
    const raised = localTarget('cluster', { replicas: 1, maxConnections: 80 });
    const nodes = await provider.launchNodes(raised, await provider.ensureSecurityGroup(raised));
    await runCommand(provider, raised, nodes, 'configure');
    await provider.verify(raised, nodes);
    const [primary, replica] = nodes as [NodeRef, NodeRef];
    const login = { password: await provider.readPassword(raised) };
    expect(await psql(primary, 'SHOW max_connections', login)).toBe('80');
    expect(await psql(replica, 'SHOW max_connections', login)).toBe('80');
    await psql(primary, "INSERT INTO events VALUES ('after restart')", login);
    expect(
      await poll(
        () => psql(replica, 'SELECT count(*) FROM events', login),
        (count) => count === '2',
      ),
    ).toBe('2');
  });

  it('is destroyed with both servers', { timeout: DEPLOY_TIMEOUT }, async () => {
    const nodes = await provider.launchNodes(target, await provider.ensureSecurityGroup(target));
    await provider.destroy(target);
    for (const node of nodes) expect(await isListening(node.port)).toBe(false);
    expect(existsSync(join(home, 'instances', 'cluster'))).toBe(false);
    expect(existsSync(join(home, 'secrets', 'cluster'))).toBe(false);
  });
});

describe('preflight', () => {
  it('refuses a major that is not installed, naming the ones that are', async () => {
    await expect(provider.preflight(localTarget('seventeen', { version: '17' }))).rejects.toThrow(
      'PostgreSQL 17 is not installed on this machine (installed: 15); choose 15 or install postgresql-17',
    );
    expect(existsSync(join(home, 'instances', 'seventeen'))).toBe(false);
  });

  it('refuses more memory than this machine has, with both numbers', async () => {
    const machineGiB = totalmem() / 1024 ** 3;
    const tooMuch = Math.ceil(machineGiB) + 8;
    const error = await provider.preflight(localTarget('huge', { memoryGiB: tooMuch })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PreflightRefused);
    expect((error as Error).message).toMatch(
      new RegExp(`asks for ${tooMuch} GiB of memory .*at most [\\d.]+ GiB \\(${Math.round(machineGiB * 10) / 10} GiB installed`),
    );
    expect(existsSync(join(home, 'instances', 'huge'))).toBe(false);
  });

  it('counts every node of a cluster', async () => {
    // The largest size one node may have here, beside what this file's other plans still hold: two of them are too much.
    const largest = Math.floor((machineMemoryGiB().usable - (await committedMemoryGiB(home)).memoryGiB) * 2) / 2;
    await expect(provider.preflight(localTarget('pair', { memoryGiB: largest, replicas: 1 }))).rejects.toThrow(`(${largest} GiB × 2 nodes)`);
    await expect(provider.preflight(localTarget('pair', { memoryGiB: largest }))).resolves.toBeUndefined();
  });
});

describe('commands', () => {
  it('report a failure and its reason through commandStatus instead of throwing', async () => {
    const target = localTarget('never-launched');
    const nodes: NodeRef[] = [{ name: 'db-0', role: 'primary', nodeId: 'local-never-launched-db-0', host: '127.0.0.1', port: 1 }];
    const command = await provider.sendCommand(target, nodes, 'configure');
    expect(command).toMatchObject({ kind: 'configure', nodeIds: ['local-never-launched-db-0'] });
    expect(await provider.commandStatus(target, command)).toEqual({ state: 'failed', reason: 'node db-0 has not been launched' });
    expect(await provider.commandStatus(target, { ...command, commandIds: ['local-configure-unknown'] })).toMatchObject({ state: 'failed' });
    await provider.destroy(target);
    expect(existsSync(join(home, 'instances', 'never-launched'))).toBe(false);
  });
});

describe('node paths', () => {
  it('move the Unix socket to a short directory when CLOUDSEED_HOME is too deep for a socket address', () => {
    expect(pathsOf('/srv/cloudseed/instances/plan/db-0').socketDir).toBe('/srv/cloudseed/instances/plan/db-0/socket');
    const deep = `/srv/${'nested/'.repeat(14)}instances/plan/db-0`;
    const { socketDir } = pathsOf(deep);
    expect(socketDir.startsWith(join(tmpdir(), 'cloudseed-'))).toBe(true);
    expect(pathsOf(deep).socketDir).toBe(socketDir);
    expect(`${socketDir}/.s.PGSQL.65535`.length).toBeLessThanOrEqual(107);
  });
});

describe('fault injection', () => {
  it('answers nothing without a faults.json', () => {
    clearFaults(home);
    expect(consumeFault(home, 'LaunchNodes')).toBeUndefined();
  });

  it('fails a "once" step one time and removes the entry', async () => {
    writeFileSync(join(home, 'faults.json'), JSON.stringify({ LaunchNodes: 'once', Verify: 'always' }));
    expect(consumeFault(home, 'LaunchNodes')).toMatch(/LaunchNodes/);
    expect(readFaults(home)).toEqual({ Verify: 'always' });
    expect(consumeFault(home, 'LaunchNodes')).toBeUndefined();
    expect((await readdir(home)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('fails an "always" step every time', () => {
    clearFaults(home);
    injectFault(home, 'Verify', 'always');
    expect(consumeFault(home, 'Verify')).toMatch(/Verify/);
    expect(consumeFault(home, 'Verify')).toMatch(/Verify/);
    expect(consumeFault(home, 'Preflight')).toBeUndefined();
    expect(readFaults(home)).toEqual({ Verify: 'always' });
  });

  it('refuses a malformed faults.json instead of ignoring it', () => {
    writeFileSync(join(home, 'faults.json'), '{ "Verify": "sometimes" }');
    expect(() => consumeFault(home, 'Verify')).toThrow(/"once" or "always"/);
    writeFileSync(join(home, 'faults.json'), 'not json');
    expect(() => consumeFault(home, 'Verify')).toThrow(/not valid JSON/);
    clearFaults(home);
  });
});
