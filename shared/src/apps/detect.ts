import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { AppComponent } from '../cs-json/schema.ts';

// How an app is installed, built and started, read from its repository like Railpack and
// Nixpacks do. One detector for every target: the local cloud runs the commands natively, AWS
// bakes them into a generated Dockerfile (a repository's own Dockerfile is used as is there).
//
// Every command runs with `sh -c` in the app directory, with PORT set and the runtime's tools first
// on PATH: node_modules/.bin for node, the virtualenv's bin for python. What the app's cs-json
// says (build.*, run.startCommand) always wins; then a Procfile's web line for the start command;
// then what the repository's files imply.

/** Read access to a checked-out repository's app directory (paths relative to it, `/`-separated). */
export interface RepoFiles {
  exists(path: string): boolean;
  /** A file's text, or undefined when it is missing or not a file. */
  read(path: string): string | undefined;
}

export type AppRuntime = 'node' | 'python';

export interface BuildPlan {
  readonly runtime: AppRuntime;
  /** The runtime version asked for (build.runtimeVersion, .nvmrc, engines.node, .python-version…), when any. */
  readonly runtimeVersion?: string;
  readonly installCommand?: string;
  readonly buildCommand?: string;
  readonly startCommand: string;
  /** The repository has its own Dockerfile (used as is on AWS; ignored locally). */
  readonly dockerfile: boolean;
  /** Why each command was chosen, in words shown in the build log ("start: Procfile web line"). */
  readonly reasons: readonly string[];
}

export type Detection = { readonly ok: true; readonly plan: BuildPlan } | { readonly ok: false; readonly reason: string };

export type BuildOverrides = AppComponent['build'] & Pick<AppComponent['run'], 'startCommand'>;

/** What a step (install, build, start) comes to: a command and why, nothing and why, or why it cannot be decided. */
interface Run {
  readonly kind: 'run';
  readonly command: string;
  readonly why: string;
}
interface None {
  readonly kind: 'none';
  readonly why: string;
}
interface Refused {
  readonly kind: 'refused';
  readonly reason: string;
}

interface Version {
  readonly version: string;
  readonly why: string;
}

/** What a runtime's rules read from the repository, before the overrides and the Procfile. */
interface Detected {
  readonly version?: Version | undefined;
  readonly install: Run | None | Refused;
  readonly build: Run | None;
  readonly start: Run | Refused;
}

const run = (command: string, why: string): Run => ({ kind: 'run', command, why });
const none = (why: string): None => ({ kind: 'none', why });
const refused = (reason: string): Refused => ({ kind: 'refused', reason });

/**
 * How the app in `files` installs, builds and starts. `rootDir` is the app's directory in the
 * repository (source.rootDir), named in the reason when nothing there says what the app is.
 */
export function detectBuild(files: RepoFiles, overrides: BuildOverrides, rootDir = ''): Detection {
  const runtime = detectRuntime(files, overrides);
  if (runtime === undefined) {
    const where = rootDir === '' ? 'the repository root' : rootDir;
    return { ok: false, reason: `no package.json, requirements.txt, pyproject.toml or Pipfile in ${where}; set build.runtime and run.startCommand` };
  }
  const detected = runtime.runtime === 'node' ? detectNode(files) : detectPython(files);
  if (typeof detected === 'string') return { ok: false, reason: detected };

  const version: Version | undefined =
    overrides.runtimeVersion === undefined ? detected.version : { version: overrides.runtimeVersion, why: 'build.runtimeVersion' };
  const install = overridden(overrides.installCommand, 'build.installCommand') ?? detected.install;
  const build = overridden(overrides.buildCommand, 'build.buildCommand') ?? detected.build;
  const start = overridden(overrides.startCommand, 'run.startCommand') ?? procfileWeb(files) ?? detected.start;

  if (install.kind === 'refused') return { ok: false, reason: `install: ${install.reason}` };
  if (start.kind === 'refused') return { ok: false, reason: `start: ${start.reason}` };
  return {
    ok: true,
    plan: {
      runtime: runtime.runtime,
      ...(version === undefined ? {} : { runtimeVersion: version.version }),
      ...(install.kind === 'run' ? { installCommand: install.command } : {}),
      ...(build.kind === 'run' ? { buildCommand: build.command } : {}),
      startCommand: start.command,
      dockerfile: files.exists('Dockerfile'),
      reasons: [
        `runtime: ${runtime.runtime} (${runtime.why})`,
        version === undefined ? 'runtime version: none asked for, the default one' : `runtime version: ${version.version} (${version.why})`,
        reason('install', install),
        reason('build', build),
        reason('start', start),
      ],
    },
  };
}

function reason(step: string, chosen: Run | None): string {
  return chosen.kind === 'run' ? `${step}: ${chosen.command} (${chosen.why})` : `${step}: none (${chosen.why})`;
}

