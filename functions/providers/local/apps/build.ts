import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { detectBuild, repoFilesAt } from '@cloudseed/shared/apps/detect';
import type { BuildPlan } from '@cloudseed/shared/apps/detect';
import { parseRepoUrl } from '@cloudseed/shared';
import type { AppRelease, AppTarget } from '../../app-provider.ts';
import { PermanentError } from '../../errors.ts';
import { ensureDir, writeFileAtomic } from '../files.ts';
import type { AppLogs } from './logs.ts';
import { buildDir, buildOutcome } from './paths.ts';
import type { AppPaths } from './paths.ts';
import { appsRoot } from './paths.ts';
import { APP_USER, appAccount, runAppCommand } from './processes.ts';

// A build on the local cloud: git clones the repository as the app user, the detector reads what
// it holds, and its install and build commands run natively (Python in a venv that may use the
// machine's packages). Each build is its own directory, so the version that serves keeps running
// while the next one builds, and a rollback finds its files still there.

const CLONE_TIMEOUT_MS = 5 * 60_000;
const STEP_TIMEOUT_MS = 15 * 60_000;
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
/** Python the machine has (Debian's, not a per-user install root cannot share). */
const SYSTEM_PYTHON = '/usr/bin/python3';

/** The tools app code finds on PATH: the local cloud's own Node and the machine's npm and corepack. */
export async function ensureAppTools(home: string): Promise<{ bin: string; gitconfig: string; cache: string }> {
  const root = appsRoot(home);
  // CLOUDSEED_HOME stays unlistable, but the app user passes through it (o+x) to its own directories, as postgres does.
  await mkdir(home, { recursive: true, mode: 0o700 });
  const mode = (await stat(home)).mode & 0o7777;
  if ((mode & 0o001) === 0) await chmod(home, mode | 0o001);
  const bin = join(root, 'bin');
  const gitconfig = join(root, 'gitconfig');
  const cache = join(root, 'cache');
  await ensureDir(root, 0o711);
  await ensureDir(bin, 0o755);
  await ensureDir(cache, 0o700, appAccount());
  const npmCli = findNpmCli();
  const wrapper = (script: string) => `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(script)} "$@"\n`;
  await writeFileAtomic(join(bin, 'node'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} "$@"\n`, 0o755);
  if (npmCli) {
    await writeFileAtomic(join(bin, 'npm'), wrapper(npmCli), 0o755);
    await writeFileAtomic(join(bin, 'npx'), wrapper(join(dirname(npmCli), 'npx-cli.js')), 0o755);
    const corepack = join(dirname(npmCli), '..', '..', 'corepack', 'dist', 'corepack.js');
    if (existsSync(corepack)) await writeFileAtomic(join(bin, 'corepack'), wrapper(corepack), 0o755);
  }
  // Clones trust the repository they read (it may belong to another user here), run no hooks, and
  // speak only https, or file for repositories on this machine.
  await writeFileAtomic(
    gitconfig,
    [
      '[safe]',
      '\tdirectory = *',
      '[core]',
      '\thooksPath = /dev/null',
      '[protocol]',
      '\tallow = never',
      '[protocol "https"]',
      '\tallow = always',
      '[protocol "file"]',
      '\tallow = always',
      '[advice]',
      '\tdetachedHead = false',
      '',
    ].join('\n'),
    0o644,
  );
  const probe = await runAppCommand({
    command: `test -x ${shellQuote(bin)}`,
    cwd: '/',
    env: { PATH: SYSTEM_PATH.join(':') },
    onLine: () => undefined,
    timeoutMs: 10_000,
  });
  if (probe.code !== 0) {
    throw new PermanentError(
      `the ${APP_USER} user cannot reach ${bin}; every directory above CLOUDSEED_HOME must be searchable by others (chmod o+x)`,
    );
  }
  return { bin, gitconfig, cache };
}

function findNpmCli(): string | undefined {
  for (const dir of SYSTEM_PATH) {
    try {
      const resolved = realpathSync(join(dir, 'npm'));
      if (resolved.endsWith('.js')) return resolved;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface BuildRequest {
  readonly home: string;
  readonly target: AppTarget;
  readonly paths: AppPaths;
  readonly buildId: string;
  readonly logs: AppLogs;
}

/** Where a release's app code sits and the environment its commands run in. */
export interface ReleaseLayout {
  readonly appDir: string;
  readonly env: Record<string, string>;
}

export function releaseLayout(home: string, paths: AppPaths, release: Pick<AppRelease, 'buildId' | 'plan'>, rootDir: string): ReleaseLayout {
  const dir = buildDir(paths, release.buildId);
  const appDir = join(dir, 'src', rootDir);
  const root = appsRoot(home);
  const binDirs = release.plan.runtime === 'python' ? [join(appDir, '.venv', 'bin')] : [join(appDir, 'node_modules', '.bin')];
  return {
    appDir,
    env: {
      PATH: [...binDirs, join(root, 'bin'), ...SYSTEM_PATH].join(':'),
      HOME: join(dir, 'home'),
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      npm_config_cache: join(root, 'cache'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
      // Node trusts the machine's certificate store, as git, pip and curl do (a company's TLS proxy, say).
      NODE_USE_SYSTEM_CA: '1',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PYTHONUNBUFFERED: '1',
      ...(release.plan.runtime === 'python' ? { VIRTUAL_ENV: join(appDir, '.venv') } : {}),
    },
  };
}

/** Clones, detects, installs and builds one version; the build log says each step. Throws PermanentError with the reason. */
export async function buildRelease({ home, target, paths, buildId, logs }: BuildRequest): Promise<AppRelease> {
  const { component } = target;
  const account = appAccount();
  const tools = await ensureAppTools(home);
  await ensureDir(paths.root, 0o711);
  await ensureDir(paths.builds, 0o711);
  const dir = buildDir(paths, buildId);
  await rm(dir, { recursive: true, force: true });
  await ensureDir(dir, 0o700, account);
  await ensureDir(join(dir, 'home'), 0o700, account);
  const log = (text: string) => logs.write('build', text);
  const baseEnv = {
    PATH: [tools.bin, ...SYSTEM_PATH].join(':'),
    HOME: join(dir, 'home'),
    LANG: 'C.UTF-8',
    GIT_CONFIG_GLOBAL: tools.gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  const git = async (what: string, args: string[]) => {
    log(`$ git ${args.join(' ')}`);
    const result = await runAppCommand({
      command: ['git', ...args].map(shellQuote).join(' '),
      cwd: dir,
      env: baseEnv,
      onLine: log,
      timeoutMs: CLONE_TIMEOUT_MS,
    });
    if (result.code !== 0) throw new PermanentError(`${what} failed (${exitText(result)}): ${await logs.recent('build', 3)}`);
  };

  const location = parseRepoUrl(component.source.repoUrl);
  if (typeof location === 'string') throw new PermanentError(`source.repoUrl ${location}`);
  // A file:// URL, not the path: git then clones shallow as it does over https.
  const from = location.kind === 'local' ? pathToFileURL(location.path).href : location.url.href;
  log(`building ${component.id} from ${component.source.repoUrl} (${component.source.commit ?? `branch ${component.source.branch}`})`);
  const { commit, branch } = component.source;
  if (location.kind === 'local' && !existsSync(join(location.path, '.git')) && !existsSync(join(location.path, 'HEAD'))) {
    throw new PermanentError(`source.repoUrl: there is no git repository at ${location.path}`);
  }
  const cloning =
    location.kind === 'local'
      ? `cloning the repository (it must be readable by the ${APP_USER} user, directories above it included)`
      : 'cloning the repository';
  await git(cloning, ['clone', '--quiet', '--branch', branch, ...(commit ? [] : ['--depth', '1', '--single-branch']), '--', from, 'src']);
  if (commit) await git(`checking out commit ${commit}`, ['-C', 'src', 'checkout', '--quiet', '--detach', commit]);
  let version = '';
  await runAppCommand({
    command: 'git -C src rev-parse HEAD',
    cwd: dir,
    env: baseEnv,
    onLine: (line) => (version = line.trim()),
    timeoutMs: CLONE_TIMEOUT_MS,
  });
  if (!/^[0-9a-f]{40}$/.test(version)) throw new PermanentError('the clone has no commit to build');
  log(`commit ${version}`);

  const appDir = join(dir, 'src', component.source.rootDir);
  if (!existsSync(appDir) || !realpathSync(appDir).startsWith(realpathSync(join(dir, 'src')))) {
    throw new PermanentError(`source.rootDir ${component.source.rootDir} is not a directory of the repository`);
  }
  const detection = detectBuild(repoFilesAt(appDir), { ...component.build, startCommand: component.run.startCommand }, component.source.rootDir);
  if (!detection.ok) throw new PermanentError(detection.reason);
  const plan = detection.plan;
  for (const reason of plan.reasons) log(reason);
  warnOnVersion(plan, log);

  const layout = releaseLayout(home, paths, { buildId, plan }, component.source.rootDir);
  const env = { ...layout.env, CI: 'true' };
  const step = async (what: string, command: string | undefined) => {
    if (command === undefined) return;
    log(`$ ${command}`);
    const result = await runAppCommand({ command, cwd: layout.appDir, env, onLine: log, timeoutMs: STEP_TIMEOUT_MS });
    if (result.code !== 0) {
      const output = await logs.recent('build', 6);
      throw new PermanentError(`${what} \`${command}\` ${exitText(result)}${dependencyHint(output)}: ${output}`);
    }
  };
  if (plan.runtime === 'python') await step('creating the venv', `${SYSTEM_PYTHON} -m venv --system-site-packages .venv`);
  await step('the install command', plan.installCommand);
  await step('the build command', plan.buildCommand);
  const release: AppRelease = { version, buildId, plan, builtAt: new Date().toISOString() };
  await writeFileAtomic(buildOutcome(paths, buildId), JSON.stringify(release), 0o600);
  log(`built ${version.slice(0, 7)}; start: ${plan.startCommand}`);
  return release;
}

