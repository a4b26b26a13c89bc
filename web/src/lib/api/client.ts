import type { FieldProblem } from '@cloudseed/shared/errors';
import type {
  Account,
  AccountList,
  AlertSettings,
  Backup,
  BackupRequest,
  ComponentLogs,
  ConnectAccountInput,
  Credentials,
  Deployment,
  DeployStarted,
  MetricsRequest,
  PlanInput,
  PlanAlerts,
  PlanList,
  PlanMetrics,
  PlanResource,
  PointInTimeRestoreStarted,
  QueryOrder,
  RecoveryWindow,
  RolePassword,
  RollbackStarted,
  SecretsSet,
  ServerLog,
  ServerLogRequest,
  TopQueries,
} from './types.ts';

/** An RFC 9457 problem answered by the API, with the field problems of a 400. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly FieldProblem[] = [],
  ) {
    super(detail || title);
  }
}

/** Signed out (401): the caller sends the user to log in. */
export class SignedOut extends Error {
  override readonly name = 'SignedOut';
}

export type TokenSource = () => Promise<string | undefined>;

interface Problem {
  readonly status?: number;
  readonly title?: string;
  readonly detail?: string;
  readonly errors?: FieldProblem[];
}

export interface BackupDownload {
  readonly url: string;
  readonly expiresAt: string;
  readonly format: string;
  readonly sha256?: string;
}

export interface Versioned<T> {
  readonly value: T;
  readonly etag?: string;
}

/** The CloudSeed HTTP API on the same origin, with the signed-in user's access token. */
export class ApiClient {
  constructor(
    private readonly token: TokenSource,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** One page of the user's plans; pass the previous page's `nextToken` for the next one. */
  listPlans(nextToken?: string): Promise<PlanList> {
    const query = new URLSearchParams({ limit: '100', ...(nextToken ? { nextToken } : {}) });
    return this.json('GET', `/v1/plan?${query.toString()}`);
  }

  async getPlan(id: string): Promise<Versioned<PlanResource>> {
    const response = await this.send('GET', `/v1/plan/${encodeURIComponent(id)}`);
    return { value: (await response.json()) as PlanResource, etag: response.headers.get('etag') ?? undefined };
  }

  createPlan(spec: PlanInput): Promise<PlanResource> {
    return this.json('POST', '/v1/plan', spec);
  }

  async updatePlan(id: string, spec: PlanInput, etag?: string): Promise<Versioned<PlanResource>> {
    const response = await this.send('PUT', `/v1/plan/${encodeURIComponent(id)}`, spec, etag ? { 'if-match': etag } : {});
    return { value: (await response.json()) as PlanResource, etag: response.headers.get('etag') ?? undefined };
  }

  /** `deleted` when nothing was deployed; `tearing-down` when its resources are being removed first. */
  async deletePlan(id: string): Promise<'deleted' | 'tearing-down'> {
    const response = await this.send('DELETE', `/v1/plan/${encodeURIComponent(id)}`);
    return response.status === 202 ? 'tearing-down' : 'deleted';
  }

  deploy(id: string): Promise<DeployStarted> {
    return this.json('POST', `/v1/plan/${encodeURIComponent(id)}/deploy`);
  }

  deployment(id: string): Promise<Deployment> {
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/deployment`);
  }

  credentials(id: string): Promise<Credentials> {
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/deployment/credentials`);
  }

  async backups(id: string): Promise<readonly Backup[]> {
    const { items } = await this.json<{ items: Backup[] }>('GET', `/v1/plan/${encodeURIComponent(id)}/backups`);
    return items;
  }

  /** Without a request the API takes a full physical backup. */
  runBackup(id: string, request?: BackupRequest): Promise<{ backupId: string }> {
    return this.json('POST', `/v1/plan/${encodeURIComponent(id)}/backups`, request);
  }

  /** A new password for one of the plan's roles, answered once; the old one stops working. */
  rolePassword(id: string, role: string): Promise<RolePassword> {
    return this.json('POST', `/v1/plan/${encodeURIComponent(id)}/roles/${encodeURIComponent(role)}/password`);
  }

  /** Stops the plan's databases, keeping their data; 409 when there is nothing running to stop. */
  async stopPlan(id: string): Promise<void> {
    await this.send('POST', `/v1/plan/${encodeURIComponent(id)}/stop`);
  }

  /** Starts a stopped plan's databases again as they were deployed. */
  async startPlan(id: string): Promise<void> {
    await this.send('POST', `/v1/plan/${encodeURIComponent(id)}/start`);
  }

