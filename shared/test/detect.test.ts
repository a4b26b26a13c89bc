import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectBuild, renderDockerfile, repoFilesAt } from '../src/apps/detect.ts';
import type { BuildOverrides, BuildPlan, RepoFiles } from '../src/apps/detect.ts';

// The build detector: which runtime, install, build and start command a repository implies, what
// the app's cs-json overrides, the files it reads from disk and the Dockerfile AWS builds from.

/** A repository in memory: paths to contents; a directory exists when a file is under it. */
function repo(files: Record<string, string>): RepoFiles {
  return {
    exists: (path) => Object.hasOwn(files, path) || Object.keys(files).some((name) => name.startsWith(`${path}/`)),
    read: (path) => (Object.hasOwn(files, path) ? files[path] : undefined),
  };
}

function planOf(files: Record<string, string>, overrides: BuildOverrides = {}): BuildPlan {
  const detection = detectBuild(repo(files), overrides);
  if (!detection.ok) throw new Error(`expected a plan, got: ${detection.reason}`);
  return detection.plan;
}

function refusalOf(files: Record<string, string>, overrides: BuildOverrides = {}, rootDir?: string): string {
  const detection = detectBuild(repo(files), overrides, rootDir);
  if (detection.ok) throw new Error(`expected a refusal, got ${JSON.stringify(detection.plan)}`);
  return detection.reason;
}

const pkg = (fields: Record<string, unknown>): string => JSON.stringify(fields);
const startScript = pkg({ scripts: { start: 'node server.js' } });

describe('detectBuild: runtime', () => {
  it.each([
    ['package.json', 'node'],
    ['requirements.txt', 'python'],
    ['pyproject.toml', 'python'],
    ['Pipfile', 'python'],
  ])('reads %s as a %s app', (manifest, runtime) => {
    const plan = planOf({ [manifest]: manifest === 'package.json' ? startScript : '', 'main.py': '' });
    expect(plan.runtime).toBe(runtime);
    expect(plan.reasons).toContain(`runtime: ${runtime} (${manifest})`);
  });

  it('takes build.runtime over the files', () => {
    const plan = planOf({ 'package.json': startScript, 'requirements.txt': '', 'app.py': '' }, { runtime: 'python' });
    expect(plan).toMatchObject({ runtime: 'python', installCommand: 'pip install -r requirements.txt', startCommand: 'python app.py' });
    expect(plan.reasons).toContain('runtime: python (build.runtime)');
  });

  it('says what it looked for, and where, when no file names a runtime', () => {
    expect(refusalOf({ 'README.md': '' }, {}, 'services/api')).toBe(
      'no package.json, requirements.txt, pyproject.toml or Pipfile in services/api; set build.runtime and run.startCommand',
    );
    expect(refusalOf({})).toContain('in the repository root;');
  });

  it('notes a Dockerfile of the repository', () => {
    expect(planOf({ 'package.json': startScript, Dockerfile: 'FROM scratch' }).dockerfile).toBe(true);
    expect(planOf({ 'package.json': startScript }).dockerfile).toBe(false);
  });
});

describe('detectBuild: precedence of the start command', () => {
  const files = { 'package.json': startScript, Procfile: 'release: npm run migrate\r\nweb:   node cluster.js  \r\n' };

  it("takes a Procfile's web line over the start script", () => {
    const plan = planOf(files);
    expect(plan.startCommand).toBe('node cluster.js');
    expect(plan.reasons).toContain('start: node cluster.js (Procfile web line)');
  });

  it('takes run.startCommand over the Procfile', () => {
    const plan = planOf(files, { startCommand: 'node worker.js' });
    expect(plan.startCommand).toBe('node worker.js');
    expect(plan.reasons).toContain('start: node worker.js (run.startCommand)');
  });

  it('detects the start command when the Procfile has no web line', () => {
    expect(planOf({ ...files, Procfile: 'worker: node jobs.js\n' }).startCommand).toBe('npm start');
  });

  it('starts with the Procfile or run.startCommand where detection finds nothing', () => {
    expect(planOf({ 'package.json': '{}', Procfile: 'web: node dist/main.js' }).startCommand).toBe('node dist/main.js');
    expect(planOf({ 'requirements.txt': '' }, { startCommand: 'python -m api' }).startCommand).toBe('python -m api');
  });

  it('refuses a Procfile web line with control characters', () => {
    expect(refusalOf({ 'package.json': startScript, Procfile: 'web: node\u0000 x' })).toBe("start: the Procfile's web line holds control characters");
  });

  it('takes every command of the overrides, and says so', () => {
    const plan = planOf(
      { 'package.json': pkg({ scripts: { build: 'tsc', start: 'node .' } }), 'package-lock.json': '{}' },
      { installCommand: 'npm ci --omit=optional', buildCommand: 'npm run compile', startCommand: 'node out/main.js' },
    );
    expect(plan).toMatchObject({ installCommand: 'npm ci --omit=optional', buildCommand: 'npm run compile', startCommand: 'node out/main.js' });
    expect(plan.reasons).toEqual(
      expect.arrayContaining(['install: npm ci --omit=optional (build.installCommand)', 'build: npm run compile (build.buildCommand)']),
    );
  });
});