function overridden(command: string | undefined, field: string): Run | undefined {
  return command === undefined ? undefined : run(command, field);
}

function detectRuntime(files: RepoFiles, overrides: BuildOverrides): { runtime: AppRuntime; why: string } | undefined {
  if (overrides.runtime !== undefined) return { runtime: overrides.runtime, why: 'build.runtime' };
  if (files.exists('package.json')) return { runtime: 'node', why: 'package.json' };
  const manifest = ['requirements.txt', 'pyproject.toml', 'Pipfile'].find((name) => files.exists(name));
  return manifest === undefined ? undefined : { runtime: 'python', why: manifest };
}

/** The Procfile's `web:` command, the way Heroku and Railpack start an app. */
function procfileWeb(files: RepoFiles): Run | Refused | undefined {
  const procfile = files.read('Procfile');
  if (procfile === undefined) return undefined;
  for (const line of procfile.split(/\r\n|\r|\n/)) {
    const command = /^web\s*:(.*)$/.exec(line)?.[1]?.trim();
    if (command === undefined || command === '') continue;
    // eslint-disable-next-line no-control-regex -- the very characters a command must not hold
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(command)) return refused("the Procfile's web line holds control characters");
    return run(command, 'Procfile web line');
  }
  return undefined;
}

// ---- node ----

interface PackageJson {
  readonly scripts: Readonly<Record<string, string>>;
  readonly main?: string;
  readonly enginesNode?: string;
}

/** How a package manager runs a package.json script. */
type Runner = (script: string) => string;

const NPM: Runner = (script) => (script === 'start' ? 'npm start' : `npm run ${script}`);
const corepack =
  (manager: string): Runner =>
  (script) =>
    script === 'start' ? `corepack ${manager} start` : `corepack ${manager} run ${script}`;

function detectNode(files: RepoFiles): Detected | string {
  const text = files.read('package.json');
  if (text === undefined && files.exists('package.json')) return 'package.json is not a file that can be read (at most 1 MiB)';
  if (text === undefined) {
    // The runtime was given without a package.json: nothing to install, a plain script to start.
    return {
      version: nodeVersion(files, undefined),
      install: none('no package.json'),
      build: none('no package.json'),
      start: nodeEntryFile(files) ?? refused('no package.json and no index.js, server.js or app.js; set run.startCommand'),
    };
  }
  const pkg = parsePackageJson(text);
  if (typeof pkg === 'string') return pkg;
  const manager = packageManager(files);
  const build =
    pkg.scripts['build'] === undefined ? none('package.json has no build script') : run(manager.runner('build'), 'build script in package.json');
  let start: Run | undefined;
  if (pkg.scripts['start'] !== undefined) start = run(manager.runner('start'), 'start script in package.json');
  else if (pkg.main !== undefined) start = run(`node ${shellWord(pkg.main)}`, 'main in package.json');
  return {
    version: nodeVersion(files, pkg.enginesNode),
    install: manager.install,
    build,
    start:
      start ??
      nodeEntryFile(files) ??
      refused('package.json has no start script or main, and there is no index.js, server.js or app.js; set run.startCommand'),
  };
}

