import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { PublicConfig } from '@cloudseed/shared/config';

/** `GET /config.json`. */
export type LocalCloudConfig = PublicConfig;

/** A `node infra/local/start.ts` process, ready or not. */
export interface LocalCloudProcess {
  readonly home: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Everything it wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (SIGTERM) and resolves with the exit code; SIGKILLs after 10 s. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface LocalCloud extends LocalCloudProcess {
  /** The adapter's origin, from the ready line. */
  readonly url: string;
  readonly config: LocalCloudConfig;
}

export interface StartOptions {
  /** CLOUDSEED_HOME; a fresh temporary directory when absent. */
  readonly home?: string;
  /** More environment; PORT=0 and HOST=127.0.0.1 unless given here. */
  readonly env?: Readonly<Record<string, string>>;
}

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const START = join(repoRoot, 'infra', 'local', 'start.ts');
const WEB_BUILD_INDEX = join(repoRoot, 'web', 'build', 'index.html');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set<LocalCloudProcess>();
const temporaryHomes: string[] = [];

// No local cloud outlives the test file that started it, and no temporary home is left behind.
// Should the test process itself be killed (vitest SIGTERMs its fork workers), each local cloud
// notices its IPC channel close and stops itself, children included.
// (Outside a vitest worker, e.g. in a script, there is no test file to hook.)
if (process.env.VITEST_WORKER_ID !== undefined) {
  afterAll(async () => {
    await Promise.all([...running].map((cloud) => cloud.stop()));
    for (const home of temporaryHomes.splice(0)) rmSync(home, { recursive: true, force: true });
  });
}
process.once('exit', () => {
  for (const cloud of running) cloud.process.kill('SIGKILL');
  for (const home of temporaryHomes) rmSync(home, { recursive: true, force: true });
});

/** The local cloud serves web/build; without it every page is a 404, so say what to do instead. */
export function requireWebBuild(): void {
  if (!existsSync(WEB_BUILD_INDEX)) {
    throw new Error(`${WEB_BUILD_INDEX} is missing: the browser tests need the built web app. Run \`npm run build\` first (\`npm test\` does).`);
  }
}

/** A fresh CLOUDSEED_HOME, removed when the test process exits. */
export async function temporaryHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'cloudseed-test-'));
  temporaryHomes.push(home);
  return home;
}

/** Spawns the local cloud as `npm start` runs it, without waiting for anything. */
export async function spawnLocalCloud(options: StartOptions = {}): Promise<LocalCloudProcess> {
  const home = options.home ?? (await temporaryHome());
  const child = spawn(process.execPath, [START], {
    cwd: repoRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', CLOUDSEED_HOME: home, ...options.env },
    // The IPC channel is how the local cloud notices this process die, however it dies.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(cloud);
      resolve(code);
    });
  });
  const cloud: LocalCloudProcess = {
    home,
    process: child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.add(cloud);
  return cloud;
}

/** Spawns the local cloud on a free port, waits for its ready line and reads its /config.json. */
export async function startLocalCloud(options: StartOptions = {}): Promise<LocalCloud> {
  const cloud = await spawnLocalCloud(options);
  try {
    const url = await readyUrl(cloud);
    const response = await fetch(`${url}/config.json`);
    if (!response.ok) throw new Error(`GET /config.json answered ${response.status}`);
    const config = (await response.json()) as LocalCloudConfig;
    return { ...cloud, url, config };
  } catch (error) {
    await cloud.stop('SIGKILL');
    throw error;
  }
}

function readyUrl(cloud: LocalCloudProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const { stdout } = cloud.process;
    const check = () => {
      const match = /ready at (http:\/\/\S+)/.exec(cloud.stdout());
      if (match?.[1] === undefined) return;
      finish();
      resolve(match[1]);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`the local cloud was not ready within ${READY_TIMEOUT_MS} ms; its stderr:\n${cloud.stderr()}`));
    }, READY_TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      stdout?.off('data', check);
    };
    stdout?.on('data', check);
    check();
    void cloud.exited.then((code) => {
      finish();
      reject(new Error(`the local cloud exited with code ${code} before it was ready; its stderr:\n${cloud.stderr()}`));
    });
  });
}