describe('detectBuild: node', () => {
  it.each([
    [{ 'package-lock.json': '{}' }, 'npm ci', 'package-lock.json'],
    [{ 'npm-shrinkwrap.json': '{}' }, 'npm ci', 'npm-shrinkwrap.json'],
    [{ 'pnpm-lock.yaml': '' }, 'corepack pnpm install --frozen-lockfile', 'pnpm-lock.yaml'],
    [{ 'yarn.lock': '# yarn lockfile v1\n' }, 'corepack yarn install --frozen-lockfile', 'yarn.lock'],
    [{ 'yarn.lock': '', '.yarnrc.yml': 'nodeLinker: node-modules\n' }, 'corepack yarn install --immutable', 'yarn.lock of Yarn 2 or later'],
    [{ 'yarn.lock': '__metadata:\n  version: 8\n' }, 'corepack yarn install --immutable', 'yarn.lock of Yarn 2 or later'],
    [{}, 'npm install', 'no lockfile'],
  ])('installs with the lockfile of %o', (lockfiles, install, why) => {
    const plan = planOf({ 'package.json': startScript, ...lockfiles });
    expect(plan.installCommand).toBe(install);
    expect(plan.reasons).toContain(`install: ${install} (${why})`);
  });

  it('refuses a Bun lockfile unless build.installCommand is set', () => {
    expect(refusalOf({ 'package.json': startScript, 'bun.lockb': '' })).toMatch(/^install: bun\.lockb asks for Bun.*set build\.installCommand/);
    expect(planOf({ 'package.json': startScript, 'bun.lockb': '' }, { installCommand: 'npm install' }).installCommand).toBe('npm install');
  });

  it.each([
    [{ 'package-lock.json': '{}' }, 'npm run build', 'npm start'],
    [{ 'pnpm-lock.yaml': '' }, 'corepack pnpm run build', 'corepack pnpm start'],
    [{ 'yarn.lock': '' }, 'corepack yarn run build', 'corepack yarn start'],
  ])("builds and starts with the scripts through the lockfile's manager (%o)", (lockfiles, build, start) => {
    const plan = planOf({ 'package.json': pkg({ scripts: { build: 'vite build', start: 'node server.js' } }), ...lockfiles });
    expect(plan).toMatchObject({ buildCommand: build, startCommand: start });
    expect(plan.reasons).toContain(`build: ${build} (build script in package.json)`);
  });

  it('builds nothing without a build script', () => {
    const plan = planOf({ 'package.json': startScript });
    expect(plan.buildCommand).toBeUndefined();
    expect(plan.reasons).toContain('build: none (package.json has no build script)');
  });

  it.each([
    [{ 'package.json': pkg({ main: 'dist/server.js' }), 'index.js': '' }, 'node dist/server.js'],
    [{ 'package.json': pkg({ main: "my app's.js" }) }, `node 'my app'\\''s.js'`],
    [{ 'package.json': '{}', 'index.js': '', 'server.js': '' }, 'node index.js'],
    [{ 'package.json': '{}', 'server.js': '', 'app.js': '' }, 'node server.js'],
    [{ 'package.json': '{}', 'app.js': '' }, 'node app.js'],
  ])('starts %o with %s', (files, start) => {
    expect(planOf(files).startCommand).toBe(start);
  });

  it('refuses an app it cannot start', () => {
    expect(refusalOf({ 'package.json': pkg({ scripts: { build: 'tsc' } }) })).toBe(
      'start: package.json has no start script or main, and there is no index.js, server.js or app.js; set run.startCommand',
    );
  });

  it('starts a plain script when node is asked for without a package.json', () => {
    const plan = planOf({ 'server.js': '' }, { runtime: 'node' });
    expect(plan.startCommand).toBe('node server.js');
    expect(plan).not.toHaveProperty('installCommand');
    expect(plan).not.toHaveProperty('buildCommand');
  });

  it('refuses a package.json that is not a JSON object', () => {
    expect(refusalOf({ 'package.json': '{ "scripts": ' })).toMatch(/^package\.json is not valid JSON: .+/);
    expect(refusalOf({ 'package.json': '[]' })).toBe('package.json must hold a JSON object');
    expect(refusalOf({ 'package.json/index.js': '' })).toBe('package.json is not a file that can be read (at most 1 MiB)');
  });

  it.each<[Record<string, string>, string | undefined]>([
    [{ '.nvmrc': 'v20.11.1\n' }, '20'],
    [{ '.node-version': '22' }, '22'],
    [{ '.nvmrc': 'lts/iron' }, undefined],
    [{ '.nvmrc': '18', engines: '^22' }, '18'],
    [{ engines: '20' }, '20'],
    [{ engines: '20.x' }, '20'],
    [{ engines: '^20.1.0' }, '20'],
    [{ engines: '~18' }, '18'],
    [{ engines: '>=18' }, undefined],
    [{ engines: '18 || 20' }, undefined],
  ])('reads the node version from %o', ({ engines, ...files }, version) => {
    const plan = planOf({ 'package.json': pkg({ main: 'index.js', engines: { node: engines } }), ...files });
    expect(plan.runtimeVersion).toBe(version);
  });

  it('takes build.runtimeVersion over .nvmrc', () => {
    const plan = planOf({ 'package.json': startScript, '.nvmrc': '20' }, { runtimeVersion: '24' });
    expect(plan.runtimeVersion).toBe('24');
    expect(plan.reasons).toContain('runtime version: 24 (build.runtimeVersion)');
  });
});