function parsePackageJson(text: string): PackageJson | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `package.json is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!isRecord(value)) return 'package.json must hold a JSON object';
  const scripts = isRecord(value['scripts'])
    ? Object.fromEntries(Object.entries(value['scripts']).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
    : {};
  const main = value['main'];
  const engines = value['engines'];
  const enginesNode = isRecord(engines) && typeof engines['node'] === 'string' ? engines['node'] : undefined;
  return {
    scripts,
    ...(typeof main === 'string' && main.trim() !== '' ? { main: main.trim() } : {}),
    ...(enginesNode === undefined ? {} : { enginesNode }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The package manager the lockfile names, and how it installs: frozen to the lockfile whenever there is one. */
function packageManager(files: RepoFiles): { readonly install: Run | Refused; readonly runner: Runner } {
  for (const lockfile of ['package-lock.json', 'npm-shrinkwrap.json']) {
    if (files.exists(lockfile)) return { install: run('npm ci', lockfile), runner: NPM };
  }
  if (files.exists('pnpm-lock.yaml')) return { install: run('corepack pnpm install --frozen-lockfile', 'pnpm-lock.yaml'), runner: corepack('pnpm') };
  if (files.exists('yarn.lock')) {
    // Yarn 2 and later read .yarnrc.yml and write `__metadata:` into the lockfile; they spell "frozen" --immutable.
    if (files.exists('.yarnrc.yml') || /^__metadata:/m.test(files.read('yarn.lock') ?? '')) {
      return { install: run('corepack yarn install --immutable', 'yarn.lock of Yarn 2 or later'), runner: corepack('yarn') };
    }
    return { install: run('corepack yarn install --frozen-lockfile', 'yarn.lock'), runner: corepack('yarn') };
  }
  const bun = ['bun.lockb', 'bun.lock'].find((lockfile) => files.exists(lockfile));
  if (bun !== undefined) {
    return {
      install: refused(
        `${bun} asks for Bun, which CloudSeed does not offer; set build.installCommand (such as npm install) or commit a package-lock.json`,
      ),
      runner: NPM,
    };
  }
  return { install: run('npm install', 'no lockfile'), runner: NPM };
}

function nodeEntryFile(files: RepoFiles): Run | undefined {
  const entry = ['index.js', 'server.js', 'app.js'].find((name) => files.exists(name));
  return entry === undefined ? undefined : run(`node ${entry}`, entry);
}

/** The node major asked for: .nvmrc, .node-version, then engines.node when it pins one major. */
function nodeVersion(files: RepoFiles, enginesNode: string | undefined): Version | undefined {
  for (const name of ['.nvmrc', '.node-version']) {
    const major = /^v?(\d{1,3})(?:\.(?:\d+|x|\*)){0,2}$/i.exec(firstLine(files.read(name)) ?? '')?.[1];
    if (major !== undefined) return { version: major, why: name };
  }
  // "20", "20.x", "^20.1", "~20" and "=20.1.0" stay on major 20; ">=18" or "18 || 20" pin none.
  const major = /^(?:[\^~=]\s*)?v?(\d{1,3})(?:\.(?:\d+|x|\*)){0,2}$/i.exec(enginesNode?.trim() ?? '')?.[1];
  return major === undefined ? undefined : { version: major, why: 'engines.node in package.json' };
}

/** The first line that is neither blank nor a # comment, trimmed. */
function firstLine(text: string | undefined): string | undefined {
  return text
    ?.split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('#'));
}

/** A word for sh: as is when it is plainly a path, single-quoted otherwise. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./@+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

// ---- python ----

function detectPython(files: RepoFiles): Detected {
  const dependencies = ['requirements.txt', 'pyproject.toml', 'Pipfile'].map((name) => files.read(name) ?? '').join('\n');
  const lists = (name: string): boolean => new RegExp(`(?:^|[^\\w.-])${name}(?![\\w-])`, 'im').test(dependencies);
  return {
    version: pythonVersion(files),
    install: pythonInstall(files),
    build: none('nothing to build for python'),
    start: pythonStart(files, lists),
  };
}

function pythonInstall(files: RepoFiles): Run | None {
  if (files.exists('requirements.txt')) return run('pip install -r requirements.txt', 'requirements.txt');
  if (files.exists('pyproject.toml')) return run('pip install .', 'pyproject.toml');
  if (files.exists('Pipfile')) {
    // --system installs into the python on PATH, which is the app's virtualenv.
    return files.exists('Pipfile.lock')
      ? run('pip install pipenv && pipenv install --system --deploy', 'Pipfile and Pipfile.lock')
      : run('pip install pipenv && pipenv install --system', 'Pipfile');
  }
  return none('no requirements.txt, pyproject.toml or Pipfile');
}

/**
 * gunicorn serves wsgi.py's `application` (its `app` when only that is defined) or app.py's `app`;
 * uvicorn serves main.py's `app`; a Django project is served by gunicorn when it is listed and the
 * settings' package holds wsgi.py, by Django's development server otherwise; then a plain script.
 */
function pythonStart(files: RepoFiles, lists: (name: string) => boolean): Run | Refused {
  const bind = '--bind 0.0.0.0:$PORT';
  if (lists('gunicorn')) {
    const wsgi = files.read('wsgi.py');
    if (wsgi !== undefined) {
      const callable = !/^(?:application\s*=|def application\b)/m.test(wsgi) && /^app\s*=/m.test(wsgi) ? 'app' : 'application';
      return run(`gunicorn ${bind} wsgi:${callable}`, 'gunicorn is a dependency and wsgi.py exists');
    }
    if (files.exists('app.py')) return run(`gunicorn ${bind} app:app`, 'gunicorn is a dependency and app.py exists');
  }
  if (lists('uvicorn') && files.exists('main.py')) {
    return run('uvicorn main:app --host 0.0.0.0 --port $PORT', 'uvicorn is a dependency and main.py exists');
  }
  const manage = files.read('manage.py');
  if (manage !== undefined) {
    const wsgiModule = djangoWsgiModule(files, manage);
    if (lists('gunicorn') && wsgiModule !== undefined) return run(`gunicorn ${bind} ${wsgiModule}`, `Django project, gunicorn is a dependency`);
    const why = lists('gunicorn')
      ? "Django's development server: gunicorn is a dependency but the settings' wsgi.py was not found"
      : "Django's development server; list gunicorn as a dependency to serve with it";
    return run('python manage.py runserver 0.0.0.0:$PORT', `manage.py, ${why}`);
  }
  const script = ['main.py', 'app.py', 'server.py'].find((name) => files.exists(name));
  if (script !== undefined) return run(`python ${script}`, script);
  return refused(
    'no Procfile web line, wsgi.py or app.py with gunicorn, main.py with uvicorn, manage.py, main.py, app.py or server.py; set run.startCommand',
  );
}

/** The module of a Django project's wsgi.py: in the package of manage.py's DJANGO_SETTINGS_MODULE, or one above it. */
function djangoWsgiModule(files: RepoFiles, manage: string): string | undefined {
  const settings = /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]/.exec(manage)?.[1];
  if (settings === undefined) return undefined;
  const packages = settings.split('.').slice(0, -1);
  for (let depth = packages.length; depth >= 0; depth--) {
    const parts = [...packages.slice(0, depth), 'wsgi'];
    if (files.exists(`${parts.join('/')}.py`)) return parts.join('.');
  }
  return undefined;
}

/** The major.minor asked for by .python-version (pyenv) or runtime.txt (Heroku's python-3.11.7). */
function pythonVersion(files: RepoFiles): Version | undefined {
  for (const name of ['.python-version', 'runtime.txt']) {
    const match = /^(?:python-?)?(\d{1,3})(?:\.(\d{1,3}))?(?:[.\-+\w]*)$/.exec(firstLine(files.read(name)) ?? '');
    if (match?.[1] !== undefined) return { version: match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`, why: name };
  }
  return undefined;
}

