import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalCloud } from '../test/support/local-cloud.ts';
import { signUp } from '../test/support/users.ts';

// What the backup and point-in-time benchmarks do as a customer: call the API as a new user,
// deploy a plan and wait for it, and run SQL over TLS with the credentials route's connection.

export interface BenchClient {
  readonly call: (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;
  readonly until: <T>(read: () => Promise<T>, done: (value: T) => boolean) => Promise<T>;
  /** Deploys a single-node plan with 2 GiB and the given backup settings; its id once it runs. */
  readonly deployPlan: (name: string, backup: Record<string, unknown>) => Promise<string>;
  /**
   * A psql of the plan's application database, as its application role. Asynchronous: the local
   * cloud runs in this process, and a blocked event loop makes its API drop kept-alive connections.
   */
  readonly psqlOf: (planId: string) => Promise<(sql: string) => Promise<string>>;
}

export async function benchClient(cloud: LocalCloud): Promise<BenchClient> {
  const user = await signUp(cloud.config);
  const headers = { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) =>
    (await fetch(`${cloud.url}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) }).then((response) =>
      response.json(),
    )) as Record<string, unknown>;
  const until = async <T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return {
    call,
    until,
    deployPlan: async (name, backup) => {
      const plan = await call('POST', '/v1/plan', {
        apiVersion: 'cs/v1',
        name,
        components: [
          { id: 'db', type: 'postgres', hardware: { memoryGiB: 2 }, db: { version: '15', backup: { enabled: true, validate: true, ...backup } } },
        ],
      });
      const id = String(plan.id);
      await call('POST', `/v1/plan/${id}/deploy`);
      const deployment = await until(
        () => call('GET', `/v1/plan/${id}/deployment`),
        (current) => current.status === 'running' || current.status === 'failed',
      );
      if (deployment.status !== 'running') throw new Error(`the plan did not deploy: ${String(deployment.reason)}`);
      return id;
    },
    psqlOf: async (planId) => {
      const creds = await call('GET', `/v1/plan/${planId}/deployment/credentials`);
      // A client as the credentials route describes it: the plan's CA saved under the name the URI gives.
      const clientDir = mkdtempSync(join(tmpdir(), 'cloudseed-bench-client-'));
      writeFileSync(join(clientDir, String(creds.caFileName)), String(creds.caCertificate));
      return async (sql: string) => {
        const { stdout } = await promisify(execFile)('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', String(creds.uri), '-c', sql], {
          encoding: 'utf8',
          cwd: clientDir,
          maxBuffer: 16 * 1024 * 1024,
        }).catch((error: unknown) => {
          throw new Error(`psql failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`);
        });
        return stdout.trim();
      };
    },
  };
}