describe('detectBuild: python', () => {
  it.each([
    [{ 'requirements.txt': '', 'pyproject.toml': '' }, 'pip install -r requirements.txt'],
    [{ 'pyproject.toml': '' }, 'pip install .'],
    [{ Pipfile: '', 'Pipfile.lock': '{}' }, 'pip install pipenv && pipenv install --system --deploy'],
    [{ Pipfile: '' }, 'pip install pipenv && pipenv install --system'],
  ])('installs %o with %s', (files, install) => {
    expect(planOf({ ...files, 'main.py': '' }).installCommand).toBe(install);
  });

  it('installs nothing when python is asked for without a manifest', () => {
    const plan = planOf({ 'main.py': '' }, { runtime: 'python' });
    expect(plan.startCommand).toBe('python main.py');
    expect(plan).not.toHaveProperty('installCommand');
    expect(plan).not.toHaveProperty('buildCommand');
    expect(plan.reasons).toContain('install: none (no requirements.txt, pyproject.toml or Pipfile)');
  });

  const django = (settings: string): string => `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "${settings}")\n`;

  it.each([
    [{ 'requirements.txt': 'flask\ngunicorn==22.0\n', 'wsgi.py': 'application = create_app()\n' }, 'gunicorn --bind 0.0.0.0:$PORT wsgi:application'],
    [{ 'requirements.txt': 'gunicorn', 'wsgi.py': 'app = Flask(__name__)\n' }, 'gunicorn --bind 0.0.0.0:$PORT wsgi:app'],
    [{ 'requirements.txt': 'Gunicorn>=21', 'app.py': '', 'main.py': '' }, 'gunicorn --bind 0.0.0.0:$PORT app:app'],
    [{ 'requirements.txt': 'uvicorn[standard]', 'main.py': '' }, 'uvicorn main:app --host 0.0.0.0 --port $PORT'],
    [{ 'pyproject.toml': 'dependencies = ["fastapi", "uvicorn>=0.30"]', 'main.py': '' }, 'uvicorn main:app --host 0.0.0.0 --port $PORT'],
    [{ 'requirements.txt': 'uvicorn-worker', 'main.py': '' }, 'python main.py'],
    [{ 'requirements.txt': 'django', 'manage.py': django('mysite.settings') }, 'python manage.py runserver 0.0.0.0:$PORT'],
    [
      { 'requirements.txt': 'django\ngunicorn', 'manage.py': django('mysite.settings'), 'mysite/wsgi.py': '' },
      'gunicorn --bind 0.0.0.0:$PORT mysite.wsgi',
    ],
    [
      { 'requirements.txt': 'django\ngunicorn', 'manage.py': django('config.settings.production'), 'config/wsgi.py': '' },
      'gunicorn --bind 0.0.0.0:$PORT config.wsgi',
    ],
    [{ 'requirements.txt': 'django\ngunicorn', 'manage.py': django('mysite.settings') }, 'python manage.py runserver 0.0.0.0:$PORT'],
    [{ 'requirements.txt': 'gunicorn', 'main.py': '', 'app.py': '' }, 'gunicorn --bind 0.0.0.0:$PORT app:app'],
    [{ 'requirements.txt': '', 'main.py': '', 'app.py': '' }, 'python main.py'],
    [{ 'requirements.txt': '', 'app.py': '', 'server.py': '' }, 'python app.py'],
    [{ 'requirements.txt': '', 'server.py': '' }, 'python server.py'],
  ])('starts %o with %s', (files, start) => {
    expect(planOf(files).startCommand).toBe(start);
  });

  it("says when it falls back to Django's development server", () => {
    const reasons = planOf({ 'requirements.txt': 'django\ngunicorn', 'manage.py': django('mysite.settings') }).reasons;
    expect(reasons.find((line) => line.startsWith('start:'))).toContain(
      "Django's development server: gunicorn is a dependency but the settings' wsgi.py was not found",
    );
  });

  it('refuses an app it cannot start', () => {
    expect(refusalOf({ 'requirements.txt': 'gunicorn' })).toMatch(/^start: no Procfile web line, .* set run\.startCommand$/);
  });

  it.each([
    [{ '.python-version': '3.11.7\n' }, '3.11'],
    [{ 'runtime.txt': 'python-3.11.7' }, '3.11'],
    [{ '.python-version': '3.12', 'runtime.txt': 'python-3.10.1' }, '3.12'],
    [{ '.python-version': 'system' }, undefined],
  ])('reads the python version from %o', (files, version) => {
    expect(planOf({ 'requirements.txt': '', 'main.py': '', ...files }).runtimeVersion).toBe(version);
  });

  it('takes build.runtimeVersion over .python-version', () => {
    expect(planOf({ 'requirements.txt': '', 'main.py': '', '.python-version': '3.11' }, { runtimeVersion: '3.13' }).runtimeVersion).toBe('3.13');
  });
});

