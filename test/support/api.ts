import { spawnSync } from 'node:child_process';

// The HTTP API as one signed-in user sees it. `call` sends exactly what a test asks for (any
// method, a raw body, extra headers, another token or none) and hands back the response as it
// came; the other methods are the arrangements many tests share, and throw when the API refuses.
// selectAsApp runs SQL as the application role with psql.

interface ApiResponse<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body when the response is JSON (problem documents included), else undefined. */
  readonly json: T;
}

export interface CallOptions {
  /** Sent as JSON with `content-type: application/json` unless `headers` names another type. */
  readonly body?: unknown;
  /** Sent as given, with only the headers given. */
  readonly raw?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Another access token, or null for no Authorization header; this user's token otherwise. */
  readonly token?: string | null;
}

export interface Deployment {
  status: string;
  reason?: string;
  mode?: string;
  steps: { name: string; status: string; startedAt: string; endedAt?: string; error?: string }[];
  endpoint?: { host: string; port: number; database: string; username: string };
  nodes?: {
    name: string;
    role: string;
    host: string;
    port: number;
    healthy: boolean;
    detail?: string;
    /** A cluster member as Patroni sees it. */
    ha?: { patroniRole: string; state: string; timeline?: number; lagBytes?: number };
  }[];
  backup?: { schedule: string; timezone: string; nextRunAt: string; lastBackup?: { backupId: string } };
  executionArn?: string;
  components?: ComponentView[];
}

/** One component as the deployment lists it. */
export interface ComponentView {
  id: string;
  type: 'postgres' | 'app';
  status: string;
  reason?: string;
  url?: string;
  servingVersion?: string;
  previousVersion?: string;
  requestedVersion?: string;
  branch?: string;
  database?: string;
}

export interface Credentials {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  uri: string;
  /** A cluster's: prefers a replica. */
  readOnlyUri?: string;
  caCertificate: string;
  caFileName: string;
}

const POLL_MS = 150;

/** A deployment that no longer changes on its own. */
export const settled = (deployment: Deployment): boolean => deployment.status === 'running' || deployment.status === 'failed';

export class Api {
  readonly #baseUrl: string;
  readonly #accessToken: string;

  constructor(baseUrl: string, accessToken: string) {
    this.#baseUrl = baseUrl;
    this.#accessToken = accessToken;
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? this.#accessToken}`;
    let body = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.#baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const isJson = /json/.test(response.headers.get('content-type') ?? '');
    return { status: response.status, headers: response.headers, text, json: (isJson && text ? JSON.parse(text) : undefined) as T };
  }

  /** POST /v1/plan; the new plan's id. */
  async createPlan(body: unknown): Promise<string> {
    const response = await this.call<{ id: string }>('POST', '/v1/plan', { body });
    if (response.status !== 201) throw new Error(`POST /v1/plan answered ${response.status}: ${response.text}`);
    return response.json.id;
  }

  async deployment(planId: string): Promise<Deployment> {
    const response = await this.call<Deployment>('GET', `/v1/plan/${planId}/deployment`);
    if (response.status !== 200) throw new Error(`GET deployment answered ${response.status}: ${response.text}`);
    return response.json;
  }

  /** Polls the deployment until `done` holds; the last view. */
  async waitForDeployment(planId: string, done: (deployment: Deployment) => boolean, timeoutMs = 90_000): Promise<Deployment> {
    return until(() => this.deployment(planId), done, timeoutMs);
  }

  /** Starts a deploy (202) and waits for it to settle; the started response's body and the final view. */
  async deploy(planId: string): Promise<{ mode: string; deployment: Deployment }> {
    const started = await this.call<{ mode: string; deploymentId: unknown }>('POST', `/v1/plan/${planId}/deploy`);
    if (started.status !== 202) throw new Error(`POST deploy answered ${started.status}: ${started.text}`);
    if (typeof started.json.deploymentId !== 'string') throw new Error(`POST deploy gave no deploymentId: ${started.text}`);
    return { mode: started.json.mode, deployment: await this.waitForDeployment(planId, settled) };
  }

  async credentials(planId: string): Promise<Credentials> {
    const response = await this.call<Credentials>('GET', `/v1/plan/${planId}/deployment/credentials`);
    if (response.status !== 200) throw new Error(`GET credentials answered ${response.status}: ${response.text}`);
    return response.json;
  }
}

/** Reads until `done` holds or `timeoutMs` passes; the last value read. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    value = await read();
  }
  return value;
}

/** Runs `sql` with psql as the application role over TLS (no CA check: the local cloud's own tests); its output, or `error: …` with psql's message. */
export function selectAsApp(credentials: Credentials, sql: string): string {
  const result = spawnSync(
    'psql',
    ['-X', '-q', '-tA', `host=${credentials.host} port=${credentials.port} dbname=app user=app sslmode=require connect_timeout=5`, '-c', sql],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: credentials.password } },
  );
  return result.status === 0 ? result.stdout.trim() : `error: ${result.stderr.trim()}`;
}
