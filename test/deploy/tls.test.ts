import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCertificateAuthority, issueServerCertificate } from '@cloudseed/functions/providers/certificates';
import type { Credentials } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Clients can verify the server they talk to: every server certificate is signed by the plan's own
// CA, and the connection string the credentials route hands out says `sslmode=verify-full` with
// that CA. libpq (psql) and node-postgres, which treats `sslmode=require` as full verification and
// refused the self-signed certificates servers used to have, both connect with it exactly as given,
// and both refuse a server that presents a certificate of another plan's CA.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const PG_MODULE = createRequire(import.meta.url).resolve('pg');

const cloud = useLocalCloud();
let planId: string;
let creds: Credentials;
/** Where a client runs: the CA saved under the name the connection string gives. */
let clientDir: string;

interface ClientRun {
  readonly ok: boolean;
  readonly out: string;
  readonly err: string;
}

/** Runs a client without blocking this process, which may be serving the other end. */
function runClient(file: string, args: readonly string[], env: Record<string, string>): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: clientDir, encoding: 'utf8', env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ ok: error === null, out: stdout.trim(), err: stderr.trim() }),
    );
  });
}

/** psql with the connection string as given, run where the CA file was saved. */
function psql(uri: string, sql: string): Promise<ClientRun> {
  return runClient('psql', ['-X', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', sql, uri], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PGCONNECT_TIMEOUT: '5',
  });
}

/** A node-postgres client in its own process, so that the relative sslrootcert resolves where the CA was saved. */
function nodePostgres(uri: string, sql: string): Promise<ClientRun> {
  const script = `
    const pg = require(process.env.PG_MODULE);
    const client = new pg.Client({ connectionString: process.env.URI, connectionTimeoutMillis: 5000 });
    client.connect()
      .then(() => client.query(process.env.SQL))
      .then((result) => { console.log(JSON.stringify(result.rows)); return client.end(); })
      .catch((error) => { console.error(error.message); process.exit(1); });`;
  return runClient(process.execPath, ['-e', script], { PG_MODULE, URI: uri, SQL: sql });
}

/**
 * Speaks just enough of PostgreSQL's protocol to accept a client's SSLRequest, then presents the
 * given certificate: a server impersonating the plan's, with a certificate another plan's CA signed.
 */
function impostor(certificate: { certificatePem: string; privateKeyPem: string }): Promise<Server> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.write('S');
      const tls = new TLSSocket(socket, { isServer: true, cert: certificate.certificatePem, key: certificate.privateKeyPem });
      tls.on('error', () => socket.destroy());
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  planId = await cloud.api.createPlan(
    planWith({ name: 'tls', hardware: { cpus: 1, memoryGiB: 1, storage: { sizeGiB: 10 } }, db: { maxConnections: 20, backup: { enabled: false } } }),
  );
  const { deployment } = await cloud.api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`deploy did not succeed: ${JSON.stringify(deployment)}`);
  creds = await cloud.api.credentials(planId);
  clientDir = mkdtempSync(join(tmpdir(), 'cloudseed-client-'));
  writeFileSync(join(clientDir, creds.caFileName), creds.caCertificate);
}, 120_000);

afterAll(() => {
  if (clientDir) rmSync(clientDir, { recursive: true, force: true });
});

describe('server certificates signed by the plan’s CA', () => {
  it('hands out the CA and a connection string that verifies the server with it', () => {
    expect(creds.caFileName).toBe(`cloudseed-${planId}-ca.crt`);
    expect(creds.uri).toBe(`postgresql://app:${creds.password}@127.0.0.1:${creds.port}/app?sslmode=verify-full&sslrootcert=${creds.caFileName}`);
    const ca = new X509Certificate(creds.caCertificate);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain(planId);
    expect(creds.caCertificate).not.toContain('PRIVATE KEY');
  });

  it('lets psql connect with the handed-out string and CA, over TLS', async () => {
    const result = await psql(creds.uri, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(result, result.err).toMatchObject({ ok: true, out: 't' });
  });

  it('lets node-postgres connect with the handed-out string and CA, over TLS', async () => {
    const result = await nodePostgres(creds.uri, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(result, result.err).toMatchObject({ ok: true, out: '[{"ssl":true}]' });
  });

  it('makes psql and node-postgres refuse a server presenting another plan’s certificate', async () => {
    const otherPlans = await createCertificateAuthority('CloudSeed CA for plan other');
    const server = await impostor(await issueServerCertificate(otherPlans, ['localhost', '127.0.0.1']));
    try {
      const uri = creds.uri.replace(`:${creds.port}/`, `:${(server.address() as AddressInfo).port}/`);
      const viaPsql = await psql(uri, 'SELECT 1');
      expect(viaPsql.ok).toBe(false);
      expect(viaPsql.err).toMatch(/certificate verify failed/);
      const viaNode = await nodePostgres(uri, 'SELECT 1');
      expect(viaNode.ok).toBe(false);
      expect(viaNode.err).toMatch(/unable to get local issuer certificate|unable to verify/);
    } finally {
      server.close();
    }
  });

  it('gives the CA only to the plan’s owner', async () => {
    const response = await cloud.other.api.call('GET', `/v1/plan/${planId}/deployment/credentials`);
    expect(response.status).toBe(404);
    expect(JSON.stringify(response.json)).not.toContain('BEGIN CERTIFICATE');
  });
});