describe('repoFilesAt', () => {
  let base: string;
  let files: RepoFiles;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'cloudseed-detect-'));
    const app = join(base, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    mkdirSync(join(base, 'elsewhere'));
    writeFileSync(join(base, 'secret.txt'), 'secret');
    writeFileSync(join(base, 'elsewhere', 'secret.txt'), 'secret');
    writeFileSync(join(app, 'package.json'), startScript);
    writeFileSync(join(app, 'src', 'server.js'), 'listen()');
    writeFileSync(join(app, 'limit.txt'), 'x'.repeat(1024 * 1024));
    writeFileSync(join(app, 'big.txt'), 'x'.repeat(1024 * 1024 + 1));
    symlinkSync(join(base, 'secret.txt'), join(app, 'Procfile'));
    symlinkSync(join(base, 'elsewhere'), join(app, 'linked'));
    symlinkSync('src/server.js', join(app, 'server.js'));
    execFileSync('mkfifo', [join(app, 'pipe')]);
    files = repoFilesAt(app);
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('reads the files of the directory', () => {
    expect(files.read('package.json')).toBe(startScript);
    expect(files.read('src/server.js')).toBe('listen()');
    expect(files.exists('src/server.js')).toBe(true);
  });

  it('tells directories and missing files apart from files', () => {
    expect(files.exists('src')).toBe(true);
    expect(files.read('src')).toBeUndefined();
    expect(files.exists('requirements.txt')).toBe(false);
    expect(files.read('requirements.txt')).toBeUndefined();
  });

  it('neither finds nor reads what is not a file or a directory', () => {
    expect(files.exists('pipe')).toBe(false);
    expect(files.read('pipe')).toBeUndefined();
  });

  it('follows a symbolic link that stays inside the directory', () => {
    expect(files.read('server.js')).toBe('listen()');
  });

  it('reads nothing outside the directory, through links or ..', () => {
    expect(files.read('Procfile')).toBeUndefined();
    expect(files.exists('Procfile')).toBe(false);
    expect(files.read('linked/secret.txt')).toBeUndefined();
    expect(files.read('../secret.txt')).toBeUndefined();
    expect(files.exists('..')).toBe(false);
    expect(files.read(join(base, 'secret.txt'))).toBeUndefined();
  });

  it('reads files of at most 1 MiB', () => {
    expect(files.read('limit.txt')).toHaveLength(1024 * 1024);
    expect(files.read('big.txt')).toBeUndefined();
  });

  it('feeds the detector', () => {
    const detection = detectBuild(files, {});
    expect(detection).toMatchObject({ ok: true, plan: { runtime: 'node', startCommand: 'npm start', dockerfile: false } });
  });
});

