import { spawnSync } from 'node:child_process';
import { Api, until } from '../../support/api.ts';
import { planWith } from '../../support/plans.ts';
import type { SignedUpUser } from '../../support/users.ts';

// The HTTP API as a signed-in user, to arrange what a browser test is not about (a plan already
// deployed, a backup taken) and to check what the browser did: the test kit's client plus the
// arrangements only browser tests share.

export interface BackupView {
  backupId: string;
  status: string;
  validation: { status: string; detail?: string };
}

export class BrowserTestApi extends Api {
  constructor(baseUrl: string, user: SignedUpUser) {
    super(baseUrl, user.accessToken);
  }

  /** A small local plan named `name`; its id. */
  createLocalPlan(name: string, db: Record<string, unknown> = {}): Promise<string> {
    return this.createPlan(
      planWith({
        name,
        target: { cloud: 'local' },
        hardware: { cpus: 1, memoryGiB: 1, storage: { type: 'ssd', sizeGiB: 10 } },
        db: { version: '15', maxConnections: 50, ...db },
        network: { allowedCidrs: ['127.0.0.1/32'] },
      }),
    );
  }

  /** Runs a backup now and waits until it has finished and its validation too. */
  async backUp(planId: string, timeoutMs = 60_000): Promise<BackupView> {
    const started = await this.call<{ backupId: string }>('POST', `/v1/plan/${planId}/backups`);
    if (started.status !== 202) throw new Error(`POST backups answered ${started.status}: ${started.text}`);
    const backupOf = async () =>
      (await this.call<{ items: BackupView[] }>('GET', `/v1/plan/${planId}/backups`)).json.items.find(
        (item) => item.backupId === started.json.backupId,
      );
    const backup = await until(
      backupOf,
      (found) => found !== undefined && found.status !== 'running' && found.validation.status !== 'pending',
      timeoutMs,
    );
    if (backup === undefined) throw new Error(`backup ${started.json.backupId} is not listed`);
    return backup;
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