function warnOnVersion(plan: BuildPlan, log: (text: string) => void): void {
  if (plan.runtimeVersion === undefined) return;
  const running = plan.runtime === 'node' ? process.versions.node : pythonVersion();
  if (running !== undefined && !`${running}.`.startsWith(`${plan.runtimeVersion}.`)) {
    log(
      `warning: ${plan.runtime} ${plan.runtimeVersion} was asked for; the local cloud runs ${plan.runtime} ${running} (AWS builds use the version asked for)`,
    );
  }
}

let pythonVersionCache: string | undefined;
function pythonVersion(): string | undefined {
  if (pythonVersionCache !== undefined) return pythonVersionCache;
  const match = /python(\d+\.\d+)$/.exec(existsSync(SYSTEM_PYTHON) ? realpathSync(SYSTEM_PYTHON) : '');
  pythonVersionCache = match?.[1];
  return pythonVersionCache;
}

/** Words for an install that could not fetch a package, which here is most often the network. */
function dependencyHint(output: string): string {
  if (/No matching distribution|Could not find a version|Failed to establish a new connection|Temporary failure in name resolution/i.test(output)) {
    return ' (a Python dependency could not be installed: the package index is not reachable from this machine, or the package does not exist; use packages the machine has, which the venv can see)';
  }
  if (/E404|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED/.test(output)) return ' (an npm dependency could not be installed)';
  return '';
}

export const exitText = (result: { code: number | null; signal: string | null }): string =>
  result.signal ? `was killed by ${result.signal}` : `exited with code ${String(result.code)}`;

export const shellQuote = (value: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);