describe('renderDockerfile', () => {
  const nodePlan: BuildPlan = {
    runtime: 'node',
    installCommand: 'npm ci',
    buildCommand: 'npm run build',
    startCommand: 'npm start',
    dockerfile: false,
    reasons: [],
  };
  const lines = (plan: BuildPlan): string[] => renderDockerfile(plan).trimEnd().split('\n');
  const shellForm = (line: string | undefined, instruction: string): unknown => {
    expect(line?.startsWith(`${instruction} `)).toBe(true);
    return JSON.parse(line?.slice(instruction.length + 1) ?? '');
  };

  it('builds a node app as the node user on the node image', () => {
    const dockerfile = lines(nodePlan);
    expect(dockerfile).toContain('FROM public.ecr.aws/docker/library/node:24-bookworm-slim');
    expect(dockerfile.find((line) => line.startsWith('ENV '))).toMatch(/^ENV PORT=8080 PATH=\/app\/node_modules\/\.bin:\$PATH\b/);
    const user = dockerfile.indexOf('USER node');
    const install = dockerfile.indexOf('RUN ["sh","-c","npm ci"]');
    expect(user).toBeGreaterThan(dockerfile.indexOf('WORKDIR /app'));
    expect(install).toBeGreaterThan(user);
    expect(dockerfile.indexOf('RUN ["sh","-c","npm run build"]')).toBeGreaterThan(install);
    expect(shellForm(dockerfile.at(-1), 'CMD')).toEqual(['sh', '-c', 'npm start']);
  });

  it('takes the node major of the plan', () => {
    expect(lines({ ...nodePlan, runtimeVersion: '20.11' })).toContain('FROM public.ecr.aws/docker/library/node:20-bookworm-slim');
  });

  it('builds a python app in a virtualenv as an unprivileged user', () => {
    const dockerfile = lines({
      runtime: 'python',
      runtimeVersion: '3.11',
      installCommand: 'pip install .',
      startCommand: 'python main.py',
      dockerfile: false,
      reasons: [],
    });
    expect(dockerfile).toContain('FROM public.ecr.aws/docker/library/python:3.11-slim-bookworm');
    expect(dockerfile.find((line) => line.startsWith('ENV '))).toMatch(/^ENV PORT=8080 VIRTUAL_ENV=\/app\/\.venv PATH=\/app\/\.venv\/bin:\$PATH\b/);
    expect(dockerfile.indexOf('USER app')).toBeGreaterThan(dockerfile.findIndex((line) => line.startsWith('RUN useradd') && line.endsWith(' app')));
    expect(dockerfile.indexOf('RUN ["sh","-c","pip install ."]')).toBeGreaterThan(dockerfile.indexOf('RUN python -m venv /app/.venv'));
    expect(dockerfile.filter((line) => line.startsWith('RUN ["sh"'))).toHaveLength(1);
    expect(lines({ runtime: 'python', startCommand: 'python main.py', dockerfile: false, reasons: [] })).toContain(
      'FROM public.ecr.aws/docker/library/python:3.12-slim-bookworm',
    );
  });

  it('keeps every command whole, whatever characters it holds', () => {
    const start = `echo "it's $PORT" && node x.js \\`;
    const dockerfile = lines({ ...nodePlan, buildCommand: '[ -f x ] || make \\', startCommand: start });
    expect(dockerfile).toHaveLength(lines(nodePlan).length);
    expect(
      shellForm(
        dockerfile.find((line) => line.includes('make')),
        'RUN',
      ),
    ).toEqual(['sh', '-c', '[ -f x ] || make \\']);
    expect(shellForm(dockerfile.at(-1), 'CMD')).toEqual(['sh', '-c', start]);
  });

  it('refuses a runtime version that is not one', () => {
    expect(() => renderDockerfile({ ...nodePlan, runtimeVersion: '20 AS evil' })).toThrow(RangeError);
  });
});
