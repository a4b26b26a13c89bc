import {
  archiveBackupScript,
  archiveValidateScript,
  recoveryWindowScript,
  restoreToPointScript,
} from '../../providers/node-backups/archive-scripts.ts';
import type { BackupScriptInput } from '../../providers/node-backups/backup-scripts.ts';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderPgHba, renderPgIdent, validatePlan } from '@cloudseed/shared';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';

// Loopback stand-ins for what the GCP and Azure preludes (shared/src/targets/sh/prelude-*.sh) call:
// the metadata services, the secret stores and object storage, each as strict as the real one about
// the headers and tokens a node must send. Every request is recorded without its token, so a test can
// assert what a script sent. Beside them: a real PostgreSQL 15 server in a scratch directory and a
// bash runner, for the tests that run the backup scripts with a prelude.

const execFileAsync = promisify(execFile);

export interface RecordedRequest {
  readonly method: string;
  /** The path and query as sent, still percent-encoded. */
  readonly path: string;
  /** Lower-cased; an Authorization header's value is replaced by `<redacted>`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Which issued token the request carried (the GCP service account's, or an Azure resource), `unknown` for another, undefined for none. */
  readonly bearer: string | undefined;
  readonly bodyBytes: number;
}

export interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string;
}

interface FakeServer {
  readonly url: string;
  readonly close: () => Promise<void>;
}

interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly bearer: string | undefined;
  readonly body: Buffer;
}

interface Reply {
  readonly status: number;
  readonly etag?: string;
  readonly body?: string | Buffer;
  readonly type?: string;
}

/** A server on a free loopback port that answers every request with `route`, after recording it. */
async function serve(
  tokens: ReadonlyMap<string, string>,
  requests: RecordedRequest[],
  route: (exchange: Exchange) => Reply | Promise<Reply>,
): Promise<FakeServer> {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(request.url ?? '/', 'http://fake');
    const authorization = request.headers.authorization;
    const presented = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    const bearer = presented === undefined ? undefined : ([...tokens].find(([, token]) => token === presented)?.[0] ?? 'unknown');
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, name === 'authorization' ? '<redacted>' : String(value)]),
    );
    const method = request.method ?? 'GET';
    requests.push({ method, path: request.url ?? '/', headers, bearer, bodyBytes: body.length });
    const reply = await route({ method, path: url.pathname, query: url.searchParams, headers: request.headers, bearer, body });
    response.writeHead(reply.status, { 'content-type': reply.type ?? 'application/json', ...(reply.etag ? { etag: reply.etag } : {}) });
    response.end(reply.body ?? '');
  };
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (status: number, body: unknown): Reply => ({ status, body: JSON.stringify(body) });
const text = (status: number, body: string): Reply => ({ status, body, type: 'text/plain' });
/** The key after `/<prefix>/<bucket>/` in a path, decoded, and its bucket; undefined when the path has no key. */
function objectOf(path: string, prefix: string): { bucket: string; key: string } | undefined {
  const match = new RegExp(`^/${prefix}/([^/]+)/(.+)$`).exec(path);
  return match ? { bucket: decodeURIComponent(match[1]!), key: decodeURIComponent(match[2]!) } : undefined;
}

// --- Compute Engine ------------------------------------------------------------------------------

