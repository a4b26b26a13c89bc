import { spawnSync } from 'node:child_process';
import { planWith } from '../../support/plans.ts';
import type { SignedUpUser } from '../../support/users.ts';

// The HTTP API as a signed-in user, to arrange what a browser test is not about (a plan already
// deployed, say) and to check what the browser did.

export interface DeploymentView {
  status: string;
  reason?: string;
  steps: { name: string; status: string; error?: string }[];
}

export interface BackupView {
  backupId: string;
  status: string;
  validation: { status: string; detail?: string };
}

export interface Credentials {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  uri: string;
}

export interface PlanSummary {
  id: string;
  status: string;
  spec: { name: string };
}

export class Api {
  readonly #baseUrl: string;
  readonly #user: SignedUpUser;

  constructor(baseUrl: string, user: SignedUpUser) {
    this.#baseUrl = baseUrl;
    this.#user = user;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.#baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#user.accessToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async createPlan(name: string, db: Record<string, unknown> = {}): Promise<string> {
    const { status, body } = await this.call<{ id: string }>(
      'POST',
      '/v1/plan',
      planWith({
        name,
        target: { cloud: 'local' },
        hardware: { cpus: 1, memoryGiB: 1, storage: { type: 'ssd', sizeGiB: 10 } },
        db: { version: '15', maxConnections: 50, ...db },
        network: { allowedCidrs: ['127.0.0.1/32'] },
      }),
    );
    if (status !== 201) throw new Error(`POST /v1/plan answered ${status}: ${JSON.stringify(body)}`);
    return body.id;
  }

  async plans(): Promise<PlanSummary[]> {
    return (await this.call<{ items: PlanSummary[] }>('GET', '/v1/plan')).body.items;
  }

  async deployment(planId: string): Promise<DeploymentView> {
    return (await this.call<DeploymentView>('GET', `/v1/plan/${planId}/deployment`)).body;
  }

  async credentials(planId: string): Promise<Credentials> {
    const { status, body } = await this.call<Credentials>('GET', `/v1/plan/${planId}/deployment/credentials`);
    if (status !== 200) throw new Error(`GET credentials answered ${status}`);
    return body;
  }

  /** Runs a backup now and waits until it has finished and its validation too. */
  async backUp(planId: string, timeoutMs = 60_000): Promise<BackupView> {
    const started = await this.call<{ backupId: string }>('POST', `/v1/plan/${planId}/backups`);
    if (started.status !== 202) throw new Error(`POST backups answered ${started.status}: ${JSON.stringify(started.body)}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.call<{ items: BackupView[] }>('GET', `/v1/plan/${planId}/backups`);
      const backup = body.items.find((item) => item.backupId === started.body.backupId);
      if (backup !== undefined && backup.status !== 'running' && backup.validation.status !== 'pending') return backup;
      if (Date.now() > deadline) throw new Error(`backup ${started.body.backupId} unfinished after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Starts a deploy and waits for it to settle; the final deployment view. */
  async deploy(planId: string, timeoutMs = 60_000): Promise<DeploymentView> {
    const started = await this.call('POST', `/v1/plan/${planId}/deploy`);
    if (started.status !== 202) throw new Error(`POST deploy answered ${started.status}: ${JSON.stringify(started.body)}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const deployment = await this.deployment(planId);
      if (deployment.status !== 'deploying') return deployment;
      if (Date.now() > deadline) throw new Error(`plan ${planId} still deploying after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface PsqlResult {
  ok: boolean;
  out: string;
  err: string;
}

const PSQL = '/usr/lib/postgresql/15/bin/psql';

/** One statement through psql over TCP and TLS, as a customer would connect. */
/** psql with the connection string as the page gives it, run in `cwd` (where the plan's CA certificate was saved). */
export function psql(connection: { uri: string; password: string; cwd?: string }, sql: string): PsqlResult {
  const result = spawnSync(PSQL, ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', connection.uri, '-c', sql], {
    encoding: 'utf8',
    ...(connection.cwd ? { cwd: connection.cwd } : {}),
    env: { ...process.env, PGPASSWORD: connection.password, PGCONNECT_TIMEOUT: '5' },
    timeout: 15_000,
  });
  return { ok: result.status === 0, out: result.stdout.trim(), err: result.stderr.trim() };
}
