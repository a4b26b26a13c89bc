import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// What the high-availability tests and the failover benchmark do to a cluster on the local cloud:
// write through the credentials route's connection string and record every acknowledged commit,
// and lose a member the way machines are lost (its postmaster killed, or its whole node).

export interface ClientCredentials {
  readonly uri: string;
  readonly caCertificate: string;
  readonly caFileName: string;
}

/** A psql as the application role through `uri` (the plan's CA saved where the URI says); answers its output. */
export function psqlClient(credentials: ClientCredentials): (sql: string, uri?: string) => Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cloudseed-ha-client-'));
  writeFileSync(join(dir, credentials.caFileName), credentials.caCertificate);
  return async (sql, uri = credentials.uri) => {
    const { stdout } = await promisify(execFile)('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', uri, '-c', sql], {
      cwd: dir,
      encoding: 'utf8',
      // A member that is gone refuses at once on loopback; one that hangs is given up on.
      env: { ...process.env, PGCONNECT_TIMEOUT: '2' },
      timeout: 10_000,
    });
    return stdout.trim();
  };
}

export interface Acknowledged {
  readonly id: number;
  /** When the session for this write was started (ms since the epoch). */
  readonly startedAt: number;
  /** When the commit was acknowledged. */
  readonly at: number;
}

/**
 * A bounded write loop: one row per committed transaction, each in a new session through the
 * same connection string (so every write finds whichever member leads now), acknowledged rows
 * recorded. Failed attempts are retried with the next id after a short pause.
 */
export class WriteLoop {
  readonly acknowledged: Acknowledged[] = [];
  failures = 0;
  lastError = '';
  #running = false;
  #done: Promise<void> = Promise.resolve();
  readonly #sql: (sql: string) => Promise<string>;
  readonly #table: string;

  constructor(sql: (sql: string) => Promise<string>, table = 'acks') {
    this.#sql = sql;
    this.#table = table;
  }

  start(maxWrites = 100_000): void {
    this.#running = true;
    this.#done = (async () => {
      for (let id = (this.acknowledged.at(-1)?.id ?? 0) + 1; this.#running && id <= maxWrites; id++) {
        const startedAt = Date.now();
        try {
          const answer = await this.#sql(`INSERT INTO ${this.#table} (id) VALUES (${id}) RETURNING id`);
          if (answer === String(id)) this.acknowledged.push({ id, startedAt, at: Date.now() });
        } catch (error) {
          this.failures += 1;
          this.lastError = String((error as { stderr?: string }).stderr ?? error).trim();
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  /** The first write started after `time` and acknowledged (a session begun before a crash may still commit); waits up to `timeoutMs`. */
  async firstAfter(time: number, timeoutMs: number): Promise<Acknowledged> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.acknowledged.find((ack) => ack.startedAt > time);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no write was acknowledged within ${timeoutMs} ms after ${new Date(time).toISOString()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** A cluster member's files on the local cloud. */
export const memberDir = (home: string, planId: string, node: string): string => join(home, 'instances', planId, node);

export function postmasterPid(home: string, planId: string, node: string): number {
  return Number(readFileSync(join(memberDir(home, planId, node), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

export function patroniPid(home: string, planId: string, node: string): number {
  return Number(readFileSync(join(memberDir(home, planId, node), 'patroni.pid'), 'utf8').trim());
}

/** The member's Patroni REST port (node.json). */
export function restPort(home: string, planId: string, node: string): number {
  return (JSON.parse(readFileSync(join(memberDir(home, planId, node), 'node.json'), 'utf8')) as { restPort: number }).restPort;
}

export interface Member {
  readonly name: string;
  readonly role: string;
  readonly state: string;
  readonly timeline?: number;
  readonly lag?: number;
}

/** The cluster as Patroni sees it, asked at the first member that answers. */
export async function clusterMembers(home: string, planId: string, nodes: readonly string[]): Promise<Member[]> {
  for (const node of nodes) {
    const answer = await fetch(`http://127.0.0.1:${restPort(home, planId, node)}/cluster`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    if (answer?.ok) return ((await answer.json()) as { members: Member[] }).members;
  }
  return [];
}

export async function leaderOf(home: string, planId: string, nodes: readonly string[]): Promise<string | undefined> {
  return (await clusterMembers(home, planId, nodes)).find((member) => member.role === 'leader' && member.state === 'running')?.name;
}

/** Kills the member's postmaster (a crash of PostgreSQL alone). */
export function killPostmaster(home: string, planId: string, node: string): void {
  process.kill(postmasterPid(home, planId, node), 'SIGKILL');
}

/** Kills the member's Patroni and postmaster together: the node is lost. */
export function killNode(home: string, planId: string, node: string): void {
  const postmaster = postmasterPid(home, planId, node);
  process.kill(patroniPid(home, planId, node), 'SIGKILL');
  process.kill(postmaster, 'SIGKILL');
}