export interface GcpFake {
  /** CLOUDSEED_GCP_METADATA_URL, CLOUDSEED_GCP_SECRETS_URL and CLOUDSEED_GCP_STORAGE_URL pointing at the fake. */
  readonly env: Readonly<Record<string, string>>;
  readonly project: string;
  readonly ip: string;
  readonly hostname: string;
  /** The instance's name (metadata instance/name). */
  readonly instanceName: string;
  /** The access token the metadata server hands out. */
  readonly token: string;
  /** Secret Manager secrets of the project, by secret id. */
  readonly secrets: Map<string, string | Buffer>;
  /** Cloud Storage objects, by `<bucket>/<key>`. */
  readonly objects: Map<string, StoredObject>;
  /** Guest attributes, by `<namespace>/<key>`. */
  readonly guestAttributes: Map<string, string>;
  /** Sets the instance metadata key (as instances.setMetadata would), waking whoever waits for it to change. */
  setAttribute(key: string, value: string): void;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** The metadata server, Secret Manager and the Cloud Storage XML API of one project, on one loopback port. */
export async function startGcpFake(): Promise<GcpFake> {
  const project = 'cs-test-4821';
  const ip = '10.128.0.7';
  const hostname = 'db-1.europe-west1-b.c.cs-test-4821.internal';
  const instanceName = 'cs-7d1c2a4e-db-1';
  const token = `ya29.fake-${randomBytes(16).toString('hex')}`;
  const secrets = new Map<string, string | Buffer>();
  const objects = new Map<string, StoredObject>();
  const guestAttributes = new Map<string, string>();
  const requests: RecordedRequest[] = [];
  // Instance attributes with an ETag each; a `?wait_for_change=true` GET hangs until the ETag is not `last_etag`.
  const attributes = new Map<string, { value: string; etag: string }>();
  const waiting = new Set<() => void>();
  let versions = 0;
  let closed = false;
  const setAttribute = (key: string, value: string): void => {
    versions += 1;
    attributes.set(key, { value, etag: `${versions.toString(16).padStart(16, '0')}` });
    for (const wake of waiting) wake();
  };
  const attribute = async (exchange: Exchange, key: string): Promise<Reply> => {
    const since = exchange.query.get('last_etag') ?? attributes.get(key)?.etag;
    if (exchange.query.get('wait_for_change') === 'true') {
      const deadline = Date.now() + Math.min(Number(exchange.query.get('timeout_sec') ?? 60), 60) * 1000;
      while (!closed && attributes.get(key)?.etag === since && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiting.delete(wake);
            resolve();
          };
          waiting.add(wake);
          setTimeout(wake, Math.max(deadline - Date.now(), 0)).unref();
        });
      }
    }
    const current = attributes.get(key);
    return current ? { status: 200, body: current.value, type: 'application/text', etag: current.etag } : text(404, 'Not Found');
  };

  const metadata = async (exchange: Exchange, path: string): Promise<Reply> => {
    // The metadata server refuses a request without the header, so nothing is fetched from it by accident.
    if (exchange.headers['metadata-flavor'] !== 'Google') return text(403, 'Missing Metadata-Flavor:Google header.');
    if (exchange.method === 'PUT') {
      const attribute = /^instance\/guest-attributes\/([^/]+\/[^/]+)$/.exec(path);
      if (!attribute) return text(404, 'Not Found');
      guestAttributes.set(attribute[1]!, exchange.body.toString('utf8'));
      return text(200, '');
    }
    if (exchange.method !== 'GET') return text(405, 'Method Not Allowed');
    if (path === 'instance/service-accounts/default/token') return json(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
    if (path === 'instance/network-interfaces/0/ip') return text(200, ip);
    if (path === 'instance/hostname') return text(200, hostname);
    if (path === 'instance/name') return text(200, instanceName);
    if (path === 'project/project-id') return text(200, project);
    const instanceAttribute = /^instance\/attributes\/([^/]+)$/.exec(path);
    if (instanceAttribute) return attribute(exchange, instanceAttribute[1]!);
    return text(404, 'Not Found');
  };

  const secretManager = (exchange: Exchange, path: string): Reply => {
    if (exchange.bearer !== 'default') return json(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
    const access = /^projects\/([^/]+)\/secrets\/([^/]+)\/versions\/latest:access$/.exec(path);
    if (exchange.method !== 'GET' || !access) return json(404, { error: { code: 404, status: 'NOT_FOUND' } });
    const value = access[1] === project ? secrets.get(access[2]!) : undefined;
    if (value === undefined)
      return json(404, { error: { code: 404, message: `Secret [${path}] not found or has no versions.`, status: 'NOT_FOUND' } });
    return json(200, { name: `${path.replace(/:access$/, '')}`, payload: { data: Buffer.from(value).toString('base64') } });
  };

  const storage = (exchange: Exchange): Reply => {
    if (exchange.bearer !== 'default') return text(401, '<Error><Code>AuthenticationRequired</Code></Error>');
    const object = objectOf(exchange.path, 'storage');
    if (!object) return text(400, '<Error><Code>InvalidURI</Code></Error>');
    const name = `${object.bucket}/${object.key}`;
    const missing = text(404, '<Error><Code>NoSuchKey</Code></Error>');
    switch (exchange.method) {
      case 'PUT':
        objects.set(name, { body: exchange.body, contentType: exchange.headers['content-type'] ?? 'application/octet-stream' });
        return text(200, '');
      case 'GET': {
        const stored = objects.get(name);
        return stored ? { status: 200, body: stored.body, type: stored.contentType } : missing;
      }
      case 'DELETE':
        return objects.delete(name) ? text(204, '') : missing;
      default:
        return text(405, '<Error><Code>MethodNotAllowed</Code></Error>');
    }
  };

  const server = await serve(new Map([['default', token]]), requests, (exchange) => {
    const [, service = '', ...rest] = exchange.path.split('/');
    if (service === 'computeMetadata') return metadata(exchange, rest.slice(1).join('/'));
    if (service === 'secretmanager') return secretManager(exchange, rest.slice(1).join('/'));
    if (service === 'storage') return storage(exchange);
    return text(404, 'Not Found');
  });
  return {
    env: {
      CLOUDSEED_GCP_METADATA_URL: `${server.url}/computeMetadata/v1`,
      CLOUDSEED_GCP_SECRETS_URL: `${server.url}/secretmanager`,
      CLOUDSEED_GCP_STORAGE_URL: `${server.url}/storage`,
    },
    project,
    ip,
    hostname,
    instanceName,
    token,
    secrets,
    objects,
    guestAttributes,
    setAttribute,
    requests,
    close: async () => {
      closed = true;
      for (const wake of waiting) wake();
      await server.close();
    },
  };
}

// --- Azure -----------------------------------------------------------------------------------------

export const AZURE_VAULT_RESOURCE = 'https://vault.azure.net';
export const AZURE_STORAGE_RESOURCE = 'https://storage.azure.com/';

export interface AzureFake {
  /** CLOUDSEED_AZURE_IMDS_URL, CLOUDSEED_AZURE_VAULT_URL and CLOUDSEED_AZURE_BLOB_URL pointing at the fake. */
  readonly env: Readonly<Record<string, string>>;
  readonly ip: string;
  /** The virtual machine's name (IMDS instance/compute/name). */
  readonly vmName: string;
  /** The token IMDS issues for each resource. */
  readonly tokens: ReadonlyMap<string, string>;
  /** Key Vault secrets, by name. */
  readonly secrets: Map<string, string>;
  /** Committed blobs, by `<container>/<key>`. */
  readonly objects: Map<string, StoredObject>;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** IMDS, one Key Vault and one storage account's Blob service, on one loopback port. */
export async function startAzureFake(): Promise<AzureFake> {
  const ip = '10.20.1.4';
  const vmName = 'cs-7d1c2a4e-db-1';
  const tokens = new Map(
    [AZURE_VAULT_RESOURCE, AZURE_STORAGE_RESOURCE].map((resource) => [resource, `eyJ0eXAi.fake-${randomBytes(16).toString('hex')}`]),
  );
  const secrets = new Map<string, string>();
  const objects = new Map<string, StoredObject>();
  const uncommitted = new Map<string, Map<string, Buffer>>();
  const requests: RecordedRequest[] = [];

  const imds = (exchange: Exchange, path: string): Reply => {
    // IMDS answers only requests that say they mean it, and none a proxy forwarded.
    if (exchange.headers['metadata'] !== 'true' || exchange.headers['x-forwarded-for'] !== undefined)
      return json(400, { error: 'bad_request', error_description: 'Required metadata header not specified' });
    if (exchange.method !== 'GET') return json(405, { error: 'Method not allowed' });
    if (path === 'identity/oauth2/token') {
      if (exchange.query.get('api-version') !== '2018-02-01') return json(400, { error: 'invalid_request', error_description: 'api-version' });
      const resource = exchange.query.get('resource') ?? '';
      const token = tokens.get(resource) ?? tokens.get(`${resource}/`);
      if (token === undefined) return json(400, { error: 'invalid_resource', error_description: `unknown resource ${resource}` });
      return json(200, { access_token: token, expires_in: '86399', resource, token_type: 'Bearer' });
    }
    if (path === 'instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress') {
      if (exchange.query.get('api-version') !== '2021-02-01' || exchange.query.get('format') !== 'text') return json(400, { error: 'Bad request' });
      return text(200, ip);
    }
    if (path === 'instance/compute/name') {
      if (exchange.query.get('api-version') !== '2021-02-01' || exchange.query.get('format') !== 'text') return json(400, { error: 'Bad request' });
      return text(200, vmName);
    }
    return json(404, { error: 'Not found' });
  };

  const vault = (exchange: Exchange, path: string): Reply => {
    if (exchange.bearer !== AZURE_VAULT_RESOURCE) return json(401, { error: { code: 'Unauthorized', message: 'AKV10022: Invalid audience.' } });
    const name = /^secrets\/([0-9A-Za-z-]+)$/.exec(path)?.[1];
    if (exchange.method !== 'GET' || name === undefined || exchange.query.get('api-version') !== '7.4')
      return json(400, { error: { code: 'BadParameter' } });
    const value = secrets.get(name);
    if (value === undefined)
      return json(404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name} was not found in this key vault.` } });
    return json(200, { value, id: `https://fake.vault.azure.net/secrets/${name}/0123456789abcdef`, attributes: { enabled: true } });
  };

  const blob = (exchange: Exchange): Reply => {
    const error = (status: number, code: string) => ({
      status,
      body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code></Error>`,
      type: 'application/xml',
    });
    if (exchange.bearer !== AZURE_STORAGE_RESOURCE) return error(403, 'AuthenticationFailed');
    if (exchange.headers['x-ms-version'] === undefined) return error(400, 'MissingRequiredHeader');
    const object = objectOf(exchange.path, 'blob');
    if (!object) return error(400, 'InvalidUri');
    const name = `${object.bucket}/${object.key}`;
    if (exchange.method === 'GET') {
      const stored = objects.get(name);
      return stored ? { status: 200, body: stored.body, type: stored.contentType } : error(404, 'BlobNotFound');
    }
    if (exchange.method === 'DELETE') return objects.delete(name) ? text(202, '') : error(404, 'BlobNotFound');
    if (exchange.method !== 'PUT') return error(405, 'UnsupportedHttpVerb');
    // Every write states its length: Blob Storage takes no chunked body.
    if (exchange.headers['transfer-encoding'] !== undefined) return error(400, 'UnsupportedHeader');
    if (exchange.headers['content-length'] === undefined) return error(411, 'MissingContentLengthHeader');
    const comp = exchange.query.get('comp');
    if (comp === 'block') {
      const id = exchange.query.get('blockid') ?? '';
      const blocks = uncommitted.get(name) ?? new Map<string, Buffer>();
      const other = blocks.keys().next().value;
      if (!/^[A-Za-z0-9+/=]+$/.test(id) || (other !== undefined && other.length !== id.length)) return error(400, 'InvalidQueryParameterValue');
      uncommitted.set(name, blocks.set(id, exchange.body));
      return text(201, '');
    }
    if (comp === 'blocklist') {
      const blocks = uncommitted.get(name) ?? new Map<string, Buffer>();
      const ids = [...exchange.body.toString('utf8').matchAll(/<Latest>([^<]*)<\/Latest>/g)].map((match) => match[1]!);
      if (!exchange.body.toString('utf8').includes('<BlockList>') || ids.some((id) => !blocks.has(id))) return error(400, 'InvalidBlockList');
      objects.set(name, {
        body: Buffer.concat(ids.map((id) => blocks.get(id)!)),
        contentType: String(exchange.headers['x-ms-blob-content-type'] ?? 'application/octet-stream'),
      });
      uncommitted.delete(name);
      return text(201, '');
    }
    if (comp !== null) return error(400, 'InvalidQueryParameterValue');
    if (exchange.headers['x-ms-blob-type'] !== 'BlockBlob') return error(400, 'MissingRequiredHeader');
    objects.set(name, { body: exchange.body, contentType: exchange.headers['content-type'] ?? 'application/octet-stream' });
    return text(201, '');
  };

  const server = await serve(tokens, requests, (exchange) => {
    const [, service = '', ...rest] = exchange.path.split('/');
    if (service === 'metadata') return imds(exchange, rest.join('/'));
    if (service === 'vault') return vault(exchange, rest.join('/'));
    if (service === 'blob') return blob(exchange);
    return text(404, 'Not Found');
  });
  return {
    env: {
      CLOUDSEED_AZURE_IMDS_URL: `${server.url}/metadata`,
      CLOUDSEED_AZURE_VAULT_URL: `${server.url}/vault`,
      CLOUDSEED_AZURE_BLOB_URL: `${server.url}/blob`,
    },
    ip,
    vmName,
    tokens,
    secrets,
    objects,
    requests,
    close: server.close,
  };
}

// --- scripts on this machine -----------------------------------------------------------------------

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs bash with `args` in `/`, as this process's user (root, like the agents), with `env` added to this process's. */
export async function runBash(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync('bash', args, { cwd: '/', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * A directory for the front of PATH with the tools of a node's image: a `curl` that appends its
 * arguments, one a line, to `log` and runs the real one (what a test finds there is what `ps` would
 * have shown every user of the node), and the system's python3 (a version manager's shim, where this
 * machine has one, takes a second a call).
 */
export async function nodeTools(directory: string, log: string): Promise<string> {
  const real = (await execFileAsync('bash', ['-c', 'command -v curl'])).stdout.trim();
  await mkdir(directory, { recursive: true });
  const file = join(directory, 'curl');
  await writeFile(file, `#!/usr/bin/env bash\nprintf '%s\\n' "$@" >>'${log}'\nexec '${real}' "$@"\n`);
  await chmod(file, 0o755);
  if (existsSync('/usr/bin/python3')) await symlink('/usr/bin/python3', join(directory, 'python3'));
  return directory;
}

/** shellcheck's findings on a rendered script, one a line. */
export function lintRendered(script: string): string[] {
  const result = spawnSync('shellcheck', ['-s', 'bash', '--severity=style', '-f', 'gcc', '-'], { input: script, encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.stdout.split('\n').filter((line) => line !== '');
}

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface ScratchPostgres {
  /** The server's directory (its Unix socket is there too); scripts reach it with PGHOST set to it. */
  readonly dir: string;
  readonly port: number;
  psql(database: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL 15 server in a scratch directory, on a free port and a Unix socket only, with the
 * access rules configure writes, the role `app` and its database `app` with a few tables in it.
 */
export async function startScratchPostgres(): Promise<ScratchPostgres> {
  // Short: the server's Unix socket lives in it.
  const dir = await mkdtemp(join(tmpdir(), 'cs-pg-'));
  await execFileAsync('chown', ['postgres:postgres', dir]);
  const port = await freePort();
  const asPostgres = async (command: string, args: readonly string[]) =>
    (
      await execFileAsync('runuser', ['-u', 'postgres', '--', join(PG_BIN, command), ...args], {
        cwd: '/',
        env: { ...process.env, PGHOST: dir, PGPORT: String(port) },
      })
    ).stdout;
  const psql = async (database: string, sql: string) =>
    (await asPostgres('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql])).trim();

  await asPostgres('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth-local=peer', '--auth-host=scram-sha-256']);
  const plan = validatePlan({
    apiVersion: 'cs/v1',
    name: 'p',
    target: { cloud: 'aws', region: 'eu-west-1' },
    components: [{ id: 'db', type: 'postgres' }],
  });
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const [component] = postgresComponents(plan.plan);
  if (!component) throw new Error('no component');
  await writeFile(join(dir, 'data', 'pg_hba.conf'), renderPgHba(component), { mode: 0o644 });
  await writeFile(join(dir, 'data', 'pg_ident.conf'), renderPgIdent(component), { mode: 0o644 });
  await asPostgres('pg_ctl', [
    '-D',
    join(dir, 'data'),
    '-w',
    '-l',
    join(dir, 'server.log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=''`,
    'start',
  ]);
  await psql('postgres', 'CREATE ROLE app LOGIN');
  await psql('postgres', 'CREATE DATABASE app OWNER app');
  await psql(
    'app',
    [
      'SET ROLE app;',
      'CREATE TABLE orders (id int PRIMARY KEY, note text, amount numeric, raw bytea);',
      "INSERT INTO orders SELECT g, 'note ' || g, g * 1.5, decode(md5(g::text), 'hex') FROM generate_series(1, 3000) g;",
      'CREATE TABLE "odd|name" (v text);',
      "INSERT INTO \"odd|name\" VALUES ('a'), ('a'), (NULL);",
      'CREATE TABLE empty (v int);',
    ].join('\n'),
  );
  return {
    dir,
    port,
    psql,
    stop: async () => {
      await asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The four scripts of continuous archiving, rendered for the cloud (and with the header values) of a backup script's input. */
export function archiveScripts(input: BackupScriptInput): string[] {
  const base = {
    stanza: 'db',
    database: input.database,
    port: input.port,
    binDir: input.binDir,
    cloud: input.cloud,
    cloudValues: input.cloudValues,
  };
  return [
    archiveBackupScript({ ...base, key: 'plans/p-1/db/a-1.fingerprints.json', type: 'full', restorePoint: 'cloudseed-a-1' }),
    archiveValidateScript({
      ...base,
      key: 'plans/p-1/db/a-1.validation.json',
      backupId: 'a-1',
      label: '20261205-030000F',
      restorePoint: 'cloudseed-a-1',
    }),
    recoveryWindowScript(base),
    restoreToPointScript({
      ...base,
      service: 'postgresql@15-main',
      logDir: '/var/log/postgresql',
      target: { type: 'name', target: 'cloudseed-a-1', set: '20261205-030000F' },
    }),
  ];
}