// ---- the repository on disk ----

/** Manifests and entry files are small; a bigger file is not read. */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * The files of the app directory `dir` on disk. A path that leaves `dir`, itself or through a
 * symbolic link, is treated as missing: the repository is not trusted to point elsewhere.
 */
export function repoFilesAt(dir: string): RepoFiles {
  const root = realpathSync(dir);
  const inside = (path: string): string | undefined => {
    if (isAbsolute(path)) return undefined;
    let real: string;
    try {
      real = realpathSync(resolve(root, path));
    } catch {
      return undefined;
    }
    const rest = relative(root, real);
    return rest === '..' || rest.startsWith(`..${sep}`) || isAbsolute(rest) ? undefined : real;
  };
  return {
    exists(path) {
      const real = inside(path);
      if (real === undefined) return false;
      const stats = statSync(real, { throwIfNoEntry: false });
      return stats !== undefined && (stats.isFile() || stats.isDirectory());
    },
    read(path) {
      const real = inside(path);
      if (real === undefined) return undefined;
      const stats = statSync(real, { throwIfNoEntry: false });
      if (stats === undefined || !stats.isFile() || stats.size > MAX_READ_BYTES) return undefined;
      return readFileSync(real, 'utf8');
    },
  };
}

// ---- the generated Dockerfile ----

const VERSION = /^\d{1,3}(?:\.\d{1,3}){0,2}$/;

/**
 * The Dockerfile a build uses when the repository has none: the runtime's official slim image,
 * the app in /app owned by an unprivileged user who installs, builds and runs it. Commands go in
 * exec form as JSON strings, so that no character of theirs (a trailing \, a leading [) is read
 * by the Dockerfile parser.
 */
export function renderDockerfile(plan: BuildPlan): string {
  if (plan.runtimeVersion !== undefined && !VERSION.test(plan.runtimeVersion)) throw new RangeError(`invalid runtime version ${plan.runtimeVersion}`);
  const lines =
    plan.runtime === 'node'
      ? [
          `FROM public.ecr.aws/docker/library/node:${plan.runtimeVersion?.split('.')[0] ?? '24'}-bookworm-slim`,
          'ENV PORT=8080 PATH=/app/node_modules/.bin:$PATH COREPACK_ENABLE_DOWNLOAD_PROMPT=0',
          'WORKDIR /app',
          'RUN chown node:node /app',
          'USER node',
          'COPY --chown=node:node . .',
        ]
      : [
          `FROM public.ecr.aws/docker/library/python:${plan.runtimeVersion ?? '3.12'}-slim-bookworm`,
          'ENV PORT=8080 VIRTUAL_ENV=/app/.venv PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1',
          'RUN useradd --create-home --uid 10001 app',
          'WORKDIR /app',
          'RUN chown app:app /app',
          'USER app',
          'COPY --chown=app:app . .',
          'RUN python -m venv /app/.venv',
        ];
  for (const command of [plan.installCommand, plan.buildCommand]) {
    if (command !== undefined) lines.push(`RUN ${shellForm(command)}`);
  }
  lines.push(`CMD ${shellForm(plan.startCommand)}`);
  return `# Generated by CloudSeed: the repository has no Dockerfile.\n${lines.join('\n')}\n`;
}

function shellForm(command: string): string {
  return JSON.stringify(['sh', '-c', command]);
}
