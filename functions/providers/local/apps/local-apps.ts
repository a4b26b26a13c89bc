import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { AppComponent } from '@cloudseed/shared';
import { databaseEnvironment } from '@cloudseed/shared/apps/wiring';
import type {
  AppEndpoint,
  AppProvider,
  AppRelease,
  AppTarget,
  BuildProgress,
  BuildRef,
  DatabaseLink,
  LogLine,
  Progress,
  RolloutRef,
} from '../../app-provider.ts';
import { PermanentError } from '../../errors.ts';
import { ensureDir, readJsonIfExists, writeFileAtomic, writeJsonAtomic } from '../files.ts';
import { buildRelease, ensureAppTools, exitText, releaseLayout } from './build.ts';
import { waitHealthy } from './health.ts';
import { AppLogs } from './logs.ts';
import { appPaths, appSecretsFile, appsRoot } from './paths.ts';
import type { AppPaths } from './paths.ts';
import { appAccount, exitOf, groupAlive, runAppCommand, signalGroup, startAppProcess, stopGroup } from './processes.ts';
import { AppProxy } from './proxy.ts';

// The local cloud's apps: each version is a supervised process group of the app user on a free
// loopback port, and the app's stable port is a reverse proxy (proxy.ts) that a rollout switches
// to a new version only once it is healthy (blue → green), draining the old one before stopping it.
// A version that crashes is started again with backoff. What serves is written down (run.env.json)
// so that the local cloud starts it again after a restart.

const RELEASE_TIMEOUT_MS = 15 * 60_000;
const STATUS_WAIT_MS = 2_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A version that ran this long without crashing starts its backoff again from the first step. */
const STABLE_MS = 60_000;

interface Instance {
  readonly release: AppRelease;
  readonly child: ChildProcess;
  readonly port: number;
  readonly startedAt: number;
  stopping: boolean;
}

/** What serves, as written down for a restart of the local cloud. */
interface ServingRecord {
  readonly release: AppRelease;
  readonly component: AppComponent;
  readonly env: Record<string, string>;
  /** The build that served before this one: kept for a rollback. */
  readonly previousBuildId?: string;
}

interface AppRecord {
  readonly proxyPort: number;
  /** The serving version's process group, for a local cloud that was killed and starts again. */
  readonly pgid?: number;
}

interface LiveApp {
  readonly planId: string;
  readonly name: string;
  readonly paths: AppPaths;
  readonly logs: AppLogs;
  readonly proxy: AppProxy;
  serving?: Instance;
  servingRecord?: ServingRecord;
  restarts: number;
  restartTimer?: NodeJS.Timeout;
  /** Rollouts and restarts of one app run one at a time. */
  queue: Promise<unknown>;
  closed: boolean;
}

type Operation<T> = { state: 'pending'; detail: string } | { state: 'done'; value: T } | { state: 'failed'; reason: string };

export class LocalApps implements AppProvider {
  readonly #home: string;
  readonly #apps = new Map<string, Promise<LiveApp>>();
  readonly #builds = new Map<string, Operation<AppRelease>>();
  readonly #rollouts = new Map<string, Operation<true>>();

  constructor(home: string) {
    this.#home = home;
  }