  recoveryWindow(id: string): Promise<RecoveryWindow> {
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/recovery-window`);
  }

  /** Restores the running deployment in place to `targetTime` (ISO, UTC); a 400 names /targetTime when it is outside the window. */
  restoreToPoint(id: string, targetTime: string): Promise<PointInTimeRestoreStarted> {
    return this.json('POST', `/v1/plan/${encodeURIComponent(id)}/restore`, { targetTime, confirm: true });
  }

  async restoreBackup(id: string, backupId: string): Promise<void> {
    await this.send('POST', `/v1/plan/${encodeURIComponent(id)}/backups/${encodeURIComponent(backupId)}/restore`, { confirm: true });
  }

  /** Proves a finished backup again by restoring it into a scratch database; the result lands on the backup. */
  async validateBackup(id: string, backupId: string): Promise<void> {
    await this.send('POST', `/v1/plan/${encodeURIComponent(id)}/backups/${encodeURIComponent(backupId)}/validate`);
  }

  /** A short-lived link to the backup's pg_dump archive. */
  backupDownload(id: string, backupId: string): Promise<BackupDownload> {
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/backups/${encodeURIComponent(backupId)}/download`);
  }

  /** The newest `tail` lines an app wrote while it was built, released and run, oldest first. */
  componentLogs(id: string, componentId: string, tail = 200): Promise<ComponentLogs> {
    const query = new URLSearchParams({ tail: String(tail) });
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/components/${encodeURIComponent(componentId)}/logs?${query.toString()}`);
  }

  metrics(id: string, request: MetricsRequest): Promise<PlanMetrics> {
    const query = new URLSearchParams({
      names: request.names.join(','),
      from: String(request.from),
      to: String(request.to),
      step: String(request.step),
    });
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/metrics?${query.toString()}`);
  }

  topQueries(id: string, component: string, order: QueryOrder, limit: number): Promise<TopQueries> {
    const query = new URLSearchParams({ component, order, limit: String(limit) });
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/queries?${query.toString()}`);
  }

  /** Forgets the database's statement counts: the top queries start again. */
  async resetQueries(id: string, component: string): Promise<void> {
    await this.send('POST', `/v1/plan/${encodeURIComponent(id)}/queries/reset?${new URLSearchParams({ component }).toString()}`);
  }

  alerts(id: string): Promise<PlanAlerts> {
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/alerts`);
  }

  /** Replaces the plan's alert settings; a 400's `errors` name each field it could not take (nothing is stored then). */
  async putAlertSettings(id: string, settings: AlertSettings): Promise<AlertSettings> {
    return (await this.json<{ settings: AlertSettings }>('PUT', `/v1/plan/${encodeURIComponent(id)}/alerts/settings`, settings)).settings;
  }

  /** A database node's newest PostgreSQL log entries (the primary's unless `node` names another), oldest first. */
  serverLog(id: string, componentId: string, request: ServerLogRequest): Promise<ServerLog> {
    const query = new URLSearchParams({ tail: String(request.tail) });
    if (request.node) query.set('node', request.node);
    if (request.search) query.set('q', request.search);
    return this.json('GET', `/v1/plan/${encodeURIComponent(id)}/components/${encodeURIComponent(componentId)}/logs?${query.toString()}`);
  }

  /** Brings an app's previous version back (202); a 409 says why it cannot, e.g. nothing to go back to. */
  rollback(id: string, componentId: string): Promise<RollbackStarted> {
    return this.json('POST', `/v1/plan/${encodeURIComponent(id)}/components/${encodeURIComponent(componentId)}/rollback`);
  }

  /** Sets values of an app's declared secrets; the next deploy passes them (they are never read back). */
  putSecrets(id: string, componentId: string, values: Readonly<Record<string, string>>): Promise<SecretsSet> {
    return this.json('PUT', `/v1/plan/${encodeURIComponent(id)}/components/${encodeURIComponent(componentId)}/secrets`, { values });
  }

  /** The caller's address as CloudSeed sees it, e.g. `{ cidr: "203.0.113.7/32" }`. */
  clientAddress(): Promise<{ address: string; cidr: string }> {
    return this.json('GET', '/v1/client-address');
  }

  async listAccounts(): Promise<readonly Account[]> {
    return (await this.accountList()).items;
  }

  /** The accounts with the customer's ExternalId, the platform account and the template's launch link. */
  accountList(): Promise<AccountList> {
    return this.json('GET', '/v1/accounts');
  }

  /** Stored only once CloudSeed has assumed the role with the customer's ExternalId (a 400 at /roleArn otherwise). */
  connectAccount(input: ConnectAccountInput): Promise<Account> {
    return this.json('POST', '/v1/accounts', input);
  }

  /** A 409 while deployed plans run in the account, and for the local cloud's built-in one. */
  async deleteAccount(id: string): Promise<void> {
    await this.send('DELETE', `/v1/accounts/${encodeURIComponent(id)}`);
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.json()) as T;
  }

  private async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const token = await this.token();
    if (token === undefined) throw new SignedOut('Your session has ended. Log in again.');
    const response = await this.fetcher(path, {
      method,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.ok) return response;
    if (response.status === 401) throw new SignedOut('Your session has ended. Log in again.');
    const problem = await readProblem(response);
    throw new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? '', problem.errors ?? []);
  }
}

async function readProblem(response: Response): Promise<Problem> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return { detail: `The server answered HTTP ${response.status}.` };
  }
}
