import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The sample apps the app tests deploy (test/fixtures/apps/), each committed into a git repository
// of its own in a temporary directory that the app user can read, as a customer's repository.

const FIXTURES = new URL('../fixtures/apps/', import.meta.url).pathname;

export class SampleRepo {
  readonly path: string;

  constructor(fixture: 'node-notes' | 'python-notes') {
    this.path = mkdtempSync(join(tmpdir(), `cloudseed-${fixture}-`));
    // The app user clones it: the directory is readable to others, as a checkout usually is.
    chmodSync(this.path, 0o755);
    cpSync(join(FIXTURES, fixture), this.path, { recursive: true });
    this.#git('init', '--quiet', '--initial-branch=main');
    this.commit('the sample app');
  }

  /** The newest commit of main. */
  get head(): string {
    return this.#git('rev-parse', 'HEAD').trim();
  }

  /** Rewrites a file with `edit` and commits it; answers the new commit. */
  change(file: string, edit: (text: string) => string, message = `change ${file}`): string {
    const path = join(this.path, file);
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
    return this.commit(message);
  }

  /** Deletes files and commits that; answers the new commit. */
  removeFiles(files: readonly string[]): string {
    for (const file of files) rmSync(join(this.path, file));
    return this.commit(`remove ${files.join(', ')}`);
  }

  commit(message: string): string {
    this.#git('add', '--all');
    this.#git('-c', 'user.name=Sample', '-c', 'user.email=sample@example.com', 'commit', '--quiet', '--allow-empty', '-m', message);
    return this.head;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }

  #git(...args: string[]): string {
    return execFileSync('git', ['-C', this.path, ...args], { encoding: 'utf8' });
  }
}

/** A plan with one database and one app that uses it. */
export function appPlan(name: string, repo: SampleRepo, app: Record<string, unknown> = {}) {
  return {
    apiVersion: 'cs/v1',
    name,
    components: [
      { id: 'db', type: 'postgres', position: { x: 80, y: 80 }, hardware: { memoryGiB: 1 }, db: { version: '15', maxConnections: 30 } },
      {
        id: 'web',
        type: 'app',
        position: { x: 400, y: 80 },
        source: { repoUrl: repo.path },
        healthCheck: { path: '/healthz', startPeriodSeconds: 10 },
        database: { component: 'db' },
        ...app,
      },
    ],
  };
}

export interface LoopResult {
  readonly requests: number;
  readonly failures: readonly string[];
  readonly bodies: ReadonlySet<string>;
}

/**
 * Sends requests one after another (`concurrency` at a time) until stopped: what a deploy under
 * load must answer without one failure. The loop is bounded: it stops by itself after `maxMs`.
 */
export function requestLoop(url: string, options: { concurrency?: number; maxMs?: number; read?: (body: string) => string } = {}) {
  let stopped = false;
  let requests = 0;
  const failures: string[] = [];
  const bodies = new Set<string>();
  const deadline = Date.now() + (options.maxMs ?? 120_000);
  const worker = async () => {
    while (!stopped && Date.now() < deadline) {
      requests += 1;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = await response.text();
        if (response.status !== 200) failures.push(`${response.status} ${body.slice(0, 200)}`);
        else bodies.add(options.read ? options.read(body) : body);
      } catch (error) {
        failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
  };
  const workers = Array.from({ length: options.concurrency ?? 4 }, () => worker());
  return {
    async stop(): Promise<LoopResult> {
      stopped = true;
      await Promise.all(workers);
      return { requests, failures, bodies };
    },
  };
}