  /** The app user exists and can reach CLOUDSEED_HOME, and git, node and npm are there for the build. */
  async preflightApp(target: AppTarget): Promise<void> {
    appAccount();
    const tools = await ensureAppTools(this.#home);
    if (!existsSync(join(tools.bin, 'npm')) && target.component.build.runtime !== 'python') {
      throw new PermanentError('npm is not installed on this machine: Node apps cannot be built');
    }
    if (!['/usr/bin/git', '/usr/local/bin/git', '/bin/git'].some((path) => existsSync(path))) {
      throw new PermanentError('git is not installed on this machine: apps cannot be cloned; run npm run setup, which installs it');
    }
  }

  startBuild(target: AppTarget): Promise<BuildRef> {
    const buildId = buildIdOf(target);
    const key = `${appKey(target)}/${buildId}`;
    if (!this.#builds.has(key)) {
      this.#builds.set(key, { state: 'pending', detail: 'building' });
      const paths = this.#paths(target);
      const logs = new AppLogs(paths.logs);
      void (async () => {
        try {
          await ensureDir(appsRoot(this.#home), 0o711);
          await ensureDir(join(appsRoot(this.#home), target.planId), 0o711);
          await ensureDir(paths.root, 0o711);
          await ensureDir(paths.logs, 0o700);
          const release = await buildRelease({ home: this.#home, target, paths, buildId, logs });
          this.#builds.set(key, { state: 'done', value: release });
          await this.#pruneBuilds(paths, buildId);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          logs.write('build', `build failed: ${reason}`);
          this.#builds.set(key, { state: 'failed', reason });
        }
      })();
    }
    return Promise.resolve({ buildId });
  }

  async buildStatus(target: AppTarget, build: BuildRef): Promise<BuildProgress> {
    const operation = await settled(() => this.#builds.get(`${appKey(target)}/${build.buildId}`));
    if (!operation) return { state: 'failed', reason: 'the build was interrupted (the local cloud restarted); deploy again' };
    if (operation.state === 'done') return { state: 'done', release: operation.value };
    return operation;
  }

  startRollout(target: AppTarget, release: AppRelease, database: DatabaseLink | undefined): Promise<RolloutRef> {
    const rolloutId = `${buildIdOf(target)}-${release.buildId}`;
    const key = `${appKey(target)}/${rolloutId}`;
    if (!this.#rollouts.has(key)) {
      this.#rollouts.set(key, { state: 'pending', detail: 'rolling out' });
      void (async () => {
        try {
          const app = await this.#live(target);
          await this.#serialised(app, () => this.#rollout(app, target, release, database));
          this.#rollouts.set(key, { state: 'done', value: true });
        } catch (error) {
          this.#rollouts.set(key, { state: 'failed', reason: error instanceof Error ? error.message : String(error) });
        }
      })();
    }
    return Promise.resolve({ rolloutId });
  }

  async rolloutStatus(target: AppTarget, rollout: RolloutRef): Promise<Progress> {
    const operation = await settled(() => this.#rollouts.get(`${appKey(target)}/${rollout.rolloutId}`));
    if (!operation) return { state: 'failed', reason: 'the rollout was interrupted (the local cloud restarted); deploy again' };
    if (operation.state === 'done') return { state: 'done' };
    return operation;
  }

  async endpoint(target: AppTarget): Promise<AppEndpoint> {
    const app = await this.#live(target);
    return { url: `http://127.0.0.1:${app.proxy.port}` };
  }

  logs(target: AppTarget, tail: number): Promise<LogLine[]> {
    return new AppLogs(this.#paths(target).logs).tail(tail);
  }

  async destroyApp(target: AppTarget): Promise<void> {
    const key = appKey(target);
    const live = this.#apps.get(key);
    this.#apps.delete(key);
    if (live) await this.#close(await live.catch(() => undefined));
    const paths = this.#paths(target);
    const record = (await readJsonIfExists(paths.record)) as AppRecord | undefined;
    if (record?.pgid !== undefined && (await groupAlive(record.pgid))) await stopGroup(record.pgid);
    await rm(paths.root, { recursive: true, force: true });
    await rm(appSecretsFile(this.#home, target.planId, target.component.id), { force: true });
    // The plan's directory goes with its last app (rmdir leaves one that still holds another).
    await rmdir(join(appsRoot(this.#home), target.planId)).catch(() => undefined);
  }

  /** Starts every app that served when the local cloud stopped; answers how many. */
  async resume(): Promise<number> {
    const root = appsRoot(this.#home);
    let resumed = 0;
    for (const planId of await readdir(root).catch(() => [] as string[])) {
      if (['bin', 'cache', 'gitconfig'].includes(planId)) continue;
      for (const componentId of await readdir(join(root, planId)).catch(() => [] as string[])) {
        const paths = appPaths(this.#home, planId, componentId);
        const serving = (await readJsonIfExists(paths.runEnv)) as ServingRecord | undefined;
        if (serving === undefined) continue;
        const record = (await readJsonIfExists(paths.record)) as AppRecord | undefined;
        // A local cloud that was killed left its apps running, unsupervised: they go, and start again under supervision.
        if (record?.pgid !== undefined && (await groupAlive(record.pgid))) await stopGroup(record.pgid, 5_000);
        const app = await this.#liveAt(planId, componentId, serving.component.id);
        app.servingRecord = serving;
        try {
          await this.#serialised(app, () => this.#startServing(app, serving));
          resumed += 1;
        } catch (error) {
          app.logs.write('run', `could not start again after the local cloud restarted: ${error instanceof Error ? error.message : String(error)}`);
          this.#scheduleRestart(app);
        }
      }
    }
    return resumed;
  }

  /** Stops every app's processes and proxy (the local cloud stops); they start again with resume(). */
  async stopAll(): Promise<void> {
    const apps = [...this.#apps.values()];
    this.#apps.clear();
    await Promise.all(apps.map(async (app) => this.#close(await app.catch(() => undefined))));
  }

  #paths(target: AppTarget): AppPaths {
    return appPaths(this.#home, target.planId, target.component.id);
  }

  #live(target: AppTarget): Promise<LiveApp> {
    return this.#liveAt(target.planId, target.component.id, target.component.id);
  }

  #liveAt(planId: string, componentId: string, name: string): Promise<LiveApp> {
    const key = `${planId}/${componentId}`;
    let live = this.#apps.get(key);
    if (!live) {
      live = (async () => {
        const paths = appPaths(this.#home, planId, componentId);
        await ensureDir(join(appsRoot(this.#home), planId), 0o711);
        await ensureDir(paths.root, 0o711);
        await ensureDir(paths.logs, 0o700);
        const record = (await readJsonIfExists(paths.record)) as AppRecord | undefined;
        const proxy = new AppProxy(name);
        try {
          await proxy.listen(record?.proxyPort ?? 0);
        } catch (error) {
          throw new PermanentError(
            `the app's port ${String(record?.proxyPort)} is taken by another program: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await writeJsonAtomic(paths.record, { ...record, proxyPort: proxy.port } satisfies AppRecord);
        return { planId, name, paths, logs: new AppLogs(paths.logs), proxy, restarts: 0, queue: Promise.resolve(), closed: false };
      })();
      this.#apps.set(key, live);
      live.catch(() => this.#apps.delete(key));
    }
    return live;
  }

  #serialised<T>(app: LiveApp, work: () => Promise<T>): Promise<T> {
    const next = app.queue.then(work, work);
    app.queue = next.catch(() => undefined);
    return next;
  }

  async #rollout(app: LiveApp, target: AppTarget, release: AppRelease, database: DatabaseLink | undefined): Promise<void> {
    const { component } = target;
    if (app.serving?.release.buildId === release.buildId && app.serving.release.version === release.version && !app.serving.stopping) {
      // The same build serves already (a rollout that is retried): converge the environment only if it changed.
      const env = await this.#environment(app, component, release, database);
      if (JSON.stringify(env) === JSON.stringify(app.servingRecord?.env)) return;
    }
    const env = await this.#environment(app, component, release, database);
    const layout = releaseLayout(this.#home, app.paths, release, component.source.rootDir);
    if (component.run.releaseCommand !== undefined) {
      const command = component.run.releaseCommand;
      app.logs.write('release', `$ ${command}  (${release.version.slice(0, 7)})`);
      const result = await runAppCommand({
        command,
        cwd: layout.appDir,
        env: { ...env, PORT: '0' },
        onLine: (line) => app.logs.write('release', line),
        timeoutMs: RELEASE_TIMEOUT_MS,
      });
      if (result.code !== 0) {
        throw new PermanentError(
          `release command \`${command}\` ${exitText(result)}: ${await app.logs.recent('release', 4)}; the previous version keeps serving`,
        );
      }
    }
    await this.#startServing(app, { release, component, env });
  }

  async #environment(
    app: LiveApp,
    component: AppComponent,
    release: AppRelease,
    database: DatabaseLink | undefined,
  ): Promise<Record<string, string>> {
    const layout = releaseLayout(this.#home, app.paths, release, component.source.rootDir);
    const stored = component.secrets.length === 0 ? {} : await this.#storedSecrets(app.planId, component.id);
    const missing = component.secrets.filter((name) => stored[name] === undefined);
    if (missing.length > 0) {
      throw new PermanentError(
        `secret${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ha${missing.length === 1 ? 's' : 've'} no value: set ${missing.length === 1 ? 'it' : 'them'} with PUT /v1/plan/{id}/components/${component.id}/secrets`,
      );
    }
    const secrets = Object.fromEntries(component.secrets.map((name) => [name, stored[name] ?? '']));
    let linked: Record<string, string> = {};
    if (database !== undefined) {
      await writeFileAtomic(app.paths.caFile, database.caCertificatePem, 0o644);
      linked = databaseEnvironment(database, app.paths.caFile);
    }
    return {
      ...layout.env,
      ...(release.plan.runtime === 'node' ? { NODE_ENV: 'production' } : {}),
      ...component.env,
      ...secrets,
      ...linked,
    };
  }

  async putSecrets(target: AppTarget, values: Readonly<Record<string, string>>): Promise<void> {
    const file = appSecretsFile(this.#home, target.planId, target.component.id);
    await ensureDir(join(this.#home, 'secrets'), 0o700);
    await ensureDir(dirname(file), 0o700);
    const stored = ((await readJsonIfExists(file)) as Record<string, string> | undefined) ?? {};
    await writeJsonAtomic(file, { ...stored, ...values }, 0o600);
  }

  async #storedSecrets(planId: string, componentId: string): Promise<Record<string, string>> {
    return ((await readJsonIfExists(appSecretsFile(this.#home, planId, componentId))) as Record<string, string> | undefined) ?? {};
  }

  /** Starts the version beside what serves, switches to it once healthy, then drains and stops the old one. */
  async #startServing(app: LiveApp, serving: ServingRecord): Promise<void> {
    const { release, component, env } = serving;
    const layout = releaseLayout(this.#home, app.paths, release, component.source.rootDir);
    const port = await freePort();
    app.logs.write('run', `starting ${release.version.slice(0, 7)} on PORT ${port}: ${release.plan.startCommand}`);
    const child = startAppProcess({
      command: release.plan.startCommand,
      cwd: layout.appDir,
      env: { ...env, PORT: String(port) },
      onLine: (line) => app.logs.write('run', line),
    });
    exitOf(child).catch(() => undefined);
    const instance: Instance = { release, child, port, startedAt: Date.now(), stopping: false };
    try {
      await waitHealthy({ child, port, check: component.healthCheck, tail: () => '' });
    } catch (error) {
      instance.stopping = true;
      await stopGroup(child.pid, 5_000);
      const reason = error instanceof Error ? error.message : String(error);
      const output = await app.logs.recent('run', 4);
      throw new PermanentError(
        `${reason}${output === '' ? '' : `; last output: ${output}`}${app.serving ? '; the previous version keeps serving' : ''}`,
      );
    }
    if (app.closed) {
      instance.stopping = true;
      await stopGroup(child.pid, 5_000);
      throw new PermanentError('the app was torn down while it started');
    }
    const previous = app.serving;
    const before = app.servingRecord;
    const previousBuildId = before && before.release.buildId !== release.buildId ? before.release.buildId : before?.previousBuildId;
    app.serving = instance;
    app.servingRecord = { ...serving, ...(previousBuildId ? { previousBuildId } : {}) };
    await writeJsonAtomic(app.paths.runEnv, app.servingRecord);
    const record = (await readJsonIfExists(app.paths.record)) as AppRecord | undefined;
    await writeJsonAtomic(app.paths.record, {
      proxyPort: record?.proxyPort ?? app.proxy.port,
      ...(child.pid ? { pgid: child.pid } : {}),
    } satisfies AppRecord);
    child.once('exit', (code, signal) => this.#exited(app, instance, code, signal));
    app.logs.write('run', `serving ${release.version.slice(0, 7)} on ${app.proxy.port} (→ ${port})`);
    if (previous) previous.stopping = true;
    await app.proxy.switchTo(port);
    if (previous) {
      await stopGroup(previous.child.pid);
      app.logs.write('run', `stopped ${previous.release.version.slice(0, 7)} (drained)`);
    }
  }

  #exited(app: LiveApp, instance: Instance, code: number | null, signal: NodeJS.Signals | null): void {
    if (instance.stopping || app.closed) return;
    // Whatever else its group started goes with it: a restart starts the whole version again.
    signalGroup(instance.child.pid, 'SIGKILL');
    app.logs.write('run', `the app ${exitText({ code, signal })}`);
    if (app.serving === instance) {
      app.serving = undefined;
      void app.proxy.detach();
    }
    if (Date.now() - instance.startedAt >= STABLE_MS) app.restarts = 0;
    this.#scheduleRestart(app);
  }

  #scheduleRestart(app: LiveApp): void {
    if (app.closed || app.restartTimer || !app.servingRecord) return;
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** app.restarts, BACKOFF_MAX_MS);
    app.restarts += 1;
    app.logs.write('run', `restarting in ${delay / 1000} s (restart ${app.restarts})`);
    app.restartTimer = setTimeout(() => {
      app.restartTimer = undefined;
      const serving = app.servingRecord;
      if (app.closed || !serving || app.serving) return;
      void this.#serialised(app, async () => {
        if (app.serving || app.closed) return;
        await this.#startServing(app, serving);
      }).catch((error: unknown) => {
        app.logs.write('run', `restart failed: ${error instanceof Error ? error.message : String(error)}`);
        this.#scheduleRestart(app);
      });
    }, delay);
    app.restartTimer.unref();
  }

  async #close(app: LiveApp | undefined): Promise<void> {
    if (!app) return;
    app.closed = true;
    if (app.restartTimer) clearTimeout(app.restartTimer);
    const serving = app.serving;
    if (serving) serving.stopping = true;
    await app.proxy.close();
    if (serving) await stopGroup(serving.child.pid, 5_000);
  }

  /** Removes every build but the one just made, the one that serves and the one that served before it (a rollback's). */
  async #pruneBuilds(paths: AppPaths, keep: string): Promise<void> {
    const serving = (await readJsonIfExists(paths.runEnv)) as ServingRecord | undefined;
    const kept = new Set([keep, serving?.release.buildId, serving?.previousBuildId].filter((id) => id !== undefined));
    for (const entry of await readdir(paths.builds).catch(() => [] as string[])) {
      const buildId = entry.replace(/\.json$/, '');
      if (!kept.has(buildId)) await rm(join(paths.builds, entry), { recursive: true, force: true });
    }
  }
}

/**
 * The operation once it ends, or as it is after a short wait: the local runner's Wait states take
 * milliseconds, so the status answers long-poll instead of the workflow spinning.
 */
async function settled<T>(read: () => Operation<T> | undefined): Promise<Operation<T> | undefined> {
  const deadline = Date.now() + STATUS_WAIT_MS;
  for (;;) {
    const operation = read();
    if (operation?.state !== 'pending' || Date.now() >= deadline) return operation;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const appKey = (target: AppTarget): string => `${target.planId}/${target.component.id}`;
/** One build per deployment of an app; deployment ids are safe directory names. */
const buildIdOf = (target: AppTarget): string => target.deploymentId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 100);

/** A free loopback port: the kernel picks it, then it is let go for the app to take. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

const runtimes = new Map<string, LocalApps>();

/** The one app runtime of a CLOUDSEED_HOME in this process (the local cloud's). */
export function localApps(home: string): LocalApps {
  let runtime = runtimes.get(home);
  if (!runtime) {
    runtime = new LocalApps(home);
    runtimes.set(home, runtime);
  }
  return runtime;
}
